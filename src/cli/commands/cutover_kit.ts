// The cutover kit's commands. Those that change a running mari (maintenance, incidents, the
// runbook, notices, parity) talk to its operator API, so the server that holds the writer does
// the work and persists it; plan-window reads the legacy database directly.
import fs from 'node:fs';
import os from 'node:os';
import { harareText, durationText } from '../../time.js';
import { openLegacyDb } from '../../cutover/kit/legacy_db.js';
import { customersAffected, hourCounts, parseDuration, quietestWindows, svgChart, terminalChart, weekProfile } from '../../cutover/kit/plan.js';
import { rehearse as runRehearsal } from '../../cutover/kit/rehearse.js';
import { parse, UsageError, type Command } from '../args.js';

const API_OPTIONS = {
  url: { type: 'string' }, key: { type: 'string' }, by: { type: 'string' }, json: { type: 'boolean' },
} as const;

const API_USAGE = `  --url URL     the running mari (default: MARI_URL or http://127.0.0.1:8080)
  --key KEY     an operator API key (default: MARI_API_KEY)
  --by NAME     who decides, journaled (default: your login name)
  --json        print the answer as JSON`;

interface Api {
  call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: any }>;
  by: string;
  json: boolean;
}

function api(values: { url?: string; key?: string; by?: string; json?: boolean }): Api {
  const base = (values.url ?? process.env.MARI_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  const key = values.key ?? process.env.MARI_API_KEY;
  if (!key) throw new UsageError('an operator key is needed: --key or MARI_API_KEY');
  return {
    by: values.by ?? process.env.USER ?? os.userInfo().username,
    json: values.json ?? false,
    async call(method, path, body) {
      const response = await fetch(base + path, {
        method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
    },
  };
}

/** A refusal as the server said it: code, sentence, and the reason when a gate failed. */
function refused(answer: { status: number; body: any }): number {
  const body = answer.body ?? {};
  console.error(`refused (${body.code ?? answer.status}): ${body.message ?? ''}`);
  if (body.details?.reason) console.error(`  ${body.details.reason}`);
  return 1;
}

/** RFC 3339, or a Harare wall-clock time "2026-11-22 06:00". */
export function parseWhen(text: string | undefined, name: string): string {
  if (text === undefined) throw new UsageError(`--${name} is required`);
  const local = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2})$/.exec(text.trim());
  if (local) return `${local[1]}T${local[2]}:${local[3]}:00+02:00`;
  return text;
}

export const maintenance: Command = {
  name: 'maintenance',
  summary: 'switch maintenance on or off (all services or one), or show the switches',
  usage: `mari maintenance on --until TIME [--service NAME] [--reason TEXT]
mari maintenance off [--service NAME]
mari maintenance status

While on, writes to the service answer 503 'maintenance' with the planned end (Harare time);
balance enquiries and statements still answer. TIME is RFC 3339 or Harare local "2026-11-22 06:00".
Services: send_money cash merchant bank airtime bundles vouchers charging ussd sms ledger_api.

${API_USAGE}`,
  async run(argv) {
    const [action, ...rest] = argv;
    const { values } = parse(rest, { ...API_OPTIONS, until: { type: 'string' }, service: { type: 'string' }, reason: { type: 'string' } });
    const client = api(values);
    let answer;
    if (action === 'on') answer = await client.call('POST', '/maintenance', { on: true, until: parseWhen(values.until, 'until'), service: values.service, reason: values.reason, by: client.by });
    else if (action === 'off') answer = await client.call('POST', '/maintenance', { on: false, service: values.service, by: client.by });
    else if (action === 'status') answer = await client.call('GET', '/maintenance');
    else throw new UsageError('expected on, off or status');
    if (answer.status !== 200) return refused(answer);
    if (client.json) console.log(JSON.stringify(answer.body));
    else if (answer.body.switches.length === 0) console.log('no maintenance: every service is open');
    else for (const s of answer.body.switches) console.log(`${s.service.padEnd(12)} closed until ${s.until_harare} (Harare)  ${s.reason}  by ${s.by}`);
    return 0;
  },
};

export const incident: Command = {
  name: 'incident',
  summary: 'open, update or resolve an incident on the public status page',
  usage: `mari incident open --title TEXT --impact degraded|down --services a,b --text TEXT
mari incident update ID --text TEXT [--impact degraded|down] [--resolve]
mari incident list

${API_USAGE}`,
  async run(argv) {
    const [action, ...rest] = argv;
    const { values, positionals } = parse(rest, {
      ...API_OPTIONS, title: { type: 'string' }, impact: { type: 'string' }, services: { type: 'string' }, text: { type: 'string' }, resolve: { type: 'boolean' },
    }, true);
    const client = api(values);
    let answer;
    if (action === 'open') {
      answer = await client.call('POST', '/incidents', { title: values.title, impact: values.impact, services: (values.services ?? '').split(',').filter(Boolean), text: values.text, by: client.by });
    } else if (action === 'update') {
      if (positionals.length !== 1) throw new UsageError('update takes the incident id');
      answer = await client.call('POST', `/incidents/${encodeURIComponent(positionals[0])}/updates`, { text: values.text, impact: values.impact, resolve: values.resolve, by: client.by });
    } else if (action === 'list') answer = await client.call('GET', '/incidents');
    else throw new UsageError('expected open, update or list');
    if (answer.status >= 300) return refused(answer);
    console.log(JSON.stringify(answer.body, null, client.json ? 0 : 2));
    return 0;
  },
};

function printCutover(summary: any): void {
  console.log(`cutover ${summary.id}: ${summary.phase}${summary.time_left ? `, ${summary.time_left} left to the announced end (${summary.window.ends_harare} Harare)` : ''}`);
  console.log(`  ${summary.steps.map((s: { step: string; done: boolean }) => `${s.done ? '[x]' : '[ ]'} ${s.step}`).join('  ')}`);
  if (summary.next) console.log(`  next: ${summary.next.step} (gate: ${summary.next.gate})`);
  if (summary.blocked) console.log(`  STOPPED at ${summary.blocked.step}: ${summary.blocked.reason}`);
  for (const entry of summary.journal.slice(-8)) console.log(`  ${harareText(new Date(entry.at))}  ${entry.by.padEnd(10)} ${entry.kind.padEnd(11)} ${entry.step}: ${entry.text}`);
}

export const cutover: Command = {
  name: 'cutover',
  summary: 'the cutover runbook: announce, next step (with its gate), status, decisions, rollback',
  usage: `mari cutover announce --start TIME --end TIME [--campaign ID] [--reach-min 0.9]
mari cutover next [--from mysql://…/legacy]
mari cutover status
mari cutover decide --note TEXT
mari cutover rollback --reason TEXT [--yes]

Steps: announced → frozen → delta_imported → reconciled → parity_checked → switched → watched.
'next' runs the next step's gate (notices' reach, delta import, reconcile, parity, verify, the
monitors) and, if it passes, its action (freeze closes every service, switch reopens them); a
failed gate stops the runbook with the reason (exit 1). Every step and decision is journaled.
'rollback' prints what it will do; with --yes it does it.

${API_USAGE}`,
  async run(argv) {
    const [action, ...rest] = argv;
    const { values } = parse(rest, {
      ...API_OPTIONS, start: { type: 'string' }, end: { type: 'string' }, campaign: { type: 'string' }, 'reach-min': { type: 'string' },
      from: { type: 'string' }, note: { type: 'string' }, reason: { type: 'string' }, yes: { type: 'boolean' },
    });
    const client = api(values);
    if (action === 'rollback') return rollback(client, { reason: values.reason, yes: values.yes ?? false });
    let answer;
    if (action === 'announce') {
      answer = await client.call('POST', '/cutover', {
        starts_at: parseWhen(values.start, 'start'), ends_at: parseWhen(values.end, 'end'), campaign: values.campaign,
        reach_min: values['reach-min'] === undefined ? undefined : Number(values['reach-min']), by: client.by,
      });
    } else if (action === 'next') answer = await client.call('POST', '/cutover/advance', { by: client.by, from: values.from });
    else if (action === 'status') answer = await client.call('GET', '/cutover');
    else if (action === 'decide') answer = await client.call('POST', '/cutover/decisions', { by: client.by, text: values.note });
    else throw new UsageError('expected announce, next, status, decide or rollback');
    if (answer.status >= 300) {
      const code = refused(answer);
      if (answer.body?.code === 'cutover_gate_failed' && !client.json) printCutover((await client.call('GET', '/cutover')).body);
      return code;
    }
    if (client.json) console.log(JSON.stringify(answer.body));
    else printCutover(answer.body);
    return 0;
  },
};

async function rollback(client: Api, options: { reason: string | undefined; yes: boolean }): Promise<number> {
  const plan = await client.call('GET', '/cutover/rollback');
  if (plan.status !== 200) return refused(plan);
  console.log(`Rolling back from ${plan.body.phase} will:`);
  plan.body.actions.forEach((action: string, i: number) => console.log(`  ${i + 1}. ${action}`));
  if (plan.body.transfers_since_switch?.count > 0) console.log(`  transfers since the switch: ${plan.body.transfers_since_switch.ids.join(', ')}${plan.body.transfers_since_switch.count > plan.body.transfers_since_switch.ids.length ? ' …' : ''}`);
  if (!options.yes) {
    console.log('Nothing done. Run again with --yes (and --reason) to roll back.');
    return 1;
  }
  if (!options.reason) throw new UsageError('--reason is required to roll back');
  const done = await client.call('POST', '/cutover/rollback', { by: client.by, confirm: true, reason: options.reason });
  if (done.status !== 200) return refused(done);
  console.log(client.json ? JSON.stringify(done.body) : `rolled back: cutover ${done.body.cutover.id} is ${done.body.cutover.phase}`);
  return 0;
}

export const notify: Command = {
  name: 'notify',
  summary: 'text every affected subscriber about a maintenance window; show its reach',
  usage: `mari notify maintenance --window START/END [--audience active|recent|all] [--days N] [--rate N]
                          [--reminder 3h] [--resend-after 30m] [--attempts 3] [--unreached FILE]

The audience: active subscribers (the default); recent, active ones with a transaction on a
wallet in the last N days (--days N, which implies recent; legacy history counts at its legacy
time, so import or delta first); or all, every subscriber not closed.
Queues one SMS per subscriber in their language through the SMS channel, at N per second, with a
reminder before the start and re-sends to the undelivered after the delay. Idempotent: the same
window is the same campaign and nobody is texted twice. Prints the reach (sent, delivered,
failed by reason, never reached); --unreached writes the never-reached numbers, one a line.

${API_USAGE}`,
  async run(argv) {
    const [action, ...rest] = argv;
    if (action !== 'maintenance') throw new UsageError('expected: mari notify maintenance --window START/END');
    const { values } = parse(rest, {
      ...API_OPTIONS, window: { type: 'string' }, audience: { type: 'string' }, rate: { type: 'string' }, reminder: { type: 'string' },
      'resend-after': { type: 'string' }, attempts: { type: 'string' }, unreached: { type: 'string' }, days: { type: 'string' },
    });
    const client = api(values);
    // Numbers go to mari as given: it answers a bad number of days with notice_audience_invalid.
    const days = values.days === undefined ? undefined : Number(values.days);
    if (days !== undefined && !Number.isFinite(days)) throw new UsageError('--days is a number of days, such as 30');
    const audience = values.audience ?? (days === undefined ? undefined : 'recent');
    const [start, end] = (values.window ?? '').split('/');
    if (!start || !end) throw new UsageError('--window START/END is required');
    const seconds = (text: string | undefined, name: string) => {
      if (text === undefined) return undefined;
      const hours = parseDuration(text);
      if (hours === undefined) throw new UsageError(`--${name} is a duration such as 3h or 30m`);
      return Math.round(hours * 3600);
    };
    const started = await client.call('POST', '/notices/maintenance', {
      starts_at: parseWhen(start, 'window'), ends_at: parseWhen(end, 'window'), by: client.by, audience, active_within_days: days,
      rate_per_s: values.rate === undefined ? undefined : Number(values.rate), reminder_before_s: seconds(values.reminder, 'reminder'),
      resend_after_s: seconds(values['resend-after'], 'resend-after'), attempts_max: values.attempts === undefined ? undefined : Number(values.attempts),
    });
    if (started.status >= 300) return refused(started);
    const reach = (await client.call('GET', `/notices/maintenance/${encodeURIComponent(started.body.id)}`)).body;
    if (values.unreached) fs.writeFileSync(values.unreached, reach.never_reached.map((n: { msisdn: string }) => n.msisdn).join('\n') + '\n');
    if (client.json) {
      console.log(JSON.stringify({ campaign: started.body, created: started.status === 201, reach }));
      return 0;
    }
    console.log(`${started.status === 201 ? 'started' : 'already running'}: campaign ${started.body.id} (${harareText(new Date(started.body.window.starts_at))} to ${harareText(new Date(started.body.window.ends_at))} Harare)`);
    console.log(`reach: ${reach.targeted} targeted, ${reach.sent} sent, ${reach.delivered} delivered (${(reach.reach * 100).toFixed(1)}%), ${reach.pending} pending, ${reach.never_reached.length} never reached`);
    for (const [reason, n] of Object.entries(reach.failed_by_reason)) console.log(`  failed: ${reason}: ${n}`);
    return 0;
  },
};

export const parity: Command = {
  name: 'parity',
  summary: 'check every enabled legacy menu service exists, is enabled and answers in mari',
  usage: `mari parity --from mysql://user:password@host/legacy

Reads the legacy service_menu (enabled rows); the running mari checks each against its USSD
catalog and drives the service's whole menu journey (PIN and confirmation included) on its own
test accounts, checking what it recorded. Lists what is missing by short code and label, and
for a journey that broke, the screen or refusal that stopped it. Exit 0 when complete, 1 when
anything is missing, disabled or does not answer.

${API_USAGE}`,
  async run(argv) {
    const { values } = parse(argv, { ...API_OPTIONS, from: { type: 'string' } });
    if (!values.from) throw new UsageError('--from is required');
    const client = api(values);
    const answer = await client.call('POST', '/parity', { from: values.from });
    if (answer.status !== 200) return refused(answer);
    const report = answer.body;
    if (client.json) console.log(JSON.stringify(report));
    else {
      console.log(`${report.present}/${report.legacy_enabled} enabled legacy services present and answering`);
      for (const m of report.missing) console.log(`  MISSING   ${m.menu_code.padEnd(6)} ${m.item_key.padEnd(4)} ${m.label} (${m.service})`);
      for (const m of report.disabled) console.log(`  DISABLED  ${m.menu_code.padEnd(6)} ${m.item_key.padEnd(4)} ${m.label} (${m.service})`);
      for (const m of report.smoke_failed) console.log(`  NO ANSWER ${m.menu_code.padEnd(6)} ${m.item_key.padEnd(4)} ${m.label}: ${m.reason}`);
    }
    return report.ok ? 0 : 1;
  },
};

export const planWindow: Command = {
  name: 'plan-window',
  summary: 'find the quietest maintenance windows of a given length in the legacy traffic',
  usage: `mari plan-window --from mysql://user:password@host/legacy --duration 6h [--top 3] [--svg FILE]
                 [--rehearsal FILE] [--margin 0.5] [--json]

Reads txn_log's hourly counts (Harare time), builds a typical week with month-end days apart,
and prints the quietest windows with the transactions and distinct customers they affect, and an
hourly chart of the week (--svg writes it for the report). With --rehearsal (the JSON that
'mari rehearse' writes), the plan shows each step's measured time with the safety margin and
says whether the duration covers them.`,
  async run(argv) {
    const { values } = parse(argv, {
      from: { type: 'string' }, duration: { type: 'string' }, top: { type: 'string' }, svg: { type: 'string' }, json: { type: 'boolean' },
      rehearsal: { type: 'string' }, margin: { type: 'string' },
    });
    if (!values.from) throw new UsageError('--from is required');
    const duration_h = parseDuration(values.duration ?? '');
    if (duration_h === undefined) throw new UsageError('--duration is a length such as 6h or 5h30m');
    const margin = values.margin === undefined ? 0.5 : Number(values.margin);
    const steps = values.rehearsal ? rehearsalSteps(values.rehearsal, margin) : undefined;
    const db = await openLegacyDb(values.from);
    try {
      const profile = weekProfile(await hourCounts(db));
      const windows = quietestWindows(profile, { duration_h, count: values.top === undefined ? 3 : Number(values.top) });
      for (const window of windows) window.customers_affected = await customersAffected(db, window, duration_h);
      if (values.svg) fs.writeFileSync(values.svg, svgChart(profile, windows, duration_h));
      if (values.json) {
        console.log(JSON.stringify({ duration_h, month_end_factor: profile.month_end_factor, weeks: profile.weeks, windows, steps }));
        return 0;
      }
      console.log(`Typical week from ${profile.from} to ${profile.to} (${profile.weeks} weeks; month-end days (25th on) run ×${profile.month_end_factor.toFixed(2)} and are best avoided)`);
      windows.forEach((w, i) => console.log(`  ${i + 1}. ${w.starts_local} to ${w.ends_local} Harare: ~${w.expected_transactions} transactions ` +
        `(~${w.expected_transactions_month_end} in a month-end week), ~${w.customers_affected} customers affected`));
      console.log(terminalChart(profile, windows, duration_h));
      if (steps) printSteps(steps, duration_h);
      if (values.svg) console.log(`chart written to ${values.svg}`);
      return 0;
    } finally {
      await db.close();
    }
  },
};

interface PlannedStep {
  step: string;
  measured_s: number;
  planned_s: number;
}

/** Measured step times from a rehearsal report ({ steps: [{ step, seconds }] }), each with the margin. */
export function rehearsalSteps(file: string, margin: number): { steps: PlannedStep[]; total_planned_s: number } {
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as { steps?: { step: string; seconds: number }[] };
  if (!Array.isArray(report.steps)) throw new UsageError(`${file} has no steps (is it a mari rehearse report?)`);
  // Indented steps are the import's phases: shown by rehearse, already counted in its import step.
  const steps = report.steps.filter((s) => !s.step.startsWith(' ')).map((s) => ({ step: s.step, measured_s: s.seconds, planned_s: Math.ceil(s.seconds * (1 + margin)) }));
  return { steps, total_planned_s: steps.reduce((a, s) => a + s.planned_s, 0) };
}

function printSteps(plan: { steps: PlannedStep[]; total_planned_s: number }, duration_h: number): void {
  console.log('Measured in rehearsal (with the safety margin):');
  for (const s of plan.steps) console.log(`  ${s.step.padEnd(20)} ${durationText(s.measured_s * 1000).padStart(8)} measured, ${durationText(s.planned_s * 1000).padStart(8)} planned`);
  const fits = plan.total_planned_s <= duration_h * 3600;
  console.log(`  total planned ${durationText(plan.total_planned_s * 1000)}: ${fits ? 'fits' : 'DOES NOT FIT'} the ${duration_h} h window`);
}

export const rehearse: Command = {
  name: 'rehearse',
  summary: 'run the whole migration against a copy of legacy and time each step',
  usage: `mari rehearse --from mysql://user:password@host/legacy-copy [--data-dir DIR] [--out FILE] [--json]

Imports everything into a scratch data directory (a new temporary one unless --data-dir), then a
delta pass, reconcile and verify, timing each step. --out writes the report that
'mari plan-window --rehearsal FILE' turns into the window's step times with a safety margin.
Run it against a copy of legacy, or a generated set of the same size (shared/legacy/generate.mjs).`,
  async run(argv) {
    const { values } = parse(argv, { from: { type: 'string' }, 'data-dir': { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } });
    if (!values.from) throw new UsageError('--from is required');
    const dataDir = values['data-dir'] ?? fs.mkdtempSync(`${os.tmpdir()}/mari-rehearsal-`);
    if (fs.existsSync(`${dataDir}/ledger.sqlite`)) throw new UsageError(`${dataDir} already holds a ledger: rehearse into an empty directory`);
    const report = await runRehearsal({
      from: values.from, data_dir: dataDir,
      onStep: values.json ? undefined : (step) => console.error(`${step.step}: ${step.seconds.toFixed(1)} s${step.detail ? ` (${step.detail})` : ''}`),
    });
    if (values.out) fs.writeFileSync(values.out, JSON.stringify(report, null, 2) + '\n');
    if (values.json) console.log(JSON.stringify(report));
    else {
      for (const step of report.steps) console.log(`${step.step.padEnd(24)} ${step.seconds.toFixed(2).padStart(9)} s${step.detail ? `  ${step.detail}` : ''}`);
      console.log(`total ${durationText(report.total_seconds * 1000)}; reconcile ${report.reconcile_ok ? 'ok' : 'FOUND DIFFERENCES'}, verify ${report.verify_ok ? 'ok' : 'FAILED'}; data in ${dataDir}`);
    }
    return report.reconcile_ok && report.verify_ok ? 0 : 1;
  },
};
