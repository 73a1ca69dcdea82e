// The single writer. Requests queue here; each turn takes every queued request (up to a bound),
// applies them to the ledger as one batch, commits the batch's records as one journal entry
// (group commit: one fsync or one round trip for all of them), and only then answers each
// request. Batches never overlap: the next starts after the previous commit returned.
import { EventEmitter } from 'node:events';
import { RequestError, type AccountResult, type TransferResult } from '../errors/registry.js';
import type { Batch, Ledger } from '../ledger/ledger.js';
import type { Account, AccountInput, Transfer, TransferInput } from '../ledger/types.js';
import type { DocumentWrite, Store } from './store.js';

export interface WriterOptions {
  /**
   * Events gathered into one commit, across requests. A full API batch (8,190) and no more: with
   * commits of up to 16,384 the benchmark's four batches of 8,000 in flight made two commits, and
   * the writer sat idle while the commit thread wrote one (235-279k transfers/s; 303-308k now).
   */
  commit_events_max: number;
  /**
   * A balance checkpoint rewrites every account changed since the last one, and only bounds how
   * much a start-up replays; so one is written when this many records were committed since the
   * last (a restart then replays at most about that many: ~5 s per million on the CI machine)...
   */
  checkpoint_records_max: number;
  /** ...or, at the first batch after, when this long has passed since the last, whichever comes first. */
  checkpoint_interval_ms: number;
  /**
   * Batches applied but not yet durable; the next waits beyond this. Two keep the commit thread
   * busy while the next batch is applied; more would only queue small batches behind one fsync
   * at a time, where waiting grows them (HTTP: 8.9k/s with 4, 12.4k/s with 2).
   */
  commits_in_flight_max: number;
  /**
   * In flight beyond commits_in_flight_max while a quarter of a full batch (commit_events_max) or
   * more is queued: a queue that deep makes large batches anyway, and gains nothing by waiting.
   */
  full_commits_in_flight_max: number;
}

export const WRITER_DEFAULTS: WriterOptions = Object.freeze({
  // A checkpoint each second held the PostgreSQL benchmark to 49k transfers/s (78k without): with
  // 100,000 busy wallets it rewrote most of them every second.
  commit_events_max: 8_192, checkpoint_records_max: 1_000_000, checkpoint_interval_ms: 60_000, commits_in_flight_max: 2, full_commits_in_flight_max: 4,
});

/**
 * What a command sees while it runs inside the writer's turn. Everything it reads is current
 * (including earlier commands of the same batch) and nothing else runs until it returns, so a
 * check and the write it guards cannot be separated by another request: no lost update.
 */
export interface CommandContext {
  readonly ledger: Ledger;
  /** Applies accounts in this batch (results as for createAccounts). */
  createAccounts(events: readonly AccountInput[]): AccountResult[];
  /** Applies transfers in this batch (results as for createTransfers). */
  createTransfers(events: readonly TransferInput[]): TransferResult[];
  /** A transfer committed in this batch or earlier, or undefined. */
  transfer(id: string): Transfer | undefined;
  /** The transfer that reversed `original_id` (declare the original in `ids`), or undefined. */
  reversal(original_id: string): Transfer | undefined;
  /** Writes a product document in the same commit as this batch's transfers. */
  put(document: DocumentWrite): void;
}

/**
 * A product operation run atomically inside the writer: its checks, transfers and documents
 * commit together, and its result is answered only once they are durable. `run` must be
 * synchronous and must throw (a RequestError, to refuse) only before its first write: a throw
 * after it has created transfers leaves them applied, so the writer stops rather than guess.
 */
export interface Command<R> {
  /** Transfer ids the command may look up (prefetched for remote stores). */
  ids?: readonly string[];
  run(context: CommandContext): R;
}

type Operation =
  | { kind: 'command'; events: readonly unknown[]; command: Command<unknown>; resolve: (result: unknown) => void; reject: (error: Error) => void }
  | { kind: 'accounts'; events: readonly AccountInput[]; resolve: (results: AccountResult[]) => void; reject: (error: Error) => void }
  | { kind: 'transfers'; events: readonly TransferInput[]; resolve: (results: TransferResult[]) => void; reject: (error: Error) => void; committed?: (Transfer | undefined)[] };

export interface TransfersOutcome {
  results: TransferResult[];
  /** For each `ok`, the transfer as committed (timestamp and resolved fields); undefined otherwise. */
  transfers: (Transfer | undefined)[];
}

export interface CommitStats {
  events: number;
  records: number;
  commit_ms: number;
}

export class Writer extends EventEmitter<{ fatal: [Error]; commit: [CommitStats] }> {
  private readonly queue: Operation[] = [];
  /** Events in the queue, counted as take() counts them. */
  private queuedEvents = 0;
  /** Accounts changed since the last checkpoint, by number; `dirtyMark` says which are listed. */
  private dirty: number[] = [];
  private dirtyMark = new Uint8Array(1024);
  /**
   * Changes applied to each account (by number) in batches not yet durable: reads of the others
   * need not wait. Counted per change rather than per batch, so nothing is deduplicated.
   */
  private unsettled = new Uint32Array(1024);
  private draining = false;
  private failure: Error | undefined;
  private lastCheckpointMs = Date.now();
  /** Records committed since the last checkpoint: what a restart would replay. */
  private recordsSinceCheckpoint = 0;
  private expiryTimer: NodeJS.Timeout | undefined;
  private idle: Promise<void> = Promise.resolve();
  private lastCommit: Promise<void> = Promise.resolve();
  /** Commits handed to the store and not yet settled, oldest first. */
  private readonly commits: Promise<void>[] = [];
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    readonly ledger: Ledger,
    readonly store: Store,
    private readonly options: WriterOptions = WRITER_DEFAULTS,
    /**
     * Why this process may not write now (a standby on a shared database: another process holds
     * the writer role), or undefined. While it answers, requests are refused with it and nothing
     * runs; promote() starts the writer once the role is held.
     */
    private readonly gate?: () => RequestError | undefined,
  ) {
    super();
    this.markReplayed();
    this.armExpiryTimer();
  }

  private markReplayed(): void {
    this.growAccountArrays();
    for (const account of this.ledger.replayed) this.markDirty(account.no);
    this.ledger.replayed.clear();
  }

  private markDirty(no: number): void {
    if (this.dirtyMark[no] === 1) return;
    this.dirtyMark[no] = 1;
    this.dirty.push(no);
  }

  /** Room in the per-account arrays for every account the ledger holds (a batch may have created some). */
  private growAccountArrays(): void {
    const needed = this.ledger.accountsByNo.length;
    if (needed <= this.unsettled.length) return;
    const size = Math.max(needed, this.unsettled.length * 2);
    const unsettled = new Uint32Array(size);
    unsettled.set(this.unsettled);
    this.unsettled = unsettled;
    const mark = new Uint8Array(size);
    mark.set(this.dirtyMark);
    this.dirtyMark = mark;
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  createAccounts(events: readonly AccountInput[]): Promise<AccountResult[]> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'accounts', events, resolve, reject }));
  }

  createTransfers(events: readonly TransferInput[]): Promise<TransferResult[]> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'transfers', events, resolve, reject }));
  }

  /** Like createTransfers, and also hands back each committed transfer, so callers need not read it back. */
  createTransfersWithRecords(events: readonly TransferInput[]): Promise<TransfersOutcome> {
    const committed: (Transfer | undefined)[] = [];
    return new Promise((resolve, reject) => this.enqueue({
      kind: 'transfers', events, committed, reject, resolve: (results) => resolve({ results, transfers: committed }),
    }));
  }

  /** Runs a command inside the writer's turn; resolves with its result once its writes are durable. */
  execute<R>(command: Command<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => this.enqueue({
      kind: 'command', events: command.ids ?? [], command: command as Command<unknown>, resolve: resolve as (r: unknown) => void, reject,
    }));
  }

  /** Releases expired pending transfers now rather than at the timer; resolves once that is durable. */
  expireNow(): Promise<void> {
    if (!this.closed) this.schedule(true);
    return this.idle.then(() => this.lastCommit);
  }

  private enqueue(operation: Operation): void {
    if (this.failure || this.closed) {
      operation.reject(new RequestError('writer_unavailable'));
      return;
    }
    const refusal = this.gate?.();
    if (refusal) {
      operation.reject(refusal);
      return;
    }
    this.queue.push(operation);
    this.queuedEvents += Math.max(1, operation.events.length);
    this.schedule(false);
  }

  private schedule(force: boolean): void {
    if (this.draining || this.gate?.()) return;
    this.draining = true;
    this.idle = new Promise((resolve) => setImmediate(() => this.drain(force).finally(resolve)));
  }

  private async drain(force: boolean): Promise<void> {
    try {
      while (this.queue.length > 0 || force || this.expiryDue()) {
        force = false;
        // Pipelining: apply the next batch while earlier ones are being written, up to a bound.
        // Wait for the oldest commit, not the last: the pipeline must not drain to refill.
        while (this.commits.length >= this.inFlightLimit()) await this.commits[0];
        await this.flush();
      }
    } catch (error) {
      this.stop(error as Error);
    } finally {
      this.draining = false;
      this.armExpiryTimer();
    }
  }

  /**
   * Applies one batch and hands its records to the store. Its answers wait for its own commit and
   * every earlier one: even a refusal or an `exists` may depend on a transfer not yet durable.
   */
  private async flush(): Promise<void> {
    const operations = this.take();
    try {
      await this.apply(operations);
    } catch (error) {
      // Taken off the queue, so stop() would not reach them: answer them here before stopping.
      for (const op of operations) op.reject(new RequestError('writer_unavailable'));
      throw error;
    }
  }

  private async apply(operations: Operation[]): Promise<void> {
    const ids: string[] = [];
    if (this.store.prefetchesLookups) {
      for (const op of operations) {
        if (op.kind === 'transfers') for (const e of op.events) ids.push(e.id, e.pending_id ?? e.id, e.reversal_of ?? e.id);
        else if (op.kind === 'command') for (const id of op.events as readonly string[]) ids.push(id);
      }
    }
    const batch = this.ledger.begin(await this.store.lookups(ids));
    batch.expire();
    const documents: DocumentWrite[] = [];
    // A refused command has no result to answer with; its error is answered after the commit like any result.
    const refusals = new Map<number, Error>();
    const results = operations.map((op, index) => {
      if (op.kind === 'accounts') return batch.createAccounts(op.events);
      if (op.kind === 'transfers') return batch.createTransfers(op.events);
      const outcome = this.runCommand(op.command, batch, documents);
      if (outcome.error) refusals.set(index, outcome.error);
      return outcome.result as never;
    });
    operations.forEach((op, index) => {
      if (op.kind === 'transfers' && op.committed) {
        op.events.forEach((event, i) => op.committed!.push(results[index][i] === 'ok' ? batch.committed(event.id) : undefined));
      }
    });
    const touched = batch.touched;
    this.growAccountArrays();
    for (let i = 0; i < touched.length; i++) this.markDirty(touched[i]);
    const now = Date.now();
    this.recordsSinceCheckpoint += batch.records.length;
    const checkpoint = this.closed || this.recordsSinceCheckpoint >= this.options.checkpoint_records_max ||
      now - this.lastCheckpointMs >= this.options.checkpoint_interval_ms;
    const answer = () => operations.forEach((op, index) => {
      const refusal = refusals.get(index);
      if (refusal) op.reject(refusal);
      else (op.resolve as (r: unknown) => void)(results[index]);
    });
    const refuse = () => operations.forEach((op) => op.reject(new RequestError('writer_unavailable')));
    if (batch.records.length === 0 && documents.length === 0 && !checkpoint) {
      // lastCommit resolves even when that commit failed (stop() ran): check before answering.
      this.lastCommit.then(() => (this.failure ? refuse() : answer()), refuse);
      return;
    }
    const started = performance.now();
    const events = operations.reduce((n, op) => n + Math.max(1, op.events.length), 0);
    const committed = this.store.commit({
      records: batch.records,
      documents,
      view: batch.view(),
      ids_filtered: batch.filtersIds,
      checkpoint: checkpoint ? { timestamp: this.ledger.lastTimestamp, dirty: this.dirty.map((no) => this.ledger.accountsByNo[no]) } : undefined,
    });
    if (checkpoint) {
      for (const no of this.dirty) this.dirtyMark[no] = 0;
      this.dirty = [];
      this.lastCheckpointMs = now;
      this.recordsSinceCheckpoint = 0;
    }
    const records = batch.records.length;
    const unsettled = this.unsettled;
    for (let i = 0; i < touched.length; i++) unsettled[touched[i]] += 1;
    const settled = committed.then(
      () => {
        this.emit('commit', { events, records, commit_ms: performance.now() - started });
        answer();
      },
      (error: Error) => {
        // The ledger in memory is ahead of the disk now: nothing of this batch may be acknowledged.
        refuse();
        this.stop(error);
      },
    ).finally(() => {
      this.commits.splice(this.commits.indexOf(settled), 1);
      // The arrays may have grown since: count down in the current one.
      const counts = this.unsettled;
      for (let i = 0; i < touched.length; i++) counts[touched[i]] -= 1;
    });
    this.commits.push(settled);
    this.lastCommit = settled;
  }

  private runCommand(command: Command<unknown>, batch: Batch, documents: DocumentWrite[]): { result?: unknown; error?: Error } {
    const recordsBefore = batch.records.length;
    const own: DocumentWrite[] = [];
    const context: CommandContext = {
      ledger: this.ledger,
      createAccounts: (events) => batch.createAccounts(events),
      createTransfers: (events) => batch.createTransfers(events),
      transfer: (id) => batch.find(id),
      reversal: (original_id) => batch.reversalOf(original_id),
      put: (document) => {
        if (!document.key) throw new Error(`a document in ${document.collection} needs a key`);
        own.push(document);
      },
    };
    try {
      const result = command.run(context);
      documents.push(...own);
      return { result };
    } catch (error) {
      // Refusing is only safe before the first write: otherwise applied transfers would be answered as refused.
      if (batch.records.length !== recordsBefore || !(error instanceof RequestError)) throw error;
      return { error };
    }
  }

  /**
   * A standby became the writer: the ledger has replayed everything committed before (by the
   * previous writer), so the accounts it replayed join the next checkpoint, and expiries start.
   */
  promote(): void {
    this.markReplayed();
    this.lastCheckpointMs = 0;
    this.armExpiryTimer();
    if (this.expiryDue()) this.schedule(true);
  }

  /**
   * Whether every change to this account is durable, so its balances in memory are committed
   * ones: a balance enquiry can answer at once instead of waiting for other accounts' commits.
   */
  isSettled(account: Account): boolean {
    return this.failure === undefined && !(this.unsettled[account.no] > 0);
  }

  /** Resolves once every batch applied so far is durable: reads wait on it to show only committed state. */
  settled(): Promise<void> {
    return this.lastCommit;
  }

  private inFlightLimit(): number {
    const full = this.queuedEvents * 4 >= this.options.commit_events_max;
    return full ? Math.max(this.options.commits_in_flight_max, this.options.full_commits_in_flight_max) : this.options.commits_in_flight_max;
  }

  private take(): Operation[] {
    // One splice, not a shift per operation: the queue can hold thousands (a charging surge).
    let count = 0;
    let events = 0;
    for (; count < this.queue.length; count++) {
      const size = Math.max(1, this.queue[count].events.length);
      if (count > 0 && events + size > this.options.commit_events_max) break;
      events += size;
    }
    this.queuedEvents -= events;
    return this.queue.splice(0, count);
  }

  private expiryDue(): boolean {
    const next = this.ledger.nextExpiry();
    return next !== undefined && next <= this.ledger.now();
  }

  private armExpiryTimer(): void {
    clearTimeout(this.expiryTimer);
    const next = this.ledger.nextExpiry();
    if (next === undefined || this.failure || this.closed || this.gate?.()) return;
    // The ledger's clock, not the wall's: with a controlled clock (tests, replays) a wall-clock check
    // could find an expiry due that the ledger, at its own time, will not release, and spin.
    const delay_ms = Math.max(0, Math.min(3_600_000, Number((next - this.ledger.now()) / 1_000_000n) + 1));
    this.expiryTimer = setTimeout(() => this.schedule(true), delay_ms);
    this.expiryTimer.unref();
  }

  /** A failed commit or a broken invariant: refuse everything from now on. The process should exit and restart. */
  private stop(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    clearTimeout(this.expiryTimer);
    this.queuedEvents = 0;
    for (const op of this.queue.splice(0)) op.reject(new RequestError('writer_unavailable'));
    this.emit('fatal', error);
  }

  /** Finishes queued work, writes a final checkpoint, and refuses anything after. */
  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    // From here new requests are refused and no timer starts a drain; queued work still commits.
    this.closed = true;
    clearTimeout(this.expiryTimer);
    await this.idle;
    await this.lastCommit;
    // A standby never wrote: it has nothing to finish and no checkpoint to write.
    if (this.failure || this.gate?.()) return;
    await this.flush();
    await this.lastCommit;
  }
}
