// The HTTP channel: builds the fastify app over an open ledger without listening, so tests use
// app.inject and the CLI decides where to listen.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import type { KeyStore } from '../../auth/keys.js';
import type { Config } from '../../config.js';
import { RequestError } from '../../errors/registry.js';
import type { LedgerHandle } from '../../store/open.js';
import type { Writer } from '../../store/writer.js';
import type { AdmittedRequest, ProductModule } from '../../platform.js';
import { bearerAuth } from './auth.js';
import { enquiryLane, laneServer, type Lane } from './enquiry_lane.js';
import { clientErrorHandler, errorHandler, frameworkErrorHandler, notFoundHandler } from './errors.js';
import { openApiDocument } from './openapi.js';
import { routes, type Route } from './routes.js';
import { typeboxValidatorCompiler } from './validation.js';

export interface AppOptions {
  handle: LedgerHandle;
  config: Readonly<Config>;
  keys: KeyStore;
  /** Product modules: their routes join the table, their raw registrations run after. */
  modules?: Iterable<ProductModule>;
  /** true: pino JSON lines at config.log_level; pino options (e.g. a stream); or a pino logger. Default off. */
  logger?: boolean | object;
}

/** Limits fastify enforces once listening; the body limit comes from the configuration. */
const REQUEST_TIMEOUT_MS = 30_000;
const CONNECTION_TIMEOUT_MS = 60_000;
/** fastify's own default, kept: longer than the idle timeout of common load balancers. */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;
const PARAM_LENGTH_MAX = 128;
/** Headers that carry secrets, censored in every log line that includes them. */
export const REDACTED_PATHS = ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'];

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { handle, config, keys } = options;
  let lane: Lane | undefined;
  const limits = { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionTimeout: CONNECTION_TIMEOUT_MS };
  const app = Fastify({
    ...loggerOptions(options.logger, config),
    serverFactory: (fastify) => laneServer(fastify, () => lane, limits),
    bodyLimit: config.body_bytes_max,
    ...limits,
    routerOptions: { maxParamLength: PARAM_LENGTH_MAX },
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  });
  app.setValidatorCompiler(({ schema, httpPart }) => typeboxValidatorCompiler({ schema: schema as TSchema, httpPart }));
  // JSON only: without this, fastify would hand a text/plain body to the schema as a string.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(errorHandler);
  app.addHook('onRequest', bearerAuth(keys));
  const writerStop = watchWriter(handle.writer);
  app.addHook('onClose', async () => writerStop.release());
  let document: Record<string, unknown> = {};
  // Read once: callers pass an iterator (platform.modules.values()), which a second loop would find empty.
  const modules = [...(options.modules ?? [])];
  const admit = admission(modules);
  app.addHook('preHandler', async function admitRequest(request) {
    const url = request.routeOptions.url;
    if (url !== undefined) admit({ method: request.method, url, params: request.params, body: request.body });
  });
  const table = [
    ...routes({ handle, config, written: (work) => Promise.race([work, writerStop.stopped]) }),
    ...modules.flatMap((module) => module.routes?.() ?? []),
    openApiRoute(() => document),
  ];
  document = openApiDocument(table);
  for (const route of table) register(app, route);
  for (const module of modules) await module.register?.(app);
  app.setNotFoundHandler(notFoundHandler(table));
  lane = enquiryLane({ handle, keys, admit, log: app.log });
  return app;
}

/** Every module's admission in turn; the first refusal stands. */
function admission(modules: readonly ProductModule[]): (request: AdmittedRequest) => void {
  const admitting = modules.filter((module) => module.admit !== undefined);
  return (request) => {
    for (const module of admitting) module.admit!(request);
  };
}

/** A pino logger (it keeps its own redaction), pino options, or true for JSON lines at config.log_level. */
function loggerOptions(logger: AppOptions['logger'], config: Readonly<Config>): Pick<FastifyServerOptions, 'logger' | 'loggerInstance'> {
  if (logger === undefined || logger === false) return { logger: false };
  if (isLogger(logger)) return { loggerInstance: logger };
  const redact = { paths: REDACTED_PATHS, censor: '[redacted]' };
  return { logger: { level: config.log_level, ...(logger === true ? {} : logger), redact } };
}

function isLogger(value: object | true): value is FastifyBaseLogger {
  const candidate = value as Partial<FastifyBaseLogger>;
  return typeof candidate.child === 'function' && typeof candidate.info === 'function';
}

function register(app: FastifyInstance, route: Route): void {
  const schema: Record<string, TSchema> = {};
  if (route.params) schema.params = route.params;
  if (route.querystring) schema.querystring = route.querystring;
  if (route.body) schema.body = route.body;
  app.route({
    method: route.method,
    url: route.url,
    schema,
    config: { access: route.access, writes: route.writes === true },
    async handler(request, reply) {
      const answer = await route.handle({ params: request.params, query: request.query, body: request.body });
      return reply.code(answer.status).send(answer.body);
    },
  });
}

function openApiRoute(document: () => Record<string, unknown>): Route {
  return {
    method: 'GET', url: '/openapi.json', operationId: 'openApi', summary: 'This document.', access: 'public',
    success: [{ status: 200, description: 'The OpenAPI 3.1 document.', schema: Type.Record(Type.String(), Type.Unknown()) }],
    handle: async () => ({ status: 200, body: document() }),
  };
}

/**
 * A write waits for the writer's answer. If the writer stops (a failed commit, a broken
 * invariant), operations it already took may never be answered, so each wait also ends then.
 */
function watchWriter(writer: Writer): { stopped: Promise<never>; release(): void } {
  let reject: (error: Error) => void = () => undefined;
  const stopped = new Promise<never>((_, rejectStopped) => (reject = rejectStopped));
  stopped.catch(() => undefined); // observed through Promise.race; never unhandled
  const onFatal = () => reject(new RequestError('writer_unavailable'));
  writer.once('fatal', onFatal);
  return { stopped, release: () => writer.off('fatal', onFatal) };
}
