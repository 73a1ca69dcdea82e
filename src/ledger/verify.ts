// Verification from the journal alone: the hash chain, every balance recomputed from the
// records, the bounds and two-phase rules at every step, conservation per asset, and the stored
// balances (the checkpoint) against the recomputation.
// Stops at the first broken entry, record or account and names it.
import { AMOUNT_MAX } from './amount.js';
import { GENESIS_HASH, hashEntry, recordTimestamp, type JournalEntry } from './journal.js';
import type { JournalRecord } from './ledger.js';
import { AccountFlag, TransferFlag, applyTransfer, zeroBalances, type Balances, type Transfer } from './types.js';

export interface VerifySource {
  entries(): Iterable<JournalEntry>;
  entryCount(): number;
  /** Records with first ≤ timestamp ≤ last, in timestamp order. */
  records(first: bigint, last: bigint): Iterable<JournalRecord>;
  /** A stored transfer by id (to check a reversal against the transfer it reverses). */
  transfer(id: string): Transfer | undefined;
  /** How many account and transfer records the store holds in all. */
  recordCount(): number;
  /** Balances the store holds for each account, valid as of `timestamp`. */
  checkpoint(): { timestamp: bigint; accounts: Iterable<{ id: string; no: number } & Balances> };
  /** The derived history index, if the store keeps one. */
  history?(): HistorySource;
}

/** A history index: what it holds for transfers up to its watermark. */
export interface HistorySource {
  watermark: bigint;
  /**
   * The balances it holds for an account right after a transfer; `prev`, from an index that links
   * each account's entries, is the timestamp of the account's entry before it (0 if none).
   */
  entry(account_no: number, timestamp: bigint): (Balances & { prev?: bigint }) | undefined;
  /** How many entries it holds up to `up_to` (a transfer is an entry of each of its two accounts). */
  entryCount(up_to: bigint): number;
  /** An index of linked entries also keeps each account's latest, and a mark at every `mark_every`-th entry of an account. */
  chain?: {
    mark_every: number;
    marked(account_no: number, timestamp: bigint): boolean;
    markCount(up_to: bigint): number;
    /**
     * Each account with entries: its balances, latest entry and count of entries, and the
     * watermark they are as of (an index written meanwhile may be past `watermark` by then).
     */
    heads(): Iterable<{ watermark: bigint; no: number; last_timestamp: bigint; postings: number } & Balances>;
  };
}

export type VerifyCheck = 'chain' | 'coverage' | 'record' | 'bounds' | 'checkpoint' | 'history' | 'conservation';

export interface VerifyFailure {
  check: VerifyCheck;
  message: string;
  entry_seq?: number;
  record_id?: string;
  account_id?: string;
}

export interface AssetTotals extends Balances {
  asset: string;
}

export interface VerifyReport {
  ok: boolean;
  entries: number;
  accounts: number;
  transfers: number;
  assets: AssetTotals[];
  failure?: VerifyFailure;
}

interface RecomputedAccount extends Balances {
  id: string;
  asset: string;
  flags: number;
  /** The account's latest transfer (0 if none) and how many it has had: what a history index links and marks. */
  last_timestamp: bigint;
  transfers: number;
}

class Failed extends Error {
  constructor(readonly failure: VerifyFailure) {
    super(failure.message);
  }
}

function fail(failure: VerifyFailure): never {
  throw new Failed(failure);
}

function sameBalances(a: Balances, b: Balances): boolean {
  return a.debits_pending === b.debits_pending && a.debits_posted === b.debits_posted &&
    a.credits_pending === b.credits_pending && a.credits_posted === b.credits_posted;
}

export function verifyJournal(source: VerifySource, onProgress?: (entries: number) => void): VerifyReport {
  const state = new Recomputation(source.history?.(), (id) => source.transfer(id));
  const checkpoint = source.checkpoint();
  let checkpointChecked = false;
  const historyWatermark = state.historyWatermark();
  let headsChecked = historyWatermark === undefined;
  let entries = 0;
  try {
    let prev_hash: Buffer = GENESIS_HASH;
    let last_timestamp = 0n;
    let records = 0;
    for (const entry of source.entries()) {
      const where = { entry_seq: entry.seq };
      if (entry.seq !== entries + 1) fail({ check: 'chain', ...where, message: `journal entry ${entries + 1} is missing (found ${entry.seq})` });
      if (!entry.prev_hash.equals(prev_hash)) fail({ check: 'chain', ...where, message: `entry ${entry.seq} does not commit to the previous entry's hash` });
      if (entry.first_timestamp <= last_timestamp) fail({ check: 'chain', ...where, message: `entry ${entry.seq} overlaps the previous entry` });
      const batch = [...source.records(entry.first_timestamp, entry.last_timestamp)];
      if (batch.length !== entry.count) fail({ check: 'coverage', ...where, message: `entry ${entry.seq} covers ${entry.count} records but ${batch.length} are stored in its range` });
      if (!hashEntry(prev_hash, batch).equals(entry.hash)) fail({ check: 'chain', ...where, message: `entry ${entry.seq}: its records do not hash to the stored hash (a record was altered)` });
      for (const record of batch) {
        if (!checkpointChecked && recordTimestamp(record) > checkpoint.timestamp) checkpointChecked = state.compareCheckpoint(checkpoint.accounts);
        if (!headsChecked && recordTimestamp(record) > historyWatermark!) headsChecked = state.compareHistoryHeads();
        state.apply(record, entry.seq);
      }
      prev_hash = entry.hash;
      last_timestamp = entry.last_timestamp;
      records += batch.length;
      entries += 1;
      if (onProgress && entries % 256 === 0) onProgress(entries);
    }
    if (!checkpointChecked) state.compareCheckpoint(checkpoint.accounts);
    // An index ahead of this snapshot of the journal (a live store) holds heads it cannot explain yet.
    if (!headsChecked && historyWatermark! <= last_timestamp) state.compareHistoryHeads();
    const stored = source.recordCount();
    if (stored !== records) fail({ check: 'coverage', message: `${stored - records} stored record(s) are outside every journal entry` });
    state.checkHistoryCount(last_timestamp);
    state.checkConservation();
  } catch (error) {
    if (!(error instanceof Failed)) throw error;
    return { ok: false, entries, ...state.summary(), failure: error.failure };
  }
  return { ok: true, entries, ...state.summary() };
}

class Recomputation {
  private readonly accounts: RecomputedAccount[] = [];
  private readonly ids = new Set<string>();
  private readonly pending = new Map<string, Transfer>();
  private readonly reversed = new Set<string>();
  private transfers = 0;
  private indexed = 0;
  private marks = 0;

  constructor(
    private readonly history: HistorySource | undefined,
    private readonly transferById: (id: string) => Transfer | undefined,
  ) {}

  summary(): { accounts: number; transfers: number; assets: AssetTotals[] } {
    return { accounts: this.accounts.length, transfers: this.transfers, assets: [...this.totals().values()] };
  }

  apply(record: JournalRecord, entry_seq: number): void {
    if (record.kind === 'account') {
      const account = record.account;
      if (account.no !== this.accounts.length) fail({ check: 'record', entry_seq, account_id: account.id, message: `account ${account.id} has number ${account.no}, expected ${this.accounts.length}` });
      if (this.ids.has(account.id)) fail({ check: 'record', entry_seq, account_id: account.id, message: `account ${account.id} is created twice` });
      this.ids.add(account.id);
      this.accounts.push({ id: account.id, asset: account.asset, flags: account.flags, ...zeroBalances(), last_timestamp: 0n, transfers: 0 });
      return;
    }
    this.applyTransfer(record.transfer, entry_seq);
  }

  private applyTransfer(t: Transfer, entry_seq: number): void {
    const where = { entry_seq, record_id: t.id };
    const debit = this.accounts[t.debit_account_no];
    const credit = this.accounts[t.credit_account_no];
    if (!debit || !credit || debit === credit) fail({ check: 'record', ...where, message: `transfer ${t.id} names missing or identical accounts` });
    if (debit.asset !== t.asset || credit.asset !== t.asset) fail({ check: 'record', ...where, message: `transfer ${t.id} moves ${t.asset} between accounts of another asset` });
    if (t.amount <= 0n || t.amount > AMOUNT_MAX) fail({ check: 'record', ...where, message: `transfer ${t.id} has amount ${t.amount} out of range` });
    if (t.flags & (TransferFlag.post_pending_transfer | TransferFlag.void_pending_transfer | TransferFlag.expiry)) {
      const pending = this.pending.get(t.pending_id ?? '');
      if (!pending) fail({ check: 'record', ...where, message: `transfer ${t.id} resolves ${t.pending_id}, which is not pending` });
      if (pending.amount !== t.pending_amount || pending.debit_account_no !== t.debit_account_no || pending.credit_account_no !== t.credit_account_no) {
        fail({ check: 'record', ...where, message: `transfer ${t.id} does not match the pending transfer ${pending.id} it resolves` });
      }
      const posted = (t.flags & TransferFlag.post_pending_transfer) !== 0;
      if (posted ? t.amount > pending.amount : t.amount !== pending.amount) fail({ check: 'record', ...where, message: `transfer ${t.id} resolves more than ${pending.id} reserved` });
      this.pending.delete(pending.id);
    }
    if (t.flags & TransferFlag.pending) this.pending.set(t.id, t);
    const debit_prev = debit.last_timestamp;
    const credit_prev = credit.last_timestamp;
    applyTransfer(t, debit, credit);
    debit.last_timestamp = t.timestamp;
    credit.last_timestamp = t.timestamp;
    debit.transfers += 1;
    credit.transfers += 1;
    if (t.reversal_of !== null) this.checkReversal(t, where);
    this.checkBounds(debit, where);
    this.checkBounds(credit, where);
    if (this.history && t.timestamp <= this.history.watermark) {
      this.checkHistory(t.debit_account_no, debit, debit_prev, t, where);
      this.checkHistory(t.credit_account_no, credit, credit_prev, t, where);
    }
    this.transfers += 1;
  }

  /** A reversal undoes at most once, at most the amount, of an earlier posted transfer, accounts swapped. */
  private checkReversal(t: Transfer, where: { entry_seq: number; record_id: string }): void {
    const original = this.transferById(t.reversal_of!);
    const reason =
      this.reversed.has(t.reversal_of!) ? `transfer ${t.reversal_of} is reversed twice`
      : !original || original.timestamp >= t.timestamp ? `${t.id} reverses ${t.reversal_of}, which is not an earlier transfer`
      : original.flags & (TransferFlag.pending | TransferFlag.void_pending_transfer | TransferFlag.expiry) ? `${t.id} reverses ${original.id}, which moved nothing`
      : original.debit_account_no !== t.credit_account_no || original.credit_account_no !== t.debit_account_no || original.asset !== t.asset
        ? `${t.id} does not swap the accounts of ${original.id}`
      : t.amount > original.amount ? `${t.id} reverses more than ${original.id} moved`
      : undefined;
    if (reason) fail({ check: 'record', ...where, message: reason });
    this.reversed.add(t.reversal_of!);
  }

  /** `prev`: the account's transfer before this one (0 if none), which the index's entry must link to. */
  private checkHistory(no: number, account: RecomputedAccount, prev: bigint, t: Transfer, where: { entry_seq: number; record_id: string }): void {
    const history = this.history!;
    const at = { check: 'history' as const, ...where, account_id: account.id };
    const stored = history.entry(no, t.timestamp);
    if (!stored) fail({ ...at, message: `the history index has no entry for ${account.id} at ${t.id}` });
    if (!sameBalances(stored, account)) fail({ ...at, message: `the history index's balances of ${account.id} after ${t.id} differ from the journal's` });
    if (stored.prev !== undefined && stored.prev !== prev) fail({ ...at, message: `the history index links ${account.id}'s entry at ${t.id} to ${stored.prev}, not to its previous transfer (${prev})` });
    if (history.chain && account.transfers % history.chain.mark_every === 0) {
      if (!history.chain.marked(no, t.timestamp)) fail({ ...at, message: `the history index has no mark at ${account.id}'s entry ${account.transfers} (${t.id})` });
      this.marks += 1;
    }
    this.indexed += 1;
  }

  historyWatermark(): bigint | undefined {
    return this.history?.watermark;
  }

  /** Entries (and marks) up to what both the journal and the index had (a live index may run ahead of this snapshot). */
  checkHistoryCount(last_timestamp: bigint): void {
    if (!this.history) return;
    const up_to = last_timestamp < this.history.watermark ? last_timestamp : this.history.watermark;
    const stored = this.history.entryCount(up_to);
    if (stored !== this.indexed) fail({ check: 'history', message: `the history index holds ${stored} entries where the journal explains ${this.indexed}` });
    const marks = this.history.chain?.markCount(up_to) ?? this.marks;
    if (marks !== this.marks) fail({ check: 'history', message: `the history index holds ${marks} marks where the journal explains ${this.marks}` });
  }

  /** At the index's watermark: each account's stored balances, latest entry and count of entries against the recomputation. */
  compareHistoryHeads(): true {
    const chain = this.history?.chain;
    if (!chain) return true;
    let count = 0;
    for (const head of chain.heads()) {
      // The live index moved on since verification began: these heads are of a later moment.
      if (head.watermark !== this.history!.watermark) return true;
      const a = this.accounts[head.no];
      if (!a || a.transfers === 0) fail({ check: 'history', account_id: a?.id, message: `the history index holds a latest entry for account ${a?.id ?? `#${head.no}`}, which has no transfers by then` });
      if (!sameBalances(a, head) || a.last_timestamp !== head.last_timestamp || a.transfers !== head.postings) {
        fail({ check: 'history', account_id: a.id, message: `the history index's balances, latest entry or count of entries of ${a.id} differ from the journal's` });
      }
      count += 1;
    }
    const expected = this.accounts.filter((a) => a.transfers > 0).length;
    if (count !== expected) fail({ check: 'history', message: `${expected - count} account(s) with transfers have no latest entry in the history index` });
    return true;
  }

  private checkBounds(a: RecomputedAccount, where: { entry_seq: number; record_id: string }): void {
    const negative = a.debits_pending < 0n || a.credits_pending < 0n || a.debits_posted < 0n || a.credits_posted < 0n;
    const overflow = a.debits_pending + a.debits_posted > AMOUNT_MAX || a.credits_pending + a.credits_posted > AMOUNT_MAX;
    const overdrawn = (a.flags & AccountFlag.debits_must_not_exceed_credits) !== 0 && a.debits_posted + a.debits_pending > a.credits_posted;
    const overcredited = (a.flags & AccountFlag.credits_must_not_exceed_debits) !== 0 && a.credits_posted + a.credits_pending > a.debits_posted;
    if (negative || overflow || overdrawn || overcredited) {
      fail({ check: 'bounds', ...where, account_id: a.id, message: `after ${where.record_id}, account ${a.id} breaks its bounds` });
    }
  }

  /** Compares the store's checkpointed balances with the recomputation at the checkpoint. */
  compareCheckpoint(stored: Iterable<{ id: string; no: number } & Balances>): true {
    let count = 0;
    for (const row of stored) {
      const recomputed = this.accounts[row.no];
      if (!recomputed || recomputed.id !== row.id) {
        fail({ check: 'checkpoint', account_id: row.id, message: `account ${row.id} has checkpointed balances but was not created before the checkpoint` });
      }
      if (!sameBalances(recomputed, row)) fail({ check: 'checkpoint', account_id: row.id, message: `account ${row.id}'s stored balances differ from the journal's` });
      count += 1;
    }
    if (count !== this.accounts.length) fail({ check: 'checkpoint', message: `${this.accounts.length - count} account(s) created before the checkpoint have no stored balances` });
    return true;
  }

  private totals(): Map<string, AssetTotals> {
    const totals = new Map<string, AssetTotals>();
    for (const a of this.accounts) {
      const total = totals.get(a.asset) ?? { asset: a.asset, ...zeroBalances() };
      total.debits_pending += a.debits_pending;
      total.debits_posted += a.debits_posted;
      total.credits_pending += a.credits_pending;
      total.credits_posted += a.credits_posted;
      totals.set(a.asset, total);
    }
    return totals;
  }

  checkConservation(): void {
    for (const total of this.totals().values()) {
      if (total.debits_posted !== total.credits_posted || total.debits_pending !== total.credits_pending) {
        fail({ check: 'conservation', message: `${total.asset} does not sum to zero: debits ${total.debits_posted}+${total.debits_pending} pending, credits ${total.credits_posted}+${total.credits_pending} pending` });
      }
    }
  }
}
