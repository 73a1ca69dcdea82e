// The reconcile gate of the runbook, over the migration's reconcile (issue 7), judged as of now.
import { openLegacySource } from '../open.js';
import { reconcile } from '../reconcile.js';
import { msToHarareLocal } from '../../time.js';
import type { LedgerHandle } from '../../store/open.js';
import type { GateResult } from './runbook.js';

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
