// Prepaid over HTTP: the routes answer with the registry's codes and statuses, every prepaid code is
// documented in /openapi.json, only operators write, and a voucher → bundle → charging journey works.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { PREPAID_ERRORS } from '../../../src/errors/prepaid.js';
import type { PrepaidModule } from '../../../src/products/prepaid/module.js';
import { assertJournalOk, ledgerState, openHttp } from '../../helpers/http.js';

test('every prepaid error code is answered by a route that lists it in /openapi.json, with its status and message', async (t) => {
  const http = await openHttp();
  t.after(() => http.close());
  const document = (await http.request({ url: '/openapi.json', key: null })).body;
  const found = new Set<string>();
  for (const item of Object.values(document.paths) as Record<string, { responses: Record<string, { content?: Record<string, { examples?: Record<string, { summary: string }> }> }> }>[]) {
    for (const operation of Object.values(item)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        for (const media of Object.values(response.content ?? {})) for (const [code, example] of Object.entries(media.examples ?? {})) found.add(`${code} ${status} ${example.summary}`);
      }
    }
  }
  for (const [code, { status, message }] of Object.entries(PREPAID_ERRORS)) assert.ok(found.has(`${code} ${status} ${message}`), code);
});

test('a line\'s journey over HTTP: voucher recharge, bundle purchase, a charged data session, balances', async (t) => {
  const http = await openHttp();
  t.after(() => http.close());
  const batch = await http.request({ url: '/prepaid/vouchers/batches', body: { face_value: '20000', currency: 'USD', count: 2, expires_at: '2099-01-01T00:00:00Z' } });
  assert.equal(batch.status, 201);
  assert.equal(batch.body.count, 2);
  assert.equal(fs.statSync(batch.body.file).mode & 0o777, 0o600);
  const [, first, second] = fs.readFileSync(batch.body.file, 'utf8').trim().split('\n').map((line) => line.split(','));
  const redeemed = await http.request({ url: '/prepaid/vouchers/redeem', body: { msisdn: '0772123456', pin: first[1] } });
  assert.equal(redeemed.status, 200);
  assert.equal(redeemed.body.credited, '20000');
  const again = await http.request({ url: '/prepaid/vouchers/redeem', body: { msisdn: '0772123456', pin: first[1] } });
  assert.deepEqual([again.status, again.body.code], [409, 'voucher_used']);
  const wrong = await http.request({ url: '/prepaid/vouchers/redeem', body: { msisdn: '0772123456', pin: '0000000000000000' } });
  assert.deepEqual([wrong.status, wrong.body.code, wrong.body.details.tries_left], [404, 'voucher_not_found', 4]);
  const view = await http.request({ url: `/prepaid/vouchers/${first[0]}`, key: http.auditor });
  assert.deepEqual([view.status, view.body.state, view.body.used_by], [200, 'used', '+263772123456']);
  assert.equal((await http.request({ url: `/prepaid/vouchers/${second[0]}/block`, body: {} })).body.state, 'blocked');

  const bundle = { code: 'D100', name: '100MB', service: 'data', price: '50', currency: 'USD', units: '102400', validity_s: 86_400 };
  assert.equal((await http.request({ url: '/prepaid/bundles', body: bundle })).status, 200);
  assert.deepEqual((await http.request({ url: '/prepaid/bundles', key: http.auditor })).body.bundles.map((b: { code: string }) => b.code), ['D100']);
  const bought = await http.request({ url: '/prepaid/bundles/purchase', body: { msisdn: '+263772123456', bundle_code: 'D100', pay_from: 'airtime', reference: 'ussd-1' } });
  assert.equal(bought.status, 201);
  assert.equal((await http.request({ url: '/prepaid/bundles/purchase', body: { msisdn: '+263772123456', bundle_code: 'D100', pay_from: 'airtime', reference: 'ussd-1' } })).status, 200);
  const broke = await http.request({ url: '/prepaid/bundles/purchase', body: { msisdn: '0712345678', bundle_code: 'D100', pay_from: 'airtime', reference: 'ussd-2' } });
  assert.deepEqual([broke.status, broke.body.code], [409, 'insufficient_airtime']);

  const initial = await http.request({ url: '/prepaid/charging/initial', body: { session_id: 'gx;1;1', request_number: 0, msisdn: '0772123456', service: 'data', requested_units: '2048' } });
  assert.deepEqual([initial.status, initial.body.granted_units, initial.body.reserved_from[0].account_id], [200, '2048', bought.body.lot.lot_id]);
  const update = await http.request({ url: '/prepaid/charging/update', body: { session_id: 'gx;1;1', request_number: 1, used_units: '2000' } });
  assert.deepEqual([update.body.used_units, update.body.granted_units], ['2000', '1024']);
  const end = await http.request({ url: '/prepaid/charging/terminate', body: { session_id: 'gx;1;1', request_number: 2, used_units: '24' } });
  assert.equal(end.body.used_units, '24');
  const missing = await http.request({ url: '/prepaid/charging/update', body: { session_id: 'nope', request_number: 1, used_units: '1' } });
  assert.deepEqual([missing.status, missing.body.code], [404, 'session_not_found']);

  const balances = await http.request({ url: '/prepaid/lines/0772123456/balances', key: http.auditor });
  assert.equal(balances.status, 200);
  assert.equal(balances.body.airtime[0].available, '15000');
  assert.equal(balances.body.bundles[0].available, String(102_400 - 2_024));
  assertJournalOk(http.handle);
});

test('prepaid writes need an operator key; bad bodies are invalid_request; refusals change nothing', async (t) => {
  const http = await openHttp();
  t.after(() => http.close());
  const before = ledgerState(http.handle);
  const forbidden = await http.request({ url: '/prepaid/vouchers/redeem', key: http.auditor, body: { msisdn: '0772123456', pin: '1234567812345678' } });
  assert.deepEqual([forbidden.status, forbidden.body.code], [403, 'forbidden']);
  const unauthorized = await http.request({ url: '/prepaid/lines/0772123456/balances', key: null });
  assert.equal(unauthorized.status, 401);
  for (const [url, body] of [
    ['/prepaid/vouchers/redeem', { msisdn: '0772123456' }],
    ['/prepaid/charging/initial', { session_id: 's', request_number: -1, msisdn: '0772123456', service: 'data' }],
    ['/prepaid/charging/initial', { session_id: 's', request_number: 0, msisdn: '0772123456', service: 'fax' }],
    ['/prepaid/charging/update', { session_id: 's', request_number: 1, used_units: '-5' }],
    ['/prepaid/bundles/purchase', { msisdn: '0772123456', bundle_code: 'X', pay_from: 'cash', reference: 'r' }],
  ] as const) {
    const answer = await http.request({ url, body });
    assert.deepEqual([answer.status, answer.body.code], [400, 'invalid_request'], url);
  }
  const bad_time = await http.request({ url: '/prepaid/vouchers/batches', body: { face_value: '1', currency: 'USD', count: 1, expires_at: 'tomorrow' } });
  assert.deepEqual([bad_time.status, bad_time.body.code], [400, 'timestamp_invalid']);
  const bad_msisdn = await http.request({ url: '/prepaid/lines/12345/balances' });
  assert.deepEqual([bad_msisdn.status, bad_msisdn.body.code], [400, 'msisdn_invalid']);
  const no_credit = await http.request({ url: '/prepaid/charging/initial', body: { session_id: 's', request_number: 0, msisdn: '0772123456', service: 'voice' } });
  assert.deepEqual([no_credit.status, no_credit.body.code], [409, 'credit_limit_reached']);
  const bad_bundle = await http.request({ url: '/prepaid/bundles', body: { code: 'x', name: 'x', service: 'data', price: '1', currency: 'USD', units: '1', validity_s: 3600 } });
  assert.deepEqual([bad_bundle.status, bad_bundle.body.code], [400, 'bundle_invalid']);
  assert.deepEqual((await http.request({ url: '/prepaid/bundles/NOPE/retire', body: {} })).body.code, 'bundle_not_found');
  assert.deepEqual((await http.request({ url: '/prepaid/vouchers/000000000000' })).body.code, 'voucher_not_found');
  const bucket = await http.request({ url: '/prepaid/buckets/import', body: { id: 'x y', msisdn: '0772123456', kind: 'airtime', amount: '1' } });
  assert.deepEqual([bucket.status, bucket.body.code], [400, 'legacy_bucket_invalid']);
  assert.equal(ledgerState(http.handle).records, before.records);
});

test('with mobile money on the platform: airtime bought from the wallet is what prepaid charges, and a bundle can be paid from the wallet with the PIN', async (t) => {
  const http = await openHttp();
  t.after(() => http.close());
  const post = (url: string, body: unknown) => http.request({ url, body });
  assert.equal((await post('/money/subscribers', { msisdn: '0772123456', name: 'Alice Moyo', kyc_tier: 2 })).status, 201);
  assert.equal((await post('/money/pin', { msisdn: '0772123456', pin: '2580' })).status, 200);
  assert.equal((await post('/money/banks', { code: 'CBZ', name: 'CBZ Bank' })).status, 201);
  assert.equal((await post('/money/bank-to-wallet', { reference: 'fund-1', bank: 'CBZ', to: '0772123456', amount: '5000', currency: 'USD' })).status, 200);
  const airtime = await post('/money/airtime', { reference: 'air-1', from: '0772123456', amount: '100', currency: 'USD', pin: '2580' });
  assert.equal(airtime.status, 200, JSON.stringify(airtime.body));
  const balances = await http.request({ url: '/prepaid/lines/0772123456/balances' });
  assert.equal(balances.body.airtime[0].available, '10000');
  const call = await post('/prepaid/charging/initial', { session_id: 'call-1', request_number: 0, msisdn: '0772123456', service: 'voice', requested_units: '60' });
  assert.equal(call.body.granted_units, '60');
  await post('/prepaid/charging/terminate', { session_id: 'call-1', request_number: 1, used_units: '30' });
  assert.equal((await http.request({ url: '/prepaid/lines/0772123456/balances' })).body.airtime[0].available, String(10_000 - 30 * 20));

  assert.equal((await post('/prepaid/bundles', { code: 'D100', name: '100MB', service: 'data', price: '50', currency: 'USD', units: '102400', validity_s: 86_400 })).status, 200);
  const prepaid = http.platform.module<PrepaidModule>('prepaid');
  const bought = await prepaid.buyBundle({ msisdn: '0772123456', bundle_code: 'D100', pay_from: 'wallet', reference: 'w-1', pin: '2580' });
  assert.equal(bought.paid.asset, 'USD');
  assert.equal(bought.paid.amount, '50');
  await assert.rejects(prepaid.buyBundle({ msisdn: '0772123456', bundle_code: 'D100', pay_from: 'wallet', reference: 'w-2', pin: '0000' }), (e: { code?: string }) => e.code === 'pin_wrong');
  const wallet = http.handle.ledger.accounts.get(bought.paid.account_id)!;
  assert.equal(wallet.credits_posted - wallet.debits_posted, 5_000n - 100n - 50n);
  assertJournalOk(http.handle);
});
