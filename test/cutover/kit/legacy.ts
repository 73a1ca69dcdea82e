// A generated legacy database in the local MariaDB, for the planner, parity and the rehearsal:
// shared/legacy/generate.mjs writes it, the mariadb client loads it into a database of its own.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** shared/legacy beside the repository (CI's clone), or beside a parent (a worktree). */
export function legacyDir(): string {
  let dir = path.resolve(here, '../../../..');
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, '..', 'shared', 'legacy');
    if (fs.existsSync(path.join(candidate, 'generate.mjs'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('shared/legacy/generate.mjs not found beside the repository');
}

export interface LegacyDatabase {
  name: string;
  url: string;
  /** Runs SQL against it (the test's deliberate changes). */
  sql(statement: string): void;
  drop(): void;
}

export function createLegacy(options: { subscribers: number; seed?: number; name: string }): LegacyDatabase {
  const name = `${options.name}_${process.pid}`;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-legacy-'));
  const dir = legacyDir();
  execFileSync(process.execPath, [path.join(dir, 'generate.mjs'), '--subscribers', String(options.subscribers), '--seed', String(options.seed ?? 7), '--out', out], { stdio: 'ignore' });
  const sql = (statement: string, database?: string) => execFileSync('mariadb', [...(database ? [database] : []), '-e', statement], { stdio: ['ignore', 'ignore', 'inherit'] });
  sql(`DROP DATABASE IF EXISTS ${name}; CREATE DATABASE ${name}`);
  execFileSync('mariadb', [name], { input: fs.readFileSync(path.join(dir, 'schema.sql')) });
  execFileSync('mariadb', [name], { input: fs.readFileSync(path.join(out, 'data.sql')), maxBuffer: 1 << 30 });
  fs.rmSync(out, { recursive: true, force: true });
  return {
    name,
    url: `mysql://root@127.0.0.1:3306/${name}`,
    sql: (statement) => sql(statement, name),
    drop: () => sql(`DROP DATABASE IF EXISTS ${name}`),
  };
}
