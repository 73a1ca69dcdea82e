// The enquiry lane. After a cutover, customers check whether their money is still there: most of
// the surge is balance enquiries, and fastify's pipeline (routing, hooks, promises, reply hooks)
// costs more than the answer. The lane answers GET /accounts/:id on the raw request when it can
// answer exactly as the route would: a plain id, a key of any role, an account that no commit in
// flight has touched, and the modules' admission (the surge guard). Anything else goes to fastify
// unchanged, which answers it in full; the lane never answers differently, only sooner.
import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { KeyStore } from '../../auth/keys.js';
import { RequestError } from '../../errors/registry.js';
import { snapshot } from '../../ledger/ledger.js';
import type { AdmittedRequest } from '../../platform.js';
import type { LedgerHandle } from '../../store/open.js';
import { BEARER } from './auth.js';
import { errorBody, errorHeaders } from './errors.js';
import * as wire from './wire.js';

/** Ids the router would pass to the route as they are: no percent-encoding, no query, no slash. */
const ENQUIRY = /^\/accounts\/([0-9A-Za-z][0-9A-Za-z._:-]{0,99})$/;
const ROUTE = '/accounts/:id';
/** Levels at which fastify logs each request. */
const INFO_LEVELS: ReadonlySet<string> = new Set(['info', 'debug', 'trace']);

/** Answers the request and returns true, or returns false having written nothing. */
export type Lane = (request: IncomingMessage, response: ServerResponse) => boolean;

export interface LaneOptions {
  handle: LedgerHandle;
  keys: KeyStore;
  /** The modules' admission, as fastify's preHandler asks it; throws a RequestError to refuse. */
  admit(request: AdmittedRequest): void;
  log: FastifyBaseLogger;
}

export function enquiryLane(options: LaneOptions): Lane {
  const answer = answerEnquiry(options);
  // A bug in the lane must not cost the answer: fastify takes the request if nothing was written.
  return (request, response) => {
    try {
      return answer(request, response);
    } catch (error) {
      options.log.error({ err: error }, 'the enquiry lane failed; fastify answers instead');
      if (response.headersSent) throw error;
      return false;
    }
  };
}

function answerEnquiry(options: LaneOptions): Lane {
  const { handle, keys, admit, log } = options;
  return (request, response) => {
    if (request.method !== 'GET') return false;
    const match = ENQUIRY.exec(request.url ?? '');
    if (match === null) return false;
    const key = BEARER.exec(request.headers.authorization ?? '');
    if (key === null || keys.authenticate(key[1]) === undefined) return false;
    const id = match[1];
    // As the route's own fast path: memory is the durable state for an account no batch in flight touched.
    const account = handle.ledger.accounts.get(id);
    if (account === undefined || !handle.writer.isSettled(account)) return false;
    const started = performance.now();
    try {
      admit({ method: 'GET', url: ROUTE, params: { id }, body: undefined });
    } catch (error) {
      if (!(error instanceof RequestError)) throw error;
      send(response, { status: error.status, body: errorBody(error), headers: errorHeaders(error) });
      logAnswer(log, { request, status: error.status, started });
      return true;
    }
    send(response, { status: 200, body: wire.accountJson({ account, balances: snapshot(account) }, handle.ledger.assets), headers: {} });
    logAnswer(log, { request, status: 200, started });
    return true;
  };
}

function send(response: ServerResponse, answer: { status: number; body: unknown; headers: Record<string, string> }): void {
  const payload = JSON.stringify(answer.body);
  response.writeHead(answer.status, {
    ...answer.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  });
  response.end(payload);
}

/** The line fastify writes for each request it completes, so an info-level log still shows every enquiry. */
function logAnswer(log: FastifyBaseLogger, answer: { request: IncomingMessage; status: number; started: number }): void {
  if (!INFO_LEVELS.has(log.level)) return;
  const { request, status, started } = answer;
  log.info({ req: { method: request.method, url: request.url }, res: { statusCode: status }, responseTime: performance.now() - started, lane: 'enquiry' }, 'request completed');
}

/** Limits fastify would set on a server it made itself. */
export interface ServerLimits {
  keepAliveTimeout: number;
  requestTimeout: number;
  connectionTimeout: number;
}

/**
 * The HTTP server for fastify's serverFactory: the lane first, fastify for the rest. The lane is
 * read through a function because it needs the app (its logger) and the modules, which exist only
 * after the server does; until it is there every request goes to fastify.
 */
export function laneServer(fastify: RequestListener, lane: () => Lane | undefined, limits: ServerLimits): http.Server {
  const server = http.createServer((request, response) => {
    if (lane()?.(request, response) !== true) fastify(request, response);
  });
  server.keepAliveTimeout = limits.keepAliveTimeout;
  server.requestTimeout = limits.requestTimeout;
  server.setTimeout(limits.connectionTimeout);
  return server;
}
