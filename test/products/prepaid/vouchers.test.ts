// Vouchers: batches with PINs only in the printer's file, redemption crediting exactly the face value
// once, every refusal (unknown, used, expired, blocked, too many tries), concurrent redemption,
// query by serial, legacy import, and state surviving a restart.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { hashVoucherPin, voucherDocument } from '../../../src/cutover/formats.js';
import { airtimeId } from '../../../src/products/accounts.js';
import { normalizeMsisdn } from '../../../src/products/msisdn.js';
import { ALICE, BOB, DAY_NS, HOUR_NS, START_NS, airtimeOf, assertSound, documents, ledgerState, openPrepaid, refused, type Fixture } from './fixture.js';

interface Card {
  serial: string;
  pin: string;
}

async function batch(f: Fixture, count = 3, face_value = 50_000n): Promise<{ cards: Card[]; file: string; batch_id: string }> {
  const result = await f.prepaid.createVoucherBatch({ face_value, currency: 'USD', count, expires_at: START_NS + 30n * DAY_NS });
  const lines = fs.readFileSync(result.file, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'serial,pin,face_value,currency,expires_at');
  const cards = lines.slice(1).map((line) => {
    const [serial, pin] = line.split(',');
    return { serial, pin };
  });
  return { cards, file: result.file, batch_id: result.batch_id };
}

test('a batch writes its PINs only to the printer\'s file (mode 0600); the store keeps keyed digests and scrypt hashes', async (t) => {
  const f = await openPrepaid(t);
  const { cards, file, batch_id } = await batch(f, 5);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(cards.length, 5);
  assert.equal(new Set(cards.map((c) => c.pin)).size, 5);
  for (const card of cards) assert.match(card.pin, /^\d{16}$/);
  assert.deepEqual(cards.map((c) => c.serial), ['000001000001', '000001000002', '000001000003', '000001000004', '000001000005']);
  assert.match(fs.readFileSync(file, 'utf8'), /,5\.0000,USD,2026-12-23T12:00:00\.000000000\+02:00\n/);
  // No document holds a PIN, in any collection.
  const stored = [...await documents(f.handle, 'prepaid_vouchers'), ...await documents(f.handle, 'prepaid_voucher_pins'), ...await documents(f.handle, 'prepaid_voucher_batches')];
  assert.equal(stored.length, 11);
  for (const doc of stored) for (const card of cards) assert.ok(!doc.value.includes(card.pin) && !doc.key.includes(card.pin));
  const voucher = JSON.parse(stored[0].value);
  assert.match(voucher.pin_hash, /^scrypt\$1024\$/);
  // The HMAC secret lives in the data directory, readable only by mari.
  assert.equal(fs.statSync(path.join(f.dir, 'prepaid-voucher.key')).mode & 0o777, 0o600);
  assert.equal((await f.prepaid.voucher(cards[0].serial)).batch_id, batch_id);
  await assertSound(f.handle);
});

test('bad batches are refused and write nothing', async (t) => {
  const f = await openPrepaid(t);
  for (const bad of [
    { face_value: 0n, currency: 'USD' as const, count: 1, expires_at: START_NS + DAY_NS },
    { face_value: 1n, currency: 'USD' as const, count: 0, expires_at: START_NS + DAY_NS },
    { face_value: 1n, currency: 'USD' as const, count: 50_001, expires_at: START_NS + DAY_NS },
    { face_value: 1n, currency: 'USD' as const, count: 1, expires_at: START_NS - 1n },
    { face_value: 1n, currency: 'EUR' as never, count: 1, expires_at: START_NS + DAY_NS },
  ]) await refused(f.prepaid.createVoucherBatch(bad), 'voucher_batch_invalid');
  assert.deepEqual(await documents(f.handle, 'prepaid_vouchers'), []);
  assert.equal(fs.existsSync(path.join(f.dir, 'vouchers')), false);
});

test('redeeming credits exactly the face value as airtime, once; the serial shows who used it and when', async (t) => {
  const f = await openPrepaid(t);
  const { cards } = await batch(f);
  const result = await f.prepaid.redeemVoucher({ msisdn: ALICE, pin: cards[0].pin });
  assert.equal(result.credited, '50000');
  assert.equal(result.balance, '50000');
  assert.equal(result.transfer_id, `voucher:${cards[0].serial}`);
  assert.equal(await airtimeOf(f, ALICE), 50_000n);
  const account = f.handle.ledger.accounts.get(airtimeId(normalizeMsisdn(ALICE)!))!;
  assert.equal(account.code, 200);
  assert.equal(account.flags, 2);
  const view = await f.prepaid.voucher(cards[0].serial);
  assert.equal(view.state, 'used');
  assert.equal(view.used_by, '+263772123456');
  assert.equal(view.used_at, '2026-11-23T12:00:00.000000000+02:00');
  assert.equal((await f.prepaid.voucher(cards[1].serial)).state, 'new');
  // Again, by the same line or another: refused, nothing changes.
  const before = ledgerState(f.handle);
  await refused(f.prepaid.redeemVoucher({ msisdn: ALICE, pin: cards[0].pin }), 'voucher_used');
  await refused(f.prepaid.redeemVoucher({ msisdn: BOB, pin: cards[0].pin }), 'voucher_used');
  assert.equal(ledgerState(f.handle), before);
  await f.prepaid.redeemVoucher({ msisdn: ALICE, pin: cards[1].pin });
  assert.equal(await airtimeOf(f, ALICE), 100_000n);
  await assertSound(f.handle);
});

test('unknown, malformed, expired and blocked vouchers are refused with their codes and change nothing', async (t) => {
  const f = await openPrepaid(t);
  const { cards } = await batch(f);
  const before = ledgerState(f.handle);
  await refused(f.prepaid.redeemVoucher({ msisdn: ALICE, pin: '12345' }), 'voucher_pin_invalid');
  await refused(f.prepaid.redeemVoucher({ msisdn: ALICE, pin: '12345678901234ab' }), 'voucher_pin_invalid');
  await refused(f.prepaid.redeemVoucher({ msisdn: '12', pin: cards[0].pin }), 'msisdn_invalid');
  const details = await refused(f.prepaid.redeemVoucher({ msisdn: ALICE, pin: '0000000000000000' }), 'voucher_not_found');
  assert.equal(details.tries_left, 4);
  await refused(f.prepaid.voucher('999999999999'), 'voucher_not_found');
  await refused(f.prepaid.voucher('../etc'), 'voucher_not_found');
  await f.prepaid.blockVoucher(cards[0].serial);
  assert.equal((await f.prepaid.voucher(cards[0].serial)).state, 'blocked');
  await refused(f.prepaid.redeemVoucher({ msisdn: ALICE, pin: cards[0].pin }), 'voucher_blocked');
  assert.equal(ledgerState(f.handle), before);
  f.advance(30n * DAY_NS);
  assert.equal((await f.prepaid.voucher(cards[1].serial)).state, 'expired');
  await refused(f.prepaid.redeemVoucher({ msisdn: ALICE, pin: cards[1].pin }), 'voucher_expired');
  // A used voucher cannot be blocked.
  f.clock.now = START_NS;
  await f.prepaid.redeemVoucher({ msisdn: ALICE, pin: cards[2].pin });
  await refused(f.prepaid.blockVoucher(cards[2].serial), 'voucher_used');
  await assertSound(f.handle);
});

test('5 wrong PINs within an hour from one MSISDN block its tries for an hour (other lines unaffected); the block survives a restart', async (t) => {
  const f = await openPrepaid(t);
  const { cards } = await batch(f);
  for (let i = 0; i < 4; i++) {
    const details = await refused(f.prepaid.redeemVoucher({ msisdn: ALICE, pin: `000000000000000${i}` }), 'voucher_not_found');
    assert.equal(details.tries_left, 4 - i);
    f.advance(60n * 1_000_000_000n);
  }
  await refused(f.prepaid.redeemVoucher({ msisdn: ALICE, pin: '0000000000000009' }), 'voucher_tries_exceeded');
  // Even the right PIN is refused while blocked, and nothing is credited.
  await refused(f.prepaid.redeemVoucher({ msisdn: ALICE, pin: cards[0].pin }), 'voucher_tries_exceeded');
  assert.equal(await airtimeOf(f, ALICE), 0n);
  await f.prepaid.redeemVoucher({ msisdn: BOB, pin: cards[1].pin });
  await f.reopen();
  await refused(f.prepaid.redeemVoucher({ msisdn: ALICE, pin: cards[0].pin }), 'voucher_tries_exceeded');
  f.advance(HOUR_NS);
  await f.prepaid.redeemVoucher({ msisdn: ALICE, pin: cards[0].pin });
  assert.equal(await airtimeOf(f, ALICE), 50_000n);
  await assertSound(f.handle);
});

test('failures older than an hour do not count towards the block', async (t) => {
  const f = await openPrepaid(t);
  for (let i = 0; i < 8; i++) {
    await refused(f.prepaid.redeemVoucher({ msisdn: ALICE, pin: `100000000000000${i}` }), 'voucher_not_found');
    f.advance(20n * 60n * 1_000_000_000n);
  }
});

test('two concurrent redemptions of one PIN: exactly one wins, the face value is credited once', async (t) => {
  const f = await openPrepaid(t);
  const { cards } = await batch(f, 1);
  const lines = ['0772000001', '0772000002', '0772000003', '0772000004', '0772000005', '0772000006'];
  const outcomes = await Promise.allSettled(lines.map((msisdn) => f.prepaid.redeemVoucher({ msisdn, pin: cards[0].pin })));
  const won = outcomes.filter((o) => o.status === 'fulfilled');
  assert.equal(won.length, 1);
  for (const o of outcomes) if (o.status === 'rejected') assert.equal(o.reason.code, 'voucher_used');
  let total = 0n;
  for (const msisdn of lines) total += await airtimeOf(f, msisdn);
  assert.equal(total, 50_000n);
  assert.equal((await f.prepaid.voucher(cards[0].serial)).used_by, (won[0] as PromiseFulfilledResult<{ msisdn: string }>).value.msisdn);
  await assertSound(f.handle);
});

test('a used voucher stays used after a restart (the ledger transfer and the document agree)', async (t) => {
  const f = await openPrepaid(t);
  const { cards } = await batch(f, 2);
  await f.prepaid.redeemVoucher({ msisdn: ALICE, pin: cards[0].pin });
  await f.reopen();
  await refused(f.prepaid.redeemVoucher({ msisdn: BOB, pin: cards[0].pin }), 'voucher_used');
  assert.equal((await f.prepaid.voucher(cards[0].serial)).state, 'used');
  await f.prepaid.redeemVoucher({ msisdn: BOB, pin: cards[1].pin });
  assert.equal(await airtimeOf(f, BOB), 50_000n);
  await assertSound(f.handle);
});

test('legacy vouchers import with their PIN hashed: NEW redeemable, USED and EXPIRED refused, idempotent by serial', async (t) => {
  const f = await openPrepaid(t);
  const expires_at = START_NS + 10n * DAY_NS;
  const base = { face_value: 20_000n, currency: 'USD' as const, used_by: null, used_at: null, expires_at };
  assert.equal(await f.prepaid.importLegacyVoucher({ ...base, serial: 'L-1', pin: '1111222233334444', status: 'NEW' }), 'ok');
  assert.equal(await f.prepaid.importLegacyVoucher({ ...base, serial: 'L-1', pin: '1111222233334444', status: 'NEW' }), 'exists');
  assert.equal(await f.prepaid.importLegacyVoucher({ ...base, serial: 'L-2', pin: '5555666677778888', status: 'USED', used_by: BOB, used_at: START_NS - DAY_NS }), 'ok');
  assert.equal(await f.prepaid.importLegacyVoucher({ ...base, serial: 'L-3', pin: '9999000011112222', status: 'EXPIRED' }), 'ok');
  for (const doc of await documents(f.handle, 'prepaid_vouchers')) assert.ok(!/1111222233334444|5555666677778888|9999000011112222/.test(doc.value));
  await refused(f.prepaid.importLegacyVoucher({ ...base, serial: 'L-4', pin: '1111222233334444', status: 'NEW' }), 'voucher_import_invalid');
  await refused(f.prepaid.importLegacyVoucher({ ...base, serial: 'L-5', pin: '123', status: 'NEW' }), 'voucher_import_invalid');
  await refused(f.prepaid.importLegacyVoucher({ ...base, serial: 'L-6', pin: '1212121212121212', status: 'USED' }), 'voucher_import_invalid');
  await refused(f.prepaid.importLegacyVoucher({ ...base, serial: 'bad serial', pin: '1212121212121212', status: 'NEW' }), 'voucher_import_invalid');
  const used = await f.prepaid.voucher('L-2');
  assert.deepEqual([used.state, used.used_by, used.used_at], ['used', '+263712345678', '2026-11-22T12:00:00.000000000+02:00']);
  await refused(f.prepaid.redeemVoucher({ msisdn: ALICE, pin: '5555666677778888' }), 'voucher_used');
  await refused(f.prepaid.redeemVoucher({ msisdn: ALICE, pin: '9999000011112222' }), 'voucher_expired');
  const redeemed = await f.prepaid.redeemVoucher({ msisdn: ALICE, pin: '1111222233334444' });
  assert.equal(redeemed.credited, '20000');
  assert.equal(redeemed.serial, 'L-1');
  await assertSound(f.handle);
});

test('vouchers the migration wrote in its own format (legacy_vouchers) redeem once, by PIN, and are found by serial', async (t) => {
  const f = await openPrepaid(t);
  const expires_at = new Date(Number((START_NS + 10n * DAY_NS) / 1_000_000n)).toISOString();
  const base = { face_value: '30000', currency: 'USD' as const, used_by: null, used_at: null, expires_at };
  const migrated = voucherDocument({ ...base, serial: 'M-3', pin_hash: await hashVoucherPin('4444333322221111'), status: 'new', legacy: { table: 'voucher', id: '3' } });
  await f.handle.writer.execute({
    run: (ctx) => {
      ctx.put(voucherDocument({ ...base, serial: 'M-1', pin_hash: null, status: 'used', used_by: '+263712345678', used_at: expires_at, legacy: { table: 'voucher', id: '1' } }));
      ctx.put(voucherDocument({ ...base, serial: 'M-2', pin_hash: null, status: 'expired', legacy: { table: 'voucher', id: '2' } }));
      ctx.put(migrated);
    },
  });
  assert.equal((await f.prepaid.voucher('M-1')).state, 'used');
  assert.equal((await f.prepaid.voucher('M-3')).state, 'new');
  const redeemed = await f.prepaid.redeemVoucher({ msisdn: ALICE, pin: '4444333322221111' });
  assert.deepEqual([redeemed.serial, redeemed.credited], ['M-3', '30000']);
  await refused(f.prepaid.redeemVoucher({ msisdn: BOB, pin: '4444333322221111' }), 'voucher_used');
  await f.reopen();
  await refused(f.prepaid.redeemVoucher({ msisdn: BOB, pin: '4444333322221111' }), 'voucher_used');
  const view = await f.prepaid.voucher('M-3');
  assert.deepEqual([view.state, view.used_by], ['used', '+263772123456']);
  assert.equal(await airtimeOf(f, ALICE), 30_000n);
  await assertSound(f.handle);
});

test('an unblocked voucher gets back the state it had and redeems once; unknown serials are refused', async (t) => {
  const f = await openPrepaid(t);
  const { cards } = await batch(f);
  await f.prepaid.blockVoucher(cards[0].serial);
  await refused(f.prepaid.redeemVoucher({ msisdn: ALICE, pin: cards[0].pin }), 'voucher_blocked');
  assert.equal((await f.prepaid.unblockVoucher(cards[0].serial)).state, 'new');
  assert.equal((await f.prepaid.unblockVoucher(cards[0].serial)).state, 'new', 'unblocking twice is harmless');
  await f.prepaid.redeemVoucher({ msisdn: ALICE, pin: cards[0].pin });
  assert.equal((await f.prepaid.voucher(cards[0].serial)).state, 'used');
  // Unblocking never revives a used voucher, nor one past its expiry.
  assert.equal((await f.prepaid.unblockVoucher(cards[0].serial)).state, 'used');
  await f.prepaid.blockVoucher(cards[1].serial);
  f.advance(30n * DAY_NS);
  assert.equal((await f.prepaid.unblockVoucher(cards[1].serial)).state, 'expired');
  await refused(f.prepaid.redeemVoucher({ msisdn: ALICE, pin: cards[1].pin }), 'voucher_expired');
  const before = ledgerState(f.handle);
  await refused(f.prepaid.unblockVoucher('999999999999'), 'voucher_not_found');
  await refused(f.prepaid.unblockVoucher('../etc'), 'voucher_not_found');
  assert.deepEqual(ledgerState(f.handle), before);
  await assertSound(f.handle);
});
