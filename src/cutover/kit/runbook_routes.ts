// The runbook and the maintenance notices inside the running mari: the state is persisted
// through the writer, gates call the tools (pluggable: production uses the real reconcile,
// parity and verify; tests plug the same real functions over their own fixtures), and the
// operator drives it through these routes (the `mari cutover` and `mari notify` commands).
import { Type } from '@sinclair/typebox';
import { RequestError } from '../../errors/registry.js';
import type { PlatformContext } from '../../platform.js';
import { route, type Route } from '../../channels/http/routes.js';
import type { Maintenance } from './maintenance.js';
import { Notices } from './notices.js';
import { checkParity, findCatalog, legacyMenu, paritySummary } from './parity.js';
import { openLegacyDb } from './legacy_db.js';
import { reconcileGate, reconcileMonitor } from './tools.js';
import { CUTOVERS, Runbook, cutoverSummary, newCutover, type CutoverEffects, type CutoverState, type CutoverTools } from './runbook.js';
import { SERVICES } from './services.js';
import type { StatusBoard } from './status.js';
import { SqliteStore } from '../../store/sqlite.js';
import { importDeltaGate } from '../tools.js';
import { Watch, chargingMonitor, conservationMonitor, verifyMonitor, vouchersMonitor } from './watch.js';

const NOTICE_TICK_MS = 1000;
const WATCH_INTERVAL_S_DEFAULT = 300;
/** A rollback keeps mari closed at least this long past now, whatever the window said. */
const ROLLBACK_CLOSED_MIN_MS = 3600_000;

export interface CutoverParts {
  readonly notices: Notices;
  /** The gates' tools as plugged in (parity is also asked for on its own). */
  readonly tools: CutoverTools;
  readonly runbook: Runbook;
  readonly watch: Watch;
  /** The cutover under way, or the last one. */
  current(): CutoverState | undefined;
  close(): Promise<void>;
}

export type CutoverToolsFactory = (defaults: CutoverTools, context: PlatformContext) => CutoverTools;

interface Deps {
  context: PlatformContext;
  maintenance: Maintenance;
  board: StatusBoard;
  tools?: CutoverToolsFactory;
  timers: boolean;
}

/** The real tools: reach from the notices, parity against the legacy menu and the USSD catalog, verify and the monitors. */
function defaultTools(deps: { context: PlatformContext; notices: Notices; watch: Watch }): CutoverTools {
  const { context, notices, watch } = deps;
  return {
    async reach(campaign) {
      if (campaign === null) return { ok: false, summary: 'no notice campaign is attached to this cutover' };
      const report = await notices.reach(campaign);
      return { ok: true, summary: `${report.delivered}/${report.targeted} reached (${(report.reach * 100).toFixed(1)}%)`, details: { ...report, never_reached: report.never_reached.length } };
    },
    importDelta: ({ from }) => importDeltaGate(context.handle, from),
    reconcile: ({ from }) => reconcileGate(context.handle, from),
    async parity({ from }) {
      if (from === undefined) return { ok: false, summary: 'the legacy database is needed (from: mysql://…)' };
      const catalog = findCatalog(context.modules);
      if (catalog === undefined) return { ok: false, summary: 'mari has no USSD service catalog loaded' };
      const db = await openLegacyDb(from);
      try {
        const report = await checkParity({ legacy: await legacyMenu(db), catalog });
        return { ok: report.ok, summary: paritySummary(report), details: report };
      } finally {
        await db.close();
      }
    },
    async verify() {
      return verifyMonitor(context.handle).check();
    },
    async watch() {
      const results = await watch.run('cutover');
      const failed = results.filter((r) => !r.ok);
      return { ok: failed.length === 0, summary: failed.length === 0 ? `${results.length} monitor(s) pass` : failed.map((r) => `${r.monitor}: ${r.summary}`).join('; '), details: results };
    },
  };
}

export async function openCutover(deps: Deps): Promise<CutoverParts> {
  const { context, maintenance, board } = deps;
  const { handle } = context;
  const notices = await Notices.open(handle);
  let state: CutoverState | undefined;
  const monitors = [conservationMonitor(handle), chargingMonitor(handle), verifyMonitor(handle), vouchersMonitor(handle)];
  if (context.config.legacy_url !== '') {
    const switchedAt = () => (state?.switched_at_timestamp ? BigInt(state.switched_at_timestamp) : undefined);
    monitors.push(reconcileMonitor(handle, { from: context.config.legacy_url, switchedAt }));
  }
  const watch = new Watch(monitors, board);
  for await (const doc of handle.store.documents(CUTOVERS)) state = JSON.parse(doc.value) as CutoverState; // keys are time-ordered: the last is the latest
  const defaults = defaultTools({ context, notices, watch });
  const baseTools = deps.tools ? deps.tools(defaults, context) : defaults;
  // The reach gate compares with the cutover's own threshold.
  const tools: CutoverTools = {
    ...baseTools,
    async reach(campaign) {
      const result = await baseTools.reach(campaign);
      const reach = (result.details as { reach?: number } | undefined)?.reach;
      if (!result.ok || reach === undefined || state === undefined) return result;
      return reach >= state.reach_min ? result : { ...result, ok: false, summary: `${result.summary}, below the ${(state.reach_min * 100).toFixed(1)}% required` };
    },
  };
  const effects: CutoverEffects = {
    async freeze(current, by) {
      await maintenance.set({ on: true, service: 'all', until: current.window.ends_at, reason: `platform cutover ${current.id}`, by });
    },
    async switchOn(_current, by) {
      await handle.writer.settled();
      const timestamp = handle.ledger.lastTimestamp;
      await maintenance.set({ on: false, service: 'all', by });
      return { timestamp };
    },
    async rollback(current, plan, by) {
      const until = new Date(Math.max(Date.parse(current.window.ends_at), Date.now() + ROLLBACK_CLOSED_MIN_MS)).toISOString();
      if (current.phase !== 'announced') await maintenance.set({ on: true, service: 'all', until, reason: `cutover ${current.id} rolled back`, by });
      await board.openIncident({
        title: 'Platform change rolled back', impact: 'degraded', services: [...SERVICES], by,
        text: `The planned platform change was rolled back; the current platform carries on serving customers. ${plan.actions.length} step(s) taken.`,
      });
    },
    transfersSince(timestamp, limit) {
      let count = 0;
      const ids: string[] = [];
      // The embedded store reads its journal by time; PostgreSQL's journal is listed with SQL (README).
      if (!(handle.store instanceof SqliteStore)) return { count: -1, ids };
      for (const record of handle.store.verifySource().records(timestamp + 1n, handle.ledger.lastTimestamp)) {
        if (record.kind !== 'transfer') continue;
        count++;
        if (ids.length < limit) ids.push(record.transfer.id);
      }
      return { count, ids };
    },
    async save(next) {
      const closed = next.phase === 'watched' || next.phase === 'rolled_back';
      await handle.writer.execute({ run: (ctx) => ctx.put({ collection: CUTOVERS, key: next.id, tag: closed ? 'closed' : 'current', value: JSON.stringify(next) }) });
      state = next;
      board.setWindow(closed ? null : { starts_at: next.window.starts_at, ends_at: next.window.ends_at, what: 'Platform change: sending money, airtime, bundles and payments pause; balance enquiries work.' });
    },
  };
  const runbook = new Runbook(tools, effects);
  if (state && state.phase !== 'watched' && state.phase !== 'rolled_back') {
    board.setWindow({ starts_at: state.window.starts_at, ends_at: state.window.ends_at, what: 'Platform change: sending money, airtime, bundles and payments pause; balance enquiries work.' });
  }
  const watchInterval = Number(process.env.MARI_WATCH_INTERVAL_S) > 0 ? Number(process.env.MARI_WATCH_INTERVAL_S) : WATCH_INTERVAL_S_DEFAULT;
  if (state?.phase === 'switched' || state?.phase === 'watched') watch.start(watchInterval);
  let lastTick = Date.now();
  const ticker = setInterval(() => {
    const now = Date.now();
    void notices.tick({ elapsed_s: (now - lastTick) / 1000 }).catch(() => undefined);
    lastTick = now;
  }, NOTICE_TICK_MS);
  ticker.unref();
  if (!deps.timers) clearInterval(ticker);
  // Operator calls on the runbook run one at a time: two advances must not race through a gate.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    notices, runbook, watch, tools,
    current: () => state,
    serial, watchInterval,
    async close() {
      clearInterval(ticker);
      await watch.close();
    },
  } as CutoverParts & { serial: typeof serial; watchInterval: number };
}

const By = Type.String({ minLength: 1, maxLength: 80, description: 'Who decides: the operator\'s name, journaled.' });
const From = Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'The legacy database, mysql://user:password@host/db; used for the step and never stored.' }));
const Summary = Type.Record(Type.String(), Type.Unknown());

export function cutoverRoutes(parts: CutoverParts): Route[] {
  const internal = parts as CutoverParts & { serial: <T>(work: () => Promise<T>) => Promise<T>; watchInterval: number };
  const required = (): CutoverState => {
    const state = parts.current();
    if (state === undefined) throw new RequestError('cutover_not_started');
    return state;
  };
  const active = (): CutoverState => {
    const state = parts.current();
    if (state === undefined) throw new RequestError('cutover_not_started');
    if (state.phase === 'watched' || state.phase === 'rolled_back') throw new RequestError('cutover_finished', { phase: state.phase });
    return structuredClone(state);
  };
  return [
    route({
      method: 'GET', url: '/cutover', operationId: 'getCutover', summary: 'Where the cutover runbook is: step, blocker, time left, journal.', access: 'read',
      errors: ['cutover_not_started'],
      success: [{ status: 200, description: 'The cutover under way, or the last one.', schema: Summary }],
      handle: async () => ({ status: 200, body: cutoverSummary(required()) }),
    }),
    route({
      method: 'POST', url: '/cutover', operationId: 'announceCutover', summary: 'Announce a cutover window: the runbook starts at `announced`.', access: 'write', writes: true,
      body: Type.Object({
        starts_at: Type.String(), ends_at: Type.String(), by: By,
        campaign: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'The maintenance notice campaign whose reach gates the freeze.' })),
        reach_min: Type.Optional(Type.Number({ minimum: 0, maximum: 1, default: 0.9, description: 'Fraction of targeted subscribers that must have been reached to freeze.' })),
      }, { additionalProperties: false }),
      errors: ['cutover_exists', 'cutover_window_invalid'],
      success: [{ status: 201, description: 'The runbook, at announced.', schema: Summary }],
      handle: ({ body }) => internal.serial(async () => {
        const current = parts.current();
        if (current && current.phase !== 'watched' && current.phase !== 'rolled_back') throw new RequestError('cutover_exists', { id: current.id, phase: current.phase });
        const state = newCutover({ window: { starts_at: body.starts_at, ends_at: body.ends_at }, campaign: body.campaign ?? null, reach_min: body.reach_min ?? 0.9, by: body.by });
        await parts.runbook.decide(state, { by: body.by, text: 'runbook opened' });
        return { status: 201, body: cutoverSummary(state) };
      }),
    }),
    route({
      method: 'POST', url: '/cutover/advance', operationId: 'advanceCutover', summary: 'Run the next step\'s gate and, if it passes, its action.', access: 'write', writes: true,
      body: Type.Object({ by: By, from: From }, { additionalProperties: false }),
      errors: ['cutover_not_started', 'cutover_finished', 'cutover_gate_failed'],
      success: [{ status: 200, description: 'The runbook after the step.', schema: Summary }],
      handle: ({ body }) => internal.serial(async () => {
        const state = await parts.runbook.advance(active(), { by: body.by, from: body.from });
        if (state.phase === 'switched' || state.phase === 'watched') parts.watch.start(internal.watchInterval);
        return { status: 200, body: cutoverSummary(state) };
      }),
    }),
    route({
      method: 'POST', url: '/cutover/decisions', operationId: 'recordCutoverDecision', summary: 'Journal an operator\'s decision (go/no-go, an accepted difference).', access: 'write', writes: true,
      body: Type.Object({ by: By, text: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false }),
      errors: ['cutover_not_started', 'cutover_finished'],
      success: [{ status: 200, description: 'The runbook with the decision journaled.', schema: Summary }],
      handle: ({ body }) => internal.serial(async () => ({ status: 200, body: cutoverSummary(await parts.runbook.decide(active(), body)) })),
    }),
    route({
      method: 'GET', url: '/cutover/rollback', operationId: 'planCutoverRollback', summary: 'What a rollback would do from here, before anything is done.', access: 'read',
      errors: ['cutover_not_started', 'cutover_finished'],
      success: [{ status: 200, description: 'The plan.', schema: Summary }],
      handle: async () => ({ status: 200, body: { ...parts.runbook.plan(active()) } }),
    }),
    route({
      method: 'POST', url: '/cutover/rollback', operationId: 'rollBackCutover', summary: 'Roll the cutover back (confirm: true, after reading the plan).', access: 'write', writes: true,
      body: Type.Object({ by: By, confirm: Type.Boolean(), reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
      errors: ['cutover_not_started', 'cutover_finished', 'cutover_confirmation_required'],
      success: [{ status: 200, description: 'The plan carried out and the runbook, now rolled back.', schema: Summary }],
      handle: ({ body }) => internal.serial(async () => {
        const { state, plan } = await parts.runbook.rollback(active(), body);
        return { status: 200, body: { plan, cutover: cutoverSummary(state) } };
      }),
    }),
    route({
      method: 'POST', url: '/notices/maintenance', operationId: 'announceMaintenance',
      summary: 'Text every affected subscriber about a maintenance window (idempotent: one campaign per window).', access: 'write', writes: true,
      body: Type.Object({
        starts_at: Type.String(), ends_at: Type.String(), by: By,
        audience: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('recent'), Type.Literal('all')], {
          default: 'active', description: 'active subscribers; active ones with a transaction on a wallet in the last active_within_days days (recent); or every subscriber not closed.',
        })),
        active_within_days: Type.Optional(Type.Number({ description: 'recent only: whole days, 1 to 3650, counted back from the campaign\'s start; legacy history counts at its legacy time.' })),
        rate_per_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 50 })),
        reminder_before_s: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 86400, default: 3 * 3600 })),
        resend_after_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400, default: 1800 })),
        attempts_max: Type.Optional(Type.Integer({ minimum: 1, maximum: 9, default: 3 })),
      }, { additionalProperties: false }),
      errors: ['cutover_window_invalid', 'notice_audience_invalid'],
      success: [
        { status: 201, description: 'The campaign, started.', schema: Summary },
        { status: 200, description: 'The campaign for this window already exists: nothing queued again.', schema: Summary },
      ],
      async handle({ body }) {
        const { campaign, created } = await parts.notices.start({
          window: { starts_at: body.starts_at, ends_at: body.ends_at }, by: body.by, audience: body.audience ?? 'active',
          ...(body.active_within_days === undefined ? {} : { active_within_days: body.active_within_days }), rate_per_s: body.rate_per_s ?? 50,
          reminder_before_s: body.reminder_before_s ?? 3 * 3600, resend_after_s: body.resend_after_s ?? 1800, attempts_max: body.attempts_max ?? 3,
        });
        return { status: created ? 201 : 200, body: { ...campaign } };
      },
    }),
    route({
      method: 'GET', url: '/notices/maintenance/:id', operationId: 'getMaintenanceReach', summary: 'Reach of a notice campaign: sent, delivered, failed by reason, never reached.', access: 'read',
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }), errors: ['notice_campaign_not_found'],
      success: [{ status: 200, description: 'The reach report, from delivery reports.', schema: Summary }],
      handle: async ({ params }) => ({ status: 200, body: { ...(await parts.notices.reach(params.id)) } }),
    }),
    route({
      method: 'POST', url: '/parity', operationId: 'checkParity', access: 'write', writes: true,
      summary: 'Every enabled legacy menu service must exist, be enabled in the USSD catalog and answer a smoke transaction.',
      body: Type.Object({ from: Type.String({ minLength: 1, maxLength: 500, description: 'The legacy database, mysql://…; not stored.' }) }, { additionalProperties: false }),
      success: [{ status: 200, description: 'The parity report (ok false names what is missing, disabled or silent).', schema: Summary }],
      async handle({ body }) {
        const result = await parts.tools.parity({ from: body.from });
        const report = (result.details ?? {}) as Record<string, unknown>;
        return { status: 200, body: { legacy_enabled: 0, present: 0, missing: [], disabled: [], smoke_failed: [], ...report, ok: result.ok, summary: result.summary } };
      },
    }),
    route({
      method: 'GET', url: '/watch', operationId: 'getWatch', summary: 'The invariant monitors\' latest results.', access: 'read',
      success: [{ status: 200, description: 'One result per monitor.', schema: Summary }],
      handle: async () => ({ status: 200, body: { scheduled: parts.watch.scheduled, results: parts.watch.results() } }),
    }),
    route({
      method: 'POST', url: '/watch/run', operationId: 'runWatch', summary: 'Run every invariant monitor now.', access: 'write',
      success: [{ status: 200, description: 'One result per monitor; failures open incidents.', schema: Summary }],
      handle: async () => ({ status: 200, body: { scheduled: parts.watch.scheduled, results: await parts.watch.run('operator') } }),
    }),
  ];
}
