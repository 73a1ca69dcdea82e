// Each mobile money service's success path: the transfers it makes (with fee and commission),
// the balances after, the transaction record, the customer's SMS and the mini statement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccountCode, agentCommissionId, agentFloatId, airtimeId, bankSettlementId, merchantTillId, systemId, walletId } from '../../../src/products/accounts.js';
import { MigrationCode, TXN_TYPE_CODE, txnFeeId, txnTransferId } from '../../../src/cutover/formats.js';
import { TransferFlag, type TransferInput } from '../../../src/ledger/types.js';
import type { Msisdn } from '../../../src/products/msisdn.js';
import { PIN, assertProven, balanceOf, fund, openMoney, outbox, refused, subscriber, walletBalance } from './fixture.js';

test('P2P: the sender pays amount and fee in one linked chain; both are told, in their language', async (t) => {
  const f = await openMoney(t);
  const alice = await subscriber(f, '0772123456', { name: 'Alice Moyo' });
  const bob = await subscriber(f, '+263 71 234 5678', { name: 'Bob Ncube', language: 'sn' });
  await fund(f, '0772123456', 5000n);
  const tx = await f.money.sendMoney({ from: '0772123456', to: '0712345678', amount: 1000n, currency: 'USD', pin: PIN, reference: 'p2p-1' });
  assert.equal(tx.status, 'completed');
  assert.equal(tx.fee, '20');
  assert.equal(tx.balance, '3980');
  assert.deepEqual(tx.legs.map((l) => [l.id, l.amount]), [['mm:p2p-1', '1000'], ['mm:p2p-1:fee', '20']]);
  assert.equal(walletBalance(f, alice), 3980n);
  assert.equal(walletBalance(f, bob), 1000n);
  assert.equal(balanceOf(f, systemId('fees', 'USD')), 20n);
  const messages = (await outbox(f)).filter((m) => m.id.startsWith('txn:p2p-1'));
  assert.equal(messages.length, 2);
  const sent = messages.find((m) => m.msisdn === '+263772123456')!;
  assert.equal(sent.text, 'You have sent USD 10.00 to +263712…678 on 23/11/26 10:00. Fee USD 0.20. New balance USD 39.80. Ref p2p-1');
  assert.equal(sent.state, 'queued');
  const received = messages.find((m) => m.msisdn === '+263712345678')!;
  assert.equal(received.language, 'sn');
  assert.match(received.text, /^Mawana USD 10\.00 kubva ku Alice Moyo \+263772…456 .* Mari yasara USD 10\.00\. Ref p2p-1$/);
  const statement = await f.money.miniStatement({ msisdn: '0772123456', pin: PIN });
  assert.deepEqual(statement.text[0], '23/11/26 10:00 -USD 10.00 sent +263712…678');
  await assertProven(f);
});

test('cash-in: float to wallet, commission to the agent, no fee to the customer', async (t) => {
  const f = await openMoney(t);
  const alice = await subscriber(f, '0772123456');
  await f.money.registerBank({ code: 'CBZ', name: 'CBZ Bank' });
  const agent = await f.money.registerAgent({ code: '40123', name: 'Mbare Agent', msisdn: '0773000001' });
  await f.money.buyFloat({ bank: 'CBZ', agent: '40123', amount: 100_000n, currency: 'USD', reference: 'float-1' });
  const tx = await f.money.cashIn({ agent: '40123', to: '0772123456', amount: 2000n, currency: 'USD', reference: 'ci-1' });
  assert.equal(tx.commission, '10');
  assert.equal(walletBalance(f, alice), 2000n);
  assert.equal(balanceOf(f, agentFloatId(agent.id, 'USD')), 98_000n);
  assert.equal(balanceOf(f, agentCommissionId(agent.id, 'USD')), 10n);
  assert.equal(f.handle.ledger.accounts.get(bankSettlementId('bank-CBZ', 'USD'))!.debits_posted, 100_000n);
  const [message] = (await outbox(f)).filter((m) => m.id.startsWith('txn:ci-1'));
  assert.match(message.text, /^Cash-in of USD 20\.00 at agent Mbare Agent \(40123\)/);
  await assertProven(f);
});

test('cash-out: reserved on the PIN, posted when the agent completes, commission paid; a retry answers the completed one', async (t) => {
  const f = await openMoney(t);
  const alice = await subscriber(f, '0772123456');
  const agent = await f.money.registerAgent({ code: '40123', name: 'Mbare Agent' });
  await fund(f, '0772123456', 10_000n);
  const pending = await f.money.cashOut({ from: '0772123456', agent: '40123', amount: 3000n, currency: 'USD', pin: PIN, reference: 'co-1' });
  assert.equal(pending.status, 'pending');
  assert.equal(pending.fee, '75');
  assert.equal(pending.balance, '6925');
  assert.equal(walletBalance(f, alice), 6925n);
  assert.equal(balanceOf(f, agentFloatId(agent.id, 'USD')), 0n);
  const done = await f.money.completeCashOut({ agent: '40123', reference: 'co-1' });
  assert.equal(done.status, 'completed');
  assert.equal(done.commission, '22'); // 0.75% of 30.00, rounded down
  assert.equal(walletBalance(f, alice), 6925n);
  assert.equal(balanceOf(f, agentFloatId(agent.id, 'USD')), 3000n);
  assert.equal(balanceOf(f, agentCommissionId(agent.id, 'USD')), 22n);
  assert.deepEqual(await f.money.completeCashOut({ agent: '40123', reference: 'co-1' }), done);
  // The hold is not a line; the completed cash-out is, with its fee.
  assert.deepEqual((await f.money.miniStatement({ msisdn: '0772123456', pin: PIN })).lines.map((l) => [l.kind, l.amount, l.fee, l.counterparty]), [
    ['cash_out', '3000', '75', 'Mbare Agent (40123)'], ['bank_to_wallet', '10000', '0', 'First Bank (BANK1)'],
  ]);
  const [message] = (await outbox(f)).filter((m) => m.id.startsWith('txn:co-1'));
  assert.match(message.text, /^Cash-out of USD 30\.00 at agent Mbare Agent \(40123\) .* Fee USD 0\.75\. New balance USD 69\.25\./);
  await assertProven(f);
});

test('cash-out: cancelled by the agent, or expired, leaves the money in the wallet', async (t) => {
  const f = await openMoney(t, { cash_out_timeout_s: 1 });
  const alice = await subscriber(f, '0772123456');
  await f.money.registerAgent({ code: '40123', name: 'Mbare Agent' });
  await fund(f, '0772123456', 10_000n);
  await f.money.cashOut({ from: '0772123456', agent: '40123', amount: 3000n, currency: 'USD', pin: PIN, reference: 'co-1' });
  const cancelled = await f.money.cancelCashOut({ agent: '40123', reference: 'co-1' });
  assert.equal(cancelled.status, 'cancelled');
  assert.equal(walletBalance(f, alice), 10_000n);
  await f.money.cashOut({ from: '0772123456', agent: '40123', amount: 1000n, currency: 'USD', pin: PIN, reference: 'co-2' });
  assert.equal(walletBalance(f, alice), 8975n);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  await f.handle.writer.expireNow();
  assert.equal(walletBalance(f, alice), 10_000n);
  assert.equal((await f.money.transaction('co-2'))!.status, 'cancelled');
  await assertProven(f);
});

test('cash-out that lapses: closed as expired and its amount given back to the daily limit', async (t) => {
  const f = await openMoney(t, { cash_out_timeout_s: 1 });
  await subscriber(f, '0772123456', { kyc_tier: 0 }); // daily limit USD 100.00
  await subscriber(f, '0712345678');
  await f.money.registerAgent({ code: '40123', name: 'Mbare Agent' });
  await fund(f, '0772123456', 20_000n);
  await f.money.cashOut({ from: '0772123456', agent: '40123', amount: 5000n, currency: 'USD', pin: PIN, reference: 'co-lapse' });
  await f.money.sendMoney({ from: '0772123456', to: '0712345678', amount: 5000n, currency: 'USD', pin: PIN, reference: 'p-1' });
  const send = { from: '0772123456', to: '0712345678', amount: 100n, currency: 'USD', pin: PIN };
  await assert.rejects(f.money.sendMoney({ ...send, reference: 'p-before' }), { code: 'exceeds_daily_limit' });
  assert.equal(await f.money.closeExpiredCashOuts(), 0, 'nothing has lapsed yet');
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  await f.handle.writer.expireNow();
  assert.equal(await f.money.closeExpiredCashOuts(), 1);
  assert.equal(await f.money.closeExpiredCashOuts(), 0, 'closed once');
  const closed = (await f.money.transaction('co-lapse'))!;
  assert.equal(closed.status, 'cancelled');
  assert.equal(closed.reason, 'expired');
  await assert.rejects(f.money.completeCashOut({ agent: '40123', reference: 'co-lapse' }), { code: 'cash_out_closed' });
  // Durable: after a restart the allowance is still given back.
  await f.reopen();
  assert.equal((await f.money.sendMoney({ ...send, reference: 'p-after' })).status, 'completed');
  await assertProven(f);
});

test('merchant payment by code: the merchant bears the fee', async (t) => {
  const f = await openMoney(t);
  const alice = await subscriber(f, '0772123456');
  const shop = await f.money.registerMerchant({ code: '123456', name: 'OK Mart', msisdn: '0779999999' });
  await fund(f, '0772123456', 10_000n);
  const tx = await f.money.payMerchant({ from: '0772123456', merchant: '123456', amount: 4000n, currency: 'USD', pin: PIN, reference: 'pay-1' });
  assert.equal(tx.fee, '20');
  assert.equal(walletBalance(f, alice), 6000n);
  assert.equal(balanceOf(f, merchantTillId(shop.id, 'USD')), 3980n);
  assert.equal(balanceOf(f, systemId('fees', 'USD')), 20n);
  const messages = (await outbox(f)).filter((m) => m.id.startsWith('txn:pay-1'));
  assert.equal(messages.length, 2);
  await assertProven(f);
});

test('bank to wallet and wallet to bank: e-money issued and returned through the trust account', async (t) => {
  const f = await openMoney(t);
  const alice = await subscriber(f, '0772123456');
  await f.money.registerBank({ code: 'CBZ', name: 'CBZ Bank' });
  await f.money.bankToWallet({ bank: 'CBZ', to: '0772123456', amount: 10_000n, currency: 'ZWG', reference: 'b2w-1' });
  assert.equal(walletBalance(f, alice, 'ZWG'), 10_000n);
  const settlement = bankSettlementId('bank-CBZ', 'ZWG');
  assert.equal(balanceOf(f, settlement), -10_000n);
  const tx = await f.money.walletToBank({ from: '0772123456', bank: 'CBZ', amount: 5000n, currency: 'ZWG', pin: PIN, reference: 'w2b-1' });
  assert.equal(tx.fee, '2700');
  assert.equal(walletBalance(f, alice, 'ZWG'), 2300n);
  assert.equal(balanceOf(f, settlement), -5000n);
  await assertProven(f);
});

test('airtime for self and for another number: money to airtime sales, airtime credited in AIRTIME_USD (account created once)', async (t) => {
  const f = await openMoney(t);
  const alice = await subscriber(f, '0772123456');
  await fund(f, '0772123456', 10_000n);
  await f.money.buyAirtime({ from: '0772123456', amount: 500n, currency: 'USD', pin: PIN, reference: 'air-1' });
  await f.money.buyAirtime({ from: '0772123456', amount: 300n, currency: 'USD', pin: PIN, reference: 'air-2' });
  const tx = await f.money.buyAirtime({ from: '0772123456', to: '0731234567', amount: 100n, currency: 'USD', pin: PIN, reference: 'air-3' });
  assert.equal(tx.beneficiary, '+263731234567');
  assert.equal(walletBalance(f, alice), 9100n);
  assert.equal(balanceOf(f, airtimeId('+263772123456' as Msisdn, 'USD')), 80_000n);
  assert.equal(balanceOf(f, airtimeId('+263731234567' as Msisdn, 'USD')), 10_000n);
  assert.equal(balanceOf(f, systemId('airtime_sales', 'USD')), 900n);
  const toOther = (await outbox(f)).filter((m) => m.msisdn === '+263731234567');
  assert.equal(toOther.length, 1);
  assert.match(toOther[0].text, /^You have received USD 1\.00 airtime from \+263772…456/);
  const { balances } = await f.money.balance({ msisdn: '0772123456', pin: PIN });
  assert.deepEqual(balances.map((b) => [b.asset, b.available]), [['USD', 9100n], ['ZWG', 0n], ['AIRTIME_USD', 80_000n]]);
  await assertProven(f);
});

test('mini statement: the last five, newest first, for both sides', async (t) => {
  const f = await openMoney(t);
  await subscriber(f, '0772123456');
  await subscriber(f, '0712345678');
  await fund(f, '0772123456', 10_000n);
  for (let i = 1; i <= 7; i++) {
    f.clock.now = new Date(Date.UTC(2026, 10, 23, 8, i));
    await f.money.sendMoney({ from: '0772123456', to: '0712345678', amount: BigInt(i * 100), currency: 'USD', pin: PIN, reference: `s-${i}` });
  }
  const mine = await f.money.miniStatement({ msisdn: '0772123456', pin: PIN });
  assert.deepEqual(mine.lines.map((l) => l.reference), ['s-7', 's-6', 's-5', 's-4', 's-3']);
  assert.equal(mine.text[0], '23/11/26 10:07 -USD 7.00 sent +263712…678');
  const theirs = await f.money.miniStatement({ msisdn: '0712345678', pin: PIN });
  assert.deepEqual(theirs.lines.map((l) => [l.reference, l.direction]), [['s-7', 'credit'], ['s-6', 'credit'], ['s-5', 'credit'], ['s-4', 'credit'], ['s-3', 'credit']]);
  await f.reopen();
  assert.deepEqual((await f.money.miniStatement({ msisdn: '0772123456', pin: PIN })).lines, mine.lines);
});

test('reversal: new transfers undo every leg (fee included), both told; at most once', async (t) => {
  const f = await openMoney(t);
  const alice = await subscriber(f, '0772123456');
  const bob = await subscriber(f, '0712345678');
  await fund(f, '0772123456', 5000n);
  await f.money.sendMoney({ from: '0772123456', to: '0712345678', amount: 1000n, currency: 'USD', pin: PIN, reference: 'p2p-1' });
  const reversal = await f.money.reverse({ original: 'p2p-1', reason: 'sent to the wrong number', reference: 'rev-1' });
  assert.equal(reversal.reversal_of, 'p2p-1');
  assert.deepEqual(reversal.legs.map((l) => l.id), ['mm:rev-1:0', 'mm:rev-1:1']);
  assert.equal(f.handle.ledger.accounts.size > 0, true);
  assert.equal(walletBalance(f, alice), 5000n);
  assert.equal(walletBalance(f, bob), 0n);
  assert.equal(balanceOf(f, systemId('fees', 'USD')), 0n);
  assert.equal((await f.money.transaction('p2p-1'))!.status, 'reversed');
  assert.equal((await outbox(f)).filter((m) => m.id.startsWith('txn:rev-1')).length, 2);
  const statement = await f.money.miniStatement({ msisdn: '0772123456', pin: PIN });
  assert.deepEqual(statement.lines.map((l) => [l.kind, l.direction, l.amount, l.fee]), [
    ['reversal', 'credit', '1000', '0'], ['sent', 'debit', '1000', '20'], ['bank_to_wallet', 'credit', '5000', '0'],
  ]);
  assert.deepEqual((await f.money.miniStatement({ msisdn: '0712345678', pin: PIN })).lines.map((l) => [l.kind, l.direction, l.counterparty]), [
    ['reversal', 'debit', 'p2p-1'], ['received', 'credit', '+263772…456'],
  ]);
  // A retry of the same reversal answers it again; a second reversal is refused.
  assert.deepEqual(await f.money.reverse({ original: 'p2p-1', reason: 'sent to the wrong number', reference: 'rev-1' }), reversal);
  await assert.rejects(f.money.reverse({ original: 'p2p-1', reason: 'again', reference: 'rev-2' }), { code: 'transaction_already_reversed' });
  await assertProven(f);
});

test('state survives a restart: parties, PINs, usage, transactions, and retries still answer the first result', async (t) => {
  const f = await openMoney(t);
  await subscriber(f, '0772123456');
  await subscriber(f, '0712345678');
  await fund(f, '0772123456', 5000n);
  const first = await f.money.sendMoney({ from: '0772123456', to: '0712345678', amount: 1000n, currency: 'USD', pin: PIN, reference: 'p2p-1' });
  await f.reopen();
  assert.deepEqual(await f.money.sendMoney({ from: '0772123456', to: '0712345678', amount: 1000n, currency: 'USD', pin: PIN, reference: 'p2p-1' }), first);
  await f.money.sendMoney({ from: '0772123456', to: '0712345678', amount: 1000n, currency: 'USD', pin: PIN, reference: 'p2p-2' });
  assert.equal(walletBalance(f, f.money.findSubscriber('0712345678')), 2000n);
  await assertProven(f);
});

test('reversal of a migrated legacy transaction: by its legacy ref, from the migration\'s transfers, at most once', async (t) => {
  const f = await openMoney(t);
  const alice = await subscriber(f, '0772123456');
  const bob = await subscriber(f, '0712345678');
  await fund(f, '0772123456', 5000n);
  // What the migration books for a legacy SUCCESS row (src/cutover/import.ts): the amount, and
  // the fee linked to it; for a legacy REVERSAL, a ledger reversal of the original.
  const legacy = (ref: string, type: keyof typeof TXN_TYPE_CODE, debit: string, credit: string, amount: bigint, fee: bigint, reversal_of?: string): TransferInput[] => {
    const user_data = `legacy txn_log 1482 ${type} USSD 2026-11-04T07:31:07Z`;
    const main: TransferInput = { id: txnTransferId(ref), debit_account_id: debit, credit_account_id: credit, amount, asset: 'USD', code: TXN_TYPE_CODE[type], user_data, reversal_of: reversal_of ? txnTransferId(reversal_of) : null };
    if (fee === 0n) return [main];
    return [{ ...main, flags: TransferFlag.linked }, { id: txnFeeId(ref), debit_account_id: debit, credit_account_id: systemId('fees', 'USD'), amount: fee, asset: 'USD', code: MigrationCode.fee, user_data }];
  };
  const aw = walletId(alice.id, 'USD');
  const bw = walletId(bob.id, 'USD');
  await f.handle.writer.execute({
    run: (ctx) => {
      ctx.createAccounts([{ id: systemId('fees', 'USD'), asset: 'USD', code: AccountCode.system_fees }]);
      const results = ctx.createTransfers([
        ...legacy('MP261104.0001476', 'P2P', aw, bw, 87n, 5n),
        ...legacy('MP261104.0001477', 'P2P', aw, bw, 100n, 5n),
        ...legacy('MP261105.0001500', 'REVERSAL', bw, aw, 100n, 0n, 'MP261104.0001477'),
        ...legacy('MP261105.0001501', 'AIRTIME', aw, bw, 50n, 0n),
      ]);
      assert.ok(results.every((r) => r === 'ok'), results.join());
    },
  });
  assert.equal(walletBalance(f, alice), 5000n - 92n - 105n + 100n - 50n);
  const reversal = await f.money.reverse({ original: 'MP261104.0001476', reason: 'sent to the wrong number', reference: 'rev-legacy-1' });
  assert.deepEqual([reversal.reversal_of, reversal.amount, reversal.fee, reversal.from, reversal.to], ['MP261104.0001476', '87', '5', '+263712345678', '+263772123456']);
  assert.deepEqual(reversal.legs.map((l) => l.id), ['mm:rev-legacy-1:0', 'mm:rev-legacy-1:1']);
  assert.equal(walletBalance(f, alice), 5000n - 105n + 100n - 50n);
  assert.equal(walletBalance(f, bob), 50n);
  const original = (await f.money.transaction('MP261104.0001476'))!;
  assert.deepEqual([original.status, original.service, original.reversed_by, original.created_at], ['reversed', 'p2p', 'rev-legacy-1', '2026-11-04T07:31:07.000Z']);
  // Once: again, after a restart too; and one legacy already reversed is refused as such.
  await refused(f.money.reverse({ original: 'MP261104.0001476', reason: 'again', reference: 'rev-legacy-2' }), 'transaction_already_reversed', { reversed_by: 'rev-legacy-1' });
  await f.reopen();
  await refused(f.money.reverse({ original: 'MP261104.0001476', reason: 'again', reference: 'rev-legacy-2' }), 'transaction_already_reversed', { reversed_by: 'rev-legacy-1' });
  await refused(f.money.reverse({ original: 'MP261104.0001477', reason: 'again', reference: 'rev-legacy-3' }), 'transaction_already_reversed', { reversed_by: 'MP261105.0001500' });
  // A legacy reversal or airtime sale is not reversible; an unknown ref is not found. Nothing moved.
  await refused(f.money.reverse({ original: 'MP261105.0001500', reason: 'undo', reference: 'rev-legacy-4' }), 'reversal_not_allowed');
  await refused(f.money.reverse({ original: 'MP261105.0001501', reason: 'undo', reference: 'rev-legacy-5' }), 'reversal_not_allowed');
  await refused(f.money.reverse({ original: 'MP261105.0009999', reason: 'undo', reference: 'rev-legacy-6' }), 'transaction_not_found');
  // A client retrying, after the cutover, a send the legacy platform already made: not made twice.
  await refused(f.money.sendMoney({ from: '0772123456', to: '0712345678', amount: 100n, currency: 'USD', pin: PIN, reference: 'MP261104.0001477' }), 'reference_migrated');
  assert.equal(walletBalance(f, alice), 5000n - 105n + 100n - 50n);
  await assertProven(f);
});
