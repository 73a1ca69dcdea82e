// The history index's cost per transfer: the ledger workload (100,000 wallets) committed with the
// index held back, then the time and process CPU it takes to catch up, as one backlog and in
// steps the size of what it indexes at its normal lag under load. Nothing else runs meanwhile, so
// the process CPU is the index thread's (and the idle checkpointer's).
import fs from 'node:fs';
import path from 'node:path';
import { openLedger, type LedgerHandle } from '../src/store/open.js';
import type { SqliteStore } from '../src/store/sqlite.js';
import { makeBatch, openCustomers } from './ledger.js';
import { idSequence, option, round, tempDir } from './util.js';

const BATCH = 8000;

/** Commits `transfers` rounded up to whole batches; returns how many. */
async function commit(handle: LedgerHandle, transfers: number, nextId: () => string): Promise<number> {
  // Four batches in flight, as the ledger benchmark's clients keep them.
  const inflight: Promise<string[]>[] = [];
  for (let done = 0; done < transfers; done += BATCH) {
    inflight.push(handle.writer.createTransfers(makeBatch(BATCH, nextId)));
    if (inflight.length === 4) {
      const outcome = await inflight.shift()!;
      if (outcome.some((r) => r !== 'ok')) throw new Error('benchmark transfer refused');
    }
  }
  for (const outcome of await Promise.all(inflight)) if (outcome.some((r) => r !== 'ok')) throw new Error('benchmark transfer refused');
  return Math.ceil(transfers / BATCH) * BATCH;
}

/** Catches the index up (a history read waits for it); returns wall and process CPU milliseconds. */
async function catchUp(handle: LedgerHandle): Promise<{ wall_ms: number; cpu_ms: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await handle.store.accountHistory(handle.ledger.accounts.get('fees')!, { limit: 1 });
  const used = process.cpuUsage(cpu);
  return { wall_ms: performance.now() - started, cpu_ms: (used.user + used.system) / 1000 };
}

function sizeMiB(file: string): number {
  return fs.existsSync(file) ? round(fs.statSync(file).size / 2 ** 20, 1) : 0;
}

async function measure(label: string, total: number, step: number): Promise<Record<string, number | string>> {
  const dir = tempDir('mari-bench-history-');
  const handle = await openLedger({ dataDir: dir, history_lag_ms: 600_000 });
  try {
    await openCustomers(handle.writer);
    // The accounts and their funding indexed first: what follows is indexed incrementally, not in one bulk pass.
    await catchUp(handle);
    const nextId = idSequence('T');
    let wall_ms = 0;
    let cpu_ms = 0;
    let transfers = 0;
    while (transfers < total) {
      transfers += await commit(handle, step, nextId);
      const spent = await catchUp(handle);
      wall_ms += spent.wall_ms;
      cpu_ms += spent.cpu_ms;
    }
    const figures = {
      mode: label, transfers, step,
      wall_us_per_transfer: round((wall_ms * 1000) / transfers),
      cpu_us_per_transfer: round((cpu_ms * 1000) / transfers),
      // The WAL is reused, not truncated: it stays about the size of the largest chunk.
      history_mib: sizeMiB(path.join(dir, 'history.sqlite')),
      history_wal_mib: sizeMiB(path.join(dir, 'history.sqlite-wal')),
      bulk: (handle.store as SqliteStore).historyBuiltInBulk,
    };
    console.log(`${label}: ${figures.cpu_us_per_transfer} µs CPU, ${figures.wall_us_per_transfer} µs wall per transfer; history.sqlite ${figures.history_mib} MiB (+ ${figures.history_wal_mib} MiB of WAL)`);
    return figures;
  } finally {
    await handle.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const transfers = option(args, 'transfers', 1_000_000);
  const step = option(args, 'step', 96_000);
  console.log(`history index benchmark: ${transfers.toLocaleString('en')} transfers over 100,000 wallets, caught up as one backlog, then every ${step.toLocaleString('en')}`);
  const backlog = await measure('one backlog', transfers, transfers);
  const steady = await measure(`every ${step.toLocaleString('en')}`, transfers, step);
  console.log(JSON.stringify({ bench: 'history', backlog, steady }));
}
