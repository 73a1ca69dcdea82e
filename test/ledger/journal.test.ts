// Checks the journal's canonical record encoding (decodable, so unambiguous whatever user_data holds) and the entry hash chain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { AMOUNT_MAX } from '../../src/ledger/amount.js';
import { DEFAULT_ASSETS } from '../../src/ledger/assets.js';
import { GENESIS_HASH, RecordEncoder, hashEntry, makeEntry, recordTimestamp } from '../../src/ledger/journal.js';
import { Ledger, NO_LOOKUPS, type JournalRecord } from '../../src/ledger/ledger.js';
import { TIMEOUT_MAX_S, TransferFlag, type Account, type Transfer } from '../../src/ledger/types.js';

const T0 = 1_700_000_000_000_000_000n;

function account(overrides: Partial<Account> = {}): JournalRecord {
  return {
    kind: 'account',
    account: {
      id: 'acc-1', no: 0, asset: 'USD', code: 1, flags: 0, user_data: null, timestamp: T0,
      debits_pending: 0n, debits_posted: 0n, credits_pending: 0n, credits_posted: 0n, ...overrides,
    },
  };
}

function transfer(overrides: Partial<Transfer> = {}): JournalRecord {
  return {
    kind: 'transfer',
    transfer: {
      id: 'tr-1', timestamp: T0 + 10n, debit_account_id: 'a', credit_account_id: 'b', debit_account_no: 0, credit_account_no: 1,
      amount: 100n, pending_id: null, pending_amount: 0n, asset: 'USD', code: 1, flags: 0, timeout: 0, user_data: null, reversal_of: null,
      ...overrides,
    },
  };
}

function encode(records: readonly JournalRecord[]): Buffer {
  const encoder = new RecordEncoder();
  for (const record of records) encoder.add(record);
  return Buffer.from(encoder.bytes());
}

/**
 * An independent decoder of the documented layout: fixed-width little-endian integers, then each
 * text as a u16 byte length (0xffff for null) and its UTF-8 bytes. If every encoding decodes back
 * to the records it came from, no two different record sequences can share an encoding.
 */
function decode(bytes: Buffer): JournalRecord[] {
  let o = 0;
  const u8 = () => bytes.readUInt8((o += 1) - 1);
  const u16 = () => bytes.readUInt16LE((o += 2) - 2);
  const u32 = () => bytes.readUInt32LE((o += 4) - 4);
  const i64 = () => bytes.readBigInt64LE((o += 8) - 8);
  const text = (): string | null => {
    const length = u16();
    if (length === 0xffff) return null;
    assert.ok(o + length <= bytes.length, 'text within the buffer');
    return bytes.toString('utf8', (o += length) - length, o);
  };
  const out: JournalRecord[] = [];
  while (o < bytes.length) {
    const tag = u8();
    if (tag === 1) {
      const timestamp = i64();
      const no = u32();
      const code = u16();
      const flags = u32();
      const id = text()!;
      const asset = text()!;
      const user_data = text();
      out.push(account({ timestamp, no, code, flags, id, asset, user_data }));
    } else {
      assert.equal(tag, 2, `record tag at byte ${o - 1}`);
      const timestamp = i64();
      const debit_account_no = u32();
      const credit_account_no = u32();
      const amount = i64();
      const pending_amount = i64();
      const code = u16();
      const flags = u32();
      const timeout = u32();
      const id = text()!;
      const pending_id = text();
      const asset = text()!;
      const user_data = text();
      const reversal_of = text();
      out.push(transfer({ timestamp, debit_account_no, credit_account_no, amount, pending_amount, code, flags, timeout, id, pending_id, asset, user_data, reversal_of }));
    }
  }
  return out;
}

/** The fields the journal commits to (account ids on transfers and balances are not part of it). */
function committed(record: JournalRecord): unknown {
  if (record.kind === 'account') {
    const { id, no, asset, code, flags, user_data, timestamp } = record.account;
    return { kind: 'account', id, no, asset, code, flags, user_data, timestamp };
  }
  const t = record.transfer;
  return {
    kind: 'transfer', id: t.id, timestamp: t.timestamp, debit_account_no: t.debit_account_no, credit_account_no: t.credit_account_no,
    amount: t.amount, pending_id: t.pending_id, pending_amount: t.pending_amount, asset: t.asset, code: t.code, flags: t.flags,
    timeout: t.timeout, user_data: t.user_data, reversal_of: t.reversal_of,
  };
}

const ID_CHARS = 'abcXYZ019._:-';
const arbId = fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 1, maxLength: 64 }).filter((s) => /^[A-Za-z0-9]/.test(s));
// Free text as the ledger accepts it: well-formed, up to 128 UTF-16 units, full of separators.
const arbText = fc.option(
  fc.string({ unit: fc.oneof(fc.constantFrom('|', '\n', '\r', ':', '-', '0', '9', '\u0000', '\u00ff', '\uffff', '\u2028', '😀'), fc.string({ unit: 'binary', maxLength: 1 })), maxLength: 40 })
    .filter((s) => s.length <= 128),
  { nil: null },
);
const arbAccount = fc.record({
  id: arbId, no: fc.nat({ max: 2 ** 32 - 1 }), asset: fc.constantFrom(...DEFAULT_ASSETS.map((a) => a.code)), code: fc.integer({ min: 1, max: 65535 }),
  flags: fc.nat({ max: 7 }), user_data: arbText, timestamp: fc.bigInt({ min: 1n, max: AMOUNT_MAX }),
}).map((a) => account(a));
const arbTransfer = fc.record({
  id: arbId, timestamp: fc.bigInt({ min: 1n, max: AMOUNT_MAX }), debit_account_no: fc.nat({ max: 2 ** 32 - 1 }), credit_account_no: fc.nat({ max: 2 ** 32 - 1 }),
  amount: fc.bigInt({ min: 1n, max: AMOUNT_MAX }), pending_id: fc.option(arbId, { nil: null }), pending_amount: fc.bigInt({ min: 0n, max: AMOUNT_MAX }),
  asset: fc.constantFrom(...DEFAULT_ASSETS.map((a) => a.code)), code: fc.integer({ min: 1, max: 65535 }), flags: fc.nat({ max: 31 }),
  timeout: fc.nat({ max: TIMEOUT_MAX_S }), user_data: arbText, reversal_of: fc.option(arbId, { nil: null }),
}).map((t) => transfer(t));
const arbRecords = fc.array(fc.oneof(arbAccount, arbTransfer), { maxLength: 8 });

test('every sequence of records decodes back from its encoding (the encoding is unambiguous)', () => {
  fc.assert(fc.property(arbRecords, (records) => {
    assert.deepEqual(decode(encode(records)).map(committed), records.map(committed));
  }), { numRuns: 500 });
});

test('different record sequences never hash alike', () => {
  fc.assert(fc.property(arbRecords, arbRecords, (a, b) => {
    const same = JSON.stringify(a.map(committed), (_, v) => (typeof v === 'bigint' ? `${v}n` : v)) ===
      JSON.stringify(b.map(committed), (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
    assert.equal(hashEntry(GENESIS_HASH, a).equals(hashEntry(GENESIS_HASH, b)), same);
  }), { numRuns: 300 });
});

test('separators and newlines in user_data cannot forge a field or a record boundary', () => {
  const pairs: [string, JournalRecord[], JournalRecord[]][] = [
    ['null vs empty', [transfer({ user_data: null })], [transfer({ user_data: '' })]],
    ['null vs "-"', [transfer({ user_data: null })], [transfer({ user_data: '-' })]],
    ['text moved between user_data and reversal_of', [transfer({ user_data: 'ab', reversal_of: null })], [transfer({ user_data: 'a', reversal_of: 'b' })]],
    ['pipe-joined fields', [transfer({ user_data: 'x|y' })], [transfer({ user_data: 'x', reversal_of: 'y' })]],
    ['a newline and a second record', [transfer({ user_data: 'x\nT|1|y' })], [transfer({ user_data: 'x' }), transfer({ id: 'y', timestamp: 1n })]],
    ['a length prefix inside the text', [transfer({ user_data: '1:a|1:b' })], [transfer({ user_data: 'a', reversal_of: 'b' })]],
    ['a 0xffff unit (the null marker) as text', [transfer({ user_data: '\uffff' })], [transfer({ user_data: null })]],
    ['account vs transfer', [account({ user_data: 'x' })], [transfer({ user_data: 'x' })]],
    ['records swapped', [account(), transfer()], [transfer(), account()]],
  ];
  for (const [name, a, b] of pairs) {
    assert.notDeepEqual(encode(a), encode(b), name);
    assert.notDeepEqual(hashEntry(GENESIS_HASH, a), hashEntry(GENESIS_HASH, b), name);
  }
});

test('the encoding is canonical: same records, same bytes, whatever the object (field order, extra fields)', () => {
  const a = transfer({ user_data: 'ü|\n' });
  const t = a.kind === 'transfer' ? a.transfer : assert.fail();
  const reordered: JournalRecord = { kind: 'transfer', transfer: Object.fromEntries(Object.entries(t).reverse()) as unknown as Transfer };
  const withAccounts: JournalRecord = { kind: 'transfer', transfer: { ...t, debit_account_id: 'other', credit_account_id: 'ids' } };
  assert.deepEqual(encode([a]), encode([reordered]));
  assert.deepEqual(encode([a]), encode([withAccounts]), 'account ids are not hashed: the numbers are');
  assert.deepEqual(hashEntry(GENESIS_HASH, [a]), hashEntry(GENESIS_HASH, [reordered]));
  // The layout is a compatibility contract: journals already written must keep verifying.
  assert.equal(
    encode([account({ user_data: 'é' }), transfer({ pending_id: 'p', user_data: 'u', flags: TransferFlag.post_pending_transfer, pending_amount: 150n })]).toString('hex'),
    '01' + '00002a36fe9c9717' + '00000000' + '0100' + '00000000' + '0500' + Buffer.from('acc-1').toString('hex') + '0300' + Buffer.from('USD').toString('hex') + '0200' + 'c3a9' +
    '02' + '0a002a36fe9c9717' + '00000000' + '01000000' + '6400000000000000' + '9600000000000000' + '0100' + '04000000' + '00000000' +
    '0400' + Buffer.from('tr-1').toString('hex') + '0100' + '70' + '0300' + Buffer.from('USD').toString('hex') + '0100' + '75' + 'ffff',
  );
});

test('hashEntry is sha256(previous hash ‖ encoded records), chained from the genesis hash', () => {
  const r1 = [account(), account({ id: 'acc-2', no: 1, timestamp: T0 + 1n })];
  const r2 = [transfer()];
  const e1 = makeEntry(1, GENESIS_HASH, r1);
  const e2 = makeEntry(2, e1.hash, r2);
  assert.equal(GENESIS_HASH.length, 32);
  assert.ok(GENESIS_HASH.equals(Buffer.alloc(32)));
  assert.deepEqual(e1.hash, createHash('sha256').update(GENESIS_HASH).update(encode(r1)).digest());
  assert.deepEqual(e2.hash, createHash('sha256').update(e1.hash).update(encode(r2)).digest());
  assert.deepEqual(e2.prev_hash, e1.hash);
  assert.equal(e1.seq, 1);
  assert.equal(e1.count, 2);
  assert.equal(e1.first_timestamp, T0);
  assert.equal(e1.last_timestamp, T0 + 1n);
  assert.equal(e2.first_timestamp, recordTimestamp(r2[0]));
  assert.deepEqual(hashEntry(GENESIS_HASH, []), createHash('sha256').update(GENESIS_HASH).digest());
});

test('a change anywhere before an entry changes its hash', () => {
  const r1 = [account(), transfer()];
  const r2 = [transfer({ id: 'tr-2', timestamp: T0 + 20n })];
  const head = hashEntry(hashEntry(GENESIS_HASH, r1), r2);
  const variants: [string, JournalRecord[], JournalRecord[]][] = [
    ['amount', [account(), transfer({ amount: 101n })], r2],
    ['timestamp', [account(), transfer({ timestamp: T0 + 11n })], r2],
    ['flags', [account({ flags: 2 }), transfer()], r2],
    ['record removed', [account()], r2],
    ['record inserted', [account(), transfer(), transfer({ id: 'x', timestamp: T0 + 15n })], r2],
    ['record moved to the next entry', [account()], [transfer(), ...r2]],
    ['order inside an entry', [transfer(), account()], r2],
  ];
  for (const [name, a, b] of variants) assert.notDeepEqual(hashEntry(hashEntry(GENESIS_HASH, a), b), head, name);
  assert.notDeepEqual(hashEntry(Buffer.alloc(32, 1), r2), hashEntry(GENESIS_HASH, r2), 'the previous hash is committed to');
});

test('hashing in chunks gives the same hash as hashing the whole encoding at once', () => {
  const records: JournalRecord[] = [];
  for (let i = 0; i < 3000; i++) records.push(transfer({ id: `t${i}`, timestamp: T0 + BigInt(i), user_data: '€'.repeat(128) }));
  const bytes = encode(records);
  assert.ok(bytes.length > 2 * (1 << 19), 'more than one chunk');
  assert.deepEqual(hashEntry(GENESIS_HASH, records), createHash('sha256').update(GENESIS_HASH).update(bytes).digest());
});

test('records the ledger accepts never hash alike unless they are equal (unpaired surrogates are refused)', () => {
  const hashes = ['\ud800', '\udbff', '\ufffd'].map((user_data) => {
    const ledger = new Ledger({ assets: DEFAULT_ASSETS, clock: () => T0 });
    const batch = ledger.begin(NO_LOOKUPS);
    assert.deepEqual(batch.createAccounts([{ id: 'a', asset: 'USD', code: 1 }, { id: 'b', asset: 'USD', code: 1 }]), ['ok', 'ok']);
    const [result] = batch.createTransfers([{ id: 't', debit_account_id: 'a', credit_account_id: 'b', amount: 1n, asset: 'USD', code: 1, user_data }]);
    if (result !== 'ok') assert.equal(result, 'user_data_invalid');
    return result === 'ok' ? hashEntry(GENESIS_HASH, batch.records).toString('hex') : `refused:${user_data}`;
  });
  assert.equal(new Set(hashes).size, 3, 'three different records, three different hashes (or refusals)');
  // UTF-8 would turn both lone surrogates into U+FFFD, the third text: the ledger refuses them instead.
  assert.deepEqual(hashes.map((h) => h.startsWith('refused:')), [true, true, false]);
});

test('texts are encoded as their UTF-8 bytes, whichever path copies them (ASCII by hand, the rest by Buffer.write)', () => {
  fc.assert(fc.property(arbTransfer, (record) => {
    const t = (record as { kind: 'transfer'; transfer: Transfer }).transfer;
    const bytes = encode([record]);
    const utf8 = Buffer.from(t.id, 'utf8');
    // The id is the first text, after the 43 bytes of tag and fixed-width fields.
    assert.equal(bytes.readUInt16LE(43), utf8.length);
    assert.deepEqual(bytes.subarray(45, 45 + utf8.length), utf8);
    if (t.user_data !== null) assert.ok(bytes.includes(Buffer.concat([u16(Buffer.byteLength(t.user_data)), Buffer.from(t.user_data, 'utf8')])));
  }), { numRuns: 300 });
});

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return b;
}
