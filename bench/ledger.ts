// The ledger benchmark: durable transfers on the embedded store, in batches of 1,000 and 8,000,
// half of the payments linked to a fee transfer into one hot fee account; and in the same run the
// naive design (one SQLite transaction per transfer, balances kept with UPDATE) for the ratio.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openLedger } from '../src/store/open.js';
import type { Writer } from '../src/store/writer.js';
import { AccountFlag, TransferFlag, type TransferInput } from '../src/ledger/types.js';
import { idSequence, machineReference, option, percentile, round, tempDir } from './util.js';

export const CUSTOMERS = 100_000;
export const OPENING_BALANCE = 1_000_000_000n;

/** A client keeps its accounts' ids: building a new string per transfer measured the client, not mari. */
const CUSTOMER_IDS: readonly string[] = Array.from({ length: CUSTOMERS }, (_, i) => `c${i}`);

export function randomCustomer(): string {
  return CUSTOMER_IDS[Math.floor(Math.random() * CUSTOMERS)];
}

/** A batch of `size` transfers: payments between customers, every other one linked to a fee. */
export function makeBatch(size: number, nextId: () => string): TransferInput[] {
  const batch: TransferInput[] = [];
  let withFee = false;
  while (batch.length < size) {
    let debit = randomCustomer();
    let credit = randomCustomer();
    while (credit === debit) credit = randomCustomer();
    // Literals of one shape, as a client decoding requests would make (a spread builds another).
    if (withFee && batch.length + 2 <= size) {
      batch.push({ id: nextId(), debit_account_id: debit, credit_account_id: credit, amount: 100n, asset: 'USD', code: 1, flags: TransferFlag.linked });
      batch.push({ id: nextId(), debit_account_id: debit, credit_account_id: 'fees', amount: 2n, asset: 'USD', code: 2, flags: 0 });
    } else {
      batch.push({ id: nextId(), debit_account_id: debit, credit_account_id: credit, amount: 100n, asset: 'USD', code: 1, flags: 0 });
    }
    withFee = !withFee;
  }
  return batch;
}

/** The workload's accounts: a bank, the hot fee account and CUSTOMERS wallets, each funded. */
export async function openCustomers(writer: Writer): Promise<void> {
  await writer.createAccounts([{ id: 'bank', asset: 'USD', code: 10 }, { id: 'fees', asset: 'USD', code: 20 }]);
  for (let start = 0; start < CUSTOMERS; start += 8000) {
    const chunk = [];
    for (let i = start; i < Math.min(CUSTOMERS, start + 8000); i++) chunk.push({ id: `c${i}`, asset: 'USD', code: 1, flags: AccountFlag.debits_must_not_exceed_credits });
    await writer.createAccounts(chunk);
  }
  const fund = idSequence('F');
  for (let start = 0; start < CUSTOMERS; start += 8000) {
    const chunk: TransferInput[] = [];
    for (let i = start; i < Math.min(CUSTOMERS, start + 8000); i++) chunk.push({ id: fund(), debit_account_id: 'bank', credit_account_id: `c${i}`, amount: OPENING_BALANCE, asset: 'USD', code: 9 });
    await writer.createTransfers(chunk);
  }
}

export interface BatchFigures {
  transfers_per_s: number;
  p50_batch_ms: number;
  p99_batch_ms: number;
  batches: number;
  transfers: number;
  elapsed_s: number;
}

/**
 * Clients submit concurrently for `seconds`: `inflight` batches of `size` outstanding at any time,
 * each timed from submission to acknowledgement (after its commit). Any refusal stops the run.
 */
export async function measureBatches(writer: Writer, size: number, seconds: number, inflight: number, nextId: () => string): Promise<BatchFigures> {
  const latencies: number[] = [];
  let transfers = 0;
  const started = performance.now();
  const client = async () => {
    while (performance.now() - started < seconds * 1000) {
      const batch = makeBatch(size, nextId);
      const t0 = performance.now();
      const outcome = await writer.createTransfers(batch);
      latencies.push(performance.now() - t0);
      const failed = outcome.find((r) => r !== 'ok');
      if (failed) throw new Error(`benchmark transfer refused: ${failed}`);
      transfers += batch.length;
    }
  };
  await Promise.all(Array.from({ length: inflight }, client));
  const elapsed_s = (performance.now() - started) / 1000;
  latencies.sort((x, y) => x - y);
  return {
    transfers_per_s: Math.round(transfers / elapsed_s), p50_batch_ms: round(percentile(latencies, 50)), p99_batch_ms: round(percentile(latencies, 99)),
    batches: latencies.length, transfers, elapsed_s,
  };
}

/**
 * Each size is offered the same load: `inFlight` transfers outstanding, as batches of that size
 * (4 of 8,000, 32 of 1,000). Four batches of 1,000 left too little in flight to keep both the
 * writer and the commit thread busy, and measured the client's concurrency rather than mari.
 */
async function runMari(dir: string, batchSizes: number[], seconds: number, inFlight: number) {
  const handle = await openLedger({ dataDir: dir });
  const writer = handle.writer;
  await openCustomers(writer);
  const results: Record<number, BatchFigures & { history_catch_up_s: number; with_history_transfers_per_s: number }> = {};
  const nextId = idSequence('T');
  const fees = handle.ledger.accounts.get('fees')!;
  await handle.store.accountHistory(fees, { limit: 1 });
  for (const size of batchSizes) {
    const figures = await measureBatches(writer, size, seconds, Math.max(1, Math.round(inFlight / size)), nextId);
    // Durable is the journal; each account's history is a derived index that trails it under a
    // load like this one. How long it takes to catch up is part of the cost, so it is printed, and
    // each size starts with it caught up (a history read waits for it).
    const started = performance.now();
    await handle.store.accountHistory(fees, { limit: 1 });
    const history_catch_up_s = round((performance.now() - started) / 1000);
    const with_history_transfers_per_s = Math.round(figures.transfers / (figures.elapsed_s + history_catch_up_s));
    results[size] = { ...figures, history_catch_up_s, with_history_transfers_per_s };
    console.log(`mari, batches of ${size}: ${figures.transfers_per_s.toLocaleString('en')} transfers/s, batch commit p50 ${figures.p50_batch_ms} ms, p99 ${figures.p99_batch_ms} ms (${figures.batches} batches); ` +
      `history index caught up ${history_catch_up_s} s after (${with_history_transfers_per_s.toLocaleString('en')} transfers/s counting that)`);
  }
  handle.ledger.checkInvariants();
  await handle.close();
  return results;
}

/** What a team would write instead: one transaction per transfer, read and UPDATE both balances. */
function runNaive(dir: string, seconds: number): number {
  const db = new Database(path.join(dir, 'naive.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE accounts (id TEXT PRIMARY KEY, balance INTEGER NOT NULL) STRICT;
    CREATE TABLE transfers (id TEXT PRIMARY KEY, debit TEXT NOT NULL, credit TEXT NOT NULL, amount INTEGER NOT NULL, ts INTEGER NOT NULL) STRICT;`);
  const insertAccount = db.prepare('INSERT INTO accounts VALUES (?, ?)');
  db.transaction(() => {
    insertAccount.run('fees', 0);
    for (let i = 0; i < CUSTOMERS; i++) insertAccount.run(`c${i}`, Number(OPENING_BALANCE));
  })();
  const balance = db.prepare('SELECT balance FROM accounts WHERE id = ?').pluck();
  const update = db.prepare('UPDATE accounts SET balance = balance + ? WHERE id = ?');
  const insert = db.prepare('INSERT INTO transfers VALUES (?, ?, ?, ?, ?)');
  const move = (id: string, debit: string, credit: string, amount: number) => {
    if ((balance.get(debit) as number) < amount) throw new Error('insufficient funds');
    update.run(-amount, debit);
    update.run(amount, credit);
    insert.run(id, debit, credit, amount, Date.now());
  };
  const nextId = idSequence('N');
  let transfers = 0;
  let withFee = false;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    const debit = randomCustomer();
    let credit = randomCustomer();
    while (credit === debit) credit = randomCustomer();
    const fee = withFee;
    db.transaction(() => {
      move(nextId(), debit, credit, 100);
      if (fee) move(nextId(), debit, 'fees', 2);
    })();
    transfers += fee ? 2 : 1;
    withFee = !withFee;
  }
  db.close();
  const rate = Math.round(transfers / ((performance.now() - started) / 1000));
  console.log(`naive SQLite (one transaction per payment, UPDATE balances): ${rate.toLocaleString('en')} transfers/s`);
  return rate;
}

export async function run(args: string[]): Promise<void> {
  const seconds = option(args, 'seconds', 10);
  const inFlight = option(args, 'in-flight', 32_000);
  const dir = tempDir('mari-bench-ledger-');
  const reference_ms = machineReference();
  try {
    console.log(`machine reference: ${reference_ms} ms for a fixed piece of work (lower is a faster machine; bench/util.ts machineReference)`);
    console.log(`ledger benchmark: ${CUSTOMERS.toLocaleString('en')} wallets, half the payments linked to a fee into one hot account, WAL + synchronous=FULL, ${inFlight.toLocaleString('en')} transfers in flight (${[1000, 8000].map((size) => `${Math.max(1, Math.round(inFlight / size))} batches of ${size.toLocaleString('en')}`).join(', ')}), ${seconds} s per batch size`);
    const mari = await runMari(dir, [1000, 8000], seconds, inFlight);
    const baseline = runNaive(dir, Math.min(seconds, 5));
    const big = mari[8000];
    const figures = {
      bench: 'ledger',
      transfers_per_s: big.transfers_per_s,
      p50_batch_ms: big.p50_batch_ms,
      p99_batch_ms: big.p99_batch_ms,
      transfers_per_s_batch_1000: mari[1000].transfers_per_s,
      p50_batch_ms_batch_1000: mari[1000].p50_batch_ms,
      p99_batch_ms_batch_1000: mari[1000].p99_batch_ms,
      history_catch_up_s: big.history_catch_up_s,
      with_history_transfers_per_s: big.with_history_transfers_per_s,
      with_history_transfers_per_s_batch_1000: mari[1000].with_history_transfers_per_s,
      baseline_transfers_per_s: baseline,
      ratio: round(big.transfers_per_s / baseline, 1),
      reference_ms,
    };
    console.log(`ratio (batches of 8,000 vs naive): ${figures.ratio}x`);
    console.log(JSON.stringify(figures));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
