// Checks verifyJournal against a real SQLite store: a clean journal passes; each kind of tampering fails naming the right check, entry, record or account.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import Database from 'better-sqlite3';
import { GENESIS_HASH, hashEntry } from '../../src/ledger/journal.js';
import { verifyJournal, type VerifyReport } from '../../src/ledger/verify.js';
import { AccountFlag, TransferFlag, type TransferInput } from '../../src/ledger/types.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { openLedger } from '../../src/store/open.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { Writer, WRITER_DEFAULTS } from '../../src/store/writer.js';

const TRIGGERS = [
  'transfers_append_only_update', 'transfers_append_only_delete',
  'journal_append_only_update', 'journal_append_only_delete',
  'accounts_immutable', 'accounts_no_delete',
];

function xfer(id: string, debit: string, credit: string, amount: bigint, extra: Partial<TransferInput> = {}): TransferInput {
  return { id, debit_account_id: debit, credit_account_id: credit, amount, asset: 'USD', code: 1, ...extra };
}

/**
 * A closed data directory whose journal holds five entries:
 *   1: accounts a, b, w (a USD wallet), c, d (ZWG)   2: fund a→w 1000
 *   3: pay w→b 100, pending p w→b 50                  4: post q of p, 30   5: zz c→d 7 ZWG
 * and a checkpoint (written on close) after all of them.
 */
async function fixture(t: TestContext): Promise<string> {
  template ??= build();
  const source = await template;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.cpSync(source, dir, { recursive: true });
  return dir;
}

class SpacedLedger extends Ledger {
  override nextTimestamp(now?: bigint): bigint {
    return super.nextTimestamp(this.lastTimestamp + 1_000n > (now ?? 0n) ? this.lastTimestamp + 1_000n : now);
  }
}

/** Built once and copied for each test: faster, and each test tampers with its own copy. */
let template: Promise<string> | undefined;

async function build(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  // Built as openLedger builds it, but leaving 1 µs between timestamps, even within a batch (room to forge in).
  const store = new SqliteStore({ dataDir: dir });
  const ledger = new SpacedLedger({ assets: store.assets() });
  await store.load(ledger);
  const writer = new Writer(ledger, store, WRITER_DEFAULTS);
  const h = { ledger, store, writer, close: async () => { await writer.close(); await store.close(); } };
  const fatal: Error[] = [];
  writer.on('fatal', (error) => fatal.push(error));
  const steps: Promise<string[]>[] = [];
  steps.push(h.writer.createAccounts([
    { id: 'a', asset: 'USD', code: 1 },
    { id: 'b', asset: 'USD', code: 1 },
    { id: 'w', asset: 'USD', code: 1, flags: AccountFlag.debits_must_not_exceed_credits },
    { id: 'c', asset: 'ZWG', code: 1 },
    { id: 'd', asset: 'ZWG', code: 1 },
  ]));
  for (const events of [
    [xfer('fund', 'a', 'w', 1000n)],
    [xfer('pay', 'w', 'b', 100n), xfer('p', 'w', 'b', 50n, { flags: TransferFlag.pending })],
    [{ id: 'q', pending_id: 'p', flags: TransferFlag.post_pending_transfer, amount: 30n }],
    [xfer('zz', 'c', 'd', 7n, { asset: 'ZWG' })],
  ]) {
    await steps.at(-1)!.catch(() => undefined);
    steps.push(h.writer.createTransfers(events));
  }
  const settled = await Promise.allSettled(steps);
  assert.deepEqual(fatal.map((e) => inspect(e)), [], 'the fixture\'s writer did not stop');
  for (const s of settled) assert.ok(s.status === 'fulfilled' && s.value.every((r) => r === 'ok'), JSON.stringify(s));
  const live = verifyJournal(h.store.verifySource());
  assert.equal(live.ok, true, 'the live store verifies');
  await h.close();
  const db = new Database(path.join(dir, 'ledger.sqlite'), { readonly: true });
  assert.equal(db.prepare('SELECT count(*) FROM journal').pluck().get(), 5, 'one entry per commit');
  db.close();
  return dir;
}

function verify(dir: string): VerifyReport {
  const store = new SqliteStore({ dataDir: dir, readonly: true });
  try {
    return store.db.transaction(() => verifyJournal(store.verifySource()))();
  } finally {
    void store.close();
  }
}

/** Opens the ledger file directly, drops the append-only triggers, and runs `edit`. */
function tamper(dir: string, edit: (db: Database.Database) => void): void {
  const db = new Database(path.join(dir, 'ledger.sqlite'));
  db.defaultSafeIntegers(true);
  try {
    for (const trigger of TRIGGERS) db.exec(`DROP TRIGGER IF EXISTS ${trigger}`);
    edit(db);
  } finally {
    db.close();
  }
}

/** What a forger who also controls the hashes would do: recompute every entry's count, prev_hash and hash. */
function rehash(dir: string): void {
  const store = new SqliteStore({ dataDir: dir, readonly: true });
  const updates: { seq: number; count: number; prev: Buffer; hash: Buffer }[] = [];
  try {
    const source = store.verifySource();
    let prev = GENESIS_HASH;
    for (const entry of source.entries()) {
      const records = [...source.records(entry.first_timestamp, entry.last_timestamp)];
      const hash = hashEntry(prev, records);
      updates.push({ seq: entry.seq, count: records.length, prev, hash });
      prev = hash;
    }
  } finally {
    void store.close();
  }
  tamper(dir, (db) => {
    const update = db.prepare('UPDATE journal SET count = ?, prev_hash = ?, hash = ? WHERE seq = ?');
    for (const u of updates) update.run(u.count, u.prev, u.hash, u.seq);
  });
}

function timestampOf(db: Database.Database, id: string): bigint {
  return db.prepare('SELECT timestamp FROM transfers WHERE id = ?').pluck().get(id) as bigint;
}

function failure(report: VerifyReport) {
  assert.equal(report.ok, false, 'verification must fail');
  assert.ok(report.failure);
  const { check, entry_seq, record_id, account_id } = report.failure;
  return { check, entry_seq, record_id, account_id };
}

test('a clean journal verifies, with its totals per asset', async (t) => {
  const dir = await fixture(t);
  const report = verify(dir);
  assert.equal(report.ok, true);
  assert.equal(report.failure, undefined);
  assert.equal(report.entries, 5);
  assert.equal(report.accounts, 5);
  assert.equal(report.transfers, 5);
  const totals = Object.fromEntries(report.assets.map((a) => [a.asset, [a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted]]));
  assert.deepEqual(totals, { USD: [0n, 1130n, 0n, 1130n], ZWG: [0n, 7n, 0n, 7n] });
});

test('an empty data directory verifies', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  await (await openLedger({ dataDir: dir })).close();
  const report = verify(dir);
  assert.equal(report.ok, true);
  assert.equal(report.entries, 0);
});

test('a transfer\'s amount changed: the chain breaks at its entry', async (t) => {
  const dir = await fixture(t);
  tamper(dir, (db) => assert.equal(db.prepare("UPDATE transfers SET amount = 99 WHERE id = 'pay'").run().changes, 1));
  const report = verify(dir);
  assert.deepEqual(failure(report), { check: 'chain', entry_seq: 3, record_id: undefined, account_id: undefined });
  assert.equal(report.entries, 2, 'entries before it verified');
});

test('a transfer\'s user_data changed: the chain breaks at its entry', async (t) => {
  const dir = await fixture(t);
  tamper(dir, (db) => db.prepare("UPDATE transfers SET user_data = 'x' WHERE id = 'zz'").run());
  assert.deepEqual(failure(verify(dir)), { check: 'chain', entry_seq: 5, record_id: undefined, account_id: undefined });
});

test('an account\'s flags changed: the chain breaks at the entry that created it', async (t) => {
  const dir = await fixture(t);
  tamper(dir, (db) => db.prepare("UPDATE accounts SET flags = 0 WHERE id = 'w'").run());
  assert.deepEqual(failure(verify(dir)), { check: 'chain', entry_seq: 1, record_id: undefined, account_id: undefined });
});

/** Opens the directory once so the derived history index is brought up to date, then edits history.sqlite. */
async function tamperHistory(dir: string, edit: (db: Database.Database, w: number) => void): Promise<void> {
  const h = await openLedger({ dataDir: dir });
  const w = h.ledger.accounts.get('w')!;
  assert.equal((await h.store.accountHistory(w, { limit: 10 })).entries.length, 4, 'indexed');
  await h.close();
  const history = new Database(path.join(dir, 'history.sqlite'));
  try {
    edit(history, w.no);
  } finally {
    history.close();
  }
}

test('a stored after-balance changed (history index): the history check names record and account', async (t) => {
  const dir = await fixture(t);
  assert.equal(verify(dir).ok, true, 'an indexed history verifies');
  await tamperHistory(dir, (db, w) => {
    // w's side of each of its four postings: credited by fund, debited by pay, p and q.
    const credited = db.prepare('UPDATE postings SET credit_credits_posted = credit_credits_posted + 1 WHERE credit_no = ?').run(w).changes;
    const debited = db.prepare('UPDATE postings SET debit_credits_posted = debit_credits_posted + 1 WHERE debit_no = ?').run(w).changes;
    assert.equal(credited + debited, 4);
  });
  assert.deepEqual(failure(verify(dir)), { check: 'history', entry_seq: 2, record_id: 'fund', account_id: 'w' });
});

test('a history posting deleted, or one added: the history check fails', async (t) => {
  const deleted = await fixture(t);
  await tamperHistory(deleted, (db, w) => assert.equal(db.prepare('DELETE FROM postings WHERE timestamp = (SELECT last_timestamp FROM balances WHERE account_no = ?)').run(w).changes, 1));
  assert.deepEqual(failure(verify(deleted)), { check: 'history', entry_seq: 4, record_id: 'q', account_id: 'w' });
  // A copy of fund's posting 1 ns after it, where the journal has no transfer.
  const added = await fixture(t);
  await tamperHistory(added, (db) => assert.equal(db.prepare(`INSERT INTO postings SELECT timestamp + 1, debit_no, credit_no, debit_prev, credit_prev,
    debit_debits_pending, debit_debits_posted, debit_credits_pending, debit_credits_posted,
    credit_debits_pending, credit_debits_posted, credit_credits_pending, credit_credits_posted FROM postings ORDER BY timestamp LIMIT 1`).run().changes, 1));
  const report = verify(added);
  assert.deepEqual(failure(report), { check: 'history', entry_seq: undefined, record_id: undefined, account_id: undefined });
  assert.match(report.failure!.message, /holds 12 entries where the journal explains 10/);
});

test('a history link broken (q linked past pay and p to fund, hiding them from w\'s history): the history check names record and account', async (t) => {
  const dir = await fixture(t);
  await tamperHistory(dir, (db, w) => {
    const fund = db.prepare('SELECT timestamp FROM postings WHERE credit_no = ? ORDER BY timestamp LIMIT 1').pluck().get(w);
    assert.equal(db.prepare('UPDATE postings SET debit_prev = ? WHERE timestamp = (SELECT last_timestamp FROM balances WHERE account_no = ?)').run(fund, w).changes, 1);
  });
  const report = verify(dir);
  assert.deepEqual(failure(report), { check: 'history', entry_seq: 4, record_id: 'q', account_id: 'w' });
  assert.match(report.failure!.message, /links w's entry at q/);
});

test('an account\'s latest posting in the history index moved back (hiding q): the history check names the account', async (t) => {
  const dir = await fixture(t);
  await tamperHistory(dir, (db, w) => assert.equal(db.prepare(`UPDATE balances SET last_timestamp =
    (SELECT debit_prev FROM postings WHERE timestamp = balances.last_timestamp) WHERE account_no = ?`).run(w).changes, 1));
  assert.deepEqual(failure(verify(dir)), { check: 'history', entry_seq: undefined, record_id: undefined, account_id: 'w' });
});

test('a history mark forged: the history check fails', async (t) => {
  const dir = await fixture(t);
  await tamperHistory(dir, (db, w) => db.prepare('INSERT INTO marks SELECT ?, last_timestamp FROM balances WHERE account_no = ?').run(w, w));
  const report = verify(dir);
  assert.deepEqual(failure(report), { check: 'history', entry_seq: undefined, record_id: undefined, account_id: undefined });
  assert.match(report.failure!.message, /holds 1 marks where the journal explains 0/);
});

test('a history mark deleted: the history check names the entry and account it marked', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const h = await openLedger({ dataDir: dir });
  try {
    await h.writer.createAccounts([{ id: 'a', asset: 'USD', code: 1 }, { id: 'b', asset: 'USD', code: 1 }]);
    // 70 transfers between a and b: each account's 64th is marked.
    assert.ok((await h.writer.createTransfers(Array.from({ length: 70 }, (_, i) => xfer(`t${i}`, 'a', 'b', 1n)))).every((r) => r === 'ok'));
    assert.equal((await h.store.accountHistory(h.ledger.accounts.get('a')!, { limit: 1 })).entries[0].transfer.id, 't69', 'indexed');
  } finally {
    await h.close();
  }
  assert.equal(verify(dir).ok, true, 'marked and verified');
  const history = new Database(path.join(dir, 'history.sqlite'));
  try {
    assert.equal(history.prepare('DELETE FROM marks WHERE account_no = 1').run().changes, 1);
  } finally {
    history.close();
  }
  assert.deepEqual(failure(verify(dir)), { check: 'history', entry_seq: 2, record_id: 't63', account_id: 'b' });
});

test('a live store verified while its history index moves on: heads read past the watermark verification began at are not compared', async (t) => {
  const dir = await fixture(t);
  const h = await openLedger({ dataDir: dir });
  try {
    const w = h.ledger.accounts.get('w')!;
    await h.store.accountHistory(w, { limit: 1 });
    const source = h.store.verifySource();
    const history = source.history!();
    assert.deepEqual(await h.writer.createTransfers([xfer('later', 'a', 'w', 5n)]), ['ok']);
    assert.equal((await h.store.accountHistory(w, { limit: 1 })).entries[0].transfer.id, 'later', 'the index moved on');
    const report = verifyJournal({ ...source, history: () => history });
    assert.deepEqual(report.failure, undefined);
    assert.equal(report.transfers, 6);
  } finally {
    await h.close();
  }
});

test('a transfer deleted: its entry covers fewer records than it says', async (t) => {
  const dir = await fixture(t);
  tamper(dir, (db) => assert.equal(db.prepare("DELETE FROM transfers WHERE id = 'pay'").run().changes, 1));
  assert.deepEqual(failure(verify(dir)), { check: 'coverage', entry_seq: 3, record_id: undefined, account_id: undefined });
});

test('a forged transfer inserted inside an entry\'s range: coverage fails at that entry', async (t) => {
  const dir = await fixture(t);
  tamper(dir, (db) => {
    const first = timestampOf(db, 'pay');
    const last = timestampOf(db, 'p');
    assert.ok(last - first > 1n, 'room between the two records of entry 3');
    db.prepare(`INSERT INTO transfers (timestamp, id, debit_no, credit_no, amount, pending_id, pending_amount, asset, code, flags, timeout, user_data, reversal_of)
      VALUES (?, 'forged', 1, 0, 5, NULL, 0, 'USD', 1, 0, 0, NULL, NULL)`).run(first + 1n);
  });
  assert.deepEqual(failure(verify(dir)), { check: 'coverage', entry_seq: 3, record_id: undefined, account_id: undefined });
});

test('a forged transfer inserted outside every entry: coverage fails for the journal', async (t) => {
  const dir = await fixture(t);
  tamper(dir, (db) => {
    const last = db.prepare('SELECT max(last_timestamp) FROM journal').pluck().get() as bigint;
    db.prepare(`INSERT INTO transfers (timestamp, id, debit_no, credit_no, amount, pending_id, pending_amount, asset, code, flags, timeout, user_data, reversal_of)
      VALUES (?, 'forged', 1, 0, 5, NULL, 0, 'USD', 1, 0, 0, NULL, NULL)`).run(last + 1_000n);
  });
  const report = verify(dir);
  assert.deepEqual(failure(report), { check: 'coverage', entry_seq: undefined, record_id: undefined, account_id: undefined });
  assert.equal(report.entries, 5);
});

test('an account\'s checkpoint balance changed: the checkpoint check names the account', async (t) => {
  const dir = await fixture(t);
  tamper(dir, (db) => assert.equal(db.prepare("UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = 'w'").run().changes, 1));
  assert.deepEqual(failure(verify(dir)), { check: 'checkpoint', entry_seq: undefined, record_id: undefined, account_id: 'w' });
});

test('the checkpoint timestamp moved back: the stored balances no longer match that point', async (t) => {
  const dir = await fixture(t);
  tamper(dir, (db) => {
    const fund = timestampOf(db, 'fund');
    db.prepare("UPDATE meta SET value = ? WHERE key = 'checkpoint_timestamp'").run(fund.toString());
  });
  // At 'fund', a and w already match their final balances' fund part, but b (no 1) does not: b is named first.
  assert.deepEqual(failure(verify(dir)), { check: 'checkpoint', entry_seq: undefined, record_id: undefined, account_id: 'b' });
});

test('a journal hash changed: the chain breaks at that entry', async (t) => {
  for (const seq of [3, 5]) {
    const dir = await fixture(t);
    tamper(dir, (db) => assert.equal(db.prepare('UPDATE journal SET hash = zeroblob(32) WHERE seq = ?').run(seq).changes, 1));
    assert.deepEqual(failure(verify(dir)), { check: 'chain', entry_seq: seq, record_id: undefined, account_id: undefined }, `entry ${seq}`);
  }
});

test('a journal entry deleted: the chain names the entry found in its place', async (t) => {
  const dir = await fixture(t);
  tamper(dir, (db) => assert.equal(db.prepare('DELETE FROM journal WHERE seq = 3').run().changes, 1));
  const report = verify(dir);
  assert.deepEqual(failure(report), { check: 'chain', entry_seq: 4, record_id: undefined, account_id: undefined });
  assert.equal(report.entries, 2);
});

test('the last journal entry deleted: the checkpoint names the account its record moved', async (t) => {
  const dir = await fixture(t);
  tamper(dir, (db) => db.prepare('DELETE FROM journal WHERE seq = 5').run());
  const report = verify(dir);
  // The checkpoint (compared before the leftover-records count) holds zz's effect on c, which the journal no longer covers.
  assert.deepEqual(failure(report), { check: 'checkpoint', entry_seq: undefined, record_id: undefined, account_id: 'c' });
  assert.equal(report.entries, 4);
});

test('the last journal entry deleted before any checkpoint: its records are outside every entry', async (t) => {
  const dir = await fixture(t);
  tamper(dir, (db) => {
    db.prepare('DELETE FROM journal WHERE seq = 5').run();
    db.prepare("DELETE FROM meta WHERE key = 'checkpoint_timestamp'").run();
  });
  assert.deepEqual(failure(verify(dir)), { check: 'coverage', entry_seq: undefined, record_id: undefined, account_id: undefined });
});

test('two journal entries swapped: the chain breaks at the first', async (t) => {
  const dir = await fixture(t);
  tamper(dir, (db) => {
    db.prepare('UPDATE journal SET seq = 100 WHERE seq = 3').run();
    db.prepare('UPDATE journal SET seq = 3 WHERE seq = 4').run();
    db.prepare('UPDATE journal SET seq = 4 WHERE seq = 100').run();
  });
  assert.deepEqual(failure(verify(dir)), { check: 'chain', entry_seq: 3, record_id: undefined, account_id: undefined });
});

test('a rewritten and rehashed chain: the recomputation catches an overdrawn wallet, naming record and account', async (t) => {
  const dir = await fixture(t);
  tamper(dir, (db) => db.prepare("UPDATE transfers SET amount = 2000 WHERE id = 'pay'").run());
  rehash(dir);
  assert.deepEqual(failure(verify(dir)), { check: 'bounds', entry_seq: 3, record_id: 'pay', account_id: 'w' });
});

test('a rewritten and rehashed chain: a post of more than its pending reserved is caught, naming the record', async (t) => {
  const dir = await fixture(t);
  tamper(dir, (db) => db.prepare("UPDATE transfers SET amount = 60 WHERE id = 'q'").run());
  rehash(dir);
  assert.deepEqual(failure(verify(dir)), { check: 'record', entry_seq: 4, record_id: 'q', account_id: undefined });
});

test('a forged entry appended with a valid hash: the recomputation catches it', async (t) => {
  const dir = await fixture(t);
  tamper(dir, (db) => {
    const last = db.prepare('SELECT max(last_timestamp) FROM journal').pluck().get() as bigint;
    const ts = last + 1_000_000n;
    db.prepare(`INSERT INTO transfers (timestamp, id, debit_no, credit_no, amount, pending_id, pending_amount, asset, code, flags, timeout, user_data, reversal_of)
      VALUES (?, 'drain', 2, 1, 5000, NULL, 0, 'USD', 1, 0, 0, NULL, NULL)`).run(ts);
    db.prepare('INSERT INTO journal VALUES (6, ?, ?, 1, zeroblob(32), zeroblob(32))').run(ts, ts);
  });
  rehash(dir);
  const report = verify(dir);
  assert.deepEqual(failure(report), { check: 'bounds', entry_seq: 6, record_id: 'drain', account_id: 'w' });
  assert.equal(report.entries, 5);
});

/** Appends one forged transfer, in an entry of its own, then rehashes the chain as a forger would. */
function appendForged(dir: string, fields: { id: string; debit_no: number; credit_no: number; amount: number; reversal_of: string }): void {
  tamper(dir, (db) => {
    const last = db.prepare('SELECT max(last_timestamp) FROM journal').pluck().get() as bigint;
    const ts = last + 1_000_000n;
    db.prepare(`INSERT INTO transfers (timestamp, id, debit_no, credit_no, amount, pending_id, pending_amount, asset, code, flags, timeout, user_data, reversal_of)
      VALUES (?, ?, ?, ?, ?, NULL, 0, 'USD', 1, 0, 0, NULL, ?)`).run(ts, fields.id, fields.debit_no, fields.credit_no, fields.amount, fields.reversal_of);
    db.prepare('INSERT INTO journal VALUES (6, ?, ?, 1, zeroblob(32), zeroblob(32))').run(ts, ts);
  });
  rehash(dir);
}

test('a forged reversal that does not swap the original\'s accounts is caught, naming the record', async (t) => {
  const dir = await fixture(t);
  // 'pay' moved 100 from w (2) to b (1); this "reversal" takes from a (0) instead of b.
  appendForged(dir, { id: 'undo', debit_no: 0, credit_no: 2, amount: 100, reversal_of: 'pay' });
  const report = verify(dir);
  assert.deepEqual(failure(report), { check: 'record', entry_seq: 6, record_id: 'undo', account_id: undefined });
  assert.match(report.failure!.message, /does not swap/);
});

test('a forged reversal of more than the original moved is caught', async (t) => {
  const dir = await fixture(t);
  appendForged(dir, { id: 'undo', debit_no: 1, credit_no: 2, amount: 150, reversal_of: 'pay' });
  const report = verify(dir);
  assert.deepEqual(failure(report), { check: 'record', entry_seq: 6, record_id: 'undo', account_id: undefined });
  assert.match(report.failure!.message, /more than/);
});

test('a forged reversal of a transfer that never existed is caught', async (t) => {
  const dir = await fixture(t);
  appendForged(dir, { id: 'undo', debit_no: 1, credit_no: 2, amount: 10, reversal_of: 'ghost' });
  assert.match(failure(verify(dir)) && verify(dir).failure!.message, /not an earlier transfer/);
});

test('verify leaves the data directory usable', async (t) => {
  const dir = await fixture(t);
  assert.equal(verify(dir).ok, true);
  const h = await openLedger({ dataDir: dir });
  try {
    assert.deepEqual(await h.writer.createTransfers([xfer('more', 'a', 'b', 1n)]), ['ok']);
  } finally {
    await h.close();
  }
  assert.equal(verify(dir).ok, true);
});
