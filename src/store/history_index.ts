// The derived history index: one posting per transfer, appended in timestamp order, holding both
// accounts' balances after it and a link to each account's previous posting; the running balances
// (and each account's latest posting) as of the watermark; and a sparse mark at every 64th posting
// of an account, to find where its chain crosses a past time. It is rebuilt from the journal
// whenever it is missing, of an older layout, or ahead of the journal, and verify checks it.
//
// Each account's history was a (account, time) B-tree before: two random inserts per transfer,
// spread over every account, cost ~7.5 µs of CPU a transfer and most of the WAL written. A posting
// keyed by its timestamp (the rowid) always appends; only one mark in 64 lands at random.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { applyTransfer, type Balances, type Transfer } from '../ledger/types.js';
import { balancesFromRow, type Row } from './rows.js';
import { RowWriter } from './row_writer.js';
import { PACKED_BYTES, type FeedQueue } from './transfer_feed.js';

/** Bumped whenever the layout changes: an index of another version is deleted and rebuilt. */
export const HISTORY_VERSION = 2;
/** One mark per this many postings of an account: a history read follows at most this many links to reach a past time. */
export const MARK_EVERY = 64;

const BALANCE_COLUMNS = ['debits_pending', 'debits_posted', 'credits_pending', 'credits_posted'] as const;

const HISTORY_SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  -- One row per transfer, keyed by its timestamp (the rowid): the indexer writes in timestamp
  -- order, so each insert appends. *_prev: the timestamp of that account's previous posting, 0 if none.
  CREATE TABLE IF NOT EXISTS postings (
    timestamp INTEGER PRIMARY KEY, debit_no INTEGER NOT NULL, credit_no INTEGER NOT NULL,
    debit_prev INTEGER NOT NULL, credit_prev INTEGER NOT NULL,
    ${BALANCE_COLUMNS.map((c) => `debit_${c} INTEGER NOT NULL`).join(', ')},
    ${BALANCE_COLUMNS.map((c) => `credit_${c} INTEGER NOT NULL`).join(', ')}
  ) STRICT;
  -- Each account's balances, latest posting and count of postings, as of the watermark.
  CREATE TABLE IF NOT EXISTS balances (
    account_no INTEGER PRIMARY KEY,
    debits_pending INTEGER NOT NULL, debits_posted INTEGER NOT NULL, credits_pending INTEGER NOT NULL, credits_posted INTEGER NOT NULL,
    last_timestamp INTEGER NOT NULL, postings INTEGER NOT NULL
  ) STRICT;
  -- The timestamp of every MARK_EVERY-th posting of each account.
  CREATE TABLE IF NOT EXISTS marks (
    account_no INTEGER NOT NULL, timestamp INTEGER NOT NULL, PRIMARY KEY (account_no, timestamp)
  ) WITHOUT ROWID, STRICT;
`;

const POSTING_COLUMNS = 13;

function historyVersion(history: Database.Database): number {
  const meta = history.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  if (!meta) return 0;
  const row = history.prepare("SELECT value FROM meta WHERE key = 'version'").get() as Row | undefined;
  return row ? Number(row.value) : 0;
}

/**
 * Opens the index for writing. One of another layout (an `entries` table, no version) is deleted,
 * files and all, and starts empty: it is derived, and the indexer rebuilds it from the journal.
 */
export function openHistoryIndex(file: string): Database.Database {
  let history = new Database(file);
  if (historyVersion(history) !== HISTORY_VERSION) {
    history.close();
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
    history = new Database(file);
  }
  history.pragma('journal_mode = WAL');
  history.pragma('synchronous = NORMAL');
  history.transaction(() => {
    history.exec(HISTORY_SCHEMA);
    history.prepare("INSERT INTO meta (key, value) VALUES ('version', ?) ON CONFLICT (key) DO NOTHING").run(String(HISTORY_VERSION));
  })();
  return history;
}

/** Opens the index to read it only (verify): an empty one stands in when there is none of this layout. */
export function openHistoryIndexReadonly(file: string): Database.Database {
  if (fs.existsSync(file)) {
    const history = new Database(file, { readonly: true });
    if (historyVersion(history) === HISTORY_VERSION) return history;
    history.close();
  }
  const empty = new Database(':memory:');
  empty.exec(HISTORY_SCHEMA);
  return empty;
}

export function historyWatermark(history: Database.Database): bigint {
  const row = history.prepare("SELECT value FROM meta WHERE key = 'watermark'").get() as Row | undefined;
  return row ? BigInt(row.value as string) : 0n;
}

/** The index is derived: if it is ahead of the journal (say, a restored backup), empty it to rebuild. */
export function resetHistoryIfAhead(history: Database.Database, lastTimestamp: bigint): void {
  if (historyWatermark(history) <= lastTimestamp) return;
  history.exec("DELETE FROM postings; DELETE FROM balances; DELETE FROM marks; DELETE FROM meta WHERE key = 'watermark';");
}

/** An account's state in the index: its balances, its latest posting (0 if none) and how many it has. */
export interface RunningAccount extends Balances {
  last_timestamp: bigint;
  postings: number;
}

/** Values RunningBalances keeps per account. */
const ACCOUNT_SLOTS = 6;

function noAccount(): RunningAccount {
  return { debits_pending: 0n, debits_posted: 0n, credits_pending: 0n, credits_posted: 0n, last_timestamp: 0n, postings: 0 };
}

/**
 * Each account's running state as of the watermark, in one flat array indexed by account number:
 * millions of accounts (an import) as objects would take gigabytes and the collector's time. An
 * account's six values sit side by side (one cache line, not six: accounts are met at random). An
 * account's first use loads its state with `load` (from the index, or nothing at all).
 */
class RunningBalances {
  private size = 0;
  /** Per account: debits_pending, debits_posted, credits_pending, credits_posted, last_timestamp, postings. */
  private values = new BigInt64Array(0);
  /** The same memory, to read and write the count of postings as a number. */
  private numbers = new Float64Array(0);
  /** 0: not loaded yet; 1: loaded; 2: changed since the last save. */
  private state = new Uint8Array(0);

  constructor(private readonly load: (no: number) => RunningAccount | undefined) {}

  /** Copies the account's state into `into` (no allocation: this runs twice per transfer). */
  get(no: number, into: RunningAccount): void {
    if (no >= this.size) this.grow(no);
    if (this.state[no] === 0) {
      const stored = this.load(no);
      if (stored) this.set(no, stored);
      this.state[no] = 1;
    }
    const v = this.values;
    const o = no * ACCOUNT_SLOTS;
    into.debits_pending = v[o];
    into.debits_posted = v[o + 1];
    into.credits_pending = v[o + 2];
    into.credits_posted = v[o + 3];
    into.last_timestamp = v[o + 4];
    into.postings = this.numbers[o + 5];
  }

  set(no: number, a: RunningAccount): void {
    const v = this.values;
    const o = no * ACCOUNT_SLOTS;
    v[o] = a.debits_pending;
    v[o + 1] = a.debits_posted;
    v[o + 2] = a.credits_pending;
    v[o + 3] = a.credits_posted;
    v[o + 4] = a.last_timestamp;
    this.numbers[o + 5] = a.postings;
    this.state[no] = 2;
  }

  /** Calls `save` for every changed account in account order, and marks them saved. */
  saveChanged(save: (no: number, account: RunningAccount) => void): void {
    const account = noAccount();
    for (let no = 0; no < this.size; no++) {
      if (this.state[no] !== 2) continue;
      this.get(no, account);
      save(no, account);
      this.state[no] = 1;
    }
  }

  private grow(no: number): void {
    // By half again, not double: at 48 bytes an account, millions of accounts leave less unused.
    const size = Math.max(no + 1, Math.ceil(this.size * 1.5), 1024);
    const buffer = new ArrayBuffer(size * ACCOUNT_SLOTS * 8);
    new Uint8Array(buffer).set(new Uint8Array(this.values.buffer));
    this.values = new BigInt64Array(buffer);
    this.numbers = new Float64Array(buffer);
    const state = new Uint8Array(size);
    state.set(this.state);
    this.state = state;
    this.size = size;
  }
}

/** Transfers read from the journal per statement, packed into one blob (HistoryIndexer.indexBatch). */
const READ_BATCH = 4096;
const INT64_MAX = 2n ** 63n - 1n;

export class HistoryIndexer {
  private running: RunningBalances;
  private readonly statements;
  private readonly postings: RowWriter;
  private readonly marks: RowWriter;
  private readonly balances: RowWriter;
  // Reused for every transfer: the hot loop allocates nothing of its own.
  private readonly debit = noAccount();
  private readonly credit = noAccount();
  private readonly transfer = { amount: 0n, pending_amount: 0n, flags: 0 };
  /** Transfers taken from the feed rather than read back from the journal (tests, figures). */
  fedTransfers = 0;

  /** `feed`: committed transfers handed over by the commit thread, used where they continue the index (transfer_feed.ts). */
  constructor(ledger: Database.Database, private readonly history: Database.Database, private readonly feed?: FeedQueue) {
    this.statements = {
      nthTransfer: ledger.prepare('SELECT timestamp FROM transfers ORDER BY timestamp LIMIT 1 OFFSET ?'),
      // better-sqlite3 takes ~1 µs to hand over a row of six integers, most of it per row, not per
      // value; packed by SQLite into one blob per READ_BATCH rows they cost ~0.4 µs. The subquery
      // feeds them in timestamp order (indexBatch asserts it).
      transfersPacked: ledger.prepare(`SELECT count(*) AS n, unhex(group_concat(printf('%016x%016x%016x%016x%016x%016x',
        timestamp, debit_no, credit_no, amount, pending_amount, flags), '')) AS packed
        FROM (SELECT * FROM transfers WHERE timestamp > ? AND timestamp <= ? ORDER BY timestamp LIMIT ?)`),
      loadRunning: history.prepare('SELECT * FROM balances WHERE account_no = ?'),
      setWatermark: history.prepare("INSERT INTO meta (key, value) VALUES ('watermark', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
    };
    this.postings = new RowWriter(history, 'INSERT INTO postings VALUES $rows', POSTING_COLUMNS);
    this.marks = new RowWriter(history, 'INSERT INTO marks VALUES $rows', 2);
    // Every column is rewritten: REPLACE costs less than an upsert's UPDATE.
    this.balances = new RowWriter(history, 'INSERT OR REPLACE INTO balances VALUES $rows', 7);
    this.running = this.loadedRunning();
  }

  private loadedRunning(): RunningBalances {
    return new RunningBalances((no) => {
      const row = this.statements.loadRunning.get(no) as Row | undefined;
      return row ? { ...balancesFromRow(row), last_timestamp: row.last_timestamp as bigint, postings: Number(row.postings) } : undefined;
    });
  }

  /** Indexes up to `limit` committed transfers past the watermark, in one transaction. Returns how many. */
  index(limit: number): number {
    return this.indexAfter(historyWatermark(this.history), limit);
  }

  /**
   * Builds an empty index from a large backlog (an index lost, or found ahead of the journal) in
   * one pass and one transaction instead of chunk by chunk. Returns how many transfers it indexed;
   * 0 (doing nothing) when the index is not empty or the backlog is smaller than `minimum`.
   */
  bulkBuild(minimum: number): number {
    if (historyWatermark(this.history) !== 0n) return 0;
    if (this.statements.nthTransfer.get(minimum - 1) === undefined) return 0;
    return this.indexAfter(0n, Infinity);
  }

  private indexAfter(watermark: bigint, limit: number): number {
    let count = 0;
    let last = watermark;
    const marks: { no: number; timestamp: bigint }[] = [];
    try {
      this.history.transaction(() => {
        this.postings.discard();
        this.marks.discard();
        this.balances.discard();
        while (count < limit) {
          const batch = Math.min(READ_BATCH, limit - count);
          const fed = this.feed?.take(last, batch);
          if (fed) {
            last = this.postPacked(fed.view, fed.offset, fed.count, last, marks);
            count += fed.count;
            this.fedTransfers += fed.count;
            continue;
          }
          // Read from the journal only up to where the feed takes over.
          const feedFrom = this.feed?.continuesFrom();
          const read = this.indexBatch(last, feedFrom !== undefined && feedFrom > last ? feedFrom : INT64_MAX, batch, marks);
          count += read.count;
          last = read.last;
          if (read.count === 0 || (read.count < batch && last !== feedFrom)) break;
        }
        if (count === 0) return;
        this.postings.flush();
        // Sorted, the chunk's marks walk their B-tree once, left to right.
        marks.sort((x, y) => x.no - y.no || (x.timestamp < y.timestamp ? -1 : 1));
        for (const mark of marks) this.marks.add(mark.no, mark.timestamp);
        this.marks.flush();
        this.running.saveChanged((no, a) => this.balances.add(no, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted, a.last_timestamp, a.postings));
        this.balances.flush();
        this.statements.setWatermark.run(last.toString());
      })();
    } catch (error) {
      // The running state took transfers that were not written: start again from the index's.
      this.running = this.loadedRunning();
      this.feed?.clear();
      throw error;
    }
    return count;
  }

  /** Posts up to `limit` transfers after `after` and up to `upTo`, read in one statement; returns how many and the last one's timestamp. */
  private indexBatch(after: bigint, upTo: bigint, limit: number, marks: { no: number; timestamp: bigint }[]): { count: number; last: bigint } {
    const row = this.statements.transfersPacked.get(after, upTo, limit) as Row;
    const count = Number(row.n);
    if (count === 0) return { count, last: after };
    const packed = row.packed as Buffer;
    assert.equal(packed.length, count * PACKED_BYTES, 'each transfer packs into six 8-byte fields');
    const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
    return { count, last: this.postPacked(view, 0, count, after, marks) };
  }

  /** Posts `count` packed transfers from byte `offset` of `view`, each after `after`; returns the last one's timestamp. */
  private postPacked(view: DataView, offset: number, count: number, after: bigint, marks: { no: number; timestamp: bigint }[]): bigint {
    let last = after;
    const end = offset + count * PACKED_BYTES;
    for (let o = offset; o < end; o += PACKED_BYTES) {
      const timestamp = view.getBigInt64(o);
      assert.ok(timestamp > last, 'transfers are indexed in timestamp order');
      // Account numbers and flags are small: their low halves, read without making a BigInt.
      assert.ok(view.getUint32(o + 8) === 0 && view.getUint32(o + 16) === 0 && view.getUint32(o + 40) === 0, 'account numbers and flags fit 32 bits');
      this.transfer.amount = view.getBigInt64(o + 24);
      this.transfer.pending_amount = view.getBigInt64(o + 32);
      this.transfer.flags = view.getUint32(o + 44);
      this.post(timestamp, view.getUint32(o + 12), view.getUint32(o + 20), marks);
      last = timestamp;
    }
    return last;
  }

  /** Applies this.transfer to the running state and appends its posting. */
  private post(timestamp: bigint, debit_no: number, credit_no: number, marks: { no: number; timestamp: bigint }[]): void {
    const debit = this.debit;
    const credit = this.credit;
    this.running.get(debit_no, debit);
    this.running.get(credit_no, credit);
    const debit_prev = debit.last_timestamp;
    const credit_prev = credit.last_timestamp;
    assert.ok(debit_no !== credit_no && debit_prev < timestamp && credit_prev < timestamp, 'postings are appended in timestamp order, between two accounts');
    applyTransfer(this.transfer as unknown as Transfer, debit, credit);
    debit.last_timestamp = timestamp;
    credit.last_timestamp = timestamp;
    debit.postings += 1;
    credit.postings += 1;
    this.running.set(debit_no, debit);
    this.running.set(credit_no, credit);
    this.postings.add(
      timestamp, debit_no, credit_no, debit_prev, credit_prev,
      debit.debits_pending, debit.debits_posted, debit.credits_pending, debit.credits_posted,
      credit.debits_pending, credit.debits_posted, credit.credits_pending, credit.credits_posted,
    );
    if (debit.postings % MARK_EVERY === 0) marks.push({ no: debit_no, timestamp });
    if (credit.postings % MARK_EVERY === 0) marks.push({ no: credit_no, timestamp });
  }
}

/** One account's posting: the transfer's timestamp, the account's balances after it, and its previous posting (0 if none). */
export interface Posting {
  timestamp: bigint;
  after: Balances;
  prev: bigint;
}

/** Reads accounts' histories from the index: chains of postings followed back from a mark or an account's latest. */
export class HistoryReader {
  private readonly statements;

  constructor(history: Database.Database) {
    this.statements = {
      posting: history.prepare('SELECT * FROM postings WHERE timestamp = ?'),
      head: history.prepare('SELECT * FROM balances WHERE account_no = ?'),
      markFrom: history.prepare('SELECT timestamp FROM marks WHERE account_no = ? AND timestamp >= ? ORDER BY timestamp LIMIT 1').pluck(),
      postingCount: history.prepare('SELECT count(*) FROM postings WHERE timestamp <= ?').pluck(),
      marked: history.prepare('SELECT 1 FROM marks WHERE account_no = ? AND timestamp = ?').pluck(),
      markCount: history.prepare('SELECT count(*) FROM marks WHERE timestamp <= ?').pluck(),
      // The watermark read by the same statement, so at the same moment as the rows.
      heads: history.prepare("SELECT (SELECT value FROM meta WHERE key = 'watermark') AS watermark, * FROM balances ORDER BY account_no"),
    };
  }

  /** The account's posting at `timestamp`; undefined when there is none or it is another account's. */
  posting(no: number, timestamp: bigint): Posting | undefined {
    const row = this.statements.posting.get(timestamp) as Row | undefined;
    if (!row) return undefined;
    const side = Number(row.debit_no) === no ? 'debit' : Number(row.credit_no) === no ? 'credit' : undefined;
    if (!side) return undefined;
    return {
      timestamp,
      after: {
        debits_pending: row[`${side}_debits_pending`] as bigint, debits_posted: row[`${side}_debits_posted`] as bigint,
        credits_pending: row[`${side}_credits_pending`] as bigint, credits_posted: row[`${side}_credits_posted`] as bigint,
      },
      prev: row[`${side}_prev`] as bigint,
    };
  }

  /**
   * The account's latest posting before `before`, or undefined. Starts from its latest posting, or
   * from its first mark at or after `before`, and follows the links back: fewer than MARK_EVERY.
   * Rows are only ever appended while the store is open, so no read transaction is needed.
   */
  latestBefore(no: number, before: bigint): Posting | undefined {
    const head = this.statements.head.get(no) as Row | undefined;
    if (!head) return undefined;
    const last = head.last_timestamp as bigint;
    const start = last < before ? last : (this.statements.markFrom.get(no, before) as bigint | undefined) ?? last;
    let posting = this.linked(no, start);
    while (posting.timestamp >= before) {
      if (posting.prev === 0n) return undefined;
      posting = this.linked(no, posting.prev, posting);
    }
    return posting;
  }

  /** Up to `limit` of the account's postings before `before`, newest first, and whether older ones remain. */
  page(no: number, before: bigint, limit: number): { postings: Posting[]; more: boolean } {
    const postings: Posting[] = [];
    let posting = this.latestBefore(no, before);
    while (posting && postings.length < limit) {
      postings.push(posting);
      posting = posting.prev === 0n || postings.length === limit ? undefined : this.linked(no, posting.prev, posting);
    }
    const oldest = postings.at(-1);
    return { postings, more: oldest !== undefined && oldest.prev !== 0n };
  }

  /** A posting the index says exists (a link, a mark, an account's latest): a missing one is a broken index. */
  private linked(no: number, timestamp: bigint, from?: Posting): Posting {
    // Links point strictly back in time, so following them always ends.
    assert.ok(from === undefined || timestamp < from.timestamp, `the history index links account ${no} back to ${timestamp}, not before ${from?.timestamp}`);
    const posting = this.posting(no, timestamp);
    assert.ok(posting, `the history index has no posting of account ${no} at ${timestamp}`);
    return posting;
  }

  /** How many postings up to `up_to`. */
  postingCount(up_to: bigint): number {
    return Number(this.statements.postingCount.get(up_to));
  }

  marked(no: number, timestamp: bigint): boolean {
    return this.statements.marked.get(no, timestamp) !== undefined;
  }

  /** How many marks up to `up_to`. */
  markCount(up_to: bigint): number {
    return Number(this.statements.markCount.get(up_to));
  }

  /** Every account's state in account order, each with the watermark it is as of (a live index moves on while they are read). */
  *heads(): Iterable<{ watermark: bigint; no: number } & RunningAccount> {
    for (const row of this.statements.heads.iterate() as Iterable<Row>) {
      yield {
        watermark: BigInt(row.watermark as string), no: Number(row.account_no),
        ...balancesFromRow(row), last_timestamp: row.last_timestamp as bigint, postings: Number(row.postings),
      };
    }
  }
}
