// The USSD session engine. Aggregators (Africa's Talking's format) send every input of the
// session so far, joined by `*`, on each request; the engine replays them from the top of the
// menu on each request, so the screen shown is a pure function of the inputs, "0" (back) and
// "00" (home) are just inputs, and nothing but the session's start time and its final answer
// needs keeping. Only the last input of a session can call a service, and that call carries a
// reference derived from the session id: a gateway resending the last request gets the recorded
// final answer (and, were that record lost, the service answers the same reference once).
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { RequestError } from '../../errors/registry.js';
import { normalizeMsisdn, type Msisdn } from '../../products/msisdn.js';
import type { Language } from '../../products/parties.js';
import type { Writer } from '../../store/writer.js';
import type { Store } from '../../store/store.js';
import { MENU_SERVICE, type UssdCatalog } from './catalog.js';
import { FLOWS_BY_SERVICE, SCREEN_LENGTH_MAX, fit, refusal, type Flow, type FlowContext } from './flows.js';
import type { UssdServices } from './services.js';
import { say, type TextKey } from './texts.js';

export const USSD_SESSIONS = 'ussd_sessions';

export interface UssdRequest {
  sessionId: string;
  serviceCode: string;
  phoneNumber: string;
  networkCode?: string;
  text: string;
}

type Frame =
  | { kind: 'menu'; parent: string }
  | { kind: 'flow'; service: string; step: number; values: Record<string, string> };

interface Session {
  msisdn: Msisdn;
  service_code: string;
  started_ms: number;
  last?: { text: string; reply: string };
  /** The answer that ended the session after a service call, for resent requests. */
  final?: { text: string; reply: string };
}

/** The cutover kit's maintenance switches, as far as the menus need them (duck-typed). */
export interface MaintenanceView {
  closing(service: string): { service: string } | undefined;
  ussdText(service: string, language: Language): string | undefined;
}

export interface EngineOptions {
  catalog: UssdCatalog;
  services: UssdServices;
  writer: Writer;
  store: Store;
  timeout_s: number;
  log: Logger;
  /** Milliseconds now; tests pass their own. */
  clock?: () => number;
  /** Maintenance switches, when the cutover kit runs on this platform. */
  maintenance?: () => MaintenanceView | undefined;
}

/** How a caller inside the process asks (the HTTP endpoint never passes these). */
export interface AnswerOptions {
  /**
   * The parity smoke check's own journeys on its test accounts. The cutover runs parity while
   * maintenance keeps customers out, so maintenance switches do not end them; their service
   * references start with `smoke-`, so they stand out in the journal and statements.
   */
  smoke?: boolean;
}

/** Inputs in one session at most (a real session has a dozen). */
const INPUTS_MAX = 64;
const SESSIONS_MAX = 200_000;
/** How long a completed session's answer is kept in memory for resends. */
const FINAL_KEEP_MS = 10 * 60_000;

export class UssdEngine {
  private readonly sessions = new Map<string, Session>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly clock: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: EngineOptions) {
    this.clock = options.clock ?? Date.now;
    let scanned = false;
    this.sweeper = setInterval(() => {
      this.sweep();
      // Once, not at start: opening the platform writes nothing.
      if (!scanned) {
        scanned = true;
        void this.pruneRecorded().catch(() => (scanned = false));
      }
    }, 30_000);
    this.sweeper.unref();
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  /** The reply for one aggregator request: `CON ...` (more to come) or `END ...`. */
  answer(request: UssdRequest, options: AnswerOptions = {}): Promise<string> {
    if (typeof request.sessionId !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(request.sessionId)) {
      throw new RequestError('invalid_request', [{ in: 'body', path: '/sessionId', message: 'Expected 1 to 128 printable characters' }]);
    }
    const msisdn = normalizeMsisdn(String(request.phoneNumber ?? ''));
    if (!msisdn) throw new RequestError('invalid_request', [{ in: 'body', path: '/phoneNumber', message: 'Expected a mobile number' }]);
    const text = String(request.text ?? '');
    return this.serial(request.sessionId, () => this.answerInOrder({ ...request, text }, msisdn, options));
  }

  private async answerInOrder(request: UssdRequest, msisdn: Msisdn, options: AnswerOptions): Promise<string> {
    const now = this.clock();
    let session = this.sessions.get(request.sessionId) ?? await this.recorded(request.sessionId);
    if (session && (session.msisdn !== msisdn || session.service_code !== request.serviceCode)) return end('en', 'ended');
    if (session?.final) return session.final.text === request.text ? session.final.reply : end(this.languageOf(msisdn), 'ended');
    if (session && now - session.started_ms > this.options.timeout_s * 1000) {
      this.sessions.delete(request.sessionId);
      return end(this.languageOf(msisdn), 'expired');
    }
    if (session?.last?.text === request.text) return session.last.reply;
    if (!session) {
      if (this.sessions.size >= SESSIONS_MAX) this.sweep();
      if (this.sessions.size >= SESSIONS_MAX) return end(this.languageOf(msisdn), 'unavailable');
      session = { msisdn, service_code: request.serviceCode, started_ms: now };
      this.sessions.set(request.sessionId, session);
    }
    const outcome = await this.replay(request, msisdn, options);
    if (outcome.called) {
      session.final = { text: request.text, reply: outcome.reply };
      await this.record(request.sessionId, session);
    } else if (outcome.reply.startsWith('END')) {
      this.sessions.delete(request.sessionId);
    } else {
      session.last = { text: request.text, reply: outcome.reply };
    }
    return outcome.reply;
  }

  languageOf(msisdn: Msisdn): Language {
    return this.options.services.money?.subscriberOf(msisdn)?.language ?? 'en';
  }

  /** Walks the inputs from the top menu; only the last may call a service. */
  private async replay(request: UssdRequest, msisdn: Msisdn, options: AnswerOptions): Promise<{ reply: string; called: boolean }> {
    const language = this.languageOf(msisdn);
    const { catalog } = this.options;
    const maintenance = options.smoke ? undefined : this.options.maintenance?.();
    // USSD closed on its own switch ends every session; under `all`, reads stay open and each write service is refused below.
    if (maintenance?.closing('ussd')?.service === 'ussd') return { reply: `END ${fit([maintenance.ussdText('ussd', language) ?? say(language, 'unavailable')])}`, called: false };
    const dialled = shortcut(request.serviceCode, catalog.shortCodes());
    if (!dialled) return { reply: end(language, 'unavailable'), called: false };
    const service_code = dialled.code;
    const inputs = [...dialled.inputs, ...(request.text === '' ? [] : request.text.split('*'))];
    if (inputs.length > INPUTS_MAX) return { reply: end(language, 'ended'), called: false };
    const context = (values: Record<string, string>): FlowContext => ({
      language, msisdn, services: this.options.services, reference: referenceOf(request, options), values,
    });
    let stack: Frame[] = [{ kind: 'menu', parent: '' }];
    let notice: string | undefined;
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i].trim();
      const last = i === inputs.length - 1;
      const top = stack[stack.length - 1];
      notice = undefined;
      if (input === '00') {
        stack = [stack[0]];
        continue;
      }
      if (input === '0' && stack.length > 1) {
        stack.pop();
        continue;
      }
      if (top.kind === 'menu') {
        const item = catalog.children(service_code, top.parent).find((child) => child.key.split('.').pop() === input);
        if (!item) {
          notice = say(language, 'invalid_choice');
          continue;
        }
        if (item.service === MENU_SERVICE) {
          stack.push({ kind: 'menu', parent: item.key });
          continue;
        }
        const flow = FLOWS_BY_SERVICE.get(item.service);
        if (!flow || flow.needs.some((name) => this.options.services[name] === undefined)) return { reply: end(language, 'unavailable'), called: false };
        if (flow.subscriber && !this.options.services.money?.subscriberOf(msisdn)) return { reply: end(language, 'not_registered'), called: false };
        const closed = flow.writes === undefined ? undefined : maintenance?.ussdText(flow.writes, language);
        if (closed !== undefined) return { reply: `END ${fit([closed])}`, called: false };
        const frame = advance(flow, { kind: 'flow', service: flow.service, step: 0, values: {} }, context);
        stack.push(frame);
        if (frame.step === flow.steps.length && flow.finish(context(frame.values)) === 'now') {
          return last ? this.run(flow, context(frame.values), undefined) : { reply: end(language, 'ended'), called: false };
        }
        continue;
      }
      const flow = FLOWS_BY_SERVICE.get(top.service)!;
      const values = top.values;
      if (top.step < flow.steps.length) {
        const accepted = flow.steps[top.step].accept(input, context(values));
        if ('error' in accepted) {
          notice = accepted.error;
          continue;
        }
        const frame = advance(flow, { ...top, step: top.step + 1, values: { ...values, [flow.steps[top.step].id]: accepted.value } }, context);
        stack.push(frame);
        if (frame.step === flow.steps.length && flow.finish(context(frame.values)) === 'now') {
          return last ? this.run(flow, context(frame.values), undefined) : { reply: end(language, 'ended'), called: false };
        }
        continue;
      }
      const finish = flow.finish(context(values));
      const valid = finish === 'pin' ? /^[0-9]{4,6}$/.test(input) : input === '1';
      if (!valid) {
        notice = say(language, finish === 'pin' ? 'invalid_pin' : 'invalid_choice');
        continue;
      }
      if (!last) return { reply: end(language, 'ended'), called: false };
      return this.run(flow, context(values), finish === 'pin' ? input : undefined);
    }
    return { reply: this.screen(service_code, stack[stack.length - 1], { language, notice, home: stack.length === 1, context }), called: false };
  }

  private async run(flow: Flow, context: FlowContext, pin: string | undefined): Promise<{ reply: string; called: boolean }> {
    try {
      return { reply: `END ${fit((await flow.run(context, pin)).split('\n'))}`, called: true };
    } catch (error) {
      const text = refusal(context.language, error);
      if (text !== undefined) return { reply: `END ${fit([text])}`, called: true };
      // Not a refusal: nothing is recorded, so a resend tries again with the same reference.
      this.options.log.error({ err: error, service: flow.service }, 'ussd service failed');
      return { reply: end(context.language, 'unavailable'), called: false };
    }
  }

  /** The screen for a frame, with the navigation line; fits the 182-character limit. */
  screen(service_code: string, frame: Frame, options: { language: Language; notice?: string; home: boolean; context: (values: Record<string, string>) => FlowContext }): string {
    const { language } = options;
    const body: string[] = [];
    if (options.notice) body.push(options.notice);
    if (frame.kind === 'menu') {
      const title = frame.parent === '' ? say(language, titleKey(service_code)) : this.options.catalog.get(service_code, frame.parent)?.label[language] ?? '';
      body.push(title);
      for (const item of this.options.catalog.children(service_code, frame.parent)) body.push(`${item.key.split('.').pop()} ${item.label[language]}`);
    } else {
      const flow = FLOWS_BY_SERVICE.get(frame.service)!;
      const context = options.context(frame.values);
      if (frame.step < flow.steps.length) body.push(flow.steps[frame.step].prompt(context));
      else {
        const finish = flow.finish(context);
        const summary = flow.summary?.(context) ?? [];
        body.push(...summary, finish === 'pin' ? say(language, summary.length > 0 ? 'pin_to_confirm' : 'enter_pin') : say(language, 'confirm'));
      }
    }
    const nav = options.home ? '' : say(language, 'nav');
    const room = SCREEN_LENGTH_MAX - (nav === '' ? 0 : nav.length + 1);
    const text = fit(body.join('\n').split('\n'), room);
    return `CON ${nav === '' ? text : `${text}\n${nav}`}`;
  }

  private async recorded(sessionId: string): Promise<Session | undefined> {
    const doc = await this.options.store.document(USSD_SESSIONS, sessionId);
    if (!doc) return undefined;
    const session = JSON.parse(doc.value) as Session;
    this.sessions.set(sessionId, session);
    return session;
  }

  private async record(sessionId: string, session: Session): Promise<void> {
    const { last: _last, ...kept } = session;
    await this.options.writer.execute({ run: (ctx) => ctx.put({ collection: USSD_SESSIONS, key: sessionId, tag: session.msisdn, value: JSON.stringify(kept) }) });
  }

  private sweep(): void {
    const now = this.clock();
    const recorded: string[] = [];
    for (const [id, session] of this.sessions) {
      const age_ms = now - session.started_ms;
      if (session.final ? age_ms > FINAL_KEEP_MS : age_ms > this.options.timeout_s * 1000) {
        this.sessions.delete(id);
        if (session.final) recorded.push(id);
      }
    }
    void this.forget(recorded);
  }

  /**
   * Deletes the recorded sessions (kept only so a resend after a restart gets the same answer)
   * once they are past FINAL_KEEP_MS: without this, every USSD session that called a service
   * stayed in the store for ever. Those recorded before a restart are found by a scan at start.
   */
  async pruneRecorded(): Promise<number> {
    const now = this.clock();
    const stale: string[] = [];
    for await (const doc of this.options.store.documents(USSD_SESSIONS)) {
      const session = JSON.parse(doc.value) as Session;
      if (now - session.started_ms > FINAL_KEEP_MS && !this.sessions.has(doc.key)) stale.push(doc.key);
    }
    await this.forget(stale);
    return stale.length;
  }

  private async forget(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    // Pruning is housekeeping: a refusal (a standby, maintenance of the writer) is retried next time.
    await this.options.writer.execute({
      run: (ctx) => { for (const key of ids) ctx.put({ collection: USSD_SESSIONS, key, value: null }); },
    }).catch((error: Error) => this.options.log.warn({ err: error.message, sessions: ids.length }, 'could not prune recorded USSD sessions'));
  }

  private serial<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    const tail = next.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return next;
  }
}

/** Steps that do not apply (skip) are passed over as if answered. */
function advance(flow: Flow, frame: Extract<Frame, { kind: 'flow' }>, context: (values: Record<string, string>) => FlowContext): Extract<Frame, { kind: 'flow' }> {
  let step = frame.step;
  while (step < flow.steps.length && flow.steps[step].skip?.(context(frame.values))) step++;
  return { ...frame, step };
}

/** `*151#`, or a dialled shortcut such as `*151*7*1#` (the menu code and the inputs it stands for). */
function shortcut(dialled: string, codes: readonly string[]): { code: string; inputs: string[] } | undefined {
  if (codes.includes(dialled)) return { code: dialled, inputs: [] };
  const match = /^\*([0-9]{2,4})((?:\*[0-9]{1,3}){1,6})#$/.exec(dialled);
  if (!match || !codes.includes(`*${match[1]}#`)) return undefined;
  return { code: `*${match[1]}#`, inputs: match[2].slice(1).split('*') };
}

function titleKey(service_code: string): TextKey {
  return service_code === '*405#' ? 'title_405' : service_code === '*171#' ? 'title_171' : 'title_151';
}

function end(language: Language, key: TextKey): string {
  return `END ${say(language, key)}`;
}

/** One reference per session and short code: what the service call is idempotent by (34 characters at most). */
export function referenceOf(request: Pick<UssdRequest, 'sessionId' | 'serviceCode'>, options: AnswerOptions = {}): string {
  return `${options.smoke ? 'smoke-' : 'ussd'}${createHash('sha256').update(`${request.serviceCode}|${request.sessionId}`).digest('hex').slice(0, 28)}`;
}
