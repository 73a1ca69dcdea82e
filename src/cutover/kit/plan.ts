// The maintenance window planner: from the legacy transaction history, the quietest windows of a
// given length in a typical week (by weekday and hour, Harare time), month-end days apart since
// they run hotter; with the expected transactions and distinct customers each window affects.
// Counting happens in MariaDB (GROUP BY); only the quiet hours' rows come back to count customers.
import type { LegacyDb } from './legacy_db.js';

export const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const HOURS_PER_WEEK = 168;
/** Days of the month from which month-end traffic (salaries, bills) runs hotter. */
export const MONTH_END_DAY = 25;

export interface HourCount {
  /** Local calendar date, YYYY-MM-DD. */
  date: string;
  /** 0 Sunday .. 6 Saturday. */
  weekday: number;
  hour: number;
  transactions: number;
}

export interface WeekProfile {
  /** Mean transactions per hour of the week (index weekday * 24 + hour), month-end days left out. */
  typical: number[];
  /** Month-end mean over typical mean for the same hours (1 when there is no month-end data). */
  month_end_factor: number;
  weeks: number;
  from: string;
  to: string;
}

export interface Window {
  /** Hour of the week the window starts (weekday * 24 + hour). */
  start: number;
  weekday: string;
  starts_local: string;
  ends_local: string;
  expected_transactions: number;
  expected_transactions_month_end: number;
  customers_affected?: number;
}

export async function hourCounts(db: LegacyDb): Promise<HourCount[]> {
  const rows = await db.query<{ date: string; weekday: number | string; hour: number | string; n: number | string }>(
    'SELECT DATE_FORMAT(created_at, \'%Y-%m-%d\') AS date, DAYOFWEEK(created_at) - 1 AS weekday, HOUR(created_at) AS hour, COUNT(*) AS n ' +
    'FROM txn_log GROUP BY date, weekday, hour ORDER BY date, hour');
  return rows.map((r) => ({ date: r.date, weekday: Number(r.weekday), hour: Number(r.hour), transactions: Number(r.n) }));
}

function dayOfMonth(date: string): number {
  return Number(date.slice(8, 10));
}

/** Only whole days count: the first and last days of a history are usually partial. */
export function weekProfile(counts: readonly HourCount[]): WeekProfile {
  if (counts.length === 0) throw new Error('the legacy txn_log is empty: no traffic to plan from');
  const dates = [...new Set(counts.map((c) => c.date))].sort();
  const whole = new Set(dates.slice(1, -1).length > 0 ? dates.slice(1, -1) : dates);
  const sums = { typical: new Array<number>(HOURS_PER_WEEK).fill(0), monthEnd: new Array<number>(HOURS_PER_WEEK).fill(0) };
  const days = { typical: new Array<Set<string>>(7).fill(new Set()).map(() => new Set<string>()), monthEnd: new Array(7).fill(0).map(() => new Set<string>()) };
  for (const c of counts) {
    if (!whole.has(c.date)) continue;
    const kind = dayOfMonth(c.date) >= MONTH_END_DAY ? 'monthEnd' : 'typical';
    sums[kind][c.weekday * 24 + c.hour] += c.transactions;
  }
  for (const date of whole) {
    const weekday = new Date(`${date}T12:00:00Z`).getUTCDay();
    (dayOfMonth(date) >= MONTH_END_DAY ? days.monthEnd : days.typical)[weekday].add(date);
  }
  const typical = sums.typical.map((sum, slot) => sum / Math.max(1, days.typical[Math.floor(slot / 24)].size));
  const monthEnd = sums.monthEnd.map((sum, slot) => sum / Math.max(1, days.monthEnd[Math.floor(slot / 24)].size));
  const covered = typical.map((_, slot) => days.monthEnd[Math.floor(slot / 24)].size > 0 && days.typical[Math.floor(slot / 24)].size > 0);
  const typicalTotal = typical.reduce((a, v, slot) => a + (covered[slot] ? v : 0), 0);
  const monthEndTotal = monthEnd.reduce((a, v, slot) => a + (covered[slot] ? v : 0), 0);
  return {
    typical,
    month_end_factor: typicalTotal > 0 && monthEndTotal > 0 ? monthEndTotal / typicalTotal : 1,
    weeks: Math.max(...days.typical.map((d) => d.size)),
    from: dates[0], to: dates.at(-1)!,
  };
}

function localText(hourOfWeek: number, minutes = 0): string {
  const h = ((hourOfWeek % HOURS_PER_WEEK) + HOURS_PER_WEEK) % HOURS_PER_WEEK;
  return `${WEEKDAYS[Math.floor(h / 24)]} ${String(h % 24).padStart(2, '0')}:${String(minutes).padStart(2, '0')}`;
}

/** Expected transactions in a window of `duration_h` hours (fractions weigh the last hour) from `start`. */
export function windowLoad(typical: readonly number[], start: number, duration_h: number): number {
  let load = 0;
  for (let i = 0; i < Math.ceil(duration_h); i++) {
    const weight = Math.min(1, duration_h - i);
    load += typical[(start + i) % HOURS_PER_WEEK] * weight;
  }
  return load;
}

/** The `count` quietest windows that do not overlap, quietest first. */
export function quietestWindows(profile: WeekProfile, options: { duration_h: number; count: number }): Window[] {
  const { duration_h } = options;
  if (!(duration_h > 0 && duration_h <= 72)) throw new Error('the duration must be more than 0 and at most 72 hours');
  const candidates = Array.from({ length: HOURS_PER_WEEK }, (_, start) => ({ start, load: windowLoad(profile.typical, start, duration_h) }))
    .sort((a, b) => a.load - b.load || a.start - b.start);
  const span = Math.ceil(duration_h);
  const chosen: typeof candidates = [];
  const overlaps = (a: number, b: number) => {
    const d = Math.abs(a - b);
    return Math.min(d, HOURS_PER_WEEK - d) < span;
  };
  for (const candidate of candidates) {
    if (chosen.length === options.count) break;
    if (chosen.some((c) => overlaps(c.start, candidate.start))) continue;
    chosen.push(candidate);
  }
  const endMinutes = Math.round((duration_h % 1) * 60);
  return chosen.map(({ start, load }) => ({
    start, weekday: WEEKDAYS[Math.floor(start / 24)], starts_local: localText(start), ends_local: localText(start + Math.floor(duration_h), endMinutes),
    expected_transactions: Math.round(load), expected_transactions_month_end: Math.round(load * profile.month_end_factor),
  }));
}

/**
 * Distinct subscribers with a transaction in each occurrence of the window (month-end ones left
 * out), averaged: the customers who would find the service closed.
 */
export async function customersAffected(db: LegacyDb, window: Window, duration_h: number): Promise<number> {
  const hours = Array.from({ length: Math.ceil(duration_h) }, (_, i) => (window.start + i) % HOURS_PER_WEEK);
  const slots = hours.map((h) => `(${Math.floor(h / 24) + 1},${h % 24})`).join(',');
  const rows = await db.query<{ at: string; debit_owner: string | null; credit_owner: string | null }>(
    'SELECT DATE_FORMAT(t.created_at, \'%Y-%m-%d %H\') AS at, ' +
    'IF(wd.owner_type = \'SUBSCRIBER\', wd.owner_ref, NULL) AS debit_owner, IF(wc.owner_type = \'SUBSCRIBER\', wc.owner_ref, NULL) AS credit_owner ' +
    'FROM txn_log t JOIN wallet wd ON wd.wallet_id = t.debit_wallet JOIN wallet wc ON wc.wallet_id = t.credit_wallet ' +
    `WHERE (DAYOFWEEK(t.created_at), HOUR(t.created_at)) IN (${slots})`);
  // Each row belongs to the occurrence that started at the window's start hour before it.
  const occurrences = new Map<string, Set<string>>();
  for (const row of rows) {
    const at = Date.parse(`${row.at.slice(0, 10)}T${row.at.slice(11, 13)}:00:00Z`);
    const hourOfWeek = new Date(at).getUTCDay() * 24 + new Date(at).getUTCHours();
    const offset = (hourOfWeek - window.start + HOURS_PER_WEEK) % HOURS_PER_WEEK;
    const startDate = new Date(at - offset * 3600_000).toISOString().slice(0, 10);
    if (dayOfMonth(startDate) >= MONTH_END_DAY) continue;
    const customers = occurrences.get(startDate) ?? new Set<string>();
    if (row.debit_owner !== null) customers.add(row.debit_owner);
    if (row.credit_owner !== null) customers.add(row.credit_owner);
    occurrences.set(startDate, customers);
  }
  if (occurrences.size === 0) return 0;
  return Math.round([...occurrences.values()].reduce((a, s) => a + s.size, 0) / occurrences.size);
}

const BARS = ' ▁▂▃▄▅▆▇█';

/** The week as seven rows of 24 hourly bars; chosen windows' hours are underlined with their rank. */
export function terminalChart(profile: WeekProfile, windows: readonly Window[], duration_h: number): string {
  const max = Math.max(...profile.typical, 1);
  const marks = new Map<number, string>();
  windows.forEach((w, rank) => {
    for (let i = 0; i < Math.ceil(duration_h); i++) marks.set((w.start + i) % HOURS_PER_WEEK, String(rank + 1));
  });
  const lines = ['     ' + Array.from({ length: 24 }, (_, h) => (h % 3 === 0 ? String(h).padEnd(3) : '')).join('')];
  for (let day = 0; day < 7; day++) {
    const bars = profile.typical.slice(day * 24, day * 24 + 24).map((v) => BARS[Math.round((v / max) * (BARS.length - 1))]).join('');
    const under = Array.from({ length: 24 }, (_, h) => marks.get(day * 24 + h) ?? ' ').join('');
    lines.push(`${WEEKDAYS[day]}  ${bars}  peak ${Math.round(Math.max(...profile.typical.slice(day * 24, day * 24 + 24)))}/h`);
    if (under.trim() !== '') lines.push(`     ${under}`);
  }
  return lines.join('\n');
}

/** The same chart as an SVG for the report: 168 bars, chosen windows shaded and numbered. */
export function svgChart(profile: WeekProfile, windows: readonly Window[], duration_h: number): string {
  const barWidth = 5;
  const height = 200;
  const top = 30;
  const left = 40;
  const max = Math.max(...profile.typical, 1);
  const parts: string[] = [];
  windows.forEach((w, rank) => {
    const span = Math.ceil(duration_h);
    for (const [start, length] of w.start + span > HOURS_PER_WEEK ? [[w.start, HOURS_PER_WEEK - w.start], [0, w.start + span - HOURS_PER_WEEK]] : [[w.start, span]]) {
      parts.push(`<rect x="${left + start * barWidth}" y="${top}" width="${length * barWidth}" height="${height}" fill="#cfe8ff"/>`);
    }
    parts.push(`<text x="${left + w.start * barWidth + 2}" y="${top + 12}" font-size="11" fill="#0550ae">${rank + 1}</text>`);
  });
  profile.typical.forEach((v, slot) => {
    const h = (v / max) * height;
    parts.push(`<rect x="${left + slot * barWidth}" y="${(top + height - h).toFixed(1)}" width="${barWidth - 1}" height="${h.toFixed(1)}" fill="#57606a"/>`);
  });
  WEEKDAYS.forEach((day, i) => parts.push(`<text x="${left + i * 24 * barWidth + 2}" y="${top + height + 14}" font-size="11">${day}</text>`));
  parts.push(`<text x="${left}" y="18" font-size="13">Transactions per hour in a typical week (Harare time), ${profile.from} to ${profile.to}; shaded: the ${windows.length} quietest ${duration_h} h windows</text>`);
  parts.push(`<text x="2" y="${top + 10}" font-size="10">${Math.round(max)}</text><text x="2" y="${top + height}" font-size="10">0</text>`);
  const width = left + HOURS_PER_WEEK * barWidth + 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${top + height + 24}" viewBox="0 0 ${width} ${top + height + 24}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}

/** A duration such as 6h, 90m, 5h30m or 2.5h, in hours. */
export function parseDuration(text: string): number | undefined {
  const match = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+)m)?$/.exec(text.trim());
  if (!match || (match[1] === undefined && match[2] === undefined)) return undefined;
  return Number(match[1] ?? 0) + Number(match[2] ?? 0) / 60;
}
