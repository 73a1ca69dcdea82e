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
