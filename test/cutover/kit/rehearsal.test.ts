// A whole cutover rehearsed on a small generated legacy platform, every part real: MariaDB as
// the legacy source, the migration, Kannel (with numbers that have no route), the USSD catalog.
// Plan the window; announce it by SMS and read the reach back from delivery reports; freeze;
// import the delta legacy took meanwhile; reconcile; parity, with airtime deliberately missing
// from mari's menu (which must stop the runbook) and then restored, every service transacted on
// the smoke test accounts and reconcile still clean after it; switch; roll back.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Importer } from '../../../src/cutover/import.js';
import { openMysqlSource } from '../../../src/cutover/source.js';
import { openLegacyDb } from '../../../src/cutover/kit/legacy_db.js';
import { hourCounts, quietestWindows, weekProfile } from '../../../src/cutover/kit/plan.js';
import { MODULES } from '../../../src/platform.js';
import { AccountCode } from '../../../src/products/accounts.js';
import { openLedger } from '../../../src/store/open.js';
import { createLegacyDatabase, type LegacyDatabase } from '../../helpers/legacy.js';
import { msToHarareLocal } from '../../../src/time.js';
import { FAILING_PREFIX, kannelInstalled, startKannel, type Kannel } from '../../helpers/kannel.js';
import { openKit, type KitFixture } from './fixture.js';

const KANNEL_BASE_PORT = 13060;
const MARI_PORT = 13069;
const WINDOW = { starts_at: '2099-11-21T23:00:00Z', ends_at: '2099-11-22T05:00:00Z' };
const FAILING_SUBSCRIBERS = [3, 4, 5, 6, 7, 8];

let legacy: LegacyDatabase;
let kannel: Kannel;
let kit: KitFixture;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeout_ms = 60_000): Promise<T> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

before(async () => {
  assert.ok(kannelInstalled(), 'Kannel is installed (apt-get install kannel kannel-extras; .ci/run does it)');
  legacy = await createLegacyDatabase({ subscribers: 300, seed: 11 });
  // Six customers whose numbers the SMSC cannot route: they must show up as never reached.
  legacy.sql(`UPDATE subscriber SET msisdn = CONCAT('0${FAILING_PREFIX.slice(4)}', LPAD(sub_id, 4, '0')), status = 'ACTIVE' WHERE sub_id IN (${FAILING_SUBSCRIBERS.join(',')})`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-rehearsal-'));
  const source = await openMysqlSource(legacy.url);
  const handle = await openLedger({ dataDir: dir });
  try {
    // As of now, as a real cutover imports: the generated data ends on its own cutover day, days ago.
    const bulk = await new Importer({ source, handle, as_of_local: msToHarareLocal(Date.now()) }).run();
    assert.equal(bulk.phase, 'done');
  } finally {
    await handle.close();
    await source.close();
  }
  kannel = await startKannel({ base_port: KANNEL_BASE_PORT });
  kit = await openKit({
    dir, before: MODULES.slice(0, -1),
    config: {
      sms_sender: 'kannel', kannel_sendsms_url: kannel.sendsms_url, kannel_username: kannel.username, kannel_password: kannel.password,
      sms_dlr_base_url: `http://127.0.0.1:${MARI_PORT}`, sms_rate_per_second: 500, sms_backoff_ms: 200, sms_attempts_max: 2, log_level: 'silent',
    },
  });
  await kit.app.listen({ port: MARI_PORT, host: '127.0.0.1' });
});

after(async () => {
  await kit?.close();
  await kannel?.stop();
  await legacy?.drop();
});

test('a whole cutover rehearsal: plan, notify through Kannel, freeze, delta, reconcile, parity stops on a missing service, switch, roll back', async () => {
  // Plan: the quietest 6 h windows of the legacy week.
  const db = await openLegacyDb(legacy.url);
  const windows = quietestWindows(weekProfile(await hourCounts(db)), { duration_h: 6, count: 3 });
  await db.close();
  assert.equal(windows.length, 3);

  // Announce: every active subscriber gets the notice through Kannel; unroutable numbers fail.
  const started = await kit.request({ url: '/notices/maintenance', body: { ...WINDOW, by: 'Rudo', rate_per_s: 1000 } });
  assert.equal(started.status, 201);
  const campaign = started.body.id;
  const now = new Date('2099-11-21T12:00:00Z');
  while (!kit.cutover.notices.get(campaign).progress.announce.done) await kit.cutover.notices.tick({ now, elapsed_s: 1 });
  const reach = await until('every notice to settle', async () => {
    const report = (await kit.request({ url: `/notices/maintenance/${campaign}` })).body;
    return report.pending === 0 && report.sent === report.targeted ? report : undefined;
  });
  assert.ok(reach.targeted > 250, `${reach.targeted} subscribers targeted`);
  const unreached = reach.never_reached.map((n: { msisdn: string }) => n.msisdn).sort();
  assert.deepEqual(unreached, FAILING_SUBSCRIBERS.map((id) => `${FAILING_PREFIX}${String(id).padStart(4, '0')}`).sort());
  assert.equal(reach.delivered, reach.targeted - FAILING_SUBSCRIBERS.length);
  assert.equal(Object.values(reach.failed_by_reason).reduce((a: number, n) => a + (n as number), 0), FAILING_SUBSCRIBERS.length);
  const texts = kannel.received();
  assert.ok(texts.some((m) => /Planned maintenance from Sun 22 Nov 2099 01:00/.test(m.text) || /Kugadzirisa|Ukulungiswa/.test(m.text)));
  // Running notify again texts nobody twice.
  assert.equal((await kit.request({ url: '/notices/maintenance', body: { ...WINDOW, by: 'Rudo' } })).status, 200);
  await kit.cutover.notices.tick({ now, elapsed_s: 10 });
  assert.equal((await kit.request({ url: `/notices/maintenance/${campaign}` })).body.targeted, reach.targeted);

  // The bundle catalog is mari's own (legacy had none to migrate): set up before the freeze, since
  // parity buys a bundle of each kind on the test line and a kind with nothing on sale stops it.
  for (const [code, service, units] of [['DAY100', 'data', '102400'], ['VOICE30', 'voice', '1800'], ['SMS50', 'sms', '50']] as const) {
    const put = await kit.request({ url: '/prepaid/bundles', body: { code, name: `Daily ${service}`, service, price: '50', currency: 'USD', units, validity_s: 86_400 } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
  }

  // The runbook: announced, then frozen once the reach gate passes.
  assert.equal((await kit.request({ url: '/cutover', body: { ...WINDOW, campaign, reach_min: 0.9, by: 'Rudo' } })).status, 201);
  const frozen = await kit.request({ url: '/cutover/advance', body: { by: 'Rudo' } });
  assert.equal(frozen.body.phase, 'frozen', JSON.stringify(frozen.body));
  const send = await kit.request({ url: '/money/send', body: { msisdn: '+263772000001', pin: '1234', to: '+263772000001', amount: '1.00', currency: 'USD', reference: 'r1' } });
  assert.equal(send.body.code, 'maintenance');

  // Legacy took a few more transactions before it was frozen: the delta brings them.
  const [lastTxn] = legacy.sql('SELECT MAX(txn_id) FROM txn_log').trim().split('\t');
  const wallets = legacy.sql(`SELECT wallet_id FROM wallet WHERE owner_type = 'SUBSCRIBER' AND currency = 'USD' AND balance > 20 ORDER BY wallet_id LIMIT 4`).trim().split('\n');
  const statements: string[] = [];
  for (let i = 0; i < 3; i++) {
    statements.push(`INSERT INTO txn_log VALUES (${Number(lastTxn) + i + 1}, 'MPREH.${i}', 'P2P', ${wallets[i]}, ${wallets[i + 1]}, 2.00, 0.05, 'USD', 'SUCCESS', 'USSD', NULL, '2026-11-20 21:05:00')`);
    statements.push(`UPDATE wallet SET balance = balance - 2.05 WHERE wallet_id = ${wallets[i]}`, `UPDATE wallet SET balance = balance + 2.00 WHERE wallet_id = ${wallets[i + 1]}`);
    statements.push(`UPDATE wallet SET balance = balance + 0.05 WHERE owner_type = 'SYSTEM' AND owner_ref = 'FEES' AND currency = 'USD'`);
  }
  legacy.sql(statements.join(';\n'));
  const delta = await kit.request({ url: '/cutover/advance', body: { by: 'Rudo', from: legacy.url } });
  assert.equal(delta.body.phase, 'delta_imported', JSON.stringify(delta.body));
  assert.match(delta.body.journal.at(-1).text, /delta \(pass 2\): 3 new transactions, 0 new subscribers, 0 wallets brought level, 6 transfers/);
  const reconciled = await kit.request({ url: '/cutover/advance', body: { by: 'Rudo', from: legacy.url } });
  assert.equal(reconciled.body.phase, 'reconciled', JSON.stringify(reconciled.body));

  // Airtime recharge missing from mari's menu: parity stops the runbook and names it.
  const airtime = { short_code: '*151#', key: '2', label: { en: 'Buy Airtime', sn: 'Tenga Airtime', nd: 'Thenga i-Airtime' }, service: 'AIRTIME_PURCHASE' };
  assert.equal((await kit.request({ url: '/ussd/catalog', body: { ...airtime, enabled: false } })).status, 200);
  const stopped = await kit.request({ url: '/cutover/advance', body: { by: 'Tendai', from: legacy.url } });
  assert.equal(stopped.body.code, 'cutover_gate_failed');
  assert.match(stopped.body.details.reason, /\*151# 2 Buy Airtime \(AIRTIME_PURCHASE\)/);
  assert.equal((await kit.request({ url: '/cutover' })).body.phase, 'reconciled');
  assert.equal((await kit.request({ url: '/ussd/catalog', body: { ...airtime, enabled: true } })).status, 200);
  const parity = await kit.request({ url: '/cutover/advance', body: { by: 'Tendai', from: legacy.url } });
  assert.equal(parity.body.phase, 'parity_checked', JSON.stringify(parity.body));
  // Parity transacted every service on its own test accounts, through the menus, while customers
  // were kept out; each money journey was given back, so reconcile against legacy still passes.
  const smoke: { reference: string; service: string; status: string }[] = [];
  for await (const doc of kit.handle.store.documents('money_transactions', { prefix: 'smoke-' })) smoke.push(JSON.parse(doc.value));
  for (const service of ['p2p', 'airtime', 'merchant_payment', 'bank_to_wallet', 'wallet_to_bank']) assert.ok(smoke.some((tx) => tx.service === service && tx.status === 'reversed'), service);
  assert.ok(smoke.some((tx) => tx.service === 'cash_out' && tx.status === 'cancelled'));
  const again = await kit.cutover.tools.reconcile({ from: legacy.url });
  assert.equal(again.ok, true, again.summary);

  // Switch: verify passes, every service reopens, and mari takes a transaction.
  const switched = await kit.request({ url: '/cutover/advance', body: { by: 'Tendai' } });
  assert.equal(switched.body.phase, 'switched', JSON.stringify(switched.body));
  assert.deepEqual(kit.cutover.maintenance.list(), []);
  const [payer, payee] = [...kit.handle.ledger.accounts.values()].filter((a) => a.code === AccountCode.subscriber_wallet && a.asset === 'USD' && a.credits_posted - a.debits_posted > 1000n);
  const taken = await kit.request({ url: '/transfers', body: { id: 'after-switch-1', debit_account_id: payer.id, credit_account_id: payee.id, amount: '100', asset: 'USD', code: 1 } });
  assert.equal(taken.status, 201, JSON.stringify(taken.body));

  // Roll back: the plan first (naming what mari took since the switch), then only with confirm.
  const plan = (await kit.request({ url: '/cutover/rollback' })).body;
  assert.equal(plan.phase, 'switched');
  assert.ok(plan.transfers_since_switch.ids.includes('after-switch-1'));
  const rolled = await kit.request({ url: '/cutover/rollback', body: { by: 'Tendai', confirm: true, reason: 'rehearsal' } });
  assert.equal(rolled.body.cutover.phase, 'rolled_back');
  assert.equal(kit.cutover.maintenance.list()[0].service, 'all');
  const page = JSON.parse(kit.cutover.board.page().json);
  assert.equal(page.overall, 'maintenance');
  assert.equal(page.incidents[0].title, 'Platform change rolled back');
  const verify = await kit.handle.store.verify();
  assert.equal(verify.ok, true);
});
