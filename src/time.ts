// Times are stored as bigint nanoseconds since the epoch (UTC) and shown in Africa/Harare time,
// which is UTC+02:00 all year (no daylight saving), so a fixed offset is exact.
const NS_PER_S = 1_000_000_000n;
const NS_PER_MS = 1_000_000n;
const HARARE_OFFSET_S = 2n * 3600n;
/** Harare's offset from UTC in milliseconds (+02:00, all year). */
export const HARARE_OFFSET_MS = 2 * 3600 * 1000;
/** Timestamps fit a signed 64-bit integer, as the store keeps them. */
const TIMESTAMP_MAX = (1n << 63n) - 1n;

/** `2026-11-23T02:47:01.123456789+02:00`: every nanosecond kept. */
export function formatHarare(ns: bigint): string {
  const seconds = floorDiv(ns, NS_PER_S);
  const fraction = ns - seconds * NS_PER_S;
  const local = new Date(Number((seconds + HARARE_OFFSET_S) * 1000n));
  return `${local.toISOString().slice(0, 19)}.${fraction.toString().padStart(9, '0')}+02:00`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const NANOSECONDS = /^[0-9]{1,19}$/;

/** RFC 3339 date-time with `Z` or an offset, or integer nanoseconds; undefined when neither or out of range. */
export function parseTimestamp(text: string): bigint | undefined {
  if (NANOSECONDS.test(text)) {
    const ns = BigInt(text);
    return ns <= TIMESTAMP_MAX ? ns : undefined;
  }
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 31 April into 1 May; a round trip catches every out-of-range field.
  const back = new Date(ms);
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day ||
    back.getUTCHours() !== hour || back.getUTCMinutes() !== minute || back.getUTCSeconds() !== second) return undefined;
  const offset_s = match[8] ? 0 : offsetSeconds(match[9], Number(match[10]), Number(match[11]));
  if (offset_s === undefined) return undefined;
  const fraction = BigInt((match[7] ?? '').padEnd(9, '0'));
  const ns = BigInt(ms) * NS_PER_MS + fraction - BigInt(offset_s) * NS_PER_S;
  return ns >= 0n && ns <= TIMESTAMP_MAX ? ns : undefined;
}

function offsetSeconds(sign: string, hours: number, minutes: number): number | undefined {
  if (hours > 23 || minutes > 59) return undefined;
  return (sign === '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
}

function floorDiv(a: bigint, b: bigint): bigint {
  const quotient = a / b;
  return a % b < 0n ? quotient - 1n : quotient;
}

// Legacy times are Harare wall-clock times with no zone ('2026-11-20 21:00:00'): converted with
// the fixed offset, explicitly.
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2}))?$/;
/**
 * The ms of each local hour met ('YYYY-MM-DD HH'): a migration converts millions of legacy times
 * that fall in a few thousand hours, so each hour is parsed and checked once, and the minutes and
 * seconds (which the fixed offset leaves alone) are added to it.
 */
const HOURS = new Map<string, number>();
const HOURS_ISO = new Map<string, string>();
const HOURS_MAX = 100_000;

/** Milliseconds since the epoch (UTC) of a Harare local time, or undefined when malformed. */
export function harareLocalToMs(text: string): number | undefined {
  if (isPlainLocal(text)) {
    const hour = text.slice(0, 13);
    let base = HOURS.get(hour);
    if (base === undefined) {
      base = parseLocal(`${hour}:00:00`);
      if (base === undefined) return undefined;
      if (HOURS.size >= HOURS_MAX) HOURS.clear();
      HOURS.set(hour, base);
    }
    return base + twoDigits(text, 14) * 60_000 + twoDigits(text, 17) * 1000;
  }
  return parseLocal(text);
}

/** 'YYYY-MM-DD HH:MM:SS', the form legacy rows have, with minutes and seconds in range (the hour is checked with its date). */
function isPlainLocal(text: string): boolean {
  return text.length === 19 && text.charCodeAt(10) === 32 && text.charCodeAt(13) === 58 && text.charCodeAt(16) === 58 &&
    twoDigits(text, 14) <= 59 && twoDigits(text, 17) <= 59;
}

/** Two decimal digits at `at` as a number, or 100 when either is not a digit. */
function twoDigits(text: string, at: number): number {
  const tens = text.charCodeAt(at) - 48;
  const ones = text.charCodeAt(at + 1) - 48;
  return tens >= 0 && tens <= 9 && ones >= 0 && ones <= 9 ? tens * 10 + ones : 100;
}

function parseLocal(text: string): number | undefined {
  const match = LOCAL.exec(text.trim());
  if (!match) return undefined;
  const [year, month, day, hour = 0, minute = 0, second = 0] = match.slice(1).map((part) => (part === undefined ? 0 : Number(part)));
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day || back.getUTCHours() !== hour) return undefined;
  return ms - HARARE_OFFSET_MS;
}

/** ISO 8601 UTC ('2026-11-20T19:00:00.000Z') of a Harare local time; throws naming the bad value. */
export function harareLocalToIso(text: string, where = 'time'): string {
  const ms = harareLocalToMs(text);
  if (ms === undefined) throw new Error(`${where}: '${text}' is not a local date-time (YYYY-MM-DD HH:MM:SS)`);
  // The offset is whole hours: a cached hour's UTC form, with the minutes and seconds as written.
  if (isPlainLocal(text)) {
    const hour = text.slice(0, 13);
    let utc = HOURS_ISO.get(hour);
    if (utc === undefined) {
      utc = new Date(ms).toISOString().slice(0, 14);
      if (HOURS_ISO.size >= HOURS_MAX) HOURS_ISO.clear();
      HOURS_ISO.set(hour, utc);
    }
    return `${utc}${text.slice(14)}.000Z`;
  }
  return new Date(ms).toISOString();
}

/** Back to the legacy form, for comparing with legacy rows: '2026-11-20 21:00:00'. */
export function msToHarareLocal(ms: number): string {
  return new Date(ms + HARARE_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

const LOCAL_HOURS = new Map<string, string>();

/** msToHarareLocal(Date.parse(iso)), each UTC hour of toISOString's form converted once (reconcile meets millions). */
export function isoToHarareLocal(iso: string): string {
  if (iso.length === 24 && iso.charCodeAt(10) === 84 && iso.charCodeAt(13) === 58 && iso.charCodeAt(16) === 58 && iso.endsWith('.000Z') &&
    twoDigits(iso, 14) <= 59 && twoDigits(iso, 17) <= 59) {
    const hour = iso.slice(0, 13);
    let local = LOCAL_HOURS.get(hour);
    if (local === undefined) {
      local = msToHarareLocal(Date.parse(`${hour}:00:00.000Z`)).slice(0, 13);
      if (LOCAL_HOURS.size >= HOURS_MAX) LOCAL_HOURS.clear();
      LOCAL_HOURS.set(hour, local);
    }
    return `${local}${iso.slice(13, 19)}`;
  }
  return msToHarareLocal(Date.parse(iso));
}

// How people are shown times: Harare local time, the way a notice or a USSD screen writes it,
// e.g. "Sun 22 Nov 2026 04:00".
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function harareText(at: Date): string {
  const local = new Date(at.getTime() + HARARE_OFFSET_MS);
  const hh = String(local.getUTCHours()).padStart(2, '0');
  const mm = String(local.getUTCMinutes()).padStart(2, '0');
  return `${DAYS[local.getUTCDay()]} ${local.getUTCDate()} ${MONTHS[local.getUTCMonth()]} ${local.getUTCFullYear()} ${hh}:${mm}`;
}

/** Local weekday (0 Sunday) and hour of a UTC instant. */
export function harareWeekHour(at: Date): { weekday: number; hour: number; day: number } {
  const local = new Date(at.getTime() + HARARE_OFFSET_MS);
  return { weekday: local.getUTCDay(), hour: local.getUTCHours(), day: local.getUTCDate() };
}

/** "5h20m" for a duration in milliseconds; negative ones read "overdue by …". */
export function durationText(ms: number): string {
  const overdue = ms < 0;
  const minutes = Math.round(Math.abs(ms) / 60_000);
  const text = minutes >= 60 ? `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m` : `${minutes}m`;
  return overdue ? `overdue by ${text}` : text;
}
