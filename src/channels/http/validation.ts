// Fastify validates with TypeBox's compiler, so the schemas in /openapi.json are exactly the ones
// checked. A failure becomes a RequestError: the batch size and amount codes where they apply,
// else invalid_request with the failing paths.
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { RequestError, type RequestErrorCode } from '../../errors/registry.js';

/** Failing paths reported in `details`; a bad 8,190-event batch stops here, not at the end. */
const DETAILS_MAX = 10;
const BATCH_PATHS = new Set(['/accounts', '/transfers']);

type HttpPart = 'body' | 'querystring' | 'params' | 'headers' | string;

export interface ValidationDetail {
  in: HttpPart;
  path: string;
  message: string;
}

export function typeboxValidatorCompiler(route: { schema: TSchema; httpPart?: HttpPart }) {
  const compiled = TypeCompiler.Compile(route.schema);
  const part = route.httpPart ?? 'body';
  // Query strings and path parameters arrive as text; only whole decimal numbers become integers.
  const integers = part === 'querystring' || part === 'params' ? integerProperties(route.schema) : [];
  return function validate(data: unknown): { value: unknown } | { error: RequestError } {
    const value = integers.length > 0 ? withIntegers(data, integers) : data;
    if (compiled.Check(value)) return { value };
    return { error: requestErrorOf(compiled.Errors(value), part) };
  };
}

function integerProperties(schema: TSchema): string[] {
  const properties = (schema.properties ?? {}) as Record<string, TSchema>;
  return Object.keys(properties).filter((name) => properties[name].type === 'integer');
}

function withIntegers(data: unknown, names: readonly string[]): unknown {
  if (typeof data !== 'object' || data === null) return data;
  const converted: Record<string, unknown> = { ...data };
  for (const name of names) {
    const text = converted[name];
    if (typeof text === 'string' && /^-?[0-9]{1,15}$/.test(text)) converted[name] = Number(text);
  }
  return converted;
}

function requestErrorOf(errors: Iterable<ValueError>, part: HttpPart): RequestError {
  const first: ValueError[] = [];
  for (const error of errors) {
    first.push(error);
    if (first.length === DETAILS_MAX) break;
  }
  const details: ValidationDetail[] = first.map((error) => ({ in: part, path: error.path, message: error.message }));
  return new RequestError(codeOf(first, part), details);
}

function codeOf(errors: readonly ValueError[], part: HttpPart): RequestErrorCode {
  if (part !== 'body') return 'invalid_request';
  for (const error of errors) {
    if (!BATCH_PATHS.has(error.path)) continue;
    if (error.type === ValueErrorType.ArrayMaxItems) return 'batch_too_large';
    if (error.type === ValueErrorType.ArrayMinItems) return 'batch_empty';
  }
  // An `amount` where none is allowed (on a void) is an unknown field, not a bad amount.
  const badAmount = (error: ValueError) => error.path.endsWith('/amount') && error.type !== ValueErrorType.ObjectAdditionalProperties;
  if (errors.some(badAmount)) return 'amount_invalid';
  return 'invalid_request';
}
