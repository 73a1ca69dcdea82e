// The charging benchmark: 10,000 concurrent credit-control sessions (one per line, each line with
// a data bundle lot and airtime) doing update cycles on the embedded store. Each update commits
// the used units (a post) and reserves the next grant (a pending transfer), with the session's
// document, in one command. In process: every session keeps one request in flight. Over HTTP:
// mari serve in its own process, autocannon cycling through the sessions from 64 connections.
// Every answer is durable (after its commit); the ledger must verify and balance afterwards.
import fs from 'node:fs';
import autocannon from 'autocannon';
import { openLedger } from '../src/store/open.js';
import { PREPAID_DEFAULTS, PrepaidModule } from '../src/products/prepaid/module.js';
import { option, round, tempDir } from './util.js';
import { KEY, startServer } from './server.js';

const GRANT_KB = 1_024n;
const DAY_NS = 86_400n * 1_000_000_000n;

function msisdnOf(i: number): string {
  return `+26377${String(1_000_000 + i).padStart(7, '0')}`;
}

async function inProcess(sessions: number, seconds: number): Promise<number> {
  const dataDir = tempDir('mari-bench-charging-');
  const handle = await openLedger({ dataDir });
  const prepaid = await new PrepaidModule(handle, PREPAID_DEFAULTS, { dataDir }).start();
  try {
    const expires_at = handle.ledger.now() + 30n * DAY_NS;
    await Promise.all(Array.from({ length: sessions }, (_, i) => Promise.all([
      prepaid.importLegacyBucket({ id: `air${i}`, msisdn: msisdnOf(i), kind: 'airtime', amount: 100_000_000n }),
      prepaid.importLegacyBucket({ id: `lot${i}`, msisdn: msisdnOf(i), kind: 'data', amount: 1_000_000_000_000n, bundle_name: 'Bench', expires_at }),
    ])));
    await Promise.all(Array.from({ length: sessions }, (_, i) => prepaid.chargingInitial({ session_id: `s${i}`, request_number: 0, msisdn: msisdnOf(i), service: 'data', requested_units: GRANT_KB })));
    let requests = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    const deadline = started + seconds * 1000;
    const cycle = async (i: number) => {
      for (let number = 1; performance.now() < deadline; number++) {
        const answer = await prepaid.chargingUpdate({ session_id: `s${i}`, request_number: number, used_units: GRANT_KB, requested_units: GRANT_KB });
        if (answer.granted_units !== GRANT_KB.toString()) throw new Error(`short grant ${answer.granted_units}`);
        requests += 1;
      }
    };
    await Promise.all(Array.from({ length: sessions }, (_, i) => cycle(i)));
    const elapsed_s = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const requests_per_s = Math.round(requests / elapsed_s);
    // CPU time of all threads (writer, commit, index) per request: on a busy machine this says more than wall time.
    const cpu_us = round((used.user + used.system) / requests, 1);
    console.log(`in process: ${sessions.toLocaleString('en')} sessions, ${requests.toLocaleString('en')} updates in ${elapsed_s.toFixed(1)} s: ${requests_per_s.toLocaleString('en')} requests/s, ${cpu_us} µs CPU per request (all threads)`);
    await Promise.all(Array.from({ length: sessions }, (_, i) => prepaid.chargingTerminate({ session_id: `s${i}`, request_number: 1_000_000, used_units: 0n })));
    await handle.writer.settled();
    handle.ledger.checkInvariants();
    const report = (handle.store as unknown as { verify(): { ok: boolean } }).verify();
    if (!report.ok) throw new Error('the journal does not verify after the run');
    console.log('afterwards: every session terminated, nothing reserved, the journal verifies');
    return requests_per_s;
  } finally {
    await prepaid.close();
    await handle.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function post(url: string, route: string, body: unknown): Promise<void> {
  const response = await fetch(url + route, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (response.status >= 300) throw new Error(`${route}: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

/** Runs `work(i)` for i < count with `concurrency` at a time. */
async function pool(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await work(next++);
  }));
}

async function overHttp(sessions: number, seconds: number, connections: number): Promise<{ requests_per_s: number; p99_ms: number; p50_ms: number; non_2xx: number }> {
  const dataDir = tempDir('mari-bench-charging-http-');
  const { child, url } = await startServer(dataDir);
  try {
    const expires_at = String(BigInt(Date.now()) * 1_000_000n + 30n * DAY_NS);
    await pool(sessions, 64, async (i) => {
      await post(url, '/prepaid/buckets/import', { id: `air${i}`, msisdn: msisdnOf(i), kind: 'airtime', amount: '100000000' });
      await post(url, '/prepaid/buckets/import', { id: `lot${i}`, msisdn: msisdnOf(i), kind: 'data', amount: '1000000000000', bundle_name: 'Bench', expires_at });
      await post(url, '/prepaid/charging/initial', { session_id: `s${i}`, request_number: 0, msisdn: msisdnOf(i), service: 'data', requested_units: '1024' });
    });
    const numbers = new Array<number>(sessions).fill(0);
    let counter = 0;
    const result = await autocannon({
      url, connections, duration: seconds,
      requests: [{
        method: 'POST', path: '/prepaid/charging/update',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        setupRequest: (request) => {
          // Round robin: a session's next update goes out 10,000 requests after its last, long answered.
          const i = counter++ % sessions;
          request.body = JSON.stringify({ session_id: `s${i}`, request_number: ++numbers[i], used_units: '1024', requested_units: '1024' });
          return request;
        },
      }],
    });
    const requests_per_s = Math.round(result['2xx'] / result.duration);
    console.log(`HTTP: ${connections} connections over ${sessions.toLocaleString('en')} sessions, ${result.duration.toFixed(1)} s: ${result['2xx']} updates answered 200, ${result.non2xx} non-2xx, ${result.errors} errors`);
    console.log(`HTTP: ${requests_per_s.toLocaleString('en')} requests/s, latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`);
    return { requests_per_s, p99_ms: result.latency.p99, p50_ms: result.latency.p50, non_2xx: result.non2xx };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const sessions = option(args, 'sessions', 10_000);
  const seconds = option(args, 'seconds', 10);
  const connections = option(args, 'connections', 64);
  const requests_per_s = await inProcess(sessions, seconds);
  if (option(args, 'http', 1) === 0) return;
  const http = await overHttp(sessions, seconds, connections);
  console.log(JSON.stringify({ bench: 'charging', requests_per_s, http_requests_per_s: http.requests_per_s, http_p99_ms: round(http.p99_ms), sessions, http_non_2xx: http.non_2xx }));
}
