// What only the PostgreSQL store has: versioned migrations, the multi-host URL, text escaping
// for user_data that PostgreSQL's text type cannot hold, and the rule that a batch declares the
// ids it looks up (remote lookups are prefetched).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { openLedger } from '../../src/store/open.js';
import { PostgresStore, escapeText, resolvePrimary, unescapeText } from '../../src/store/postgres.js';
import { MIGRATIONS } from '../../src/store/postgres_schema.js';
import { freshDatabase, PG_SERVER_URL, query } from '../helpers/postgres.js';

test('migrations run once, in order, recorded in schema_migrations; a newer schema is refused', async (t) => {
  const url = await freshDatabase(t);
  await (await openLedger({ store: url })).close();
  await (await openLedger({ store: url })).close();
  const { rows } = await query(url, 'SELECT version, name FROM schema_migrations ORDER BY version');
  assert.deepEqual(rows.map((r) => [r.version, r.name]), MIGRATIONS.map((m) => [m.version, m.name]));
  assert.equal((await query(url, 'SELECT count(*)::int AS n FROM assets')).rows[0].n > 0, true);
  await query(url, `INSERT INTO schema_migrations (version, name) VALUES (${MIGRATIONS.length + 1}, 'from the future')`);
  await assert.rejects(openLedger({ store: url }), /migrated by a newer mari/);
  await assert.rejects(PostgresStore.open({ url }), /migrated by a newer mari/);
});

test('several processes starting on an empty database at once migrate it once', async (t) => {
  const url = await freshDatabase(t);
  const handles = await Promise.all([1, 2, 3].map(() => openLedger({ store: url })));
  try {
    assert.equal(handles.filter((h) => h.role!.writing).length, 1, 'exactly one writes');
    assert.equal((await query(url, 'SELECT count(*)::int AS n FROM schema_migrations')).rows[0].n, MIGRATIONS.length);
  } finally {
    for (const h of handles) await h.close();
  }
});

test('verify refuses a database that holds no ledger, and does not create one', async (t) => {
  const url = await freshDatabase(t);
  await assert.rejects(PostgresStore.open({ url }), /no mari ledger/);
  assert.equal((await query(url, "SELECT to_regclass('schema_migrations') IS NULL AS absent")).rows[0].absent, true);
});

test('a multi-host URL resolves to the host that accepts writes; none answering is an error naming each', async () => {
  const server = new URL(PG_SERVER_URL);
  const dead = '127.0.0.1:1';
  const multi = `postgres://${server.username}@${dead},${server.host}${server.pathname}`;
  assert.equal(await resolvePrimary(multi), `postgres://${server.username}@${server.host}${server.pathname}`);
  assert.equal(await resolvePrimary(PG_SERVER_URL), PG_SERVER_URL, 'one host: unchanged');
  await assert.rejects(resolvePrimary(`postgres://${server.username}@${dead},127.0.0.1:2/x`, 500), /no host accepts writes \(127\.0\.0\.1:1: .*; 127\.0\.0\.1:2: /);
});

test('user_data escaping round-trips any text, NUL and backslashes included', () => {
  fc.assert(fc.property(fc.oneof(fc.string({ unit: 'grapheme' }), fc.stringMatching(/^[\\\0a0]*$/)), (text) => {
    const stored = escapeText(text)!;
    assert.equal(stored.includes('\0'), false);
    assert.equal(unescapeText(stored), text);
  }));
  assert.equal(escapeText(null), null);
  assert.equal(unescapeText(null), null);
});

test('user_data with NUL and backslashes is stored and read back through a restart', async (t) => {
  const url = await freshDatabase(t);
  const odd = 'a\0b\\0c\\\\\0';
  let h = await openLedger({ store: url });
  assert.deepEqual(await h.writer.createAccounts([{ id: 'a', asset: 'USD', code: 1, user_data: odd }, { id: 'b', asset: 'USD', code: 1 }]), ['ok', 'ok']);
  assert.deepEqual(await h.writer.createTransfers([{ id: 't', debit_account_id: 'a', credit_account_id: 'b', amount: 1n, asset: 'USD', code: 1, user_data: odd }]), ['ok']);
  await h.close();
  h = await openLedger({ store: url });
  try {
    assert.equal(h.ledger.accounts.get('a')!.user_data, odd);
    assert.equal((await h.store.getTransfer('t'))!.user_data, odd);
    assert.deepEqual(await h.writer.createTransfers([{ id: 't', debit_account_id: 'a', credit_account_id: 'b', amount: 1n, asset: 'USD', code: 1, user_data: odd }]), ['exists']);
  } finally {
    await h.close();
  }
  const report = await (async () => {
    const store = await PostgresStore.open({ url });
    try {
      return await store.verify();
    } finally {
      await store.close();
    }
  })();
  assert.equal(report.ok, true, `the chain hashes the text itself, not its stored form: ${JSON.stringify(report.failure)}`);
});

test('a command that looks up a stored id it did not declare stops the writer rather than risk a duplicate', async (t) => {
  const url = await freshDatabase(t);
  const h = await openLedger({ store: url });
  t.after(() => h.close());
  await h.writer.createAccounts([{ id: 'a', asset: 'USD', code: 1 }, { id: 'b', asset: 'USD', code: 1 }]);
  await h.writer.createTransfers([{ id: 'stored', debit_account_id: 'a', credit_account_id: 'b', amount: 1n, asset: 'USD', code: 1 }]);
  assert.equal(await h.writer.execute({ ids: ['stored'], run: (ctx) => ctx.transfer('stored')?.amount }), 1n, 'declared: found');
  await assert.rejects(h.writer.execute({ run: (ctx) => ctx.transfer('stored') }));
  assert.match(h.writer.failed!.message, /without being declared/);
});
