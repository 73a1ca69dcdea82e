// The mari command line as a person runs it: --help everywhere, serve prints its URL and serves,
// verify passes on a clean journal and fails (exit 1, naming the entry) on a tampered one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { freshDatabase, query } from '../helpers/postgres.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(root, 'bin/mari.js');
const KEY = 'mari_cli_test_operator_key_000000000';

function mari(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mari-cli-'));
}

test('every command answers --help with its usage and exits 0', () => {
  const top = mari(['--help']);
  assert.equal(top.status, 0);
  const commands = [...top.stdout.matchAll(/^ {2}([\w-]+) {2,}/gm)].map((m) => m[1]);
  assert.deepEqual(commands.sort(), ['keys', 'migrate', 'reconcile', 'serve', 'verify', 'maintenance', 'incident', 'cutover', 'notify', 'parity', 'plan-window', 'ussd', 'rehearse'].sort());
  for (const command of commands) {
    const help = mari([command, '--help']);
    assert.equal(help.status, 0, command);
    assert.match(help.stdout, new RegExp(`^mari ${command}`), command);
  }
});

test('an unknown command or option is a usage error (exit 2)', () => {
  assert.equal(mari(['frobnicate']).status, 2);
  assert.equal(mari(['verify', '--no-such-option']).status, 2);
  assert.equal(mari([]).status, 2);
});

test('verify on a directory without a ledger says so', () => {
  const result = mari(['verify', '--data-dir', path.join(tempDir(), 'missing')]);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /no ledger/);
});

interface Served {
  url: string;
  child: ReturnType<typeof spawn>;
  stop(signal?: NodeJS.Signals): Promise<unknown>;
}

/** Starts `mari serve` on a free port and resolves with its URL once it listens. */
async function startServe(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...args], {
    env: { ...process.env, MARI_API_KEYS: `${KEY}:operator`, MARI_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /mari listening on (http:\/\/\S+)/.exec(output);
        if (match) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${output}`)));
    });
    return { url, child, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function post(url: string, body: unknown) {
  return fetch(url, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function serveAndWrite(dataDir: string, where: string[] = []): Promise<void> {
  const served = await startServe(['--data-dir', dataDir, ...where]);
  const url = served.url;
  try {
    assert.equal((await post(`${url}/accounts`, { id: 'bank', asset: 'USD', code: 10 })).status, 201);
    assert.equal((await post(`${url}/accounts`, { id: 'wallet', asset: 'USD', code: 1, flags: ['debits_must_not_exceed_credits'] })).status, 201);
    assert.equal((await post(`${url}/transfers`, { id: 't1', debit_account_id: 'bank', credit_account_id: 'wallet', amount: '500', asset: 'USD', code: 1 })).status, 201);
    const account = await (await fetch(`${url}/accounts/wallet`, { headers: { authorization: `Bearer ${KEY}` } })).json() as { available: string };
    assert.equal(account.available, '500');
  } finally {
    await served.stop();
  }
}

test('serve prints its URL, serves the API, and stops cleanly; verify then passes', async () => {
  const dataDir = tempDir();
  await serveAndWrite(dataDir);
  const verify = mari(['verify', '--data-dir', dataDir, '--json']);
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  const report = JSON.parse(verify.stdout) as { ok: boolean; transfers: number; accounts: number };
  assert.equal(report.ok, true);
  assert.equal(report.accounts, 2);
  assert.equal(report.transfers, 1);
});

test('verify exits 1 and names the entry when a stored transfer was altered', async () => {
  const dataDir = tempDir();
  await serveAndWrite(dataDir);
  const db = new Database(path.join(dataDir, 'ledger.sqlite'));
  db.exec('DROP TRIGGER transfers_append_only_update');
  db.prepare("UPDATE transfers SET amount = 50000 WHERE id = 't1'").run();
  db.close();
  const verify = mari(['verify', '--data-dir', dataDir]);
  assert.equal(verify.status, 1);
  assert.match(verify.stdout, /FAILED \(chain\) at journal entry \d+/);
});

test('keys: create prints a key once, list never shows it, revoke removes it', () => {
  const dataDir = tempDir();
  const created = mari(['keys', 'create', '--role', 'auditor', '--label', 'audit team', '--data-dir', dataDir]);
  assert.equal(created.status, 0, created.stderr);
  const key = created.stdout.trim();
  assert.match(key, /^mari_/);
  const list = mari(['keys', 'list', '--json', '--data-dir', dataDir]);
  assert.equal(list.status, 0);
  assert.ok(!list.stdout.includes(key));
  const [entry] = JSON.parse(list.stdout) as { hash_prefix: string; role: string }[];
  assert.equal(entry.role, 'auditor');
  assert.equal(mari(['keys', 'create', '--role', 'root', '--data-dir', dataDir]).status, 2);
  assert.equal(mari(['keys', 'revoke', entry.hash_prefix, '--data-dir', dataDir]).status, 0);
  assert.deepEqual(JSON.parse(mari(['keys', 'list', '--json', '--data-dir', dataDir]).stdout), []);
});

test('PostgreSQL: serve --store runs on a fresh database, verify --store passes, and fails on an altered transfer', async (t) => {
  const url = await freshDatabase(t);
  const dataDir = tempDir();
  await serveAndWrite(dataDir, ['--store', url]);
  const verify = mari(['verify', '--store', url, '--json']);
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  const report = JSON.parse(verify.stdout) as { ok: boolean; transfers: number; accounts: number };
  assert.deepEqual([report.ok, report.accounts, report.transfers], [true, 2, 1]);
  const env = mari(['verify', '--json'], { MARI_STORE: url });
  assert.equal(env.status, 0, env.stdout + env.stderr);
  await query(url, "ALTER TABLE transfers DISABLE TRIGGER transfers_append_only; UPDATE transfers SET amount = 50000 WHERE id = 't1'");
  const altered = mari(['verify', '--store', url]);
  assert.equal(altered.status, 1);
  assert.match(altered.stdout, /FAILED \(chain\) at journal entry \d+/);
  const missing = mari(['verify', '--store', url.replace(/\/[^/]*$/, '/postgres')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no mari ledger/);
});

test('PostgreSQL: a second serve on the same database is a standby: reads, 503 not_writer naming the writer, takes over when the writer is killed', async (t) => {
  const url = await freshDatabase(t);
  const first = await startServe(['--data-dir', tempDir(), '--store', url]);
  t.after(() => first.stop('SIGKILL'));
  assert.equal((await post(`${first.url}/accounts`, { id: 'bank', asset: 'USD', code: 10 })).status, 201);
  assert.equal((await post(`${first.url}/accounts`, { id: 'wallet', asset: 'USD', code: 1 })).status, 201);
  assert.equal((await post(`${first.url}/transfers`, { id: 't1', debit_account_id: 'bank', credit_account_id: 'wallet', amount: '500', asset: 'USD', code: 1 })).status, 201);
  const second = await startServe(['--data-dir', tempDir(), '--store', url]);
  t.after(() => second.stop());
  const refused = await post(`${second.url}/transfers`, { id: 't2', debit_account_id: 'bank', credit_account_id: 'wallet', amount: '1', asset: 'USD', code: 1 });
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('retry-after'), '1');
  const body = await refused.json() as { code: string; message: string };
  assert.equal(body.code, 'not_writer');
  assert.ok(body.message.includes(first.url), body.message);
  const read = await fetch(`${second.url}/accounts/wallet`, { headers: { authorization: `Bearer ${KEY}` } });
  assert.equal(read.status, 200);
  assert.equal(((await read.json()) as { credits_posted: string }).credits_posted, '500');
  const paths = async (url: string) => Object.keys(((await (await fetch(`${url}/openapi.json`)).json()) as { paths: object }).paths).length;
  const standbyPaths = await paths(second.url);
  assert.ok(standbyPaths < await paths(first.url), 'a standby serves the ledger\'s routes, not the product modules\'');
  await first.stop('SIGKILL');
  const killedAt = Date.now();
  let status = 0;
  while (Date.now() - killedAt < 30_000) {
    // While it takes over, the standby reopens its API with the product modules: a refused connection means retry.
    status = await post(`${second.url}/transfers`, { id: 't2', debit_account_id: 'bank', credit_account_id: 'wallet', amount: '1', asset: 'USD', code: 1 })
      .then((response) => response.status, () => 0);
    if (status === 201) break;
    assert.ok(status === 503 || status === 0, `status ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(status, 201, 'the standby took over');
  // Now the writer, it serves the product modules' routes too (a standby has none: they keep state in memory).
  assert.ok(await paths(second.url) > standbyPaths);
  t.diagnostic(`the standby wrote ${Date.now() - killedAt} ms after the writer was killed`);
  await second.stop();
  const verify = mari(['verify', '--store', url, '--json']);
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.equal((JSON.parse(verify.stdout) as { transfers: number }).transfers, 2);
});
