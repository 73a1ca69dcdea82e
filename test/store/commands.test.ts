// Commands: product operations run inside the writer's turn, their transfers and documents
// committed together, refusals leaving nothing behind.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { RequestError } from '../../src/errors/registry.js';
import { AccountFlag } from '../../src/ledger/types.js';
import type { LedgerHandle } from '../../src/store/open.js';
import { place, STORE_KINDS, type Place } from '../helpers/stores.js';

/** Opens a fresh store of this kind (or `existing` again), closed when the test ends. */
async function open(t: TestContext, kind: 'sqlite' | 'postgres', existing?: Place): Promise<{ handle: LedgerHandle }> {
  const store = existing ?? await place(t, kind);
  const handle = await store.open();
  t.after(() => handle.close());
  return { handle };
}

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function wallets(handle: LedgerHandle): Promise<void> {
  const results = await handle.writer.createAccounts([
    { id: 'float', asset: 'USD', code: 1 },
    { id: 'alice', asset: 'USD', code: 2, flags: AccountFlag.debits_must_not_exceed_credits },
    { id: 'bob', asset: 'USD', code: 2, flags: AccountFlag.debits_must_not_exceed_credits },
  ]);
  assert.deepEqual(results, ['ok', 'ok', 'ok']);
  assert.deepEqual(await handle.writer.createTransfers([{ id: 'fund', debit_account_id: 'float', credit_account_id: 'alice', amount: 100n, asset: 'USD', code: 1 }]), ['ok']);
}

/** A send that keeps a per-sender counter document: the check and the write cannot be separated. */
function send(handle: LedgerHandle, id: string, amount: bigint, limit: bigint, used: Map<string, bigint>) {
  return handle.writer.execute({
    ids: [id],
    run(ctx) {
      const spent = used.get('alice') ?? 0n;
      if (spent + amount > limit) throw new RequestError('invalid_request', `over the limit by ${spent + amount - limit}`);
      const [result] = ctx.createTransfers([{ id, debit_account_id: 'alice', credit_account_id: 'bob', amount, asset: 'USD', code: 1 }]);
      if (result === 'ok') {
        used.set('alice', spent + amount);
        ctx.put({ collection: 'usage', key: 'alice', tag: 'day-1', value: JSON.stringify({ spent: (spent + amount).toString() }) });
        ctx.put({ collection: 'outbox', key: `msg-${id}`, tag: 'alice', value: JSON.stringify({ text: `sent ${amount}` }) });
      }
      return { result, balance: ctx.ledger.accounts.get('alice')!.credits_posted - ctx.ledger.accounts.get('alice')!.debits_posted };
    },
  });
}

for (const kind of STORE_KINDS) {
test(`${kind}: a command's transfers and documents commit together, and survive a restart`, async (t) => {
  const store = await place(t, kind);
  {
    const handle = await store.open();
    await wallets(handle);
    const used = new Map<string, bigint>();
    assert.deepEqual(await send(handle, 's1', 30n, 50n, used), { result: 'ok', balance: 70n });
    await handle.close();
  }
  const { handle } = await open(t, kind, store);
  assert.equal(handle.ledger.accounts.get('bob')!.credits_posted, 30n);
  const usage = await handle.store.document('usage', 'alice');
  assert.equal(usage?.tag, 'day-1');
  assert.deepEqual(JSON.parse(usage!.value), { spent: '30' });
  assert.ok(usage!.updated_at > Date.now() - 60_000 && usage!.updated_at <= Date.now());
  assert.deepEqual((await all(handle.store.documents('outbox', { tag: 'alice' }))).map((d) => d.key), ['msg-s1']);
});

test(`${kind}: concurrent commands see each other: a limit checked inside the writer is never exceeded`, async (t) => {
  const { handle } = await open(t, kind);
  await wallets(handle);
  const used = new Map<string, bigint>();
  const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => send(handle, `c${i}`, 7n, 50n, used)));
  const ok = outcomes.filter((o) => o.status === 'fulfilled');
  const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
  assert.equal(ok.length, 7);
  assert.equal(refused.length, 13);
  for (const r of refused) assert.ok(r.reason instanceof RequestError && r.reason.code === 'invalid_request');
  assert.equal(handle.ledger.accounts.get('bob')!.credits_posted, 49n);
  assert.equal((await all(handle.store.documents('outbox'))).length, 7);
});

test(`${kind}: a refused command writes nothing, and its neighbours in the batch are unaffected`, async (t) => {
  const { handle } = await open(t, kind);
  await wallets(handle);
  const refused = handle.writer.execute({
    run(ctx) {
      ctx.put({ collection: 'outbox', key: 'never', value: '{}' });
      throw new RequestError('invalid_request', 'no');
    },
  });
  const fine = handle.writer.execute({ run: (ctx) => ctx.put({ collection: 'outbox', key: 'kept', value: '{}' }) });
  await assert.rejects(refused, (e: unknown) => e instanceof RequestError && e.code === 'invalid_request');
  await fine;
  assert.equal(await handle.store.document('outbox', 'never'), undefined);
  assert.ok(await handle.store.document('outbox', 'kept'));
  assert.equal(handle.writer.failed, undefined);
});

test(`${kind}: a command that throws after writing transfers stops the writer rather than answer a half-done operation`, async (t) => {
  const { handle } = await open(t, kind);
  await wallets(handle);
  const fatal: Error[] = [];
  handle.writer.on('fatal', (e) => fatal.push(e));
  const broken = handle.writer.execute({
    ids: ['half'],
    run(ctx) {
      ctx.createTransfers([{ id: 'half', debit_account_id: 'alice', credit_account_id: 'bob', amount: 1n, asset: 'USD', code: 1 }]);
      throw new RequestError('invalid_request', 'too late');
    },
  });
  await assert.rejects(broken, (e: unknown) => e instanceof RequestError && e.code === 'writer_unavailable');
  assert.equal(fatal.length, 1);
  await assert.rejects(handle.writer.createTransfers([]), (e: unknown) => e instanceof RequestError && e.code === 'writer_unavailable');
});

test(`${kind}: documents: delete, prefix, tag, keys alone and paging past 1,000 in key order`, async (t) => {
  const { handle } = await open(t, kind);
  await handle.writer.execute({
    run(ctx) {
      for (let i = 0; i < 2_500; i++) ctx.put({ collection: 'vouchers', key: `b1:${String(i).padStart(5, '0')}`, tag: i % 2 ? 'odd' : 'even', value: JSON.stringify({ i }) });
      ctx.put({ collection: 'vouchers', key: 'b2:00000', value: '{}' });
      ctx.put({ collection: 'other', key: 'b1:x', value: '{}' });
    },
  });
  assert.equal((await all(handle.store.documents('vouchers'))).length, 2_501);
  const b1 = await all(handle.store.documents('vouchers', { prefix: 'b1:' }));
  assert.equal(b1.length, 2_500);
  assert.deepEqual(b1.map((d) => d.key), [...b1.map((d) => d.key)].sort());
  assert.equal((await all(handle.store.documents('vouchers', { tag: 'odd' }))).length, 1_250);
  assert.deepEqual((await all(handle.store.documents('vouchers', { prefix: 'b1:', after: 'b1:02497' }))).map((d) => d.key), ['b1:02498', 'b1:02499']);
  assert.equal((await all(handle.store.documents('vouchers', { limit: 1_001 }))).length, 1_001);
  assert.deepEqual(await all(handle.store.documentKeys('vouchers')), (await all(handle.store.documents('vouchers'))).map((d) => d.key));
  await handle.writer.execute({ run: (ctx) => ctx.put({ collection: 'vouchers', key: 'b2:00000', value: null }) });
  assert.equal(await handle.store.document('vouchers', 'b2:00000'), undefined);
});
}
