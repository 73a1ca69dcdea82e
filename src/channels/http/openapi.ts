// The OpenAPI 3.1 document, generated from the route table, its TypeBox schemas and the error
// registry. Each response lists its codes as examples keyed by code (summary = the registry's
// message); a test checks they match the registry exactly.
import assert from 'node:assert/strict';
import type { TSchema } from '@sinclair/typebox';
import {
  ACCOUNT_RESULTS,
  ACCOUNT_RESULT_CODES,
  REQUEST_ERRORS,
  REQUEST_ERROR_CODES,
  TRANSFER_RESULTS,
  TRANSFER_RESULT_CODES,
  isSuccess,
  type RequestErrorCode,
} from '../../errors/registry.js';
import type { Route } from './routes.js';
import { NAMED_SCHEMAS, errorOutput } from './schemas.js';
import { MONEY_ERRORS } from '../../errors/money.js';
import { CHANNELS_ERRORS } from '../../errors/channels.js';
import { PREPAID_ERRORS } from '../../errors/prepaid.js';
import { CUTOVER_ERRORS } from '../../errors/cutover.js';

export const API_VERSION = '1.0.0';

/** Where each request error can occur. A code added to the registry does not compile until placed here. */
type Scope = 'every' | 'keyed' | 'write' | 'body' | 'input' | 'route' | 'unrouted';
function routeScoped<T extends Record<string, unknown>>(codes: T): { readonly [K in keyof T]: 'route' } {
  return Object.fromEntries(Object.keys(codes).map((code) => [code, 'route'])) as { readonly [K in keyof T]: 'route' };
}

export const REQUEST_ERROR_SCOPES = {
  invalid_json: 'body',
  invalid_request: 'input',
  unsupported_media_type: 'body',
  body_too_large: 'body',
  batch_too_large: 'route',
  batch_empty: 'route',
  amount_invalid: 'route',
  timestamp_invalid: 'route',
  cursor_invalid: 'route',
  unauthorized: 'keyed',
  forbidden: 'write',
  account_not_found: 'route',
  transfer_not_found: 'route',
  route_not_found: 'unrouted',
  method_not_allowed: 'unrouted',
  request_timeout: 'unrouted',
  headers_too_large: 'unrouted',
  writer_unavailable: 'write',
  not_writer: 'write',
  internal_error: 'every',
  // An area's codes are each answered by the routes that list them.
  ...routeScoped(MONEY_ERRORS),
  ...routeScoped(PREPAID_ERRORS),
  ...routeScoped(CHANNELS_ERRORS),
  ...routeScoped(CUTOVER_ERRORS),
  // Any write may meet a maintenance window (the cutover kit's central hook).
  maintenance: 'write',
} as const satisfies Partial<Record<RequestErrorCode, Scope>>;

interface Answered {
  status: number;
  code: string;
  message: string;
}

/** Codes not listed above are route-specific: each route that answers one lists it in `errors`. */
function scopeOf(code: RequestErrorCode): Scope {
  return (REQUEST_ERROR_SCOPES as Partial<Record<RequestErrorCode, Scope>>)[code] ?? 'route';
}

function applies(scope: Scope, route: Route): boolean {
  switch (scope) {
    case 'every': return true;
    case 'keyed': return route.access !== 'public';
    case 'write': return route.access === 'write';
    case 'body': return route.body !== undefined;
    case 'input': return route.body !== undefined || route.params !== undefined || route.querystring !== undefined;
    // Route-specific codes are listed on the route itself.
    case 'route':
    case 'unrouted': return false;
  }
}

/** Every code the route can answer with, and its status. */
export function answersOf(route: Route): Answered[] {
  const answers: Answered[] = [];
  for (const success of route.success) {
    for (const code of success.codes ?? []) answers.push({ status: success.status, code, message: resultRegistry(route)[code].message });
  }
  if (route.results) {
    const registry = resultRegistry(route);
    const codes = route.results === 'account' ? ACCOUNT_RESULT_CODES : TRANSFER_RESULT_CODES;
    for (const code of codes) if (!isSuccess(code)) answers.push({ status: registry[code].status, code, message: registry[code].message });
  }
  for (const code of REQUEST_ERROR_CODES) {
    const extra = route.errors?.includes(code) ?? false;
    if (extra || applies(scopeOf(code), route)) answers.push({ status: REQUEST_ERRORS[code].status, code, message: REQUEST_ERRORS[code].message });
  }
  return answers;
}

function resultRegistry(route: Route): Readonly<Record<string, { status: number; message: string }>> {
  return route.results === 'transfer' ? TRANSFER_RESULTS : ACCOUNT_RESULTS;
}

function examples(answers: readonly Answered[], withValue: boolean) {
  return Object.fromEntries(answers.map(({ code, message }) => [code, withValue ? { summary: message, value: { code, message } } : { summary: message }]));
}

function errorResponse(answers: readonly Answered[], extra: Record<string, unknown> = {}) {
  return {
    description: answers.map(({ code, message }) => `\`${code}\`: ${message}`).join('\n\n'),
    ...extra,
    content: { 'application/json': { schema: errorOutput(answers.map((answer) => answer.code)), examples: examples(answers, true) } },
  };
}

function responsesOf(route: Route): Record<string, unknown> {
  const answers = answersOf(route);
  const responses: Record<string, unknown> = {};
  for (const success of route.success) {
    const codes = answers.filter((answer) => success.codes?.includes(answer.code as 'ok') && answer.status === success.status);
    const media: Record<string, unknown> = { schema: named(success.schema) };
    if (codes.length > 0) media.examples = examples(codes, false);
    responses[String(success.status)] = { description: success.description, content: { 'application/json': media } };
  }
  const errors = answers.filter((answer) => !route.success.some((success) => success.codes?.includes(answer.code as 'ok')));
  for (const status of [...new Set(errors.map((answer) => answer.status))].sort((a, b) => a - b)) {
    assert.ok(responses[String(status)] === undefined, `${route.method} ${route.url}: status ${status} is both a success and an error`);
    responses[String(status)] = errorResponse(errors.filter((answer) => answer.status === status));
  }
  return responses;
}

/** A schema used by several operations is written once, under components.schemas. */
function named(schema: TSchema): TSchema | { $ref: string } {
  const name = Object.keys(NAMED_SCHEMAS).find((key) => NAMED_SCHEMAS[key as keyof typeof NAMED_SCHEMAS] === schema);
  return name === undefined ? schema : { $ref: `#/components/schemas/${name}` };
}

function parametersOf(route: Route): unknown[] {
  const of = (schema: TSchema | undefined, where: 'path' | 'query') => {
    const properties = (schema?.properties ?? {}) as Record<string, TSchema>;
    const required = (schema?.required ?? []) as string[];
    return Object.entries(properties).map(([name, property]) => ({
      name, in: where, required: where === 'path' || required.includes(name), schema: property,
      ...(property.description ? { description: property.description } : {}),
    }));
  };
  return [...of(route.params, 'path'), ...of(route.querystring, 'query')];
}

function operationOf(route: Route): Record<string, unknown> {
  const operation: Record<string, unknown> = {
    operationId: route.operationId,
    summary: route.summary,
    security: route.access === 'public' ? [] : [{ bearerAuth: [] }],
    description: { public: 'No key needed.', read: 'Any key (operator or auditor).', write: 'An operator key.' }[route.access],
    responses: responsesOf(route),
  };
  const parameters = parametersOf(route);
  if (parameters.length > 0) operation.parameters = parameters;
  if (route.body) operation.requestBody = { required: true, content: { 'application/json': { schema: named(route.body) } } };
  return operation;
}

/** Request errors no route answers: they come from outside every route. */
function unroutedResponses(): Record<string, unknown> {
  const codes = REQUEST_ERROR_CODES.filter((code) => scopeOf(code) === 'unrouted');
  return Object.fromEntries(codes.map((code) => {
    const { status, message } = REQUEST_ERRORS[code];
    return [code, errorResponse([{ status, code, message }], { 'x-status': status })];
  }));
}

export function openApiDocument(routes: readonly Route[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operationOf(route) };
  }
  const document = {
    openapi: '3.1.0',
    info: {
      title: 'mari',
      version: API_VERSION,
      description: 'A double-entry ledger for mobile money. Amounts and balances are strings of decimal digits in the asset\'s smallest unit; times are Africa/Harare (+02:00) with nanoseconds.',
    },
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key: mari_ followed by 43 base64url characters.' } },
      schemas: NAMED_SCHEMAS,
      responses: unroutedResponses(),
    },
  };
  // A plain JSON value: TypeBox's symbol keys drop out here.
  return JSON.parse(JSON.stringify(document)) as Record<string, unknown>;
}
