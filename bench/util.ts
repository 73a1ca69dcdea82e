// Small helpers shared by the benchmarks: temp dirs, percentiles, monotonic ids.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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
