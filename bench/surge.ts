// The post-cutover surge: mari serve in its own process on the embedded store; autocannon floods
// it with balance enquiries (GET /accounts/:id, 90% of requests, offered at nine times the transfer
// rate) while a paced client on a thread of its own sends transfers (POST /transfers, 10%) and
// times each one. The target: transfers keep p99 ≤ 50 ms
// while enquiries run at ≥ 12,000/s. Enquiries spread over every wallet, so the per-customer
// limit (2/s sustained) is not what is measured; a second, short phase hammers one customer and
// checks that the flood gets `try_later` quickly.
import fs from 'node:fs';
import http from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';
import { option, percentile, round, tempDir } from './util.js';
import { KEY, call, serverCpuSeconds, startServer } from './server.js';

const WALLETS = 20_000;

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

interface Paced { latencies_ms: number[]; failed: number }

/**
 * The paced client runs on a thread of its own: on the bench's main thread autocannon's flood of
 * enquiries delays its timers and the callbacks that stop each transfer's clock, so it would time
 * the load generator as much as the server.
 */
function pacedTransfersOnThread(url: string, options: { rate_per_s: number; seconds: number }): Promise<Paced> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { url, options } });
  return new Promise((resolve, reject) => {
    worker.once('message', (result: Paced) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the paced transfer client exited with ${code}`)));
  });
}

if (!isMainThread && workerData?.options) {
  const { url, options } = workerData as { url: string; options: { rate_per_s: number; seconds: number } };
  parentPort!.postMessage(await pacedTransfers(url, options));
}

/** Sends `rate_per_s` transfers a second, each on its own, timing each from send to answer. */
async function pacedTransfers(url: string, options: { rate_per_s: number; seconds: number }): Promise<Paced> {
  const latencies_ms: number[] = [];
  let failed = 0;
  let n = 0;
  const prefix = Date.now().toString(36);
  const inflight = new Set<Promise<void>>();
  // Kept-alive connections, as a payment gateway holds them: fetch opened new ones as latency grew,
  // and the server spent its time accepting them (280 µs of CPU per transfer instead of ~100).
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  // Each transfer goes out within about a millisecond of its due time. With a 10 ms tick the
  // client held transfers up to 10 ms and sent them in bursts, and since latency is timed from the
  // due time, that wait counted as the server's (p50 10–11 ms against 5 ms at 1 ms, same server).
  const tick_ms = 1;
  const started = performance.now();
  // Paced by the clock, not by counting ticks: a late timer sends what is owed, so the rate offered is the rate asked.
  for (let elapsed = 0; elapsed < options.seconds * 1000; elapsed = performance.now() - started) {
    const owed = Math.floor((elapsed / 1000) * options.rate_per_s);
    while (n < owed) {
      const i = n++;
      const debit = (i * 7919) % WALLETS;
      const credit = (debit + 1 + (i % (WALLETS - 1))) % WALLETS;
      // Timed from when it was due, not from when it got out: a client running late counts against the server's latency too.
      const due = started + (i * 1000) / options.rate_per_s;
      const body = JSON.stringify({ id: `s${prefix}${i.toString(36).padStart(8, '0')}`, debit_account_id: `w${debit}`, credit_account_id: `w${credit}`, amount: '1', asset: 'USD', code: 1 });
      const request = post(`${url}/transfers`, body, agent).then((status) => {
        if (status === 201) latencies_ms.push(performance.now() - due);
        else failed++;
      }, () => void failed++).finally(() => inflight.delete(request));
      inflight.add(request);
    }
    await new Promise((resolve) => setTimeout(resolve, tick_ms));
  }
  await Promise.all(inflight);
  agent.destroy();
  return { latencies_ms, failed };
}

/** One POST with the operator key on a kept-alive connection; resolves with the status once the body is read. */
function post(url: string, body: string, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: 'POST', agent,
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

export async function run(args: string[]): Promise<void> {
  const seconds = option(args, 'seconds', 15);
  const warmup = option(args, 'warmup', 3);
  const connections = option(args, 'connections', 48);
  // The mix: 90% enquiries, 10% transfers. Enquiries are offered at nine times the transfer
  // rate (13,500/s by default, above the 12,000/s target); --enquiry-rate 0 floods without a cap.
  const transferRate = option(args, 'transfer-rate', 1500);
  const enquiryRate = option(args, 'enquiry-rate', 9 * transferRate);
  const dataDir = tempDir('mari-bench-surge-');
  const { child, url } = await startServer(dataDir);
  try {
    await setup(url);
    let counter = 0;
    const surge = (duration_s: number) => Promise.all([
      autocannon({
        url, connections, duration: duration_s, ...(enquiryRate > 0 ? { overallRate: enquiryRate } : {}),
        requests: [{
          method: 'GET', headers: { authorization: `Bearer ${KEY}` },
          setupRequest: (request) => ({ ...request, path: `/accounts/w${(counter++ * 7) % WALLETS}` }),
        }],
      }),
      pacedTransfersOnThread(url, { rate_per_s: transferRate, seconds: duration_s }),
    ]);
    // Warm-up, not counted: right after the set-up's 40,000 records the server is still indexing and
    // checkpointing them, and its code is not yet compiled; every transfer slower than 50 ms in an
    // unwarmed run fell in its first second.
    await surge(warmup);
    const cpuBefore = serverCpuSeconds(child);
    const [result, sent] = await surge(seconds);
    const server_cpu_us = Math.round((serverCpuSeconds(child) - cpuBefore) * 1e6 / Math.max(1, result['2xx'] + sent.latencies_ms.length));
    const enquiries_per_s = Math.round(result['2xx'] / result.duration);
    const sorted = sent.latencies_ms.sort((a, b) => a - b);
    const transfer_p99_ms = round(percentile(sorted, 99));
    const transfers_per_s = Math.round(sorted.length / seconds);
    console.log(`${connections} enquiry connections, ${result.duration.toFixed(1)} s: ${result['2xx']} enquiries answered, ${result.non2xx} non-2xx (try_later), ${result.errors} errors`);
    console.log(`enquiries ${enquiries_per_s.toLocaleString('en')}/s (p99 ${result.latency.p99} ms); transfers ${transfers_per_s}/s committed (${round(100 * transfers_per_s / (transfers_per_s + enquiries_per_s), 1)}% of requests), ` +
      `p50 ${round(percentile(sorted, 50))} ms, p99 ${transfer_p99_ms} ms, max ${round(sorted.at(-1) ?? 0)} ms, ${sent.failed} failed; server CPU ${server_cpu_us} µs per request (all threads)`);
    // One customer hammering: the per-customer limit answers try_later, cheaply.
    const hammer = await autocannon({ url, connections: 8, amount: 2000, requests: [{ method: 'GET', path: '/accounts/w1', headers: { authorization: `Bearer ${KEY}` } }] });
    console.log(`one customer, 2000 enquiries: ${hammer['2xx']} answered, ${hammer.non2xx} try_later (p99 ${hammer.latency.p99} ms)`);
    console.log(JSON.stringify({ bench: 'surge', enquiries_per_s, transfer_p99_ms, transfers_per_s, enquiry_p99_ms: result.latency.p99, server_cpu_us, limited_one_customer: hammer.non2xx }));
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
