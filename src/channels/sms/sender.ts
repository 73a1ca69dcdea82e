// The outbox sender: finds queued messages, hands each to the gateway at the configured rate,
// and records every state change through a writer command (so the outbox document and its state
// tag move together, durably).
//
// Never twice for one message id, across crashes: the attempt is recorded (state `submitted`,
// plus a record in `sms_submissions` that only the sender writes) and committed BEFORE the
// gateway is called. A crash between that commit and the gateway's answer leaves the message
// `submitted` and unconfirmed: a restart does not send it again (at most once). If the gateway
// did take it, its delivery report (signed with the message id) still arrives and settles it;
// if it did not, it stays `submitted` with no report, visible to the operator, who may requeue
// it. Only an answer that proves the gateway did not take the message (a refusal, a refused
// connection) puts it back in the queue, after an exponential backoff.
import type { Logger } from 'pino';
import { RequestError } from '../../errors/registry.js';
import { OUTBOX, outboxDocument, type OutboxMessage } from '../../products/outbox.js';
import type { LedgerHandle } from '../../store/open.js';
import type { SmsGateway, SubmitOutcome } from './gateway.js';
import * as states from './states.js';

export const SUBMISSIONS = 'sms_submissions';

interface Submission {
  attempts: number;
  /** true from the moment an attempt is recorded until the gateway is known not to have it. */
  outstanding: boolean;
}

export interface SenderOptions {
  rate_per_second: number;
  attempts_max: number;
  backoff_ms: number;
  /** Messages handed to the gateway and not yet answered, at most. */
  concurrency: number;
  /** Longest wait between looks at the queue when nothing wakes the sender. */
  poll_ms: number;
  /** true while SMS is closed for maintenance: messages stay queued. */
  paused?: () => boolean;
}

export const SENDER_DEFAULTS = { concurrency: 8, poll_ms: 1_000 } as const;
/** Queued messages read per page while scanning. */
const SCAN_PAGE = 256;
/** Shortest pause after a scan that found nothing due, so the sender's own commits don't spin it. */
const IDLE_MIN_MS = 50;

export class OutboxSender {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private closed = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private nextSlotMs = 0;
  private readonly onCommit = () => this.wake();

  constructor(
    private readonly handle: LedgerHandle,
    private readonly gateway: SmsGateway,
    private readonly options: SenderOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.handle.writer.on('commit', this.onCommit);
    this.loop = this.run().catch((error) => this.log.error({ err: error }, 'sms sender stopped'));
  }

  wake(): void {
    this.wakeUp?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handle.writer.off('commit', this.onCommit);
    this.wake();
    await this.loop;
    await Promise.allSettled(this.inFlight.values());
    await this.gateway.close?.();
  }

  /** A message as last committed. */
  async message(id: string): Promise<OutboxMessage | undefined> {
    const doc = await this.handle.store.document(OUTBOX, id);
    return doc === undefined ? undefined : (JSON.parse(doc.value) as OutboxMessage);
  }

  /** Applies a delivery report; refuses an unknown message id. */
  report(id: string, report: { type: number; reply: string }): Promise<OutboxMessage> {
    return this.serial(id, async () => {
      const message = await this.message(id);
      if (message === undefined) throw new RequestError('sms_message_not_found');
      const next = states.reported(message, { now: new Date(), ...report });
      if (next !== message) await this.write(next);
      this.log.info({ message_id: id, dlr_type: report.type, state: next.state }, 'sms delivery report');
      return next;
    });
  }

  /**
   * Operator: queue again a failed message, or a submitted one whose outcome is unknown (the
   * operator accepts that the customer may get it twice). Anything else is refused.
   */
  requeue(id: string): Promise<OutboxMessage> {
    return this.serial(id, async () => {
      const message = await this.message(id);
      if (message === undefined) throw new RequestError('sms_message_not_found');
      const unknown = message.state === 'submitted' && message.accepted !== true;
      if (message.state !== 'failed' && !unknown) throw new RequestError('sms_requeue_refused', { state: message.state });
      const next: OutboxMessage = {
        ...message, state: 'queued', accepted: undefined, next_attempt_at: undefined, updated_at: new Date().toISOString(),
        reason: `queued again by an operator after: ${message.reason ?? message.state}`.slice(0, 200),
      };
      await this.write(next, { attempts: message.attempts, outstanding: false });
      this.log.warn({ message_id: id, was: message.state }, 'sms requeued by an operator');
      this.wake();
      return next;
    });
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      const { dispatched, next_due_ms } = await this.scan();
      if (this.closed) break;
      if (dispatched > 0) continue;
      await delay(IDLE_MIN_MS);
      await this.sleep(Math.min(this.options.poll_ms, Math.max(0, next_due_ms - Date.now())));
    }
  }

  /** One pass over the queued messages, dispatching those that are due. */
  private async scan(): Promise<{ dispatched: number; next_due_ms: number }> {
    let dispatched = 0;
    let next_due_ms = Infinity;
    if (this.options.paused?.()) return { dispatched, next_due_ms: Date.now() + this.options.poll_ms };
    let after: string | undefined;
    for (;;) {
      const page: OutboxMessage[] = [];
      for await (const doc of this.handle.store.documents(OUTBOX, { tag: 'queued', after, limit: SCAN_PAGE })) {
        page.push(JSON.parse(doc.value) as OutboxMessage);
        after = doc.key;
      }
      for (const message of page) {
        if (this.closed) return { dispatched, next_due_ms };
        const due_ms = message.next_attempt_at === undefined ? 0 : Date.parse(message.next_attempt_at);
        if (due_ms > Date.now()) {
          next_due_ms = Math.min(next_due_ms, due_ms);
          continue;
        }
        if (this.inFlight.has(message.id)) continue;
        if (this.options.paused?.()) return { dispatched, next_due_ms: Date.now() + this.options.poll_ms };
        await this.slot();
        if (this.closed) return { dispatched, next_due_ms };
        this.dispatch(message.id);
        dispatched++;
      }
      if (page.length < SCAN_PAGE) return { dispatched, next_due_ms };
    }
  }

  /** Waits for a free place among the in-flight messages, then for the rate's next slot. */
  private async slot(): Promise<void> {
    while (this.inFlight.size >= this.options.concurrency && !this.closed) await Promise.race(this.inFlight.values());
    const interval_ms = 1000 / this.options.rate_per_second;
    const now = Date.now();
    this.nextSlotMs = Math.max(now, this.nextSlotMs + interval_ms);
    if (this.nextSlotMs > now) await delay(this.nextSlotMs - now);
  }

  private dispatch(id: string): void {
    const work = this.serial(id, () => this.send(id))
      .catch((error) => this.log.error({ err: error, message_id: id }, 'sms send failed'))
      .finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, work);
  }

  private async send(id: string): Promise<void> {
    const message = await this.message(id);
    if (message === undefined || message.state !== 'queued') return;
    if (message.next_attempt_at !== undefined && Date.parse(message.next_attempt_at) > Date.now()) return;
    const submission = await this.submission(id);
    if (submission?.outstanding) {
      // Put back in the queue by someone else after an attempt that may have reached the gateway.
      await this.write({ ...message, state: 'submitted', attempts: submission.attempts, updated_at: new Date().toISOString(),
        reason: 'queued again after it was submitted; not resent' });
      this.log.warn({ message_id: id }, 'sms requeued after submission; not resent');
      return;
    }
    const attempt = states.submitting({ ...message, attempts: Math.max(message.attempts, submission?.attempts ?? 0) }, new Date());
    await this.write(attempt, { attempts: attempt.attempts, outstanding: true });
    const outcome = await this.gateway.submit(attempt);
    await this.settle(id, outcome);
  }

  private async settle(id: string, outcome: SubmitOutcome): Promise<void> {
    const current = await this.message(id);
    if (current === undefined) return;
    const now = new Date();
    let next: OutboxMessage;
    let submission: Submission | undefined;
    if (outcome.kind === 'accepted') next = states.accepted(current, { now, gateway_id: outcome.gateway_id, delivered: outcome.delivered });
    else if (outcome.kind === 'uncertain') next = states.uncertain(current, { now, reason: outcome.reason });
    else {
      next = states.refused(current, { now, reason: outcome.reason, retry: outcome.retry, attempts_max: this.options.attempts_max, backoff_ms: this.options.backoff_ms });
      if (next.state === 'queued') submission = { attempts: next.attempts, outstanding: false };
    }
    if (next !== current) await this.write(next, submission);
    this.log[outcome.kind === 'accepted' ? 'debug' : 'warn']({ message_id: id, gateway: this.gateway.name, outcome: outcome.kind, state: next.state, reason: next.reason }, 'sms submitted');
  }

  private async submission(id: string): Promise<Submission | undefined> {
    const doc = await this.handle.store.document(SUBMISSIONS, id);
    return doc === undefined ? undefined : (JSON.parse(doc.value) as Submission);
  }

  private write(message: OutboxMessage, submission?: Submission): Promise<void> {
    return this.handle.writer.execute({
      run(ctx) {
        ctx.put(outboxDocument(message));
        if (submission) ctx.put({ collection: SUBMISSIONS, key: message.id, value: JSON.stringify(submission) });
      },
    });
  }

  /** Runs one message's changes one after another: a report may arrive while its submit is being answered. */
  private serial<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    const tail = next.catch(() => undefined);
    this.locks.set(id, tail);
    void tail.then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    return next;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
