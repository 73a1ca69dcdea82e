// Shared test helpers: an independent model of the ledger's rules (written from the result registry
// and TigerBeetle's semantics, not from mari's code), in-memory Lookups, and balance checks.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AccountResult, TransferResult } from '../../src/errors/registry.js';
import type { JournalRecord, Lookups } from '../../src/ledger/ledger.js';
import { AccountFlag, TransferFlag, type Account, type AccountInput, type Transfer, type TransferInput } from '../../src/ledger/types.js';

export const MAX = (1n << 63n) - 1n;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
/** Text that UTF-8 cannot carry as it is: a high surrogate without its low half, or a low one alone. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const NS_PER_S = 1_000_000_000n;
export const D = AccountFlag.debits_must_not_exceed_credits;
export const C = AccountFlag.credits_must_not_exceed_debits;
export const LINKED = TransferFlag.linked;
export const ACCOUNT_LINKED = AccountFlag.linked;
export const PENDING = TransferFlag.pending;
export const POST = TransferFlag.post_pending_transfer;
export const VOID = TransferFlag.void_pending_transfer;
export const EXPIRY = TransferFlag.expiry;

export interface Bal {
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
}

export function bal(b: Bal): Bal {
  return { debits_pending: b.debits_pending, debits_posted: b.debits_posted, credits_pending: b.credits_pending, credits_posted: b.credits_posted };
}

export function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mari-'));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Every account's balances, by id. */
export function balancesOf(accounts: Iterable<Account>): Map<string, Bal> {
  const out = new Map<string, Bal>();
  for (const account of accounts) out.set(account.id, bal(account));
  return out;
}

/** Conservation per asset and each account's bounds, computed here rather than by the ledger. */
export function checkBooks(accounts: Iterable<Account>): void {
  const totals = new Map<string, Bal>();
  for (const a of accounts) {
    assert.ok(a.debits_pending >= 0n && a.credits_pending >= 0n, `pending negative on ${a.id}`);
    assert.ok(a.debits_posted >= 0n && a.credits_posted >= 0n, `posted negative on ${a.id}`);
    assert.ok(a.debits_pending + a.debits_posted <= MAX && a.credits_pending + a.credits_posted <= MAX, `overflow on ${a.id}`);
    if (a.flags & D) assert.ok(a.debits_posted + a.debits_pending <= a.credits_posted, `${a.id} overdrawn: ${JSON.stringify(bal(a), big)}`);
    if (a.flags & C) assert.ok(a.credits_posted + a.credits_pending <= a.debits_posted, `${a.id} over-credited: ${JSON.stringify(bal(a), big)}`);
    const t = totals.get(a.asset) ?? { debits_pending: 0n, debits_posted: 0n, credits_pending: 0n, credits_posted: 0n };
    t.debits_pending += a.debits_pending;
    t.debits_posted += a.debits_posted;
    t.credits_pending += a.credits_pending;
    t.credits_posted += a.credits_posted;
    totals.set(a.asset, t);
  }
  for (const [asset, t] of totals) {
    assert.equal(t.debits_posted, t.credits_posted, `posted ${asset} not conserved`);
    assert.equal(t.debits_pending, t.credits_pending, `pending ${asset} not conserved`);
  }
}

export function big(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() + 'n' : value;
}

/** Committed history for a pure Ledger, filled from each batch's records (what the store does for real). */
export class MemoryLookups implements Lookups {
  readonly transfers = new Map<string, Transfer>();
  readonly resolutions = new Map<string, Transfer>();
  readonly reversals = new Map<string, Transfer>();

  transfer(id: string): Transfer | undefined {
    return this.transfers.get(id);
  }
  resolution(pending_id: string): Transfer | undefined {
    return this.resolutions.get(pending_id);
  }
  reversal(original_id: string): Transfer | undefined {
    return this.reversals.get(original_id);
  }
  commit(records: readonly JournalRecord[]): void {
    for (const record of records) {
      if (record.kind !== 'transfer') continue;
      const t = record.transfer;
      assert.ok(!this.transfers.has(t.id), `transfer ${t.id} committed twice`);
      this.transfers.set(t.id, t);
      if (t.pending_id !== null) {
        assert.ok(!this.resolutions.has(t.pending_id), `pending ${t.pending_id} resolved twice`);
        this.resolutions.set(t.pending_id, t);
      }
      if (t.reversal_of !== null) {
        assert.ok(!this.reversals.has(t.reversal_of), `${t.reversal_of} reversed twice`);
        this.reversals.set(t.reversal_of, t);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The model.

export interface ModelAccount extends Bal {
  id: string;
  asset: string;
  code: number;
  flags: number;
  user_data: string | null;
}

/** A transfer as committed: every field resolved (a post or void takes its pending transfer's accounts). */
export interface ModelTransfer {
  id: string;
  debit: string;
  credit: string;
  amount: bigint;
  pending_id: string | null;
  asset: string;
  code: number;
  flags: number;
  timeout: number;
  user_data: string | null;
  reversal_of: string | null;
}

/** When a pending transfer expires: some instant in [lo, hi] (ns). */
export interface Deadline {
  lo: bigint;
  hi: bigint;
}

export interface ModelPending {
  transfer: ModelTransfer;
  status: 'live' | 'posted' | 'voided' | 'expired';
  deadline: Deadline | undefined;
}

/** What the model knows of time during one call: whether a deadline has passed, and when one starting now ends. */
export interface ModelTime {
  /** True if the deadline has certainly passed, false if it certainly has not; throws if it can't tell. */
  due(deadline: Deadline): boolean;
  deadline(timeout_s: number): Deadline;
}

interface State {
  accounts: Map<string, ModelAccount>;
  transfers: Map<string, ModelTransfer>;
  pendings: Map<string, ModelPending>;
  reversed: Set<string>;
  order: string[];
}

function cloneState(s: State): State {
  return {
    accounts: new Map([...s.accounts].map(([k, v]) => [k, { ...v }])),
    transfers: new Map(s.transfers),
    pendings: new Map([...s.pendings].map(([k, v]) => [k, { ...v }])),
    reversed: new Set(s.reversed),
    order: [...s.order],
  };
}

export class Model {
  private s: State = { accounts: new Map(), transfers: new Map(), pendings: new Map(), reversed: new Set(), order: [] };

  get accounts(): ReadonlyMap<string, ModelAccount> {
    return this.s.accounts;
  }
  get transfers(): ReadonlyMap<string, ModelTransfer> {
    return this.s.transfers;
  }
  get pendings(): ReadonlyMap<string, ModelPending> {
    return this.s.pendings;
  }
  /** Account ids in creation order. */
  get accountOrder(): readonly string[] {
    return this.s.order;
  }
  livePendingIds(): string[] {
    return [...this.s.pendings.values()].filter((p) => p.status === 'live').map((p) => p.transfer.id).sort();
  }

  createAccounts(inputs: readonly AccountInput[]): AccountResult[] {
    return this.chained(inputs, (input) => this.createAccount(input));
  }

  private createAccount(a: AccountInput): AccountResult {
    // linked chains the creation; it is not part of the account.
    const flags = (a.flags ?? 0) & ~ACCOUNT_LINKED;
    const user_data = a.user_data ?? null;
    if (!ID_RE.test(a.id)) return 'id_invalid';
    if (flags & ~(D | C)) return 'reserved_flag';
    if ((flags & D) && (flags & C)) return 'flags_are_mutually_exclusive';
    if (!Number.isInteger(a.code) || a.code < 1 || a.code > 65535) return 'code_invalid';
    if (user_data !== null && user_data.length > 128) return 'user_data_too_long';
    if (user_data !== null && LONE_SURROGATE.test(user_data)) return 'user_data_invalid';
    if (!['USD', 'ZWG', 'AIRTIME_USD', 'AIRTIME_ZWG', 'DATA_KB', 'VOICE_S', 'SMS'].includes(a.asset)) return 'asset_not_found';
    const e = this.s.accounts.get(a.id);
    if (e) {
      if (e.flags !== flags) return 'exists_with_different_flags';
      if (e.asset !== a.asset) return 'exists_with_different_asset';
      if (e.code !== a.code) return 'exists_with_different_code';
      if (e.user_data !== user_data) return 'exists_with_different_user_data';
      return 'exists';
    }
    this.s.accounts.set(a.id, { id: a.id, asset: a.asset, code: a.code, flags, user_data, debits_pending: 0n, debits_posted: 0n, credits_pending: 0n, credits_posted: 0n });
    this.s.order.push(a.id);
    return 'ok';
  }

  /** Releases every live pending transfer whose deadline has passed; returns their ids. */
  expire(time: ModelTime): string[] {
    const out: string[] = [];
    for (const p of this.s.pendings.values()) {
      if (p.status !== 'live' || p.deadline === undefined || !time.due(p.deadline)) continue;
      this.release(p);
      p.status = 'expired';
      out.push(p.transfer.id);
    }
    return out.sort();
  }

  private release(p: ModelPending): void {
    const dr = this.s.accounts.get(p.transfer.debit)!;
    const cr = this.s.accounts.get(p.transfer.credit)!;
    dr.debits_pending -= p.transfer.amount;
    cr.credits_pending -= p.transfer.amount;
  }

  createTransfers(inputs: readonly TransferInput[], time: ModelTime): TransferResult[] {
    return this.chained(inputs, (input) => this.createTransfer(input, time));
  }

  /** Linked chains: all of a chain's events take effect, or none. `exists` counts as success. */
  private chained<I extends { flags?: number }, R extends string>(inputs: readonly I[], apply: (input: I) => R): R[] {
    const results: R[] = [];
    let chain: { start: number; saved: State; broken: boolean } | undefined;
    inputs.forEach((input, index) => {
      const linked = ((input.flags ?? 0) & LINKED) !== 0;
      if (linked && chain === undefined) chain = { start: index, saved: cloneState(this.s), broken: false };
      let result: R;
      if (chain?.broken) result = 'linked_event_failed' as R;
      else if (linked && index === inputs.length - 1) result = 'linked_event_chain_open' as R;
      else result = apply(input);
      results.push(result);
      if (chain && !chain.broken && result !== 'ok' && result !== 'exists') {
        chain.broken = true;
        this.s = chain.saved;
        for (let j = chain.start; j < index; j++) results[j] = 'linked_event_failed' as R;
      }
      // A chain ends at its first event without the linked flag.
      if (!linked) chain = undefined;
    });
    return results;
  }

  private createTransfer(t: TransferInput, time: ModelTime): TransferResult {
    const flags = t.flags ?? 0;
    if (!ID_RE.test(t.id)) return 'id_invalid';
    // Only the ledger sets expiry; unknown bits are refused too.
    if (flags & ~(LINKED | PENDING | POST | VOID)) return 'reserved_flag';
    if ([PENDING, POST, VOID].filter((f) => flags & f).length > 1) return 'flags_are_mutually_exclusive';
    if (flags & (POST | VOID)) return this.resolve(t, flags, time);
    if (!t.debit_account_id) return 'debit_account_id_required';
    if (!t.credit_account_id) return 'credit_account_id_required';
    if (t.debit_account_id === t.credit_account_id) return 'accounts_must_be_different';
    if (t.pending_id) return 'pending_id_must_be_empty';
    const timeout = t.timeout ?? 0;
    const pending = (flags & PENDING) !== 0;
    if (!pending && timeout !== 0) return 'timeout_reserved_for_pending_transfer';
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > 315_360_000) return 'timeout_invalid';
    if (t.amount === undefined || t.amount === null) return 'amount_required';
    if (t.amount <= 0n) return 'amount_must_not_be_zero';
    if (t.amount > MAX) return 'amount_exceeds_maximum';
    if (!t.asset) return 'asset_required';
    if (!validCode(t.code)) return 'code_invalid';
    const user_data = t.user_data ?? null;
    if (user_data !== null && user_data.length > 128) return 'user_data_too_long';
    if (user_data !== null && LONE_SURROGATE.test(user_data)) return 'user_data_invalid';
    const reversal_of = t.reversal_of ?? null;
    if (reversal_of !== null && pending) return 'reversal_not_allowed_on_two_phase';
    const dr = this.s.accounts.get(t.debit_account_id);
    if (!dr) return 'debit_account_not_found';
    const cr = this.s.accounts.get(t.credit_account_id);
    if (!cr) return 'credit_account_not_found';
    if (dr.asset !== cr.asset) return 'accounts_must_have_the_same_asset';
    if (t.asset !== dr.asset) return 'transfer_must_have_the_same_asset_as_accounts';
    const record: ModelTransfer = {
      id: t.id, debit: dr.id, credit: cr.id, amount: t.amount, pending_id: null, asset: dr.asset, code: t.code!,
      flags, timeout, user_data, reversal_of,
    };
    const existing = this.s.transfers.get(t.id);
    if (existing) return compare(record, existing);
    if (reversal_of !== null) {
      const original = this.s.transfers.get(reversal_of);
      if (!original) return 'reversal_original_not_found';
      if (original.flags & (PENDING | VOID)) return 'reversal_original_not_posted';
      if (original.debit !== cr.id || original.credit !== dr.id) return 'reversal_must_swap_accounts';
      if (t.amount > original.amount) return 'reversal_exceeds_original_amount';
      if (this.s.reversed.has(reversal_of)) return 'reversal_already_reversed';
    }
    const a = t.amount;
    if (pending) {
      if (dr.debits_pending + a > MAX) return 'overflows_debits_pending';
      if (cr.credits_pending + a > MAX) return 'overflows_credits_pending';
    } else {
      if (dr.debits_posted + a > MAX) return 'overflows_debits_posted';
      if (cr.credits_posted + a > MAX) return 'overflows_credits_posted';
    }
    if (dr.debits_pending + dr.debits_posted + a > MAX) return 'overflows_debits';
    if (cr.credits_pending + cr.credits_posted + a > MAX) return 'overflows_credits';
    if ((dr.flags & D) && dr.debits_pending + dr.debits_posted + a > dr.credits_posted) return 'exceeds_credits';
    if ((cr.flags & C) && cr.credits_pending + cr.credits_posted + a > cr.debits_posted) return 'exceeds_debits';
    if (pending) {
      dr.debits_pending += a;
      cr.credits_pending += a;
      this.s.pendings.set(t.id, { transfer: record, status: 'live', deadline: timeout > 0 ? time.deadline(timeout) : undefined });
    } else {
      dr.debits_posted += a;
      cr.credits_posted += a;
    }
    if (reversal_of !== null) this.s.reversed.add(reversal_of);
    this.s.transfers.set(t.id, record);
    return 'ok';
  }

  private resolve(t: TransferInput, flags: number, time: ModelTime): TransferResult {
    const post = (flags & POST) !== 0;
    if (!t.pending_id) return 'pending_id_required';
    if (t.pending_id === t.id) return 'pending_id_must_be_different';
    if ((t.timeout ?? 0) !== 0) return 'timeout_reserved_for_pending_transfer';
    if (t.amount !== undefined && t.amount !== null) {
      if (t.amount <= 0n) return 'amount_must_not_be_zero';
      if (t.amount > MAX) return 'amount_exceeds_maximum';
    }
    if (t.code !== undefined && t.code !== null && !validCode(t.code)) return 'code_invalid';
    if (t.user_data != null && t.user_data.length > 128) return 'user_data_too_long';
    if (t.user_data != null && LONE_SURROGATE.test(t.user_data)) return 'user_data_invalid';
    if (t.reversal_of) return 'reversal_not_allowed_on_two_phase';
    const p = this.s.transfers.get(t.pending_id);
    if (!p) return 'pending_transfer_not_found';
    if (!(p.flags & PENDING)) return 'pending_transfer_not_pending';
    if (t.debit_account_id && t.debit_account_id !== p.debit) return 'pending_transfer_has_different_debit_account_id';
    if (t.credit_account_id && t.credit_account_id !== p.credit) return 'pending_transfer_has_different_credit_account_id';
    if (t.asset && t.asset !== p.asset) return 'pending_transfer_has_different_asset';
    if (t.code && t.code !== p.code) return 'pending_transfer_has_different_code';
    const amount = t.amount ?? p.amount;
    if (post && amount > p.amount) return 'exceeds_pending_transfer_amount';
    if (!post && amount !== p.amount) return 'pending_transfer_has_different_amount';
    const record: ModelTransfer = {
      id: t.id, debit: p.debit, credit: p.credit, amount, pending_id: p.id, asset: p.asset, code: p.code, flags, timeout: 0,
      user_data: t.user_data ?? p.user_data, reversal_of: null,
    };
    const existing = this.s.transfers.get(t.id);
    if (existing) return compare(record, existing);
    const state = this.s.pendings.get(p.id)!;
    if (state.status === 'posted') return 'pending_transfer_already_posted';
    if (state.status === 'voided') return 'pending_transfer_already_voided';
    if (state.status === 'expired') return 'pending_transfer_expired';
    if (state.deadline !== undefined && time.due(state.deadline)) return 'pending_transfer_expired';
    this.release(state);
    if (post) {
      this.s.accounts.get(p.debit)!.debits_posted += amount;
      this.s.accounts.get(p.credit)!.credits_posted += amount;
    }
    state.status = post ? 'posted' : 'voided';
    this.s.transfers.set(t.id, record);
    return 'ok';
  }
}

function validCode(code: number | null | undefined): boolean {
  return typeof code === 'number' && Number.isInteger(code) && code >= 1 && code <= 65535;
}

function compare(c: ModelTransfer, e: ModelTransfer): TransferResult {
  if (c.flags !== e.flags) return 'exists_with_different_flags';
  if (c.pending_id !== e.pending_id) return 'exists_with_different_pending_id';
  if (c.timeout !== e.timeout) return 'exists_with_different_timeout';
  if (c.debit !== e.debit) return 'exists_with_different_debit_account_id';
  if (c.credit !== e.credit) return 'exists_with_different_credit_account_id';
  if (c.amount !== e.amount) return 'exists_with_different_amount';
  if (c.asset !== e.asset) return 'exists_with_different_asset';
  if (c.code !== e.code) return 'exists_with_different_code';
  if (c.user_data !== e.user_data) return 'exists_with_different_user_data';
  if (c.reversal_of !== e.reversal_of) return 'exists_with_different_reversal_of';
  return 'exists';
}

/** Asserts the ledger's accounts and live pending set equal the model's. */
export function assertMatchesModel(model: Model, accounts: ReadonlyMap<string, Account>, livePending: Iterable<string>, where: string): void {
  assert.equal(accounts.size, model.accounts.size, `${where}: account count`);
  for (const [id, m] of model.accounts) {
    const a = accounts.get(id);
    assert.ok(a, `${where}: account ${id} missing`);
    assert.deepEqual(bal(a), bal(m), `${where}: balances of ${id}`);
    assert.equal(a.flags, m.flags, `${where}: flags of ${id}`);
    assert.equal(a.asset, m.asset, `${where}: asset of ${id}`);
  }
  assert.deepEqual([...livePending].sort(), model.livePendingIds(), `${where}: live pending transfers`);
}

/** Asserts a committed transfer carries the fields the model resolved. */
export function assertSameTransfer(t: Transfer, m: ModelTransfer, where: string): void {
  const got = { debit: t.debit_account_id, credit: t.credit_account_id, amount: t.amount, pending_id: t.pending_id, asset: t.asset, code: t.code, flags: t.flags, timeout: t.timeout, user_data: t.user_data, reversal_of: t.reversal_of };
  const want = { debit: m.debit, credit: m.credit, amount: m.amount, pending_id: m.pending_id, asset: m.asset, code: m.code, flags: m.flags, timeout: m.timeout, user_data: m.user_data, reversal_of: m.reversal_of };
  assert.deepEqual(got, want, `${where}: fields of ${m.id}`);
}

export function expiryIdOf(pending_id: string): string {
  return '~expiry:' + pending_id;
}

export const NS = NS_PER_S;
