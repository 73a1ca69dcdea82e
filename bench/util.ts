// Small helpers shared by the benchmarks: temp dirs, percentiles, monotonic ids.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Ids that grow with time, as TigerBeetle recommends (ULID/UUIDv7): they keep the id index append-only. */
export function idSequence(prefix: string): () => string {
  let counter = 0;
  const base = Date.now().toString(36);
  return () => {
    const id = `${prefix}${base}${(counter++).toString(36).padStart(9, '0')}`;
    // A concatenation is a rope in V8, which the writer's first hash or regex would flatten on its
    // own time. Ids reaching mari from a client arrive flat (JSON.parse): flatten here, as they would be.
    id.charCodeAt(0);
    return id;
  };
}

export function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
}

/**
 * A fixed piece of work, timed (best of three, in ms): hashed lookups among 200,000 string keys
 * with bigint sums (memory latency, as the ledger's), then SHA-256 over 32 MB (arithmetic, as the
 * journal's). These machines run 20-40% slower in some hours; a figure measured in a slow hour
 * shows it here, so runs on different days can be compared.
 */
export function machineReference(): number {
  const keys = Array.from({ length: 200_000 }, (_, i) => `k${i}`);
  const data = Buffer.alloc(32 << 20, 7);
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    const map = new Map<string, bigint>();
    for (let i = 0; i < keys.length; i++) map.set(keys[i], BigInt(i));
    let sum = 0n;
    let x = 12345;
    for (let i = 0; i < 2_000_000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      sum += map.get(keys[x % keys.length])!;
    }
    createHash('sha256').update(data).digest();
    if (sum < 0n) throw new Error('unreachable');
    best = Math.min(best, performance.now() - started);
  }
  return round(best, 0);
}
