// SQLite's own schema upgrades (PostgreSQL has its own, in postgres_schema.ts): a data directory
// written by an older mari opens with everything in it, upgraded in place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/sqlite.js';
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
