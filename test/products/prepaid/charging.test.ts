// Real-time charging: consumption order (window bundle in its window, soonest-expiring lot, then
// airtime at the tariff), grants and final-unit indication, update and terminate, idempotency by
// request number, session expiry releasing the reservation, low-balance notices, parallel
// sessions never over-granting, and sessions surviving a restart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { available, type Transfer } from '../../../src/ledger/types.js';
import { livePartsBySession } from '../../../src/products/prepaid/charging.js';
import { airtimeId, systemId } from '../../../src/products/accounts.js';
import { normalizeMsisdn } from '../../../src/products/msisdn.js';
import { ALICE, DAY_NS, HOUR_NS, NS_PER_S, START_NS, airtimeOf, assertSound, documents, giveAirtime, ledgerState, openPrepaid, refused, seedCatalog, type Fixture } from './fixture.js';

const alice = normalizeMsisdn(ALICE)!;

async function buy(f: Fixture, code: string, reference: string): Promise<string> {
  return (await f.prepaid.buyBundle({ msisdn: ALICE, bundle_code: code, pay_from: 'airtime', reference })).lot.lot_id;
}

function lotAvailable(f: Fixture, id: string): bigint {
  return available(f.handle.ledger.accounts.get(id)!);
}

test('consumption order: the window bundle in its window, then the soonest-expiring lot, then airtime at the tariff', async (t) => {
  const f = await openPrepaid(t);
  await seedCatalog(f);
  await giveAirtime(f, ALICE, 1_000_000n);
  const month = await buy(f, 'DATA1G', 'm');
  const night = await buy(f, 'NIGHT', 'n');
  const daily = await buy(f, 'DAILY', 'd');
  // 12:00 Harare: outside the night window, the daily lot (soonest expiry) first, then the monthly.
  const noon = await f.prepaid.chargingInitial({ session_id: 'noon', request_number: 0, msisdn: ALICE, service: 'data', requested_units: 200_000n });
  assert.deepEqual(noon.reserved_from, [{ account_id: daily, units: '102400' }, { account_id: month, units: '97600' }]);
  assert.equal(noon.granted_units, '200000');
  assert.equal(noon.final_unit, false);
  assert.equal(noon.validity_s, 300);
  await f.prepaid.chargingTerminate({ session_id: 'noon', request_number: 1, used_units: 0n });
  // 23:00 Harare: the night bundle first; its grant stops at the window's end (at 05:59:00, 60 s).
  f.clock.now = START_NS + 11n * HOUR_NS;
  const late = await f.prepaid.chargingInitial({ session_id: 'late', request_number: 0, msisdn: ALICE, service: 'data', requested_units: 1_000n });
  assert.deepEqual(late.reserved_from, [{ account_id: night, units: '1000' }]);
  await f.prepaid.chargingTerminate({ session_id: 'late', request_number: 1, used_units: 1_000n });
  f.clock.now = START_NS + 17n * HOUR_NS + 59n * 60n * NS_PER_S;
  const dawn = await f.prepaid.chargingInitial({ session_id: 'dawn', request_number: 0, msisdn: ALICE, service: 'data', requested_units: 1_000n });
  assert.deepEqual(dawn.reserved_from, [{ account_id: night, units: '1000' }]);
  // Just under a minute: the reservation's timeout counts from its own timestamp, which must stay inside the window.
  assert.equal(dawn.validity_s, 59);
  await f.prepaid.chargingTerminate({ session_id: 'dawn', request_number: 1, used_units: 10n });
  assert.equal(lotAvailable(f, night), 2_097_152n - 1_010n);
  // Voice with no voice bundle: airtime at 20 units a second.
  const call = await f.prepaid.chargingInitial({ session_id: 'call', request_number: 0, msisdn: ALICE, service: 'voice' });
  assert.deepEqual(call.reserved_from, [{ account_id: airtimeId(alice), units: '60' }]);
  const before = await airtimeOf(f, ALICE);
  await f.prepaid.chargingTerminate({ session_id: 'call', request_number: 1, used_units: 45n });
  assert.equal(await airtimeOf(f, ALICE), before + 60n * 20n - 45n * 20n);
  await assertSound(f.handle);
});

test('airtime grants what it can afford with a final-unit indication; nothing left is credit_limit_reached; the shown balance is what a session can use', async (t) => {
  const f = await openPrepaid(t);
  await giveAirtime(f, ALICE, 1_000n);
  const call = await f.prepaid.chargingInitial({ session_id: 'c1', request_number: 0, msisdn: ALICE, service: 'voice', requested_units: 60n });
  assert.equal(call.granted_units, '50');
  assert.equal(call.final_unit, true);
  const [usd] = await f.prepaid.airtimeBalance(ALICE);
  assert.deepEqual([usd.available, usd.reserved], ['0', '1000']);
  const before = ledgerState(f.handle);
  await refused(f.prepaid.chargingInitial({ session_id: 'c2', request_number: 0, msisdn: ALICE, service: 'sms' }), 'credit_limit_reached');
  await refused(f.prepaid.chargingInitial({ session_id: 'c3', request_number: 0, msisdn: '0712000000', service: 'data' }), 'credit_limit_reached');
  await refused(f.prepaid.chargingInitial({ session_id: 'c3', request_number: 0, msisdn: 'nope', service: 'data' }), 'msisdn_invalid');
  assert.equal(ledgerState(f.handle), before);
  const end = await f.prepaid.chargingTerminate({ session_id: 'c1', request_number: 1, used_units: 30n });
  assert.equal(end.used_units, '30');
  assert.equal(await airtimeOf(f, ALICE), 400n);
  const sms = await f.prepaid.chargingInitial({ session_id: 's1', request_number: 0, msisdn: ALICE, service: 'sms' });
  assert.equal(sms.granted_units, '1');
  await f.prepaid.chargingTerminate({ session_id: 's1', request_number: 1, used_units: 1n });
  assert.equal(await airtimeOf(f, ALICE), 100n);
  assert.equal(f.handle.ledger.accounts.get(systemId('prepaid_usage', 'AIRTIME_USD'))!.credits_posted, 900n);
  await assertSound(f.handle);
});

test('update commits the used units and replaces the grant; terminate releases the rest; usage past a grant is not charged beyond it', async (t) => {
  const f = await openPrepaid(t);
  await f.prepaid.importLegacyBucket({ id: 'lot1', msisdn: ALICE, kind: 'data', amount: 10_000n, bundle_name: 'Data 10MB', expires_at: START_NS + 10n * DAY_NS });
  const lot = 'lot:m:lot1';
  await f.prepaid.chargingInitial({ session_id: 'u', request_number: 0, msisdn: ALICE, service: 'data', requested_units: 4_000n });
  assert.equal(lotAvailable(f, lot), 6_000n);
  const u1 = await f.prepaid.chargingUpdate({ session_id: 'u', request_number: 1, used_units: 3_000n, requested_units: 4_000n });
  assert.deepEqual([u1.used_units, u1.granted_units, u1.final_unit], ['3000', '4000', false]);
  assert.equal(lotAvailable(f, lot), 3_000n);
  const u2 = await f.prepaid.chargingUpdate({ session_id: 'u', request_number: 2, used_units: 4_000n, requested_units: 4_000n });
  assert.deepEqual([u2.used_units, u2.granted_units, u2.final_unit], ['4000', '3000', true]);
  assert.equal(lotAvailable(f, lot), 0n);
  const u3 = await f.prepaid.chargingUpdate({ session_id: 'u', request_number: 3, used_units: 5_000n });
  assert.deepEqual([u3.used_units, u3.granted_units, u3.final_unit, u3.validity_s], ['3000', '0', true, 0]);
  const end = await f.prepaid.chargingTerminate({ session_id: 'u', request_number: 4, used_units: 0n });
  assert.equal(end.used_units, '0');
  const account = f.handle.ledger.accounts.get(lot)!;
  assert.deepEqual([account.debits_posted, account.debits_pending], [10_000n, 0n]);
  await assertSound(f.handle);
});

test('idempotent by request number: a repeat gets the same answer and charges nothing more; out-of-order and unknown sessions are refused', async (t) => {
  const f = await openPrepaid(t);
  await giveAirtime(f, ALICE, 100_000n);
  const first = await f.prepaid.chargingInitial({ session_id: 'i', request_number: 0, msisdn: ALICE, service: 'voice' });
  assert.deepEqual(await f.prepaid.chargingInitial({ session_id: 'i', request_number: 0, msisdn: ALICE, service: 'voice' }), first);
  await refused(f.prepaid.chargingInitial({ session_id: 'i', request_number: 0, msisdn: ALICE, service: 'data' }), 'charging_request_out_of_order');
  const update = await f.prepaid.chargingUpdate({ session_id: 'i', request_number: 1, used_units: 60n });
  const state = ledgerState(f.handle);
  assert.deepEqual(await f.prepaid.chargingUpdate({ session_id: 'i', request_number: 1, used_units: 60n }), update);
  assert.equal(ledgerState(f.handle), state);
  await refused(f.prepaid.chargingUpdate({ session_id: 'i', request_number: 0, used_units: 1n }), 'charging_request_out_of_order');
  await refused(f.prepaid.chargingUpdate({ session_id: 'nope', request_number: 1, used_units: 1n }), 'session_not_found');
  await refused(f.prepaid.chargingTerminate({ session_id: 'nope', request_number: 1, used_units: 1n }), 'session_not_found');
  assert.equal(ledgerState(f.handle), state);
  const end = await f.prepaid.chargingTerminate({ session_id: 'i', request_number: 2, used_units: 10n });
  assert.deepEqual(await f.prepaid.chargingTerminate({ session_id: 'i', request_number: 2, used_units: 10n }), end);
  await refused(f.prepaid.chargingUpdate({ session_id: 'i', request_number: 3, used_units: 1n }), 'charging_request_out_of_order');
  assert.equal(await airtimeOf(f, ALICE), 100_000n - 70n * 20n);
  // Once forgotten, the same session id may start again with fresh transfer ids.
  f.advance(700n * NS_PER_S);
  await f.prepaid.runDue();
  const again = await f.prepaid.chargingInitial({ session_id: 'i', request_number: 0, msisdn: ALICE, service: 'voice' });
  assert.equal(again.granted_units, '60');
  await f.prepaid.chargingTerminate({ session_id: 'i', request_number: 1, used_units: 60n });
  await assertSound(f.handle);
});

test('a session not updated within its validity expires: the ledger releases the reservation and an update is session_expired', async (t) => {
  const f = await openPrepaid(t);
  await giveAirtime(f, ALICE, 10_000n);
  await f.prepaid.chargingInitial({ session_id: 'x', request_number: 0, msisdn: ALICE, service: 'voice' });
  assert.equal(await airtimeOf(f, ALICE), 10_000n - 1_200n);
  f.advance(299n * NS_PER_S);
  await f.handle.writer.expireNow();
  assert.equal(await airtimeOf(f, ALICE), 8_800n);
  f.advance(NS_PER_S + 1_000_000n);
  await f.handle.writer.expireNow();
  assert.equal(await airtimeOf(f, ALICE), 10_000n);
  await refused(f.prepaid.chargingUpdate({ session_id: 'x', request_number: 1, used_units: 60n }), 'session_expired');
  await refused(f.prepaid.chargingUpdate({ session_id: 'x', request_number: 1, used_units: 60n }), 'session_not_found');
  assert.equal(await airtimeOf(f, ALICE), 10_000n);
  // The module's sweep forgets a lapsed session nobody asked about.
  await f.prepaid.chargingInitial({ session_id: 'y', request_number: 0, msisdn: ALICE, service: 'voice' });
  f.advance(301n * NS_PER_S);
  await f.prepaid.runDue();
  assert.equal(f.prepaid.charging.openSessions, 0);
  assert.deepEqual(await documents(f.handle, 'prepaid_sessions'), []);
  assert.equal(await airtimeOf(f, ALICE), 10_000n);
  await assertSound(f.handle);
});

test('a grant never outlives its lot: its validity stops at the lot\'s expiry, so expired units are never used', async (t) => {
  const f = await openPrepaid(t);
  await f.prepaid.importLegacyBucket({ id: 'short', msisdn: ALICE, kind: 'data', amount: 5_000n, bundle_name: 'Short', expires_at: START_NS + 100n * NS_PER_S });
  const grant = await f.prepaid.chargingInitial({ session_id: 'g', request_number: 0, msisdn: ALICE, service: 'data', requested_units: 1_000n });
  assert.equal(grant.validity_s, 99);
  f.advance(100n * NS_PER_S);
  await f.prepaid.runDue();
  const lot = f.handle.ledger.accounts.get('lot:m:short')!;
  assert.deepEqual([lot.debits_pending, lot.debits_posted, available(lot)], [0n, 5_000n, 0n]);
  await refused(f.prepaid.chargingUpdate({ session_id: 'g', request_number: 1, used_units: 1_000n }), 'session_not_found');
  await refused(f.prepaid.chargingInitial({ session_id: 'h', request_number: 0, msisdn: ALICE, service: 'data' }), 'credit_limit_reached');
  await assertSound(f.handle);
});

test('at 20% of a bundle left, one low-balance notice goes to the outbox', async (t) => {
  const f = await openPrepaid(t);
  await seedCatalog(f);
  await giveAirtime(f, ALICE, 100_000n);
  const daily = await buy(f, 'DAILY', 'd');
  await f.prepaid.chargingInitial({ session_id: 'l', request_number: 0, msisdn: ALICE, service: 'data', requested_units: 81_000n });
  await f.prepaid.chargingUpdate({ session_id: 'l', request_number: 1, used_units: 81_000n, requested_units: 1_000n });
  assert.deepEqual(await documents(f.handle, 'outbox'), []);
  await f.prepaid.chargingUpdate({ session_id: 'l', request_number: 2, used_units: 1_000n, requested_units: 1_000n });
  await f.prepaid.chargingTerminate({ session_id: 'l', request_number: 3, used_units: 1_000n });
  const messages = await documents(f.handle, 'outbox');
  assert.equal(messages.length, 1);
  const message = JSON.parse(messages[0].value);
  assert.equal(message.id, `prepaid:low:${daily}`);
  assert.equal(message.kind, 'low_balance');
  assert.match(message.text, /Daily Data bundle is running low: 20400 KB left/);
});

test('main airtime: one notice when usage takes it under about five minutes of calls, again only after a recharge', async (t) => {
  const f = await openPrepaid(t);
  await giveAirtime(f, ALICE, 10_000n); // USD 1.00: 500 s of calls at USD 0.0020/s
  const call = async (session_id: string, minutes: number) => {
    await f.prepaid.chargingInitial({ session_id, request_number: 0, msisdn: ALICE, service: 'voice', requested_units: 60n });
    for (let n = 1; n < minutes; n++) await f.prepaid.chargingUpdate({ session_id, request_number: n, used_units: 60n, requested_units: 60n });
    await f.prepaid.chargingTerminate({ session_id, request_number: minutes, used_units: 60n });
  };
  const notices = async () => (await documents(f.handle, 'outbox')).map((doc) => JSON.parse(doc.value) as { id: string; kind: string; text: string });
  await call('a', 3); // 0.64 left: above the line, though the reservation showed less
  assert.equal(await airtimeOf(f, ALICE), 6_400n);
  assert.deepEqual(await notices(), []);
  await call('b', 1); // 0.52 left
  await call('c', 1); // 0.40 left: still low, no second notice
  let sent = await notices();
  assert.equal(sent.length, 1);
  assert.equal(sent[0].kind, 'low_balance');
  assert.equal(sent[0].text, 'Your airtime is running low: USD 0.52 left (about 4 min of calls). Recharge with a voucher or buy airtime from your wallet.');
  await giveAirtime(f, ALICE, 10_000n);
  await call('d', 4);
  assert.equal((await notices()).length, 1, 'back above the line after the recharge');
  await call('e', 5);
  sent = await notices();
  assert.equal(sent.length, 2);
  assert.match(sent[1].text, /USD 0\.56 left/); // 0.92 after the recharge and d; e crosses the line at 0.56
  await assertSound(f.handle);
});

test('parallel sessions on one subscriber never over-grant: grants sum to the balance and the commits to what was used', async (t) => {
  const f = await openPrepaid(t);
  await giveAirtime(f, ALICE, 10_000n);
  const sessions = Array.from({ length: 40 }, (_, i) => `p${i}`);
  const outcomes = await Promise.allSettled(sessions.map((session_id) => f.prepaid.chargingInitial({ session_id, request_number: 0, msisdn: ALICE, service: 'voice', requested_units: 60n })));
  let granted = 0n;
  const open: { id: string; units: bigint }[] = [];
  outcomes.forEach((o, i) => {
    if (o.status === 'rejected') return assert.equal(o.reason.code, 'credit_limit_reached');
    granted += BigInt(o.value.granted_units);
    open.push({ id: sessions[i], units: BigInt(o.value.granted_units) });
  });
  assert.equal(granted, 500n);
  assert.equal(await airtimeOf(f, ALICE), 0n);
  const updates = await Promise.all(open.map((s) => f.prepaid.chargingUpdate({ session_id: s.id, request_number: 1, used_units: s.units, requested_units: 60n })));
  assert.ok(updates.every((u) => u.granted_units === '0' && u.final_unit));
  await Promise.all(open.map((s) => f.prepaid.chargingTerminate({ session_id: s.id, request_number: 2, used_units: 0n })));
  const account = f.handle.ledger.accounts.get(airtimeId(alice))!;
  assert.deepEqual([account.debits_posted, account.debits_pending], [10_000n, 0n]);
  await assertSound(f.handle);
});

test('an open session survives a restart: its reservation and request number come back from its document', async (t) => {
  const f = await openPrepaid(t);
  await giveAirtime(f, ALICE, 10_000n);
  const first = await f.prepaid.chargingInitial({ session_id: 'r', request_number: 0, msisdn: ALICE, service: 'voice' });
  await f.reopen();
  assert.deepEqual(await f.prepaid.chargingInitial({ session_id: 'r', request_number: 0, msisdn: ALICE, service: 'voice' }), first);
  const update = await f.prepaid.chargingUpdate({ session_id: 'r', request_number: 1, used_units: 60n });
  assert.equal(update.used_units, '60');
  // An update with a grant writes no document: after a restart its reservation says where the session is.
  await f.prepaid.chargingUpdate({ session_id: 'r', request_number: 2, used_units: 60n, requested_units: 40n });
  const third = await f.prepaid.chargingUpdate({ session_id: 'r', request_number: 3, used_units: 40n, requested_units: 30n });
  await f.reopen();
  const retried = await f.prepaid.chargingUpdate({ session_id: 'r', request_number: 3, used_units: 40n, requested_units: 30n });
  assert.deepEqual({ ...retried, validity_s: 0 }, { ...third, validity_s: 0 });
  await refused(f.prepaid.chargingUpdate({ session_id: 'r', request_number: 2, used_units: 1n }), 'charging_request_out_of_order');
  await f.prepaid.chargingTerminate({ session_id: 'r', request_number: 4, used_units: 5n });
  assert.equal(await airtimeOf(f, ALICE), 10_000n - 165n * 20n);
  const account = f.handle.ledger.accounts.get(airtimeId(alice))!;
  assert.equal(account.debits_pending, 0n);
  await assertSound(f.handle);
});

test('charging transfer ids lead with the ledger time, so they sort as they were made; ids written before that still restore a session', async (t) => {
  const f = await openPrepaid(t);
  await giveAirtime(f, ALICE, 10_000n);
  await f.prepaid.chargingInitial({ session_id: 'sorted', request_number: 0, msisdn: ALICE, service: 'voice' });
  for (let n = 1; n <= 3; n++) await f.prepaid.chargingUpdate({ session_id: 'sorted', request_number: n, used_units: 10n });
  const made = (await f.handle.store.accountHistory(f.handle.ledger.accounts.get(airtimeId(alice))!, { limit: 50 })).entries
    .map((e) => e.transfer).filter((transfer) => transfer.id.startsWith('cc:')).reverse().map((transfer) => transfer.id);
  assert.equal(made.length, 7, 'a reservation and a post for each update, and the first reservation');
  assert.deepEqual([...made].sort(), made, 'ids in the order the ledger made them are in sorted order');
  for (const id of made) assert.ok(id.length <= 64, `${id} fits the id limit`);

  const pending = (id: string, request: number) => [id, { id, user_data: `u=5;f=0;c=${request}` }] as const;
  const live = livePartsBySession(new Map([
    pending('cc:abc:k1:7:0', 7), pending('cc:abc:k1:6:0', 6),
    pending('cc:0000000abcde:xyz:k2:3:1', 3), pending('cc:0000000abcdf:xyz:k2:3:0', 3),
    pending('p2p:not-charging', 0),
  ]) as unknown as Map<string, Transfer>);
  assert.deepEqual([...live.keys()].sort(), ['cc:abc:k1', 'cc:xyz:k2']);
  assert.equal(live.get('cc:abc:k1')!.request_number, 7);
  assert.deepEqual(live.get('cc:xyz:k2')!.parts.map((part) => part.index).sort(), [0, 1]);
});
