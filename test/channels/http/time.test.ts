// Checks Harare time formatting (to the nanosecond) and timestamp parsing (RFC 3339 with offset or Z, or integer nanoseconds).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatHarare, parseTimestamp } from '../../../src/time.js';

test('formatHarare shows UTC+02:00 with every nanosecond', () => {
  assert.equal(formatHarare(1795394821123456789n), '2026-11-23T02:47:01.123456789+02:00');
  assert.equal(formatHarare(0n), '1970-01-01T02:00:00.000000000+02:00');
  assert.equal(formatHarare(1n), '1970-01-01T02:00:00.000000001+02:00');
  assert.equal(formatHarare(22n * 3600n * 1_000_000_000n), '1970-01-02T00:00:00.000000000+02:00', 'crosses midnight locally');
});

test('parseTimestamp reads RFC 3339 and nanoseconds, and round-trips formatHarare', () => {
  const ns = 1795394821123456789n;
  assert.equal(parseTimestamp(formatHarare(ns)), ns);
  assert.equal(parseTimestamp('2026-11-23T00:47:01.123456789Z'), ns);
  assert.equal(parseTimestamp('2026-11-22T19:47:01.123456789-05:00'), ns);
  assert.equal(parseTimestamp('2026-11-23t00:47:01.123456789z'), ns);
  assert.equal(parseTimestamp('2026-11-23T00:47:01Z'), 1795394821000000000n);
  assert.equal(parseTimestamp('2026-11-23T00:47:01.5Z'), 1795394821500000000n);
  assert.equal(parseTimestamp(ns.toString()), ns);
  assert.equal(parseTimestamp('0'), 0n);
  assert.equal(parseTimestamp('2024-02-29T00:00:00Z'), 1709164800000000000n);
});

test('parseTimestamp refuses what is not a timestamp', () => {
  for (const text of [
    '', 'now', '2026-11-23', '2026-11-23T00:47:01', '2026-11-23 00:47:01Z', '2026-02-30T00:00:00Z', '2025-02-29T00:00:00Z',
    '2026-11-23T24:00:00Z', '2026-11-23T00:60:00Z', '2026-11-23T00:00:60Z', '2026-11-23T00:00:00+24:00', '2026-11-23T00:00:00.1234567891Z',
    '-1', '1.5', '9223372036854775808', '1969-12-31T23:59:59Z', ' 2026-11-23T00:47:01Z',
  ]) {
    assert.equal(parseTimestamp(text), undefined, text);
  }
});
