// The store keeps the journal durable. SQLite is the embedded default; PostgreSQL follows the
// same interface. The ledger state machine lives in memory; the store loads it on start and
// commits each batch's records before any result is acknowledged.
import type { Asset } from '../ledger/assets.js';
import type { JournalEntry } from '../ledger/journal.js';
import type { JournalRecord, Ledger, Lookups } from '../ledger/ledger.js';
import type { Account, Balances, Transfer } from '../ledger/types.js';
import type { VerifySource } from '../ledger/verify.js';

export interface CommitRequest {
  records: readonly JournalRecord[];
  /** The batch's own transfers by id, pending id and reversed id; consulted by lookups until durable. */
  view?: Lookups & { ids(): Iterable<string> };
  /**
   * When set, also write the balances of `dirty` (every account changed since the last
   * checkpoint) as valid at this timestamp, so start-up replays only what follows it.
   */
  checkpoint?: { timestamp: bigint; dirty: Iterable<Account> };
}

export interface HistoryEntry {
  transfer: Transfer;
  /** The account's balances right after this transfer. */
  after: Balances;
}

export interface HistoryPage {
  entries: HistoryEntry[];
  /** Pass as `before` to get the next (older) page; absent on the last page. */
  next_before?: bigint;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Loads assets, accounts, live pending transfers and the chain head into `ledger`. */
  load(ledger: Ledger): Promise<void>;
  assets(): Asset[];
  /** Lookups for the next batch; `ids` are every id the batch may ask about (prefetch for remote stores). */
  lookups(ids: readonly string[]): Promise<Lookups>;
  /** Durably appends one journal entry holding `records`. Resolves only once it is on disk. */
  commit(request: CommitRequest): Promise<JournalEntry | undefined>;
  getTransfer(id: string): Promise<Transfer | undefined>;
  /** Transfers of an account, newest first, each with the account's balances after it. */
  accountHistory(account: Account, options: { limit: number; before?: bigint }): Promise<HistoryPage>;
  /** The account's balances as they were at `timestamp` (nanoseconds since the epoch). */
  balanceAt(account: Account, timestamp: bigint): Promise<Balances>;
  verifySource(): VerifySource;
  close(): Promise<void>;
}
