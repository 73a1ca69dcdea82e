// An import killed midway (SIGKILL, twice, in different phases) and run again continues from its
// last checkpoint and ends with exactly the ledger of an uninterrupted import: the same balances,
// the same number of transfers, nothing doubled, and the journal verifies.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Importer } from '../../src/cutover/import.js';
import { openMysqlSource } from '../../src/cutover/source.js';
import { openLedger, type LedgerHandle } from '../../src/store/open.js';
import { createLegacyDatabase, CUTOVER_LOCAL, ROOT, type LegacyDatabase } from '../helpers/legacy.js';

const bin = path.join(ROOT, 'bin/mari.js');
let legacy: LegacyDatabase;
const dirs: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-resume-'));
  dirs.push(dir);
  return dir;
}

before(async () => {
  legacy = await createLegacyDatabase({ subscribers: 2000, seed: 11 });
});

after(async () => {
  await legacy?.drop();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** The checkpoint as committed, read by a second connection while the import writes. */
function checkpointOf(dataDir: string): { phase: string; after: number | null } | undefined {
  const file = path.join(dataDir, 'ledger.sqlite');
  if (!fs.existsSync(file)) return undefined;
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare(`SELECT value FROM documents WHERE collection = 'migration' AND key = 'import'`).get() as { value: string } | undefined;
      return row ? JSON.parse(row.value) : undefined;
    } finally {
      db.close();
    }
  } catch {
    return undefined; // the schema is not there yet
  }
}

async function legacySums(handle: LedgerHandle): Promise<Record<string, string>> {
  const sums: Record<string, string> = {};
  for await (const doc of handle.store.documents('migration', { prefix: 'sums:' })) sums[doc.key] = doc.value;
  assert.ok(Object.keys(sums).some((key) => key.startsWith('sums:prepaid_bucket:')) && Object.keys(sums).some((key) => key.startsWith('sums:wallet:')));
  return sums;
}

function migrateArgs(dataDir: string): string[] {
  return [bin, 'migrate', '--from', legacy.url, '--data-dir', dataDir, '--as-of', CUTOVER_LOCAL, '--batch-rows', '400', '--json'];
}

/** Starts an import and SIGKILLs it once its committed checkpoint is inside `phase`, past its first batch. */
async function killDuring(dataDir: string, phase: string): Promise<void> {
  const child = spawn(process.execPath, migrateArgs(dataDir), { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let killed = false;
  while (!killed) {
    const checkpoint = checkpointOf(dataDir);
    if (checkpoint?.phase === phase && checkpoint.after !== null) {
      child.kill('SIGKILL');
      killed = true;
    } else if (child.exitCode !== null) {
      assert.fail(`the import finished before reaching ${phase}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await exited;
}

test('killed during the history replay and again during the buckets, the import resumes to the same ledger', async () => {
  const dataDir = tempDir();
  await killDuring(dataDir, 'history');
  const first = checkpointOf(dataDir)!;
  assert.equal(first.phase, 'history');
  await killDuring(dataDir, 'buckets');
  assert.equal(checkpointOf(dataDir)!.phase, 'buckets');
  const finished = spawnSync(process.execPath, migrateArgs(dataDir), { encoding: 'utf8', timeout: 120_000 });
  assert.equal(finished.status, 0, finished.stderr);
  const summary = JSON.parse(finished.stdout);
  assert.equal(summary.phase, 'done');
  assert.equal(summary.resumed, true);

  // The same import, uninterrupted, in another directory.
  const cleanDir = tempDir();
  const source = await openMysqlSource(legacy.url);
  const clean = await openLedger({ dataDir: cleanDir });
  try {
    const expected = await new Importer({ source, handle: clean, as_of_local: CUTOVER_LOCAL }).run();
    assert.deepEqual(summary.counters, expected.counters);
    assert.equal(summary.transfers_booked, expected.transfers_booked);
    assert.equal(summary.accounts_created, expected.accounts_created);
    assert.deepEqual(summary.rows_read, expected.rows_read);
    const resumed = await openLedger({ dataDir });
    try {
      assert.equal(resumed.ledger.accounts.size, clean.ledger.accounts.size);
      for (const account of clean.ledger.accounts.values()) {
        const twin = resumed.ledger.accounts.get(account.id);
        assert.ok(twin, account.id);
        assert.equal(twin.credits_posted, account.credits_posted, account.id);
        assert.equal(twin.debits_posted, account.debits_posted, account.id);
      }
      // What a later delta compares legacy with was counted across the kills exactly as without them.
      assert.deepEqual(await legacySums(resumed), await legacySums(clean));
    } finally {
      await resumed.close();
    }
  } finally {
    await clean.close();
    await source.close();
  }
  const verify = spawnSync(process.execPath, [bin, 'verify', '--data-dir', dataDir], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(verify.status, 0, verify.stdout);
});

test('running the import again after it finished changes nothing', () => {
  const dataDir = tempDir();
  const once = spawnSync(process.execPath, migrateArgs(dataDir), { encoding: 'utf8', timeout: 120_000 });
  assert.equal(once.status, 0, once.stderr);
  const twice = spawnSync(process.execPath, migrateArgs(dataDir), { encoding: 'utf8', timeout: 120_000 });
  assert.equal(twice.status, 0, twice.stderr);
  assert.equal(JSON.parse(twice.stdout).transfers_booked, JSON.parse(once.stdout).transfers_booked);
  const reconcile = spawnSync(process.execPath, [bin, 'reconcile', '--from', legacy.url, '--data-dir', dataDir, '--format', 'json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(reconcile.status, 0, reconcile.stdout.slice(0, 2000));
  assert.equal(JSON.parse(reconcile.stdout).ok, true);
});

test('migrate and reconcile refuse a bad invocation with a usage error and change nothing', () => {
  const dataDir = tempDir();
  const both = spawnSync(process.execPath, [bin, 'migrate', '--from', legacy.url, '--from-csv', legacy.csvDir, '--data-dir', dataDir], { encoding: 'utf8' });
  assert.equal(both.status, 2);
  const badUrl = spawnSync(process.execPath, [bin, 'migrate', '--from', 'postgres://x/y', '--data-dir', dataDir], { encoding: 'utf8' });
  assert.equal(badUrl.status, 1);
  assert.match(badUrl.stderr, /mysql:\/\//);
  const badAsOf = spawnSync(process.execPath, [bin, 'migrate', '--from', legacy.url, '--data-dir', dataDir, '--as-of', 'yesterday'], { encoding: 'utf8' });
  assert.equal(badAsOf.status, 2);
  const deltaFirst = spawnSync(process.execPath, [bin, 'migrate', '--from', legacy.url, '--data-dir', dataDir, '--delta'], { encoding: 'utf8' });
  assert.equal(deltaFirst.status, 1);
  assert.match(deltaFirst.stderr, /nothing imported yet/);
  const noLedger = spawnSync(process.execPath, [bin, 'reconcile', '--from', legacy.url, '--data-dir', path.join(dataDir, 'none')], { encoding: 'utf8' });
  assert.equal(noLedger.status, 2);
});
