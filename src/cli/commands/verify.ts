// mari verify: the hash chain, every balance recomputed from the journal, bounds, conservation.
// Exits 0 when all hold, 1 naming the first broken entry, record or account.
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../config.js';
import { formatAmount } from '../../ledger/amount.js';
import type { VerifyReport } from '../../ledger/verify.js';
import { PostgresStore } from '../../store/postgres.js';
import { SqliteStore } from '../../store/sqlite.js';
import { redact } from './serve.js';
import { parse, UsageError, type Command } from '../args.js';
import { Progress } from '../progress.js';

export const verify: Command = {
  name: 'verify',
  summary: 'check the journal\'s hash chain, recompute every balance, check conservation',
  usage: `mari verify [--data-dir DIR | --store postgres://…] [--json]

Checks, from the journal alone: each entry commits to the previous one's hash and to its
records; every balance recomputed from the records respects its account's bounds at every
step; each asset sums to zero; the stored balances equal the recomputed ones.
Exits 0 when everything holds, 1 naming the first broken entry, record or account.
Safe to run while mari serves (it reads a consistent snapshot).

  --data-dir DIR   the data directory (default: MARI_DATA_DIR or ./data)
  --store URL      verify the ledger in this PostgreSQL database (default: MARI_STORE)
  --json           print the report as one JSON object`,
  async run(argv) {
    const { values } = parse(argv, { 'data-dir': { type: 'string' }, store: { type: 'string' }, json: { type: 'boolean' } });
    const config = loadConfig(process.env, {
      ...(values['data-dir'] ? { data_dir: values['data-dir'] } : {}),
      ...(values.store ? { store: values.store } : {}),
    });
    let store: SqliteStore | PostgresStore;
    if (config.store) {
      store = await PostgresStore.open({ url: config.store }).catch((error: Error) => {
        throw new UsageError(`cannot verify ${redact(config.store!)}: ${error.message}`);
      });
    } else {
      if (!fs.existsSync(path.join(config.data_dir, 'ledger.sqlite'))) throw new UsageError(`no ledger in ${config.data_dir}`);
      store = new SqliteStore({ dataDir: config.data_dir, readonly: true });
    }
    const started = performance.now();
    let report: VerifyReport;
    const scales = new Map(store.assets().map((a) => [a.code, a.scale]));
    try {
      let progress: Progress | undefined;
      report = await store.verify((entries, total) => {
        progress ??= new Progress('verifying', total, { enabled: !values.json && Boolean(process.stderr.isTTY) });
        progress.update(entries);
      });
      progress?.done();
    } finally {
      await store.close();
    }
    const seconds = (performance.now() - started) / 1000;
    if (values.json) {
      console.log(JSON.stringify({ ...report, seconds }, (_key, value) => (typeof value === 'bigint' ? value.toString() : value)));
    } else {
      printReport(report, seconds, scales);
    }
    return report.ok ? 0 : 1;
  },
};

function printReport(report: VerifyReport, seconds: number, scales: Map<string, number>): void {
  console.log(`${report.entries} journal entries, ${report.accounts} accounts, ${report.transfers} transfers checked in ${seconds.toFixed(2)} s`);
  for (const total of report.assets) {
    const scale = scales.get(total.asset) ?? 0;
    console.log(`  ${total.asset.padEnd(12)} posted ${formatAmount(total.debits_posted, scale)} debits = ${formatAmount(total.credits_posted, scale)} credits; ` +
      `pending ${formatAmount(total.debits_pending, scale)} = ${formatAmount(total.credits_pending, scale)}`);
  }
  if (report.ok) {
    console.log('OK: the chain verifies, every balance recomputes, every asset sums to zero');
    return;
  }
  const f = report.failure!;
  const where = [f.entry_seq !== undefined ? `journal entry ${f.entry_seq}` : '', f.record_id ? `record ${f.record_id}` : '', f.account_id ? `account ${f.account_id}` : '']
    .filter(Boolean).join(', ');
  console.log(`FAILED (${f.check})${where ? ` at ${where}` : ''}: ${f.message}`);
}
