// The real tools behind the runbook's gates, from the other parts of mari: the migration's delta
// import and reconcile (issue 7), the USSD catalog and session engine (issue 6) for parity.
import { Importer } from '../import.js';
import { openLegacySource } from '../open.js';
import { reconcile } from '../reconcile.js';
import { msToHarareLocal } from '../harare.js';
import type { ProductModule } from '../../platform.js';
import type { LedgerHandle } from '../../store/open.js';
import type { GateResult } from './runbook.js';
import type { ServiceCatalog } from './parity.js';
import type { Service } from './services.js';

/** Imports what legacy wrote since the last pass (mari migrate --delta), through the running writer. */
export async function importDelta(handle: LedgerHandle, from: string | undefined): Promise<GateResult> {
  if (from === undefined) return { ok: false, summary: 'the legacy database is needed (from: mysql://…)' };
  const source = await openLegacySource({ from });
  try {
    const summary = await new Importer({ source, handle, delta: true }).run();
    return { ok: true, summary: `pass ${summary.pass}: ${summary.accounts_created} accounts, ${summary.transfers_booked} transfers in ${summary.run_seconds.toFixed(1)} s`, details: summary };
  } finally {
    await source.close();
  }
}

/** mari reconcile: every wallet and bucket against legacy; the gate wants no unexplained difference. */
export async function reconcileGate(handle: LedgerHandle, from: string | undefined): Promise<GateResult> {
  if (from === undefined) return { ok: false, summary: 'the legacy database is needed (from: mysql://…)' };
  const source = await openLegacySource({ from });
  try {
    await handle.writer.expireNow(); // lots due to expire are released before comparing
    // As of now: legacy buckets that expired since the import must match mari's lots, which expired too.
    const report = await reconcile({ source, handle, as_of_local: msToHarareLocal(Date.now()) });
    // A bucket that expired since the import is gone from legacy's side and empty on mari's:
    // reconcile lists it as extra in mari, but no balance differs. Reported apart, not a stop.
    const emptied = report.discrepancies.filter((d) => d.class === 'extra_in_mari' && /^0(\.0+)?$/.test(String(d.mari)));
    const unexplained = report.discrepancies.filter((d) => !emptied.includes(d));
    const ok = unexplained.length === 0 && report.totals.every((t) => /^-?0(\.0+)?$/.test(t.difference));
    const counts = new Map<string, number>();
    for (const d of unexplained) counts.set(d.class, (counts.get(d.class) ?? 0) + 1);
    const summary = ok
      ? `no unexplained difference (${report.known.length} known difference(s) and ${emptied.length} bucket(s) expired since the import reported apart)`
      : `unexplained differences: ${[...counts].map(([kind, n]) => `${n} ${kind}`).join(', ') || 'totals differ'}`;
    return { ok, summary, details: { counts: Object.fromEntries(counts), expired_since_import: emptied.length, totals: report.totals, discrepancies: unexplained.slice(0, 50), known: report.known.length } };
  } finally {
    await source.close();
  }
}

interface UssdLike extends ProductModule {
  catalog: {
    list(): { short_code: string; key: string; service: string; enabled: boolean; label: { en: string } }[];
    /** What customers can reach: enabled, under enabled submenus. */
    services(): { short_code: string; key: string; service: string }[];
  };
  engine: { answer(request: { sessionId: string; serviceCode: string; phoneNumber: string; text: string }): Promise<string> };
  unavailableServices(): string[];
}

/** The registered test subscriber smoke sessions run as (MARI_PARITY_MSISDN). */
export const PARITY_MSISDN_DEFAULT = '+263780000001';

/** The engine's answers when a service cannot be reached (channels' texts, English: the test line's language). */
const SESSION_FAILURES = ['not available now', 'not registered', 'session has ended', 'timed out', 'planned maintenance'];

export function parityMsisdn(): string {
  return process.env.MARI_PARITY_MSISDN || PARITY_MSISDN_DEFAULT;
}

/**
 * Parity against the USSD module: its catalog's entries, and a smoke session per service that
 * dials the short code and selects the service's key; the service answers when its first screen
 * comes back (CON) rather than an error or an "unavailable" end.
 */
export function ussdCatalog(modules: ReadonlyMap<string, ProductModule>, test_msisdn = parityMsisdn()): ServiceCatalog | undefined {
  const ussd = modules.get('ussd') as UssdLike | undefined;
  if (ussd === undefined || typeof ussd.catalog?.list !== 'function') return undefined;
  let session = 0;
  return {
    entries() {
      const reachable = new Set(ussd.catalog.services().map((e) => `${e.short_code}|${e.key}`));
      return ussd.catalog.list().map((e) => ({ service: e.service, menu_code: e.short_code, label: e.label.en, enabled: reachable.has(`${e.short_code}|${e.key}`) }));
    },
    async smoke(service) {
      if (ussd.unavailableServices().includes(service)) return { ok: false, reason: 'the service behind it is not loaded' };
      const entry = ussd.catalog.services().find((e) => e.service === service);
      if (entry === undefined) return { ok: false, reason: 'not in the catalog' };
      const reply = await ussd.engine.answer({ sessionId: `parity-${Date.now().toString(36)}-${session++}`, serviceCode: entry.short_code, phoneNumber: test_msisdn, text: entry.key.replace(/\./g, '*') });
      // Its first screen (CON), or a complete answer (an enquiry ends at once); not the engine's own ends.
      const failed = !reply.startsWith('CON') && SESSION_FAILURES.some((text) => reply.includes(text));
      return failed || !/^(CON|END) /.test(reply) ? { ok: false, reason: reply.slice(0, 120) } : { ok: true };
    },
  };
}

/** Which maintenance switch covers a USSD menu service (null: enquiries, always open). */
export function serviceOfUssd(service: string): Service | null {
  if (/BALANCE|STATEMENT/.test(service)) return null;
  if (/BUNDLE/.test(service)) return 'bundles';
  if (service === 'VOUCHER_RECHARGE') return 'vouchers';
  if (service === 'AIRTIME_PURCHASE') return 'airtime';
  if (service === 'MERCHANT_PAYMENT' || service === 'BILL_PAYMENT') return 'merchant';
  if (service === 'CASH_OUT' || service === 'CASH_IN') return 'cash';
  if (/BANK/.test(service)) return 'bank';
  return 'send_money';
}
