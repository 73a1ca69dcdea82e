// The PostgreSQL benchmark: the ledger workload (100,000 wallets, half the payments linked to a
// fee into one hot fee account) on the PostgreSQL store, durable (synchronous_commit on, fsync on);
// and in the same run the naive design on the same server: one transaction per payment, SELECT …
// FOR UPDATE on the accounts, UPDATE of both balances and the fee account, INSERT of the transfer,
// 16 concurrent clients. Each run uses a fresh database (mari_bench_*), dropped at the end.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openLedger } from '../src/store/open.js';
import { CUSTOMERS, OPENING_BALANCE, measureBatches, openCustomers, randomCustomer } from './ledger.js';
import { idSequence, option, round } from './util.js';

const SERVER = process.env.MARI_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BATCH = 8000;

function databaseUrl(name: string): string {
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function runMari(url: string, seconds: number, warmup: number, inflight: number) {
  const handle = await openLedger({ store: url });
  const writer = handle.writer;
  await openCustomers(writer);
  const nextId = idSequence('T');
  // Warm-up, not counted (as in the other benchmarks): the set-up's 200,000 records are still settling.
  await measureBatches(writer, BATCH, warmup, inflight, nextId);
  const result = await measureBatches(writer, BATCH, seconds, inflight, nextId);
  handle.ledger.checkInvariants();
  await handle.close();
  console.log(`mari on PostgreSQL, batches of ${BATCH}: ${result.transfers_per_s.toLocaleString('en')} transfers/s, batch p50 ${result.p50_batch_ms} ms, p99 ${result.p99_batch_ms} ms (${result.batches} batches)`);
  return result;
}

/** What a team would write instead: a transaction per payment, rows locked, balances updated in place. */
async function runNaive(url: string, seconds: number, clients: number): Promise<number> {
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query(`CREATE TABLE naive_accounts (id text PRIMARY KEY, balance bigint NOT NULL);
    CREATE TABLE naive_transfers (id text PRIMARY KEY, debit text NOT NULL, credit text NOT NULL, amount bigint NOT NULL, ts timestamptz NOT NULL DEFAULT now())`);
  await setup.query(`INSERT INTO naive_accounts SELECT 'c' || i, $1 FROM generate_series(0, ${CUSTOMERS - 1}) i`, [OPENING_BALANCE.toString()]);
  await setup.query(`INSERT INTO naive_accounts VALUES ('fees', 0)`);
  await setup.end();
  const nextId = idSequence('N');
  let transfers = 0;
  let withFee = false;
  const started = performance.now();
  const worker = async () => {
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      while (performance.now() - started < seconds * 1000) {
        const debit = randomCustomer();
        let credit = randomCustomer();
        while (credit === debit) credit = randomCustomer();
        const fee = withFee;
        withFee = !withFee;
        await db.query('BEGIN');
        try {
          // Locked in id order so two payments between the same pair cannot deadlock.
          const ids = fee ? [debit, credit, 'fees'] : [debit, credit];
          const { rows } = await db.query('SELECT id, balance FROM naive_accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE', [ids]);
          const balance = BigInt(rows.find((r) => r.id === debit)!.balance as string);
          if (balance < (fee ? 102n : 100n)) throw new Error('insufficient funds');
          await db.query('UPDATE naive_accounts SET balance = balance - $2 WHERE id = $1', [debit, fee ? 102 : 100]);
          await db.query('UPDATE naive_accounts SET balance = balance + 100 WHERE id = $1', [credit]);
          await db.query('INSERT INTO naive_transfers (id, debit, credit, amount) VALUES ($1, $2, $3, 100)', [nextId(), debit, credit]);
          if (fee) {
            await db.query("UPDATE naive_accounts SET balance = balance + 2 WHERE id = 'fees'");
            await db.query("INSERT INTO naive_transfers (id, debit, credit, amount) VALUES ($1, $2, 'fees', 2)", [nextId(), debit]);
          }
          await db.query('COMMIT');
          transfers += fee ? 2 : 1;
        } catch (error) {
          await db.query('ROLLBACK');
          throw error;
        }
      }
    } finally {
      await db.end();
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  const rate = Math.round(transfers / ((performance.now() - started) / 1000));
  console.log(`naive PostgreSQL (${clients} clients, one transaction per payment, SELECT … FOR UPDATE, UPDATE balances and the fee account): ${rate.toLocaleString('en')} transfers/s`);
  return rate;
}

export async function run(args: string[]): Promise<void> {
  const seconds = option(args, 'seconds', 10);
  const warmup = option(args, 'warmup', 3);
  const inflight = option(args, 'inflight', 4);
  const clients = option(args, 'clients', 16);
  const name = `mari_bench_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  try {
    const url = databaseUrl(name);
    const settings = new pg.Client({ connectionString: url });
    await settings.connect();
    const shown = async (setting: string) => (await settings.query(`SHOW ${setting}`)).rows[0][setting] as string;
    const durable = `fsync=${await shown('fsync')}, synchronous_commit=${await shown('synchronous_commit')}, wal_sync_method=${await shown('wal_sync_method')}`;
    await settings.end();
    console.log(`PostgreSQL benchmark: ${CUSTOMERS.toLocaleString('en')} wallets, half the payments linked to a fee into one hot account, ${durable}, ${inflight} batches of ${BATCH} in flight, ${seconds} s`);
    const mari = await runMari(url, seconds, warmup, inflight);
    const baseline = await runNaive(url, Math.min(seconds, 10), clients);
    const figures = {
      bench: 'postgres',
      transfers_per_s: mari.transfers_per_s,
      p50_batch_ms: mari.p50_batch_ms,
      p99_batch_ms: mari.p99_batch_ms,
      baseline_transfers_per_s: baseline,
      ratio: round(mari.transfers_per_s / baseline, 1),
    };
    console.log(`ratio (mari batches of ${BATCH} vs naive): ${figures.ratio}x`);
    console.log(JSON.stringify(figures));
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}
