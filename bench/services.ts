// The mobile money benchmark: P2P sends over HTTP with everything a real send does — PIN,
// statuses, tariff fee (a linked fee leg), KYC limits (usage counters written in the same
// commit), balance cap, the transaction record, two statement updates and two outbox messages —
// from 64 connections to mari serve on the embedded store. Every 200 is durable; at the end the
// journal must hold at least that many P2P transfers.
//
// Subscribers enter their PIN on every send. The first check of each subscriber's PIN costs a
// scrypt hash (tens of milliseconds); later ones hit the in-memory verified-PIN cache, as a
// customer sending several times a day would. The warm-up sends one P2P per subscriber first so
// the timed run measures the steady state, and says how long the warm-up took.
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { option, tempDir } from './util.js';
import { KEY, serverCpuSeconds, startServer } from './server.js';

const PIN = '2580';

async function call(url: string, route: string, body: unknown): Promise<unknown> {
  const response = await fetch(url + route, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  if (response.status >= 300) throw new Error(`POST ${route}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** Runs `work` for 0..count-1 with at most `parallel` in flight. */
async function pool(count: number, parallel: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) await work(next++);
  }));
}

function msisdn(i: number): string {
  return `+26377${String(1_000_000 + i).padStart(7, '0')}`;
}

async function setup(url: string, subscribers: number): Promise<number> {
  await call(url, '/money/banks', { code: 'BENCH', name: 'Bench Bank' });
  await pool(subscribers, 16, async (i) => {
    await call(url, '/money/subscribers', { msisdn: msisdn(i), name: `Subscriber ${i}`, kyc_tier: 2 });
    await call(url, '/money/pin', { msisdn: msisdn(i), pin: PIN });
    await call(url, '/money/bank-to-wallet', { reference: `fund${i}`, bank: 'BENCH', to: msisdn(i), amount: '4000000', currency: 'USD' });
  });
  const started = performance.now();
  await pool(subscribers, 16, (i) => call(url, '/money/send', { reference: `warm${i}`, from: msisdn(i), to: msisdn((i + 1) % subscribers), amount: '1', currency: 'USD', pin: PIN }));
  return performance.now() - started;
}

export async function run(args: string[]): Promise<void> {
  const seconds = option(args, 'seconds', 15);
  const warmup = option(args, 'warmup', 3);
  const connections = option(args, 'connections', 64);
  const subscribers = option(args, 'subscribers', 256);
  const dataDir = tempDir('mari-bench-services-');
  const { child, url } = await startServer(dataDir);
  try {
    const warm_ms = await setup(url, subscribers);
    console.log(`${subscribers} subscribers registered with PINs and funded; warm-up (first PIN check of each, scrypt) ${Math.round(warm_ms)} ms`);
    let counter = 0;
    const prefix = `b${Date.now().toString(36)}`;
    const load = (duration: number) => autocannon({
      url, connections, duration,
      requests: [{
        method: 'POST',
        path: '/money/send',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        setupRequest: (request) => {
          const n = counter++;
          const from = (n * 7919) % subscribers;
          const to = (from + 1 + (n % (subscribers - 1))) % subscribers;
          request.body = JSON.stringify({ reference: `${prefix}${n.toString(36)}`, from: msisdn(from), to: msisdn(to), amount: '100', currency: 'USD', pin: PIN });
          return request;
        },
      }],
    });
    // Warm-up, not counted: the set-up's records are still being indexed and the code compiled.
    await load(warmup);
    const cpuBefore = serverCpuSeconds(child);
    const result = await load(seconds);
    const sent = result['2xx'];
    const server_cpu_us = Math.round((serverCpuSeconds(child) - cpuBefore) * 1e6 / Math.max(1, sent));
    const transfers_per_s = Math.round(sent / result.duration);
    console.log(`${connections} connections, ${result.duration.toFixed(1)} s: ${sent} P2P sends (200), ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
    console.log(`${transfers_per_s.toLocaleString('en')} sends/s (each a transfer plus its fee leg), latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms; server CPU ${server_cpu_us} µs per send (all threads)`);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    const db = new Database(path.join(dataDir, 'ledger.sqlite'), { readonly: true });
    const stored = Number(db.prepare(`SELECT count(*) FROM transfers WHERE id LIKE 'mm:${prefix}%' AND id NOT LIKE '%:fee'`).pluck().get());
    db.close();
    console.log(`durable: the journal holds ${stored} benchmark sends, at least the ${sent} acknowledged`);
    if (stored < sent) throw new Error('an acknowledged send is missing from the journal');
    console.log(JSON.stringify({ bench: 'services', transfers_per_s, p99_ms: result.latency.p99, p50_ms: result.latency.p50, server_cpu_us, connections, non_2xx: result.non2xx, errors: result.errors }));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
