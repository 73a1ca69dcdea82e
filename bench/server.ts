// The HTTP benchmarks' server: `mari serve` in its own process on a fresh data directory, with a
// known operator key, so the load generator measures the server and not itself.
// MARI_BENCH_PROFILE=1 writes the server's CPU profile to /tmp/prof.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const KEY = 'mari_bench_operator_key_0123456789';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const profile = process.env.MARI_BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [];
  const child = spawn(process.execPath, [...profile, '--max-semi-space-size=64', path.join(root, 'bin/mari.js'), 'serve', '--port', '0', '--data-dir', dataDir], {
    env: { ...process.env, MARI_API_KEYS: `${KEY}:operator`, MARI_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`mari serve exited with ${code}: ${output}`)));
  });
  return { child, url };
}

/** One JSON call with the operator key; a non-2xx answer throws with its body. */
export async function call(url: string, method: string, route: string, body?: unknown): Promise<unknown> {
  const response = await fetch(url + route, {
    method,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (response.status >= 300) throw new Error(`${method} ${route}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/**
 * CPU seconds the server process has used so far (all its threads, user + system), from
 * /proc. CPU per request says more than wall time on a machine shared with other work.
 */
export function serverCpuSeconds(child: ChildProcess): number {
  const stat = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

/** Linux's USER_HZ: the unit of utime and stime in /proc/<pid>/stat. */
const CLOCK_TICKS_PER_S = 100;
