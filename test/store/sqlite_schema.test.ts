// SQLite's own schema upgrades (PostgreSQL has its own, in postgres_schema.ts): a data directory
// written by an older mari opens with everything in it, upgraded in place; a derived history
// index of an older layout, or ahead of the journal, is rebuilt from it (verify reads an index of
// an older layout as none).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, SqliteStore } from '../../src/store/sqlite.js';
import { openLedger } from '../../src/store/open.js';

test('documents written under schema 2 (clustered on the key) survive the move to a rowid table', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-schema-'));
  const old = new Database(path.join(dataDir, 'ledger.sqlite'));
  old.exec(MIGRATIONS[0]);
  old.exec(MIGRATIONS[1]);
  old.pragma('user_version = 2');
  const put = old.prepare('INSERT INTO documents VALUES (?, ?, ?, ?, ?)');
  put.run('parties', 'p1', 'active', '{"name":"Tendai"}', 1);
  put.run('parties', 'p2', null, '{"name":"Rudo"}', 2);
  put.run('outbox', 'o1', 'queued', '{"text":"Mari: you received USD 5.00"}', 3);
  old.close();

  const handle = await openLedger({ dataDir });
  // One hook, close then remove (after hooks run in the order they were added): with the
  // directory removed first, the store's threads lost their files under them and close() hung
  // a CI run.
  t.after(async () => {
    await handle.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  assert.equal(Number((handle.store as unknown as { db: Database.Database }).db.pragma('user_version', { simple: true })), MIGRATIONS.length);
  const p1 = await handle.store.document('parties', 'p1');
  assert.equal(p1?.value, '{"name":"Tendai"}');
  assert.equal(p1?.tag, 'active');
  const queued = [];
  for await (const doc of handle.store.documents('outbox', { tag: 'queued' })) queued.push(doc.key);
  assert.deepEqual(queued, ['o1']);
  // The upgraded table still refuses a second document under one key: upserts replace it.
  await handle.writer.execute({ run: (ctx) => ctx.put({ collection: 'parties', key: 'p2', tag: 'active', value: '{"name":"Rudo M."}' }) });
  const p2 = await handle.store.document('parties', 'p2');
  assert.equal(p2?.value, '{"name":"Rudo M."}');
  const all = [];
  for await (const doc of handle.store.documents('parties')) all.push(doc.key);
  assert.deepEqual(all, ['p1', 'p2']);
});

test('a history index of the old layout (entries by account) is deleted and rebuilt from the journal', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-schema-'));
  t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  let handle = await openLedger({ dataDir });
  try {
    await handle.writer.createAccounts([{ id: 'a', asset: 'USD', code: 1 }, { id: 'b', asset: 'USD', code: 1 }]);
    assert.deepEqual(await handle.writer.createTransfers([
      { id: 't1', debit_account_id: 'a', credit_account_id: 'b', amount: 5n, asset: 'USD', code: 1 },
      { id: 't2', debit_account_id: 'b', credit_account_id: 'a', amount: 2n, asset: 'USD', code: 1 },
    ]), ['ok', 'ok']);
  } finally {
    await handle.close();
  }
  // The layout before postings, claiming to be caught up with the journal, and holding a wrong entry.
  const historyFile = path.join(dataDir, 'history.sqlite');
  for (const file of fs.readdirSync(dataDir)) if (file.startsWith('history.sqlite')) fs.rmSync(path.join(dataDir, file));
  const ledger = new Database(path.join(dataDir, 'ledger.sqlite'), { readonly: true });
  const last = ledger.prepare('SELECT max(timestamp) FROM transfers').pluck().safeIntegers(true).get() as bigint;
  ledger.close();
  const old = new Database(historyFile);
  old.exec(`
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    CREATE TABLE entries (account_no INTEGER NOT NULL, timestamp INTEGER NOT NULL, debits_pending INTEGER NOT NULL, debits_posted INTEGER NOT NULL,
      credits_pending INTEGER NOT NULL, credits_posted INTEGER NOT NULL, PRIMARY KEY (account_no, timestamp)) WITHOUT ROWID, STRICT;
    CREATE TABLE balances (account_no INTEGER PRIMARY KEY, debits_pending INTEGER NOT NULL, debits_posted INTEGER NOT NULL,
      credits_pending INTEGER NOT NULL, credits_posted INTEGER NOT NULL) STRICT;`);
  old.prepare("INSERT INTO meta VALUES ('watermark', ?)").run(last.toString());
  old.prepare('INSERT INTO entries VALUES (1, ?, 0, 0, 0, 99)').run(last);
  old.close();

  handle = await openLedger({ dataDir });
  try {
    const page = await handle.store.accountHistory(handle.ledger.accounts.get('b')!, { limit: 10 });
    assert.deepEqual(page.entries.map((e) => [e.transfer.id, e.after.debits_posted, e.after.credits_posted]), [['t2', 2n, 5n], ['t1', 0n, 5n]]);
  } finally {
    await handle.close();
  }
  const rebuilt = new Database(historyFile, { readonly: true });
  try {
    assert.deepEqual(rebuilt.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all(), ['balances', 'marks', 'meta', 'postings']);
    assert.equal(rebuilt.prepare('SELECT count(*) FROM postings').pluck().get(), 2);
  } finally {
    rebuilt.close();
  }
});

test('verify reads a history index of the old layout as none', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-schema-'));
  t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const handle = await openLedger({ dataDir });
  await handle.writer.createAccounts([{ id: 'a', asset: 'USD', code: 1 }, { id: 'b', asset: 'USD', code: 1 }]);
  await handle.writer.createTransfers([{ id: 't1', debit_account_id: 'a', credit_account_id: 'b', amount: 5n, asset: 'USD', code: 1 }]);
  await handle.close();
  for (const file of fs.readdirSync(dataDir)) if (file.startsWith('history.sqlite')) fs.rmSync(path.join(dataDir, file));
  const old = new Database(path.join(dataDir, 'history.sqlite'));
  old.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT; INSERT INTO meta VALUES ('watermark', '1'); CREATE TABLE entries (x INTEGER)");
  old.close();
  const store = new SqliteStore({ dataDir, readonly: true });
  try {
    const report = store.verify();
    assert.equal(report.ok, true);
    assert.equal(report.transfers, 1);
  } finally {
    await store.close();
  }
});

test('a history index ahead of the journal (the ledger restored from an older backup) is emptied and rebuilt', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-schema-'));
  t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const pay = (id: string) => ({ id, debit_account_id: 'a', credit_account_id: 'b', amount: 1n, asset: 'USD', code: 1 });
  const historyOfB = async (handle: Awaited<ReturnType<typeof openLedger>>) =>
    (await handle.store.accountHistory(handle.ledger.accounts.get('b')!, { limit: 10 })).entries.map((e) => e.transfer.id);
  let handle = await openLedger({ dataDir });
  await handle.writer.createAccounts([{ id: 'a', asset: 'USD', code: 1 }, { id: 'b', asset: 'USD', code: 1 }]);
  await handle.writer.createTransfers([pay('t1')]);
  await handle.close();
  const backup = path.join(dataDir, 'ledger.backup');
  fs.copyFileSync(path.join(dataDir, 'ledger.sqlite'), backup);
  handle = await openLedger({ dataDir });
  await handle.writer.createTransfers([pay('t2')]);
  await handle.writer.createTransfers([pay('t3')]);
  assert.deepEqual(await historyOfB(handle), ['t3', 't2', 't1']);
  await handle.close();
  fs.copyFileSync(backup, path.join(dataDir, 'ledger.sqlite'));

  handle = await openLedger({ dataDir });
  try {
    assert.deepEqual(await historyOfB(handle), ['t1'], 'indexed from the restored journal alone');
    await handle.writer.createTransfers([pay('t4')]);
    assert.deepEqual(await historyOfB(handle), ['t4', 't1']);
  } finally {
    await handle.close();
  }
  const store = new SqliteStore({ dataDir, readonly: true });
  try {
    assert.deepEqual(store.verify().failure, undefined);
  } finally {
    await store.close();
  }
});
