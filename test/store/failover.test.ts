// Replication and failover, for real: the test's own primary and synchronous streaming replica.
// Under concurrent transfer load the primary's postmaster is killed with SIGKILL, the replica is
// promoted, and mari is opened again with the same multi-host URL (it picks the host that now
// accepts writes). Every acknowledged transfer must be there exactly once, retries of the
// unacknowledged ones must answer exactly once (ok or exists), the chain must verify and every
// asset must balance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { RequestError } from '../../src/errors/registry.js';
import { AccountFlag, type TransferInput } from '../../src/ledger/types.js';
import { openLedger, type LedgerHandle } from '../../src/store/open.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { primaryWithReplica } from '../helpers/pg_cluster.js';

const WALLETS = 20;
const CLIENTS = 8;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Two free ports in a row from 55432 up (55432/55433 unless taken). */
async function portPair(): Promise<number> {
  for (let port = 55432; port < 55500; port += 2) if ((await portFree(port)) && (await portFree(port + 1))) return port;
  throw new Error('no free port pair between 55432 and 55500');
}

function transfer(id: string): TransferInput {
  const debit = Math.floor(Math.random() * WALLETS);
  const credit = (debit + 1 + Math.floor(Math.random() * (WALLETS - 1))) % WALLETS;
  return { id, debit_account_id: `w${debit}`, credit_account_id: `w${credit}`, amount: BigInt(1 + Math.floor(Math.random() * 9)), asset: 'USD', code: 1 };
}

async function closeWithin(handle: LedgerHandle, ms: number): Promise<void> {
  await Promise.race([handle.close().catch(() => undefined), sleep(ms)]);
}

test('failover under load: SIGKILL the primary, promote the replica, every acknowledged transfer is there exactly once', { timeout: 180_000 }, async (t) => {
  const port = await portPair();
  const { primary, replica } = await primaryWithReplica(port);
  t.after(() => {
    primary.destroy();
    replica.destroy();
  });
  await primary.query('CREATE DATABASE mari');
  const url = `postgres://postgres@127.0.0.1:${port},127.0.0.1:${port + 1}/mari`;
  let handle = await openLedger({ store: url });
  assert.equal(handle.role!.writing, true);
  const accounts = [{ id: 'float', asset: 'USD', code: 1 }];
  for (let i = 0; i < WALLETS; i++) accounts.push({ id: `w${i}`, asset: 'USD', code: 2, flags: AccountFlag.debits_must_not_exceed_credits } as never);
  assert.ok((await handle.writer.createAccounts(accounts)).every((r) => r === 'ok'));
  const funding = Array.from({ length: WALLETS }, (_, i) => ({ id: `fund-${i}`, debit_account_id: 'float', credit_account_id: `w${i}`, amount: 1_000_000n, asset: 'USD', code: 1 }));
  assert.ok((await handle.writer.createTransfers(funding)).every((r) => r === 'ok'));

  const acked = new Map<string, TransferInput>();
  const unacked = new Map<string, TransferInput>();
  let stopping = false;
  let killedAt = 0;
  let firstWriteAfterKill = 0;
  const client = async (c: number) => {
    for (let i = 0; !stopping; i++) {
      const input = transfer(`c${c}-${i}`);
      const current = handle;
      try {
        const [result] = await current.writer.createTransfers([input]);
        assert.equal(result, 'ok', `${input.id}: ${result}`);
        acked.set(input.id, input);
        if (killedAt > 0 && current !== handleBeforeKill && firstWriteAfterKill === 0) firstWriteAfterKill = Date.now();
      } catch (error) {
        if (!(error instanceof RequestError)) throw error;
        // Not acknowledged: maybe durable, maybe not. Kept to retry with the same id and fields.
        unacked.set(input.id, input);
        while (handle === current && !stopping) await sleep(5);
      }
    }
  };
  let handleBeforeKill: LedgerHandle | undefined;
  const load = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
  while (acked.size < 300) await sleep(10);

  handleBeforeKill = handle;
  const oldWriterStopped = new Promise((resolve) => handle.writer.once('fatal', resolve));
  process.kill(primary.pid(), 'SIGKILL');
  killedAt = Date.now();
  await Promise.race([oldWriterStopped, sleep(15_000)]);
  assert.ok(handle.writer.failed, 'the writer stops once its commits fail');
  // What an operator (or a failover manager) does: promote the synchronous standby...
  replica.promote();
  // Its configuration came from the primary by pg_basebackup: it would wait for a synchronous
  // standby named replica1, which is itself. Until a new standby is attached it runs without one
  // (the operator's call: the alternative is refusing writes until then).
  await replica.set('synchronous_standby_names', '');
  // ...and mari restarts with the same configuration: the multi-host URL finds the new primary.
  await closeWithin(handle, 5000);
  handle = await openLedger({ store: url });
  assert.equal(handle.role!.writing, true);
  while (firstWriteAfterKill === 0) await sleep(5);
  const failover_ms = firstWriteAfterKill - killedAt;
  while (acked.size < 600) await sleep(10);
  stopping = true;
  await load;

  // Clients retry what was not acknowledged, with the same ids: each lands exactly once.
  const retried = [...unacked.values()].filter((input) => !acked.has(input.id));
  const results = retried.length > 0 ? await handle.writer.createTransfers(retried) : [];
  results.forEach((result, i) => assert.ok(result === 'ok' || result === 'exists', `retry of ${retried[i].id}: ${result}`));
  const again = retried.length > 0 ? await handle.writer.createTransfers(retried) : [];
  assert.ok(again.every((r) => r === 'exists'), 'a second retry finds every one');
  handle.ledger.checkInvariants();
  const newPrimary = replica.urlOf('mari');
  const { rows } = await replica.query('SELECT id, amount::text, debit_no, credit_no FROM transfers', 'mari');
  const stored = new Map<string, { amount: string }>();
  for (const row of rows) {
    assert.equal(stored.has(row.id), false, `${row.id} is stored once`);
    stored.set(row.id, row);
  }
  for (const [id, input] of acked) assert.equal(stored.get(id)?.amount, input.amount!.toString(), `acknowledged ${id} survived the failover`);
  for (const input of retried) assert.equal(stored.get(input.id)?.amount, input.amount!.toString(), `retried ${input.id} is stored once`);
  assert.equal(stored.size, WALLETS + acked.size + retried.length, 'nothing else was written');
  await handle.close();

  const store = await PostgresStore.open({ url: newPrimary });
  const report = await store.verify();
  await store.close();
  assert.equal(report.ok, true, JSON.stringify(report.failure));
  for (const total of report.assets) assert.equal(total.debits_posted, total.credits_posted, `${total.asset} balances`);
  t.diagnostic(`failover: ${failover_ms} ms from SIGKILL of the primary to the first acknowledged write on the promoted replica; ` +
    `${acked.size} acknowledged, ${retried.length} retried after it (${results.filter((r) => r === 'exists').length} were already durable)`);
});
