// A legacy platform for migration tests: the generator's data loaded into a fresh database on
// the machine's real MariaDB (legacy_test_<random>, dropped after), plus the same data as CSV.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** ../shared/legacy beside the checkout (CI), or beside one of its parents (a worktree). */
export const LEGACY_DIR = process.env.MARI_LEGACY_DIR ?? findLegacyDir(ROOT);

function findLegacyDir(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(path.dirname(dir), 'shared/legacy');
    if (fs.existsSync(path.join(candidate, 'generate.mjs'))) return candidate;
    if (path.dirname(dir) === dir) return path.resolve(from, '../shared/legacy');
  }
}
export const MARIADB_URL = process.env.MARI_TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306';
/** The cutover moment the generator uses; buckets are judged expired at it. */
export const CUTOVER_LOCAL = '2026-11-20 21:00:00';

export interface Manifest {
  rows: Record<string, number>;
  wallet_totals: Record<string, Record<string, string>>;
  bucket_totals: Record<string, string>;
  vouchers_redeemable: number;
  anomalies: {
    msisdn_collisions: number[];
    duplicate_refs: string[];
    drifted_wallets: { wallet_id: number; drift: string }[];
    closed_with_balance: number[];
    negative_wallets: number[];
    expired_buckets: number;
  };
}

export interface LegacyDatabase {
  name: string;
  /** mysql://…/<name> */
  url: string;
  dir: string;
  csvDir: string;
  manifest: Manifest;
  /** Runs SQL on the database with the mariadb client; returns its tab-separated output. */
  sql(statements: string): string;
  drop(): Promise<void>;
}

function client(args: string[], input?: string): string {
  const result = spawnSync('mariadb', ['--batch', '--skip-column-names', ...args], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.status !== 0) throw new Error(`mariadb ${args.join(' ')}: ${result.stderr || result.error}`);
  return result.stdout;
}

function connectionArgs(): string[] {
  const url = new URL(MARIADB_URL);
  return ['-h', url.hostname, '-P', url.port || '3306', '-u', decodeURIComponent(url.username || 'root'), ...(url.password ? [`-p${decodeURIComponent(url.password)}`] : [])];
}

async function pipeFile(args: string[], file: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('mariadb', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`loading ${file}: ${stderr}`))));
    fs.createReadStream(file).pipe(child.stdin);
  });
}

export function generate(dir: string, subscribers: number, seed: number, format: 'sql' | 'csv'): void {
  const result = spawnSync(process.execPath, [path.join(LEGACY_DIR, 'generate.mjs'), '--subscribers', String(subscribers), '--seed', String(seed), '--format', format, '--out', dir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`generate.mjs: ${result.stderr}`);
}

export async function createLegacyDatabase(options: { subscribers?: number; seed?: number } = {}): Promise<LegacyDatabase> {
  const subscribers = options.subscribers ?? 2000;
  const seed = options.seed ?? 7;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-legacy-'));
  const csvDir = path.join(dir, 'csv');
  generate(dir, subscribers, seed, 'sql');
  generate(csvDir, subscribers, seed, 'csv');
  const name = `legacy_test_${crypto.randomBytes(5).toString('hex')}`;
  const args = connectionArgs();
  client([...args, '-e', `CREATE DATABASE ${name} CHARACTER SET utf8mb4`]);
  await pipeFile([...args, name], path.join(LEGACY_DIR, 'schema.sql'));
  await pipeFile([...args, name], path.join(dir, 'data.sql'));
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  return {
    name, url: `${MARIADB_URL}/${name}`, dir, csvDir, manifest,
    sql: (statements) => client([...args, name, '-e', statements]),
    async drop() {
      client([...args, '-e', `DROP DATABASE IF EXISTS ${name}`]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
