// Checks the invariant monitors: they pass on a sound ledger, a failing one opens an incident on
// the status page (once while it fails) and resolves it when it passes again, and a monitor that
// throws counts as failing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Watch, chargingMonitor, conservationMonitor, verifyMonitor, type Monitor } from '../../../src/cutover/kit/watch.js';
import { openKit } from './fixture.js';

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
    assert.deepEqual(ran.results.map((r: { monitor: string; ok: boolean }) => `${r.monitor}:${r.ok}`), ['conservation:true', 'charging_grants:true', 'verify:true']);
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
