// The store suite runs each test against both stores: SQLite in a fresh temporary directory and
// PostgreSQL in a fresh database. A Place is one such empty store location.
import type { TestContext } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { VerifyReport } from '../../src/ledger/verify.js';
import { openLedger, type LedgerHandle, type OpenOptions } from '../../src/store/open.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { freshDatabase, query } from './postgres.js';

export interface Place {
  readonly kind: 'sqlite' | 'postgres';
  open(options?: Omit<OpenOptions, 'dataDir' | 'store'>): Promise<LedgerHandle>;
  /** A crash: the store goes away without the writer's final checkpoint (and gives up the writer role). */
  crash(handle: LedgerHandle): Promise<void>;
  /** verify, through a store of its own, as `mari verify` does. */
  verify(): Promise<VerifyReport>;
  /** The stored checkpoint timestamp and the newest transfer's. */
  checkpointAndNewest(): Promise<{ checkpoint: bigint; newest: bigint }>;
  /** Loses the derived history index (a deleted file, a truncated table): it must be rebuilt. */
  dropHistory(): Promise<void>;
  /** Runs one statement on the store's database directly; resolves to rows changed, or rejects if refused. */
  raw(sql: string): Promise<number>;
}

export const STORE_KINDS = ['sqlite', 'postgres'] as const;

export async function place(t: TestContext, kind: 'sqlite' | 'postgres'): Promise<Place> {
  return kind === 'sqlite' ? sqlitePlace(t) : postgresPlace(t);
}

function sqlitePlace(t: TestContext): Place {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const withDb = <T>(work: (db: Database.Database) => T, readonly = true): T => {
    const db = new Database(path.join(dir, 'ledger.sqlite'), { readonly });
    db.defaultSafeIntegers(true);
    try {
      return work(db);
    } finally {
      db.close();
    }
  };
  return {
    kind: 'sqlite',
    open: (options = {}) => openLedger({ ...options, dataDir: dir }),
    crash: (handle) => handle.store.close(),
    async verify() {
      const store = new SqliteStore({ dataDir: dir, readonly: true });
      try {
        return store.verify();
      } finally {
        await store.close();
      }
    },
    async checkpointAndNewest() {
      return withDb((db) => ({
        checkpoint: BigInt(db.prepare("SELECT value FROM meta WHERE key = 'checkpoint_timestamp'").pluck().get() as string),
        newest: db.prepare('SELECT max(timestamp) FROM transfers').pluck().get() as bigint,
      }));
    },
    async dropHistory() {
      for (const file of fs.readdirSync(dir)) if (file.startsWith('history.sqlite')) fs.rmSync(path.join(dir, file));
    },
    async raw(sql) {
      return withDb((db) => db.prepare(sql).run().changes, false);
    },
  };
}

async function postgresPlace(t: TestContext): Promise<Place> {
  const url = await freshDatabase(t);
  return {
    kind: 'postgres',
    open: (options = {}) => openLedger({ ...options, store: url }),
    async crash(handle) {
      await handle.store.close();
      await handle.role!.resign();
    },
    async verify() {
      const store = await PostgresStore.open({ url });
      try {
        return await store.verify();
      } finally {
        await store.close();
      }
    },
    async checkpointAndNewest() {
      const { rows } = await query(url, `SELECT (SELECT value FROM meta WHERE key = 'checkpoint_timestamp') AS checkpoint, (SELECT max(timestamp)::text FROM transfers) AS newest`);
      return { checkpoint: BigInt(rows[0].checkpoint), newest: BigInt(rows[0].newest) };
    },
    async dropHistory() {
      await query(url, "TRUNCATE account_entries; DELETE FROM meta WHERE key = 'history_watermark'");
    },
    async raw(sql) {
      return (await query(url, sql)).rowCount ?? 0;
    },
  };
}
