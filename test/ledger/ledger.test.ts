// Checks the pure Ledger state machine: every result code, precedence, two-phase, expiry, linked chains, reversals, overflow, timestamps and balances.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACCOUNT_RESULT_CODES,
  TRANSFER_RESULT_CODES,
  type AccountResult,
  type TransferResult,
} from '../../src/errors/registry.js';
import { AMOUNT_MAX } from '../../src/ledger/amount.js';
import { DEFAULT_ASSETS } from '../../src/ledger/assets.js';
import { Ledger, NO_LOOKUPS, assertAccountBounds, expiryId, type Batch, type JournalRecord, type Lookups } from '../../src/ledger/ledger.js';
import {
  AccountFlag,
  TransferFlag,
  TIMEOUT_MAX_S,
  available,
  type Account,
  type AccountInput,
  type Balances,
  type Transfer,
  type TransferInput,
} from '../../src/ledger/types.js';

// Codes seen across the whole file; the last test fails if any registry code was never produced.
const observedAccountCodes = new Set<AccountResult>();
const observedTransferCodes = new Set<TransferResult>();

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;

const WALLET = AccountFlag.debits_must_not_exceed_credits;
const TRUST = AccountFlag.credits_must_not_exceed_debits;
const LINKED = TransferFlag.linked;
const PENDING = TransferFlag.pending;
const POST = TransferFlag.post_pending_transfer;
const VOID = TransferFlag.void_pending_transfer;

function seenAccounts(results: AccountResult[]): AccountResult[] {
  for (const result of results) observedAccountCodes.add(result);
  return results;
}

function seenTransfers(results: TransferResult[]): TransferResult[] {
  for (const result of results) observedTransferCodes.add(result);
  return results;
}

/** A ledger with an injectable clock and an in-memory stand-in for the store's committed history. */
class World {
  now = T0;
  readonly ledger = new Ledger({ assets: DEFAULT_ASSETS, clock: () => this.now });
  readonly committed = new Map<string, Transfer>();
  readonly resolutions = new Map<string, Transfer>();
  readonly reversals = new Map<string, Transfer>();
  readonly records: JournalRecord[] = [];
  readonly lookups: Lookups = {
    transfer: (id) => this.committed.get(id),
    resolution: (pending_id) => this.resolutions.get(pending_id),
    reversal: (original_id) => this.reversals.get(original_id),
  };

  /** Runs `fn` in one batch, then "commits" the batch's records so later batches see them. */
  batch<T>(fn: (batch: Batch) => T): T {
    const batch = this.ledger.begin(this.lookups);
    const result = fn(batch);
    this.commit(batch);
    return result;
  }

  commit(batch: Batch): void {
    for (const record of batch.records) {
      this.records.push(record);
      if (record.kind !== 'transfer') continue;
      const t = record.transfer;
      this.committed.set(t.id, t);
      if (t.pending_id !== null) this.resolutions.set(t.pending_id, t);
      if (t.reversal_of !== null) this.reversals.set(t.reversal_of, t);
    }
    this.ledger.checkInvariants();
  }

  accounts(inputs: AccountInput[]): AccountResult[] {
    return this.batch((batch) => seenAccounts(batch.createAccounts(inputs)));
  }

  transfers(inputs: TransferInput[]): TransferResult[] {
    return this.batch((batch) => seenTransfers(batch.createTransfers(inputs)));
  }

  /** One transfer in its own batch. */
  transfer(input: TransferInput): TransferResult {
    return this.transfers([input])[0];
  }

  expire(): number {
    return this.batch((batch) => batch.expire());
  }

  advance(seconds: number): void {
    this.now += BigInt(seconds) * S;
  }

  account(id: string): Account {
    const account = this.ledger.accounts.get(id);
    assert.ok(account, `account ${id} exists`);
    return account;
  }

  balances(id: string): Balances {
    const a = this.account(id);
    return { debits_pending: a.debits_pending, debits_posted: a.debits_posted, credits_pending: a.credits_pending, credits_posted: a.credits_posted };
  }

  lastTransfer(): Transfer {
    for (let i = this.records.length - 1; i >= 0; i--) {
      const record = this.records[i];
      if (record.kind === 'transfer') return record.transfer;
    }
    assert.fail('no transfer committed');
  }
}

function bal(debits_pending: bigint, debits_posted: bigint, credits_pending: bigint, credits_posted: bigint): Balances {
  return { debits_pending, debits_posted, credits_pending, credits_posted };
}

/** a, b, c, d: plain USD; z, y: plain ZWG; w: a USD wallet; t: a USD trust (asset-side) account. */
function world(): World {
  const w = new World();
  assert.deepEqual(
    w.accounts([
      { id: 'a', asset: 'USD', code: 1 },
      { id: 'b', asset: 'USD', code: 1 },
      { id: 'c', asset: 'USD', code: 1 },
      { id: 'd', asset: 'USD', code: 1 },
      { id: 'z', asset: 'ZWG', code: 1 },
      { id: 'y', asset: 'ZWG', code: 1 },
      { id: 'w', asset: 'USD', code: 2, flags: WALLET },
      { id: 't', asset: 'USD', code: 3, flags: TRUST },
    ]),
    ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
  );
  return w;
}

function xfer(id: string, debit: string, credit: string, amount: bigint, extra: Partial<TransferInput> = {}): TransferInput {
  return { id, debit_account_id: debit, credit_account_id: credit, amount, asset: 'USD', code: 1, ...extra };
}

function pending(id: string, debit: string, credit: string, amount: bigint, timeout = 0, extra: Partial<TransferInput> = {}): TransferInput {
  return xfer(id, debit, credit, amount, { flags: PENDING, timeout, ...extra });
}

function post(id: string, pending_id: string, extra: Partial<TransferInput> = {}): TransferInput {
  return { id, pending_id, flags: POST, ...extra };
}

function voidOf(id: string, pending_id: string, extra: Partial<TransferInput> = {}): TransferInput {
  return { id, pending_id, flags: VOID, ...extra };
}

/** Runs each case as a single event in its own batch and checks its code. */
function expectCodes(w: World, cases: [string, TransferInput, TransferResult][]): void {
  for (const [name, input, expected] of cases) {
    const before = w.records.length;
    assert.equal(w.transfer(input), expected, name);
    if (expected !== 'ok') assert.equal(w.records.length, before, `${name}: a refusal commits nothing`);
  }
}

describe('accounts', () => {
  test('creating accounts: ok, then exists for an identical retry', () => {
    const w = new World();
    assert.deepEqual(w.accounts([{ id: 'a', asset: 'USD', code: 1, user_data: 'x' }]), ['ok']);
    assert.deepEqual(w.accounts([{ id: 'a', asset: 'USD', code: 1, user_data: 'x' }]), ['exists']);
    const a = w.account('a');
    assert.equal(a.no, 0);
    assert.deepEqual(w.balances('a'), bal(0n, 0n, 0n, 0n));
  });

  test('a bounded account created alone in a batch is created (flags are not mistaken for linked)', () => {
    const w = new World();
    assert.deepEqual(w.accounts([{ id: 'w', asset: 'USD', code: 1, flags: WALLET }]), ['ok']);
    assert.deepEqual(w.accounts([{ id: 't', asset: 'USD', code: 1, flags: TRUST }]), ['ok']);
    assert.equal(w.account('w').flags, WALLET);
    assert.equal(w.account('t').flags, TRUST);
  });

  test('validation codes', () => {
    const w = new World();
    const cases: [string, AccountInput, AccountResult][] = [
      ['empty id', { id: '', asset: 'USD', code: 1 }, 'id_invalid'],
      ['id with a pipe', { id: 'a|b', asset: 'USD', code: 1 }, 'id_invalid'],
      ['id starting with a dash', { id: '-a', asset: 'USD', code: 1 }, 'id_invalid'],
      ['id of 65 characters', { id: 'a'.repeat(65), asset: 'USD', code: 1 }, 'id_invalid'],
      ['an unknown flag', { id: 'a', asset: 'USD', code: 1, flags: 1 << 5 }, 'reserved_flag'],
      ['both bounds', { id: 'a', asset: 'USD', code: 1, flags: WALLET | TRUST }, 'flags_are_mutually_exclusive'],
      ['code 0', { id: 'a', asset: 'USD', code: 0 }, 'code_invalid'],
      ['code 65536', { id: 'a', asset: 'USD', code: 65536 }, 'code_invalid'],
      ['code 1.5', { id: 'a', asset: 'USD', code: 1.5 }, 'code_invalid'],
      ['user_data of 129', { id: 'a', asset: 'USD', code: 1, user_data: 'u'.repeat(129) }, 'user_data_too_long'],
      ['user_data of 65 emoji (130 UTF-16 units)', { id: 'a', asset: 'USD', code: 1, user_data: '😀'.repeat(65) }, 'user_data_too_long'],
      ['user_data with a lone high surrogate', { id: 'a', asset: 'USD', code: 1, user_data: 'x\ud800' }, 'user_data_invalid'],
      ['user_data with a lone low surrogate', { id: 'a', asset: 'USD', code: 1, user_data: '\udc00x' }, 'user_data_invalid'],
      ['unknown asset', { id: 'a', asset: 'EUR', code: 1 }, 'asset_not_found'],
    ];
    for (const [name, input, expected] of cases) assert.deepEqual(w.accounts([input]), [expected], name);
    assert.equal(w.ledger.accounts.size, 0);
    assert.deepEqual(
      w.accounts([
        { id: 'a'.repeat(64), asset: 'USD', code: 65535, user_data: 'u'.repeat(128) },
        { id: '0.a:b_c-d', asset: 'SMS', code: 1 },
        { id: 'emoji', asset: 'SMS', code: 1, user_data: '😀'.repeat(64) },
      ]),
      ['ok', 'ok', 'ok'],
      'limits are inclusive',
    );
  });

  test('precedence: the earlier code in the registry wins', () => {
    const w = new World();
    const cases: [string, AccountInput, AccountResult][] = [
      ['id_invalid over flags and asset', { id: '', asset: 'EUR', code: 0, flags: (1 << 5) | WALLET | TRUST }, 'id_invalid'],
      ['reserved_flag over mutually exclusive flags', { id: 'a', asset: 'EUR', code: 0, flags: (1 << 5) | WALLET | TRUST }, 'reserved_flag'],
      ['flags over code', { id: 'a', asset: 'EUR', code: 0, flags: WALLET | TRUST }, 'flags_are_mutually_exclusive'],
      ['code over user_data', { id: 'a', asset: 'EUR', code: 0, user_data: 'u'.repeat(200) }, 'code_invalid'],
      ['user_data_too_long over user_data_invalid', { id: 'a', asset: 'EUR', code: 1, user_data: '\ud800'.repeat(200) }, 'user_data_too_long'],
      ['user_data_invalid over asset', { id: 'a', asset: 'EUR', code: 1, user_data: '\ud800' }, 'user_data_invalid'],
    ];
    for (const [name, input, expected] of cases) assert.deepEqual(w.accounts([input]), [expected], name);
  });

  test('exists_with_different_* name the first field that differs', () => {
    const w = new World();
    assert.deepEqual(w.accounts([{ id: 'e', asset: 'USD', code: 1, flags: WALLET, user_data: 'x' }]), ['ok']);
    const cases: [string, AccountInput, AccountResult][] = [
      ['flags', { id: 'e', asset: 'ZWG', code: 2, flags: 0, user_data: null }, 'exists_with_different_flags'],
      ['asset', { id: 'e', asset: 'ZWG', code: 2, flags: WALLET, user_data: null }, 'exists_with_different_asset'],
      ['code', { id: 'e', asset: 'USD', code: 2, flags: WALLET, user_data: null }, 'exists_with_different_code'],
      ['user_data', { id: 'e', asset: 'USD', code: 1, flags: WALLET, user_data: null }, 'exists_with_different_user_data'],
      ['same', { id: 'e', asset: 'USD', code: 1, flags: WALLET, user_data: 'x' }, 'exists'],
      ['validation before exists', { id: 'e', asset: 'EUR', code: 1, flags: WALLET, user_data: 'x' }, 'asset_not_found'],
    ];
    for (const [name, input, expected] of cases) assert.deepEqual(w.accounts([input]), [expected], name);
  });

  test('linked account chains: a failure rolls the chain back and numbers stay dense', () => {
    const w = new World();
    assert.deepEqual(w.accounts([{ id: 'first', asset: 'USD', code: 1 }]), ['ok']);
    assert.deepEqual(
      w.accounts([
        { id: 'x1', asset: 'USD', code: 1, flags: AccountFlag.linked },
        { id: 'x2', asset: 'USD', code: 1, flags: AccountFlag.linked },
        { id: 'x3', asset: 'EUR', code: 1 },
      ]),
      ['linked_event_failed', 'linked_event_failed', 'asset_not_found'],
    );
    assert.equal(w.ledger.accounts.has('x1'), false);
    assert.equal(w.ledger.accounts.has('x2'), false);
    assert.deepEqual(w.accounts([{ id: 'x4', asset: 'USD', code: 1 }]), ['ok']);
    assert.equal(w.account('x4').no, 1, 'rolled-back accounts give their numbers back');
    assert.deepEqual(
      w.accounts([
        { id: 'y1', asset: 'USD', code: 1, flags: AccountFlag.linked | WALLET },
        { id: 'y2', asset: 'USD', code: 1 },
      ]),
      ['ok', 'ok'],
    );
    assert.equal(w.account('y1').flags, WALLET, 'linked is not stored');
    assert.deepEqual(w.accounts([{ id: 'y1', asset: 'USD', code: 1, flags: WALLET }]), ['exists']);
    assert.deepEqual(w.ledger.accountsByNo.map((a) => a.no), [0, 1, 2, 3]);
  });

  test('an account chain left open at the end of the batch fails whole', () => {
    const w = new World();
    assert.deepEqual(
      w.accounts([
        { id: 'y0', asset: 'USD', code: 1 },
        { id: 'y1', asset: 'USD', code: 1, flags: AccountFlag.linked },
        { id: 'y2', asset: 'USD', code: 1, flags: AccountFlag.linked },
      ]),
      ['ok', 'linked_event_failed', 'linked_event_chain_open'],
    );
    assert.deepEqual([...w.ledger.accounts.keys()], ['y0']);
  });

  test('an account after a failed chain in the same batch is independent of it', () => {
    const w = new World();
    assert.deepEqual(
      w.accounts([
        { id: 'x1', asset: 'USD', code: 1, flags: AccountFlag.linked },
        { id: 'x2', asset: 'EUR', code: 1 },
        { id: 'x3', asset: 'USD', code: 1 },
      ]),
      ['linked_event_failed', 'asset_not_found', 'ok'],
    );
  });
});

describe('transfer validation', () => {
  test('every validation code, one fault at a time', () => {
    const w = world();
    expectCodes(w, [
      ['empty id', xfer('', 'a', 'b', 1n), 'id_invalid'],
      ['id with a space', xfer('a b', 'a', 'b', 1n), 'id_invalid'],
      ['the expiry prefix is reserved', xfer('~expiry:x', 'a', 'b', 1n), 'id_invalid'],
      ['the ledger\'s expiry flag', xfer('x', 'a', 'b', 1n, { flags: TransferFlag.expiry }), 'reserved_flag'],
      ['the expiry flag on a post', post('x', 'p', { flags: POST | TransferFlag.expiry }), 'reserved_flag'],
      ['an unknown flag', xfer('x', 'a', 'b', 1n, { flags: 1 << 9 }), 'reserved_flag'],
      ['pending and post', xfer('x', 'a', 'b', 1n, { flags: PENDING | POST }), 'flags_are_mutually_exclusive'],
      ['post and void', { id: 'x', pending_id: 'p', flags: POST | VOID }, 'flags_are_mutually_exclusive'],
      ['post without pending_id', { id: 'x', flags: POST }, 'pending_id_required'],
      ['void without pending_id', { id: 'x', flags: VOID, pending_id: '' }, 'pending_id_required'],
      ['post of itself', post('x', 'x'), 'pending_id_must_be_different'],
      ['no debit account', { id: 'x', credit_account_id: 'b', amount: 1n, asset: 'USD', code: 1 }, 'debit_account_id_required'],
      ['no credit account', { id: 'x', debit_account_id: 'a', amount: 1n, asset: 'USD', code: 1 }, 'credit_account_id_required'],
      ['same accounts', xfer('x', 'a', 'a', 1n), 'accounts_must_be_different'],
      ['pending_id on a plain transfer', xfer('x', 'a', 'b', 1n, { pending_id: 'p' }), 'pending_id_must_be_empty'],
      ['timeout on a plain transfer', xfer('x', 'a', 'b', 1n, { timeout: 5 }), 'timeout_reserved_for_pending_transfer'],
      ['timeout on a post', post('x', 'p', { timeout: 5 }), 'timeout_reserved_for_pending_transfer'],
      ['negative timeout', pending('x', 'a', 'b', 1n, -1), 'timeout_invalid'],
      ['fractional timeout', pending('x', 'a', 'b', 1n, 1.5), 'timeout_invalid'],
      ['timeout past the maximum', pending('x', 'a', 'b', 1n, TIMEOUT_MAX_S + 1), 'timeout_invalid'],
      ['no amount', { id: 'x', debit_account_id: 'a', credit_account_id: 'b', asset: 'USD', code: 1 }, 'amount_required'],
      ['null amount', xfer('x', 'a', 'b', 1n, { amount: null }), 'amount_required'],
      ['zero amount', xfer('x', 'a', 'b', 0n), 'amount_must_not_be_zero'],
      ['negative amount', xfer('x', 'a', 'b', -1n), 'amount_must_not_be_zero'],
      ['zero amount on a post', post('x', 'p', { amount: 0n }), 'amount_must_not_be_zero'],
      ['amount past the maximum', xfer('x', 'a', 'b', AMOUNT_MAX + 1n), 'amount_exceeds_maximum'],
      ['post amount past the maximum', post('x', 'p', { amount: AMOUNT_MAX + 1n }), 'amount_exceeds_maximum'],
      ['no asset', xfer('x', 'a', 'b', 1n, { asset: undefined }), 'asset_required'],
      ['empty asset', xfer('x', 'a', 'b', 1n, { asset: '' }), 'asset_required'],
      ['code 0', xfer('x', 'a', 'b', 1n, { code: 0 }), 'code_invalid'],
      ['code 65536', xfer('x', 'a', 'b', 1n, { code: 65536 }), 'code_invalid'],
      ['no code', xfer('x', 'a', 'b', 1n, { code: undefined }), 'code_invalid'],
      ['code 0 on a void', voidOf('x', 'p', { code: 0 }), 'code_invalid'],
      ['user_data of 129', xfer('x', 'a', 'b', 1n, { user_data: 'u'.repeat(129) }), 'user_data_too_long'],
      ['user_data of 129 on a post', post('x', 'p', { user_data: 'u'.repeat(129) }), 'user_data_too_long'],
      ['user_data with a lone surrogate', xfer('x', 'a', 'b', 1n, { user_data: 'a\udbffb' }), 'user_data_invalid'],
      ['user_data with a lone surrogate on a void', voidOf('x', 'p', { user_data: '\udfff' }), 'user_data_invalid'],
      ['pending reversal', pending('x', 'a', 'b', 1n, 0, { reversal_of: 'r' }), 'reversal_not_allowed_on_two_phase'],
      ['post reversal', post('x', 'p', { reversal_of: 'r' }), 'reversal_not_allowed_on_two_phase'],
      ['void reversal', voidOf('x', 'p', { reversal_of: 'r' }), 'reversal_not_allowed_on_two_phase'],
      ['unknown debit account', xfer('x', 'nope', 'b', 1n), 'debit_account_not_found'],
      ['unknown credit account', xfer('x', 'a', 'nope', 1n), 'credit_account_not_found'],
      ['USD to ZWG', xfer('x', 'a', 'z', 1n), 'accounts_must_have_the_same_asset'],
      ['USD accounts, ZWG transfer', xfer('x', 'a', 'b', 1n, { asset: 'ZWG' }), 'transfer_must_have_the_same_asset_as_accounts'],
      ['USD accounts, unknown asset', xfer('x', 'a', 'b', 1n, { asset: 'EUR' }), 'transfer_must_have_the_same_asset_as_accounts'],
      ['post of an unknown pending', post('x', 'nope'), 'pending_transfer_not_found'],
      ['reversal of an unknown transfer', xfer('x', 'a', 'b', 1n, { reversal_of: 'nope' }), 'reversal_original_not_found'],
    ]);
    assert.deepEqual(w.transfers([xfer('x', 'a', 'b', AMOUNT_MAX, { user_data: 'u'.repeat(128), code: 65535 })]), ['ok'], 'limits are inclusive');
    assert.equal(w.lastTransfer().amount, AMOUNT_MAX);
  });

  test('precedence: the earlier code in the registry wins', () => {
    const w = world();
    assert.equal(w.transfer(xfer('ok1', 'a', 'b', 10n)), 'ok');
    expectCodes(w, [
      ['id_invalid over flags', xfer('', 'a', 'a', 0n, { flags: PENDING | POST | VOID }), 'id_invalid'],
      ['reserved_flag over flags_are_mutually_exclusive', xfer('x', 'a', 'a', 0n, { flags: TransferFlag.expiry | PENDING | POST }), 'reserved_flag'],
      ['flags over pending_id_required', xfer('x', 'a', 'b', 1n, { flags: PENDING | POST }), 'flags_are_mutually_exclusive'],
      ['pending_id_required over everything after it', { id: 'x', flags: POST, amount: 0n, code: 0, timeout: 3 }, 'pending_id_required'],
      ['pending_id_must_be_different over timeout', post('x', 'x', { timeout: 3 }), 'pending_id_must_be_different'],
      ['debit_account_id_required over credit_account_id_required', { id: 'x', amount: 0n }, 'debit_account_id_required'],
      ['accounts_must_be_different over debit_account_not_found', xfer('x', 'nope', 'nope', 1n), 'accounts_must_be_different'],
      ['accounts_must_be_different over pending_id_must_be_empty', xfer('x', 'a', 'a', 1n, { pending_id: 'p' }), 'accounts_must_be_different'],
      ['pending_id_must_be_empty over timeout', xfer('x', 'a', 'b', 1n, { pending_id: 'p', timeout: 3 }), 'pending_id_must_be_empty'],
      ['timeout_reserved over timeout_invalid', xfer('x', 'a', 'b', 1n, { timeout: -1 }), 'timeout_reserved_for_pending_transfer'],
      ['timeout_invalid over amount_required', pending('x', 'a', 'b', 1n, -1, { amount: undefined }), 'timeout_invalid'],
      ['amount_required over asset_required', xfer('x', 'a', 'b', 1n, { amount: undefined, asset: undefined }), 'amount_required'],
      ['amount_must_not_be_zero over debit_account_not_found', xfer('x', 'nope', 'b', 0n), 'amount_must_not_be_zero'],
      ['amount_exceeds_maximum over asset_required', xfer('x', 'a', 'b', AMOUNT_MAX + 1n, { asset: undefined }), 'amount_exceeds_maximum'],
      ['asset_required over code_invalid', xfer('x', 'a', 'b', 1n, { asset: undefined, code: 0 }), 'asset_required'],
      ['code_invalid over user_data_too_long', xfer('x', 'a', 'b', 1n, { code: 0, user_data: 'u'.repeat(200) }), 'code_invalid'],
      ['user_data_too_long over user_data_invalid', xfer('x', 'a', 'b', 1n, { user_data: '\ud800'.repeat(200) }), 'user_data_too_long'],
      ['user_data_invalid over reversal_not_allowed', pending('x', 'nope', 'b', 1n, 0, { user_data: '\ud800', reversal_of: 'ok1' }), 'user_data_invalid'],
      ['user_data_too_long over reversal_not_allowed', pending('x', 'a', 'b', 1n, 0, { user_data: 'u'.repeat(200), reversal_of: 'ok1' }), 'user_data_too_long'],
      ['reversal_not_allowed over debit_account_not_found', pending('x', 'nope', 'b', 1n, 0, { reversal_of: 'ok1' }), 'reversal_not_allowed_on_two_phase'],
      ['debit_account_not_found over credit_account_not_found', xfer('x', 'nope', 'nope2', 1n), 'debit_account_not_found'],
      ['credit_account_not_found over asset checks', xfer('x', 'a', 'nope', 1n, { asset: 'ZWG' }), 'credit_account_not_found'],
      ['same_asset over transfer asset', xfer('x', 'a', 'z', 1n, { asset: 'SMS' }), 'accounts_must_have_the_same_asset'],
      // As in TigerBeetle, a retry is matched only after the accounts are looked up.
      ['account lookups before exists', xfer('ok1', 'nope', 'b', 10n), 'debit_account_not_found'],
      ['asset checks before exists', xfer('ok1', 'a', 'b', 10n, { asset: 'ZWG' }), 'transfer_must_have_the_same_asset_as_accounts'],
      ['exists_with_different_flags over the other fields', pending('ok1', 'a', 'c', 11n, 7, { code: 9 }), 'exists_with_different_flags'],
      ['exists_with_different_debit over credit', xfer('ok1', 'c', 'd', 10n), 'exists_with_different_debit_account_id'],
      ['exists_with_different_amount over code', xfer('ok1', 'a', 'b', 11n, { code: 2 }), 'exists_with_different_amount'],
      ['reversal checks before limits', xfer('x', 'w', 'a', 1_000_000n, { reversal_of: 'ok1' }), 'reversal_must_swap_accounts'],
    ]);
  });

  test('precedence: a retry answers exists before the limits are checked', () => {
    const w = world();
    assert.equal(w.transfer(xfer('fund', 'a', 'w', 100n)), 'ok');
    assert.equal(w.transfer(xfer('spend', 'w', 'b', 100n)), 'ok');
    assert.equal(w.transfer(xfer('spend', 'w', 'b', 100n)), 'exists', 'the wallet is empty, but this is a retry');
    assert.equal(w.transfer(xfer('spend2', 'w', 'b', 100n)), 'exceeds_credits');
  });

  test('precedence: overflows before exceeds', () => {
    const w = world();
    assert.equal(w.transfer(xfer('t-debits', 't', 'a', AMOUNT_MAX)), 'ok');
    assert.equal(w.transfer(xfer('t-credits', 'b', 't', AMOUNT_MAX)), 'ok');
    // t's credits would pass both AMOUNT_MAX and its debits.
    assert.equal(w.transfer(xfer('x', 'c', 't', 1n)), 'overflows_credits_posted');
  });

  test('precedence on posts: pending lookups before the amount, the amount before exists', () => {
    const w = world();
    assert.deepEqual(w.transfers([pending('p', 'a', 'b', 100n), pending('p2', 'a', 'b', 100n)]), ['ok', 'ok']);
    expectCodes(w, [
      ['not found over different code', post('x', 'nope', { code: 7 }), 'pending_transfer_not_found'],
      ['different debit over different credit and amount', post('x', 'p', { debit_account_id: 'c', credit_account_id: 'c', amount: 101n }), 'pending_transfer_has_different_debit_account_id'],
      ['different credit over asset', post('x', 'p', { credit_account_id: 'c', asset: 'ZWG' }), 'pending_transfer_has_different_credit_account_id'],
      ['different asset over code', post('x', 'p', { asset: 'ZWG', code: 9 }), 'pending_transfer_has_different_asset'],
      ['different code over amount', post('x', 'p', { code: 9, amount: 101n }), 'pending_transfer_has_different_code'],
    ]);
    assert.equal(w.transfer(post('q', 'p', { amount: 40n })), 'ok');
    expectCodes(w, [
      ['retry of a post with more than was reserved', post('q', 'p', { amount: 101n }), 'exceeds_pending_transfer_amount'],
      ['retry of a post naming another pending', post('q', 'p2', { amount: 40n }), 'exists_with_different_pending_id'],
      ['retry of a post with another amount', post('q', 'p', { amount: 41n }), 'exists_with_different_amount'],
      // The registry lists pending_transfer_already_posted before exists, but a retry must be idempotent (as in TigerBeetle).
      ['retry of a post', post('q', 'p', { amount: 40n }), 'exists'],
      ['another post of the posted pending', post('q2', 'p'), 'pending_transfer_already_posted'],
    ]);
  });

  test('exists_with_different_* for transfers', () => {
    const w = world();
    const base = xfer('x1', 'a', 'b', 100n, { user_data: 'u' });
    assert.deepEqual(
      w.transfers([base, pending('p1', 'a', 'b', 50n, 10), pending('p2', 'a', 'b', 50n), pending('p3', 'a', 'b', 50n), post('q1', 'p2')]),
      ['ok', 'ok', 'ok', 'ok', 'ok'],
    );
    expectCodes(w, [
      ['same', base, 'exists'],
      ['flags', { ...base, flags: PENDING }, 'exists_with_different_flags'],
      ['pending_id', post('q1', 'p3'), 'exists_with_different_pending_id'],
      ['timeout', pending('p1', 'a', 'b', 50n, 20), 'exists_with_different_timeout'],
      ['debit account', { ...base, debit_account_id: 'c' }, 'exists_with_different_debit_account_id'],
      ['credit account', { ...base, credit_account_id: 'c' }, 'exists_with_different_credit_account_id'],
      ['amount', { ...base, amount: 101n }, 'exists_with_different_amount'],
      ['code', { ...base, code: 2 }, 'exists_with_different_code'],
      ['user_data', { ...base, user_data: 'v' }, 'exists_with_different_user_data'],
      ['user_data absent', { ...base, user_data: undefined }, 'exists_with_different_user_data'],
      ['reversal_of', { ...base, reversal_of: 'x0' }, 'exists_with_different_reversal_of'],
    ]);
  });

  test('exists_with_different_asset: only reachable when a looked-up record disagrees with its accounts', () => {
    // Through the ledger alone it is unreachable: a transfer's asset is its debit account's, and the
    // debit account is compared first. A store returning an inconsistent record is the only way in.
    const w = world();
    const ghost: Transfer = {
      id: 'ghost', timestamp: 1n, debit_account_id: 'a', credit_account_id: 'b', debit_account_no: 0, credit_account_no: 1,
      amount: 5n, pending_id: null, pending_amount: 0n, asset: 'ZWG', code: 1, flags: 0, timeout: 0, user_data: null, reversal_of: null,
    } as Transfer;
    const batch = w.ledger.begin({ ...NO_LOOKUPS, transfer: (id) => (id === 'ghost' ? ghost : undefined) });
    assert.deepEqual(seenTransfers(batch.createTransfers([xfer('ghost', 'a', 'b', 5n)])), ['exists_with_different_asset']);
    assert.equal(batch.records.length, 0);
  });
});

describe('two-phase transfers', () => {
  test('full post moves the whole reservation', () => {
    const w = world();
    assert.equal(w.transfer(pending('p', 'a', 'b', 100n, 0, { user_data: 'order-1' })), 'ok');
    assert.deepEqual(w.balances('a'), bal(100n, 0n, 0n, 0n));
    assert.deepEqual(w.balances('b'), bal(0n, 0n, 100n, 0n));
    assert.ok(w.ledger.pending.has('p'));
    assert.equal(w.transfer(post('q', 'p')), 'ok');
    const q = w.lastTransfer();
    assert.equal(q.amount, 100n);
    assert.equal(q.pending_amount, 100n);
    assert.equal(q.pending_id, 'p');
    assert.equal(q.debit_account_id, 'a');
    assert.equal(q.credit_account_id, 'b');
    assert.equal(q.user_data, 'order-1', 'a post inherits the pending user_data');
    assert.deepEqual(w.balances('a'), bal(0n, 100n, 0n, 0n));
    assert.deepEqual(w.balances('b'), bal(0n, 0n, 0n, 100n));
    assert.equal(w.ledger.pending.has('p'), false);
  });

  test('partial post: the rest of the reservation is released', () => {
    const w = world();
    assert.equal(w.transfer(pending('p', 'a', 'b', 100n)), 'ok');
    assert.equal(w.transfer(post('q', 'p', { amount: 30n, debit_account_id: 'a', credit_account_id: 'b', asset: 'USD', code: 1 })), 'ok');
    assert.equal(w.lastTransfer().amount, 30n);
    assert.equal(w.lastTransfer().pending_amount, 100n);
    assert.deepEqual(w.balances('a'), bal(0n, 30n, 0n, 0n));
    assert.deepEqual(w.balances('b'), bal(0n, 0n, 0n, 30n));
    assert.equal(w.transfer(post('q2', 'p', { amount: 70n })), 'pending_transfer_already_posted', 'the rest cannot be posted later');
  });

  test('post of more than reserved is refused', () => {
    const w = world();
    assert.equal(w.transfer(pending('p', 'a', 'b', 100n)), 'ok');
    assert.equal(w.transfer(post('q', 'p', { amount: 101n })), 'exceeds_pending_transfer_amount');
    assert.deepEqual(w.balances('a'), bal(100n, 0n, 0n, 0n));
  });

  test('void releases the reservation; a void must name the whole amount or none', () => {
    const w = world();
    assert.equal(w.transfer(xfer('fund', 'a', 'w', 500n)), 'ok');
    assert.equal(w.transfer(pending('p', 'w', 'b', 200n)), 'ok');
    assert.equal(available(w.account('w')), 300n);
    assert.equal(w.transfer(voidOf('v', 'p', { amount: 100n })), 'pending_transfer_has_different_amount');
    assert.equal(w.transfer(voidOf('v', 'p', { amount: 200n })), 'ok');
    const v = w.lastTransfer();
    assert.equal(v.amount, 200n);
    assert.equal(v.pending_amount, 200n);
    assert.equal(available(w.account('w')), 500n);
    assert.deepEqual(w.balances('w'), bal(0n, 0n, 0n, 500n));
    assert.deepEqual(w.balances('b'), bal(0n, 0n, 0n, 0n));
  });

  test('post after void and void after post, across batches and within one', () => {
    const w = world();
    assert.deepEqual(w.transfers([pending('p1', 'a', 'b', 10n), pending('p2', 'a', 'b', 10n)]), ['ok', 'ok']);
    assert.equal(w.transfer(voidOf('v1', 'p1')), 'ok');
    assert.equal(w.transfer(post('q1', 'p1')), 'pending_transfer_already_voided');
    assert.equal(w.transfer(post('q2', 'p2')), 'ok');
    assert.equal(w.transfer(voidOf('v2', 'p2')), 'pending_transfer_already_posted');
    assert.deepEqual(
      w.transfers([pending('p3', 'a', 'b', 10n), voidOf('v3', 'p3'), post('q3', 'p3'), pending('p4', 'a', 'b', 10n), post('q4', 'p4'), voidOf('v4', 'p4')]),
      ['ok', 'ok', 'pending_transfer_already_voided', 'ok', 'ok', 'pending_transfer_already_posted'],
    );
    assert.deepEqual(w.balances('a'), bal(0n, 20n, 0n, 0n));
  });

  test('a post or void of a transfer that is not pending', () => {
    const w = world();
    assert.equal(w.transfer(xfer('x', 'a', 'b', 10n)), 'ok');
    assert.equal(w.transfer(post('q', 'x')), 'pending_transfer_not_pending');
    assert.equal(w.transfer(pending('p', 'a', 'b', 10n)), 'ok');
    assert.equal(w.transfer(post('q', 'p')), 'ok');
    assert.equal(w.transfer(voidOf('v', 'q')), 'pending_transfer_not_pending', 'a post is not pending');
  });

  test('expiry: releases the reservation and records a transfer flagged expiry', () => {
    const w = world();
    assert.equal(w.transfer(xfer('fund', 'a', 'w', 100n)), 'ok');
    assert.equal(w.transfer(pending('p', 'w', 'b', 60n, 10, { user_data: 'hold' })), 'ok');
    const p = w.lastTransfer();
    assert.equal(available(w.account('w')), 40n);
    w.now = p.timestamp + 10n * S - 1n;
    assert.equal(w.expire(), 0, 'not before its timeout');
    assert.ok(w.ledger.pending.has('p'));
    w.now = p.timestamp + 10n * S;
    assert.equal(w.expire(), 1, 'exactly at its timeout');
    const e = w.lastTransfer();
    assert.equal(e.id, expiryId('p'));
    assert.equal(e.id, '~expiry:p');
    assert.equal(e.flags, TransferFlag.expiry);
    assert.equal(e.pending_id, 'p');
    assert.equal(e.amount, 60n);
    assert.equal(e.pending_amount, 60n);
    assert.equal(e.debit_account_id, 'w');
    assert.equal(e.credit_account_id, 'b');
    assert.equal(e.timeout, 0);
    assert.ok(e.timestamp > p.timestamp);
    assert.equal(w.ledger.pending.has('p'), false);
    assert.equal(available(w.account('w')), 100n);
    assert.deepEqual(w.balances('w'), bal(0n, 0n, 0n, 100n));
    assert.deepEqual(w.balances('b'), bal(0n, 0n, 0n, 0n));
    assert.equal(w.expire(), 0, 'expires once');
    assert.equal(w.transfer(post('q', 'p')), 'pending_transfer_expired');
    assert.equal(w.transfer(voidOf('v', 'p')), 'pending_transfer_expired');
  });

  test('post after the timeout but before expire() ran is refused and reserves nothing new', () => {
    const w = world();
    assert.equal(w.transfer(pending('p', 'a', 'b', 60n, 1)), 'ok');
    w.advance(2);
    assert.equal(w.transfer(post('q', 'p')), 'pending_transfer_expired');
    assert.deepEqual(w.balances('a'), bal(60n, 0n, 0n, 0n), 'released only by the expiry record');
    assert.equal(w.expire(), 1);
    assert.deepEqual(w.balances('a'), bal(0n, 0n, 0n, 0n));
    assert.equal(w.transfer(post('q', 'p')), 'pending_transfer_expired');
  });

  test('expiries come out in timeout order; a posted pending never expires; timeout 0 never expires', () => {
    const w = world();
    assert.deepEqual(
      w.transfers([pending('p30', 'a', 'b', 1n, 30), pending('p10', 'a', 'b', 2n, 10), pending('p20', 'a', 'b', 3n, 20), pending('p0', 'a', 'b', 4n, 0), pending('p5', 'a', 'b', 5n, 5)]),
      ['ok', 'ok', 'ok', 'ok', 'ok'],
    );
    assert.equal(w.transfer(post('q5', 'p5')), 'ok');
    assert.equal(w.ledger.nextExpiry(), w.committed.get('p10')!.timestamp + 10n * S, 'the posted pending is skipped');
    w.advance(25);
    assert.equal(w.expire(), 2);
    const ids = w.records.filter((r) => r.kind === 'transfer' && r.transfer.flags & TransferFlag.expiry).map((r) => (r as { transfer: Transfer }).transfer.id);
    assert.deepEqual(ids, ['~expiry:p10', '~expiry:p20']);
    w.advance(TIMEOUT_MAX_S);
    assert.equal(w.expire(), 1);
    assert.deepEqual([...w.ledger.pending.keys()], ['p0']);
    assert.equal(w.ledger.nextExpiry(), undefined);
  });

  test('a pending rolled back in a chain and created again keeps only its new timeout', () => {
    const w = world();
    assert.deepEqual(
      w.transfers([pending('p', 'a', 'b', 10n, 5, { flags: PENDING | LINKED }), xfer('bad', 'a', 'b', 0n)]),
      ['linked_event_failed', 'amount_must_not_be_zero'],
    );
    assert.equal(w.ledger.pending.has('p'), false);
    assert.equal(w.transfer(pending('p', 'a', 'b', 10n, 3600)), 'ok');
    const p = w.lastTransfer();
    w.advance(10);
    assert.equal(w.expire(), 0, 'the rolled-back pending\'s 5 s timeout must not expire the new one');
    assert.ok(w.ledger.pending.has('p'));
    assert.equal(w.ledger.nextExpiry(), p.timestamp + 3600n * S, 'the next expiry is the new pending\'s');
  });

  test('a post rolled back in a chain leaves the pending live and postable', () => {
    const w = world();
    assert.equal(w.transfer(pending('p', 'a', 'b', 10n, 60)), 'ok');
    assert.deepEqual(w.transfers([post('q', 'p', { flags: POST | LINKED }), xfer('bad', 'nope', 'b', 1n)]), ['linked_event_failed', 'debit_account_not_found']);
    assert.ok(w.ledger.pending.has('p'));
    assert.deepEqual(w.balances('a'), bal(10n, 0n, 0n, 0n));
    assert.equal(w.transfer(voidOf('v', 'p')), 'ok');
    assert.equal(w.transfer(post('q', 'p')), 'pending_transfer_already_voided');
  });
});

describe('linked chains', () => {
  test('a chain that succeeds applies every event', () => {
    const w = world();
    assert.deepEqual(
      w.transfers([xfer('t1', 'a', 'b', 10n, { flags: LINKED }), xfer('t2', 'b', 'c', 5n, { flags: LINKED }), xfer('t3', 'c', 'a', 1n)]),
      ['ok', 'ok', 'ok'],
    );
    assert.deepEqual(w.balances('a'), bal(0n, 10n, 0n, 1n));
    assert.deepEqual(w.balances('b'), bal(0n, 5n, 0n, 10n));
    assert.deepEqual(w.balances('c'), bal(0n, 1n, 0n, 5n));
    assert.equal(w.records.filter((r) => r.kind === 'transfer').length, 3);
  });

  test('a failure in the middle: earlier events fail and are rolled back, later ones fail', () => {
    const w = world();
    assert.equal(w.transfer(xfer('fund', 'a', 'w', 50n)), 'ok');
    const before = w.records.length;
    const results = w.transfers([
      xfer('t1', 'a', 'b', 10n, { flags: LINKED }),
      pending('t2', 'c', 'd', 7n, 30, { flags: PENDING | LINKED }),
      xfer('t3', 'w', 'b', 51n, { flags: LINKED }),
      xfer('t4', 'a', 'c', 1n, { flags: LINKED }),
      xfer('t5', 'a', 'c', 2n),
    ]);
    assert.deepEqual(results, ['linked_event_failed', 'linked_event_failed', 'exceeds_credits', 'linked_event_failed', 'linked_event_failed']);
    assert.equal(w.records.length, before, 'nothing of the chain is committed');
    assert.deepEqual(w.balances('a'), bal(0n, 50n, 0n, 0n));
    assert.deepEqual(w.balances('b'), bal(0n, 0n, 0n, 0n));
    assert.deepEqual(w.balances('c'), bal(0n, 0n, 0n, 0n));
    assert.deepEqual(w.balances('w'), bal(0n, 0n, 0n, 50n));
    assert.equal(w.ledger.pending.has('t2'), false);
    assert.equal(w.ledger.nextExpiry(), undefined);
    // Ids of a failed chain are not taken.
    assert.deepEqual(w.transfers([xfer('t1', 'a', 'b', 10n), pending('t2', 'c', 'd', 7n, 30)]), ['ok', 'ok']);
  });

  test('an event after a failed chain in the same batch is independent of it', () => {
    const w = world();
    assert.deepEqual(
      w.transfers([xfer('t1', 'a', 'b', 10n, { flags: LINKED }), xfer('t2', 'nope', 'b', 1n), xfer('t3', 'a', 'd', 3n), xfer('t4', 'a', 'a', 3n)]),
      ['linked_event_failed', 'debit_account_not_found', 'ok', 'accounts_must_be_different'],
    );
    assert.deepEqual(w.balances('d'), bal(0n, 0n, 0n, 3n));
  });

  test('exists counts as success inside a chain', () => {
    const w = world();
    const chain = [xfer('t1', 'a', 'b', 10n, { flags: LINKED }), xfer('t2', 'a', 'b', 1n)];
    assert.deepEqual(w.transfers(chain), ['ok', 'ok']);
    assert.deepEqual(w.transfers(chain), ['exists', 'exists'], 'a retried chain');
    assert.deepEqual(w.transfers([chain[0], xfer('t3', 'a', 'b', 2n)]), ['exists', 'ok']);
    // linked is part of the flags a retry must repeat (as in TigerBeetle).
    assert.deepEqual(w.transfers([xfer('t1', 'a', 'b', 10n), xfer('t4', 'a', 'b', 4n)]), ['exists_with_different_flags', 'ok']);
    assert.deepEqual(w.transfers([xfer('t2', 'a', 'b', 1n, { flags: LINKED }), xfer('t5', 'a', 'b', 8n)]), ['exists_with_different_flags', 'linked_event_failed']);
    assert.deepEqual(w.balances('a'), bal(0n, 10n + 1n + 2n + 4n, 0n, 0n));
  });

  test('a chain left open at the end of the batch fails whole', () => {
    const w = world();
    assert.deepEqual(
      w.transfers([xfer('t0', 'a', 'b', 1n), xfer('t1', 'a', 'b', 10n, { flags: LINKED }), xfer('t2', 'a', 'c', 10n, { flags: LINKED })]),
      ['ok', 'linked_event_failed', 'linked_event_chain_open'],
    );
    assert.deepEqual(w.balances('a'), bal(0n, 1n, 0n, 0n));
    assert.deepEqual(w.transfers([xfer('t9', 'a', 'b', 10n, { flags: LINKED })]), ['linked_event_chain_open'], 'a one-event batch');
  });

  test('a broken chain whose last event is linked: linked_event_failed (registry order)', () => {
    // TigerBeetle answers linked_event_chain_open for the last event here; mari follows its registry.
    const w = world();
    assert.deepEqual(
      w.transfers([xfer('t1', 'nope', 'b', 10n, { flags: LINKED }), xfer('t2', 'a', 'c', 10n, { flags: LINKED })]),
      ['debit_account_not_found', 'linked_event_failed'],
    );
  });

  test('two independent chains in one batch', () => {
    const w = world();
    assert.deepEqual(
      w.transfers([
        xfer('a1', 'a', 'b', 1n, { flags: LINKED }),
        xfer('a2', 'a', 'b', 2n),
        xfer('solo', 'a', 'b', 4n),
        xfer('b1', 'a', 'c', 8n, { flags: LINKED }),
        xfer('b2', 'a', 'c', 16n, { flags: LINKED }),
        xfer('b3', 'a', 'a', 32n),
        xfer('c1', 'a', 'd', 64n, { flags: LINKED }),
        xfer('c2', 'a', 'd', 128n),
      ]),
      ['ok', 'ok', 'ok', 'linked_event_failed', 'linked_event_failed', 'accounts_must_be_different', 'ok', 'ok'],
    );
    assert.deepEqual(w.balances('a'), bal(0n, 1n + 2n + 4n + 64n + 128n, 0n, 0n));
    assert.deepEqual(w.balances('c'), bal(0n, 0n, 0n, 0n));
  });

  test('a chain can depend on an earlier event of itself (fund then spend)', () => {
    const w = world();
    assert.deepEqual(
      w.transfers([xfer('f', 'a', 'w', 10n, { flags: LINKED }), xfer('s', 'w', 'b', 10n)]),
      ['ok', 'ok'],
    );
    assert.deepEqual(
      w.transfers([xfer('f2', 'a', 'w', 10n, { flags: LINKED }), xfer('s2', 'w', 'b', 11n)]),
      ['linked_event_failed', 'exceeds_credits'],
    );
    assert.equal(available(w.account('w')), 0n);
  });
});

describe('reversals', () => {
  test('a reversal swaps the accounts and restores the balances; twice is refused', () => {
    const w = world();
    assert.equal(w.transfer(xfer('fund', 'a', 'w', 100n)), 'ok');
    assert.equal(w.transfer(xfer('pay', 'w', 'b', 30n)), 'ok');
    assert.equal(w.transfer(xfer('rev', 'b', 'w', 30n, { reversal_of: 'pay' })), 'ok');
    assert.equal(w.lastTransfer().reversal_of, 'pay');
    assert.equal(available(w.account('w')), 100n);
    assert.equal(w.transfer(xfer('rev', 'b', 'w', 30n, { reversal_of: 'pay' })), 'exists', 'a retry of the reversal');
    assert.equal(w.transfer(xfer('rev2', 'b', 'w', 1n, { reversal_of: 'pay' })), 'reversal_already_reversed');
    assert.deepEqual(
      w.transfers([xfer('pay2', 'w', 'b', 5n), xfer('r1', 'b', 'w', 5n, { reversal_of: 'pay2' }), xfer('r2', 'b', 'w', 5n, { reversal_of: 'pay2' })]),
      ['ok', 'ok', 'reversal_already_reversed'],
      'within one batch',
    );
  });

  test('refusals: wrong accounts, larger amount, pending/void/expiry originals', () => {
    const w = world();
    assert.deepEqual(
      w.transfers([xfer('pay', 'a', 'b', 30n), pending('p', 'a', 'b', 10n), pending('pv', 'a', 'b', 10n), pending('pe', 'a', 'b', 10n, 1), xfer('zz', 'z', 'y', 3n, { asset: 'ZWG' })]),
      ['ok', 'ok', 'ok', 'ok', 'ok'],
    );
    assert.equal(w.transfer(voidOf('v', 'pv')), 'ok');
    w.advance(2);
    assert.equal(w.expire(), 1);
    expectCodes(w, [
      ['same direction', xfer('r', 'a', 'b', 30n, { reversal_of: 'pay' }), 'reversal_must_swap_accounts'],
      ['another debit account', xfer('r', 'c', 'a', 30n, { reversal_of: 'pay' }), 'reversal_must_swap_accounts'],
      ['another credit account', xfer('r', 'b', 'c', 30n, { reversal_of: 'pay' }), 'reversal_must_swap_accounts'],
      ['another asset', xfer('r', 'y', 'z', 3n, { asset: 'ZWG', reversal_of: 'pay' }), 'reversal_must_swap_accounts'],
      ['larger amount', xfer('r', 'b', 'a', 31n, { reversal_of: 'pay' }), 'reversal_exceeds_original_amount'],
      ['of a pending', xfer('r', 'b', 'a', 10n, { reversal_of: 'p' }), 'reversal_original_not_posted'],
      ['of a void', xfer('r', 'b', 'a', 10n, { reversal_of: 'v' }), 'reversal_original_not_posted'],
      ['of an expiry', xfer('r', 'b', 'a', 10n, { reversal_of: '~expiry:pe' }), 'reversal_original_not_posted'],
      ['of nothing', xfer('r', 'b', 'a', 10n, { reversal_of: 'nope' }), 'reversal_original_not_found'],
    ]);
    assert.equal(w.transfer(xfer('r', 'b', 'a', 12n, { reversal_of: 'pay' })), 'ok', 'a partial reversal');
    assert.deepEqual(w.balances('b').credits_posted - w.balances('b').debits_posted, 18n);
  });

  test('a post can be reversed', () => {
    const w = world();
    assert.deepEqual(w.transfers([pending('p', 'a', 'b', 10n), post('q', 'p', { amount: 7n })]), ['ok', 'ok']);
    assert.equal(w.transfer(xfer('r', 'b', 'a', 8n, { reversal_of: 'q' })), 'reversal_exceeds_original_amount', 'only what the post moved');
    assert.equal(w.transfer(xfer('r', 'b', 'a', 7n, { reversal_of: 'q' })), 'ok');
    assert.deepEqual(w.balances('a'), bal(0n, 7n, 0n, 7n));
  });

  test('a reversal in a rolled-back chain does not count', () => {
    const w = world();
    assert.equal(w.transfer(xfer('pay', 'a', 'b', 30n)), 'ok');
    assert.deepEqual(w.transfers([xfer('r1', 'b', 'a', 30n, { reversal_of: 'pay', flags: LINKED }), xfer('bad', 'a', 'a', 1n)]), ['linked_event_failed', 'accounts_must_be_different']);
    assert.equal(w.transfer(xfer('r2', 'b', 'a', 30n, { reversal_of: 'pay' })), 'ok');
  });
});

describe('overflow', () => {
  test('pending overflows', () => {
    const w = world();
    assert.equal(w.transfer(pending('big', 'a', 'b', AMOUNT_MAX)), 'ok');
    assert.equal(w.transfer(pending('x', 'a', 'c', 1n)), 'overflows_debits_pending');
    assert.equal(w.transfer(pending('x', 'c', 'b', 1n)), 'overflows_credits_pending');
    assert.deepEqual(w.balances('a'), bal(AMOUNT_MAX, 0n, 0n, 0n));
    assert.deepEqual(w.balances('b'), bal(0n, 0n, AMOUNT_MAX, 0n));
    assert.deepEqual(w.balances('c'), bal(0n, 0n, 0n, 0n));
    assert.equal(w.transfer(post('q', 'big')), 'ok', 'posting a full reservation never overflows');
    assert.deepEqual(w.balances('a'), bal(0n, AMOUNT_MAX, 0n, 0n));
  });

  test('posted overflows', () => {
    const w = world();
    assert.equal(w.transfer(xfer('big', 'a', 'b', AMOUNT_MAX)), 'ok');
    assert.equal(w.transfer(xfer('x', 'a', 'c', 1n)), 'overflows_debits_posted');
    assert.equal(w.transfer(xfer('x', 'c', 'b', 1n)), 'overflows_credits_posted');
    assert.deepEqual(w.balances('a'), bal(0n, AMOUNT_MAX, 0n, 0n));
    assert.deepEqual(w.balances('b'), bal(0n, 0n, 0n, AMOUNT_MAX));
  });

  test('pending plus posted overflows', () => {
    const w = world();
    assert.deepEqual(w.transfers([xfer('d1', 'a', 'b', AMOUNT_MAX - 10n), pending('c1', 'c', 'd', AMOUNT_MAX - 10n)]), ['ok', 'ok']);
    assert.equal(w.transfer(pending('x', 'a', 'c', 11n)), 'overflows_debits', 'a: posted MAX-10 + pending 11');
    assert.equal(w.transfer(xfer('x', 'c', 'a', 11n)), 'overflows_debits', 'c: pending MAX-10 + posted 11');
    assert.equal(w.transfer(pending('x', 'c', 'b', 11n)), 'overflows_debits_pending');
    assert.equal(w.transfer(pending('x', 'w', 'c', 11n)), 'exceeds_credits');
    assert.equal(w.transfer(pending('x', 't', 'b', 11n)), 'overflows_credits', 'b: posted MAX-10 + pending 11');
    assert.equal(w.transfer(xfer('x', 't', 'd', 11n)), 'overflows_credits', 'd: pending MAX-10 + posted 11');
    // Exactly at the bound is fine.
    assert.equal(w.transfer(pending('x', 'a', 'c', 10n)), 'ok');
    assert.deepEqual(w.balances('a'), bal(10n, AMOUNT_MAX - 10n, 0n, 0n));
    for (const account of w.ledger.accountsByNo) {
      assert.ok(account.debits_pending + account.debits_posted <= AMOUNT_MAX, `${account.id} debits never wrap`);
      assert.ok(account.credits_pending + account.credits_posted <= AMOUNT_MAX, `${account.id} credits never wrap`);
      for (const value of Object.values(w.balances(account.id))) assert.ok(value >= 0n);
    }
  });

  test('bounded accounts: exceeds_credits and exceeds_debits count pending amounts', () => {
    const w = world();
    assert.deepEqual(w.transfers([xfer('fund', 'a', 'w', 100n), xfer('back', 't', 'a', 100n)]), ['ok', 'ok']);
    assert.equal(w.transfer(pending('hold', 'w', 'b', 60n)), 'ok');
    assert.equal(w.transfer(xfer('x', 'w', 'b', 41n)), 'exceeds_credits');
    assert.equal(w.transfer(xfer('x', 'w', 'b', 40n)), 'ok');
    assert.equal(w.transfer(pending('hold2', 'b', 't', 60n)), 'ok');
    assert.equal(w.transfer(xfer('y', 'b', 't', 41n)), 'exceeds_debits');
    assert.equal(w.transfer(xfer('y', 'b', 't', 40n)), 'ok');
    assert.equal(available(w.account('w')), 0n);
    assert.equal(available(w.account('t')), 0n);
  });
});

describe('timestamps and balances', () => {
  test('timestamps strictly increase even when the clock stands still or goes back', () => {
    const w = new World();
    w.now = T0;
    assert.deepEqual(w.accounts([{ id: 'a', asset: 'USD', code: 1 }, { id: 'b', asset: 'USD', code: 1 }]), ['ok', 'ok']);
    assert.equal(w.account('a').timestamp, T0);
    assert.equal(w.account('b').timestamp, T0 + 1n);
    w.now = T0 - 60n * S;
    assert.deepEqual(w.transfers([xfer('t1', 'a', 'b', 1n), pending('t2', 'a', 'b', 1n, 1)]), ['ok', 'ok']);
    w.now = 0n;
    assert.equal(w.transfer(post('t3', 't2')), 'ok');
    w.now = T0 + 5n * S;
    assert.equal(w.transfer(xfer('t4', 'a', 'b', 1n)), 'ok');
    assert.equal(w.lastTransfer().timestamp, T0 + 5n * S, 'the wall clock is used when it is ahead');
    w.now = T0;
    assert.equal(w.transfer(xfer('t5', 'a', 'b', 1n)), 'ok');
    const stamps = w.records.map((r) => (r.kind === 'account' ? r.account.timestamp : r.transfer.timestamp));
    for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i] > stamps[i - 1], `record ${i} after record ${i - 1}`);
    assert.equal(stamps.at(-1), T0 + 5n * S + 1n);
    assert.equal(w.ledger.lastTimestamp, stamps.at(-1));
  });

  test('available() for wallets, asset-side accounts and unbounded accounts', () => {
    const w = world();
    assert.deepEqual(w.transfers([xfer('fund', 'a', 'w', 1000n), pending('hold', 'w', 'b', 300n), xfer('spend', 'w', 'c', 200n)]), ['ok', 'ok', 'ok']);
    assert.deepEqual(w.balances('w'), bal(300n, 200n, 0n, 1000n));
    assert.equal(available(w.account('w')), 500n, 'credits posted − debits posted − debits pending');
    assert.equal(w.transfer(xfer('x', 'w', 'c', 501n)), 'exceeds_credits');
    assert.deepEqual(w.transfers([xfer('trust', 't', 'a', 1000n), pending('in', 'b', 't', 300n), xfer('in2', 'c', 't', 200n)]), ['ok', 'ok', 'ok']);
    assert.deepEqual(w.balances('t'), bal(0n, 1000n, 300n, 200n));
    assert.equal(available(w.account('t')), 500n, 'debits posted − credits posted − credits pending');
    assert.equal(w.transfer(xfer('y', 'c', 't', 501n)), 'exceeds_debits');
    assert.equal(w.transfer(xfer('y', 'c', 't', 500n)), 'ok');
    assert.equal(available(w.account('t')), 0n);
    // An unbounded account uses the credit-normal formula and may go negative.
    assert.deepEqual(w.balances('a'), bal(0n, 1000n, 0n, 1000n));
    assert.equal(available(w.account('a')), 0n);
    assert.equal(available(w.account('c')), 200n - 200n - 500n);
    assert.equal(available({ ...bal(7n, 0n, 0n, 10n), flags: 0 }), 3n);
    assert.equal(available({ ...bal(0n, 10n, 7n, 0n), flags: TRUST }), 3n);
  });

  test('replaying the committed records into a fresh ledger reproduces its state', () => {
    const w = world();
    assert.deepEqual(
      w.transfers([xfer('fund', 'a', 'w', 100n), pending('p1', 'w', 'b', 30n, 10), pending('p2', 'a', 'c', 5n), post('q2', 'p2', { amount: 2n }), xfer('r', 'b', 'a', 1n, { reversal_of: 'nope' })]),
      ['ok', 'ok', 'ok', 'ok', 'reversal_original_not_found'],
    );
    w.advance(11);
    assert.equal(w.expire(), 1);
    const fresh = new Ledger({ assets: DEFAULT_ASSETS, clock: () => T0 });
    for (const record of w.records) {
      // The live account objects carry current balances; replay starts each account from zero.
      fresh.replay(record.kind === 'account'
        ? { kind: 'account', account: { ...record.account, debits_pending: 0n, debits_posted: 0n, credits_pending: 0n, credits_posted: 0n } }
        : record);
    }
    fresh.checkInvariants();
    for (const account of w.ledger.accountsByNo) {
      const replayed = fresh.accounts.get(account.id)!;
      assert.deepEqual(
        { dp: replayed.debits_pending, dpo: replayed.debits_posted, cp: replayed.credits_pending, cpo: replayed.credits_posted },
        { dp: account.debits_pending, dpo: account.debits_posted, cp: account.credits_pending, cpo: account.credits_posted },
        account.id,
      );
    }
    assert.deepEqual([...fresh.pending.keys()], [...w.ledger.pending.keys()]);
    const last = w.records.at(-1)!;
    assert.equal(fresh.lastTimestamp, last.kind === 'transfer' ? last.transfer.timestamp : last.account.timestamp);
  });

  test('begin(NO_LOOKUPS): one batch sees its own transfers without a store', () => {
    const ledger = new Ledger({ assets: DEFAULT_ASSETS, clock: () => T0 });
    const batch = ledger.begin(NO_LOOKUPS);
    assert.deepEqual(seenAccounts(batch.createAccounts([{ id: 'a', asset: 'SMS', code: 1 }, { id: 'b', asset: 'SMS', code: 1 }])), ['ok', 'ok']);
    assert.deepEqual(
      seenTransfers(batch.createTransfers([
        { id: 'p', debit_account_id: 'a', credit_account_id: 'b', amount: 3n, asset: 'SMS', code: 1, flags: PENDING },
        { id: 'q', pending_id: 'p', flags: POST },
        { id: 'q', pending_id: 'p', flags: POST },
      ])),
      ['ok', 'ok', 'exists'],
    );
    assert.equal(batch.records.length, 4);
    // Each change counted: the pending and its post each touched both accounts.
    assert.deepEqual(batch.touched.map((no) => ledger.accountsByNo[no].id), ['a', 'b', 'a', 'b']);
    ledger.checkInvariants();
  });

  test('a batch finds its own transfers by scanning, then by an index it builds, and forgets a failed chain\'s', () => {
    const ledger = new Ledger({ assets: DEFAULT_ASSETS, clock: () => T0 });
    const batch = ledger.begin(NO_LOOKUPS);
    batch.createAccounts([{ id: 'a', asset: 'SMS', code: 1 }, { id: 'b', asset: 'SMS', code: 1 }]);
    const t = (id: string, amount: bigint, flags = 0) => ({ id, debit_account_id: 'a', credit_account_id: 'b', amount, asset: 'SMS', code: 1, flags });
    const firsts = Array.from({ length: 40 }, (_, i) => t(`t${i}`, 1n));
    // A chain whose second event fails (b cannot be credited from a missing account): its first is undone.
    const chain = [t('c1', 1n, LINKED), { ...t('c2', 1n), debit_account_id: 'nobody' }];
    const retries = firsts.map((input) => ({ ...input }));
    const changed = t('t7', 2n);
    const results = batch.createTransfers([...firsts, ...chain, ...retries, changed, t('c1', 5n)]);
    assert.deepEqual(results.slice(0, 40), Array(40).fill('ok'));
    assert.deepEqual(results.slice(40, 42), ['linked_event_failed', 'debit_account_not_found']);
    assert.deepEqual(results.slice(42, 82), Array(40).fill('exists'), 'each retry found: two by a scan, the rest by the index');
    assert.equal(results[82], 'exists_with_different_amount');
    assert.equal(results[83], 'ok', 'the failed chain\'s c1 is not this batch\'s: a new transfer may take its id');
    assert.equal(batch.find('c1')?.amount, 5n);
  });
});

test('every account and transfer result code was produced by some test', () => {
  const missingAccounts = ACCOUNT_RESULT_CODES.filter((code) => !observedAccountCodes.has(code));
  const missingTransfers = TRANSFER_RESULT_CODES.filter((code) => !observedTransferCodes.has(code));
  assert.deepEqual(missingAccounts, [], 'account codes never produced');
  assert.deepEqual(missingTransfers, [], 'transfer codes never produced');
});

test('assertAccountBounds stops on each broken bound and names it with the account', () => {
  const base = { id: 'w', no: 0, asset: 'USD', code: 1, flags: AccountFlag.debits_must_not_exceed_credits, user_data: null, timestamp: 1n, debits_pending: 0n, debits_posted: 10n, credits_pending: 0n, credits_posted: 10n };
  assert.doesNotThrow(() => assertAccountBounds(base));
  assert.doesNotThrow(() => assertAccountBounds({ ...base, flags: AccountFlag.credits_must_not_exceed_debits }));
  const broken: [Partial<typeof base>, RegExp][] = [
    [{ debits_pending: -1n }, /pending never negative \(w\)/],
    [{ credits_pending: -1n }, /pending never negative/],
    [{ credits_posted: -1n, flags: 0 }, /posted never negative/],
    [{ debits_pending: AMOUNT_MAX + 1n, credits_posted: AMOUNT_MAX, flags: 0 }, /pending within bounds/],
    [{ debits_posted: AMOUNT_MAX + 1n, flags: 0 }, /posted within bounds/],
    [{ debits_pending: 1n }, /debits must not exceed credits \(w\)/],
    [{ debits_posted: 11n }, /debits must not exceed credits/],
    [{ credits_pending: 1n, flags: AccountFlag.credits_must_not_exceed_debits }, /credits must not exceed debits/],
    [{ credits_posted: 11n, flags: AccountFlag.credits_must_not_exceed_debits }, /credits must not exceed debits/],
  ];
  for (const [change, message] of broken) assert.throws(() => assertAccountBounds({ ...base, ...change }), message, JSON.stringify(change, (_, v) => (typeof v === 'bigint' ? String(v) : v)));
});

test('a long batch answers as the same events split at their chains: accounts looked up ahead never go stale', async () => {
  const fc = (await import('fast-check')).default;
  // Chains of 1-4 events; some name an unknown account or overdraw, breaking their chain part way,
  // so the ledger skips events and its lookahead window must follow wherever the index lands.
  const arbEvent = fc.record({
    debit: fc.constantFrom('a', 'b', 'c', 'd', 'ghost'), credit: fc.constantFrom('a', 'b', 'c', 'd', 'e'), amount: fc.bigInt({ min: 1n, max: 40n }),
  });
  const arbChains = fc.array(fc.array(arbEvent, { minLength: 1, maxLength: 4 }), { minLength: 20, maxLength: 60 });
  fc.assert(fc.property(arbChains, (chains) => {
    const open = (): Ledger => {
      const ledger = new Ledger({ assets: DEFAULT_ASSETS, clock: () => T0 });
      const batch = ledger.begin(NO_LOOKUPS);
      batch.createAccounts(['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, asset: 'USD', code: 1, flags: id === 'e' ? 0 : WALLET })));
      batch.createAccounts([{ id: 'bank', asset: 'USD', code: 1 }]);
      batch.createTransfers(['a', 'b', 'c', 'd'].map((id) => ({ id: `fund-${id}`, debit_account_id: 'bank', credit_account_id: id, amount: 100n, asset: 'USD', code: 1 })));
      return ledger;
    };
    let n = 0;
    const inputs = chains.map((chain) => chain.map((e, i): TransferInput => ({
      id: `t${n++}`, debit_account_id: e.debit, credit_account_id: e.credit, amount: e.amount, asset: 'USD', code: 1, flags: i < chain.length - 1 ? LINKED : 0,
    })));
    const whole = open();
    const together = whole.begin(NO_LOOKUPS).createTransfers(inputs.flat());
    const split = open();
    const apart = inputs.flatMap((chain) => split.begin(NO_LOOKUPS).createTransfers(chain));
    assert.deepEqual(together, apart);
    const balances = (l: Ledger) => l.accountsByNo.map((a) => [a.id, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted]);
    assert.deepEqual(balances(whole), balances(split));
  }), { numRuns: 200 });
});
