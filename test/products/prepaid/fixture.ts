// Shared set-up for prepaid tests: a ledger on a fresh data directory with a controllable clock,
// the prepaid module on it (timer off: tests run due expiries themselves), and the checks every
// test ends with (journal verification, conservation per asset, invariants).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { RequestError, type RequestErrorCode } from '../../../src/errors/registry.js';
import { AccountFlag, available } from '../../../src/ledger/types.js';
import { openLedger, type LedgerHandle } from '../../../src/store/open.js';
import type { SqliteStore } from '../../../src/store/sqlite.js';
import type { StoredDocument } from '../../../src/store/store.js';
import { AccountCode, walletId, type Currency } from '../../../src/products/accounts.js';
import { normalizeMsisdn, type Msisdn } from '../../../src/products/msisdn.js';
import type { Party } from '../../../src/products/parties.js';
import type { WalletDirectory } from '../../../src/products/wallets.js';
import { PREPAID_DEFAULTS, PrepaidModule, type PrepaidOptions } from '../../../src/products/prepaid/module.js';

export const NS_PER_S = 1_000_000_000n;
export const HOUR_NS = 3_600n * NS_PER_S;
export const DAY_NS = 24n * HOUR_NS;
/** 2026-11-23 12:00 Harare (10:00 UTC). */
export const START_NS = BigInt(Date.UTC(2026, 10, 23, 10, 0, 0)) * 1_000_000n;

export const ALICE = '0772123456';
export const BOB = '0712345678';

export interface Fixture {
  dir: string;
  handle: LedgerHandle;
  prepaid: PrepaidModule;
  wallets: TestWallets;
  /** The ledger clock, in ns; set or advance it. */
  clock: { now: bigint };
  advance(ns: bigint): void;
  /** Closes and reopens the ledger and module on the same data directory (state from documents). */
  reopen(): Promise<void>;
}

export async function openPrepaid(t: TestContext, options: Partial<PrepaidOptions> = {}): Promise<Fixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-prepaid-'));
  const clock = { now: START_NS };
  const wallets = new TestWallets();
  const open = async () => {
    const handle = await openLedger({ dataDir: dir, clock: () => clock.now });
    wallets.handle = handle;
    const prepaid = await new PrepaidModule(handle, { ...PREPAID_DEFAULTS, voucher_scrypt_cost: 1024, timer: false, ...options }, { dataDir: dir, wallets }).start();
    return { handle, prepaid };
  };
  const fixture: Fixture = {
    dir, clock, wallets, ...(await open()),
    advance: (ns) => void (clock.now += ns),
    async reopen() {
      await fixture.prepaid.close();
      await fixture.handle.close();
      Object.assign(fixture, await open());
    },
  };
  t.after(async () => {
    await fixture.prepaid.close();
    await fixture.handle.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return fixture;
}

/**
 * A small WalletDirectory over real ledger accounts, standing in for mobile money until it lands:
 * wallets are created and funded with plain ledger transfers; PINs are plain strings.
 */
export class TestWallets implements WalletDirectory {
  handle!: LedgerHandle;
  private readonly parties = new Map<string, { party: Party; pin: string }>();

  async register(msisdn_input: string, funding: bigint, pin = '1234'): Promise<string> {
    const msisdn = normalizeMsisdn(msisdn_input)!;
    const party: Party = {
      id: `sub${this.parties.size + 1}`, kind: 'subscriber', name: 'Test', status: 'active', msisdn, kyc_tier: 2, language: 'sn',
      code: null, legacy: null, created_at: new Date().toISOString(),
    };
    this.parties.set(msisdn, { party, pin });
    const id = walletId(party.id, 'USD');
    const created = await this.handle.writer.createAccounts([
      { id: 'test:float:USD', asset: 'USD', code: 1 },
      { id, asset: 'USD', code: AccountCode.subscriber_wallet, flags: AccountFlag.debits_must_not_exceed_credits },
    ]);
    assert.ok(created.every((r) => r === 'ok' || r === 'exists'));
    if (funding > 0n) {
      assert.deepEqual(await this.handle.writer.createTransfers([{ id: `fund:${party.id}`, debit_account_id: 'test:float:USD', credit_account_id: id, amount: funding, asset: 'USD', code: 1 }]), ['ok']);
    }
    return id;
  }

  subscriberOf(msisdn: Msisdn): Party | undefined {
    return this.parties.get(msisdn)?.party;
  }

  walletOf(msisdn: Msisdn, currency: Currency): string | undefined {
    const found = this.parties.get(msisdn);
    return found ? walletId(found.party.id, currency) : undefined;
  }

  async verifyPin(msisdn: Msisdn, pin: string): Promise<void> {
    if (this.parties.get(msisdn)?.pin !== pin) throw new RequestError('invalid_request', { field: 'pin' });
  }
}

/** Asserts the promise is refused with `code` (and returns the error's details). */
export async function refused(promise: Promise<unknown>, code: RequestErrorCode): Promise<any> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RequestError, `expected RequestError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${JSON.stringify(error.details)}`);
    return error.details;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

/** Every account's balances and the journal's record count: what a refusal must leave unchanged. */
export function ledgerState(handle: LedgerHandle): string {
  const parts: string[] = [];
  for (const a of handle.ledger.accounts.values()) parts.push(`${a.id}=${a.debits_pending}/${a.debits_posted}/${a.credits_pending}/${a.credits_posted}`);
  return `${parts.join(',')}#${(handle.store as SqliteStore).verifySource().recordCount()}`;
}

/** The journal verifies (chain, recomputed balances, conservation) and in-memory invariants hold. */
export async function assertSound(handle: LedgerHandle): Promise<void> {
  await handle.writer.settled();
  handle.ledger.checkInvariants();
  const report = (handle.store as SqliteStore).verify();
  assert.equal(report.ok, true, JSON.stringify(report.failure));
  const totals = new Map<string, bigint>();
  for (const account of handle.ledger.accounts.values()) {
    totals.set(account.asset, (totals.get(account.asset) ?? 0n) + account.credits_posted - account.debits_posted);
    assert.ok(!(account.flags & AccountFlag.debits_must_not_exceed_credits) || available(account) >= 0n, `${account.id} is not overdrawn`);
  }
  for (const [asset, total] of totals) assert.equal(total, 0n, `${asset} sums to zero`);
}

export async function documents(handle: LedgerHandle, collection: string, query: { tag?: string } = {}): Promise<StoredDocument[]> {
  await handle.writer.settled();
  const out: StoredDocument[] = [];
  for await (const doc of handle.store.documents(collection, query)) out.push(doc);
  return out;
}

/** Gives a line airtime through the migration import (the opening-balance path). */
export async function giveAirtime(f: Fixture, msisdn: string, amount: bigint, id = `a${Math.random().toString(36).slice(2, 10)}`): Promise<void> {
  assert.equal(await f.prepaid.importLegacyBucket({ id, msisdn, kind: 'airtime', amount }), 'ok');
}

export async function airtimeOf(f: Fixture, msisdn: string, currency: Currency = 'USD'): Promise<bigint> {
  const balance = (await f.prepaid.airtimeBalance(msisdn)).find((b) => b.currency === currency)!;
  return BigInt(balance.available);
}

/** A data bundle (1 GB, 1.00, 30 days), a night bundle (22:00–06:00) and a voice bundle. */
export async function seedCatalog(f: Fixture): Promise<void> {
  await f.prepaid.putBundle({ code: 'DATA1G', name: '1GB Data', service: 'data', price: '100', currency: 'USD', units: '1048576', validity_s: 30 * 86_400, window: null });
  await f.prepaid.putBundle({ code: 'NIGHT', name: 'Night Data', service: 'data', price: '50', currency: 'USD', units: '2097152', validity_s: 7 * 86_400, window: { from: '22:00', to: '06:00' } });
  await f.prepaid.putBundle({ code: 'DAILY', name: 'Daily Data', service: 'data', price: '20', currency: 'USD', units: '102400', validity_s: 86_400, window: null });
  await f.prepaid.putBundle({ code: 'VOICE30', name: '30 Minutes', service: 'voice', price: '150', currency: 'USD', units: '1800', validity_s: 7 * 86_400, window: null });
}
