// The embedded store: SQLite through better-sqlite3, WAL, synchronous=FULL, one transaction and
// one fsync per journal entry. Only the transfer's primary key (its timestamp) and its id index
// are written in the commit; per-account history is a derived index in a second file, brought up
// to date before every history read (so reads see every acknowledged write) and when idle.
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { DEFAULT_ASSETS, type Asset } from '../ledger/assets.js';
import { GENESIS_HASH, encodeRecords, makeEntry, type JournalEntry } from '../ledger/journal.js';
import type { CommitMessage, CommitReply } from './sqlite_committer.js';
import { type JournalRecord, type Ledger, type Lookups } from '../ledger/ledger.js';
import { zeroBalances, type Account, type Balances, type Transfer } from '../ledger/types.js';
import { IdFilter } from './bloom.js';
import { HistoryReader, MARK_EVERY, historyWatermark, openHistoryIndex, openHistoryIndexReadonly, resetHistoryIfAhead } from './history_index.js';
import { accountFromRow, documentFromRow, transferFromRow, type Row } from './rows.js';
import { verifyJournal, type VerifyReport, type VerifySource } from '../ledger/verify.js';
import type { CommitRequest, DocumentQuery, HistoryPage, Store, StoredDocument } from './store.js';

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  CREATE TABLE assets (code TEXT PRIMARY KEY, scale INTEGER NOT NULL, name TEXT NOT NULL) STRICT;
  CREATE TABLE accounts (
    no INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, asset TEXT NOT NULL REFERENCES assets(code),
    code INTEGER NOT NULL, flags INTEGER NOT NULL, user_data TEXT, timestamp INTEGER NOT NULL UNIQUE,
    -- balances as of meta.checkpoint_timestamp; the journal is the truth
    debits_pending INTEGER NOT NULL, debits_posted INTEGER NOT NULL,
    credits_pending INTEGER NOT NULL, credits_posted INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE transfers (
    timestamp INTEGER PRIMARY KEY, id TEXT NOT NULL, debit_no INTEGER NOT NULL, credit_no INTEGER NOT NULL,
    amount INTEGER NOT NULL, pending_id TEXT, pending_amount INTEGER NOT NULL, asset TEXT NOT NULL,
    code INTEGER NOT NULL, flags INTEGER NOT NULL, timeout INTEGER NOT NULL, user_data TEXT, reversal_of TEXT
  ) STRICT;
  CREATE UNIQUE INDEX transfers_id ON transfers(id);
  CREATE UNIQUE INDEX transfers_resolution ON transfers(pending_id) WHERE pending_id IS NOT NULL;
  CREATE UNIQUE INDEX transfers_reversal ON transfers(reversal_of) WHERE reversal_of IS NOT NULL;
  CREATE INDEX transfers_pending ON transfers(timestamp) WHERE flags & 2 != 0;
  CREATE TABLE journal (
    seq INTEGER PRIMARY KEY, first_timestamp INTEGER NOT NULL, last_timestamp INTEGER NOT NULL,
    count INTEGER NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL
  ) STRICT;
  -- The journal is append-only: the database itself refuses edits and deletions.
  CREATE TRIGGER transfers_append_only_update BEFORE UPDATE ON transfers BEGIN SELECT RAISE(ABORT, 'transfers are append-only'); END;
  CREATE TRIGGER transfers_append_only_delete BEFORE DELETE ON transfers BEGIN SELECT RAISE(ABORT, 'transfers are append-only'); END;
  CREATE TRIGGER journal_append_only_update BEFORE UPDATE ON journal BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
  CREATE TRIGGER journal_append_only_delete BEFORE DELETE ON journal BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
  CREATE TRIGGER accounts_immutable BEFORE UPDATE OF no, id, asset, code, flags, user_data, timestamp ON accounts
    BEGIN SELECT RAISE(ABORT, 'an account''s identity is immutable'); END;
  CREATE TRIGGER accounts_no_delete BEFORE DELETE ON accounts BEGIN SELECT RAISE(ABORT, 'accounts are never deleted'); END;
  `,
  `
  CREATE TABLE documents (
    collection TEXT NOT NULL, key TEXT NOT NULL, tag TEXT, value TEXT NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (collection, key)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX documents_tag ON documents(collection, tag, key) WHERE tag IS NOT NULL;
  `,
  // Documents in a rowid table: new rows append to one page and only the small (collection, key)
  // index entries land at random. Clustered on the key (WITHOUT ROWID), every upsert dirtied a
  // page of whole documents: a commit of 32 P2P sends wrote 825 KiB of WAL instead of 483 KiB.
  `
  CREATE TABLE documents_by_rowid (
    collection TEXT NOT NULL, key TEXT NOT NULL, tag TEXT, value TEXT NOT NULL, updated_at INTEGER NOT NULL,
    UNIQUE (collection, key)
  ) STRICT;
  INSERT INTO documents_by_rowid (collection, key, tag, value, updated_at) SELECT collection, key, tag, value, updated_at FROM documents;
  DROP TABLE documents;
  ALTER TABLE documents_by_rowid RENAME TO documents;
  CREATE INDEX documents_tag ON documents(collection, tag, key) WHERE tag IS NOT NULL;
  `,
];

/** Versions are the number of migrations applied (PRAGMA user_version); each runs once, in order. */
const SCHEMA_VERSION = MIGRATIONS.length;

/** How long close() waits for a store thread to close its connection before terminating it. */
const WORKER_STOP_TIMEOUT_MS = 10_000;
/** How far behind the last commit the history index may fall while nobody reads it. */
const HISTORY_LAG_MS = 500;
/** An empty index this far behind (rebuilt after it was lost, or first opened on a big journal) is built in one pass and one transaction (HistoryIndexer.bulkBuild). */
const HISTORY_BULK_MINIMUM = 200_000;
/** Document keys read per statement by documentKeys(). */
const DOCUMENT_KEYS_PAGE = 10_000;
/** Later than any timestamp the ledger assigns (nanoseconds, good until 2116). */
const TIMESTAMP_END = 1n << 62n;

export interface SqliteStoreOptions {
  dataDir: string;
  assets?: readonly Asset[];
  readonly?: boolean;
  /** An empty history index with at least this many transfers behind is built in one pass and one transaction. */
  history_bulk_minimum?: number;
  /** How far behind the last commit the history index may fall while nobody reads it (HISTORY_LAG_MS). */
  history_lag_ms?: number;
}


export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly prefetchesLookups = false;
  readonly db: Database.Database;
  private readonly history: Database.Database;
  private readonly historyReader: HistoryReader;
  private readonly statements: ReturnType<typeof prepare>;
  private chainHead: { seq: number; hash: Buffer } = { seq: 0, hash: GENESIS_HASH };
  private accountsByNo: readonly Account[] = [];
  private ids = new IdFilter(0);
  private checkpointer: Worker | undefined;
  private committer: Worker | undefined;
  /** Commits handed to the commit thread, oldest first; it answers in order. */
  private readonly waiting: { resolve: () => void; reject: (error: Error) => void; view: Lookups & { ids(): Iterable<string> }; last_timestamp: bigint | undefined }[] = [];
  private commitFailure: Error | undefined;
  private lastCommit: Promise<unknown> = Promise.resolve();
  // Records of entries not yet durable: later batches must see them (a retry, a post of a new pending).
  private readonly inflight: (Lookups & { ids(): Iterable<string> })[] = [];
  private indexer: Worker | undefined;
  /** The history index's end of the commit thread's transfer feed, until its thread starts. */
  private feed: MessagePort | undefined;
  /** The last committed timestamp, and how far the history index is known to have caught up. */
  private committedTimestamp = 0n;
  private historyCaughtUp = 0n;
  private historyPoked = false;
  /** Transfers the history index took in one pass and one transaction (HistoryIndexer.bulkBuild) since opening. */
  historyBuiltInBulk = 0;
  /** Transfers the history index took from the commit thread's feed rather than reading them back, since opening. */
  historyFedTransfers = 0;
  private indexTimer: NodeJS.Timeout | undefined;
  private historyFailure: Error | undefined;
  private readonly historyWaiters: { target: bigint; resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(private readonly options: SqliteStoreOptions) {
    fs.mkdirSync(options.dataDir, { recursive: true });
    const file = path.join(options.dataDir, 'ledger.sqlite');
    this.db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      // Checkpointing copies the WAL into the database and fsyncs it; done inside a commit it
      // would stall the writer. A worker thread does it beside the writer instead.
      this.db.pragma('wal_autocheckpoint = 0');
      // The threads prepare statements against the schema: it must exist before they start.
      migrate(this.db, options.assets ?? DEFAULT_ASSETS);
      this.checkpointer = new Worker(new URL('./sqlite_checkpointer.js', import.meta.url), { workerData: { file, interval_ms: 1000 } });
      this.checkpointer.unref();
      // Checkpointing is an optimisation: if its thread fails, the WAL only grows until restart.
      this.checkpointer.on('error', () => undefined);
      // The commit thread hands each commit's transfers to the history index's thread directly.
      const feed = new MessageChannel();
      this.feed = feed.port2;
      this.committer = new Worker(new URL('./sqlite_committer.js', import.meta.url), { workerData: { file, feed: feed.port1 }, transferList: [feed.port1] });
      this.committer.on('message', (reply: CommitReply | 'stopped') => this.committed(reply));
      this.committer.on('error', (error) => this.failCommits(error));
      this.committer.on('exit', () => this.failCommits(new Error('the commit thread exited')));
    }
    this.db.pragma('cache_size = -262144');
    this.db.defaultSafeIntegers(true);
    // A read-only store (verify) reads the history index if there is one; an empty one stands in otherwise.
    const historyFile = path.join(options.dataDir, 'history.sqlite');
    this.history = options.readonly ? openHistoryIndexReadonly(historyFile) : openHistoryIndex(historyFile);
    this.history.defaultSafeIntegers(true);
    this.historyReader = new HistoryReader(this.history);
    this.statements = prepare(this.db);
  }

  async load(ledger: Ledger): Promise<void> {
    const s = this.statements;
    const checkpoint = this.checkpointTimestamp();
    for (const row of s.accountsUpTo.iterate(checkpoint) as Iterable<Row>) ledger.addAccount(accountFromRow(row));
    for (const row of s.livePendingAt.iterate(checkpoint, checkpoint) as Iterable<Row>) {
      ledger.trackPending(transferFromRow(row, (no) => ledger.accountsByNo[no]));
    }
    ledger.lastTimestamp = checkpoint;
    for (const record of this.recordsAfter(checkpoint, ledger.accountsByNo)) ledger.replay(record);
    const head = s.lastEntry.get() as Row | undefined;
    if (head) this.chainHead = { seq: Number(head.seq), hash: head.hash as Buffer };
    const last = s.lastTimestamp.get() as Row;
    ledger.lastTimestamp = ledger.lastTimestamp > (last.ts as bigint) ? ledger.lastTimestamp : (last.ts as bigint);
    this.accountsByNo = ledger.accountsByNo;
    this.rebuildIdFilter();
    this.committedTimestamp = last.ts as bigint;
    if (!this.options.readonly) this.startIndexer(last.ts as bigint);
  }

  private startIndexer(lastTimestamp: bigint): void {
    resetHistoryIfAhead(this.history, lastTimestamp);
    const indexer = new Worker(new URL('./sqlite_indexer.js', import.meta.url), {
      workerData: {
        ledgerFile: path.join(this.options.dataDir, 'ledger.sqlite'), historyFile: path.join(this.options.dataDir, 'history.sqlite'),
        bulkMinimum: this.options.history_bulk_minimum ?? HISTORY_BULK_MINIMUM, feed: this.feed,
      },
      transferList: this.feed ? [this.feed] : [],
    });
    this.feed = undefined;
    indexer.unref();
    indexer.on('message', (reply: { caught_up: bigint; bulk: number; fed: number } | 'stopped') => {
      if (reply === 'stopped') return;
      this.historyBuiltInBulk += reply.bulk;
      this.historyFedTransfers = reply.fed;
      this.historyPoked = false;
      if (reply.caught_up > this.historyCaughtUp) this.historyCaughtUp = reply.caught_up;
      for (let i = this.historyWaiters.length - 1; i >= 0; i--) {
        const waiter = this.historyWaiters[i];
        if (waiter.target <= this.historyCaughtUp) {
          this.historyWaiters.splice(i, 1);
          waiter.resolve();
        }
      }
      // Readers still waiting for later commits get the next poke now; otherwise the timer's.
      if (this.historyWaiters.length > 0) this.pokeIndexer();
      else this.scheduleIndexing();
    });
    const fail = (error: Error) => {
      this.historyFailure ??= error;
      for (const waiter of this.historyWaiters.splice(0)) waiter.reject(this.historyFailure);
    };
    indexer.on('error', fail);
    indexer.on('exit', () => fail(new Error('the history index thread exited')));
    this.indexer = indexer;
    this.pokeIndexer();
  }

  /**
   * After commits the index catches up at most every HISTORY_LAG_MS (or history_lag_ms): larger
   * chunks cost less per transfer and compete less with the writer. A history read pokes at once
   * and waits.
   */
  private scheduleIndexing(): void {
    if (this.indexTimer || !this.indexer) return;
    this.indexTimer = setTimeout(() => {
      this.indexTimer = undefined;
      this.pokeIndexer();
    }, this.options.history_lag_ms ?? HISTORY_LAG_MS);
    this.indexTimer.unref();
  }

  /** One poke outstanding at a time: the indexer takes everything committed when it gets it. */
  private pokeIndexer(): void {
    if (!this.indexer || this.historyPoked || this.historyCaughtUp >= this.committedTimestamp) return;
    this.historyPoked = true;
    this.indexer.postMessage({ target: this.committedTimestamp });
  }

  /** Resolves once the history index holds every transfer committed before this call. */
  private historyUpToDate(): Promise<void> {
    if (this.historyFailure) return Promise.reject(this.historyFailure);
    const target = this.committedTimestamp;
    if (!this.indexer || target <= this.historyCaughtUp) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.historyWaiters.push({ target, resolve, reject });
      this.pokeIndexer();
    });
  }

  /** At load, before any commit (a full filter grows in place afterwards: IdFilter.grown). */
  private rebuildIdFilter(): void {
    const count = Number(this.statements.transferCount.get());
    this.ids = IdFilter.rebuiltFor(count);
    for (const id of this.statements.allTransferIds.iterate() as Iterable<string>) this.ids.add(id);
  }

  assets(): Asset[] {
    return (this.statements.assets.all() as Row[]).map((row) => ({ code: row.code as string, scale: Number(row.scale), name: row.name as string }));
  }

  async lookups(): Promise<Lookups> {
    const s = this.statements;
    const byNo = this.accountsByNo;
    return {
      // Most ids are new: the filter (which holds the in-flight batches' ids too) says so from
      // memory, before the in-flight batches are searched; only a "maybe" reads the database.
      transfer: (id) => (this.ids.mightContain(id)
        ? this.inflightFind((view) => view.transfer(id)) ?? this.rowToTransfer(s.transferById.get(id) as Row | undefined, byNo)
        : undefined),
      resolution: (pending_id) => this.inflightFind((view) => view.resolution(pending_id)) ?? this.rowToTransfer(s.resolution.get(pending_id) as Row | undefined, byNo),
      reversal: (original_id) => this.inflightFind((view) => view.reversal(original_id)) ?? this.rowToTransfer(s.reversal.get(original_id) as Row | undefined, byNo),
      idFilter: this.ids,
    };
  }

  /**
   * Hands one journal entry to the commit thread and resolves once it is durable. Everything that
   * must reflect the moment of the call (the chain head, the checkpointed balances, the id filter,
   * the in-flight maps) is taken synchronously, before the first await, so the writer can apply
   * the next batch while this one is being written.
   */
  commit(request: CommitRequest): Promise<JournalEntry | undefined> {
    if (this.commitFailure) return Promise.reject(this.commitFailure);
    assert.ok(this.committer, 'a read-only store cannot commit');
    const { records } = request;
    const bytes = encodeRecords(records);
    const entry = records.length > 0 ? makeEntry(this.chainHead.seq + 1, this.chainHead.hash, records, bytes) : undefined;
    if (entry) this.chainHead = { seq: entry.seq, hash: entry.hash };
    if (!request.ids_filtered) for (const record of records) if (record.kind === 'transfer') this.ids.add(record.transfer.id);
    const view = request.view ?? viewOf(records);
    this.inflight.push(view);
    const message: CommitMessage = {
      seq: entry?.seq ?? this.chainHead.seq,
      first_timestamp: entry?.first_timestamp ?? 0n,
      last_timestamp: entry?.last_timestamp ?? 0n,
      count: records.length,
      prev_hash: entry?.prev_hash ?? GENESIS_HASH,
      hash: entry?.hash ?? GENESIS_HASH,
      bytes,
      checkpoint: request.checkpoint ? { timestamp: request.checkpoint.timestamp, balances: packBalances(request.checkpoint.dirty) } : undefined,
      documents: request.documents && request.documents.length > 0 ? request.documents.map((d) => [d.collection, d.key, d.tag ?? null, d.value]) : undefined,
      now_ms: Date.now(),
    };
    const committed = new Promise<JournalEntry | undefined>((resolve, reject) => {
      this.waiting.push({ resolve: () => resolve(entry), reject, view, last_timestamp: entry?.last_timestamp });
      this.committer!.postMessage(message, [bytes.buffer as ArrayBuffer]);
    });
    this.lastCommit = committed.catch(() => undefined);
    return committed;
  }

  private committed(reply: CommitReply | 'stopped'): void {
    if (reply === 'stopped') return;
    const commit = this.waiting.shift();
    assert.ok(commit, 'a commit reply matches a waiting commit');
    if (!reply.ok) {
      this.failCommits(new Error(`commit of journal entry ${reply.seq} failed: ${reply.error}`), commit);
      return;
    }
    this.inflight.splice(this.inflight.indexOf(commit.view), 1);
    if (commit.last_timestamp !== undefined) {
      this.committedTimestamp = commit.last_timestamp;
      this.scheduleIndexing();
    }
    if (this.ids.saturated) this.ids = this.ids.grown();
    commit.resolve();
  }

  /** After a failed commit nothing later can be durable: fail every waiting commit and refuse new ones. */
  private failCommits(error: Error, first?: { reject: (error: Error) => void }): void {
    if (this.commitFailure === undefined) this.commitFailure = error;
    first?.reject(error);
    for (const commit of this.waiting.splice(0)) commit.reject(error);
  }

  /** Newest in-flight batch first: a later batch's record supersedes nothing, but is the likelier hit. */
  private inflightFind(find: (view: Lookups) => Transfer | undefined): Transfer | undefined {
    for (let i = this.inflight.length - 1; i >= 0; i--) {
      const found = find(this.inflight[i]);
      if (found) return found;
    }
    return undefined;
  }

  async getTransfer(id: string): Promise<Transfer | undefined> {
    return this.rowToTransfer(this.statements.transferById.get(id) as Row | undefined, this.accountsByNo);
  }

  async accountHistory(account: Account, options: { limit: number; before?: bigint }): Promise<HistoryPage> {
    await this.historyUpToDate();
    const page = this.historyReader.page(account.no, options.before ?? TIMESTAMP_END, options.limit);
    const entries = page.postings.map((posting) => ({
      transfer: this.rowToTransfer(this.statements.transferByTimestamp.get(posting.timestamp) as Row, this.accountsByNo)!,
      after: posting.after,
    }));
    const last = entries[entries.length - 1];
    return page.more && last ? { entries, next_before: last.transfer.timestamp } : { entries };
  }

  async balanceAt(account: Account, timestamp: bigint): Promise<Balances> {
    await this.historyUpToDate();
    const until = timestamp < TIMESTAMP_END ? timestamp + 1n : TIMESTAMP_END;
    return this.historyReader.latestBefore(account.no, until)?.after ?? zeroBalances();
  }

  private checkpointTimestamp(): bigint {
    const row = this.statements.getMeta.get('checkpoint_timestamp') as Row | undefined;
    return row ? BigInt(row.value as string) : 0n;
  }

  /** Account and transfer records after `timestamp`, merged in timestamp order. */
  private *recordsAfter(timestamp: bigint, byNo: readonly Account[]): Generator<JournalRecord> {
    yield* this.recordsBetween(timestamp + 1n, TIMESTAMP_END, byNo);
  }

  private *recordsBetween(first: bigint, last: bigint, byNo: readonly Account[]): Generator<JournalRecord> {
    const s = this.statements;
    const accounts = s.accountsBetween.iterate(first, last) as IterableIterator<Row>;
    const transfers = s.transfersBetween.iterate(first, last) as IterableIterator<Row>;
    let account = accounts.next();
    let transfer = transfers.next();
    // byNo grows while a replay consumes this generator, so accounts created here resolve too.
    const lookupByNo = (no: number): Account | undefined => byNo[no];
    while (!account.done || !transfer.done) {
      if (!account.done && (transfer.done || (account.value.timestamp as bigint) < (transfer.value.timestamp as bigint))) {
        yield { kind: 'account', account: accountFromRow(account.value, true) };
        account = accounts.next();
      } else {
        yield { kind: 'transfer', transfer: transferFromRow(transfer.value, lookupByNo) };
        transfer = transfers.next();
      }
    }
  }

  private rowToTransfer(row: Row | undefined, byNo: readonly Account[]): Transfer | undefined {
    return row === undefined ? undefined : transferFromRow(row, (no) => byNo[no]);
  }

  /** Verifies the journal inside one read transaction on each file, so a live store is seen at one moment. */
  verify(onProgress?: (entries: number, total: number) => void): VerifyReport {
    return this.db.transaction(() => this.history.transaction(() => {
      const source = this.verifySource();
      const total = source.entryCount();
      return verifyJournal(source, (entries) => onProgress?.(entries, total));
    })())();
  }

  verifySource(): VerifySource {
    const s = this.statements;
    const accountIds: string[] = (s.allAccountIds.all() as Row[]).map((row) => row.id as string);
    // Only ids are needed to decode transfers; built once, not per entry.
    const accounts = accountIds.map((id) => ({ id }) as Account);
    return {
      entries: function* () {
        for (const row of s.entries.iterate() as Iterable<Row>) {
          yield {
            seq: Number(row.seq), first_timestamp: row.first_timestamp as bigint, last_timestamp: row.last_timestamp as bigint,
            count: Number(row.count), prev_hash: row.prev_hash as Buffer, hash: row.hash as Buffer,
          };
        }
      },
      records: (first, last) => this.recordsBetween(first, last, accounts),
      transfer: (id) => this.rowToTransfer(s.transferById.get(id) as Row | undefined, accounts),
      recordCount: () => Number((s.recordCount.get() as Row).n),
      history: () => {
        const reader = this.historyReader;
        return {
          watermark: historyWatermark(this.history),
          entry: (no, timestamp) => {
            const posting = reader.posting(no, timestamp);
            return posting ? { ...posting.after, prev: posting.prev } : undefined;
          },
          // A posting is an entry of each of its two accounts.
          entryCount: (up_to) => 2 * reader.postingCount(up_to),
          chain: { mark_every: MARK_EVERY, marked: (no, timestamp) => reader.marked(no, timestamp), markCount: (up_to) => reader.markCount(up_to), heads: () => reader.heads() },
        };
      },
      entryCount: () => Number((s.entryCount.get() as Row).n),
      checkpoint: () => {
        const timestamp = this.checkpointTimestamp();
        return {
          timestamp,
          accounts: (function* () {
            for (const row of s.accountsUpTo.iterate(timestamp) as Iterable<Row>) {
              const a = accountFromRow(row);
              yield { id: a.id, no: a.no, debits_pending: a.debits_pending, debits_posted: a.debits_posted, credits_pending: a.credits_pending, credits_posted: a.credits_posted };
            }
          })(),
        };
      },
    };
  }

  async document(collection: string, key: string): Promise<StoredDocument | undefined> {
    const row = this.statements.document.get(collection, key) as Row | undefined;
    return row ? documentFromRow(row) : undefined;
  }

  async *documents(collection: string, query: DocumentQuery = {}): AsyncIterable<StoredDocument> {
    const clauses = ['collection = ?'];
    const params: unknown[] = [collection];
    if (query.tag !== undefined) {
      clauses.push('tag = ?');
      params.push(query.tag);
    }
    if (query.prefix !== undefined && query.prefix !== '') {
      // A key range the primary key answers, unlike LIKE.
      clauses.push('key >= ? AND key < ?');
      params.push(query.prefix, query.prefix + '\uffff');
    }
    // Keys are never empty, so '' starts at the first. Pages of 1,000 keep no statement open across awaits.
    const page = this.db.prepare(`SELECT * FROM documents WHERE ${clauses.join(' AND ')} AND key > ? ORDER BY key LIMIT ?`);
    let after = query.after ?? '';
    let left = query.limit ?? Infinity;
    while (left > 0) {
      const rows = page.all(...params, after, Math.min(1000, left)) as Row[];
      for (const row of rows) yield documentFromRow(row);
      if (rows.length < 1000) return;
      left -= rows.length;
      after = rows[rows.length - 1].key as string;
    }
  }

  async *documentKeys(collection: string): AsyncIterable<string> {
    // Keys are never empty, so '' starts at the first; pages keep no statement open across awaits.
    let after = '';
    for (;;) {
      const keys = this.statements.documentKeys.all(collection, after, DOCUMENT_KEYS_PAGE) as string[];
      yield* keys;
      if (keys.length < DOCUMENT_KEYS_PAGE) return;
      after = keys[keys.length - 1];
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.indexTimer);
    this.feed?.close();
    this.feed = undefined;
    const indexer = this.indexer;
    this.indexer = undefined;
    if (indexer) await stopWorker(indexer);
    const committer = this.committer;
    this.committer = undefined;
    if (committer) {
      await this.lastCommit;
      await stopWorker(committer);
    }
    const checkpointer = this.checkpointer;
    this.checkpointer = undefined;
    if (checkpointer) await stopWorker(checkpointer);
    if (this.db.open) this.db.close();
    if (this.history.open) this.history.close();
  }
}

/**
 * Asks a store thread to close its connection and waits for it. The thread is held (ref) meanwhile,
 * so the process cannot exit mid-close, and its 'exit' handler (which reports a crash) is dropped.
 */
async function stopWorker(worker: Worker): Promise<void> {
  worker.removeAllListeners('exit');
  // A thread that already exited will never answer (its threadId is -1 then).
  if (worker.threadId !== -1) {
    worker.ref();
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      // A reply already in flight (a commit, a catch-up) may come first: wait for 'stopped' itself.
      worker.on('message', (message: unknown) => message === 'stopped' && resolve());
      worker.once('exit', () => resolve());
      // Bounded: a thread that neither answers nor exits is terminated all the same.
      timer = setTimeout(resolve, WORKER_STOP_TIMEOUT_MS);
      worker.postMessage('stop');
    });
    clearTimeout(timer);
  }
  await worker.terminate();
}

function migrate(db: Database.Database, assets: readonly Asset[]): void {
  const version = Number(db.pragma('user_version', { simple: true }));
  assert.ok(version <= SCHEMA_VERSION, `the data directory was written by a newer mari (schema ${version} > ${SCHEMA_VERSION})`);
  db.transaction(() => {
    for (let step = version; step < MIGRATIONS.length; step++) db.exec(MIGRATIONS[step]);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    const insert = db.prepare('INSERT INTO assets (code, scale, name) VALUES (?, ?, ?) ON CONFLICT (code) DO NOTHING');
    for (const asset of assets) insert.run(asset.code, asset.scale, asset.name);
  })();
}

function prepare(db: Database.Database) {
  return {
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
    assets: db.prepare('SELECT code, scale, name FROM assets ORDER BY code'),
    accountsUpTo: db.prepare('SELECT * FROM accounts WHERE timestamp <= ? ORDER BY no'),
    accountsBetween: db.prepare('SELECT * FROM accounts WHERE timestamp BETWEEN ? AND ? ORDER BY timestamp'),
    allAccountIds: db.prepare('SELECT id FROM accounts ORDER BY no'),
    livePendingAt: db.prepare(`SELECT * FROM transfers p WHERE flags & 2 != 0 AND timestamp <= ?
      AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = p.id AND r.timestamp <= ?) ORDER BY timestamp`),
    transfersBetween: db.prepare(`SELECT * FROM transfers WHERE timestamp BETWEEN ? AND ? ORDER BY timestamp`),
    transferById: db.prepare(`SELECT * FROM transfers WHERE id = ?`),
    transferCount: db.prepare('SELECT count(*) FROM transfers').pluck(),
    allTransferIds: db.prepare('SELECT id FROM transfers').pluck(),
    transferByTimestamp: db.prepare(`SELECT * FROM transfers WHERE timestamp = ?`),
    resolution: db.prepare(`SELECT * FROM transfers WHERE pending_id = ?`),
    reversal: db.prepare(`SELECT * FROM transfers WHERE reversal_of = ?`),
    lastEntry: db.prepare('SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1'),
    lastTimestamp: db.prepare('SELECT max(coalesce((SELECT max(timestamp) FROM transfers), 0), coalesce((SELECT max(timestamp) FROM accounts), 0)) AS ts'),
    entries: db.prepare('SELECT * FROM journal ORDER BY seq'),
    recordCount: db.prepare('SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM transfers) AS n'),
    entryCount: db.prepare('SELECT count(*) AS n FROM journal'),
    document: db.prepare('SELECT * FROM documents WHERE collection = ? AND key = ?'),
    documentKeys: db.prepare('SELECT key FROM documents WHERE collection = ? AND key > ? ORDER BY key LIMIT ?').pluck(),
  };
}



/** A view of records for callers that do not pass their batch's own (tests, tools). */
function viewOf(records: readonly JournalRecord[]): Lookups & { ids(): Iterable<string> } {
  const byId = new Map<string, Transfer>();
  const byPending = new Map<string, Transfer>();
  const byReversed = new Map<string, Transfer>();
  for (const record of records) {
    if (record.kind !== 'transfer') continue;
    const t = record.transfer;
    byId.set(t.id, t);
    if (t.pending_id !== null) byPending.set(t.pending_id, t);
    if (t.reversal_of !== null) byReversed.set(t.reversal_of, t);
  }
  return { transfer: (id) => byId.get(id), resolution: (id) => byPending.get(id), reversal: (id) => byReversed.get(id), ids: () => byId.keys() };
}

function packBalances(accounts: Iterable<Account>): BigInt64Array {
  const list = [...accounts];
  const packed = new BigInt64Array(list.length * 5);
  list.forEach((a, i) => {
    packed[i * 5] = BigInt(a.no);
    packed[i * 5 + 1] = a.debits_pending;
    packed[i * 5 + 2] = a.debits_posted;
    packed[i * 5 + 3] = a.credits_pending;
    packed[i * 5 + 4] = a.credits_posted;
  });
  return packed;
}


