// The HTTP benchmark: mari serve in its own process on the embedded store; autocannon sends
// single-transfer requests from 64 connections on the same machine. Every 201 is durable (the
// server answers after the commit); at the end the journal must hold exactly that many.
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { option, tempDir } from './util.js';
import { KEY, call, serverCpuSeconds, startServer } from './server.js';

const WALLETS = 10_000;

async function setup(url: string): Promise<void> {
  await call(url, 'POST', '/accounts', { id: 'bank', asset: 'USD', code: 10 });
  for (let start = 0; start < WALLETS; start += 5000) {
    const accounts = [];
    const funding = [];
    for (let i = start; i < start + 5000; i++) {
      accounts.push({ id: `w${i}`, asset: 'USD', code: 1, flags: ['debits_must_not_exceed_credits'] });
      funding.push({ id: `fund${i}`, debit_account_id: 'bank', credit_account_id: `w${i}`, amount: '100000000', asset: 'USD', code: 9 });
    }
    await call(url, 'POST', '/accounts/batch', { accounts });
    await call(url, 'POST', '/transfers/batch', { transfers: funding });
  }
}

export async function run(args: string[]): Promise<void> {
  const seconds = option(args, 'seconds', 15);
  const warmup = option(args, 'warmup', 3);
  const connections = option(args, 'connections', 64);
  const dataDir = tempDir('mari-bench-http-');
  const { child, url } = await startServer(dataDir);
  try {
    await setup(url);
    let counter = 0;
    const prefix = Date.now().toString(36);
    const load = (duration: number) => autocannon({
      url,
      connections,
      duration,
      requests: [{
        method: 'POST',
        path: '/transfers',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        setupRequest: (request) => {
          const n = counter++;
          const debit = (n * 7919) % WALLETS;
          const credit = (debit + 1 + (n % (WALLETS - 1))) % WALLETS;
          request.body = JSON.stringify({ id: `h${prefix}${n.toString(36).padStart(9, '0')}`, debit_account_id: `w${debit}`, credit_account_id: `w${credit}`, amount: '1', asset: 'USD', code: 1 });
          return request;
        },
      }],
    });
    // Warm-up, not counted: the set-up's records are still being indexed and the code compiled.
    await load(warmup);
    const cpuBefore = serverCpuSeconds(child);
    const result = await load(seconds);
    const created = result['2xx'];
    const server_cpu_us = Math.round((serverCpuSeconds(child) - cpuBefore) * 1e6 / Math.max(1, created));
    const transfers_per_s = Math.round(created / result.duration);
    console.log(`${connections} connections, ${result.duration.toFixed(1)} s: ${created} transfers created (201), ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
    console.log(`${transfers_per_s.toLocaleString('en')} transfers/s, latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms; server CPU ${server_cpu_us} µs per transfer (all threads)`);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    const db = new Database(path.join(dataDir, 'ledger.sqlite'), { readonly: true });
    const stored = Number(db.prepare("SELECT count(*) FROM transfers WHERE id LIKE 'h%'").pluck().get());
    db.close();
    // Requests still in flight when autocannon stops are committed but not counted, so stored ≥ created.
    console.log(`durable: the journal holds ${stored} benchmark transfers, at least the ${created} acknowledged`);
    if (stored < created) throw new Error('an acknowledged transfer is missing from the journal');
    console.log(JSON.stringify({ bench: 'http', transfers_per_s, p99_ms: result.latency.p99, p50_ms: result.latency.p50, server_cpu_us, connections, non_2xx: result.non2xx, errors: result.errors }));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
