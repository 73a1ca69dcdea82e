// Checks that every acknowledged transfer survives SIGKILL exactly once, the journal verifies, and retries after restart change nothing.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import Database from 'better-sqlite3';
import { fileURLToPath } from 'node:url';
import { verifyJournal } from '../../src/ledger/verify.js';
import type { Transfer, TransferInput } from '../../src/ledger/types.js';
import { openLedger, type LedgerHandle } from '../../src/store/open.js';
import type { SqliteStore } from '../../src/store/sqlite.js';
import { EXPIRY, LINKED, balancesOf, big, tmpDir, type Bal } from '../helpers/ledger.js';
import { prng, workload, type Call } from './crash_child.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash_child.js');
const KILLS = 22;

interface ChildRun {
  acked: Map<string, string>;
  done: Set<number>;
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

/** Runs the child until SIGKILL lands `delay_ms` after its first acknowledgement; returns what it acknowledged. */
function runChild(dataDir: string, seed: number, checkpoint_interval_ms: number, delay_ms: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, 'run', dataDir, String(seed), String(checkpoint_interval_ms)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: ChildRun = { acked: new Map(), done: new Set(), signal: null, code: null, stderr: '' };
    let armed = false;
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stderr.on('data', (chunk) => (run.stderr += chunk));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const [kind, id, result] = line.split(' ');
      if (kind === 'ack') {
        assert.ok(result === 'ok' || result === 'exists', line);
        run.acked.set(id, result);
        if (!armed) {
          armed = true;
          setTimeout(() => child.kill('SIGKILL'), delay_ms);
        }
      } else if (kind === 'done') run.done.add(Number(id));
    });
    child.on('error', reject);
    // 'close' comes after stdout ends: every line the child wrote before dying has been read.
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      run.code = code;
      run.signal = signal;
      resolve(run);
    });
  });
}

/** The stored transfer carries what was asked for. */
function assertAsAsked(stored: Transfer, input: TransferInput): void {
  const asked: Record<string, unknown> = {};
  const got: Record<string, unknown> = {};
  for (const key of ['debit_account_id', 'credit_account_id', 'amount', 'pending_id', 'flags', 'reversal_of', 'timeout'] as const) {
    if (input[key] === undefined || input[key] === null) continue;
    asked[key] = input[key];
    got[key] = stored[key];
  }
  assert.deepEqual(got, asked, `stored ${input.id}`);
}

/** Linked chains of a call whose answer was printed: acknowledged all together or not at all. */
function assertChainsWhole(call: Call, acked: ReadonlyMap<string, string>): void {
  let chain: string[] = [];
  for (const t of call.transfers) {
    chain.push(t.id);
    if (((t.flags ?? 0) & LINKED) === 0) {
      const states = chain.map((id) => acked.has(id));
      assert.ok(states.every((s) => s === states[0]), `chain ${chain.join(',')} partly acknowledged`);
      chain = [];
    }
  }
}

/**
 * After a restart: invariants, verify, every acknowledgement stored once as asked, chains whole; then
 * retry exactly the acknowledged requests: all `exists`, and no effect but expiries falling due meanwhile.
 * Closes the handle (so everything it applied is durable before the final comparison).
 */
async function checkAfterRestart(handle: LedgerHandle, dataDir: string, calls: readonly Call[], run: ChildRun, everAcked: ReadonlySet<string>, where: string): Promise<void> {
  const { ledger, store, writer } = handle;
  const db = (store as SqliteStore).db;
  // Straight after loading nothing is in flight: memory and disk agree.
  const before = balancesOf(ledger.accountsByNo);
  const mark = db.prepare('SELECT coalesce(max(timestamp), 0) FROM transfers').pluck().get() as bigint;
  ledger.checkInvariants();
  const report = db.transaction(() => verifyJournal((store as SqliteStore).verifySource()))();
  assert.ok(report.ok, `${where}: verify: ${JSON.stringify(report.failure)}`);
  const countOf = db.prepare('SELECT count(*) FROM transfers WHERE id = ?').pluck();
  const inputs = new Map(calls.flatMap((c) => c.transfers).map((t) => [t.id, t]));
  for (const id of run.acked.keys()) {
    assert.equal(Number(countOf.get(id) as bigint), 1, `${where}: ${id} stored once`);
    const stored = await store.getTransfer(id);
    assert.ok(stored, `${where}: acknowledged ${id} is missing`);
    assertAsAsked(stored, inputs.get(id)!);
  }
  // Earlier cycles' acknowledgements are all still there, and no id is stored twice.
  const ids = new Set(db.prepare('SELECT id FROM transfers').pluck().all() as string[]);
  for (const id of everAcked) assert.ok(ids.has(id), `${where}: ${id}, acknowledged in an earlier cycle, is missing`);
  assert.deepEqual(db.prepare('SELECT id FROM transfers GROUP BY id HAVING count(*) > 1').pluck().all(), [], `${where}: duplicate ids`);
  for (const k of run.done) assertChainsWhole(calls[k], run.acked);

  // Retry exactly the acknowledged requests (chains stay whole: they were acknowledged all or none).
  const retries = calls.map((c) => c.transfers.filter((t) => run.acked.has(t.id))).filter((c) => c.length > 0);
  const results = await Promise.all(retries.map((c) => writer.createTransfers(c)));
  retries.forEach((c, i) => c.forEach((t, j) => assert.equal(results[i][j], 'exists', `${where}: retry of ${t.id}`)));
  await handle.close();
  assert.equal(writer.failed, undefined, `${where}: the writer failed`);
  ledger.checkInvariants();

  // Since the restart the only new records are expiries of holds whose time ran out; balances moved by exactly those.
  const reader = new Database(path.join(dataDir, 'ledger.sqlite'), { readonly: true });
  reader.defaultSafeIntegers(true);
  try {
    const added = reader.prepare('SELECT id, flags, pending_amount, debit_no, credit_no FROM transfers WHERE timestamp > ?').all(mark) as
      { id: string; flags: bigint; pending_amount: bigint; debit_no: bigint; credit_no: bigint }[];
    const expected = new Map<string, Bal>([...before].map(([id, b]) => [id, { ...b }]));
    for (const row of added) {
      assert.ok(Number(row.flags) & EXPIRY, `${where}: the retry wrote ${row.id}`);
      expected.get(ledger.accountsByNo[Number(row.debit_no)].id)!.debits_pending -= row.pending_amount;
      expected.get(ledger.accountsByNo[Number(row.credit_no)].id)!.credits_pending -= row.pending_amount;
    }
    assert.deepEqual(balancesOf(ledger.accountsByNo), expected, `${where}: balances after retrying acknowledged transfers`);
  } finally {
    reader.close();
  }
}

test(`acknowledged transfers survive ${KILLS} SIGKILLs on one data dir, exactly once, and retries answer exists`, { timeout: 180_000 }, async (t) => {
  const base = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
  t.diagnostic(`CRASH_SEED=${base}`);
  const rand = prng(base);
  const dataDir = tmpDir();
  const everAcked = new Set<string>();
  let kills = 0;
  try {
    for (let cycle = 0; cycle < KILLS; cycle++) {
      const seed = base * 100 + cycle;
      const interval = [0, 100, 1000][cycle % 3];
      const delay = 50 + Math.floor(rand() * 551);
      const where = `cycle ${cycle} (seed ${seed}, checkpoint every ${interval} ms, kill ${delay} ms after the first ack)`;
      const run = await runChild(dataDir, seed, interval, delay);
      assert.equal(run.signal, 'SIGKILL', `${where}: the child exited on its own (code ${run.code}): ${run.stderr}`);
      assert.ok(run.acked.size > 0, `${where}: nothing acknowledged: ${run.stderr}`);
      kills += 1;
      const calls = workload(seed);
      const opened = await openLedger({ dataDir });
      // checkAfterRestart closes the handle itself, midway; a second close() would throw.
      let closed = false;
      const handle: LedgerHandle = { ...opened, close: async () => { closed = true; await opened.close(); } };
      try {
        await checkAfterRestart(handle, dataDir, calls, run, everAcked, where);
      } finally {
        if (!closed) await handle.close().catch(() => undefined);
      }
      for (const id of run.acked.keys()) everAcked.add(id);
    }
    assert.ok(kills >= 20);
    t.diagnostic(`${kills} kills, ${everAcked.size} acknowledged transfers`);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('balances replayed at start-up after a crash survive the next checkpoint', async () => {
  // Minimal form of what the kill cycles above found: the writer's first checkpoint after a
  // replay does not write the accounts the replay changed, yet moves the checkpoint past them.
  const dataDir = tmpDir();
  const options = { dataDir, writer: { checkpoint_interval_ms: 1e9 } };
  try {
    let handle = await openLedger(options);
    await handle.writer.createAccounts([{ id: 'a', asset: 'USD', code: 1 }, { id: 'b', asset: 'USD', code: 1 }]);
    assert.deepEqual(await handle.writer.createTransfers([{ id: 't', debit_account_id: 'a', credit_account_id: 'b', amount: 5n, asset: 'USD', code: 1 }]), ['ok']);
    await handle.store.close(); // the process dies: no final checkpoint
    handle = await openLedger(options); // replays t
    assert.equal(handle.ledger.accounts.get('a')!.debits_posted, 5n);
    await handle.close(); // a clean shutdown writes a checkpoint
    handle = await openLedger(options);
    try {
      const report = verifyJournal(handle.store.verifySource());
      assert.ok(report.ok, `verify: ${JSON.stringify(report.failure, big)}`);
      assert.equal(handle.ledger.accounts.get('a')!.debits_posted, 5n, 'a keeps its debit');
    } finally {
      await handle.close();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
