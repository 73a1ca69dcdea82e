// The real tools behind the runbook's gates, from the other parts of mari: the migration's delta
// import and reconcile (issue 7), the USSD catalog and session engine (issue 6) for parity.
import { Importer } from '../import.js';
import { openLegacySource } from '../open.js';
import { reconcile } from '../reconcile.js';
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
    const report = await reconcile({ source, handle });
    const counts = Object.entries(report.counts).map(([kind, n]) => `${n} ${kind}`).join(', ');
    const summary = report.ok
      ? `no unexplained difference (${report.known.length} known difference(s) reported apart)`
      : `unexplained differences: ${counts || `${report.discrepancies.length}`}`;
    return { ok: report.ok, summary, details: { counts: report.counts, totals: report.totals, discrepancies: report.discrepancies.slice(0, 50), known: report.known.length } };
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

/** A test line for smoke sessions: a number no subscriber holds in the generated or real ranges. */
const SMOKE_MSISDN = '+263780000001';

/**
 * Parity against the USSD module: its catalog's entries, and a smoke session per service that
 * dials the short code and selects the service's key; the service answers when its first screen
 * comes back (CON) rather than an error or an "unavailable" end.
 */
export function ussdCatalog(modules: ReadonlyMap<string, ProductModule>): ServiceCatalog | undefined {
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
      const reply = await ussd.engine.answer({ sessionId: `parity-${Date.now().toString(36)}-${session++}`, serviceCode: entry.short_code, phoneNumber: SMOKE_MSISDN, text: entry.key.replace(/\./g, '*') });
      return reply.startsWith('CON') ? { ok: true } : { ok: false, reason: reply.slice(0, 120) };
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
