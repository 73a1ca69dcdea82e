// Every refusal of every service answers its stable code and changes nothing (no transfer, no
// document, no message); limits by KYC tier count by Harare calendar day and month; a retry
// answers the first result and a reused reference with other fields is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredDocument } from '../../../src/store/store.js';
import { PIN, assertProven, fund, openMoney, outbox, refused, subscriber, walletBalance, type MoneyFixture } from './fixture.js';

async function journalSize(f: MoneyFixture): Promise<string> {
  const report = await f.handle.store.verify();
  return `${report.entries} entries, ${report.transfers} transfers`;
}

async function snapshot(f: MoneyFixture): Promise<string> {
  await f.handle.writer.settled();
  const accounts = [...f.handle.ledger.accounts.values()].map((a) => `${a.id}=${a.debits_pending}/${a.debits_posted}/${a.credits_pending}/${a.credits_posted}`);
  const docs: StoredDocument[] = [];
  for (const collection of ['money_transactions', 'money_usage', 'money_pins', 'outbox', 'parties']) {
    for await (const doc of f.handle.store.documents(collection)) docs.push(doc);
  }
  return JSON.stringify({ accounts, journal: await journalSize(f), docs: docs.map((d) => [d.collection, d.key, d.value]) });
}

async function world(t: Parameters<typeof openMoney>[0]) {
  const f = await openMoney(t);
  await subscriber(f, '0772123456', { kyc_tier: 0 });
  await subscriber(f, '0712345678', { kyc_tier: 0 });
  await subscriber(f, '0773333333', { kyc_tier: 2 });
  await f.money.registerAgent({ code: '40123', name: 'Mbare Agent' });
  await f.money.registerAgent({ code: '40999', name: 'Closed Agent' });
  await f.money.registerMerchant({ code: '123456', name: 'OK Mart' });
  await f.money.registerBank({ code: 'CBZ', name: 'CBZ Bank' });
  await fund(f, '0772123456', 5000n);
  await fund(f, '0773333333', 100_000n);
  return f;
}

test('each refusal answers its code and leaves the ledger, the documents and the outbox as they were', async (t) => {
  const f = await world(t);
  await f.money.updateSubscriber('0712345678', { status: 'suspended' });
  const send = { from: '0772123456', to: '0773333333', amount: 100n, currency: 'USD', pin: PIN };
  const before = await snapshot(f);
  const cases: [string, () => Promise<unknown>, unknown?][] = [
    ['msisdn_invalid', () => f.money.sendMoney({ ...send, to: '12345', reference: 'r' })],
    ['msisdn_invalid', () => f.money.sendMoney({ ...send, from: '0642123456', reference: 'r' })],
    ['reference_invalid', () => f.money.sendMoney({ ...send, reference: 'has space' })],
    ['reference_invalid', () => f.money.sendMoney({ ...send, reference: 'x'.repeat(41) })],
    ['currency_invalid', () => f.money.sendMoney({ ...send, currency: 'EUR', reference: 'r' })],
    ['amount_zero', () => f.money.sendMoney({ ...send, amount: 0n, reference: 'r' })],
    ['amount_invalid', () => f.money.sendMoney({ ...send, amount: -5n, reference: 'r' })],
    ['subscriber_not_found', () => f.money.sendMoney({ ...send, from: '0779000000', reference: 'r' })],
    ['recipient_not_found', () => f.money.sendMoney({ ...send, to: '0779000000', reference: 'r' })],
    ['recipient_unavailable', () => f.money.sendMoney({ ...send, to: '0712345678', reference: 'r' })],
    ['subscriber_suspended', () => f.money.sendMoney({ ...send, from: '0712345678', to: '0772123456', reference: 'r' })],
    ['same_account', () => f.money.sendMoney({ ...send, to: '+263772123456', reference: 'r' })],
    ['insufficient_funds', () => f.money.sendMoney({ ...send, amount: 4990n, reference: 'r' }), { currency: 'USD', available: '50.00', needed: '50.40' }],
    ['exceeds_transaction_limit', () => f.money.sendMoney({ ...send, amount: 5001n, reference: 'r' }), { currency: 'USD', limit: '50.00', remaining: '50.00' }],
    ['recipient_exceeds_balance_cap', () => f.money.sendMoney({ ...send, from: '0773333333', to: '0772123456', amount: 15001n, reference: 'r' }), { currency: 'USD' }],
    ['agent_not_found', () => f.money.cashIn({ agent: '99999', to: '0772123456', amount: 100n, currency: 'USD', reference: 'r' })],
    ['agent_not_found', () => f.money.cashIn({ agent: '123456', to: '0772123456', amount: 100n, currency: 'USD', reference: 'r' })],
    ['insufficient_float', () => f.money.cashIn({ agent: '40123', to: '0772123456', amount: 100n, currency: 'USD', reference: 'r' })],
    ['subscriber_suspended', () => f.money.cashIn({ agent: '40123', to: '0712345678', amount: 100n, currency: 'USD', reference: 'r' })],
    ['insufficient_funds', () => f.money.cashOut({ from: '0772123456', agent: '40123', amount: 4990n, currency: 'USD', pin: PIN, reference: 'r' })],
    ['merchant_not_found', () => f.money.payMerchant({ from: '0772123456', merchant: '654321', amount: 100n, currency: 'USD', pin: PIN, reference: 'r' })],
    ['insufficient_funds', () => f.money.payMerchant({ from: '0772123456', merchant: '123456', amount: 100n, currency: 'ZWG', pin: PIN, reference: 'r' })],
    ['bank_not_found', () => f.money.bankToWallet({ bank: 'XYZ', to: '0772123456', amount: 100n, currency: 'USD', reference: 'r' })],
    ['exceeds_balance_cap', () => f.money.bankToWallet({ bank: 'CBZ', to: '0772123456', amount: 15001n, currency: 'USD', reference: 'r' }), { currency: 'USD', limit: '200.00', remaining: '150.00' }],
    ['insufficient_funds', () => f.money.walletToBank({ from: '0772123456', bank: 'CBZ', amount: 4950n, currency: 'USD', pin: PIN, reference: 'r' })],
    ['airtime_number_invalid', () => f.money.buyAirtime({ from: '0772123456', to: '+27821234567', amount: 100n, currency: 'USD', pin: PIN, reference: 'r' })],
    ['msisdn_invalid', () => f.money.buyAirtime({ from: '0772123456', to: 'abc', amount: 100n, currency: 'USD', pin: PIN, reference: 'r' })],
    ['transaction_not_found', () => f.money.reverse({ original: 'nope', reason: 'x', reference: 'r' })],
    ['cash_out_not_found', () => f.money.completeCashOut({ agent: '40123', reference: 'nope' })],
    ['subscriber_exists', () => f.money.registerSubscriber({ msisdn: '0772123456', name: 'Someone Else' })],
    ['party_exists', () => f.money.registerMerchant({ code: '40123', name: 'Clash' })],
    ['invalid_request', () => f.money.registerAgent({ code: 'bad code!', name: 'X' })],
    ['subscriber_not_found', () => f.money.updateSubscriber('0779000000', { kyc_tier: 1 })],
  ];
  for (const [code, call, details] of cases) {
    await refused(call(), code, details);
    assert.equal(await snapshot(f), before, `${code} changed something`);
  }
});

test('suspended and closed parties: agents, merchants and banks refuse while not active; a closed subscriber stays closed', async (t) => {
  const f = await world(t);
  await f.money.updateSubscriber('0712345678', { status: 'closed' });
  await refused(f.money.updateSubscriber('0712345678', { status: 'active' }), 'party_closed');
  await refused(f.money.sendMoney({ from: '0772123456', to: '0712345678', amount: 100n, currency: 'USD', pin: PIN, reference: 'c1' }), 'recipient_not_found');
  // A number freed by closing can be registered again, as a new party.
  const closed = f.money.findSubscriber('0712345678');
  const again = await f.money.registerSubscriber({ msisdn: '0712345678', name: 'New Owner' });
  assert.notEqual(again.id, closed.id);
  assert.equal(f.money.findSubscriber('0712345678').id, again.id);
  await f.money.updateSubscriber('+263 77 3333 333', { status: 'suspended' });
  await refused(f.money.sendMoney({ from: '0773333333', to: '0772123456', amount: 100n, currency: 'USD', pin: PIN, reference: 'c0' }), 'subscriber_suspended');
  await f.money.updateSubscriber('0773333333', { status: 'active' });
  await f.money.registerAgent({ code: '40777', name: 'Agent' });
  await f.money.buyFloat({ bank: 'CBZ', agent: '40777', amount: 10_000n, currency: 'USD', reference: 'fl' });
  const cashIn = (reference: string) => f.money.cashIn({ agent: '40777', to: '0772123456', amount: 100n, currency: 'USD', reference });
  const pay = (reference: string) => f.money.payMerchant({ from: '0772123456', merchant: '123456', amount: 100n, currency: 'USD', pin: PIN, reference });
  const bank = (reference: string) => f.money.bankToWallet({ bank: 'CBZ', to: '0772123456', amount: 100n, currency: 'USD', reference });
  await f.money.updateBusiness('agent', '40777', { status: 'suspended' });
  await f.money.updateBusiness('merchant', '123456', { status: 'suspended' });
  await f.money.updateBusiness('bank', 'CBZ', { status: 'suspended' });
  await refused(cashIn('s1'), 'agent_unavailable');
  await refused(pay('s2'), 'merchant_unavailable');
  await refused(bank('s3'), 'bank_unavailable');
  await refused(f.money.updateBusiness('bank', '123456', { status: 'active' }), 'bank_not_found');
  for (const kind of ['agent', 'merchant', 'bank'] as const) await f.money.updateBusiness(kind, { agent: '40777', merchant: '123456', bank: 'CBZ' }[kind], { status: 'active' });
  await cashIn('s4');
  await pay('s5');
  await bank('s6');
  await refused(f.money.updateBusiness('merchant', '123456', { status: 'closed' }), 'balance_not_zero', { account_id: 'till:merchant-123456:USD' });
  await refused(f.money.updateSubscriber('0772123456', { status: 'closed' }), 'balance_not_zero');
  await f.money.registerMerchant({ code: '654321', name: 'Empty Shop' });
  await f.money.updateBusiness('merchant', '654321', { status: 'closed' });
  await refused(f.money.updateBusiness('merchant', '654321', { status: 'active' }), 'party_closed');
  await f.money.updateBusiness('merchant', '123456', { status: 'suspended' });
  await refused(pay('s7'), 'merchant_unavailable');
  await assertProven(f);
  await f.money.sendMoney({ from: '0772123456', to: '0712345678', amount: 100n, currency: 'USD', pin: PIN, reference: 'c2' });
  assert.equal(walletBalance(f, again), 100n);
});

test('daily limit by Harare calendar day: 23:59 Harare is still today, 00:00 is a new day; remaining allowance in the error', async (t) => {
  const f = await world(t);
  await fund(f, '0772123456', 10_000n);
  const send = (amount: bigint, reference: string) => f.money.sendMoney({ from: '0772123456', to: '0773333333', amount, currency: 'USD', pin: PIN, reference });
  f.clock.now = new Date('2026-11-23T08:00:00Z');
  await send(5000n, 'd1');
  await send(4000n, 'd2');
  f.clock.now = new Date('2026-11-23T21:59:59Z'); // 23:59:59 in Harare
  await refused(send(1001n, 'd3'), 'exceeds_daily_limit', { currency: 'USD', limit: '100.00', used: '90.00', remaining: '10.00' });
  await send(1000n, 'd4');
  f.clock.now = new Date('2026-11-23T22:00:00Z'); // 00:00 on the 24th in Harare
  await send(1000n, 'd5');
  await f.reopen();
  await fund(f, '0772123456', 10_000n);
  await send(4000n, 'd6');
  await send(4000n, 'd7');
  await refused(send(1001n, 'd8'), 'exceeds_daily_limit', { currency: 'USD', limit: '100.00', used: '90.00', remaining: '10.00' });
  // ZWG is counted separately.
  await fund(f, '0772123456', 10_000n, 'ZWG');
  await f.money.sendMoney({ from: '0772123456', to: '0773333333', amount: 5000n, currency: 'ZWG', pin: PIN, reference: 'z1' });
});

test('monthly limit by Harare calendar month, and cancelling a cash-out gives its allowance back', async (t) => {
  const f = await world(t);
  const send = (amount: bigint, reference: string) => f.money.sendMoney({ from: '0772123456', to: '0773333333', amount, currency: 'USD', pin: PIN, reference });
  let spent = 0;
  for (let day = 1; day <= 3; day++) {
    f.clock.now = new Date(Date.UTC(2026, 10, 20 + day, 9));
    await fund(f, '0772123456', 10_000n);
    await send(5000n, `m${day}a`);
    await send(5000n, `m${day}b`);
    spent += 10_000;
  }
  assert.equal(spent, 30_000);
  f.clock.now = new Date('2026-11-27T09:00:00Z');
  await fund(f, '0772123456', 100n);
  await refused(send(100n, 'm4'), 'exceeds_monthly_limit', { currency: 'USD', limit: '300.00', used: '300.00', remaining: '0.00' });
  f.clock.now = new Date('2026-11-30T22:00:00Z'); // 1 December, 00:00 in Harare
  await fund(f, '0772123456', 10_000n);
  await f.money.registerAgent({ code: '40555', name: 'Agent' });
  const cashOut = (reference: string, amount = 5000n) => f.money.cashOut({ from: '0772123456', agent: '40555', amount, currency: 'USD', pin: PIN, reference });
  assert.equal((await cashOut('co1')).status, 'pending');
  await cashOut('co2');
  await refused(cashOut('co3', 1n), 'exceeds_daily_limit', { currency: 'USD', limit: '100.00', used: '100.00', remaining: '0.00' });
  await f.money.cancelCashOut({ agent: '40555', reference: 'co2' });
  assert.equal((await cashOut('co4')).status, 'pending');
  await refused(cashOut('co5', 1n), 'exceeds_daily_limit');
});

test('a retry answers the first result with one effect; the same reference with other fields is refused', async (t) => {
  const f = await world(t);
  const payee = await subscriber(f, '0774444444', { kyc_tier: 2 });
  const input = { from: '0773333333', to: '0774444444', amount: 1000n, currency: 'USD', pin: PIN, reference: 'once' };
  const results = await Promise.all(Array.from({ length: 10 }, () => f.money.sendMoney(input)));
  for (const r of results) assert.deepEqual(r, results[0]);
  assert.equal(walletBalance(f, payee), 1000n);
  assert.deepEqual(await f.money.sendMoney(input), results[0]);
  await refused(f.money.sendMoney({ ...input, amount: 1001n }), 'reference_reused', { reference: 'once' });
  await refused(f.money.payMerchant({ from: '0773333333', merchant: '123456', amount: 1000n, currency: 'USD', pin: PIN, reference: 'once' }), 'reference_reused');
  assert.equal((await outbox(f)).filter((m) => m.id.startsWith('txn:once')).length, 2);
  // A refused call records nothing: the same reference may be used again once the cause is fixed.
  await refused(f.money.sendMoney({ ...input, amount: 120_000n, reference: 'later' }), 'insufficient_funds');
  await fund(f, '0773333333', 30_000n);
  assert.equal((await f.money.sendMoney({ ...input, amount: 120_000n, reference: 'later' })).status, 'completed');
  assert.equal(walletBalance(f, payee), 121_000n);
  await assertProven(f);
});

test('reversal refusals: not reversible, receiving side already spent it', async (t) => {
  const f = await world(t);
  await f.money.sendMoney({ from: '0772123456', to: '0712345678', amount: 3000n, currency: 'USD', pin: PIN, reference: 'p1' });
  await f.money.sendMoney({ from: '0712345678', to: '0773333333', amount: 2000n, currency: 'USD', pin: PIN, reference: 'p2' });
  await refused(f.money.reverse({ original: 'p1', reason: 'disputed', reference: 'rv1' }), 'reversal_insufficient_funds');
  await f.money.registerAgent({ code: '40555', name: 'Agent' });
  await f.money.cashOut({ from: '0773333333', agent: '40555', amount: 1000n, currency: 'USD', pin: PIN, reference: 'co1' });
  await refused(f.money.reverse({ original: 'co1', reason: 'pending', reference: 'rv2' }), 'reversal_not_allowed');
  const rv = await f.money.reverse({ original: 'p2', reason: 'disputed', reference: 'rv3' });
  await refused(f.money.reverse({ original: 'rv3', reason: 'undo the undo', reference: 'rv4' }), 'reversal_not_allowed');
  await refused(f.money.reverse({ original: 'p2', reason: 'again', reference: 'rv5' }), 'transaction_already_reversed', { reversed_by: rv.reference });
  await assertProven(f);
});
