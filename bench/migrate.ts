// The migration rehearsal at real size: N subscribers (1,000,000 by default) from the legacy
// generator loaded in the machine's MariaDB, imported into a fresh data directory (full history),
// reconciled, then 10,000 new legacy transactions brought over by a delta.
// The loaded rehearsal database is kept between runs (legacy_bench_<N>, with the generator's
// manifest in a side table); its row counts are checked against the manifest instead of
// loading it again. Options: --subscribers N, --delta-txns N.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Importer, IMPORT_OPEN } from '../src/cutover/import.js';
import { reconcile } from '../src/cutover/reconcile.js';
import { openMysqlSource } from '../src/cutover/source.js';
import { openLedger } from '../src/store/open.js';
import { option, round, tempDir } from './util.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MARIADB = process.env.MARI_BENCH_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306';
const CUTOVER_LOCAL = '2026-11-20 21:00:00';
const DELTA_REF = 'BENCHDELTA.';
const TABLES = ['subscriber', 'wallet', 'wallet_snapshot', 'agent', 'merchant', 'bank', 'txn_log', 'prepaid_bucket', 'voucher', 'service_menu'];

function legacyDir(): string {
  for (let dir = ROOT; ; dir = path.dirname(dir)) {
    const candidate = path.join(path.dirname(dir), 'shared/legacy');
    if (fs.existsSync(path.join(candidate, 'generate.mjs'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error('../shared/legacy not found beside the checkout');
  }
}

function sql(database: string | null, statements: string): string {
  const result = spawnSync('mariadb', ['--batch', '--skip-column-names', ...(database ? [database] : [])], { input: statements, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (result.status !== 0) throw new Error(`mariadb: ${result.stderr ?? result.error}`);
  return result.stdout;
}

async function load(database: string, file: string, prefix = ''): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('mariadb', [database], { stdio: ['pipe', 'inherit', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`loading ${file} failed (${code})`))));
    if (prefix) child.stdin.write(prefix);
    const stream = fs.createReadStream(file);
    stream.on('end', () => child.stdin.end('\nCOMMIT;\n'));
    stream.pipe(child.stdin, { end: false });
  });
}

/** The rehearsal database, loaded once and kept: its row counts must equal its manifest's. */
export async function ensureLegacy(subscribers: number): Promise<{ database: string; manifest: { rows: Record<string, number> } }> {
  const database = `legacy_bench_${subscribers >= 1_000_000 && subscribers % 1_000_000 === 0 ? `${subscribers / 1_000_000}m` : subscribers}`;
  const exists = sql(null, `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '${database}' AND table_name = 'bench_manifest'`).trim() === '1';
  if (exists) {
    removeDelta(database);
    const manifest = JSON.parse(sql(database, 'SELECT manifest FROM bench_manifest').trim().replace(/\\n/g, '\n'));
    const counts = TABLES.map((t) => Number(sql(database, `SELECT COUNT(*) FROM ${t}`).trim()));
    if (TABLES.every((t, i) => counts[i] === manifest.rows[t])) {
      console.log(`legacy: ${database} kept from an earlier run, row counts match its manifest`);
      return { database, manifest };
    }
    console.log(`legacy: ${database} does not match its manifest; loading it again`);
  }
  const dir = tempDir('mari-bench-legacy-');
  try {
    const started = performance.now();
    const generated = spawnSync(process.execPath, [path.join(legacyDir(), 'generate.mjs'), '--subscribers', String(subscribers), '--seed', '7', '--out', dir], { stdio: 'inherit' });
    if (generated.status !== 0) throw new Error('generate.mjs failed');
    sql(null, `DROP DATABASE IF EXISTS ${database}; CREATE DATABASE ${database} CHARACTER SET utf8mb4`);
    await load(database, path.join(legacyDir(), 'schema.sql'));
    await load(database, path.join(dir, 'data.sql'), 'SET autocommit=0; SET unique_checks=0;\n');
    const manifest = fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8');
    sql(database, `CREATE TABLE bench_manifest (manifest LONGTEXT NOT NULL); INSERT INTO bench_manifest VALUES ('${manifest.replace(/\\/g, '\\\\').replace(/'/g, "''")}')`);
    console.log(`legacy: generated and loaded ${database} in ${round((performance.now() - started) / 1000, 1)} s`);
    return { database, manifest: JSON.parse(manifest) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Undoes an earlier run's delta transactions (rows and the balances they moved), so the rehearsal stays as generated. */
export function removeDelta(database: string): void {
  sql(database, `
    UPDATE wallet w JOIN (SELECT debit_wallet AS id, SUM(amount + fee) AS v FROM txn_log WHERE ref LIKE '${DELTA_REF}%' AND status = 'SUCCESS' GROUP BY debit_wallet) d ON d.id = w.wallet_id SET w.balance = w.balance + d.v;
    UPDATE wallet w JOIN (SELECT credit_wallet AS id, SUM(amount) AS v FROM txn_log WHERE ref LIKE '${DELTA_REF}%' AND status = 'SUCCESS' GROUP BY credit_wallet) d ON d.id = w.wallet_id SET w.balance = w.balance - d.v;
    UPDATE wallet w JOIN (SELECT currency, SUM(fee) AS v FROM txn_log WHERE ref LIKE '${DELTA_REF}%' AND status = 'SUCCESS' GROUP BY currency) d
      ON w.owner_type = 'SYSTEM' AND w.owner_ref = 'FEES' AND w.currency = d.currency SET w.balance = w.balance - d.v;
    DELETE FROM txn_log WHERE ref LIKE '${DELTA_REF}%';`);
}

/** `count` P2P payments made in legacy after the import, as the legacy platform makes them (row and balances). */
export function addDelta(database: string, count: number): void {
  const payers = sql(database, `SELECT wallet_id FROM wallet WHERE owner_type = 'SUBSCRIBER' AND currency = 'USD' AND balance >= 100 ORDER BY wallet_id LIMIT ${count + 1}`).trim().split('\n');
  const [last] = sql(database, 'SELECT MAX(txn_id) FROM txn_log').trim().split('\t');
  const rows: string[] = [];
  for (let i = 0; i < count; i++) {
    const from = payers[i % payers.length];
    const to = payers[(i + 1) % payers.length];
    rows.push(`(${Number(last) + i + 1}, '${DELTA_REF}${i}', 'P2P', ${from}, ${to}, 1.00, 0.05, 'USD', 'SUCCESS', 'USSD', NULL, '2026-11-20 21:30:00')`);
  }
  for (let start = 0; start < rows.length; start += 2000) sql(database, `INSERT INTO txn_log VALUES ${rows.slice(start, start + 2000).join(',')}`);
  sql(database, `
    UPDATE wallet w JOIN (SELECT debit_wallet AS id, SUM(amount + fee) AS v FROM txn_log WHERE ref LIKE '${DELTA_REF}%' GROUP BY debit_wallet) d ON d.id = w.wallet_id SET w.balance = w.balance - d.v;
    UPDATE wallet w JOIN (SELECT credit_wallet AS id, SUM(amount) AS v FROM txn_log WHERE ref LIKE '${DELTA_REF}%' GROUP BY credit_wallet) d ON d.id = w.wallet_id SET w.balance = w.balance + d.v;
    UPDATE wallet SET balance = balance + ${(count * 0.05).toFixed(2)} WHERE owner_type = 'SYSTEM' AND owner_ref = 'FEES' AND currency = 'USD';`);
}

export async function run(args: string[]): Promise<void> {
  const subscribers = option(args, 'subscribers', 1_000_000);
  const deltaTxns = option(args, 'delta-txns', 10_000);
  const { database, manifest } = await ensureLegacy(subscribers);
  const rows = Object.values(manifest.rows).reduce((a, b) => a + b, 0);
  const dataDir = tempDir('mari-bench-migrate-');
  const source = await openMysqlSource(`${MARIADB}/${database}`);
  const handle = await openLedger({ dataDir, ...IMPORT_OPEN });
  try {
    let started = performance.now();
    const summary = await new Importer({ source, handle, as_of_local: CUTOVER_LOCAL }).run();
    const import_s = (performance.now() - started) / 1000;
    console.log(`import: ${rows.toLocaleString('en')} legacy rows in ${round(import_s, 1)} s (${Math.round(rows / import_s).toLocaleString('en')} rows/s); ` +
      `${summary.accounts_created.toLocaleString('en')} accounts, ${summary.transfers_booked.toLocaleString('en')} transfers, ${summary.documents_written.toLocaleString('en')} documents; phases ${JSON.stringify(summary.phase_seconds)}; rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`);

    started = performance.now();
    const report = await reconcile({ source, handle });
    const reconcile_s = (performance.now() - started) / 1000;
    const compared = report.compared.wallet.legacy_rows + report.compared.prepaid_bucket.legacy_rows;
    console.log(`reconcile: ${compared.toLocaleString('en')} wallets and buckets in ${round(reconcile_s, 1)} s (${Math.round(compared / reconcile_s).toLocaleString('en')} rows/s), ${report.ok ? 'nothing unexplained' : `${report.discrepancies.length} UNEXPLAINED`}`);
    if (!report.ok) throw new Error('reconcile found unexplained differences after a clean import');

    addDelta(database, deltaTxns);
    started = performance.now();
    const delta = await new Importer({ source, handle, delta: true, as_of_local: CUTOVER_LOCAL }).run();
    const delta_s = (performance.now() - started) / 1000;
    console.log(`delta: ${delta.rows_read.txn_log ?? 0} new transactions in ${round(delta_s, 2)} s (${Math.round((delta.rows_read.txn_log ?? 0) / delta_s).toLocaleString('en')} rows/s); phases ${JSON.stringify(delta.phase_seconds)}`);
    removeDelta(database);
    console.log(JSON.stringify({ bench: 'migrate', subscribers, import_s: round(import_s, 1), reconcile_s: round(reconcile_s, 1), delta_s: round(delta_s, 2) }));
  } finally {
    await source.close();
    await handle.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

