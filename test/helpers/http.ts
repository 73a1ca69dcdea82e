// Shared set-up for HTTP tests: a fresh data directory and ledger, the app (not listening), one
// operator and one auditor key, and the checks every writing test ends with.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { KeyStore } from '../../src/auth/keys.js';
import { buildApp } from '../../src/channels/http/app.js';
import { openPlatform, type Platform } from '../../src/platform.js';
import { loadConfig, type Config } from '../../src/config.js';
import { verifyJournal } from '../../src/ledger/verify.js';
import { openLedger, type LedgerHandle } from '../../src/store/open.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { dropDatabase, freshDatabase } from './postgres.js';

export interface Answer {
  status: number;
  // Tests read arbitrary JSON fields; the OpenAPI test pins the shapes.
  body: any;
  headers: Record<string, unknown>;
  text: string;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD';
  url: string;
  /** Sent as JSON unless `payload` is given. */
  body?: unknown;
  /** A raw body, sent as is. */
  payload?: string | Buffer;
  /** The bearer key; defaults to the operator's. null sends no Authorization header. */
  key?: string | null;
  headers?: Record<string, string>;
}

export interface HttpFixture {
  dir: string;
  config: Readonly<Config>;
  handle: LedgerHandle;
  keys: KeyStore;
  app: FastifyInstance;
  platform: Platform;
  operator: string;
  auditor: string;
  request(options: RequestOptions): Promise<Answer>;
  close(): Promise<void>;
}

export async function openHttp(options: { config?: Partial<Config>; logger?: boolean | object; clock?: () => bigint } = {}): Promise<HttpFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-'));
  const config = loadConfig({}, { data_dir: dir, ...options.config });
  // MARI_TEST_STORE=postgres runs the fixture on a fresh PostgreSQL database (dropped at close).
  const database = process.env.MARI_TEST_STORE === 'postgres' ? await freshDatabase(undefined) : undefined;
  const handle = await openLedger({ dataDir: dir, store: database, clock: options.clock });
  const platform = await openPlatform(handle, config);
  const keys = KeyStore.open(config);
  const operator = keys.create('operator', 'test operator');
  const auditor = keys.create('auditor', 'test auditor');
  const app = await buildApp({ handle, config, keys, logger: options.logger, modules: platform.modules.values() });
  const fixture: HttpFixture = {
    dir, config, handle, platform, keys, app, operator, auditor,
    request: (request) => send(app, request, operator),
    async close() {
      await app.close();
      await platform.close();
      fs.rmSync(dir, { recursive: true, force: true });
      if (database) await dropDatabase(new URL(database).pathname.slice(1));
    },
  };
  return fixture;
}

async function send(app: FastifyInstance, options: RequestOptions, operator: string): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? operator : options.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  let payload = options.payload;
  if (payload === undefined && options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await app.inject({ method: options.method ?? (payload === undefined ? 'GET' : 'POST'), url: options.url, headers, payload });
  const text = response.body;
  let body: unknown = undefined;
  if (text !== '') body = JSON.parse(text);
  return { status: response.statusCode, body, headers: response.headers, text };
}

/** Every account's balances and the number of journal records: what a refused request must not change. */
export function ledgerState(handle: LedgerHandle): { accounts: Record<string, string>; records: number } {
  const accounts: Record<string, string> = {};
  for (const account of handle.ledger.accounts.values()) {
    accounts[account.id] = [account.debits_pending, account.debits_posted, account.credits_pending, account.credits_posted].join('/');
  }
  return { accounts, records: sqliteStore(handle).verifySource().recordCount() };
}

export function assertJournalOk(handle: LedgerHandle): void {
  const report = verifyJournal(sqliteStore(handle).verifySource());
  assert.equal(report.ok, true, JSON.stringify(report.failure));
}

/** These checks read the journal synchronously, which only SQLite allows (PostgreSQL: await store.verify()). */
function sqliteStore(handle: LedgerHandle): SqliteStore {
  assert.ok(handle.store instanceof SqliteStore, 'this check reads the journal synchronously: SQLite only');
  return handle.store;
}

export const USD = { asset: 'USD', code: 1 } as const;

/**
 * A float (the operator's unbounded source of funds), wallets that may not be overdrawn, and a
 * bank trust account, created in one batch and funded from the float.
 */
export async function seedWallets(fixture: HttpFixture, funding: Record<string, bigint> = {}): Promise<void> {
  const accounts = [
    { id: 'float', ...USD },
    { id: 'alice', ...USD, flags: ['debits_must_not_exceed_credits'] },
    { id: 'bob', ...USD, flags: ['debits_must_not_exceed_credits'] },
    { id: 'carol', ...USD, flags: ['debits_must_not_exceed_credits'] },
    { id: 'zwg_float', asset: 'ZWG', code: 1 },
  ];
  const created = await fixture.request({ url: '/accounts/batch', body: { accounts } });
  assert.equal(created.status, 200);
  assert.deepEqual(created.body.results.map((r: { result: string }) => r.result), accounts.map(() => 'ok'));
  const transfers = Object.entries(funding).map(([id, amount]) => ({
    id: `fund-${id}`, debit_account_id: 'float', credit_account_id: id, amount: amount.toString(), ...USD,
  }));
  if (transfers.length === 0) return;
  const funded = await fixture.request({ url: '/transfers/batch', body: { transfers } });
  assert.equal(funded.status, 200);
  assert.deepEqual(funded.body.results.map((r: { result: string }) => r.result), transfers.map(() => 'ok'));
}
