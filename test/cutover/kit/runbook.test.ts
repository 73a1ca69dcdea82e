// Checks the cutover runbook: each gate stops it with the reason (reach too low, a legacy service
// missing from mari's catalog; parity transacts every service on its test accounts while the
// platform is frozen), each step's action (freeze closes writes, switch opens them),
// the journal (who, when), time left, persistence across a restart, and rollback, which says
// what it will do and needs confirming.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CATALOG, MENU_SERVICE } from '../../../src/channels/ussd/catalog.js';
import { SMOKE } from '../../../src/channels/ussd/smoke.js';
import { checkParity, findCatalog, paritySummary, type LegacyMenuItem, type ServiceCatalog } from '../../../src/cutover/kit/parity.js';
import type { CutoverTools } from '../../../src/cutover/kit/runbook.js';
import { smsModule } from '../../../src/channels/sms/module.js';
import { MODULES } from '../../../src/platform.js';
import type { PrepaidModule } from '../../../src/products/prepaid/module.js';
import { checkBooks } from '../../helpers/ledger.js';
import { openKit, outbox, recordOutcome, subscriber, writeParties } from './fixture.js';

const WINDOW = { starts_at: '2099-11-21T23:00:00Z', ends_at: '2099-11-22T05:00:00Z' };
/** Every service the legacy menus offered (the catalog's defaults are the legacy codes and keys). */
const LEGACY_MENU: LegacyMenuItem[] = DEFAULT_CATALOG.filter((entry) => entry.enabled && entry.service !== MENU_SERVICE)
  .map((entry) => ({ menu_code: entry.short_code, item_key: entry.key, label: entry.label.en, service: entry.service }));

/**
 * mari's real USSD catalog and smoke check (every journey transacted on its test accounts), with
 * the services in `hidden` left out of its entries: as if they had never been carried over.
 */
function catalogWithout(real: ServiceCatalog, hidden: Set<string>): ServiceCatalog {
  return { entries: () => real.entries().filter((entry) => !hidden.has(entry.service)), smoke: (service) => real.smoke(service) };
}

test('the runbook stops at failed gates with the reason, journals who and when, and rolls back only when confirmed', async () => {
  const hidden = new Set(['AIRTIME_PURCHASE']); // airtime deliberately missing
  const legacyBalances = new Map<string, bigint>([['legacy-wallet-1', 500n]]);
  const kit = await openKit({
    // Without the SMS sender: it would hand the notices to its gateway while the test decides their fate.
    before: MODULES.slice(0, -1).filter((factory) => factory !== smsModule),
    config: { log_level: 'silent' },
    tools: (defaults, context): CutoverTools => ({
      ...defaults,
      // The delta: the legacy rows since the full import, booked as the migration does.
      async importDelta() {
        const handle = context.handle;
        await handle.writer.createAccounts([{ id: 'migration-opening', asset: 'USD', code: 150 }, { id: 'legacy-wallet-1', asset: 'USD', code: 100, flags: 2 }]);
        const [result] = await handle.writer.createTransfers([{ id: 'delta-1', debit_account_id: 'migration-opening', credit_account_id: 'legacy-wallet-1', amount: 500n, asset: 'USD', code: 150 }]);
        return { ok: result === 'ok' || result === 'exists', summary: `1 delta row imported (${result})` };
      },
      // Reconcile: every legacy balance equals mari's.
      async reconcile() {
        const differences = [...legacyBalances].filter(([id, balance]) => {
          const account = context.handle.ledger.accounts.get(id);
          return account === undefined || account.credits_posted - account.debits_posted !== balance;
        });
        return { ok: differences.length === 0, summary: `${differences.length} unexplained difference(s)`, details: differences.map(([id]) => id) };
      },
      async parity() {
        const report = await checkParity({ legacy: LEGACY_MENU, catalog: catalogWithout(findCatalog(context.modules)!, hidden) });
        return { ok: report.ok, summary: paritySummary(report), details: report };
      },
    }),
  });
  try {
    await kit.handle.writer.createAccounts([{ id: 'test-float', asset: 'USD', code: 1 }, { id: 'test-wallet', asset: 'USD', code: 1 }]);
    // A bundle of each kind on sale: a bundle menu with nothing to sell cannot answer a smoke purchase.
    for (const [code, service, units] of [['D1', 'data', '102400'], ['V1', 'voice', '1800'], ['S1', 'sms', '50']] as const) {
      await kit.platform.module<PrepaidModule>('prepaid').putBundle({ code, name: `Test ${service}`, service, price: '50', currency: 'USD', units, validity_s: 86_400, window: null });
    }
    await writeParties(kit.handle, [subscriber({ id: 'p1', msisdn: '+263772000001' }), subscriber({ id: 'p2', msisdn: '+263772000002' })]);
    const campaign = (await kit.request({ url: '/notices/maintenance', body: { ...WINDOW, by: 'ops' } })).body.id;
    await kit.cutover.notices.tick({ now: new Date('2099-11-21T12:00:00Z'), elapsed_s: 10 });
    assert.equal((await kit.request({ url: '/cutover' })).body.code, 'cutover_not_started');
    const announced = await kit.request({ url: '/cutover', body: { ...WINDOW, campaign, reach_min: 0.9, by: 'Rudo' } });
    assert.equal(announced.status, 201);
    assert.equal(announced.body.phase, 'announced');
    assert.equal((await kit.request({ url: '/cutover', body: { ...WINDOW, by: 'Rudo' } })).body.code, 'cutover_exists');
    // Reach gate: nobody reached yet.
    let answer = await kit.request({ url: '/cutover/advance', body: { by: 'Rudo' } });
    assert.equal(answer.status, 409);
    assert.equal(answer.body.code, 'cutover_gate_failed');
    assert.equal(answer.body.details.step, 'frozen');
    assert.match(answer.body.details.reason, /notices reached enough subscribers: 0\/2 reached \(0\.0%\), below the 90\.0% required/);
    assert.deepEqual(kit.cutover.maintenance.list(), [], 'a failed gate does not freeze');
    for (const message of await outbox(kit.handle, `${campaign}:a:`)) await recordOutcome(kit.handle, message, { state: 'delivered', at: new Date() });
    answer = await kit.request({ url: '/cutover/advance', body: { by: 'Rudo' } });
    assert.equal(answer.body.phase, 'frozen', JSON.stringify(answer.body));
    assert.equal(answer.body.blocked, null);
    assert.equal(kit.cutover.maintenance.list()[0].service, 'all');
    const refused = await kit.request({ url: '/transfers', body: { id: 'during', debit_account_id: 'test-float', credit_account_id: 'test-wallet', amount: '1', asset: 'USD', code: 1 } });
    assert.equal(refused.body.code, 'maintenance');
    assert.equal((await kit.request({ url: '/cutover/advance', body: { by: 'Rudo' } })).body.phase, 'delta_imported');
    assert.equal((await kit.request({ url: '/cutover/advance', body: { by: 'Rudo' } })).body.phase, 'reconciled');
    // Parity: airtime is on the legacy menu and not in mari's catalog: the runbook stops.
    answer = await kit.request({ url: '/cutover/advance', body: { by: 'Tendai' } });
    assert.equal(answer.body.code, 'cutover_gate_failed');
    assert.match(answer.body.details.reason, /missing \*151# 2 Buy Airtime \(AIRTIME_PURCHASE\)/);
    const status = (await kit.request({ url: '/cutover' })).body;
    assert.equal(status.phase, 'reconciled');
    assert.equal(status.blocked.step, 'parity_checked');
    assert.equal(status.next.step, 'parity_checked');
    assert.match(status.time_left, /^\d+h\d{2}m$/);
    await kit.request({ url: '/cutover/decisions', body: { by: 'Tendai', text: 'no-go until airtime is in the catalog' } });
    hidden.delete('AIRTIME_PURCHASE');
    const parity = await kit.request({ url: '/cutover/advance', body: { by: 'Tendai' } });
    assert.equal(parity.body.phase, 'parity_checked', JSON.stringify(parity.body));
    // Every service transacted on the test accounts while customers were kept out, each money journey given back.
    const smoke: { service: string; status: string }[] = [];
    for await (const doc of kit.handle.store.documents('money_transactions', { prefix: 'smoke-' })) smoke.push(JSON.parse(doc.value));
    for (const service of ['p2p', 'airtime', 'merchant_payment', 'bank_to_wallet', 'wallet_to_bank']) assert.ok(smoke.some((tx) => tx.service === service && tx.status === 'reversed'), service);
    assert.ok(smoke.some((tx) => tx.service === 'cash_out' && tx.status === 'cancelled'));
    const lots = await kit.platform.module<PrepaidModule>('prepaid').bundleBalances(SMOKE.caller);
    assert.deepEqual([...new Set(lots.map((lot) => lot.bundle_code))].sort(), ['D1', 'S1', 'V1']);
    // The gate asked again (an operator running `mari parity` once more) passes too.
    assert.equal((await kit.cutover.tools.parity({ from: undefined })).ok, true);
    const switched = await kit.request({ url: '/cutover/advance', body: { by: 'Tendai' } });
    assert.equal(switched.body.phase, 'switched');
    assert.deepEqual(kit.cutover.maintenance.list(), [], 'the switch reopens every service');
    const taken = await kit.request({ url: '/transfers', body: { id: 'after-switch', debit_account_id: 'test-float', credit_account_id: 'test-wallet', amount: '7', asset: 'USD', code: 1 } });
    assert.equal(taken.status, 201);
    // Rollback says what it will do, and does nothing without confirm.
    const plan = (await kit.request({ url: '/cutover/rollback' })).body;
    assert.equal(plan.transfers_since_switch.count, 1);
    assert.deepEqual(plan.transfers_since_switch.ids, ['after-switch']);
    assert.ok(plan.actions.some((a: string) => /keep every mari customer service closed/.test(a)));
    const unconfirmed = await kit.request({ url: '/cutover/rollback', body: { by: 'Tendai', confirm: false, reason: 'balances wrong' } });
    assert.equal(unconfirmed.body.code, 'cutover_confirmation_required');
    assert.deepEqual(unconfirmed.body.details.plan, plan);
    assert.equal((await kit.request({ url: '/cutover' })).body.phase, 'switched');
    const rolled = await kit.request({ url: '/cutover/rollback', body: { by: 'Tendai', confirm: true, reason: 'balances wrong' } });
    assert.equal(rolled.status, 200);
    assert.equal(rolled.body.cutover.phase, 'rolled_back');
    assert.equal(kit.cutover.maintenance.list()[0].service, 'all');
    const page = JSON.parse(kit.cutover.board.page().json);
    assert.equal(page.incidents[0].title, 'Platform change rolled back');
    const journal = rolled.body.cutover.journal as { by: string; at: string; kind: string; step: string }[];
    assert.deepEqual(journal.map((e) => `${e.kind}:${e.step}:${e.by}`), [
      'step:announced:Rudo', 'decision:announced:Rudo', 'gate_failed:frozen:Rudo', 'step:frozen:Rudo', 'step:delta_imported:Rudo', 'step:reconciled:Rudo',
      'gate_failed:parity_checked:Tendai', 'decision:reconciled:Tendai', 'step:parity_checked:Tendai', 'step:switched:Tendai', 'rollback:rolled_back:Tendai',
    ]);
    assert.ok(journal.every((e) => !Number.isNaN(Date.parse(e.at))));
    assert.equal((await kit.request({ url: '/cutover/advance', body: { by: 'Tendai' } })).body.code, 'cutover_finished');
    // A new cutover may be announced once the last one is over.
    assert.equal((await kit.request({ url: '/cutover', body: { ...WINDOW, by: 'Rudo' } })).status, 201);
    // The smoke journeys kept the books: the journal verifies and every asset sums to zero.
    assert.equal((await kit.handle.store.verify()).ok, true);
    checkBooks(kit.handle.ledger.accounts.values());
  } finally {
    await kit.close();
  }
});

test('the runbook is a document: a restart finds it where it stopped, window and all', async () => {
  const first = await openKit();
  await first.request({ url: '/cutover', body: { ...WINDOW, reach_min: 0, by: 'Rudo' } });
  const blocked = await first.request({ url: '/cutover/advance', body: { by: 'Rudo' } });
  assert.equal(blocked.body.code, 'cutover_gate_failed', 'no campaign attached');
  await first.stop();
  const again = await openKit({ dir: first.dir });
  try {
    const status = (await again.request({ url: '/cutover' })).body;
    assert.equal(status.phase, 'announced');
    assert.match(status.blocked.reason, /no notice campaign/);
    assert.equal(JSON.parse(again.cutover.board.page().json).window.ends_harare, 'Sun 22 Nov 2099 07:00');
    const plan = (await again.request({ url: '/cutover/rollback' })).body;
    assert.match(plan.actions[0], /nothing was frozen/);
    assert.equal(plan.transfers_since_switch, null);
  } finally {
    await again.close();
  }
});
