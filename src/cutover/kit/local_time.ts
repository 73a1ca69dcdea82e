// How the cutover kit shows times to people: Harare local time (UTC+02:00 all year), written the
// way a notice or a USSD screen would, e.g. "Sun 22 Nov 2026 04:00".
const HARARE_OFFSET_MS = 2 * 3600 * 1000;
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

/** A legacy DATETIME (Harare local, no zone) as a UTC instant. */
export function fromHarareLocal(text: string): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!match) throw new Error(`not a local date-time: ${text}`);
  const [y, mo, d, h, mi, s] = match.slice(1).map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s) - HARARE_OFFSET_MS);
}

/** "5h20m" for a duration in milliseconds; negative ones read "overdue by …". */
export function durationText(ms: number): string {
  const overdue = ms < 0;
  const minutes = Math.round(Math.abs(ms) / 60_000);
  const text = minutes >= 60 ? `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m` : `${minutes}m`;
  return overdue ? `overdue by ${text}` : text;
}
