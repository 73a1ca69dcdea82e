// The migration as the cutover runbook's gates use it (issue 8): the delta import and reconcile,
// run inside the serving mari on its own ledger, each answering ok and a one-line summary.
import type { LedgerHandle } from '../store/open.js';
import { Importer } from './import.js';
import { openLegacySource } from './open.js';
import { reconcile } from './reconcile.js';

export interface GateAnswer {
  ok: boolean;
  summary: string;
  details?: unknown;
}

/** `mysql://…` is a database; anything else a directory of CSV files. */
function sourceOf(from: string) {
  return openLegacySource(/^(mysql|mariadb):\/\//.test(from) ? { from } : { from_csv: from });
}

export async function importDeltaGate(handle: LedgerHandle, from: string | undefined): Promise<GateAnswer> {
  if (from === undefined) return { ok: false, summary: 'the legacy database is needed (from: mysql://…)' };
  const source = await sourceOf(from);
  try {
    const summary = await new Importer({ source, handle, delta: true }).run();
    const c = summary.counters;
    return {
      ok: summary.phase === 'done' && c.replay_refused === 0 && c.ref_conflicts === 0,
      summary: `delta (pass ${summary.pass}): ${summary.rows_read.txn_log ?? 0} new transactions, ${summary.rows_read.subscriber ?? 0} new subscribers, ` +
        `${c.drifted_wallets} wallets brought level, ${summary.transfers_booked} transfers in ${summary.run_seconds.toFixed(1)} s` +
        (c.replay_refused + c.ref_conflicts > 0 ? `; ${c.replay_refused} refused and ${c.ref_conflicts} conflicting refs (see migration_findings)` : ''),
      details: summary,
    };
  } catch (error) {
    return { ok: false, summary: `the delta import failed: ${(error as Error).message}` };
  } finally {
    await source.close();
  }
}

export async function reconcileGate(handle: LedgerHandle, from: string | undefined): Promise<GateAnswer> {
  if (from === undefined) return { ok: false, summary: 'the legacy database is needed (from: mysql://…)' };
  const source = await sourceOf(from);
  try {
    const report = await reconcile({ source, handle });
    const counts = Object.entries(report.counts).map(([c, n]) => `${c} ${n}`).join(', ');
    return {
      ok: report.ok,
      summary: report.ok ? `no unexplained difference (${report.known.length} known, booked)` : `${report.discrepancies.length} unexplained: ${counts}`,
      details: { ...report, discrepancies: report.discrepancies.slice(0, 100) },
    };
  } finally {
    await source.close();
  }
}
