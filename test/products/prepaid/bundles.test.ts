// Bundles: the catalog and its refusals, purchase from airtime and from the wallet (price debited,
// a lot credited), idempotent references, lots coexisting, expiry at the expiry time through a
// visible expiry transfer, the day-before notice, legacy buckets, and state across a restart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TransferFlag } from '../../../src/ledger/types.js';
import { airtimeId, systemId } from '../../../src/products/accounts.js';
import { normalizeMsisdn } from '../../../src/products/msisdn.js';
import { ALICE, BOB, DAY_NS, HOUR_NS, NS_PER_S, START_NS, airtimeOf, assertSound, documents, giveAirtime, ledgerState, openPrepaid, refused, seedCatalog } from './fixture.js';

const alice = normalizeMsisdn(ALICE)!;

test('the catalog: operators add, replace and retire bundles; bad entries are refused', async (t) => {
  const f = await openPrepaid(t);
  await seedCatalog(f);
  assert.deepEqual(f.prepaid.listBundles().map((b) => b.code), ['DAILY', 'DATA1G', 'NIGHT', 'VOICE30']);
  const night = f.prepaid.listBundles().find((b) => b.code === 'NIGHT')!;
  assert.deepEqual(night, { code: 'NIGHT', name: 'Night Data', service: 'data', price: '50', currency: 'USD', units: '2097152', validity_s: 604800, window: { from: '22:00', to: '06:00' }, active: true });
  await f.prepaid.retireBundle('DAILY');
  assert.deepEqual(f.prepaid.listBundles().map((b) => b.code), ['DATA1G', 'NIGHT', 'VOICE30']);
  assert.equal(f.prepaid.listBundles({ all: true }).length, 4);
  await refused(f.prepaid.retireBundle('NOPE'), 'bundle_not_found');
  const good = { code: 'X', name: 'X', service: 'data' as const, price: '1', currency: 'USD' as const, units: '1', validity_s: 3600, window: null };
  for (const bad of [
    { ...good, code: 'lower' }, { ...good, name: ' ' }, { ...good, service: 'fax' as never }, { ...good, price: '0' }, { ...good, units: '-1' },
    { ...good, validity_s: 59 }, { ...good, validity_s: 400 * 86_400 }, { ...good, window: { from: '25:00', to: '06:00' } },
    { ...good, window: { from: '06:00', to: '06:00' } }, { ...good, currency: 'EUR' as never },
  ]) await refused(f.prepaid.putBundle(bad), 'bundle_invalid');
  await f.reopen();
  assert.deepEqual(f.prepaid.listBundles().map((b) => b.code), ['DATA1G', 'NIGHT', 'VOICE30']);
});

test('buying from airtime debits the price (as airtime: 100 units a cent) and credits a lot with its own expiry', async (t) => {
  const f = await openPrepaid(t);
  await seedCatalog(f);
  await giveAirtime(f, ALICE, 25_000n);
  const bought = await f.prepaid.buyBundle({ msisdn: ALICE, bundle_code: 'DATA1G', pay_from: 'airtime', reference: 'p1' });
  assert.equal(bought.result, 'ok');
  assert.deepEqual(bought.paid, { account_id: airtimeId(alice), asset: 'AIRTIME_USD', amount: '10000' });
  assert.equal(bought.lot.available, '1048576');
  assert.equal(bought.lot.expires_at, '2026-12-23T12:00:00.000000000+02:00');
  assert.equal(await airtimeOf(f, ALICE), 15_000n);
  assert.equal(f.handle.ledger.accounts.get(systemId('bundle_sales', 'AIRTIME_USD'))!.credits_posted, 10_000n);
  // A retry answers the same lot and pays nothing more; the reference cannot be reused for another purchase.
  const again = await f.prepaid.buyBundle({ msisdn: ALICE, bundle_code: 'DATA1G', pay_from: 'airtime', reference: 'p1' });
  assert.equal(again.result, 'exists');
  assert.equal(again.lot.lot_id, bought.lot.lot_id);
  assert.equal(await airtimeOf(f, ALICE), 15_000n);
  await refused(f.prepaid.buyBundle({ msisdn: ALICE, bundle_code: 'DAILY', pay_from: 'airtime', reference: 'p1' }), 'bundle_reference_conflict');
  await refused(f.prepaid.buyBundle({ msisdn: BOB, bundle_code: 'DATA1G', pay_from: 'airtime', reference: 'p1' }), 'bundle_reference_conflict');
  // Several lots of one kind coexist, each with its own expiry.
  f.advance(HOUR_NS);
  await f.prepaid.buyBundle({ msisdn: ALICE, bundle_code: 'DATA1G', pay_from: 'airtime', reference: 'p2' });
  const lots = await f.prepaid.bundleBalances(ALICE);
  assert.deepEqual(lots.map((l) => [l.bundle_code, l.available, l.expires_at]), [
    ['DATA1G', '1048576', '2026-12-23T12:00:00.000000000+02:00'],
    ['DATA1G', '1048576', '2026-12-23T13:00:00.000000000+02:00'],
  ]);
  assert.equal(await airtimeOf(f, ALICE), 5_000n);
  await assertSound(f.handle);
});

test('purchase refusals: not enough airtime, unknown or retired bundle, bad reference, bad number — nothing changes', async (t) => {
  const f = await openPrepaid(t);
  await seedCatalog(f);
  await giveAirtime(f, ALICE, 9_999n);
  await f.prepaid.retireBundle('DAILY');
  const before = ledgerState(f.handle);
  const details = await refused(f.prepaid.buyBundle({ msisdn: ALICE, bundle_code: 'DATA1G', pay_from: 'airtime', reference: 'r1' }), 'insufficient_airtime');
  assert.deepEqual(details, { needed: '10000', available: '9999', asset: 'AIRTIME_USD' });
  await refused(f.prepaid.buyBundle({ msisdn: BOB, bundle_code: 'DATA1G', pay_from: 'airtime', reference: 'r2' }), 'insufficient_airtime');
  await refused(f.prepaid.buyBundle({ msisdn: ALICE, bundle_code: 'NOPE', pay_from: 'airtime', reference: 'r3' }), 'bundle_not_found');
  await refused(f.prepaid.buyBundle({ msisdn: ALICE, bundle_code: 'DAILY', pay_from: 'airtime', reference: 'r4' }), 'bundle_unavailable');
  await refused(f.prepaid.buyBundle({ msisdn: ALICE, bundle_code: 'DAILY', pay_from: 'airtime', reference: 'bad ref' }), 'invalid_request');
  await refused(f.prepaid.buyBundle({ msisdn: '0800', bundle_code: 'DAILY', pay_from: 'airtime', reference: 'r5' }), 'msisdn_invalid');
  assert.equal(ledgerState(f.handle), before);
  assert.deepEqual(await documents(f.handle, 'prepaid_lots'), []);
});

test('buying from the wallet debits the money price, checks the PIN, and refuses without a wallet or funds', async (t) => {
  const f = await openPrepaid(t);
  await seedCatalog(f);
  const wallet = await f.wallets.register(ALICE, 120n);
  await refused(f.prepaid.buyBundle({ msisdn: ALICE, bundle_code: 'DATA1G', pay_from: 'wallet', reference: 'w0', pin: '9999' }), 'invalid_request');
  const bought = await f.prepaid.buyBundle({ msisdn: ALICE, bundle_code: 'DATA1G', pay_from: 'wallet', reference: 'w1', pin: '1234' });
  assert.deepEqual(bought.paid, { account_id: wallet, asset: 'USD', amount: '100' });
  assert.equal(f.handle.ledger.accounts.get(wallet)!.credits_posted - f.handle.ledger.accounts.get(wallet)!.debits_posted, 20n);
  assert.equal(f.handle.ledger.accounts.get(systemId('bundle_sales', 'USD'))!.credits_posted, 100n);
  const before = ledgerState(f.handle);
  await refused(f.prepaid.buyBundle({ msisdn: ALICE, bundle_code: 'DATA1G', pay_from: 'wallet', reference: 'w2' }), 'insufficient_wallet_balance');
  await refused(f.prepaid.buyBundle({ msisdn: BOB, bundle_code: 'DATA1G', pay_from: 'wallet', reference: 'w3' }), 'wallet_unavailable');
  await refused(f.prepaid.buyBundle({ msisdn: BOB, bundle_code: 'NOPE', pay_from: 'wallet', reference: 'w4' }), 'bundle_not_found');
  assert.equal(ledgerState(f.handle), before);
  await assertSound(f.handle);
});

test('a lot expires at its expiry time: remaining units leave through an expiry transfer, and are never shown or usable after', async (t) => {
  const f = await openPrepaid(t);
  await seedCatalog(f);
  await giveAirtime(f, ALICE, 100_000n);
  const { lot } = await f.prepaid.buyBundle({ msisdn: ALICE, bundle_code: 'DAILY', pay_from: 'airtime', reference: 'd1' });
  await f.prepaid.chargingInitial({ session_id: 's1', request_number: 0, msisdn: ALICE, service: 'data', requested_units: 1_400n });
  await f.prepaid.chargingTerminate({ session_id: 's1', request_number: 1, used_units: 1_400n });
  f.advance(DAY_NS - NS_PER_S);
  await f.prepaid.runDue();
  assert.equal((await f.prepaid.bundleBalances(ALICE)).length, 1);
  f.advance(NS_PER_S);
  // At the expiry instant the lot is no longer shown or usable, even before the expiry command runs.
  assert.deepEqual(await f.prepaid.bundleBalances(ALICE), []);
  assert.equal(f.prepaid.charging.plan(f.handle, { msisdn: alice, service: 'data', requested: 10n, now: f.clock.now }).parts[0].account_id, airtimeId(alice));
  assert.equal(await f.prepaid.runDue(), 1);
  const account = f.handle.ledger.accounts.get(lot.lot_id)!;
  assert.equal(account.credits_posted - account.debits_posted, 0n);
  await f.handle.writer.settled();
  const history = await f.handle.store.accountHistory(account, { limit: 10 });
  const expiry = history.entries[0].transfer;
  assert.equal(expiry.id, `expire:${lot.lot_id}`);
  assert.equal(expiry.amount, 102_400n - 1_400n);
  assert.equal(expiry.credit_account_id, systemId('prepaid_expiry', 'DATA_KB'));
  assert.equal(expiry.flags & TransferFlag.pending, 0);
  const doc = (await documents(f.handle, 'prepaid_lots'))[0];
  assert.equal(doc.tag, 'expired');
  await f.reopen();
  assert.deepEqual(await f.prepaid.bundleBalances(ALICE), []);
  assert.equal(await f.prepaid.runDue(), 0);
  await assertSound(f.handle);
});

test('the module\'s own timer runs an expiry when it falls due', async (t) => {
  const f = await openPrepaid(t, { timer: true });
  await seedCatalog(f);
  await giveAirtime(f, ALICE, 100_000n);
  const { lot } = await f.prepaid.buyBundle({ msisdn: ALICE, bundle_code: 'DAILY', pay_from: 'airtime', reference: 'd1' });
  f.advance(DAY_NS);
  const account = f.handle.ledger.accounts.get(lot.lot_id)!;
  for (let i = 0; i < 50 && account.debits_posted === 0n; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(account.debits_posted, 102_400n);
  await assertSound(f.handle);
});

test('a day before a lot expires, one notice goes to the outbox (in the subscriber\'s language); a daily bundle gets none', async (t) => {
  const f = await openPrepaid(t);
  await seedCatalog(f);
  await f.wallets.register(ALICE, 0n);
  await giveAirtime(f, ALICE, 100_000n);
  const { lot } = await f.prepaid.buyBundle({ msisdn: ALICE, bundle_code: 'VOICE30', pay_from: 'airtime', reference: 'v1' });
  await f.prepaid.buyBundle({ msisdn: ALICE, bundle_code: 'DAILY', pay_from: 'airtime', reference: 'd1' });
  f.advance(6n * DAY_NS - NS_PER_S);
  await f.prepaid.runDue();
  f.advance(NS_PER_S);
  assert.equal(await f.prepaid.runDue(), 1);
  const messages = await documents(f.handle, 'outbox');
  assert.equal(messages.length, 1);
  const message = JSON.parse(messages[0].value);
  assert.equal(message.id, `prepaid:expiring:${lot.lot_id}`);
  assert.equal(message.kind, 'bundle_expiry');
  assert.equal(message.msisdn, '+263772123456');
  assert.equal(message.language, 'sn');
  assert.equal(message.state, 'queued');
  assert.match(message.text, /30 Minutes bundle expires on 2026-11-30 12:00\. 1800 seconds left/);
  await f.reopen();
  f.advance(HOUR_NS);
  await f.prepaid.runDue();
  assert.equal((await documents(f.handle, 'outbox')).length, 1);
});

test('legacy buckets import as airtime or as lots with their name and expiry; idempotent by id; bad ones refused', async (t) => {
  const f = await openPrepaid(t);
  assert.equal(await f.prepaid.importLegacyBucket({ id: 'B1', msisdn: ALICE, kind: 'airtime', amount: 12_345n }), 'ok');
  assert.equal(await f.prepaid.importLegacyBucket({ id: 'B1', msisdn: ALICE, kind: 'airtime', amount: 12_345n }), 'exists');
  assert.equal(await f.prepaid.importLegacyBucket({ id: 'B2', msisdn: ALICE, kind: 'data', amount: 500_000n, bundle_name: 'Legacy 500MB', expires_at: START_NS + 2n * DAY_NS }), 'ok');
  assert.equal(await f.prepaid.importLegacyBucket({ id: 'B3', msisdn: ALICE, kind: 'sms', amount: 50n, bundle_name: 'SMS 50', expires_at: START_NS + 2n * DAY_NS }), 'ok');
  assert.equal(await f.prepaid.importLegacyBucket({ id: 'B4', msisdn: ALICE, kind: 'airtime', amount: 700n, currency: 'ZWG' }), 'ok');
  assert.equal(await f.prepaid.importLegacyBucket({ id: 'B2', msisdn: ALICE, kind: 'data', amount: 500_000n, bundle_name: 'Legacy 500MB', expires_at: START_NS + 2n * DAY_NS }), 'exists');
  const balances = await f.prepaid.balances(ALICE);
  assert.deepEqual(balances.airtime.map((a) => [a.currency, a.available]), [['USD', '12345'], ['ZWG', '700']]);
  assert.deepEqual(balances.bundles.map((b) => [b.name, b.service, b.available, b.bundle_code]), [['Legacy 500MB', 'data', '500000', null], ['SMS 50', 'sms', '50', null]]);
  const before = ledgerState(f.handle);
  for (const bad of [
    { id: 'bad id', msisdn: ALICE, kind: 'airtime' as const, amount: 1n },
    { id: 'B9', msisdn: ALICE, kind: 'fax' as never, amount: 1n },
    { id: 'B9', msisdn: ALICE, kind: 'airtime' as const, amount: 0n },
    { id: 'B9', msisdn: ALICE, kind: 'data' as const, amount: 1n, expires_at: START_NS + DAY_NS },
    { id: 'B9', msisdn: ALICE, kind: 'data' as const, amount: 1n, bundle_name: 'Old', expires_at: START_NS },
  ]) await refused(f.prepaid.importLegacyBucket(bad), 'legacy_bucket_invalid');
  await refused(f.prepaid.importLegacyBucket({ id: 'B9', msisdn: 'x', kind: 'airtime', amount: 1n }), 'msisdn_invalid');
  assert.equal(ledgerState(f.handle), before);
  await f.reopen();
  assert.equal((await f.prepaid.bundleBalances(ALICE)).length, 2);
  await assertSound(f.handle);
});
