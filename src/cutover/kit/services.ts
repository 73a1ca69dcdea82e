// The services a customer sees, as the status page and maintenance switches name them, and which
// HTTP routes belong to each. Routes are matched by path so that every module's write routes are
// covered centrally, without each module having to declare its service.
import type { Language } from '../../products/parties.js';

export const SERVICES = [
  'send_money', 'cash', 'merchant', 'bank', 'airtime', 'bundles', 'vouchers', 'charging', 'ussd', 'sms', 'ledger_api',
] as const;
export type Service = (typeof SERVICES)[number];

export const SERVICE_LABELS: Readonly<Record<Service, Record<Language, string>>> = {
  send_money: { en: 'Send money', sn: 'Kutumira mari', nd: 'Ukuthumela imali' },
  cash: { en: 'Cash in and cash out at agents', sn: 'Kuisa nekubvisa mari kuma agent', nd: 'Ukufaka lokukhupha imali kuma agent' },
  merchant: { en: 'Pay merchants', sn: 'Kubhadhara muzvitoro', nd: 'Ukubhadala ezitolo' },
  bank: { en: 'Bank to wallet and back', sn: 'Kubva kubhangi nekudzokera', nd: 'Ukusuka ebhanga lokubuyela' },
  airtime: { en: 'Buy airtime', sn: 'Kutenga airtime', nd: 'Ukuthenga airtime' },
  bundles: { en: 'Data, voice and SMS bundles', sn: 'Mabundles e data, voice ne SMS', nd: 'Amabundles e data, voice le SMS' },
  vouchers: { en: 'Recharge with a voucher', sn: 'Kuisa airtime nekadhi', nd: 'Ukufaka airtime ngekhadi' },
  charging: { en: 'Calls, data and SMS usage', sn: 'Kufona, data ne SMS', nd: 'Ukufona, idata le SMS' },
  ussd: { en: 'USSD menus (*151#, *405#, *171#)', sn: 'USSD (*151#, *405#, *171#)', nd: 'USSD (*151#, *405#, *171#)' },
  sms: { en: 'SMS notifications', sn: 'Mameseji e SMS', nd: 'Imilayezo ye SMS' },
  ledger_api: { en: 'Partner API', sn: 'Partner API', nd: 'Partner API' },
};

export function isService(name: string): name is Service {
  return (SERVICES as readonly string[]).includes(name);
}

/**
 * Paths that belong to a service, first match wins. Operations routes (maintenance, incidents,
 * the runbook, notices, keys) are no service: they must keep working during maintenance.
 */
const ROUTE_SERVICES: readonly (readonly [RegExp, Service | null])[] = [
  [/^\/(maintenance|incidents|cutover|notices|status|watch|parity|keys|openapi)/, null],
  // The operator's USSD catalog: fixing a menu is part of the cutover, done while customers are kept out.
  [/^\/ussd\/catalog/, null],
  // Balance enquiries and statements (PIN-checked, so they write a lockout counter) stay open,
  // and so do the migration's imports: the delta is imported while customers are kept out.
  [/(balance|statement)s?$/, null],
  [/\/import$/, null],
  [/^\/money\/pay/, 'merchant'],
  [/voucher/, 'vouchers'],
  [/bundle/, 'bundles'],
  [/(charging|usage|reservation|session)/, 'charging'],
  [/airtime/, 'airtime'],
  [/(cash-?in|cash-?out|cash|agent)/, 'cash'],
  [/merchant/, 'merchant'],
  [/bank/, 'bank'],
  [/^\/ussd/, 'ussd'],
  [/^\/sms/, 'sms'],
  [/^\/(accounts|transfers)/, 'ledger_api'],
  [/(send|p2p|wallet|money|transfer)/, 'send_money'],
];

/** The service a route's path belongs to, or null for operations routes and unknown paths. */
export function serviceOfPath(url: string): Service | null {
  let service = SERVICE_OF_PATH.get(url);
  if (service === undefined) {
    service = ROUTE_SERVICES.find(([pattern]) => pattern.test(url))?.[1] ?? null;
    // Every write asks with its route's path: the patterns run once per route, not per request.
    if (SERVICE_OF_PATH.size < SERVICE_OF_PATH_MAX) SERVICE_OF_PATH.set(url, service);
  }
  return service;
}

/** Paths remembered by serviceOfPath: route templates, a few hundred; bounded all the same. */
const SERVICE_OF_PATH_MAX = 4_096;
const SERVICE_OF_PATH = new Map<string, Service | null>();
