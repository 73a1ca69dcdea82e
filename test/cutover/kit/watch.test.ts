// Checks the invariant monitors: they pass on a sound ledger, a failing one opens an incident on
// the status page (once while it fails) and resolves it when it passes again, and a monitor that
// throws counts as failing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Watch, chargingMonitor, conservationMonitor, verifyMonitor, vouchersMonitor, type Monitor } from '../../../src/cutover/kit/watch.js';
import { reconcileMonitor } from '../../../src/cutover/kit/tools.js';
import { Importer } from '../../../src/cutover/import.js';
import { walletRecords } from '../../../src/cutover/reconcile.js';
import { openMysqlSource } from '../../../src/cutover/source.js';
import { AccountCode, airtimeId, systemId } from '../../../src/products/accounts.js';
import type { Msisdn } from '../../../src/products/msisdn.js';
import { VOUCHERS, type VoucherDocument } from '../../../src/products/prepaid/vouchers.js';
import { openLedger } from '../../../src/store/open.js';
import { msToHarareLocal } from '../../../src/time.js';
import { createLegacyDatabase } from '../../helpers/legacy.js';
import { openKit, type KitFixture } from './fixture.js';

const openIncidents = (kit: KitFixture) => JSON.parse(kit.cutover.board.page().json).incidents.filter((i: { state: string }) => i.state === 'open') as { title: string; state: string }[];

test('monitors pass on a sound ledger; a failing one raises one incident and resolves it when it passes', async () => {
  const kit = await openKit();
  try {
    await kit.handle.writer.createAccounts([{ id: 'float', asset: 'USD', code: 1 }, { id: 'w1', asset: 'USD', code: 100, flags: 2 }, { id: 'air1', asset: 'AIRTIME_USD', code: 200, flags: 2 }, { id: 'air-float', asset: 'AIRTIME_USD', code: 1 }]);
    await kit.handle.writer.createTransfers([
      { id: 't1', debit_account_id: 'float', credit_account_id: 'w1', amount: 500n, asset: 'USD', code: 1 },
      { id: 't2', debit_account_id: 'air-float', credit_account_id: 'air1', amount: 10_000n, asset: 'AIRTIME_USD', code: 1 },
      { id: 'grant', debit_account_id: 'air1', credit_account_id: 'air-float', amount: 4_000n, asset: 'AIRTIME_USD', code: 1, flags: 2, timeout: 600 },
    ]);
    const ran = (await kit.request({ url: '/watch/run', body: {} })).body;
    assert.deepEqual(ran.results.map((r: { monitor: string; ok: boolean }) => `${r.monitor}:${r.ok}`), ['conservation:true', 'charging_grants:true', 'verify:true', 'vouchers_vs_recharges:true']);
    let healthy = true;
    const flaky: Monitor = { name: 'vouchers_vs_recharges', services: ['vouchers'], check: async () => (healthy ? { ok: true, summary: 'match' } : { ok: false, summary: '3 recharges with no voucher redeemed' }) };
    const watch = new Watch([conservationMonitor(kit.handle), chargingMonitor(kit.handle), verifyMonitor(kit.handle), flaky], kit.cutover.board);
    healthy = false;
    await watch.run();
    await watch.run();
    let page = JSON.parse(kit.cutover.board.page().json);
    assert.equal(page.incidents.filter((i: { state: string }) => i.state === 'open').length, 1, 'one incident while it fails');
    assert.equal(page.incidents[0].title, 'Invariant check failed: vouchers_vs_recharges');
    assert.equal(page.services.find((s: { service: string }) => s.service === 'vouchers').state, 'degraded');
    healthy = true;
    await watch.run();
    page = JSON.parse(kit.cutover.board.page().json);
    assert.equal(page.incidents[0].state, 'resolved');
    assert.equal(page.overall, 'up');
    const broken = new Watch([{ name: 'reconcile', services: ['send_money'], check: async () => { throw new Error('legacy unreachable'); } }], kit.cutover.board);
    const [result] = await broken.run();
    assert.equal(result.ok, false);
    assert.match(result.summary, /could not run: legacy unreachable/);
    await watch.close();
    await broken.close();
  } finally {
    await kit.close();
  }
});

test('vouchers monitor: every voucher redeemed in mari has its recharge, and no recharge goes out without one', async () => {
  const kit = await openKit();
  try {
    const issue = systemId('voucher_issue', 'AIRTIME_USD');
    const line = airtimeId('+263772000001' as Msisdn, 'USD');
    await kit.handle.writer.createAccounts([
      { id: issue, asset: 'AIRTIME_USD', code: AccountCode.voucher_issue }, { id: line, asset: 'AIRTIME_USD', code: AccountCode.airtime, flags: 2 },
    ]);
    const recharge = (serial: string, amount: bigint) => kit.handle.writer.createTransfers([{ id: `voucher:${serial}`, debit_account_id: issue, credit_account_id: line, amount, asset: 'AIRTIME_USD', code: 500, user_data: serial }]);
    const mark = (serial: string, state: VoucherDocument['state'], transfer_id: string | null) => {
      const doc: VoucherDocument = {
        serial, batch_id: 'b1', face_value: '50000', currency: 'USD', expires_at: '9000000000000000000', state, pin_hash: 'scrypt$1$x$y',
        used_by: state === 'used' ? '+263772000001' : null, used_at: state === 'used' ? '1' : null, transfer_id, source: transfer_id ? 'batch' : 'legacy', created_at: '1',
      };
      return kit.handle.writer.execute({ run: (ctx) => ctx.put({ collection: VOUCHERS, key: serial, tag: state, value: JSON.stringify(doc) }) });
    };
    await mark('S0', 'used', null); // used on legacy: its airtime came with the line's balance
    await mark('S1', 'used', 'voucher:S1');
    await mark('S9', 'new', null);
    await recharge('S1', 50000n);
    const watch = new Watch([vouchersMonitor(kit.handle)], kit.cutover.board);
    let [result] = await watch.run();
    assert.equal(result.ok, true, result.summary);
    assert.match(result.summary, /1 voucher\(s\) redeemed in mari, each with its recharge \(AIRTIME_USD: vouchers 50000, recharges 50000\)/);
    // Marked redeemed, but no airtime went out: fails, names it, raises an incident.
    await mark('S2', 'used', 'voucher:S2');
    [result] = await watch.run();
    assert.equal(result.ok, false);
    assert.match(result.summary, /AIRTIME_USD: vouchers 100000, recharges 50000/);
    assert.deepEqual((result.details as any).without_recharge, [{ serial: 'S2', transfer_id: 'voucher:S2', face_value: '50000', recharged: null }]);
    assert.deepEqual(openIncidents(kit).map((i) => i.title), ['Invariant check failed: vouchers_vs_recharges']);
    assert.equal(JSON.parse(kit.cutover.board.page().json).services.find((s: { service: string }) => s.service === 'vouchers').state, 'degraded');
    await recharge('S2', 50000n);
    [result] = await watch.run();
    assert.equal(result.ok, true, result.summary);
    assert.deepEqual(openIncidents(kit), []);
    // A recharge with no voucher marked redeemed.
    await recharge('S3', 20000n);
    [result] = await watch.run();
    assert.equal(result.ok, false);
    assert.deepEqual((result.details as any).without_voucher, [{ transfer_id: 'voucher:S3', amount: '20000', asset: 'AIRTIME_USD' }]);
    await watch.close();
  } finally {
    await kit.close();
  }
});

test('reconcile monitor: against legacy when MARI_LEGACY_URL is set; mari\'s own traffic since the switch is explained, a legacy write after it is not', async () => {
  const legacy = await createLegacyDatabase({ subscribers: 150, seed: 5 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-watch-'));
  let kit: KitFixture | undefined;
  try {
    const source = await openMysqlSource(legacy.url);
    const handle = await openLedger({ dataDir: dir });
    try {
      assert.equal((await new Importer({ source, handle, as_of_local: msToHarareLocal(Date.now()) }).run()).phase, 'done');
    } finally {
      await handle.close();
      await source.close();
    }
    kit = await openKit({ dir, config: { legacy_url: legacy.url } });
    const ran = (await kit.request({ url: '/watch/run', body: {} })).body.results as { monitor: string; ok: boolean; summary: string }[];
    const first = ran.find((r) => r.monitor === 'reconcile_legacy');
    assert.ok(first?.ok, JSON.stringify(first));
    // The switch, then mari moves money between two migrated wallets.
    const wallets = (await walletRecords(kit.handle)).filter((w) => w.owner_type === 'SUBSCRIBER' && w.currency === 'USD');
    const balance = (id: string) => { const a = kit!.handle.ledger.accounts.get(id)!; return a.credits_posted - a.debits_posted; };
    const payer = wallets.find((w) => balance(w.account_id) > 100n)!;
    const payee = wallets.find((w) => w !== payer)!;
    const untouched = wallets.find((w) => w !== payer && w !== payee)!;
    await kit.handle.writer.settled();
    const switch_ts = kit.handle.ledger.lastTimestamp;
    let switched_at: bigint | undefined = switch_ts;
    await kit.handle.writer.createTransfers([{ id: 'mm:after-switch', debit_account_id: payer.account_id, credit_account_id: payee.account_id, amount: 100n, asset: 'USD', code: 1001 }]);
    const watch = new Watch([reconcileMonitor(kit.handle, { from: legacy.url, switchedAt: () => switched_at })], kit.cutover.board);
    let [result] = await watch.run();
    assert.equal(result.ok, true, result.summary);
    assert.match(result.summary, /2 moved by mari since the switch/);
    // Without the switch to explain it, the same traffic is a difference: the explanation is what passes.
    switched_at = undefined;
    [result] = await watch.run();
    assert.equal(result.ok, false);
    assert.deepEqual(openIncidents(kit).map((i) => i.title), ['Invariant check failed: reconcile_legacy']);
    switched_at = switch_ts;
    [result] = await watch.run();
    assert.equal(result.ok, true, result.summary);
    assert.deepEqual(openIncidents(kit), []);
    // Legacy still written after the switch: a wallet mari never moved changes on legacy.
    legacy.sql(`UPDATE wallet SET balance = balance + 5.00 WHERE wallet_id = ${untouched.id}`);
    [result] = await watch.run();
    assert.equal(result.ok, false);
    assert.deepEqual((result.details as any).discrepancies.map((d: { legacy_id: string }) => d.legacy_id), [untouched.id]);
    assert.deepEqual(openIncidents(kit).map((i) => i.title), ['Invariant check failed: reconcile_legacy']);
    legacy.sql(`UPDATE wallet SET balance = balance - 5.00 WHERE wallet_id = ${untouched.id}`);
    [result] = await watch.run();
    assert.equal(result.ok, true, result.summary);
    await watch.close();
  } finally {
    await kit?.close();
    fs.rmSync(dir, { recursive: true, force: true });
    await legacy.drop();
  }
});
