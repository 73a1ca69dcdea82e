// The USSD platform module: the aggregator endpoint (POST /ussd, form-encoded as Africa's Talking
// sends it, answered in text/plain), and the catalog routes operators and the cutover parity
// check use, whose smoke check (smoke.ts) drives this engine's journeys on its own test accounts.
// Built after mobile money and prepaid, whose service APIs the menus call.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { RequestError } from '../../errors/registry.js';
import { createLogger } from '../../log.js';
import type { ModuleFactory, ProductModule } from '../../platform.js';
import { route, type Route } from '../http/routes.js';
import { LABEL_LENGTH_MAX, UssdCatalog, type CatalogEntry } from './catalog.js';
import { UssdEngine, type MaintenanceView, type UssdRequest } from './engine.js';
import { FLOWS_BY_SERVICE } from './flows.js';
import { servicesFrom } from './services.js';
import { SmokeCheck, smokeServicesFrom } from './smoke.js';

export const USSD_PATH = '/ussd';
/** An aggregator request is a few short fields. */
const FORM_BYTES_MAX = 4096;

export interface UssdModule extends ProductModule {
  readonly name: 'ussd';
  readonly catalog: UssdCatalog;
  readonly engine: UssdEngine;
  /** Catalog services whose product module is not on this platform (so their menu items answer "not available"). */
  unavailableServices(): string[];
}

export const ussdModule: ModuleFactory = async ({ handle, config, modules }): Promise<UssdModule> => {
  const services = servicesFrom(modules);
  const catalog = await UssdCatalog.open({ store: handle.store, writer: handle.writer, implemented: new Set(FLOWS_BY_SERVICE.keys()) });
  const log = createLogger(config.log_level).child({ module: 'ussd' });
  // The cutover kit opens after this module: found when a request comes.
  const maintenance = () => (modules.get('cutover') as { maintenance?: MaintenanceView } | undefined)?.maintenance;
  const engine = new UssdEngine({ catalog, services, writer: handle.writer, store: handle.store, timeout_s: config.ussd_session_timeout_s, log, maintenance });
  const smoke = new SmokeCheck({ engine, services: smokeServicesFrom(modules), accounts: handle.ledger.accounts });
  catalog.setSmoke((item) => smoke.run(item));
  const unavailableServices = () => catalog.services()
    .filter((item) => FLOWS_BY_SERVICE.get(item.service)?.needs.some((name) => services[name] === undefined) ?? true)
    .map((item) => item.service);
  return {
    name: 'ussd', catalog, engine, unavailableServices,
    routes: () => catalogRoutes({ catalog, writer: handle.writer, unavailableServices }),
    register: (app) => registerEndpoint(app, engine),
    close: async () => engine.close(),
  };
};

async function registerEndpoint(app: FastifyInstance, engine: UssdEngine): Promise<void> {
  // Scoped: form bodies are accepted here only; every JSON route still refuses them.
  await app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BYTES_MAX }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    scope.post(USSD_PATH, async (request, reply) => {
      const body = request.body as Partial<Record<keyof UssdRequest, string>> | undefined;
      if (typeof body !== 'object' || body === null) throw new RequestError('invalid_request', [{ in: 'body', path: '', message: 'Expected a form' }]);
      const answer = await engine.answer({
        sessionId: body.sessionId ?? '', serviceCode: body.serviceCode ?? '', phoneNumber: body.phoneNumber ?? '', networkCode: body.networkCode, text: body.text ?? '',
      });
      return reply.code(200).type('text/plain; charset=utf-8').send(answer);
    });
  });
}

const Label = Type.String({ minLength: 1, maxLength: LABEL_LENGTH_MAX });
const EntrySchema = Type.Object({
  short_code: Type.String({ minLength: 1, maxLength: 16, description: 'A short code such as *151#.' }),
  key: Type.String({ minLength: 1, maxLength: 8, description: 'The menu key: 1, or 5.1 for item 1 of the submenu at 5.' }),
  label: Type.Object({ en: Label, sn: Label, nd: Label }, { additionalProperties: false }),
  service: Type.String({ minLength: 1, maxLength: 32, description: 'A service the menus implement, or MENU for a submenu.' }),
  enabled: Type.Boolean(),
}, { additionalProperties: false });

function catalogRoutes(context: { catalog: UssdCatalog; writer: import('../../store/writer.js').Writer; unavailableServices: () => string[] }): Route[] {
  const { catalog, writer } = context;
  return [
    route({
      method: 'GET', url: '/ussd/catalog', operationId: 'getUssdCatalog',
      summary: 'The USSD service catalog: every entry, and the services customers can reach (what the cutover parity check compares).', access: 'read',
      success: [{
        status: 200, description: 'The catalog.', schema: Type.Object({
          entries: Type.Array(EntrySchema),
          services: Type.Array(Type.Object({ short_code: Type.String(), key: Type.String(), service: Type.String(), label: Type.String() })),
          unavailable: Type.Array(Type.String(), { description: 'Reachable services whose product module is not running here.' }),
        }),
      }],
      async handle() {
        return { status: 200, body: { entries: catalog.list(), services: catalog.services(), unavailable: context.unavailableServices() } };
      },
    }),
    route({
      method: 'POST', url: '/ussd/catalog', operationId: 'putUssdCatalogEntry',
      summary: 'Add or replace a catalog entry (relabel, move, enable or disable a service).', access: 'write', writes: true,
      body: EntrySchema, errors: ['ussd_catalog_entry_invalid', 'ussd_service_unknown'],
      success: [{ status: 200, description: 'The entry as stored.', schema: EntrySchema }],
      async handle({ body }) {
        return { status: 200, body: await catalog.put(writer, body as CatalogEntry) };
      },
    }),
  ];
}
