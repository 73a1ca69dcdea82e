// Checks the window planner on a generated legacy history in MariaDB: the typical week by hour,
// the month-end factor, the quietest windows (nights, not evenings), customers affected, and the
// terminal and SVG charts; and the profile arithmetic on hand-made counts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openLegacyDb } from '../../../src/cutover/kit/legacy_db.js';
import { customersAffected, hourCounts, parseDuration, quietestWindows, svgChart, terminalChart, weekProfile, windowLoad, type HourCount } from '../../../src/cutover/kit/plan.js';
import { createLegacy, type LegacyDatabase } from './legacy.js';

let legacy: LegacyDatabase;
before(() => {
  legacy = createLegacy({ subscribers: 400, name: 'mari_kit_plan' });
});
after(() => legacy?.drop());

test('the quietest 6 h windows of the legacy week are at night, with transactions and customers expected', async () => {
  const db = await openLegacyDb(legacy.url);
  try {
    const counts = await hourCounts(db);
    const total = (await db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM txn_log'))[0].n;
    assert.equal(counts.reduce((a, c) => a + c.transactions, 0), Number(total), 'every row counted once');
    const profile = weekProfile(counts);
    assert.ok(profile.weeks >= 6, `about 8 weeks of history (got ${profile.weeks})`);
    assert.ok(profile.month_end_factor > 1.15 && profile.month_end_factor < 1.7, `month-end runs hotter (×${profile.month_end_factor.toFixed(2)})`);
    const windows = quietestWindows(profile, { duration_h: 6, count: 3 });
    assert.equal(windows.length, 3);
    for (const w of windows) {
      const startHour = w.start % 24;
      assert.ok(startHour >= 21 || startHour <= 2, `${w.starts_local} starts late at night`);
      assert.ok(w.expected_transactions_month_end >= w.expected_transactions);
    }
    assert.ok(windows[0].expected_transactions <= windows[1].expected_transactions && windows[1].expected_transactions <= windows[2].expected_transactions);
    // The busiest 6 h of the week carries several times the quietest.
    const busiest = Math.max(...Array.from({ length: 168 }, (_, s) => windowLoad(profile.typical, s, 6)));
    assert.ok(busiest > 3 * windows[0].expected_transactions);
    const customers = await customersAffected(db, windows[0], 6);
    assert.ok(customers > 0 && customers <= windows[0].expected_transactions * 2, `customers affected ${customers}`);
    const chart = terminalChart(profile, windows, 6);
    assert.equal(chart.split('\n').filter((line) => /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) /.test(line)).length, 7);
    assert.match(chart, /1{6}/, 'the best window is marked under its hours');
    const svg = svgChart(profile, windows, 6);
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/fill="#57606a"/g) ?? []).length, 168);
  } finally {
    await db.close();
  }
});

test('the profile leaves out partial first and last days, and month-end days from the typical week', () => {
  const counts: HourCount[] = [];
  // 2026-11-01 is a Sunday. 4 Sundays: 1st (partial, dropped), 8th, 15th, 29th (month-end), 22nd; then a partial Monday.
  for (const date of ['2026-11-01', '2026-11-08', '2026-11-15', '2026-11-22', '2026-11-29']) {
    for (let hour = 0; hour < 24; hour++) counts.push({ date, weekday: 0, hour, transactions: date === '2026-11-29' ? 20 : hour === 3 ? 1 : 10 });
  }
  counts.push({ date: '2026-11-30', weekday: 1, hour: 0, transactions: 1000 });
  const profile = weekProfile(counts);
  assert.equal(profile.typical[3], 1);
  assert.equal(profile.typical[4], 10);
  assert.equal(profile.typical[24], 0, 'the partial last day is left out');
  assert.ok(Math.abs(profile.month_end_factor - 20 / ((23 * 10 + 1) / 24)) < 1e-9);
  assert.equal(windowLoad(profile.typical, 3, 1.5), 1 + 5);
  assert.equal(parseDuration('6h'), 6);
  assert.equal(parseDuration('5h30m'), 5.5);
  assert.equal(parseDuration('90m'), 1.5);
  assert.equal(parseDuration('soon'), undefined);
  assert.throws(() => quietestWindows(profile, { duration_h: 0, count: 3 }));
});
