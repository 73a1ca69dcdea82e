// Concurrent use of one wallet: many services at once against one balance never overdraw it and
// never lose an update; limits counted concurrently are never passed; every asset still sums to zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestError } from '../../../src/errors/registry.js';
import { systemId } from '../../../src/products/accounts.js';
import { PIN, assertProven, balanceOf, fund, openMoney, subscriber, walletBalance } from './fixture.js';

test('fifty concurrent sends from one wallet: exactly those it can pay succeed, the rest are refused insufficient_funds', async (t) => {
  const f = await openMoney(t);
  const alice = await subscriber(f, '0772123456');
  const bob = await subscriber(f, '0712345678');
  await fund(f, '0772123456', 10_000n);
  const outcomes = await Promise.allSettled(Array.from({ length: 50 }, (_, i) =>
    f.money.sendMoney({ from: '0772123456', to: '0712345678', amount: 1000n, currency: 'USD', pin: PIN, reference: `c${i}` })));
  const ok = outcomes.filter((o) => o.status === 'fulfilled');
  const refusedCodes = outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as RequestError).code] : []));
  // 10.00 + 0.20 fee each: 9 fit in 100.00, leaving 8.20.
  assert.equal(ok.length, 9);
  assert.deepEqual(new Set(refusedCodes), new Set(['insufficient_funds']));
  assert.equal(walletBalance(f, alice), 820n);
  assert.equal(walletBalance(f, bob), 9000n);
  assert.equal(balanceOf(f, systemId('fees', 'USD')), 180n);
  // Each answer's balance is the balance right after its own transfer: all different, none lost.
  const balances = ok.map((o) => (o as PromiseFulfilledResult<{ balance: string }>).value.balance).sort();
  assert.equal(new Set(balances).size, 9);
  await assertProven(f);
});

test('mixed services on one wallet at once (send, pay, airtime, cash-out, wallet to bank) never overdraw it', async (t) => {
  const f = await openMoney(t);
  const alice = await subscriber(f, '0772123456');
  await subscriber(f, '0712345678');
  await f.money.registerAgent({ code: '40123', name: 'Agent' });
  await f.money.registerMerchant({ code: '123456', name: 'Shop' });
  await f.money.registerBank({ code: 'CBZ', name: 'Bank' });
  await fund(f, '0772123456', 20_000n);
  const base = { from: '0772123456', currency: 'USD', pin: PIN } as const;
  const calls = Array.from({ length: 60 }, (_, i) => {
    const reference = `m${i}`;
    switch (i % 5) {
      case 0: return f.money.sendMoney({ ...base, to: '0712345678', amount: 1500n, reference });
      case 1: return f.money.payMerchant({ ...base, merchant: '123456', amount: 1500n, reference });
      case 2: return f.money.buyAirtime({ ...base, amount: 1500n, reference });
      case 3: return f.money.cashOut({ ...base, agent: '40123', amount: 1500n, reference });
      default: return f.money.walletToBank({ ...base, bank: 'CBZ', amount: 1500n, reference });
    }
  });
  const outcomes = await Promise.allSettled(calls);
  for (const o of outcomes) if (o.status === 'rejected') assert.equal((o.reason as RequestError).code, 'insufficient_funds');
  const wallet = f.handle.ledger.accounts.get(`wallet:${alice.id}:USD`)!;
  assert.ok(wallet.debits_posted + wallet.debits_pending <= wallet.credits_posted, 'never overdrawn');
  assert.ok(walletBalance(f, alice) < 1_600n, 'spent down to less than one more call');
  assert.ok(outcomes.some((o) => o.status === 'rejected'));
  await assertProven(f);
});

test('concurrent sends under a daily limit: the counter and the transfers agree, the limit is never passed', async (t) => {
  const f = await openMoney(t);
  const alice = await subscriber(f, '0772123456', { kyc_tier: 0 });
  await subscriber(f, '0712345678', { kyc_tier: 2 });
  await fund(f, '0772123456', 20_000n);
  const outcomes = await Promise.allSettled(Array.from({ length: 30 }, (_, i) =>
    f.money.sendMoney({ from: '0772123456', to: '0712345678', amount: 700n, currency: 'USD', pin: PIN, reference: `l${i}` })));
  const ok = outcomes.filter((o) => o.status === 'fulfilled').length;
  // Daily limit 100.00 at tier 0: 14 sends of 7.00.
  assert.equal(ok, 14);
  for (const o of outcomes) if (o.status === 'rejected') assert.equal((o.reason as RequestError).code, 'exceeds_daily_limit');
  assert.equal(walletBalance(f, alice), 20_000n - 14n * 720n);
  await f.reopen();
  const usage = JSON.parse((await f.handle.store.document('money_usage', `${alice.id}:USD`))!.value);
  assert.equal(usage.day_total, '9800');
  await assertProven(f);
});
