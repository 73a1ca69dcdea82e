// Services, their unit assets, the airtime tariff, and time-of-day windows. Everything here is
// pure: no ledger, no store.
import { RequestError } from '../../errors/registry.js';
import type { Currency } from '../accounts.js';
import { HARARE_OFFSET_MS } from '../../time.js';

export const SERVICES = ['data', 'voice', 'sms'] as const;
export type Service = (typeof SERVICES)[number];

/** The ledger asset a service's units are counted in (bundle lots hold these). */
export const SERVICE_ASSET: Readonly<Record<Service, string>> = Object.freeze({ data: 'DATA_KB', voice: 'VOICE_S', sms: 'SMS' });

/** How units are named to a customer. */
export const SERVICE_UNIT: Readonly<Record<Service, string>> = Object.freeze({ data: 'KB', voice: 'seconds', sms: 'SMS' });

/**
 * Airtime charged per unit when no bundle covers a service, in the airtime asset's smallest unit
 * (scale 4: 10000 = 1.00). USD: voice 0.0020/s (0.12 a minute), data 0.0001/KB (about 0.10 a MB),
 * SMS 0.03. ZWG at about 25 ZWG to the dollar.
 */
export type Tariff = Readonly<Record<Currency, Readonly<Record<Service, bigint>>>>;

export const DEFAULT_TARIFF: Tariff = Object.freeze({
  USD: Object.freeze({ voice: 20n, data: 1n, sms: 300n }),
  ZWG: Object.freeze({ voice: 500n, data: 25n, sms: 7_500n }),
});

/** Units granted when a request does not say, and the most one request may reserve. */
export const DEFAULT_QUOTA: Readonly<Record<Service, bigint>> = Object.freeze({ data: 1_024n, voice: 60n, sms: 1n });
export const QUOTA_MAX: Readonly<Record<Service, bigint>> = Object.freeze({ data: 1_048_576n, voice: 3_600n, sms: 10n });

const HARARE_OFFSET_NS = BigInt(HARARE_OFFSET_MS) * 1_000_000n;
const NS_PER_S = 1_000_000_000n;
const DAY_S = 86_400n;

/** A daily window in Harare time, minutes after midnight; `to` before `from` wraps past midnight (22:00–06:00). */
export interface Window {
  from: string;
  to: string;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

export function parseWindow(window: Window): { from_s: bigint; to_s: bigint } | undefined {
  const from = HHMM.exec(window.from);
  const to = HHMM.exec(window.to);
  if (!from || !to || window.from === window.to) return undefined;
  return { from_s: BigInt(Number(from[1]) * 3600 + Number(from[2]) * 60), to_s: BigInt(Number(to[1]) * 3600 + Number(to[2]) * 60) };
}

/**
 * Seconds from `now` to the end of the window if `now` is inside it, else 0. A reservation from a
 * window bundle lasts at most this long, so night units are never used after the night.
 */
export function windowSecondsLeft(window: Window, now_ns: bigint): bigint {
  const parsed = parseWindow(window);
  if (!parsed) return 0n;
  const local_s = ((now_ns + HARARE_OFFSET_NS) / NS_PER_S) % DAY_S;
  const { from_s, to_s } = parsed;
  if (from_s < to_s) return local_s >= from_s && local_s < to_s ? to_s - local_s : 0n;
  if (local_s >= from_s) return DAY_S - local_s + to_s;
  return local_s < to_s ? to_s - local_s : 0n;
}

export function requireService(value: string): Service {
  if (!(SERVICES as readonly string[]).includes(value)) throw new RequestError('invalid_request', { field: 'service', value });
  return value as Service;
}
