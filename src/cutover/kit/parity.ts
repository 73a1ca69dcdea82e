// Service parity: every service customers could reach on the legacy menus (`service_menu`,
// enabled) must exist and be enabled in mari's USSD catalog, and answer a smoke transaction on a
// test account. What is missing is listed by short code and label: "airtime recharge missing
// from the menu" is found here, before the switch, not by customers after it.
import type { ProductModule } from '../../platform.js';
import type { LegacyDb } from './legacy_db.js';

export interface LegacyMenuItem {
  menu_code: string;
  item_key: string;
  label: string;
  service: string;
}

/** What the parity check needs of mari's USSD catalog (the channels module provides it). */
export interface ServiceCatalog {
  /** Every service in the catalog, by the legacy service name it carries, and whether it is on. */
  entries(): { service: string; menu_code: string; label: string; enabled: boolean }[];
  /** Transacts the service end to end on the catalog's own test accounts (small, visible, given back); ok or why not. */
  smoke(service: string): Promise<{ ok: boolean; reason?: string }>;
}

export interface ParityReport {
  ok: boolean;
  legacy_enabled: number;
  present: number;
  missing: LegacyMenuItem[];
  disabled: LegacyMenuItem[];
  smoke_failed: (LegacyMenuItem & { reason: string })[];
}

export async function legacyMenu(db: LegacyDb): Promise<LegacyMenuItem[]> {
  return db.query<LegacyMenuItem>('SELECT menu_code, item_key, label, service FROM service_menu WHERE enabled = 1 ORDER BY menu_code, item_key');
}

export async function checkParity(options: { legacy: readonly LegacyMenuItem[]; catalog: ServiceCatalog }): Promise<ParityReport> {
  const entries = options.catalog.entries();
  const report: ParityReport = { ok: true, legacy_enabled: options.legacy.length, present: 0, missing: [], disabled: [], smoke_failed: [] };
  const smoked = new Map<string, { ok: boolean; reason?: string }>();
  for (const item of options.legacy) {
    const found = entries.filter((entry) => entry.service === item.service);
    if (found.length === 0) {
      report.missing.push(item);
      continue;
    }
    if (!found.some((entry) => entry.enabled)) {
      report.disabled.push(item);
      continue;
    }
    if (!smoked.has(item.service)) {
      let outcome: { ok: boolean; reason?: string };
      try {
        outcome = await options.catalog.smoke(item.service);
      } catch (error) {
        outcome = { ok: false, reason: (error as Error).message };
      }
      smoked.set(item.service, outcome);
    }
    const outcome = smoked.get(item.service)!;
    if (!outcome.ok) report.smoke_failed.push({ ...item, reason: outcome.reason ?? 'failed' });
    else report.present++;
  }
  report.ok = report.missing.length === 0 && report.disabled.length === 0 && report.smoke_failed.length === 0;
  return report;
}

/** A module that offers a catalog (duck-typed, so the channels module need not import this file). */
export function findCatalog(modules: ReadonlyMap<string, ProductModule>): ServiceCatalog | undefined {
  for (const module of modules.values()) {
    const candidate = (module as { catalog?: Partial<ServiceCatalog> }).catalog;
    if (candidate && typeof candidate.entries === 'function' && typeof candidate.smoke === 'function') return candidate as ServiceCatalog;
  }
  return undefined;
}

export function paritySummary(report: ParityReport): string {
  if (report.ok) return `all ${report.legacy_enabled} enabled legacy services exist, are enabled and answer`;
  const parts = [
    ...report.missing.map((m) => `missing ${m.menu_code} ${m.item_key} ${m.label} (${m.service})`),
    ...report.disabled.map((m) => `disabled ${m.menu_code} ${m.item_key} ${m.label} (${m.service})`),
    ...report.smoke_failed.map((m) => `no answer ${m.menu_code} ${m.item_key} ${m.label}: ${m.reason}`),
  ];
  return parts.join('; ');
}
