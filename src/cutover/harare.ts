// Legacy times are Harare wall-clock times with no zone ('2026-11-20 21:00:00'). Harare is
// UTC+02:00 all year (no daylight saving), so the conversion is a fixed, explicit offset.
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2}))?$/;
const HARARE_OFFSET_MS = 2 * 3600 * 1000;

/** Milliseconds since the epoch (UTC) of a Harare local time, or undefined when malformed. */
export function harareLocalToMs(text: string): number | undefined {
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
  return new Date(ms).toISOString();
}

/** Back to the legacy form, for comparing with legacy rows: '2026-11-20 21:00:00'. */
export function msToHarareLocal(ms: number): string {
  return new Date(ms + HARARE_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}
