// The id filter: no false negatives, ever (a retry must never look new), including across growth;
// false positives rare enough that the database is seldom asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdFilter } from '../../src/store/bloom.js';

const id = (prefix: string, i: number) => `${prefix}${i.toString(36).padStart(10, '0')}`;

test('every id added is found, and few others are', () => {
  const filter = new IdFilter(200_000);
  for (let i = 0; i < 200_000; i++) filter.add(id('T', i));
  for (let i = 0; i < 200_000; i++) assert.equal(filter.mightContain(id('T', i)), true, id('T', i));
  let maybe = 0;
  for (let i = 0; i < 200_000; i++) if (filter.mightContain(id('N', i))) maybe++;
  assert.ok(maybe / 200_000 < 0.01, `false positive rate ${maybe / 200_000}`);
  assert.equal(filter.size, 200_000);
});

test('a grown filter still answers for the ids of the one it grew from, and takes new ones', () => {
  let filter = new IdFilter(0);
  let added = 0;
  while (!filter.saturated) filter.add(id('A', added++));
  filter = filter.grown();
  assert.equal(filter.saturated, false);
  assert.equal(filter.size, added);
  for (let i = 0; i < 50_000; i++) filter.add(id('B', i));
  for (let i = 0; i < added; i += 7) assert.equal(filter.mightContain(id('A', i)), true);
  for (let i = 0; i < 50_000; i++) assert.equal(filter.mightContain(id('B', i)), true);
  let maybe = 0;
  for (let i = 0; i < 100_000; i++) if (filter.mightContain(id('N', i))) maybe++;
  assert.ok(maybe / 100_000 < 0.02, `false positive rate ${maybe / 100_000}`);
});

test('a filter at the size it grows at answers "maybe" for about 0.03% of new ids, whatever their pattern', () => {
  // Millions of ids each sharing most of their characters with the next (ULID-like, as clients
  // send): a 32-bit hash of the text alone collided once in 2^32 pairs, a floor of 0.05-0.2% at
  // this size, and 0.44% for one other prefix.
  const filter = new IdFilter(4_000_000);
  const base = 'mi9z4k2';
  const sequential = (prefix: string, i: number) => `${prefix}${base}${i.toString(36).padStart(9, '0')}`;
  let added = 0;
  while (!filter.saturated) filter.add(sequential('T', added++));
  assert.ok(added > 3_000_000, `grows at half its design, here after ${added} ids`);
  for (const probe of [(i: number) => sequential('Q', i), (i: number) => sequential('R', i), (i: number) => sequential('T', added + i), (i: number) => `x${Math.imul(i, 2654435761) >>> 0}`]) {
    let maybe = 0;
    for (let i = 0; i < 300_000; i++) if (filter.mightContain(probe(i))) maybe++;
    assert.ok(maybe / 300_000 < 0.0015, `false positive rate ${maybe / 300_000} for ${probe(0)}…`);
  }
});
