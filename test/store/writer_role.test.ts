// PostgreSQL only: several mari processes on one database, exactly one writer. Standbys refuse
// writes with not_writer naming the writer and follow its commits; one takes over when the writer
// goes; a writer that lost the role can commit nothing (the epoch fence), even if it does not know.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { RequestError } from '../../src/errors/registry.js';
import { openLedger, type LedgerHandle } from '../../src/store/open.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { freshDatabase, query } from '../helpers/postgres.js';

const FAST = { heartbeat_ms: 200, session_timeout_ms: 1500 };

function xfer(id: string, amount = 1n) {
  return { id, debit_account_id: 'a', credit_account_id: 'b', amount, asset: 'USD', code: 1 };
}

async function until(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

async function verify(url: string) {
  const store = await PostgresStore.open({ url });
  try {
    return await store.verify();
  } finally {
    await store.close();
  }
}

test('a standby refuses writes with not_writer naming the writer, follows its commits, and takes over when it closes', async (t) => {
  const url = await freshDatabase(t);
  const first = await openLedger({ store: url, address: 'http://10.0.0.1:8080', role: FAST });
  assert.deepEqual(await first.writer.createAccounts([{ id: 'a', asset: 'USD', code: 1 }, { id: 'b', asset: 'USD', code: 1 }]), ['ok', 'ok']);
  const second = await openLedger({ store: url, address: 'http://10.0.0.2:8080', role: FAST });
  let secondClosed = false;
  t.after(async () => {
    if (!secondClosed) await second.close();
  });
  assert.equal(first.role!.writing, true);
  assert.equal(second.role!.writing, false);
  await until(() => second.role!.writer !== undefined, 3000, 'the standby to learn who writes');
  await assert.rejects(second.writer.createTransfers([xfer('s1')]), (e: unknown) =>
    e instanceof RequestError && e.code === 'not_writer' && e.status === 503 && e.message.includes('http://10.0.0.1:8080'));
  assert.deepEqual(await first.writer.createTransfers([xfer('t1', 5n), xfer('t2', 6n)]), ['ok', 'ok']);
  await until(() => second.ledger.accounts.get('b')?.credits_posted === 11n, 3000, 'the standby to replay the writer\'s commits');
  assert.equal((await second.store.getTransfer('t2'))?.amount, 6n);
  assert.equal((await second.store.accountHistory(second.ledger.accounts.get('b')!, { limit: 5 })).entries.length, 2, 'history reads on a standby');

  const promoted = once(second.role!, 'promoted');
  const closedAt = Date.now();
  await first.close();
  await promoted;
  const takeover_ms = Date.now() - closedAt;
  assert.ok(takeover_ms < 5000, `took over in ${takeover_ms} ms`);
  assert.deepEqual(await second.writer.createTransfers([xfer('t1', 5n), xfer('t3', 7n)]), ['exists', 'ok']);
  assert.equal(second.ledger.accounts.get('b')!.credits_posted, 18n);
  second.ledger.checkInvariants();
  secondClosed = true;
  await second.close();
  const report = await verify(url);
  assert.equal(report.ok, true, JSON.stringify(report.failure));
  assert.equal(report.transfers, 3);
  assert.equal((await query(url, 'SELECT epoch FROM writer_lease')).rows[0].epoch, '2');
});

test('a writer whose role was taken cannot commit: the epoch fence refuses it and its writer stops', async (t) => {
  const url = await freshDatabase(t);
  const writer = await openLedger({ store: url, role: FAST });
  t.after(() => writer.close());
  assert.deepEqual(await writer.writer.createAccounts([{ id: 'a', asset: 'USD', code: 1 }, { id: 'b', asset: 'USD', code: 1 }]), ['ok', 'ok']);
  assert.deepEqual(await writer.writer.createTransfers([xfer('before')]), ['ok']);
  // As if another process took the role during a partition that this one has not noticed yet.
  await query(url, 'UPDATE writer_lease SET epoch = epoch + 1');
  const fatal = once(writer.writer, 'fatal');
  await assert.rejects(writer.writer.createTransfers([xfer('after')]), (e: unknown) => e instanceof RequestError && e.code === 'writer_unavailable');
  const [error] = await fatal;
  assert.match((error as Error).message, /fenced off|no longer holds the writer role/);
  assert.equal((await query(url, "SELECT count(*)::int AS n FROM transfers WHERE id = 'after'")).rows[0].n, 0);
  await assert.rejects(writer.writer.createTransfers([xfer('later')]), (e: unknown) => e instanceof RequestError && e.code === 'writer_unavailable');
});

test('a writer whose lock session is killed loses the role; the standby takes over and the old writer refuses', async (t) => {
  const url = await freshDatabase(t);
  const a = await openLedger({ store: url, role: FAST });
  const b = await openLedger({ store: url, role: FAST });
  t.after(async () => {
    await a.close().catch(() => undefined);
    await b.close().catch(() => undefined);
  });
  assert.deepEqual(await a.writer.createAccounts([{ id: 'a', asset: 'USD', code: 1 }, { id: 'b', asset: 'USD', code: 1 }]), ['ok', 'ok']);
  const lost = once(a.role!, 'lost');
  const promoted = once(b.role!, 'promoted');
  // Only this test's database: other tests' writers run on the same server at the same time.
  await query(url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mari writer role' AND datname = current_database()
    AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`);
  await lost;
  await promoted;
  await assert.rejects(a.writer.createTransfers([xfer('old')]), (e: unknown) => e instanceof RequestError && e.code === 'not_writer');
  assert.deepEqual(await b.writer.createTransfers([xfer('new')]), ['ok']);
  assert.equal((await query(url, "SELECT count(*)::int AS n FROM transfers WHERE id = 'old'")).rows[0].n, 0);
});

interface Child {
  lines: Record<string, unknown>[];
  pid: number;
  exited: Promise<unknown>;
}

function child(url: string, name: string, seconds: number): Child {
  const script = fileURLToPath(new URL('./role_child.js', import.meta.url));
  const proc = spawn(process.execPath, [script, url, name, String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => lines.push({ ...JSON.parse(line), at: Date.now() }));
  return { lines, pid: proc.pid!, exited: once(proc, 'exit') };
}

test('two processes, the writer frozen with SIGSTOP: the other takes over, the frozen one never commits again', async (t) => {
  const url = await freshDatabase(t);
  {
    const setup = await openLedger({ store: url });
    assert.deepEqual(await setup.writer.createAccounts([{ id: 'a', asset: 'USD', code: 1 }, { id: 'b', asset: 'USD', code: 1 }]), ['ok', 'ok']);
    await setup.close();
  }
  const one = child(url, 'one', 9);
  await until(() => one.lines.some((l) => l.ready), 10_000, 'the first process');
  const two = child(url, 'two', 9);
  t.after(() => {
    for (const c of [one, two]) try { process.kill(c.pid, 'SIGKILL'); } catch { /* already gone */ }
  });
  await until(() => two.lines.some((l) => l.ready) && one.lines.filter((l) => l.ack).length >= 20, 10_000, 'the writer to write');
  // The standby's first try comes just after its ready line: wait for its answer, not for the clock.
  await until(() => two.lines.some((l) => l.refused !== undefined || l.ack !== undefined), 10_000, 'the standby to try a write');
  assert.equal(two.lines.some((l) => l.ack), false, 'the standby writes nothing');
  assert.ok(two.lines.some((l) => l.refused === 'not_writer'), JSON.stringify(two.lines.slice(0, 3)));
  process.kill(one.pid, 'SIGSTOP');
  const stoppedAt = Date.now();
  await until(() => two.lines.some((l) => l.ack), 10_000, 'the standby to take over');
  const takeover_ms = Date.now() - stoppedAt;
  await sleep(500);
  process.kill(one.pid, 'SIGCONT');
  const resumedAt = Date.now();
  await Promise.all([one.exited, two.exited]);
  const acked = [...one.lines, ...two.lines].filter((l) => l.ack).map((l) => l.ack as string);
  const afterResume = one.lines.filter((l) => l.ack && (l.at as number) > resumedAt + 200);
  assert.deepEqual(afterResume, [], 'the frozen writer acknowledges nothing once it resumes');
  assert.ok(one.lines.some((l) => l.fatal || l.lost), 'the frozen writer finds out it lost the role');
  const { rows } = await query(url, 'SELECT id FROM transfers');
  const stored = new Set(rows.map((r) => r.id as string));
  assert.equal(stored.size, rows.length);
  for (const id of acked) assert.ok(stored.has(id), `acknowledged ${id} is stored`);
  const report = await verify(url);
  assert.equal(report.ok, true, JSON.stringify(report.failure));
  t.diagnostic(`takeover after SIGSTOP: ${takeover_ms} ms; ${acked.length} acknowledged transfers, ${rows.length} stored`);
});
