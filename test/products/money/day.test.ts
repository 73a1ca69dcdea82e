// A day in the life: thousands of random service calls (P2P, cash-in, cash-out completed or
// cancelled, merchant payments, bank in and out, airtime, reversals, retries, wrong PINs) across
// subscribers of every KYC tier, agents and merchants, through a Harare midnight and a month end.
// An independent model — written from the tariff file and the rules, not from the module —
// predicts every outcome (success or refusal code) and every balance. At the end the journal
// verifies (`mari verify`) and every account's balance equals the model's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RequestError } from '../../../src/errors/registry.js';
import { available } from '../../../src/ledger/types.js';
import {
  agentCommissionId, agentFloatId, airtimeId, bankSettlementId, merchantTillId, systemId, walletId, type Currency,
} from '../../../src/products/accounts.js';
import type { Msisdn } from '../../../src/products/msisdn.js';
import { DEFAULT_TARIFF_FILE } from '../../../src/products/money/tariff.js';
import { PIN, assertProven, openMoney, subscriber, type MoneyFixture } from './fixture.js';

const OPERATIONS = Number(process.env.MARI_DAY_OPERATIONS ?? 2000);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** A small seeded generator (mulberry32), so a failure replays. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(list: readonly T[]) => list[Math.floor(next() * list.length)] };
}

// ---- the model: the tariff file read directly, and the rules as the issue states them ----

interface Band { up_to: string | null; fixed: string; bps: number }
const TARIFF = JSON.parse(fs.readFileSync(DEFAULT_TARIFF_FILE, 'utf8'));

function charge(bands: Band[], amount: bigint): bigint {
  for (const band of bands) {
    if (band.up_to === null || amount <= BigInt(band.up_to)) return BigInt(band.fixed) + (amount * BigInt(band.bps)) / 10_000n;
  }
  throw new Error('no band');
}
const fee = (service: string, c: Currency, amount: bigint) => charge(TARIFF.fees[service][c], amount);
const commission = (service: string, c: Currency, amount: bigint) => charge(TARIFF.commissions[service][c], amount);
const limit = (tier: number, c: Currency, what: 'transaction' | 'daily' | 'monthly' | 'balance') => BigInt(TARIFF.limits[String(tier)][c][what]);

interface Sub { msisdn: string; id: string; tier: 0 | 1 | 2; failures: number }
interface Done { input: Record<string, unknown>; service: string; result: unknown; legs: [string, string, bigint][]; reversed: boolean }

class Model {
  readonly balances = new Map<string, bigint>();
  readonly usage = new Map<string, { day: string; day_total: bigint; month: string; month_total: bigint }>();
  readonly done = new Map<string, Done>();

  bal(id: string): bigint {
    return this.balances.get(id) ?? 0n;
  }

  move(debit: string, credit: string, amount: bigint): void {
    this.balances.set(debit, this.bal(debit) - amount);
    this.balances.set(credit, this.bal(credit) + amount);
  }

  /** The refusal code for spending `amount` now, or undefined. */
  limits(sub: Sub, c: Currency, amount: bigint, now: Date): string | undefined {
    const local = new Date(now.getTime() + 2 * 3600_000).toISOString();
    const u = this.usage.get(`${sub.id}:${c}`);
    const day_total = u && u.day === local.slice(0, 10) ? u.day_total : 0n;
    const month_total = u && u.month === local.slice(0, 7) ? u.month_total : 0n;
    if (amount > limit(sub.tier, c, 'transaction')) return 'exceeds_transaction_limit';
    if (day_total + amount > limit(sub.tier, c, 'daily')) return 'exceeds_daily_limit';
    if (month_total + amount > limit(sub.tier, c, 'monthly')) return 'exceeds_monthly_limit';
    return undefined;
  }

  spend(sub: Sub, c: Currency, amount: bigint, now: Date): void {
    const local = new Date(now.getTime() + 2 * 3600_000).toISOString();
    const u = this.usage.get(`${sub.id}:${c}`);
    const day_total = u && u.day === local.slice(0, 10) ? u.day_total : 0n;
    const month_total = u && u.month === local.slice(0, 7) ? u.month_total : 0n;
    this.usage.set(`${sub.id}:${c}`, { day: local.slice(0, 10), day_total: day_total + amount, month: local.slice(0, 7), month_total: month_total + amount });
  }

  giveBack(sub: Sub, c: Currency, amount: bigint): void {
    const u = this.usage.get(`${sub.id}:${c}`)!;
    u.day_total = u.day_total > amount ? u.day_total - amount : 0n;
    u.month_total = u.month_total > amount ? u.month_total - amount : 0n;
  }
}

/** Accounts that may not go below zero: their holders' money. */
const BOUNDED = /^(wallet|float|commission|till|airtime):/;

async function attempt(work: () => Promise<unknown>): Promise<{ code: string; result?: unknown }> {
  try {
    return { code: 'ok', result: await work() };
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    return { code: error.code };
  }
}

async function setUp(f: MoneyFixture, model: Model) {
  const subs: Sub[] = [];
  for (let i = 0; i < 16; i++) {
    const tier = (i % 4 === 0 ? 0 : i % 4 === 1 ? 1 : 2) as 0 | 1 | 2;
    const msisdn = `+2637720000${String(i).padStart(2, '0')}`;
    const party = await subscriber(f, msisdn, { kyc_tier: tier, language: (['en', 'sn', 'nd'] as const)[i % 3] });
    subs.push({ msisdn, id: party.id, tier, failures: 0 });
  }
  await f.money.registerBank({ code: 'CBZ', name: 'CBZ Bank' });
  const agents = ['40001', '40002', '40003'];
  for (const code of agents) {
    await f.money.registerAgent({ code, name: `Agent ${code}` });
    for (const c of ['USD', 'ZWG'] as const) {
      await f.money.buyFloat({ bank: 'CBZ', agent: code, amount: 2_000_000n, currency: c, reference: `float-${code}-${c}` });
      model.move(bankSettlementId('bank-CBZ', c), agentFloatId(`agent-${code}`, c), 2_000_000n);
    }
  }
  const merchants = ['700001', '700002', '700003'];
  for (const code of merchants) await f.money.registerMerchant({ code, name: `Shop ${code}` });
  return { subs, agents, merchants };
}

test(`a day in the life: ${OPERATIONS} random service calls agree with an independent model, and the journal verifies`, async (t) => {
  const f = await openMoney(t, { now: new Date('2026-11-30T10:00:00Z') });
  const model = new Model();
  const { subs, agents, merchants } = await setUp(f, model);
  const rng = random(20261123);
  const counts = new Map<string, number>();
  let n = 0;
  const currencyOf = (): Currency => (rng.next() < 0.8 ? 'USD' : 'ZWG');
  const amountOf = (c: Currency) => BigInt(1 + rng.int(rng.next() < 0.7 ? 3_000 : 30_000)) * (c === 'ZWG' ? 27n : 1n);

  for (let op = 0; op < OPERATIONS; op++) {
    // 30 s apart: 2,000 calls span 16 hours, through midnight and the month end in Harare.
    f.clock.now = new Date(f.clock.now.getTime() + 30_000);
    const now = f.clock.now;
    const reference = `d${++n}`;
    const c = currencyOf();
    const amount = amountOf(c);
    const sub = rng.pick(subs);
    const other = rng.pick(subs.filter((s) => s !== sub));
    const wallet = (s: Sub) => walletId(s.id, c);
    const roll = rng.int(100);
    let kind: string;
    let expected: string;
    let actual: { code: string; result?: unknown };
    let legs: [string, string, bigint][] = [];
    let input: Record<string, unknown> = {};

    // The PIN is checked before limits and funds: a wrong one refuses whatever else is true.
    const wrongPin = roll % 17 === 0 && sub.failures < 2;
    const pin = wrongPin ? '1470' : PIN;
    const pinned = (code: string) => (wrongPin ? 'pin_wrong' : code);

    if (roll < 30) {
      kind = 'p2p';
      const p2pFee = fee('p2p', c, amount);
      expected = pinned(model.limits(sub, c, amount, now) ?? (model.bal(wallet(sub)) < amount + p2pFee ? 'insufficient_funds'
        : model.bal(wallet(other)) + amount > limit(other.tier, c, 'balance') ? 'recipient_exceeds_balance_cap' : 'ok'));
      input = { from: sub.msisdn, to: other.msisdn, amount, currency: c, pin, reference };
      actual = await attempt(() => f.money.sendMoney(input as never));
      legs = [[wallet(sub), wallet(other), amount], [wallet(sub), systemId('fees', c), p2pFee]];
      if (expected === 'ok') model.spend(sub, c, amount, now);
    } else if (roll < 45) {
      kind = 'cash_in';
      const agent = rng.pick(agents);
      const com = commission('cash_in', c, amount);
      expected = model.bal(agentFloatId(`agent-${agent}`, c)) < amount ? 'insufficient_float'
        : model.bal(wallet(sub)) + amount > limit(sub.tier, c, 'balance') ? 'exceeds_balance_cap' : 'ok';
      input = { agent, to: sub.msisdn, amount, currency: c, reference };
      actual = await attempt(() => f.money.cashIn(input as never));
      legs = [[agentFloatId(`agent-${agent}`, c), wallet(sub), amount], [systemId('commissions', c), agentCommissionId(`agent-${agent}`, c), com]];
    } else if (roll < 55) {
      kind = 'cash_out';
      const agent = rng.pick(agents);
      const coFee = fee('cash_out', c, amount);
      expected = pinned(model.limits(sub, c, amount, now) ?? (model.bal(wallet(sub)) < amount + coFee ? 'insufficient_funds' : 'ok'));
      input = { from: sub.msisdn, agent, amount, currency: c, pin, reference };
      actual = await attempt(() => f.money.cashOut(input as never));
      if (actual.code === 'ok') {
        model.spend(sub, c, amount, now);
        if (rng.next() < 0.7) {
          const done = await f.money.completeCashOut({ agent, reference });
          assert.equal(done.status, 'completed');
          legs = [[wallet(sub), agentFloatId(`agent-${agent}`, c), amount], [wallet(sub), systemId('fees', c), coFee],
            [systemId('commissions', c), agentCommissionId(`agent-${agent}`, c), commission('cash_out', c, amount)]];
        } else {
          assert.equal((await f.money.cancelCashOut({ agent, reference })).status, 'cancelled');
          model.giveBack(sub, c, amount);
          kind = 'cash_out_cancelled';
        }
      }
    } else if (roll < 68) {
      kind = 'merchant_payment';
      const merchant = rng.pick(merchants);
      const mFee = fee('merchant_payment', c, amount);
      expected = pinned(model.limits(sub, c, amount, now) ?? (model.bal(wallet(sub)) < amount ? 'insufficient_funds' : 'ok'));
      input = { from: sub.msisdn, merchant, amount, currency: c, pin, reference };
      actual = await attempt(() => f.money.payMerchant(input as never));
      legs = [[wallet(sub), merchantTillId(`merchant-${merchant}`, c), amount], [merchantTillId(`merchant-${merchant}`, c), systemId('fees', c), mFee]];
      if (expected === 'ok') model.spend(sub, c, amount, now);
    } else if (roll < 76) {
      kind = 'bank_to_wallet';
      expected = model.bal(wallet(sub)) + amount > limit(sub.tier, c, 'balance') ? 'exceeds_balance_cap' : 'ok';
      input = { bank: 'CBZ', to: sub.msisdn, amount, currency: c, reference };
      actual = await attempt(() => f.money.bankToWallet(input as never));
      legs = [[bankSettlementId('bank-CBZ', c), wallet(sub), amount]];
    } else if (roll < 81) {
      kind = 'wallet_to_bank';
      const wFee = fee('wallet_to_bank', c, amount);
      expected = pinned(model.limits(sub, c, amount, now) ?? (model.bal(wallet(sub)) < amount + wFee ? 'insufficient_funds' : 'ok'));
      input = { from: sub.msisdn, bank: 'CBZ', amount, currency: c, pin, reference };
      actual = await attempt(() => f.money.walletToBank(input as never));
      legs = [[wallet(sub), bankSettlementId('bank-CBZ', c), amount], [wallet(sub), systemId('fees', c), wFee]];
      if (expected === 'ok') model.spend(sub, c, amount, now);
    } else if (roll < 90) {
      kind = 'airtime';
      const beneficiary = rng.next() < 0.5 ? sub.msisdn : rng.pick(['+263712000001', '+263733000002', other.msisdn]);
      const units = airtimeId(beneficiary as Msisdn, c);
      expected = pinned(model.limits(sub, c, amount, now) ?? (model.bal(wallet(sub)) < amount + fee('airtime', c, amount) ? 'insufficient_funds' : 'ok'));
      input = { from: sub.msisdn, to: beneficiary, amount, currency: c, pin, reference };
      actual = await attempt(() => f.money.buyAirtime(input as never));
      legs = [[wallet(sub), systemId('airtime_sales', c), amount], [systemId('airtime_issue', `AIRTIME_${c}`), units, amount * 100n]];
      if (expected === 'ok') model.spend(sub, c, amount, now);
    } else if (roll < 95) {
      kind = 'reversal';
      const candidates = [...model.done.entries()].filter(([, d]) => ['p2p', 'merchant_payment', 'cash_in', 'airtime'].includes(d.service));
      if (candidates.length === 0) continue;
      const [original, done] = rng.pick(candidates);
      const needed = new Map<string, bigint>();
      for (const [, credit, a] of done.legs) needed.set(credit, (needed.get(credit) ?? 0n) + a);
      const short = [...needed].some(([id, a]) => BOUNDED.test(id) && model.bal(id) < a);
      expected = done.reversed ? 'transaction_already_reversed' : short ? 'reversal_insufficient_funds' : 'ok';
      input = { original, reason: 'customer dispute', reference };
      actual = await attempt(() => f.money.reverse(input as never));
      if (expected === 'ok') {
        for (const [debit, credit, a] of done.legs) if (a > 0n) model.move(credit, debit, a);
        done.reversed = true;
      }
      legs = [];
    } else {
      kind = 'retry';
      const candidates = [...model.done.entries()].filter(([, d]) => !d.reversed && !['cash_out', 'reversal'].includes(d.service));
      if (candidates.length === 0) continue;
      const [, done] = rng.pick(candidates);
      const call = { p2p: f.money.sendMoney, cash_in: f.money.cashIn, merchant_payment: f.money.payMerchant, bank_to_wallet: f.money.bankToWallet, wallet_to_bank: f.money.walletToBank, airtime: f.money.buyAirtime }[done.service as 'p2p'];
      expected = 'ok';
      actual = await attempt(() => call.call(f.money, done.input as never));
      assert.deepEqual(actual.result, done.result, 'a retry answers the first result');
    }

    assert.equal(actual.code, expected, `operation ${op} (${kind}, ${reference}, ${c} ${amount})`);
    counts.set(`${kind} ${actual.code}`, (counts.get(`${kind} ${actual.code}`) ?? 0) + 1);
    if (wrongPin) sub.failures += 1;
    else if ('pin' in input) sub.failures = 0;
    if (actual.code === 'ok' && kind !== 'retry' && kind !== 'cash_out_cancelled') {
      if (kind !== 'reversal') for (const [debit, credit, a] of legs) if (a > 0n) model.move(debit, credit, a);
      model.done.set(reference, { input, service: kind, result: actual.result, legs: legs.filter(([, , a]) => a > 0n), reversed: false });
    }
  }

  // Every account the ledger holds has the model's balance; nothing the model knows is missing.
  await f.handle.writer.settled();
  for (const account of f.handle.ledger.accounts.values()) {
    assert.equal(available(account) + account.debits_pending, model.bal(account.id), `balance of ${account.id}`);
    assert.equal(account.debits_pending, 0n, `no pending left on ${account.id}`);
  }
  for (const id of model.balances.keys()) assert.ok(f.handle.ledger.accounts.has(id), `${id} exists`);
  // The run must have exercised the refusals and the day and month change, not only successes.
  const seen = [...counts.keys()].join(', ');
  for (const wanted of ['p2p ok', 'p2p insufficient_funds', 'p2p pin_wrong', 'cash_in ok', 'cash_out ok', 'cash_out_cancelled ok', 'merchant_payment ok', 'airtime ok', 'reversal ok', 'retry ok', 'bank_to_wallet ok', 'wallet_to_bank ok']) {
    assert.ok(counts.has(wanted), `the run saw ${wanted} (saw: ${seen})`);
  }
  assert.ok([...counts.keys()].some((k) => k.endsWith('exceeds_daily_limit')), `a daily limit was hit (saw: ${seen})`);
  assert.ok([...counts.keys()].some((k) => k.endsWith('balance_cap')), `a balance cap was hit (saw: ${seen})`);
  assert.ok(f.clock.now.toISOString() > '2026-11-30T22:00:00Z', 'the run crossed midnight and the month end in Harare');
  await assertProven(f);

  await f.handle.close();
  const verified = spawnSync(process.execPath, [path.join(root, 'bin/mari.js'), 'verify', '--data-dir', f.dir, '--json'], { encoding: 'utf8' });
  assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  assert.equal(JSON.parse(verified.stdout).ok, true);
});
