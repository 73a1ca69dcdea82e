// Checks parseAmount (strict decimal digits up to 2^63-1) and formatAmount (minor units shown at an asset's scale).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AMOUNT_MAX, formatAmount, parseAmount } from '../../src/ledger/amount.js';

test('AMOUNT_MAX is 2^63 - 1', () => {
  assert.equal(AMOUNT_MAX, 9223372036854775807n);
  assert.equal(AMOUNT_MAX, 2n ** 63n - 1n);
});

test('parseAmount accepts canonical decimal digits', () => {
  assert.equal(parseAmount('0'), 0n);
  assert.equal(parseAmount('1'), 1n);
  assert.equal(parseAmount('10'), 10n);
  assert.equal(parseAmount('1234567890'), 1234567890n);
  assert.equal(parseAmount('999999999999999999'), 999999999999999999n, '18 digits');
  assert.equal(parseAmount('1000000000000000000'), 10n ** 18n, '19 digits');
});

test('parseAmount: 2^63-1 is the largest; 2^63 and longer strings are refused', () => {
  assert.equal(parseAmount('9223372036854775807'), AMOUNT_MAX);
  assert.equal(parseAmount('9223372036854775806'), AMOUNT_MAX - 1n);
  assert.equal(parseAmount('9223372036854775808'), undefined);
  assert.equal(parseAmount('9999999999999999999'), undefined);
  assert.equal(parseAmount('18446744073709551615'), undefined, '2^64-1');
  assert.equal(parseAmount('18446744073709551616'), undefined, '2^64, which would wrap to 0 in 64 bits');
  assert.equal(parseAmount('1' + '0'.repeat(19)), undefined, '20 digits');
  assert.equal(parseAmount('9'.repeat(400)), undefined);
});

test('parseAmount refuses leading zeros', () => {
  for (const text of ['00', '01', '007', '0009223372036854775807', '00000000000000000001']) {
    assert.equal(parseAmount(text), undefined, JSON.stringify(text));
  }
});

test('parseAmount refuses signs, decimals, exponents and other notations', () => {
  for (const text of ['+1', '-1', '-0', '+0', '1.5', '1.0', '1.', '.5', '0.00', '1e3', '1E3', '1e0', '0x10', '0b1', '0o7', '1_000', '1,000', 'Infinity', 'NaN', '1n']) {
    assert.equal(parseAmount(text), undefined, JSON.stringify(text));
  }
});

test('parseAmount refuses whitespace and non-ASCII digits anywhere', () => {
  for (const text of ['', ' ', ' 1', '1 ', '1 0', '\t1', '1\n', '\n1', '1\r\n', '\u00a01', '1\u2028', '\u0661', '１', '1\u0000']) {
    assert.equal(parseAmount(text), undefined, JSON.stringify(text));
  }
});

test('parseAmount round-trips every bigint in range and nothing outside it', () => {
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: AMOUNT_MAX }), (value) => parseAmount(value.toString()) === value));
  fc.assert(fc.property(fc.bigInt({ min: AMOUNT_MAX + 1n, max: 10n ** 30n }), (value) => parseAmount(value.toString()) === undefined));
  fc.assert(fc.property(fc.bigInt({ min: -(10n ** 20n), max: -1n }), (value) => parseAmount(value.toString()) === undefined));
});

test('formatAmount at scale 0', () => {
  assert.equal(formatAmount(0n, 0), '0');
  assert.equal(formatAmount(7n, 0), '7');
  assert.equal(formatAmount(100n, 0), '100');
  assert.equal(formatAmount(-7n, 0), '-7');
  assert.equal(formatAmount(AMOUNT_MAX, 0), '9223372036854775807');
});

test('formatAmount at scale 2', () => {
  assert.equal(formatAmount(0n, 2), '0.00');
  assert.equal(formatAmount(1n, 2), '0.01');
  assert.equal(formatAmount(10n, 2), '0.10');
  assert.equal(formatAmount(99n, 2), '0.99');
  assert.equal(formatAmount(100n, 2), '1.00');
  assert.equal(formatAmount(1234n, 2), '12.34');
  assert.equal(formatAmount(-5n, 2), '-0.05');
  assert.equal(formatAmount(-1234n, 2), '-12.34');
  assert.equal(formatAmount(AMOUNT_MAX, 2), '92233720368547758.07');
  assert.equal(formatAmount(-AMOUNT_MAX, 2), '-92233720368547758.07');
});

test('formatAmount at scale 4', () => {
  assert.equal(formatAmount(0n, 4), '0.0000');
  assert.equal(formatAmount(1n, 4), '0.0001');
  assert.equal(formatAmount(12345n, 4), '1.2345');
  assert.equal(formatAmount(10000n, 4), '1.0000');
  assert.equal(formatAmount(-1n, 4), '-0.0001');
  assert.equal(formatAmount(AMOUNT_MAX, 4), '922337203685477.5807');
});

test('formatAmount keeps every digit: removing the point gives the amount back', () => {
  fc.assert(fc.property(fc.bigInt({ min: -AMOUNT_MAX, max: AMOUNT_MAX }), fc.constantFrom(0, 2, 4), (value, scale) => {
    const text = formatAmount(value, scale);
    const [whole, fraction = ''] = text.replace('-', '').split('.');
    assert.equal(fraction.length, scale);
    assert.ok(whole.length >= 1 && (whole === '0' || !whole.startsWith('0')), `no leading zeros in ${text}`);
    assert.equal(text.startsWith('-'), value < 0n);
    assert.equal(BigInt((value < 0n ? '-' : '') + whole + fraction), value);
  }));
});
