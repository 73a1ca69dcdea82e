// The ledger state machine: pure, no I/O. It holds every account's balances and the live pending
// transfers in memory, applies batches of events with TigerBeetle's semantics, and hands back
// the records to persist. Committed transfers it does not hold are reached through Lookups,
// which the store fills before each batch.
import assert from 'node:assert/strict';
import type { AccountResult, TransferResult } from '../errors/registry.js';
import { AMOUNT_MAX } from './amount.js';
import type { Asset } from './assets.js';
import { ExpiryHeap } from './heap.js';
import {
  AccountFlag,
  TransferFlag,
  ID_PATTERN,
  CODE_MAX,
  USER_DATA_LENGTH_MAX,
  TIMEOUT_MAX_S,
  applyTransfer,
  type Account,
  type AccountInput,
  type Balances,
  type Transfer,
  type TransferInput,
} from './types.js';

/** What the ledger needs from committed history it does not keep in memory. */
export interface Lookups {
  transfer(id: string): Transfer | undefined;
  /** The post, void or expiry that resolved this pending transfer, if any. */
  resolution(pending_id: string): Transfer | undefined;
  /** The reversal of this transfer, if any. */
  reversal(original_id: string): Transfer | undefined;
  /**
   * A filter of every transfer id committed or applied so far, without false negatives, if the
   * store keeps one. A batch asks it before anything else (a new id then needs no other lookup)
   * and adds each transfer id it applies, so the filter covers applied batches before they are durable.
   */
  readonly idFilter?: IdSet;
}

/** A set that may answer "maybe" for an id it never took, but never "no" for one it did (a Bloom filter). */
export interface IdSet {
  mightContain(id: string): boolean;
  add(id: string): void;
}

export const NO_LOOKUPS: Lookups = {
  transfer: () => undefined,
  resolution: () => undefined,
  reversal: () => undefined,
};

export type JournalRecord = { kind: 'account'; account: Account } | { kind: 'transfer'; transfer: Transfer };

const NS_PER_S = 1_000_000_000n;
const EXPIRY_ID_PREFIX = '~expiry:';
const TWO_PHASE = TransferFlag.pending | TransferFlag.post_pending_transfer | TransferFlag.void_pending_transfer;
const CLIENT_TRANSFER_FLAGS_MASK = TransferFlag.linked | TWO_PHASE;
const ACCOUNT_FLAGS_MASK = AccountFlag.debits_must_not_exceed_credits | AccountFlag.credits_must_not_exceed_debits;

export function expiryId(pending_id: string): string {
  return EXPIRY_ID_PREFIX + pending_id;
}

export function expiresAt(transfer: Pick<Transfer, 'timestamp' | 'timeout'>): bigint {
  return transfer.timeout === 0 ? 0n : transfer.timestamp + BigInt(transfer.timeout) * NS_PER_S;
}

export interface LedgerOptions {
  assets: readonly Asset[];
  /** Wall clock in nanoseconds since the epoch; the ledger makes its timestamps strictly increasing. */
  clock?: () => bigint;
}

export function wallClockNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
}

/**
 * Every account's balances in one typed array, four int64 slots per account number (debits
 * pending, debits posted, credits pending, credits posted). As bigint fields of account objects,
 * each balance was a heap object of its own: a transfer between two of 100,000 wallets missed
 * the CPU cache on every one it read, and every update left an old account pointing at a young
 * bigint for the collector to track (a plain loop of such updates measured 0.43-0.66 µs, on this
 * table 0.07-0.15 µs). Values stay within AMOUNT_MAX (2^63 - 1): checked before every change,
 * asserted after.
 */
class BalanceTable {
  values = new BigInt64Array(4 * 1024);

  ensure(no: number): void {
    if ((no + 1) * 4 <= this.values.length) return;
    const grown = new BigInt64Array(Math.max((no + 1) * 4, this.values.length * 2));
    grown.set(this.values);
    this.values = grown;
  }
}

/** An account as the ledger holds it: identity fields of its own, balances in the ledger's table. */
class LedgerAccount implements Account {
  readonly #table: BalanceTable;

  constructor(
    table: BalanceTable,
    readonly id: string,
    readonly no: number,
    readonly asset: string,
    readonly code: number,
    readonly flags: number,
    readonly user_data: string | null,
    readonly timestamp: bigint,
  ) {
    this.#table = table;
  }

  get debits_pending(): bigint { return this.#table.values[this.no * 4]; }
  set debits_pending(value: bigint) { this.#table.values[this.no * 4] = value; }
  get debits_posted(): bigint { return this.#table.values[this.no * 4 + 1]; }
  set debits_posted(value: bigint) { this.#table.values[this.no * 4 + 1] = value; }
  get credits_pending(): bigint { return this.#table.values[this.no * 4 + 2]; }
  set credits_pending(value: bigint) { this.#table.values[this.no * 4 + 2] = value; }
  get credits_posted(): bigint { return this.#table.values[this.no * 4 + 3]; }
  set credits_posted(value: bigint) { this.#table.values[this.no * 4 + 3] = value; }

  /** A plain copy (the balances are not own properties, so a spread or deepEqual would miss them). */
  toJSON(): Account {
    return {
      id: this.id, no: this.no, asset: this.asset, code: this.code, flags: this.flags, user_data: this.user_data, timestamp: this.timestamp,
      debits_pending: this.debits_pending, debits_posted: this.debits_posted, credits_pending: this.credits_pending, credits_posted: this.credits_posted,
    };
  }
}

export class Ledger {
  readonly assets: ReadonlyMap<string, Asset>;
  /** Every account's balances (LedgerAccount reads them here); the Batch's undo log copies from it. */
  readonly balanceTable = new BalanceTable();
  readonly accounts = new Map<string, Account>();
  /**
   * The same accounts by id in a prototype-less object, for the transfer path's lookups
   * (AccountLookahead): V8 keeps a large one as a hash table with each key and value inline, one
   * cache miss a lookup where a Map's buckets and entries cost two (31-34 ns against 47-55 ns among
   * 100,000 accounts, measured alone). The Map stays the ledger's record, with its order.
   */
  readonly accountsById: Record<string, Account | undefined> = Object.create(null) as Record<string, Account | undefined>;
  readonly accountsByNo: Account[] = [];
  /** Pending transfers that are neither posted, voided nor expired. */
  readonly pending = new Map<string, Transfer>();
  private readonly expiries = new ExpiryHeap();
  private readonly clock: () => bigint;
  lastTimestamp = 0n;
  /** Accounts whose balances replay changed since the last checkpoint: the next checkpoint must save them. */
  readonly replayed = new Set<Account>();

  constructor(options: LedgerOptions) {
    this.assets = new Map(options.assets.map((asset) => [asset.code, asset]));
    this.clock = options.clock ?? wallClockNs;
  }

  /** The next unique timestamp: the wall clock, or one past the last if the clock stood still or went back. */
  nextTimestamp(now: bigint = this.clock()): bigint {
    this.lastTimestamp = now > this.lastTimestamp ? now : this.lastTimestamp + 1n;
    return this.lastTimestamp;
  }

  /** The clock's time now, without taking a timestamp: what product modules compare expiry times with. */
  now(): bigint {
    return this.clock();
  }

  /** The earliest time a live pending transfer expires, for the writer's timer. */
  nextExpiry(): bigint | undefined {
    for (;;) {
      const top = this.expiries.peek();
      if (top === undefined) return undefined;
      // An entry is stale if its pending transfer was resolved, or rolled back and its id reused.
      const pending = this.pending.get(top.pending_id);
      if (pending && expiresAt(pending) === top.expires_at) return top.expires_at;
      this.expiries.pop();
    }
  }

  /** Replays a committed record (on start-up, after the last checkpoint). */
  replay(record: JournalRecord): void {
    const timestamp = timestampOf(record);
    assert.ok(timestamp > this.lastTimestamp, 'journal records are in timestamp order');
    if (record.kind === 'account') {
      this.replayed.add(this.addAccount(record.account));
    } else {
      applyEffects(this, record.transfer, undefined);
      this.replayed.add(this.accountsByNo[record.transfer.debit_account_no]);
      this.replayed.add(this.accountsByNo[record.transfer.credit_account_no]);
    }
    this.lastTimestamp = timestamp;
  }

  /** Removes and returns the next live pending transfer whose expiry is at or before `now`. */
  popExpired(now: bigint): Transfer | undefined {
    const expires_at = this.nextExpiry();
    if (expires_at === undefined || expires_at > now) return undefined;
    return this.pending.get(this.expiries.pop()!.pending_id);
  }

  /** Takes in an account (its identity and balances); returns the ledger's own object for it. */
  addAccount(account: Account): Account {
    assert.equal(account.no, this.accountsByNo.length, 'account numbers are dense');
    assert.ok(account.debits_pending >= 0n && account.debits_posted >= 0n && account.credits_pending >= 0n && account.credits_posted >= 0n &&
      account.debits_pending <= AMOUNT_MAX && account.debits_posted <= AMOUNT_MAX && account.credits_pending <= AMOUNT_MAX && account.credits_posted <= AMOUNT_MAX,
      `balances of ${account.id} fit the ledger`);
    const own = new LedgerAccount(this.balanceTable, account.id, account.no, account.asset, account.code, account.flags, account.user_data, account.timestamp);
    this.balanceTable.ensure(account.no);
    own.debits_pending = account.debits_pending;
    own.debits_posted = account.debits_posted;
    own.credits_pending = account.credits_pending;
    own.credits_posted = account.credits_posted;
    this.accounts.set(own.id, own);
    this.accountsById[own.id] = own;
    this.accountsByNo.push(own);
    return own;
  }

  trackPending(transfer: Transfer): void {
    this.pending.set(transfer.id, transfer);
    if (transfer.timeout > 0) this.expiries.push({ expires_at: expiresAt(transfer), pending_id: transfer.id });
  }

  begin(lookups: Lookups): Batch {
    return new Batch(this, lookups);
  }

  /** Conservation per asset over every account, and each account's bounds. Throws on a broken invariant. */
  checkInvariants(): void {
    const totals = new Map<string, Balances>();
    for (const account of this.accountsByNo) {
      assertAccountBounds(account);
      const total = totals.get(account.asset) ?? { debits_pending: 0n, debits_posted: 0n, credits_pending: 0n, credits_posted: 0n };
      total.debits_pending += account.debits_pending;
      total.debits_posted += account.debits_posted;
      total.credits_pending += account.credits_pending;
      total.credits_posted += account.credits_posted;
      totals.set(account.asset, total);
    }
    for (const [asset, total] of totals) {
      assert.equal(total.debits_posted, total.credits_posted, `conservation of posted ${asset}`);
      assert.equal(total.debits_pending, total.credits_pending, `conservation of pending ${asset}`);
    }
  }
}

function timestampOf(record: JournalRecord): bigint {
  return record.kind === 'account' ? record.account.timestamp : record.transfer.timestamp;
}

export function assertAccountBounds(account: Account): void {
  // Runs twice per transfer: one comparison chain, no allocation; the message is built only on failure.
  const { debits_pending: dp, debits_posted: dpo, credits_pending: cp, credits_posted: cpo, flags } = account;
  if (dp >= 0n && cp >= 0n && dpo >= 0n && cpo >= 0n && dp <= AMOUNT_MAX && cp <= AMOUNT_MAX && dpo <= AMOUNT_MAX && cpo <= AMOUNT_MAX &&
    ((flags & AccountFlag.debits_must_not_exceed_credits) === 0 || dpo <= cpo - dp) &&
    ((flags & AccountFlag.credits_must_not_exceed_debits) === 0 || cpo <= dpo - cp)) return;
  const fail = (what: string): never => assert.fail(`${what} (${account.id})`);
  if (dp < 0n || cp < 0n) fail('pending never negative');
  if (dpo < 0n || cpo < 0n) fail('posted never negative');
  if (dp > AMOUNT_MAX || cp > AMOUNT_MAX) fail('pending within bounds');
  if (dpo > AMOUNT_MAX || cpo > AMOUNT_MAX) fail('posted within bounds');
  if (flags & AccountFlag.debits_must_not_exceed_credits) fail('debits must not exceed credits');
  fail('credits must not exceed debits');
}

/** Lookups of a batch's own transfers answered by a scan before it indexes them (Batch.findCreated). */
const SCANS_BEFORE_INDEX = 2;

/** Inputs whose accounts are looked up ahead of applying them (AccountLookahead). */
const LOOKAHEAD = 32;

/**
 * Finds the accounts of the next LOOKAHEAD transfers in one tight loop before any of them is
 * applied. Each lookup among 100,000 accounts misses the CPU cache several times; done one per
 * transfer, amid its checks, the misses came one after another (the hottest line of the ledger),
 * while lookups in a loop of their own are independent, so the processor overlaps their misses.
 * Accounts are not created or removed while a createTransfers call runs, so what is found stays valid.
 */
class AccountLookahead {
  readonly debit: (Account | undefined)[] = new Array(LOOKAHEAD).fill(undefined);
  readonly credit: (Account | undefined)[] = new Array(LOOKAHEAD).fill(undefined);
  private inputs: readonly TransferInput[] = [];
  private from = 0;
  private to = 0;

  start(inputs: readonly TransferInput[]): void {
    this.inputs = inputs;
    this.from = this.to = 0;
  }

  /** Where input `index`'s accounts are in `debit` and `credit`, looking up the next window first if needed. */
  slot(accounts: Readonly<Record<string, Account | undefined>>, index: number): number {
    // Events of a broken chain are skipped, so a window is refilled wherever the index lands.
    if (index < this.from || index >= this.to) this.resolve(accounts, index);
    return index - this.from;
  }

  private resolve(accounts: Readonly<Record<string, Account | undefined>>, from: number): void {
    const inputs = this.inputs;
    this.from = from;
    this.to = from + LOOKAHEAD;
    for (let i = 0; i < LOOKAHEAD; i++) {
      const input = inputs[from + i];
      const debit = input?.debit_account_id;
      const credit = input?.credit_account_id;
      this.debit[i] = typeof debit === 'string' ? accounts[debit] : undefined;
      this.credit[i] = typeof credit === 'string' ? accounts[credit] : undefined;
    }
  }
}

/** What a linked chain must undo if it fails, besides balances (BalanceLog) and the batch's maps (its records). */
type Undo = (() => void)[] | undefined;

/**
 * Balances as they were before each change in a linked chain, to restore if the chain fails.
 * Copied table to table: a closure capturing eight bigints per linked transfer was half of
 * what the ledger allocated.
 */
class BalanceLog {
  private nos = new Int32Array(64);
  private values = new BigInt64Array(256);
  length = 0;

  save(table: BalanceTable, no: number): void {
    if (this.length === this.nos.length) this.grow();
    const from = table.values;
    const to = this.values;
    const o = no * 4;
    const p = this.length * 4;
    to[p] = from[o];
    to[p + 1] = from[o + 1];
    to[p + 2] = from[o + 2];
    to[p + 3] = from[o + 3];
    this.nos[this.length++] = no;
  }

  /** Puts back every saved balance, latest first (so each account ends as before its first change), and empties the log. */
  restore(table: BalanceTable): void {
    const to = table.values;
    const from = this.values;
    for (let i = this.length - 1; i >= 0; i--) {
      const o = this.nos[i] * 4;
      const p = i * 4;
      to[o] = from[p];
      to[o + 1] = from[p + 1];
      to[o + 2] = from[p + 2];
      to[o + 3] = from[p + 3];
    }
    this.length = 0;
  }

  private grow(): void {
    const nos = new Int32Array(this.nos.length * 2);
    nos.set(this.nos);
    this.nos = nos;
    const values = new BigInt64Array(this.values.length * 2);
    values.set(this.values);
    this.values = values;
  }
}

/** Applies a committed transfer's balance effects and pending bookkeeping. Shared by new transfers and replay. */
function applyEffects(ledger: Ledger, transfer: Transfer, undo: Undo, log?: BalanceLog): void {
  const debit = ledger.accountsByNo[transfer.debit_account_no];
  const credit = ledger.accountsByNo[transfer.credit_account_no];
  assert.ok(debit !== undefined && credit !== undefined, 'transfer accounts exist');
  if (undo) {
    log!.save(ledger.balanceTable, debit.no);
    log!.save(ledger.balanceTable, credit.no);
  }
  if (transfer.pending_id !== null) {
    const pending = ledger.pending.get(transfer.pending_id);
    ledger.pending.delete(transfer.pending_id);
    if (pending && undo) undo.push(() => ledger.pending.set(pending.id, pending));
  }
  applyTransfer(transfer, debit as Mutable<Account>, credit as Mutable<Account>);
  if (transfer.flags & TransferFlag.pending) {
    ledger.trackPending(transfer);
    undo?.push(() => ledger.pending.delete(transfer.id));
  }
  // A broken bound here is a bug in the checks before it, not a refusal: stop the writer.
  assertAccountBounds(debit);
  assertAccountBounds(credit);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function snapshot(balances: Balances): Balances {
  return {
    debits_pending: balances.debits_pending,
    debits_posted: balances.debits_posted,
    credits_pending: balances.credits_pending,
    credits_posted: balances.credits_posted,
  };
}

/**
 * One commit's worth of events. Results are final only once the store has committed
 * `records`; if it cannot, the writer stops (the in-memory state is ahead of the disk).
 */
export class Batch {
  readonly records: JournalRecord[] = [];
  /**
   * Numbers of the accounts whose balances this batch changed, once per change (so repeats): a
   * Set of accounts cost two hashed inserts per transfer, and the writer counts changes anyway.
   */
  readonly touched: number[] = [];
  /**
   * The batch's new transfers by id, built from `records` only once lookups pass
   * SCANS_BEFORE_INDEX (findCreated), then kept: with the store's id filter nearly every id is
   * new and nobody asks, and a Map insert per transfer was a fifth of the ledger's transfer path.
   */
  private createdIndex: Map<string, Transfer> | undefined;
  private readonly resolutions = new Map<string, Transfer>();
  private readonly reversals = new Map<string, Transfer>();
  private undo: Undo = undefined;
  private readonly ahead = new AccountLookahead();
  private readonly balanceLog = new BalanceLog();
  /** The clock, read once: a batch's timestamps are this or one past the last (as TigerBeetle's prepare timestamp). */
  private readonly now: bigint;

  constructor(
    private readonly ledger: Ledger,
    private readonly lookups: Lookups,
  ) {
    this.now = ledger.now();
  }

  /** Lookups of the batch's own transfers answered so far by scanning its records (findCreated). */
  private createdScans = 0;

  /**
   * A transfer this batch created, by id. The first lookups scan the records: the store's filter
   * sends few here (at most about one new id in 3,000 is a false positive), and indexing a batch
   * of 8,000 costs about a millisecond. After SCANS_BEFORE_INDEX the batch builds the index once
   * and keeps it, so a filter that says "maybe" often, or a batch of retries, costs no more than that.
   */
  private findCreated(id: string): Transfer | undefined {
    if (this.createdIndex === undefined && this.createdScans < SCANS_BEFORE_INDEX) {
      this.createdScans += 1;
      const records = this.records;
      for (let i = records.length - 1; i >= 0; i--) {
        const record = records[i];
        if (record.kind === 'transfer' && record.transfer.id === id) return record.transfer;
      }
      return undefined;
    }
    if (this.createdIndex === undefined) {
      const index = new Map<string, Transfer>();
      for (const record of this.records) if (record.kind === 'transfer') index.set(record.transfer.id, record.transfer);
      this.createdIndex = index;
    }
    return this.createdIndex.get(id);
  }

  /** Releases every pending transfer whose timeout has passed, as expiry records. */
  expire(): number {
    const ledger = this.ledger;
    const now = ledger.nextTimestamp(this.now);
    let count = 0;
    for (let pending = ledger.popExpired(now); pending !== undefined; pending = ledger.popExpired(now)) {
      this.commitTransfer({
        ...pending,
        id: expiryId(pending.id),
        timestamp: ledger.nextTimestamp(this.now),
        pending_id: pending.id,
        pending_amount: pending.amount,
        flags: TransferFlag.expiry,
        timeout: 0,
        reversal_of: null,
      });
      count += 1;
    }
    return count;
  }

  createAccounts(inputs: readonly AccountInput[]): AccountResult[] {
    return this.chained(inputs, (input) => this.createAccount(input));
  }

  createTransfers(inputs: readonly TransferInput[]): TransferResult[] {
    const ahead = this.ahead;
    ahead.start(inputs);
    return this.chained(inputs, (input, index) => {
      const slot = ahead.slot(this.ledger.accountsById, index);
      return this.createTransfer(input, ahead.debit[slot], ahead.credit[slot]);
    });
  }

  /** Runs events in linked chains: a chain's effects are kept only if every event in it succeeds. */
  private chained<I extends { flags?: number }, R extends string>(inputs: readonly I[], apply: (input: I, index: number) => R): R[] {
    const results: R[] = new Array(inputs.length);
    let chainStart = -1;
    let chainBroken = false;
    let recordsMark = 0;
    for (let index = 0; index < inputs.length; index++) {
      const linked = ((inputs[index].flags ?? 0) & TransferFlag.linked) !== 0;
      if (linked && chainStart < 0) {
        chainStart = index;
        chainBroken = false;
        recordsMark = this.records.length;
        this.undo = [];
        this.balanceLog.length = 0;
      }
      let result: R;
      if (chainBroken) result = 'linked_event_failed' as R;
      else if (linked && index === inputs.length - 1) result = 'linked_event_chain_open' as R;
      else result = apply(inputs[index], index);
      results[index] = result;
      if (result !== 'ok' && result !== 'exists' && chainStart >= 0 && !chainBroken) {
        chainBroken = true;
        this.rollback(recordsMark);
        for (let failed = chainStart; failed < index; failed++) results[failed] = 'linked_event_failed' as R;
      }
      if (chainStart >= 0 && (!linked || result === 'linked_event_chain_open')) {
        chainStart = -1;
        chainBroken = false;
        this.undo = undefined;
        this.balanceLog.length = 0;
      }
    }
    // A broken chain whose last event is linked never closes above: nothing after it is in a chain.
    this.undo = undefined;
    this.balanceLog.length = 0;
    return results;
  }

  private rollback(recordsMark: number): void {
    this.balanceLog.restore(this.ledger.balanceTable);
    const undo = this.undo!;
    for (let index = undo.length - 1; index >= 0; index--) undo[index]();
    this.undo = [];
    // The chain's transfers leave the batch's maps: each was new (a repeat answers exists, unrecorded).
    for (let index = recordsMark; index < this.records.length; index++) {
      const record = this.records[index];
      if (record.kind !== 'transfer') continue;
      const t = record.transfer;
      this.createdIndex?.delete(t.id);
      if (t.pending_id !== null) this.resolutions.delete(t.pending_id);
      if (t.reversal_of !== null) this.reversals.delete(t.reversal_of);
    }
    this.records.length = recordsMark;
  }

  private createAccount(input: AccountInput): AccountResult {
    const flags = (input.flags ?? 0) & ~AccountFlag.linked;
    const user_data = input.user_data ?? null;
    if (!ID_PATTERN.test(input.id)) return 'id_invalid';
    if ((flags & ~ACCOUNT_FLAGS_MASK) !== 0) return 'reserved_flag';
    if ((flags & AccountFlag.debits_must_not_exceed_credits) && (flags & AccountFlag.credits_must_not_exceed_debits)) {
      return 'flags_are_mutually_exclusive';
    }
    if (!validCode(input.code)) return 'code_invalid';
    if (user_data !== null && user_data.length > USER_DATA_LENGTH_MAX) return 'user_data_too_long';
    if (user_data !== null && !wellFormed(user_data)) return 'user_data_invalid';
    if (!this.ledger.assets.has(input.asset)) return 'asset_not_found';
    const existing = this.ledger.accounts.get(input.id);
    if (existing) {
      if (existing.flags !== flags) return 'exists_with_different_flags';
      if (existing.asset !== input.asset) return 'exists_with_different_asset';
      if (existing.code !== input.code) return 'exists_with_different_code';
      if (existing.user_data !== user_data) return 'exists_with_different_user_data';
      return 'exists';
    }
    const account = this.ledger.addAccount({
      id: input.id,
      no: this.ledger.accountsByNo.length,
      asset: input.asset,
      code: input.code,
      flags,
      user_data,
      timestamp: this.ledger.nextTimestamp(this.now),
      debits_pending: 0n,
      debits_posted: 0n,
      credits_pending: 0n,
      credits_posted: 0n,
    });
    this.undo?.push(() => {
      this.ledger.accounts.delete(account.id);
      delete this.ledger.accountsById[account.id];
      this.ledger.accountsByNo.pop();
    });
    this.records.push({ kind: 'account', account });
    return 'ok';
  }

  /** A transfer this batch committed (not one it found existing). */
  committed(id: string): Transfer | undefined {
    return this.findCreated(id);
  }

  /** What this batch committed, as Lookups: later batches consult it until it is durable. */
  view(): Lookups & { ids(): Iterable<string> } {
    return {
      transfer: (id) => this.findCreated(id),
      resolution: (pending_id) => this.resolutions.get(pending_id),
      reversal: (original_id) => this.reversals.get(original_id),
      ids: () => this.transferIds(),
    };
  }

  private *transferIds(): Iterable<string> {
    for (const record of this.records) if (record.kind === 'transfer') yield record.transfer.id;
  }

  /** A transfer committed in this batch or before it, as this batch sees it. */
  find(id: string): Transfer | undefined {
    return this.findTransfer(id);
  }

  /** The transfer that reversed `original_id`, in this batch or before it. */
  reversalOf(original_id: string): Transfer | undefined {
    return this.reversals.get(original_id) ?? this.lookups.reversal(original_id);
  }

  private findTransfer(id: string): Transfer | undefined {
    // Nearly every id is new: the filter says so from one cache line, before any map is hashed.
    const filter = this.lookups.idFilter;
    if (filter !== undefined && !filter.mightContain(id)) return undefined;
    // A live pending transfer is in memory: posting or voiding it needs no read of the store.
    return this.findCreated(id) ?? this.ledger.pending.get(id) ?? this.lookups.transfer(id);
  }

  /** Whether this batch added its transfers' ids to the store's filter (Lookups.idFilter) as it applied them. */
  get filtersIds(): boolean {
    return this.lookups.idFilter !== undefined;
  }

  /** `debitHint` and `creditHint`: the accounts of the input's ids if found ahead (AccountLookahead), else undefined. */
  private createTransfer(input: TransferInput, debitHint: Account | undefined, creditHint: Account | undefined): TransferResult {
    const flags = input.flags ?? 0;
    if (!ID_PATTERN.test(input.id)) return 'id_invalid';
    if ((flags & ~CLIENT_TRANSFER_FLAGS_MASK) !== 0) return 'reserved_flag';
    if (popcount(flags & TWO_PHASE) > 1) return 'flags_are_mutually_exclusive';
    if (flags & (TransferFlag.post_pending_transfer | TransferFlag.void_pending_transfer)) return this.postOrVoid(input, flags);
    if (!input.debit_account_id) return 'debit_account_id_required';
    if (!input.credit_account_id) return 'credit_account_id_required';
    if (input.debit_account_id === input.credit_account_id) return 'accounts_must_be_different';
    if (input.pending_id) return 'pending_id_must_be_empty';
    const timeout = input.timeout ?? 0;
    if (!(flags & TransferFlag.pending) && timeout !== 0) return 'timeout_reserved_for_pending_transfer';
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > TIMEOUT_MAX_S) return 'timeout_invalid';
    const amount = input.amount;
    if (amount === undefined || amount === null) return 'amount_required';
    if (amount <= 0n) return 'amount_must_not_be_zero';
    if (amount > AMOUNT_MAX) return 'amount_exceeds_maximum';
    if (!input.asset) return 'asset_required';
    if (!validCode(input.code)) return 'code_invalid';
    const user_data = input.user_data ?? null;
    if (user_data !== null && user_data.length > USER_DATA_LENGTH_MAX) return 'user_data_too_long';
    if (user_data !== null && !wellFormed(user_data)) return 'user_data_invalid';
    const reversal_of = input.reversal_of ?? null;
    if (reversal_of !== null && (flags & TransferFlag.pending)) return 'reversal_not_allowed_on_two_phase';
    const debit = debitHint ?? this.ledger.accounts.get(input.debit_account_id);
    if (!debit) return 'debit_account_not_found';
    const credit = creditHint ?? this.ledger.accounts.get(input.credit_account_id);
    if (!credit) return 'credit_account_not_found';
    if (debit.asset !== credit.asset) return 'accounts_must_have_the_same_asset';
    if (input.asset !== debit.asset) return 'transfer_must_have_the_same_asset_as_accounts';
    // Built once, literally: object spreads cost more than the rest of the checks on this path.
    const transfer: Transfer = {
      id: input.id, timestamp: 0n, debit_account_id: debit.id, credit_account_id: credit.id,
      debit_account_no: debit.no, credit_account_no: credit.no, amount, pending_id: null, pending_amount: 0n,
      asset: debit.asset, code: input.code!, flags, timeout, user_data, reversal_of,
    };
    const existing = this.findTransfer(input.id);
    if (existing) return compareExisting(transfer, existing);
    if (reversal_of !== null) {
      const refusal = this.checkReversal(reversal_of, debit, credit, amount);
      if (refusal) return refusal;
    }
    const refusal = checkLimits(debit, credit, amount, (flags & TransferFlag.pending) !== 0);
    if (refusal) return refusal;
    (transfer as Mutable<Transfer>).timestamp = this.ledger.nextTimestamp(this.now);
    this.commitTransfer(transfer);
    return 'ok';
  }

  private checkReversal(original_id: string, debit: Account, credit: Account, amount: bigint): TransferResult | undefined {
    const original = this.findTransfer(original_id);
    if (!original) return 'reversal_original_not_found';
    if (original.flags & (TransferFlag.pending | TransferFlag.void_pending_transfer | TransferFlag.expiry)) return 'reversal_original_not_posted';
    if (original.debit_account_id !== credit.id || original.credit_account_id !== debit.id) return 'reversal_must_swap_accounts';
    if (amount > original.amount) return 'reversal_exceeds_original_amount';
    if (this.reversalOf(original_id)) return 'reversal_already_reversed';
    return undefined;
  }

  private postOrVoid(input: TransferInput, flags: number): TransferResult {
    const isPost = (flags & TransferFlag.post_pending_transfer) !== 0;
    const pending_id = input.pending_id;
    if (!pending_id) return 'pending_id_required';
    if (pending_id === input.id) return 'pending_id_must_be_different';
    if ((input.timeout ?? 0) !== 0) return 'timeout_reserved_for_pending_transfer';
    if (input.amount !== undefined && input.amount !== null) {
      if (input.amount <= 0n) return 'amount_must_not_be_zero';
      if (input.amount > AMOUNT_MAX) return 'amount_exceeds_maximum';
    }
    if (input.code !== undefined && input.code !== null && !validCode(input.code)) return 'code_invalid';
    const user_data_input = input.user_data ?? null;
    if (user_data_input !== null && user_data_input.length > USER_DATA_LENGTH_MAX) return 'user_data_too_long';
    if (user_data_input !== null && !wellFormed(user_data_input)) return 'user_data_invalid';
    if (input.reversal_of) return 'reversal_not_allowed_on_two_phase';
    const pending = this.findTransfer(pending_id);
    if (!pending) return 'pending_transfer_not_found';
    if (!(pending.flags & TransferFlag.pending)) return 'pending_transfer_not_pending';
    if (input.debit_account_id && input.debit_account_id !== pending.debit_account_id) return 'pending_transfer_has_different_debit_account_id';
    if (input.credit_account_id && input.credit_account_id !== pending.credit_account_id) return 'pending_transfer_has_different_credit_account_id';
    if (input.asset && input.asset !== pending.asset) return 'pending_transfer_has_different_asset';
    if (input.code && input.code !== pending.code) return 'pending_transfer_has_different_code';
    const amount = input.amount ?? pending.amount;
    if (isPost && amount > pending.amount) return 'exceeds_pending_transfer_amount';
    if (!isPost && amount !== pending.amount) return 'pending_transfer_has_different_amount';
    const user_data = user_data_input ?? pending.user_data;
    const transfer: Transfer = {
      id: input.id, timestamp: 0n, debit_account_id: pending.debit_account_id, credit_account_id: pending.credit_account_id,
      debit_account_no: pending.debit_account_no, credit_account_no: pending.credit_account_no, amount, pending_id,
      pending_amount: pending.amount, asset: pending.asset, code: pending.code, flags, timeout: 0, user_data, reversal_of: null,
    };
    const existing = this.findTransfer(input.id);
    if (existing) return compareExisting(transfer, existing);
    const resolution = this.resolutions.get(pending_id) ?? (this.ledger.pending.has(pending_id) ? undefined : this.lookups.resolution(pending_id));
    if (resolution) {
      if (resolution.flags & TransferFlag.post_pending_transfer) return 'pending_transfer_already_posted';
      if (resolution.flags & TransferFlag.void_pending_transfer) return 'pending_transfer_already_voided';
      return 'pending_transfer_expired';
    }
    assert.ok(this.ledger.pending.has(pending_id), `unresolved pending transfer ${pending_id} is live`);
    const timestamp = this.ledger.nextTimestamp(this.now);
    if (pending.timeout > 0 && expiresAt(pending) <= timestamp) return 'pending_transfer_expired';
    (transfer as Mutable<Transfer>).timestamp = timestamp;
    this.commitTransfer(transfer);
    return 'ok';
  }

  private commitTransfer(transfer: Transfer): void {
    const ledger = this.ledger;
    applyEffects(ledger, transfer, this.undo, this.balanceLog);
    this.touched.push(transfer.debit_account_no, transfer.credit_account_no);
    this.createdIndex?.set(transfer.id, transfer);
    // Kept even if a linked chain rolls it back, or the commit fails: a filter may say "maybe" wrongly.
    this.lookups.idFilter?.add(transfer.id);
    if (transfer.pending_id !== null) this.resolutions.set(transfer.pending_id, transfer);
    if (transfer.reversal_of !== null) this.reversals.set(transfer.reversal_of, transfer);
    this.records.push({ kind: 'transfer', transfer });
  }
}

function validCode(code: number | null | undefined): boolean {
  return typeof code === 'number' && Number.isInteger(code) && code >= 1 && code <= CODE_MAX;
}

/** Text that UTF-8 can carry unchanged (no lone surrogates), so the journal's bytes are faithful. */
function wellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

function popcount(value: number): number {
  let count = 0;
  for (let bits = value; bits !== 0; bits &= bits - 1) count += 1;
  return count;
}

interface Comparable {
  flags: number;
  pending_id: string | null;
  timeout: number;
  debit_account_id: string;
  credit_account_id: string;
  amount: bigint;
  asset: string;
  code: number;
  user_data: string | null;
  reversal_of: string | null;
}

/** A retry answers `exists` only when every field matches; otherwise it names the first that differs. */
function compareExisting(candidate: Comparable, existing: Transfer): TransferResult {
  if (candidate.flags !== existing.flags) return 'exists_with_different_flags';
  if (candidate.pending_id !== existing.pending_id) return 'exists_with_different_pending_id';
  if (candidate.timeout !== existing.timeout) return 'exists_with_different_timeout';
  if (candidate.debit_account_id !== existing.debit_account_id) return 'exists_with_different_debit_account_id';
  if (candidate.credit_account_id !== existing.credit_account_id) return 'exists_with_different_credit_account_id';
  if (candidate.amount !== existing.amount) return 'exists_with_different_amount';
  if (candidate.asset !== existing.asset) return 'exists_with_different_asset';
  if (candidate.code !== existing.code) return 'exists_with_different_code';
  if (candidate.user_data !== existing.user_data) return 'exists_with_different_user_data';
  if (candidate.reversal_of !== existing.reversal_of) return 'exists_with_different_reversal_of';
  return 'exists';
}

function checkLimits(debit: Account, credit: Account, amount: bigint, pending: boolean): TransferResult | undefined {
  // Compared against the room left under AMOUNT_MAX rather than summed past it: each bigint sum
  // allocates, and this runs for every transfer.
  const room = AMOUNT_MAX - amount;
  if (pending) {
    if (debit.debits_pending > room) return 'overflows_debits_pending';
    if (credit.credits_pending > room) return 'overflows_credits_pending';
  } else {
    if (debit.debits_posted > room) return 'overflows_debits_posted';
    if (credit.credits_posted > room) return 'overflows_credits_posted';
  }
  const debits = debit.debits_pending + debit.debits_posted;
  if (debits > room) return 'overflows_debits';
  const credits = credit.credits_pending + credit.credits_posted;
  if (credits > room) return 'overflows_credits';
  if ((debit.flags & AccountFlag.debits_must_not_exceed_credits) && debits > debit.credits_posted - amount) return 'exceeds_credits';
  if ((credit.flags & AccountFlag.credits_must_not_exceed_debits) && credits > credit.debits_posted - amount) return 'exceeds_debits';
  return undefined;
}
