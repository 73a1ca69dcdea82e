// Times are stored as bigint nanoseconds since the epoch (UTC) and shown in Africa/Harare time,
// which is UTC+02:00 all year (no daylight saving), so a fixed offset is exact.
const NS_PER_S = 1_000_000_000n;
const NS_PER_MS = 1_000_000n;
const HARARE_OFFSET_S = 2n * 3600n;
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
