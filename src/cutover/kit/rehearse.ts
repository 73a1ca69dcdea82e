// mari rehearse: the whole migration against a copy of legacy (or a generated set of the same
// size) into a scratch data directory, each step timed, so the announced window is measured,
// not guessed. The report feeds `mari plan-window --rehearsal`.
import { Importer, IMPORT_OPEN } from '../import.js';
import { openLegacySource } from '../open.js';
import { reconcile } from '../reconcile.js';
import { msToHarareLocal } from '../../time.js';
import { openLedger } from '../../store/open.js';
import { redactUrl } from './legacy_db.js';

export interface RehearsalStep {
  step: string;
  seconds: number;
  detail?: string;
}

export interface RehearsalReport {
  source: string;
  started_at: string;
  steps: RehearsalStep[];
  total_seconds: number;
  reconcile_ok: boolean;
  verify_ok: boolean;
}

async function timed<T>(steps: RehearsalStep[], step: string, work: () => Promise<T>, detail?: (result: T) => string): Promise<T> {
  const started = performance.now();
  const result = await work();
  steps.push({ step, seconds: (performance.now() - started) / 1000, ...(detail ? { detail: detail(result) } : {}) });
  return result;
}

export async function rehearse(options: { from: string; data_dir: string; onStep?: (step: RehearsalStep) => void }): Promise<RehearsalReport> {
  const steps: RehearsalStep[] = [];
  const started_at = new Date().toISOString();
  const source = await openLegacySource({ from: options.from });
  const handle = await openLedger({ dataDir: options.data_dir, ...IMPORT_OPEN });
  try {
    const as_of_local = msToHarareLocal(Date.now());
    const bulk = await timed(steps, 'import', () => new Importer({ source, handle, as_of_local }).run(),
      (s) => `${Object.values(s.rows_read).reduce((a, n) => a + n, 0)} rows, ${s.transfers_booked} transfers`);
    // The import's own phases, for where the time goes (their sum is the import step).
    const phases = Object.entries(bulk.phase_seconds).map(([phase, seconds]) => ({ step: `  import: ${phase}`, seconds }));
    const delta = await timed(steps, 'delta import', () => new Importer({ source, handle, delta: true, as_of_local }).run(), (s) => `${s.transfers_booked} transfers`);
    void delta;
    const report = await timed(steps, 'reconcile', async () => {
      await handle.writer.expireNow();
      return reconcile({ source, handle, as_of_local });
    }, (r) => (r.ok ? 'no unexplained difference' : `${r.discrepancies.length} discrepancies`));
    const verify = await timed(steps, 'verify', async () => {
      await handle.writer.settled();
      return handle.store.verify();
    }, (v) => (v.ok ? 'ok' : `failed: ${v.failure?.check}`));
    for (const step of steps) options.onStep?.(step);
    const total_seconds = steps.reduce((a, s) => a + s.seconds, 0);
    return { source: redactUrl(options.from), started_at, steps: [...steps, ...phases], total_seconds, reconcile_ok: report.ok, verify_ok: verify.ok };
  } finally {
    await handle.close();
    await source.close();
  }
}
