// Every error leaves as { code, message, details? } with the registry's status: ledger refusals,
// request errors, fastify's own errors (mapped to registry codes) and bugs (internal_error, with
// the stack in the log and never in the body).
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  RequestError,
  type AccountResult,
  type ErrorCode,
  type RequestErrorCode,
  type TransferResult,
} from '../../errors/registry.js';

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

export function refusal(registry: Readonly<Record<string, { status: number; message: string }>>, code: AccountResult | TransferResult) {
  const entry = registry[code];
  return { status: entry.status, body: { code, message: entry.message } satisfies ErrorBody };
}

const FASTIFY_CODES: Readonly<Record<string, RequestErrorCode>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_VALIDATION: 'invalid_request',
};

/** A registry error for anything thrown; undefined means a bug. */
function requestErrorOf(error: unknown): RequestError | undefined {
  if (error instanceof RequestError) return error;
  const fastifyError = error as Partial<FastifyError> | null;
  const mapped = fastifyError?.code === undefined ? undefined : FASTIFY_CODES[fastifyError.code];
  if (mapped !== undefined) return new RequestError(mapped);
  // Any other client error fastify raises (a bad URL encoding, say) is a malformed request.
  const status = fastifyError?.statusCode;
  if (status !== undefined && status >= 400 && status < 500) return new RequestError('invalid_request');
  return undefined;
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const known = requestErrorOf(error);
  if (known === undefined) {
    request.log.error({ err: error }, 'unexpected error');
    sendError(reply, new RequestError('internal_error'));
    return;
  }
  if (known.status >= 500) request.log.warn({ code: known.code }, known.message);
  else request.log.info({ code: known.code }, 'request refused');
  sendError(reply, known);
}

export function sendError(reply: FastifyReply, error: RequestError): void {
  reply.headers(errorHeaders(error)).code(error.status).type('application/json; charset=utf-8').send(errorBody(error));
}

export function errorBody(error: RequestError): ErrorBody {
  const body: ErrorBody = { code: error.code, message: error.message };
  if (error.details !== undefined) body.details = error.details;
  return body;
}

/** What a client needs besides the body: how to authenticate, or when to try again. */
export function errorHeaders(error: RequestError): Record<string, string> {
  if (error.code === 'unauthorized') return { 'www-authenticate': 'Bearer' };
  if (error.code === 'writer_unavailable' || error.code === 'not_writer') return { 'retry-after': '1' };
  const wait_s = (error.details as { retry_after_s?: number } | undefined)?.retry_after_s;
  return wait_s === undefined ? {} : { 'retry-after': String(wait_s) };
}

/** Router errors (a path that is not valid percent-encoding) that bypass the error handler. */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  errorHandler(error, request, reply);
}

/**
 * Errors Node's HTTP parser raises before fastify sees a request: answered on the socket in the
 * common shape, then closed (the connection's state is unknown).
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code: RequestErrorCode =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : error.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'invalid_request';
  const answer = new RequestError(code);
  const body = JSON.stringify({ code, message: answer.message } satisfies ErrorBody);
  socket.end(`HTTP/1.1 ${answer.status} ${http.STATUS_CODES[answer.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** 405 with Allow when the path exists under other methods, else 404. */
export function notFoundHandler(routes: readonly { method: string; url: string }[]) {
  const patterns = routes.map((route) => ({ method: route.method, pattern: pathPattern(route.url) }));
  return function routeNotFound(request: FastifyRequest, reply: FastifyReply): void {
    const path = request.url.split('?')[0];
    const allowed = patterns.filter((route) => route.pattern.test(path)).map((route) => route.method);
    if (allowed.length === 0) {
      sendError(reply, new RequestError('route_not_found'));
      return;
    }
    if (allowed.includes('GET')) allowed.push('HEAD');
    reply.header('allow', [...new Set(allowed)].join(', '));
    sendError(reply, new RequestError('method_not_allowed'));
  };
}

function pathPattern(url: string): RegExp {
  const escaped = url.split('/').map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${escaped.join('/')}$`);
}
