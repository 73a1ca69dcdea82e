// Shadow replay against the real MariaDB: a generated legacy set, the last hours before its
// cutover replayed through mobile money on a scratch copy migrated as of the window's start.
// The default tariff differs from legacy's fees, so fee_differs must be found (exit 1); declared
// expected, it is reported apart (exit 0 when nothing else differs). Refusals legacy's own data
// explains (a subscriber legacy has suspended, closed or registered twice; a reversal of a row mari
// refused) are explained with the legacy subscriber behind them, and mari's codes kept.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../../src/config.js';
import { causeOfRefusal, shadow, shadowSummary, type ShadowReport } from '../../../src/cutover/kit/shadow.js';
import { createLegacyDatabase, ROOT, type LegacyDatabase } from '../../helpers/legacy.js';
import { harareLocalToMs, msToHarareLocal } from '../../../src/time.js';

const SINCE = '2026-11-20 09:00:00';
const UNTIL = '2026-11-20 21:00:00';
let legacy: LegacyDatabase;
const dirs: string[] = [];
const scratch = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-shadow-'));
  dirs.push(dir);
  return dir;
};

before(async () => {
  legacy = await createLegacyDatabase({ subscribers: 300, seed: 23 });
});

after(async () => {
  await legacy?.drop();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [path.join(ROOT, 'dist/src/cli/main.js'), 'shadow', ...args], { encoding: 'utf8', env: { ...process.env, MARI_LOG_LEVEL: 'silent' } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('refusal codes group into causes an operator reads together', () => {
  assert.equal(causeOfRefusal('insufficient_float'), 'insufficient_funds');
  assert.equal(causeOfRefusal('exceeds_daily_limit'), 'limit_differs');
  assert.equal(causeOfRefusal('recipient_exceeds_balance_cap'), 'limit_differs');
  assert.equal(causeOfRefusal('recipient_not_found'), 'unknown_party');
  assert.equal(causeOfRefusal('subscriber_suspended'), 'party_unavailable');
  assert.equal(causeOfRefusal('same_account'), 'refused_same_account');
  // Not parties: a reversal's missing original and a stopped writer keep their own codes.
  assert.equal(causeOfRefusal('transaction_not_found'), 'refused_transaction_not_found');
  assert.equal(causeOfRefusal('writer_unavailable'), 'refused_writer_unavailable');
});

test('a shadow replay over a window finds the fee differences, with examples, and the exact legacy rows of the window', async () => {
  const report: ShadowReport = await shadow({ from: legacy.url, since: SINCE, until: UNTIL, data_dir: scratch(), config: loadConfig({}, { log_level: 'silent' }) });
  const [count] = legacy.sql(`SELECT COUNT(*) FROM txn_log WHERE created_at >= '${SINCE}' AND created_at < '${UNTIL}'`).trim().split('\t');
  assert.equal(report.rows, Number(count));
  assert.ok(report.rows > 20, `${report.rows} rows in the window`);
  const [commissions] = legacy.sql(`SELECT COUNT(*) FROM txn_log WHERE txn_type = 'COMMISSION' AND created_at >= '${SINCE}' AND created_at < '${UNTIL}'`).trim().split('\t');
  assert.equal(report.skipped.COMMISSION ?? 0, Number(commissions));
  assert.equal(report.replayed + (report.skipped.COMMISSION ?? 0), report.rows);
  assert.equal(report.ok, false);
  const fees = report.differences.find((g) => g.cause === 'fee_differs');
  assert.ok(fees, JSON.stringify(report.differences.map((g) => [g.cause, g.count])));
  assert.ok(fees.count > 0 && fees.examples.length > 0 && fees.examples.length <= 5);
  for (const example of fees.examples) {
    assert.equal(example.legacy.status, 'SUCCESS');
    assert.equal(example.mari.ok, true);
    assert.notEqual(example.mari.fee, example.legacy.fee);
    // The legacy row it names is real, with that fee.
    const [fee] = legacy.sql(`SELECT fee FROM txn_log WHERE txn_id = ${example.txn_id}`).trim().split('\t');
    assert.equal(fee, example.legacy.fee);
  }
  const total = [...report.differences, ...report.explained].reduce((a, g) => a + g.count, 0);
  assert.equal(report.same + total, report.replayed);
});

test('a ref legacy wrote twice moved money once: explained as duplicate_ref, not a balance difference', async () => {
  // The window holds a duplicated P2P ref (seed 23): replaying both rows debited the payer's legacy
  // balance twice, so mari (which answers a ref's first result) looked 0.61 richer than legacy.
  const refs = legacy.manifest.anomalies.duplicate_refs.map((r) => `'${r}'`).join(',');
  const duplicates = legacy.sql(`SELECT ref, MAX(txn_id), MAX(created_at) FROM txn_log WHERE ref IN (${refs}) AND created_at >= '${SINCE}' AND created_at < '${UNTIL}' GROUP BY ref HAVING COUNT(*) = 2 ORDER BY ref`)
    .trim().split('\n').filter(Boolean).map((line) => line.split('\t'));
  assert.ok(duplicates.length > 0, 'the window holds a duplicated ref');
  const report = await shadow({ from: legacy.url, since: SINCE, until: UNTIL, data_dir: scratch(), config: loadConfig({}, { log_level: 'silent' }) });
  assert.deepEqual(report.differences.filter((g) => g.cause === 'balance_differs'), []);
  const group = report.explained.find((g) => g.cause === 'duplicate_ref');
  assert.ok(group?.reason, JSON.stringify(report.explained));
  assert.deepEqual(group.examples.map((e) => [e.ref, e.txn_id]), duplicates.map(([ref, second]) => [ref, second]));
  for (const e of group.examples) {
    assert.equal(e.mari.ok, true, 'mari answered the retried ref');
    assert.equal(e.mari.balance_after, e.legacy.balance_after);
  }
  // The first row just before the window: migrated history, so the second is not put to mari.
  const [ref, second, at] = duplicates[0];
  const edge = await shadow({ from: legacy.url, since: at, until: UNTIL, data_dir: scratch(), config: loadConfig({}, { log_level: 'silent' }) });
  const [example] = edge.explained.find((g) => g.cause === 'duplicate_ref')!.examples;
  assert.deepEqual([example.ref, example.txn_id, example.mari.code], [ref, second, 'not_replayed']);
  assert.deepEqual(edge.differences.filter((g) => g.cause === 'balance_differs'), []);
});

test('a reversal of a transaction from before the window reverses the migrated original, as mari would after the cutover', async () => {
  const [row] = legacy.sql(`SELECT r.txn_id, r.ref, r.created_at FROM txn_log r JOIN txn_log o ON o.ref = r.orig_ref AND o.status = 'SUCCESS' AND o.created_at < r.created_at
    WHERE r.txn_type = 'REVERSAL' AND r.status = 'SUCCESS' ORDER BY r.txn_id DESC LIMIT 1`).trim().split('\n').filter(Boolean).map((line) => line.split('\t'));
  assert.ok(row, 'the legacy set holds a reversal');
  const [txn_id, ref, at] = row;
  const report = await shadow({ from: legacy.url, since: at, until: msToHarareLocal(harareLocalToMs(at)! + 1000), data_dir: scratch(), config: loadConfig({}, { log_level: 'silent' }) });
  assert.deepEqual(report.differences.filter((g) => g.cause === 'unknown_party' || g.cause === 'refused_transaction_not_found'), []);
  // mari gives the original's fee back with the amount; legacy gave the amount only. The payee's
  // balance (the reversal's debit side) moves the same on both.
  const example = report.differences.find((g) => g.cause === 'reversal_refunds_fee')?.examples.find((e) => e.ref === ref);
  assert.ok(example, JSON.stringify(report.differences));
  assert.equal(example.txn_id, txn_id);
  assert.equal(example.mari.ok, true);
  assert.equal(example.legacy.fee, '0.00');
  assert.ok(Number(example.mari.fee) > 0);
  assert.equal(example.mari.balance_after, example.legacy.balance_after);
});

test('mari shadow: exit 1 with undeclared differences; declared causes are reported apart', () => {
  const first = cli(['--from', legacy.url, '--since', SINCE, '--until', UNTIL, '--data-dir', scratch(), '--json']);
  assert.equal(first.status, 1, first.stderr);
  const report = JSON.parse(first.stdout.trim().split('\n').at(-1)!) as ShadowReport;
  const causes = report.differences.map((g) => g.cause);
  assert.ok(causes.includes('fee_differs'));
  // Declare every cause found expected (fees per service, the rest whole): nothing undeclared is left.
  const expect = path.join(scratch(), 'expect.json');
  const feeServices = Object.keys(report.differences.find((g) => g.cause === 'fee_differs')!.services);
  fs.writeFileSync(expect, JSON.stringify([
    ...feeServices.map((service) => ({ cause: 'fee_differs', service, reason: 'new tariff' })),
    ...causes.filter((c) => c !== 'fee_differs').map((cause) => ({ cause, reason: 'reviewed' })),
  ]));
  const second = cli(['--from', legacy.url, '--since', SINCE, '--until', UNTIL, '--data-dir', scratch(), '--expect', expect, '--json']);
  assert.equal(second.status, 0, second.stderr);
  const declared = JSON.parse(second.stdout.trim().split('\n').at(-1)!) as ShadowReport;
  assert.deepEqual(declared.differences, []);
  const fees = declared.expected.filter((g) => g.cause === 'fee_differs');
  assert.deepEqual(fees.map((g) => g.reason), feeServices.map(() => 'new tariff'));
  assert.equal(fees.reduce((a, g) => a + g.count, 0), report.differences.find((g) => g.cause === 'fee_differs')!.count);
  // The text report says which are expected.
  const text = cli(['--from', legacy.url, '--since', SINCE, '--until', UNTIL, '--data-dir', scratch(), '--expect', expect]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /No undeclared difference/);
  assert.match(text.stdout, /fee_differs: \d+ .*expected: new tariff/);
  // Bad input: a clear usage error, nothing run.
  const bad = cli(['--from', legacy.url, '--since', 'yesterday']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--since/);
});

/** The example of a legacy row in a report's explained groups, with its group's cause. */
function explainedRow(report: ShadowReport, txn_id: string): (ShadowReport['explained'][number]['examples'][number] & { reason?: string }) | undefined {
  for (const group of report.explained) {
    const example = group.examples.find((e) => e.txn_id === txn_id);
    if (example) return { ...example, reason: group.reason };
  }
  return undefined;
}

/** Runs `body` with legacy subscribers changed, then puts them back as they were. */
async function withSubscribers(changes: Record<string, { status?: string; msisdn?: string }>, body: () => Promise<void>): Promise<void> {
  const ids = Object.keys(changes).join(',');
  const before = legacy.sql(`SELECT sub_id, status, msisdn FROM subscriber WHERE sub_id IN (${ids})`).trim().split('\n').map((line) => line.split('\t'));
  try {
    for (const [id, change] of Object.entries(changes)) {
      if (change.status) legacy.sql(`UPDATE subscriber SET status = '${change.status}' WHERE sub_id = ${id}`);
      if (change.msisdn) legacy.sql(`UPDATE subscriber SET msisdn = '${change.msisdn}' WHERE sub_id = ${id}`);
    }
    await body();
  } finally {
    for (const [id, status, msisdn] of before) legacy.sql(`UPDATE subscriber SET status = '${status}', msisdn = '${msisdn}' WHERE sub_id = ${id}`);
  }
}

test('P2Ps legacy let suspended, closed and twice-registered subscribers make are explained by legacy\'s own data, with mari\'s codes', async () => {
  // Three P2Ps of the window with six different subscribers: the first payer suspended, the second
  // recipient closed, the third payer closed and its number registered again by an active
  // subscriber with money (legacy's collision: the number is neither's in mari, so mari must not
  // pay from the other registration's wallet).
  const q = (sql: string) => legacy.sql(sql).trim().split('\n').filter(Boolean).map((line) => line.split('\t'));
  const p2ps = q(`SELECT t.txn_id, d.owner_ref, c.owner_ref FROM txn_log t JOIN wallet d ON d.wallet_id = t.debit_wallet JOIN wallet c ON c.wallet_id = t.credit_wallet
    WHERE t.txn_type = 'P2P' AND t.status = 'SUCCESS' AND t.created_at >= '${SINCE}' AND t.created_at < '${UNTIL}' ORDER BY t.txn_id`);
  const chosen: string[][] = [];
  for (const row of p2ps) if (chosen.length < 3 && !chosen.some((c) => c.includes(row[1]) || c.includes(row[2]))) chosen.push(row);
  assert.equal(chosen.length, 3, 'three P2Ps with different subscribers in the window');
  const [[suspendedTxn, suspended], [closedTxn, , closed], [twiceTxn, twice]] = chosen;
  const [[twin]] = q(`SELECT s.sub_id FROM subscriber s JOIN wallet w ON w.owner_type = 'SUBSCRIBER' AND w.owner_ref = s.sub_id AND w.currency = 'USD'
    WHERE s.status = 'ACTIVE' AND w.balance > 100 AND s.sub_id NOT IN (SELECT w2.owner_ref FROM txn_log t JOIN wallet w2 ON w2.wallet_id IN (t.debit_wallet, t.credit_wallet)
      WHERE w2.owner_type = 'SUBSCRIBER' AND t.created_at >= '${SINCE}') ORDER BY s.sub_id LIMIT 1`);
  const [[number]] = q(`SELECT msisdn FROM subscriber WHERE sub_id = ${twice}`);
  const digits = number.replace(/\D/g, '').slice(-9);
  await withSubscribers({ [suspended]: { status: 'SUSPENDED' }, [closed]: { status: 'CLOSED' }, [twice]: { status: 'CLOSED' }, [twin]: { msisdn: `263${digits}` } }, async () => {
    const report = await shadow({ from: legacy.url, since: SINCE, until: UNTIL, data_dir: scratch(), config: loadConfig({}, { log_level: 'silent' }) });
    const expected: [string, string, string, RegExp][] = [
      [suspendedTxn, 'suspended_in_legacy', 'subscriber_suspended', new RegExp(`^payer legacy subscriber ${suspended} is SUSPENDED in legacy$`)],
      [closedTxn, 'closed_in_legacy', 'recipient_not_found', new RegExp(`^recipient legacy subscriber ${closed} is CLOSED in legacy$`)],
      [twiceTxn, 'number_registered_twice', 'subscriber_not_found', new RegExp(`^payer legacy subscriber ${twice}'s number is also legacy subscriber ${twin}'s$`)],
    ];
    for (const [txn_id, cause, code, note] of expected) {
      const example = explainedRow(report, txn_id);
      assert.ok(example, `txn ${txn_id} explained: ${JSON.stringify(report.explained.map((g) => [g.cause, g.examples.map((e) => e.txn_id)]))} ${JSON.stringify(report.differences.map((g) => [g.cause, g.examples.map((e) => e.txn_id)]))}`);
      assert.deepEqual([example.cause, example.legacy.status, example.mari.ok, example.mari.code], [cause, 'SUCCESS', false, code]);
      assert.match(example.note ?? '', note);
      assert.ok(example.reason && example.reason.length > 40, 'the reason an operator reads');
      // Nothing moved in mari: the payer's balance is as it was.
      assert.notEqual(example.mari.balance_after, null);
    }
    // Nothing about these parties is left undeclared, and nothing moved money for another party.
    assert.deepEqual(report.differences.filter((g) => ['party_unavailable', 'unknown_party', 'party_differs', 'accepted_unavailable_party'].includes(g.cause)), []);
    const total = [...report.differences, ...report.explained].reduce((a, g) => a + g.count, 0);
    assert.equal(report.same + total, report.replayed);
    // The text report names the cause, the legacy subscriber and the reason.
    const text = shadowSummary(report).join('\n');
    assert.match(text, new RegExp(`number_registered_twice: 1 \\(P2P 1\\) because: .*\\n    txn ${twiceTxn} .*refused subscriber_not_found.*\\(payer legacy subscriber ${twice}'s number`));
  });
});

test('a reversal of a P2P mari refused in the same window is explained by the original, not an unknown party', async () => {
  // The reversal nearest its original: the original's payer suspended, so mari refuses the
  // original and has nothing to reverse (transaction_not_found).
  const [[reversal, original, from, payer, to]] = legacy.sql(`SELECT r.txn_id, o.txn_id, o.created_at, d.owner_ref, r.created_at FROM txn_log r
    JOIN txn_log o ON o.ref = r.orig_ref AND o.status = 'SUCCESS' JOIN wallet d ON d.wallet_id = o.debit_wallet
    WHERE r.txn_type = 'REVERSAL' AND r.status = 'SUCCESS' AND d.owner_type = 'SUBSCRIBER' ORDER BY TIMESTAMPDIFF(SECOND, o.created_at, r.created_at) LIMIT 1`)
    .trim().split('\n').map((line) => line.split('\t'));
  await withSubscribers({ [payer]: { status: 'SUSPENDED' } }, async () => {
    const report = await shadow({ from: legacy.url, since: from, until: msToHarareLocal(harareLocalToMs(to)! + 1000), data_dir: scratch(), config: loadConfig({}, { log_level: 'silent' }) });
    assert.equal(explainedRow(report, original)?.cause, 'suspended_in_legacy');
    const example = explainedRow(report, reversal);
    assert.ok(example, JSON.stringify(report.differences));
    assert.deepEqual([example.cause, example.mari.code], ['original_refused', 'transaction_not_found']);
    assert.match(example.note ?? '', new RegExp(`^reverses txn ${original} \\S+, which mari did not move in this replay: suspended_in_legacy$`));
  });
});
