// The store suite, run against SQLite and PostgreSQL alike, through openLedger: reopen keeps balances, pendings and expiries; checkpoint + replay; history; balanceAt; append-only triggers.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { AccountFlag, TransferFlag, zeroBalances, type Balances, type TransferInput } from '../../src/ledger/types.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import type { LedgerHandle } from '../../src/store/open.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { place, STORE_KINDS } from '../helpers/stores.js';

const S = 1_000_000_000n;
const WALLET = AccountFlag.debits_must_not_exceed_credits;

function xfer(id: string, debit: string, credit: string, amount: bigint, extra: Partial<TransferInput> = {}): TransferInput {
  return { id, debit_account_id: debit, credit_account_id: credit, amount, asset: 'USD', code: 1, ...extra };
}

function pending(id: string, debit: string, credit: string, amount: bigint, timeout = 0): TransferInput {
  return xfer(id, debit, credit, amount, { flags: TransferFlag.pending, timeout });
}

function post(id: string, pending_id: string, amount?: bigint): TransferInput {
  return { id, pending_id, flags: TransferFlag.post_pending_transfer, amount };
}

function bal(b: Balances): Balances {
  return { debits_pending: b.debits_pending, debits_posted: b.debits_posted, credits_pending: b.credits_pending, credits_posted: b.credits_posted };
}

function balances(ledger: Ledger): Record<string, Balances> {
  return Object.fromEntries(ledger.accountsByNo.map((a) => [a.id, bal(a)]));
}

async function ok(promise: Promise<string[]>, count: number): Promise<void> {
  assert.deepEqual(await promise, new Array(count).fill('ok'));
}

async function accounts(h: LedgerHandle, ...ids: string[]): Promise<void> {
  await ok(h.writer.createAccounts(ids.map((id) => ({ id, asset: 'USD', code: 1, flags: id.startsWith('w') ? WALLET : 0 }))), ids.length);
}

for (const kind of STORE_KINDS) {
test(`${kind}: close and reopen keeps accounts, balances, pending transfers and retries`, async (t) => {
  const store = await place(t, kind);
  let h = await store.open();
  await ok(h.writer.createAccounts([
    { id: 'a', asset: 'USD', code: 1 },
    { id: 'b', asset: 'USD', code: 1 },
    { id: 'w', asset: 'USD', code: 7, flags: WALLET, user_data: 'wallet | of\nx' },
  ]), 3);
  await ok(h.writer.createTransfers([xfer('fund', 'a', 'w', 1000n), pending('p1', 'w', 'b', 300n), pending('p2', 'w', 'b', 100n, 3600), pending('p3', 'w', 'b', 50n)]), 4);
  await ok(h.writer.createTransfers([post('q3', 'p3', 20n)]), 1);
  const before = balances(h.ledger);
  const p2 = await h.store.getTransfer('p2');
  assert.ok(p2);
  const last = h.ledger.lastTimestamp;
  await h.close();

  h = await store.open();
  try {
    assert.deepEqual(balances(h.ledger), before);
    assert.deepEqual(before.w, { debits_pending: 400n, debits_posted: 20n, credits_pending: 0n, credits_posted: 1000n });
    const w = h.ledger.accounts.get('w')!;
    assert.equal(w.flags, WALLET);
    assert.equal(w.code, 7);
    assert.equal(w.user_data, 'wallet | of\nx');
    assert.deepEqual([...h.ledger.pending.keys()].sort(), ['p1', 'p2']);
    assert.equal(h.ledger.nextExpiry(), p2.timestamp + 3600n * S);
    assert.ok(h.ledger.lastTimestamp >= last);
    assert.deepEqual(
      await h.writer.createTransfers([xfer('fund', 'a', 'w', 1000n), xfer('fund', 'a', 'w', 1n), post('q3', 'p3', 20n), post('q3b', 'p3'), pending('p1', 'w', 'b', 300n)]),
      ['exists', 'exists_with_different_amount', 'exists', 'pending_transfer_already_posted', 'exists'],
    );
    await ok(h.writer.createTransfers([post('q1', 'p1'), { id: 'v2', pending_id: 'p2', flags: TransferFlag.void_pending_transfer }]), 2);
    assert.deepEqual(bal(h.ledger.accounts.get('w')!), { debits_pending: 0n, debits_posted: 320n, credits_pending: 0n, credits_posted: 1000n });
    assert.equal(h.ledger.nextExpiry(), undefined);
    const q1 = await h.store.getTransfer('q1');
    assert.ok(q1 && q1.timestamp > last, 'timestamps keep increasing across a restart');
    assert.deepEqual(await h.writer.createTransfers([xfer('over', 'w', 'b', 681n)]), ['exceeds_credits']);
  } finally {
    await h.close();
  }
  assert.deepEqual((await store.verify()).failure, undefined);
});

test(`${kind}: a pending transfer with a 1 s timeout expires after a reopen`, async (t) => {
  const store = await place(t, kind);
  let h = await store.open();
  await accounts(h, 'a', 'b');
  await ok(h.writer.createTransfers([pending('p', 'a', 'b', 10n, 1), pending('keep', 'a', 'b', 5n)]), 2);
  const p = (await h.store.getTransfer('p'))!;
  await h.close();

  h = await store.open();
  try {
    assert.ok(h.ledger.pending.has('p'), 'still pending right after the reopen');
    assert.equal(h.ledger.nextExpiry(), p.timestamp + S);
    // The writer's timer, armed from the loaded pendings, releases it.
    for (let waited = 0; h.ledger.pending.has('p') && waited < 5000; waited += 25) await sleep(25);
    assert.equal(h.ledger.pending.has('p'), false);
    await h.writer.settled(); // the expiry record is applied in memory first, then committed
    const expiry = await h.store.getTransfer('~expiry:p');
    assert.ok(expiry);
    assert.equal(expiry.flags, TransferFlag.expiry);
    assert.equal(expiry.pending_id, 'p');
    assert.equal(expiry.amount, 10n);
    assert.ok(expiry.timestamp >= p.timestamp + S);
    assert.deepEqual(bal(h.ledger.accounts.get('a')!), { ...zeroBalances(), debits_pending: 5n });
    assert.deepEqual(await h.writer.createTransfers([post('q', 'p')]), ['pending_transfer_expired']);
  } finally {
    await h.close();
  }
  h = await store.open();
  try {
    assert.deepEqual([...h.ledger.pending.keys()], ['keep']);
    assert.deepEqual(await h.writer.createTransfers([post('q', 'p')]), ['pending_transfer_expired']);
  } finally {
    await h.close();
  }
  assert.deepEqual((await store.verify()).failure, undefined);
});

test(`${kind}: a checkpoint, more writes without one, then a crash: the reopen replays the journal`, async (t) => {
  const store = await place(t, kind);
  let h = await store.open({ writer: { checkpoint_interval_ms: 0 } });
  await accounts(h, 'a', 'b', 'w');
  await ok(h.writer.createTransfers([xfer('fund', 'a', 'w', 500n), pending('p1', 'w', 'b', 100n), pending('p2', 'w', 'b', 50n, 3600)]), 3);
  await h.close();

  h = await store.open({ writer: { checkpoint_interval_ms: 3_600_000 } });
  await accounts(h, 'c', 'w2');
  await ok(h.writer.createTransfers([post('q1', 'p1', 60n), pending('p3', 'w', 'c', 70n), xfer('t1', 'a', 'w2', 9n)]), 3);
  await ok(h.writer.createTransfers([{ id: 'v2', pending_id: 'p2', flags: TransferFlag.void_pending_transfer }, xfer('r1', 'b', 'w', 10n, { reversal_of: 'q1' })]), 2);
  const expected = balances(h.ledger);
  const expectedPending = [...h.ledger.pending.keys()].sort();
  const lastTimestamp = h.ledger.lastTimestamp;
  // A crash: the store goes away without the writer's final checkpoint.
  await store.crash(h);

  const { checkpoint, newest } = await store.checkpointAndNewest();
  assert.ok(checkpoint > 0n && checkpoint < newest, 'records after the checkpoint must be replayed');
  assert.deepEqual((await store.verify()).failure, undefined, 'the crashed store verifies');

  h = await store.open();
  try {
    assert.deepEqual(balances(h.ledger), expected);
    assert.deepEqual([...h.ledger.pending.keys()].sort(), expectedPending);
    assert.deepEqual(expectedPending, ['p3']);
    assert.ok(h.ledger.lastTimestamp >= lastTimestamp);
    assert.deepEqual(
      await h.writer.createTransfers([xfer('r1', 'b', 'w', 10n, { reversal_of: 'q1' }), xfer('r2', 'b', 'w', 1n, { reversal_of: 'q1' }), post('q2', 'p2')]),
      ['exists', 'reversal_already_reversed', 'pending_transfer_already_voided'],
    );
    await ok(h.writer.createTransfers([post('q3', 'p3')]), 1);
  } finally {
    await h.close();
  }
});

test(`${kind}: after a crash and a replay, the next checkpoint saves the replayed accounts too`, async (t) => {
  const store = await place(t, kind);
  let h = await store.open();
  await accounts(h, 'a', 'b');
  await h.close();
  h = await store.open({ writer: { checkpoint_interval_ms: 3_600_000 } });
  await ok(h.writer.createTransfers([xfer('t1', 'a', 'b', 5n)]), 1);
  await store.crash(h); // no final checkpoint
  h = await store.open();
  assert.equal(h.ledger.accounts.get('a')!.debits_posted, 5n, 'replayed');
  await h.close(); // writes a checkpoint
  const report = (await store.verify());
  h = await store.open();
  try {
    assert.equal(h.ledger.accounts.get('a')!.debits_posted, 5n, 'the third start still has t1\'s effect');
    assert.equal(h.ledger.accounts.get('b')!.credits_posted, 5n);
  } finally {
    await h.close();
  }
  assert.deepEqual(report.failure, undefined);
});

// Rebuilding a lost index in one pass is SQLite's: PostgreSQL's index is a table it keeps.
for (const rebuilt of kind === 'sqlite' ? [false, true] : [false]) test(`${kind}: account history pages newest first, each entry with the account\'s balances after it${rebuilt ? ', the index lost and rebuilt in one pass' : ''}`, async (t) => {
  const store = await place(t, kind);
  let h = await store.open();
  try {
    await accounts(h, 'a', 'b', 'c');
    const inputs: TransferInput[] = [];
    for (let i = 1; i <= 7; i++) inputs.push(xfer(`t${i}`, 'a', 'b', BigInt(i)));
    inputs.push(pending('pb', 'a', 'b', 100n), xfer('other', 'c', 'a', 5n), post('qb', 'pb', 40n), xfer('back', 'b', 'c', 3n));
    for (const input of inputs) await ok(h.writer.createTransfers([input]), 1);
    if (rebuilt) {
      await h.close();
      await store.dropHistory();
      // 5 or more transfers behind an empty index: built in one pass, not chunk by chunk.
      h = await store.open({ history_bulk_minimum: 5 });
      await ok(h.writer.createTransfers([xfer('later', 'c', 'b', 1n)]), 1);
      inputs.push(xfer('later', 'c', 'b', 1n));
      const page = await h.store.accountHistory(h.ledger.accounts.get('c')!, { limit: 10 });
      assert.deepEqual(page.entries.map((e) => e.transfer.id), ['later', 'back', 'other']);
      assert.deepEqual(bal(page.entries[0].after), bal(h.ledger.accounts.get('c')!));
      assert.ok(h.store instanceof SqliteStore && h.store.historyBuiltInBulk >= 11, 'the journal\'s transfers were built in one pass');
      assert.deepEqual((await store.verify()).failure, undefined, 'the rebuilt index verifies against the journal');
    }

    // b's balances after each of its transfers, computed here independently.
    const model: { id: string; after: Balances }[] = [];
    const b = zeroBalances();
    for (const input of inputs) {
      if (input.id === 'other') continue;
      if (input.id === 'later') b.credits_posted += 1n;
      else if (input.id === 'pb') b.credits_pending += 100n;
      else if (input.id === 'qb') { b.credits_pending -= 100n; b.credits_posted += 40n; }
      else if (input.id === 'back') b.debits_posted += 3n;
      else b.credits_posted += input.amount!;
      model.push({ id: input.id, after: { ...b } });
    }
    model.reverse();

    const account = h.ledger.accounts.get('b')!;
    const seen: { id: string; after: Balances; timestamp: bigint }[] = [];
    let before: bigint | undefined;
    const pageSizes: number[] = [];
    for (;;) {
      const page = await h.store.accountHistory(account, { limit: 4, before });
      pageSizes.push(page.entries.length);
      for (const entry of page.entries) seen.push({ id: entry.transfer.id, after: bal(entry.after), timestamp: entry.transfer.timestamp });
      if (page.next_before === undefined) break;
      assert.equal(page.next_before, page.entries.at(-1)!.transfer.timestamp);
      before = page.next_before;
    }
    assert.deepEqual(pageSizes, rebuilt ? [4, 4, 3] : [4, 4, 2]);
    assert.deepEqual(seen.map(({ id, after }) => ({ id, after })), model);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].timestamp < seen[i - 1].timestamp, 'newest first');
    assert.deepEqual(seen[0].after, bal(account), 'the newest entry shows the current balances');
    // Committed while the store was open, every transfer reached the index from the commit thread, none read back.
    if (h.store instanceof SqliteStore && !rebuilt) assert.equal(h.store.historyFedTransfers, inputs.length);

    const a = await h.store.accountHistory(h.ledger.accounts.get('a')!, { limit: 3 });
    assert.deepEqual(a.entries.map((e) => e.transfer.id), ['qb', 'other', 'pb']);
    assert.deepEqual(bal(a.entries[1].after), { debits_pending: 100n, debits_posted: 28n, credits_pending: 0n, credits_posted: 5n }, 'the credit side of "other"');
    assert.ok(a.next_before !== undefined);
    const empty = await h.store.accountHistory(h.ledger.accounts.get('a')!, { limit: 3, before: seen.at(-1)!.timestamp });
    assert.deepEqual(empty.entries, []);
    assert.equal(empty.next_before, undefined);
    const exact = await h.store.accountHistory(account, { limit: model.length });
    assert.equal(exact.entries.length, model.length);
    assert.equal(exact.next_before, undefined, 'no next page when the last page is exactly full');
  } finally {
    await h.close();
  }
});

test(`${kind}: balanceAt before, at, between and after transfers; history survives losing its index`, async (t) => {
  const store = await place(t, kind);
  let h = await store.open();
  const stamps: bigint[] = [];
  try {
    await accounts(h, 'a', 'b', 'c');
    for (const [i, input] of [xfer('t1', 'a', 'b', 10n), pending('p', 'a', 'b', 5n), xfer('t3', 'b', 'c', 4n)].entries()) {
      await ok(h.writer.createTransfers([input]), 1);
      stamps[i] = (await h.store.getTransfer(input.id))!.timestamp;
    }
    const b = h.ledger.accounts.get('b')!;
    const c = h.ledger.accounts.get('c')!;
    const after1 = { ...zeroBalances(), credits_posted: 10n };
    const after2 = { ...after1, credits_pending: 5n };
    const after3 = { ...after2, debits_posted: 4n };
    assert.deepEqual(bal(await h.store.balanceAt(b, 0n)), zeroBalances());
    assert.deepEqual(bal(await h.store.balanceAt(b, stamps[0] - 1n)), zeroBalances(), 'just before the first transfer');
    assert.deepEqual(bal(await h.store.balanceAt(b, stamps[0])), after1, 'at a transfer: its effect is included');
    assert.deepEqual(bal(await h.store.balanceAt(b, stamps[1] - 1n)), after1);
    assert.deepEqual(bal(await h.store.balanceAt(b, stamps[1])), after2);
    assert.deepEqual(bal(await h.store.balanceAt(b, stamps[2])), after3);
    assert.deepEqual(bal(await h.store.balanceAt(b, stamps[2] + 3600n * S)), bal(b), 'after everything: the current balances');
    assert.deepEqual(bal(await h.store.balanceAt(c, stamps[1])), zeroBalances(), 'an account untouched so far');
    assert.deepEqual(bal(await h.store.balanceAt(c, stamps[2])), { ...zeroBalances(), credits_posted: 4n });
  } finally {
    await h.close();
  }
  // The history index is derived: without its file, it is rebuilt from the journal.
  await store.dropHistory();
  h = await store.open();
  try {
    const b = h.ledger.accounts.get('b')!;
    assert.deepEqual(bal(await h.store.balanceAt(b, stamps[1])), { ...zeroBalances(), credits_posted: 10n, credits_pending: 5n });
    const page = await h.store.accountHistory(b, { limit: 10 });
    assert.deepEqual(page.entries.map((e) => e.transfer.id), ['t3', 'p', 't1']);
    assert.deepEqual(bal(page.entries[0].after), bal(b));
  } finally {
    await h.close();
  }
});

test(`${kind}: a long history, indexed across a reopen, pages and answers balanceAt at every point`, async (t) => {
  const store = await place(t, kind);
  let h = await store.open();
  // b takes part in all 300 transfers (past SQLite's marks at every 64th), a and c in some each.
  const ids: string[] = [];
  const afterB: Balances[] = [];
  const b = zeroBalances();
  try {
    await accounts(h, 'a', 'b', 'c');
    for (let batch = 0; batch < 15; batch++) {
      if (batch === 8) {
        // Indexed so far, then reopened: the index goes on from its stored running balances.
        await h.store.accountHistory(h.ledger.accounts.get('b')!, { limit: 1 });
        await h.close();
        h = await store.open();
      }
      const inputs: TransferInput[] = [];
      for (let i = 0; i < 20; i++) {
        const n = batch * 20 + i;
        ids.push(`t${n}`);
        if (n % 3 === 0) {
          inputs.push(xfer(`t${n}`, 'b', 'c', 1n));
          b.debits_posted += 1n;
        } else {
          inputs.push(xfer(`t${n}`, 'a', 'b', BigInt(n)));
          b.credits_posted += BigInt(n);
        }
        afterB.push({ ...b });
      }
      await ok(h.writer.createTransfers(inputs), inputs.length);
    }
    const account = h.ledger.accounts.get('b')!;
    const stamps = await Promise.all(ids.map(async (id) => (await h.store.getTransfer(id))!.timestamp));
    const seen: string[] = [];
    let before: bigint | undefined;
    for (;;) {
      const page = await h.store.accountHistory(account, { limit: 7, before });
      for (const entry of page.entries) {
        const i = ids.indexOf(entry.transfer.id);
        assert.deepEqual(bal(entry.after), afterB[i], entry.transfer.id);
        seen.push(entry.transfer.id);
      }
      if (page.next_before === undefined) break;
      before = page.next_before;
    }
    assert.deepEqual(seen, [...ids].reverse());
    for (let i = 0; i < ids.length; i++) {
      // A page before a transfer starts at the one before it; balanceAt includes the transfer itself.
      const page = await h.store.accountHistory(account, { limit: 2, before: stamps[i] });
      assert.deepEqual(page.entries.map((e) => e.transfer.id), ids.slice(Math.max(0, i - 2), i).reverse(), `before ${ids[i]}`);
      assert.equal(page.next_before !== undefined, i > 2, `more before ${ids[i]}`);
      assert.deepEqual(bal(await h.store.balanceAt(account, stamps[i])), afterB[i], `at ${ids[i]}`);
      assert.deepEqual(bal(await h.store.balanceAt(account, stamps[i] - 1n)), i === 0 ? zeroBalances() : afterB[i - 1], `just before ${ids[i]}`);
    }
    assert.deepEqual(bal(await h.store.balanceAt(account, stamps.at(-1)! + S)), bal(account));
  } finally {
    await h.close();
  }
  assert.deepEqual((await store.verify()).failure, undefined);
});

test(`${kind}: the database itself refuses UPDATE and DELETE on transfers and the journal, and edits of account identity`, async (t) => {
  const store = await place(t, kind);
  const h = await store.open();
  await accounts(h, 'a', 'b');
  await ok(h.writer.createTransfers([xfer('t1', 'a', 'b', 10n)]), 1);
  await h.close();
  const refused = kind === 'sqlite' ? { code: 'SQLITE_CONSTRAINT_TRIGGER' } : { code: '23001' };
  const statements = [
    'UPDATE transfers SET amount = 11', 'UPDATE transfers SET user_data = NULL', 'DELETE FROM transfers',
    kind === 'sqlite' ? 'UPDATE journal SET hash = zeroblob(32)' : "UPDATE journal SET hash = '\\x00'::bytea",
    'UPDATE journal SET seq = seq + 10', 'DELETE FROM journal WHERE seq = 1',
    "UPDATE accounts SET asset = 'ZWG'", 'UPDATE accounts SET flags = 2', 'DELETE FROM accounts',
    ...(kind === 'postgres' ? ['TRUNCATE transfers', 'TRUNCATE journal', 'TRUNCATE accounts CASCADE'] : []),
  ];
  for (const sql of statements) await assert.rejects(store.raw(sql), refused, sql);
  // Checkpointed balances are the one thing that may change in place.
  assert.equal(await store.raw('UPDATE accounts SET debits_posted = debits_posted'), 2);
  assert.deepEqual((await store.verify()).failure, undefined);
  assert.equal((await store.verify()).transfers, 1);
});
}
