// The cutover kit as a platform module: maintenance switches, the public status page and
// incidents, the surge guard on balance enquiries, and (see runbook_routes.ts) the runbook and
// maintenance notices. Maintenance is hooked centrally (fastify onRequest) and the surge guard is
// the module's admission, which the HTTP channel asks for every request, so every module's routes
// are covered without each checking.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ModuleFactory, PlatformContext, ProductModule } from '../../platform.js';
import { route, type Route } from '../../channels/http/routes.js';
import { sendError } from '../../channels/http/errors.js';
import { Maintenance } from './maintenance.js';
import { harareText } from '../../time.js';
import { SERVICES, serviceOfPath } from './services.js';
import { StatusBoard } from './status.js';
import { EnquiryLimiter, SURGE_DEFAULTS, enquiryCustomer, type SurgeLimits } from './surge.js';
import { cutoverRoutes, openCutover, type CutoverParts, type CutoverToolsFactory } from './runbook_routes.js';

export const CUTOVER_MODULE = 'cutover';

export interface CutoverModule extends ProductModule, Omit<CutoverParts, 'close'> {
  readonly maintenance: Maintenance;
  readonly board: StatusBoard;
  readonly limiter: EnquiryLimiter;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    writes?: boolean;
  }
}

/** The cutover module of an open platform, for modules that call its checks (the USSD channel). */
export function cutoverOf(modules: ReadonlyMap<string, ProductModule>): CutoverModule | undefined {
  return modules.get(CUTOVER_MODULE) as CutoverModule | undefined;
}

export interface CutoverModuleOptions {
  limits?: Partial<SurgeLimits>;
  /** The tools the runbook's gates call; tests plug their own in, production the real ones. */
  tools?: CutoverToolsFactory;
  /** Whether notices are paced by a timer (tests drive notices.tick themselves). Default true. */
  timers?: boolean;
}

export function cutoverModule(options: CutoverModuleOptions = {}): ModuleFactory {
  return async (context: PlatformContext): Promise<CutoverModule> => {
    const maintenance = await Maintenance.open(context.handle);
    const board = await StatusBoard.open(context.handle, maintenance);
    const limiter = new EnquiryLimiter({ ...SURGE_DEFAULTS, ...limitsFromEnv(), ...options.limits });
    const parts = await openCutover({ context, maintenance, board, tools: options.tools, timers: options.timers ?? true });
    return {
      name: CUTOVER_MODULE,
      maintenance, board, limiter, ...parts,
      routes: () => [...operationsRoutes({ maintenance, board }), ...cutoverRoutes(parts)],
      register: (app) => registerPublic(app, { maintenance, board }),
      // The limiter runs once the body is parsed: a PIN balance enquiry names its MSISDN in the body.
      admit(request) {
        const customer = enquiryCustomer(request);
        if (customer !== undefined) limiter.admit(customer);
      },
      async close() {
        board.close();
        await parts.close();
      },
    };
  };
}

function limitsFromEnv(): Partial<SurgeLimits> {
  const limits: Partial<SurgeLimits> = {};
  const perCustomer = Number(process.env.MARI_ENQUIRIES_PER_CUSTOMER_PER_S);
  const total = Number(process.env.MARI_ENQUIRIES_PER_S);
  if (perCustomer > 0) limits.per_customer_per_s = perCustomer;
  if (total > 0) limits.total_per_s = total;
  return limits;
}

function registerPublic(app: FastifyInstance, parts: { maintenance: Maintenance; board: StatusBoard }): void {
  app.addHook('onRequest', async function maintenanceAndSurge(request: FastifyRequest, reply: FastifyReply) {
    const config = request.routeOptions.config;
    const url = request.routeOptions.url;
    if (url === undefined) return;
    if (config?.writes) {
      const service = serviceOfPath(url);
      const refusal = service === null ? undefined : parts.maintenance.refusal(service);
      if (refusal) {
        reply.header('retry-after', String(Math.max(60, Math.ceil((Date.parse((refusal.details as { until: string }).until) - Date.now()) / 1000))));
        sendError(reply, refusal);
        return reply;
      }
      return;
    }
  });
  const serve = (type: 'json' | 'html') => async (request: FastifyRequest, reply: FastifyReply) => {
    const page = parts.board.page();
    const wantsJson = type === 'json' || (request.headers.accept ?? '').startsWith('application/json');
    reply.header('cache-control', 'public, max-age=15').header('etag', page.etag);
    if (request.headers['if-none-match'] === page.etag) return reply.code(304).send();
    return reply.type(wantsJson ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8').send(wantsJson ? page.json : page.html);
  };
  app.get('/status', { config: { access: 'public' } }, serve('html'));
  app.get('/status.json', { config: { access: 'public' } }, serve('json'));
}

const ServiceName = Type.String({ minLength: 1, maxLength: 32, description: 'A service (send_money, airtime, bundles, vouchers, charging, ussd, sms...) or all.' });
const By = Type.String({ minLength: 1, maxLength: 80, description: 'Who decides: the operator\'s name, journaled.' });
const MaintenanceInput = Type.Object({
  on: Type.Boolean(),
  service: Type.Optional(ServiceName),
  until: Type.Optional(Type.String({ description: 'Planned end, RFC 3339; required to switch on.' })),
  reason: Type.Optional(Type.String({ maxLength: 200 })),
  by: By,
}, { additionalProperties: false });
const SwitchOutput = Type.Object({ service: Type.String(), until: Type.String(), until_harare: Type.String(), reason: Type.String(), by: Type.String(), since: Type.String() });
const MaintenanceOutput = Type.Object({ switches: Type.Array(SwitchOutput), services: Type.Array(Type.String()) });
const Impact = Type.Union([Type.Literal('degraded'), Type.Literal('down')]);
const IncidentOutput = Type.Object({
  id: Type.String(), title: Type.String(), impact: Impact, services: Type.Array(Type.String()), state: Type.Union([Type.Literal('open'), Type.Literal('resolved')]),
  opened_at: Type.String(), resolved_at: Type.Optional(Type.String()),
  updates: Type.Array(Type.Object({ at: Type.String(), by: Type.String(), text: Type.String() })),
});
const IncidentInput = Type.Object({
  title: Type.String({ minLength: 1, maxLength: 120 }), impact: Impact, services: Type.Array(ServiceName, { minItems: 1, maxItems: 16 }),
  text: Type.String({ minLength: 1, maxLength: 1000 }), by: By,
}, { additionalProperties: false });
const IncidentUpdateInput = Type.Object({
  text: Type.String({ minLength: 1, maxLength: 1000 }), by: By, resolve: Type.Optional(Type.Boolean()), impact: Type.Optional(Impact),
}, { additionalProperties: false });

function maintenanceBody(maintenance: Maintenance) {
  return {
    switches: maintenance.list().map((s) => ({ ...s, until_harare: harareText(new Date(s.until)) })),
    services: ['all', ...SERVICES],
  };
}

function operationsRoutes(parts: { maintenance: Maintenance; board: StatusBoard }): Route[] {
  const { maintenance, board } = parts;
  return [
    route({
      method: 'GET', url: '/maintenance', operationId: 'getMaintenance', summary: 'The maintenance switches in force.', access: 'read',
      success: [{ status: 200, description: 'Switches, and the service names a switch may name.', schema: MaintenanceOutput }],
      handle: async () => ({ status: 200, body: maintenanceBody(maintenance) }),
    }),
    route({
      method: 'POST', url: '/maintenance', operationId: 'setMaintenance', access: 'write', writes: true,
      summary: 'Switch maintenance on (until a planned end) or off, for every service or one.',
      body: MaintenanceInput, errors: ['maintenance_until_invalid', 'service_unknown'],
      success: [{ status: 200, description: 'The switches now in force.', schema: MaintenanceOutput }],
      async handle({ body }) {
        await maintenance.set(body);
        return { status: 200, body: maintenanceBody(maintenance) };
      },
    }),
    route({
      method: 'GET', url: '/incidents', operationId: 'listIncidents', summary: 'Open incidents, and recently resolved ones.', access: 'read',
      success: [{ status: 200, description: 'As on the status page.', schema: Type.Object({ incidents: Type.Array(IncidentOutput) }) }],
      handle: async () => ({ status: 200, body: { incidents: board.body().incidents } }),
    }),
    route({
      method: 'POST', url: '/incidents', operationId: 'openIncident', summary: 'Open an incident on the status page.', access: 'write', writes: true,
      body: IncidentInput, errors: ['service_unknown'],
      success: [{ status: 201, description: 'The incident, now on the status page.', schema: IncidentOutput }],
      handle: async ({ body }) => ({ status: 201, body: await board.openIncident(body) }),
    }),
    route({
      method: 'POST', url: '/incidents/:id/updates', operationId: 'updateIncident', summary: 'Add an update to an incident, or resolve it.', access: 'write', writes: true,
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }), body: IncidentUpdateInput,
      errors: ['incident_not_found', 'incident_resolved'],
      success: [{ status: 200, description: 'The incident as it now stands.', schema: IncidentOutput }],
      handle: async ({ params, body }) => ({ status: 200, body: await board.updateIncident(params.id, body) }),
    }),
  ];
}

