// The store keeps the journal durable. SQLite is the embedded default; PostgreSQL follows the
// same interface. The ledger state machine lives in memory; the store loads it on start and
// commits each batch's records before any result is acknowledged.
import type { Asset } from '../ledger/assets.js';
import type { JournalEntry } from '../ledger/journal.js';
import type { JournalRecord, Ledger, Lookups } from '../ledger/ledger.js';
import type { Account, Balances, Transfer } from '../ledger/types.js';
import type { VerifyReport } from '../ledger/verify.js';

/**
 * Product state beside the ledger (parties, PIN hashes, limits used, outbox messages, vouchers...):
 * JSON documents keyed within a collection, written in the same transaction as the journal entry
 * they accompany, so a service's state and its transfers are durable together or not at all.
 * Documents are not part of the hash chain: balances are proven by the journal alone.
 */
export interface DocumentWrite {
  collection: string;
  key: string;
  /** One indexed secondary key (an msisdn, a state, a batch), meaning fixed per collection. */
  tag?: string | null;
  /** JSON text; null deletes the document. */
  value: string | null;
}

export interface StoredDocument {
  collection: string;
  key: string;
  tag: string | null;
  value: string;
  /** When it was last written, milliseconds since the epoch (UTC). */
  updated_at: number;
}

export interface DocumentQuery {
  /** Only documents with this tag. */
  tag?: string;
  /** Only keys starting with this. */
  prefix?: string;
  /** Only keys after this one (keyset paging in key order). */
  after?: string;
  /** At most this many; all when absent. */
  limit?: number;
}

export interface CommitRequest {
  records: readonly JournalRecord[];
  /** Product documents to upsert (or delete) in the same transaction, in order. */
  documents?: readonly DocumentWrite[];
  /** The batch's own transfers by id, pending id and reversed id; consulted by lookups until durable. */
  view?: Lookups & { ids(): Iterable<string> };
  /** The batch already added its transfers' ids to the store's id filter (Lookups.idFilter), as it applied them. */
  ids_filtered?: boolean;
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
  /**
   * Whether lookups() uses its `ids` (a remote store prefetches them in one round trip). When
   * false the writer passes none: gathering three ids per event cost the embedded store's
   * writer more than any lookup it made.
   */
  readonly prefetchesLookups: boolean;
  /** Lookups for the next batch; `ids` are every id the batch may ask about (prefetch for remote stores). */
  lookups(ids: readonly string[]): Promise<Lookups>;
  /** Durably appends one journal entry holding `records`. Resolves only once it is on disk. */
  commit(request: CommitRequest): Promise<JournalEntry | undefined>;
  getTransfer(id: string): Promise<Transfer | undefined>;
  /** Transfers of an account, newest first, each with the account's balances after it. */
  accountHistory(account: Account, options: { limit: number; before?: bigint }): Promise<HistoryPage>;
  /** The account's balances as they were at `timestamp` (nanoseconds since the epoch). */
  balanceAt(account: Account, timestamp: bigint): Promise<Balances>;
  /** Checks the journal (verifyJournal) as of one consistent moment, safe while the store is written. */
  verify(onProgress?: (entries: number, total: number) => void): VerifyReport | Promise<VerifyReport>;
  /** One committed document. */
  document(collection: string, key: string): Promise<StoredDocument | undefined>;
  /** Committed documents of a collection in key order; streams, so a whole collection can be loaded at start. */
  documents(collection: string, query?: DocumentQuery): AsyncIterable<StoredDocument>;
  /** The keys alone of a collection's committed documents, in key order: a whole collection's keys can be loaded at start. */
  documentKeys(collection: string): AsyncIterable<string>;
  close(): Promise<void>;
}
