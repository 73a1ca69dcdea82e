// The reconcile gate of the runbook, over the migration's reconcile (issue 7), judged as of now.
import { openLegacySource } from '../open.js';
import { parseDecimal } from '../decimal.js';
import { overdraftId } from '../formats.js';
import { reconcile, type Discrepancy } from '../reconcile.js';
import { msToHarareLocal } from '../../time.js';
import type { LedgerHandle } from '../../store/open.js';
import type { GateResult } from './runbook.js';
import type { Monitor } from './watch.js';

/** mari reconcile: every wallet and bucket against legacy; the gate wants no unexplained difference. */
export async function reconcileGate(handle: LedgerHandle, from: string | undefined): Promise<GateResult> {
  if (from === undefined) return { ok: false, summary: 'the legacy database is needed (from: mysql://…)' };
  return reconcileNow(handle, from);
}

/**
 * Reconcile against legacy as of now. After the switch (`switched_at`, a ledger timestamp) mari
 * takes the traffic and legacy stands still, so a wallet or bucket that differs is explained when
 * mari's balance at the switch still equals legacy's: mari moved it since. One that does not was
 * changed on legacy after the switch (a job or a channel still writing there) or in mari's past.
 */
export async function reconcileNow(handle: LedgerHandle, from: string, switched_at?: bigint): Promise<GateResult> {
  const source = await openLegacySource({ from });
  try {
    await handle.writer.expireNow(); // lots due to expire are released before comparing
    // As of now: legacy buckets that expired since the import must match mari's lots, which expired too.
    const report = await reconcile({ source, handle, as_of_local: msToHarareLocal(Date.now()) });
    // A bucket that expired since the import is gone from legacy's side and empty on mari's:
    // reconcile lists it as extra in mari, but no balance differs. Reported apart, not a stop.
    const emptied = report.discrepancies.filter((d) => d.class === 'extra_in_mari' && /^0(\.0+)?$/.test(String(d.mari)));
    const rest = report.discrepancies.filter((d) => !emptied.includes(d));
    const since: Discrepancy[] = [];
    if (switched_at !== undefined) for (const d of rest) if (await sameAtSwitch(handle, d, switched_at)) since.push(d);
    const unexplained = rest.filter((d) => !since.includes(d));
    // Totals move with mari's own traffic after the switch; before it they must agree.
    const ok = unexplained.length === 0 && (switched_at !== undefined || report.totals.every((t) => /^-?0(\.0+)?$/.test(t.difference)));
    const counts = new Map<string, number>();
    for (const d of unexplained) counts.set(d.class, (counts.get(d.class) ?? 0) + 1);
    const apart = `${report.known.length} known difference(s), ${emptied.length} bucket(s) expired since the import` +
      (switched_at === undefined ? '' : ` and ${since.length} moved by mari since the switch`);
    const summary = ok ? `no unexplained difference (${apart} reported apart)` : `unexplained differences: ${[...counts].map(([kind, n]) => `${n} ${kind}`).join(', ') || 'totals differ'}`;
    return {
      ok, summary,
      details: { counts: Object.fromEntries(counts), expired_since_import: emptied.length, moved_since_switch: since.length, totals: report.totals, discrepancies: unexplained.slice(0, 50), known: report.known.length },
    };
  } finally {
    await source.close();
  }
}

/** Whether mari's value of a differing wallet or bucket at the switch equals legacy's now. */
async function sameAtSwitch(handle: LedgerHandle, d: Discrepancy, switched_at: bigint): Promise<boolean> {
  if (d.legacy === null || d.account_id === null || (d.class !== 'inflated' && d.class !== 'deflated' && d.class !== 'wiped')) return false;
  const signedAt = async (id: string) => {
    const account = handle.ledger.accounts.get(id);
    if (!account) return 0n;
    const b = await handle.store.balanceAt(account, switched_at);
    return b.credits_posted - b.debits_posted - b.debits_pending;
  };
  if (d.table === 'wallet') return parseDecimal(d.legacy, 2) === (await signedAt(d.account_id)) + (await signedAt(overdraftId(d.account_id)));
  const units = await signedAt(d.account_id);
  return parseDecimal(d.legacy, 4) === (d.owner === 'AIRTIME' ? units : units * 10_000n);
}

/** The watch's reconcile monitor, plugged in when mari knows the legacy database (MARI_LEGACY_URL). */
export function reconcileMonitor(handle: LedgerHandle, options: { from: string; switchedAt: () => bigint | undefined }): Monitor {
  return {
    name: 'reconcile_legacy', services: ['send_money', 'cash', 'merchant', 'bank', 'airtime', 'bundles'],
    check: () => reconcileNow(handle, options.from, options.switchedAt()),
  };
}
