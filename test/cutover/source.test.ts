// The pieces under the import: the streaming CSV parser (quotes, commas, quotes and newlines in
// fields, records split anywhere across chunks), exact decimals, and Harare local times to UTC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatDecimal, parseDecimal } from '../../src/cutover/decimal.js';
import { harareLocalToIso, harareLocalToMs, isoToHarareLocal, msToHarareLocal } from '../../src/time.js';
import { parseCsv } from '../../src/cutover/source.js';

/** How the legacy generator writes a field. */
function csvValue(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

async function parseChunks(chunks: string[]): Promise<string[][]> {
  const records: string[][] = [];
  async function* source() {
    for (const chunk of chunks) yield Buffer.from(chunk, 'utf8');
  }
  for await (const batch of parseCsv(source())) records.push(...batch);
  return records;
}

test('CSV records come back field for field, however the stream is cut', async () => {
  const field = fc.string({ unit: fc.constantFrom('a', 'Z', '9', ' ', ',', '"', '\n', 'ë', '+', '.') , maxLength: 12 });
  await fc.assert(fc.asyncProperty(
    fc.array(fc.array(field, { minLength: 2, maxLength: 5 }), { minLength: 1, maxLength: 20 }),
    fc.array(fc.nat(), { maxLength: 10 }),
    async (records, cuts) => {
      const text = records.map((r) => r.map(csvValue).join(',')).join('\n') + '\n';
      const bytes = Buffer.from(text, 'utf8');
      // Cut on byte boundaries, even inside a multi-byte character: the decoder must carry it over.
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const parts: Buffer[] = [];
      let from = 0;
      for (const p of points) {
        parts.push(bytes.subarray(from, p));
        from = p;
      }
      parts.push(bytes.subarray(from));
      const parsed: string[][] = [];
      async function* source() {
        yield* parts;
      }
      for await (const batch of parseCsv(source())) parsed.push(...batch);
      // A record of one empty field is an empty line, which CSV cannot tell from none.
      assert.deepEqual(parsed, records.filter((r) => !(r.length === 1 && r[0] === '')));
    },
  ), { numRuns: 300 });
});

test('a quoted field may hold the delimiter, a doubled quote and a newline; an unterminated quote is refused', async () => {
  assert.deepEqual(await parseChunks(['a,"b,c","say ""hi""","two\nlines"\n', 'x,y\n']), [['a', 'b,c', 'say "hi"', 'two\nlines'], ['x', 'y']]);
  assert.deepEqual(await parseChunks(['a,"b"', '"c"\n']), [['a', 'b"c']]);
  assert.deepEqual(await parseChunks(['last,line']), [['last', 'line']]);
  await assert.rejects(parseChunks(['a,"never closed\n']), /quoted field/);
});

test('decimals are exact at their scale, both ways, and refuse what does not fit', () => {
  fc.assert(fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.integer({ min: 0, max: 6 }), (units, scale) => {
    assert.equal(parseDecimal(formatDecimal(units, scale), scale), units);
  }));
  assert.equal(parseDecimal('12.3', 2), 1230n);
  assert.equal(parseDecimal('-0.05', 2), -5n);
  assert.equal(parseDecimal('102400.0000', 0), 102400n, 'zeros past the scale are fine');
  assert.equal(parseDecimal('1.005', 2), undefined, 'a non-zero digit past the scale is not');
  assert.equal(parseDecimal('1e3', 2), undefined);
  assert.equal(parseDecimal('', 2), undefined);
  assert.equal(formatDecimal(-1234n, 2), '-12.34');
  assert.equal(formatDecimal(5n, 4), '0.0005');
  // The fast path for MariaDB's own form answers exactly as the general parse, for any text.
  const general = (text: string, scale: number): bigint | undefined => {
    const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
    if (!match || /[1-9]/.test((match[3] ?? '').slice(scale))) return undefined;
    const units = BigInt(match[2] + (match[3] ?? '').slice(0, scale).padEnd(scale, '0'));
    return match[1] === '-' ? -units : units;
  };
  fc.assert(fc.property(fc.string({ unit: fc.constantFrom('0', '1', '9', '.', '-', ' ', 'x'), maxLength: 20 }), fc.integer({ min: 0, max: 4 }), (text, scale) => {
    assert.equal(parseDecimal(text, scale), general(text, scale), JSON.stringify(text));
  }), { numRuns: 20_000 });
});

test('Harare local times are UTC+2 all year, converted explicitly, and malformed ones refused', () => {
  assert.equal(harareLocalToIso('2026-11-20 21:00:00'), '2026-11-20T19:00:00.000Z');
  assert.equal(harareLocalToIso('2026-01-01 01:30:00'), '2025-12-31T23:30:00.000Z', 'across the year boundary');
  assert.equal(harareLocalToIso('2026-07-01 12:00:00'), '2026-07-01T10:00:00.000Z', 'no daylight saving in July');
  assert.equal(harareLocalToMs('2026-02-30 10:00:00'), undefined);
  assert.equal(harareLocalToMs('20/11/2026 21:00'), undefined);
  assert.throws(() => harareLocalToIso('yesterday', 'txn_log 7'), /txn_log 7/);
  fc.assert(fc.property(fc.integer({ min: 0, max: 4_000_000_000 }), (seconds) => {
    const ms = seconds * 1000;
    assert.equal(harareLocalToMs(msToHarareLocal(ms)), ms);
  }));
  // Each hour is checked once and cached: any field out of range is still refused, every time.
  const two = fc.integer({ min: 0, max: 99 }).map((n) => String(n).padStart(2, '0'));
  fc.assert(fc.property(fc.constantFrom('2024', '2026', '0050'), two, two, two, two, two, (year, month, day, hour, minute, second) => {
    const text = `${year}-${month}-${day} ${hour}:${minute}:${second}`;
    const [y, mo, d, h, mi, s] = [year, month, day, hour, minute, second].map(Number);
    const valid = mo >= 1 && mo <= 12 && d >= 1 && d <= new Date(Date.UTC(y, mo, 0)).getUTCDate() && h <= 23 && mi <= 59 && s <= 59 && y >= 1000;
    const expected = valid ? Date.UTC(y, mo - 1, d, h, mi, s) - 2 * 3600_000 : undefined;
    if (valid || s <= 59) assert.equal(harareLocalToMs(text), expected, text);
    const ms = harareLocalToMs(text);
    if (ms !== undefined) assert.equal(harareLocalToIso(text), new Date(ms).toISOString(), text);
    if (ms !== undefined) assert.equal(isoToHarareLocal(new Date(ms).toISOString()), msToHarareLocal(ms), text);
    assert.equal(harareLocalToMs(text), harareLocalToMs(text), 'the same answer the second time');
  }), { numRuns: 5000 });
});
