// Shared set-up for mobile money tests: a fresh ledger with the money module over it (no HTTP),
// a controllable clock, parties and PINs, and the checks every test ends with.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { RequestError } from '../../../src/errors/registry.js';
import { openLedger, type LedgerHandle } from '../../../src/store/open.js';
import { MoneyModule } from '../../../src/products/money/module.js';
import { Tariff } from '../../../src/products/money/tariff.js';
import { OUTBOX, type OutboxMessage } from '../../../src/products/outbox.js';
import { walletId, type Currency } from '../../../src/products/accounts.js';
import type { Party } from '../../../src/products/parties.js';
import { available } from '../../../src/ledger/types.js';

export interface MoneyFixture {
  dir: string;
  handle: LedgerHandle;
  money: MoneyModule;
  /** Moves the module's clock (limits' days and months, message times). */
  clock: { now: Date };
  reopen(): Promise<void>;
}

export const PIN = '2580';

export async function openMoney(t: TestContext, options: { now?: Date; tariff?: Tariff; cash_out_timeout_s?: number } = {}): Promise<MoneyFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-money-'));
  const clock = { now: options.now ?? new Date('2026-11-23T08:00:00Z') };
  const tariff = options.tariff ?? Tariff.load();
  const open = async () => {
    const handle = await openLedger({ dataDir: dir });
    // Lapsed cash-outs are closed when a test asks (closeExpiredCashOuts), not on a timer.
    const money = await MoneyModule.open(handle, { tariff, clock: () => clock.now, cash_out_timeout_s: options.cash_out_timeout_s, expired_cash_out_sweep_ms: 0 });
    return { handle, money };
  };
  const fixture: MoneyFixture = {
    dir, clock, ...(await open()),
    async reopen() {
      await fixture.handle.close();
      Object.assign(fixture, await open());
    },
  };
  t.after(async () => {
    await fixture.handle.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return fixture;
}

/** A subscriber with a PIN set. */
export async function subscriber(f: MoneyFixture, msisdn: string, options: { name?: string; kyc_tier?: 0 | 1 | 2; language?: 'en' | 'sn' | 'nd'; pin?: string | null } = {}): Promise<Party> {
  const party = await f.money.registerSubscriber({ msisdn, name: options.name ?? `Sub ${msisdn.slice(-4)}`, kyc_tier: options.kyc_tier ?? 2, language: options.language });
  if (options.pin !== null) await f.money.setPin({ msisdn, pin: options.pin ?? PIN });
  return party;
}

let funding = 0;
/** Money into a wallet from a bank (registered on first use). */
export async function fund(f: MoneyFixture, msisdn: string, amount: bigint, currency: Currency = 'USD'): Promise<void> {
  if (!f.money.findBusiness('BANK1')) await f.money.registerBank({ code: 'BANK1', name: 'First Bank' });
  await f.money.bankToWallet({ bank: 'BANK1', to: msisdn, amount, currency, reference: `fund-${++funding}-${Date.now()}` });
}

export function balanceOf(f: MoneyFixture, id: string): bigint {
  const account = f.handle.ledger.accounts.get(id);
  assert.ok(account, `account ${id}`);
  return available(account);
}

export function walletBalance(f: MoneyFixture, party: Party, currency: Currency = 'USD'): bigint {
  return balanceOf(f, walletId(party.id, currency));
}

/** Rejects with a RequestError of this code (and, optionally, these details). */
export async function refused(work: Promise<unknown>, code: string, details?: unknown): Promise<RequestError> {
  let caught: unknown;
  try {
    await work;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof RequestError, `expected ${code}, got ${caught === undefined ? 'success' : String(caught)}`);
  assert.equal(caught.code, code, `${caught.code}: ${JSON.stringify(caught.details)}`);
  if (details !== undefined) assert.deepEqual(caught.details, details);
  return caught;
}

/** The journal verifies and every asset sums to zero (pending and posted). */
export async function assertProven(f: MoneyFixture): Promise<void> {
  await f.handle.writer.settled();
  const report = await f.handle.store.verify();
  assert.equal(report.ok, true, JSON.stringify(report.failure));
  const sums = new Map<string, bigint>();
  for (const a of f.handle.ledger.accounts.values()) {
    sums.set(a.asset, (sums.get(a.asset) ?? 0n) + a.credits_posted - a.debits_posted + a.credits_pending - a.debits_pending);
  }
  for (const [asset, sum] of sums) assert.equal(sum, 0n, `${asset} sums to zero`);
}

export async function outbox(f: MoneyFixture): Promise<OutboxMessage[]> {
  await f.handle.writer.settled();
  const out: OutboxMessage[] = [];
  for await (const doc of f.handle.store.documents(OUTBOX)) out.push(JSON.parse(doc.value) as OutboxMessage);
  return out;
}

/** Every committed document's text, to prove a PIN appears in none. */
export function everyStoredByte(f: MoneyFixture): string {
  const files = fs.readdirSync(f.dir).map((name) => path.join(f.dir, name)).filter((p) => fs.statSync(p).isFile());
  return files.map((p) => fs.readFileSync(p).toString('latin1')).join('\n');
}
