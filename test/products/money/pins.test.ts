// PINs: format rules, set and change, 3 wrong in a row lock until an operator unlocks, concurrent
// wrong entries lock exactly once, legacy MD5 hashes upgrade on the next correct entry, and a
// PIN is stored nowhere but as its hash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { legacyPinDocument, PINS, VerifiedPins } from '../../../src/products/money/pins.js';
import type { Msisdn } from '../../../src/products/msisdn.js';
import { PIN, everyStoredByte, fund, openMoney, refused, subscriber } from './fixture.js';

test('a PIN is 4 to 6 digits and not an obvious one; the first set needs no old PIN, a change does', async (t) => {
  const f = await openMoney(t);
  await subscriber(f, '0772123456', { pin: null });
  await refused(f.money.verifyPin('+263772123456' as Msisdn, '2580'), 'pin_not_set');
  for (const bad of ['123', '1234567', '12a4', '', ' 2580']) await refused(f.money.setPin({ msisdn: '0772123456', pin: bad }), 'pin_invalid');
  for (const easy of ['0000', '1234', '9876', '7890', '55555']) await refused(f.money.setPin({ msisdn: '0772123456', pin: easy }), 'pin_too_simple');
  await f.money.setPin({ msisdn: '0772123456', pin: '2580' });
  await refused(f.money.setPin({ msisdn: '0772123456', pin: '3691' }), 'pin_already_set');
  await refused(f.money.setPin({ msisdn: '0772123456', pin: '3691', old_pin: '1470' }), 'pin_wrong', { tries_left: 2 });
  await f.money.setPin({ msisdn: '0772123456', pin: '3691', old_pin: '2580' });
  await refused(f.money.verifyPin('+263772123456' as Msisdn, '2580'), 'pin_wrong');
  await f.money.verifyPin('+263772123456' as Msisdn, '3691');
  // The correct entry cleared the count left by the wrong ones.
  assert.deepEqual(f.money.pinState('0772123456'), { set: true, locked: false, failures: 0 });
});

test('three wrong PINs in a row lock the PIN, even the right one is then refused, until an operator unlocks', async (t) => {
  const f = await openMoney(t);
  await subscriber(f, '0772123456');
  await subscriber(f, '0712345678');
  await fund(f, '0772123456', 5000n);
  const send = (pin: string, reference: string) => f.money.sendMoney({ from: '0772123456', to: '0712345678', amount: 100n, currency: 'USD', pin, reference });
  await refused(send('1111', 'a1'), 'pin_wrong', { tries_left: 2 });
  await refused(send('1112', 'a2'), 'pin_wrong', { tries_left: 1 });
  await refused(send('1113', 'a3'), 'pin_locked');
  await refused(send(PIN, 'a4'), 'pin_locked');
  await refused(f.money.balance({ msisdn: '0772123456', pin: PIN }), 'pin_locked');
  assert.deepEqual(f.money.pinState('0772123456'), { set: true, locked: true, failures: 3 });
  await f.reopen();
  await refused(send(PIN, 'a5'), 'pin_locked');
  assert.deepEqual(await f.money.unlockPin({ msisdn: '0772123456' }), { pin: 'unlocked' });
  assert.equal((await send(PIN, 'a6')).status, 'completed');
  // Not in a row: a correct entry in between resets the count.
  await refused(send('1111', 'b1'), 'pin_wrong');
  await refused(send('1112', 'b2'), 'pin_wrong');
  await send(PIN, 'b3');
  await refused(send('1113', 'b4'), 'pin_wrong', { tries_left: 2 });
  // Reset removes the PIN: the subscriber sets a new one.
  assert.deepEqual(await f.money.unlockPin({ msisdn: '0772123456', reset: true }), { pin: 'reset' });
  await refused(send(PIN, 'b5'), 'pin_not_set');
  await f.money.setPin({ msisdn: '0772123456', pin: '4826' });
  await send('4826', 'b6');
});

test('concurrent wrong PINs lock exactly at three and a concurrent right one after the lock is refused', async (t) => {
  const f = await openMoney(t);
  await subscriber(f, '0772123456');
  const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => f.money.verifyPin('+263772123456' as Msisdn, `90${10 + i}`)));
  const codes = outcomes.map((o) => (o.status === 'rejected' ? (o.reason as { code: string }).code : 'ok'));
  assert.equal(codes.filter((c) => c === 'pin_wrong').length, 2);
  assert.equal(codes.filter((c) => c === 'pin_locked').length, 6);
  assert.deepEqual(f.money.pinState('0772123456'), { set: true, locked: true, failures: 3 });
  await refused(f.money.verifyPin('+263772123456' as Msisdn, PIN), 'pin_locked');
});

test('a legacy MD5 PIN hash is accepted and replaced by scrypt at the next correct entry; a wrong one counts', async (t) => {
  const f = await openMoney(t);
  const party = await subscriber(f, '0772123456', { pin: null });
  const md5 = crypto.createHash('md5').update('7312').digest('hex');
  await f.handle.writer.execute({ run: (ctx) => ctx.put(legacyPinDocument(party.id, md5.toUpperCase())) });
  await f.reopen();
  await refused(f.money.verifyPin('+263772123456' as Msisdn, '7311'), 'pin_wrong', { tries_left: 2 });
  await f.money.verifyPin('+263772123456' as Msisdn, '7312');
  const stored = JSON.parse((await f.handle.store.document(PINS, party.id))!.value);
  assert.equal(stored.scheme, 'scrypt');
  assert.equal(stored.failures, 0);
  assert.notEqual(stored.hash, md5);
  assert.equal(stored.salt.length, 32);
  await f.reopen();
  await f.money.verifyPin('+263772123456' as Msisdn, '7312');
  await refused(f.money.verifyPin('+263772123456' as Msisdn, '7311'), 'pin_wrong');
  assert.throws(() => legacyPinDocument(party.id, 'not-a-hash'));
});

test('a PIN appears in no document, journal record or outbox message, only as its salted hash', async (t) => {
  const f = await openMoney(t);
  await subscriber(f, '0772123456', { pin: '583920' });
  await subscriber(f, '0712345678', { pin: '583921' });
  await fund(f, '0772123456', 5000n);
  await f.money.sendMoney({ from: '0772123456', to: '0712345678', amount: 100n, currency: 'USD', pin: '583920', reference: 'p1' });
  await refused(f.money.sendMoney({ from: '0772123456', to: '0712345678', amount: 100n, currency: 'USD', pin: '583929', reference: 'p2' }), 'pin_wrong');
  await f.money.setPin({ msisdn: '0772123456', pin: '583927', old_pin: '583920' });
  await f.handle.close();
  const bytes = everyStoredByte(f);
  for (const pin of ['583920', '583921', '583929', '583927']) assert.equal(bytes.includes(pin), false, `PIN ${pin} found on disk`);
});


test('a remembered PIN: the right one is known, a wrong one is told apart, renewal extends it, and it lapses after its time', () => {
  const pins = new VerifiedPins(1_000);
  assert.equal(pins.check('sub-a', '2580', 0), undefined, 'nothing remembered yet');
  pins.remember('sub-a', '2580', 0);
  assert.equal(pins.check('sub-a', '2580', 500), true);
  assert.equal(pins.check('sub-a', '2581', 500), false);
  assert.equal(pins.check('sub-b', '2580', 500), undefined, 'remembered per party');
  pins.renew('sub-a', 900);
  assert.equal(pins.check('sub-a', '2580', 1_500), true, 'renewed at 900: good until 1,900');
  assert.equal(pins.check('sub-a', '2580', 1_900), undefined, 'lapsed');
  pins.renew('sub-a', 2_000);
  assert.equal(pins.check('sub-a', '2580', 2_001), undefined, 'a lapsed PIN is not brought back by a renewal');
  pins.remember('sub-a', '2580', 3_000);
  pins.forget('sub-a');
  assert.equal(pins.check('sub-a', '2580', 3_001), undefined, 'forgotten when the PIN record changes');
});
