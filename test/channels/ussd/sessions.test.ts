// Checks USSD sessions over time and the catalog as data: a session expires after its timeout
// and a late confirmation changes nothing; a completed session's answer survives a restart; the
// catalog covers every enabled legacy service_menu entry, operators can change it, and every
// screen of every service fits 182 characters in English, Shona and Ndebele; the cutover parity
// check drives every service's whole journey on its own test accounts (twice, under maintenance
// too), names the screen or refusal where one breaks, and leaves the ledger verified and conserved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { openHttp, ledgerState, assertJournalOk, type HttpFixture } from '../../helpers/http.js';
import { checkBooks } from '../../helpers/ledger.js';
import { dial, journey, SCREEN_MAX } from '../../helpers/ussd.js';
import type { MoneyModule } from '../../../src/products/money/module.js';
import type { PrepaidModule } from '../../../src/products/prepaid/module.js';
import type { UssdModule } from '../../../src/channels/ussd/module.js';
import { DEFAULT_CATALOG } from '../../../src/channels/ussd/catalog.js';
import { FLOWS_BY_SERVICE } from '../../../src/channels/ussd/flows.js';
import { TEXTS } from '../../../src/channels/ussd/texts.js';
import { checkParity, findCatalog, paritySummary } from '../../../src/cutover/kit/parity.js';
import { SMOKE, type SmokeServices } from '../../../src/channels/ussd/smoke.js';
import { ussdModule } from '../../../src/channels/ussd/module.js';
import { prepaidModule } from '../../../src/products/prepaid/module.js';
import { loadConfig } from '../../../src/config.js';
import { openLedger } from '../../../src/store/open.js';
import { openPlatform } from '../../../src/platform.js';

const PIN = '2580';

async function withPeople(options: { timeout_s?: number; dir?: string } = {}) {
  const f = await openHttp({ config: { log_level: 'silent', ...(options.timeout_s ? { ussd_session_timeout_s: options.timeout_s } : {}) } });
  const money = f.platform.module<MoneyModule>('money');
  const people = [['+263772000201', 'Tendai Moyo', 'en'], ['+263772000202', 'Rudo Chikwanha', 'sn'], ['+263772000203', 'Sipho Ndlovu', 'nd']] as const;
  for (const [msisdn, name, language] of people) {
    await money.registerSubscriber({ msisdn, name, kyc_tier: 2, language });
    await money.setPin({ msisdn, pin: PIN });
  }
  await money.registerBank({ code: 'CBZ', name: 'CBZ Bank' });
  await money.registerMerchant({ code: 'OKZIM', name: 'OK Zimbabwe Supermarkets' });
  await money.registerAgent({ code: 'AG001', name: 'Mbare Musika Agent Services' });
  await money.bankToWallet({ bank: 'CBZ', to: people[0][0], amount: 50_00n, currency: 'USD', reference: 'fund-1' });
  await f.platform.module<PrepaidModule>('prepaid').putBundle({ code: 'D1', name: 'Monthly 5GB Data', service: 'data', price: '1500', currency: 'USD', units: '5242880', validity_s: 2_592_000, window: null });
  return { f, money, people };
}

test('a session expires after its timeout: a late confirmation moves nothing and says so', async (t) => {
  const { f, people } = await withPeople({ timeout_s: 1 });
  t.after(() => f.close());
  const state = ledgerState(f.handle);
  const session = dial(f.app, { msisdn: people[0][0], code: '*151#' });
  assert.match(await journey(session, ['1', people[1][0], '1', '5']), /^CON Send USD 5\.00 to Rudo Chikwanha/);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  assert.equal(await session.send(PIN), 'END Your session timed out. Nothing was changed. Dial again.');
  assert.deepEqual(ledgerState(f.handle).accounts, state.accounts);
  // A new dial works as usual.
  assert.match(await journey(dial(f.app, { msisdn: people[0][0], code: '*151#' }), ['1', people[1][0], '1', '5', PIN]), /^END Sent USD 5\.00/);
});

test('a completed session\'s answer is recorded: a resend after a restart gets it, and nothing is sent twice', async (t) => {
  const { f, money, people } = await withPeople();
  let closed = false;
  t.after(async () => {
    if (!closed) await f.close();
  });
  const session = dial(f.app, { msisdn: people[0][0], code: '*151#' });
  const done = await journey(session, ['1', people[2][0], '1', '3', PIN]);
  assert.match(done, /^END Sent USD 3\.00 to Sipho Ndlovu/);
  const balance = (await money.balance({ msisdn: people[2][0], pin: PIN })).balances.find((line) => line.asset === 'USD')!.available;
  // Restart on the same data directory.
  const dir = f.dir;
  await f.app.close();
  await f.platform.close();
  closed = true;
  const { openLedger } = await import('../../../src/store/open.js');
  const { openPlatform } = await import('../../../src/platform.js');
  const { buildApp } = await import('../../../src/channels/http/app.js');
  const handle = await openLedger({ dataDir: dir });
  const platform = await openPlatform(handle, f.config);
  const app = await buildApp({ handle, config: f.config, keys: f.keys, modules: platform.modules.values() });
  t.after(async () => {
    await app.close();
    await platform.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const again = dial(app, { msisdn: people[0][0], code: '*151#', sessionId: session.sessionId });
  assert.equal(await again.send(['1', people[2][0], '1', '3', PIN].join('*')), done);
  const after = (await platform.module<MoneyModule>('money').balance({ msisdn: people[2][0], pin: PIN })).balances.find((line) => line.asset === 'USD')!.available;
  assert.equal(after, balance);
});

/** The legacy platform's menu rows, read from the generator that produced the legacy database. */
function legacyMenu(): { code: string; key: string; label: string; service: string; enabled: boolean }[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const file = path.resolve(here, '../../../../../shared/legacy/generate.mjs');
  const source = fs.readFileSync(fs.existsSync(file) ? file : '/work/shared/legacy/generate.mjs', 'utf8');
  const block = /const MENUS = \[([\s\S]*?)\n\];/.exec(source)![1];
  return [...block.matchAll(/\['(\*\d+#)', '([\d.]+)', '([^']+)', '([A-Z0-9_]+)', ([01])\]/g)].map((m) => ({ code: m[1], key: m[2], label: m[3], service: m[4], enabled: m[5] === '1' }));
}

test('the catalog covers every enabled legacy service under its legacy code and key, and says so through the API', async (t) => {
  const { f } = await withPeople();
  t.after(() => f.close());
  const legacy = legacyMenu();
  assert.equal(legacy.length, 16);
  const answer = await f.request({ url: '/ussd/catalog', key: f.auditor });
  assert.equal(answer.status, 200);
  const reachable = new Set(answer.body.services.map((s: { short_code: string; key: string; service: string }) => `${s.short_code} ${s.key} ${s.service}`));
  for (const row of legacy.filter((r) => r.enabled)) assert.ok(reachable.has(`${row.code} ${row.key} ${row.service}`), `${row.code} ${row.key} ${row.service}`);
  assert.deepEqual(answer.body.unavailable, []);
  // Every reachable service has a menu flow behind it.
  for (const s of answer.body.services) assert.ok(FLOWS_BY_SERVICE.has(s.service), s.service);
  // The legacy disabled item is listed, disabled, and not reachable.
  assert.ok(answer.body.entries.some((e: { service: string; enabled: boolean }) => e.service === 'BILL_PAYMENT' && !e.enabled));
  assert.ok(!reachable.has('*151# 6 BILL_PAYMENT'));
});

/** The enabled legacy menu rows, as the parity check reads them from service_menu. */
function legacyEnabled() {
  return legacyMenu().filter((row) => row.enabled).map((row) => ({ menu_code: row.code, item_key: row.key, label: row.label, service: row.service }));
}

/** A bundle of each kind on sale (the fixture has a data bundle only): a bundle service with nothing to sell cannot answer. */
async function stockBundles(prepaid: PrepaidModule): Promise<void> {
  await prepaid.putBundle({ code: 'D-DAY', name: 'Daily 100MB', service: 'data', price: '50', currency: 'USD', units: '102400', validity_s: 86_400, window: null });
  await prepaid.putBundle({ code: 'V30', name: 'Voice 30 min', service: 'voice', price: '75', currency: 'USD', units: '1800', validity_s: 86_400, window: null });
  await prepaid.putBundle({ code: 'S50', name: 'SMS 50', service: 'sms', price: '25', currency: 'USD', units: '50', validity_s: 86_400, window: null });
}

/** mari's own balance of an account (0 when it does not exist yet): fees and airtime sales, which reconcile compares with legacy. */
function signed(f: HttpFixture, id: string): bigint {
  const account = f.handle.ledger.accounts.get(id);
  return account ? account.credits_posted - account.debits_posted - account.debits_pending : 0n;
}

async function smokeTransactions(f: HttpFixture): Promise<{ reference: string; service: string; status: string; amount: string }[]> {
  const found = [];
  for await (const doc of f.handle.store.documents('money_transactions', { prefix: 'smoke-' })) found.push(JSON.parse(doc.value));
  return found;
}

function checkLedger(f: HttpFixture): void {
  assertJournalOk(f.handle);
  checkBooks(f.handle.ledger.accounts.values());
}

test('the cutover parity check transacts every service through its menu on the test accounts, twice, and leaves mari\'s own accounts as they were', async (t) => {
  const { f, money, people } = await withPeople();
  t.after(() => f.close());
  const prepaid = f.platform.module<PrepaidModule>('prepaid');
  await stockBundles(prepaid);
  // Compile-time: the modules answer what the smoke check asks of them.
  const services: SmokeServices = { money, prepaid };
  assert.ok(services.money && services.prepaid);
  const catalog = findCatalog(f.platform.modules);
  assert.ok(catalog, 'the ussd module offers the catalog the parity check looks for');
  const legacy = legacyEnabled();
  const own = ['system:fees:USD', 'system:airtime_sales:USD'].map((id) => signed(f, id));
  const report = await checkParity({ legacy, catalog });
  assert.deepEqual({ ok: report.ok, missing: report.missing, disabled: report.disabled, smoke_failed: report.smoke_failed }, { ok: true, missing: [], disabled: [], smoke_failed: [] });
  assert.equal(report.present, legacy.length);

  // The test accounts, registered through mobile money on the reserved numbers.
  assert.equal(money.findSubscriber(SMOKE.caller).name, 'Parity smoke caller');
  assert.equal(money.findSubscriber(SMOKE.payee).name, 'Parity smoke payee');
  for (const { code, kind } of [SMOKE.bank, SMOKE.agent, SMOKE.merchant]) assert.equal(money.findBusiness(code)?.kind, kind);
  // Every money journey is recorded under a smoke- reference, checked, then given back.
  const first = await smokeTransactions(f);
  const byService = (service: string) => first.filter((tx) => tx.service === service && tx.amount === String(SMOKE.amount));
  for (const service of ['p2p', 'airtime', 'merchant_payment', 'wallet_to_bank']) assert.deepEqual(byService(service).map((tx) => tx.status), ['reversed'], service);
  assert.deepEqual(byService('cash_out').map((tx) => tx.status), ['cancelled']);
  assert.ok(byService('bank_to_wallet').some((tx) => tx.status === 'reversed'), 'bank to wallet through the menu, reversed');
  assert.ok(first.some((tx) => tx.service === 'bank_to_wallet' && tx.reference.startsWith('smoke-fund-')), 'the wallet funded from the smoke bank');
  assert.ok(first.every((tx) => tx.reference.startsWith('smoke-')));
  assert.deepEqual(['system:fees:USD', 'system:airtime_sales:USD'].map((id) => signed(f, id)), own, 'fees and airtime sales end where they were');
  // Prepaid: a voucher redeemed on the test line (its printed PIN not kept), a bundle of each kind bought.
  const card = await prepaid.voucher('000001000001'); // the first batch's first serial
  assert.deepEqual({ state: card.state, used_by: card.used_by, face_value: card.face_value }, { state: 'used', used_by: SMOKE.caller, face_value: '100' });
  assert.deepEqual(fs.readdirSync(path.join(f.dir, 'vouchers')), []);
  assert.deepEqual((await prepaid.bundleBalances(SMOKE.caller)).map((lot) => lot.bundle_code).sort(), ['D-DAY', 'S50', 'V30']);
  checkLedger(f);

  // Again, with maintenance keeping customers out as during a cutover: the journeys still pass, customers are still refused.
  const until = new Date(Date.now() + 3_600_000).toISOString();
  assert.equal((await f.request({ url: '/maintenance', body: { on: true, service: 'all', until, reason: 'cutover', by: 'ops' } })).status, 200);
  const again = await checkParity({ legacy, catalog });
  assert.deepEqual(again.smoke_failed, []);
  assert.equal(again.ok, true);
  assert.match(await journey(dial(f.app, { msisdn: people[0][0], code: '*151#' }), ['1']), /^END Send money is closed for planned maintenance/);
  const second = await smokeTransactions(f);
  assert.equal(second.filter((tx) => tx.service === 'p2p' && tx.status === 'reversed').length, 2, 'a new reference each run');
  assert.equal(money.pinState(SMOKE.caller).locked, false);
  assert.deepEqual(['system:fees:USD', 'system:airtime_sales:USD'].map((id) => signed(f, id)), own);
  checkLedger(f);

  // A service taken off the menu is found by the same check.
  const voucher = DEFAULT_CATALOG.find((e) => e.service === 'VOUCHER_RECHARGE')!;
  await f.request({ url: '/ussd/catalog', body: { ...voucher, enabled: false } });
  const after = await checkParity({ legacy, catalog });
  assert.equal(after.ok, false);
  assert.deepEqual(after.disabled.map((item) => item.service), ['VOUCHER_RECHARGE']);
  assert.deepEqual(await catalog.smoke('VOUCHER_RECHARGE'), { ok: false, reason: 'VOUCHER_RECHARGE is not reachable on any menu' });
});

test('a journey that breaks is named with the screen or refusal that stopped it: the smoke funding taken away, a bundle retired, the test merchant suspended', async (t) => {
  const { f, money } = await withPeople();
  t.after(() => f.close());
  const prepaid = f.platform.module<PrepaidModule>('prepaid');
  await stockBundles(prepaid);
  const catalog = findCatalog(f.platform.modules)!;
  const legacy = legacyEnabled();
  assert.equal((await checkParity({ legacy, catalog })).ok, true);
  const reasonsOf = async () => {
    const report = await checkParity({ legacy, catalog });
    assert.equal(report.ok, false);
    return { report, reasons: Object.fromEntries(report.smoke_failed.map((item) => [item.service, item.reason])) };
  };

  // The smoke bank suspended: it can neither top the test wallet up (the last run's bundles spent it) nor be chosen on the menu.
  await money.updateBusiness('bank', SMOKE.bank.code, { status: 'suspended' });
  const state = ledgerState(f.handle);
  const unfunded = await reasonsOf();
  for (const service of ['P2P', 'AIRTIME_PURCHASE', 'MERCHANT_PAYMENT', 'CASH_OUT', 'WALLET_TO_BANK', 'DATA_BUNDLE_PURCHASE', 'VOICE_BUNDLE_PURCHASE', 'SMS_BUNDLE_PURCHASE']) {
    assert.match(unfunded.reasons[service] ?? '', /^funding the test wallet from SMOKEBANK: bank_unavailable \(/, service);
  }
  assert.equal(unfunded.reasons.BANK_TO_WALLET, 'the smoke bank SMOKEBANK is not among the 1 bank(s) the menu lists');
  // What needs no money still answers: balances, the statement, the PIN change, a voucher.
  assert.equal(unfunded.report.smoke_failed.length, 9);
  // Nothing was left half-done: the only balances that moved are the voucher's airtime.
  const moved = Object.entries(ledgerState(f.handle).accounts).filter(([id, balances]) => state.accounts[id] !== balances).map(([id]) => id).sort();
  assert.deepEqual(moved, [`airtime:${SMOKE.caller.slice(1)}:USD`, 'system:voucher_issue:AIRTIME_USD']);
  checkLedger(f);

  // Funding back; the only voice bundle retired and the test merchant suspended.
  await money.updateBusiness('bank', SMOKE.bank.code, { status: 'active' });
  await prepaid.retireBundle('V30');
  await money.updateBusiness('merchant', SMOKE.merchant.code, { status: 'suspended' });
  const broken = await reasonsOf();
  assert.deepEqual(broken.reasons, {
    MERCHANT_PAYMENT: '"Enter merchant code" answered "No merchant has that code."',
    VOICE_BUNDLE_PURCHASE: 'the journey stopped at "No bundles on sale."',
  });
  assert.match(paritySummary(broken.report), /no answer \*171# 2 Voice bundles: the journey stopped at "No bundles on sale\."/);
  checkLedger(f);

  // Put right, the next run passes (the PIN set afresh after the failures).
  await prepaid.putBundle({ code: 'V30', name: 'Voice 30 min', service: 'voice', price: '75', currency: 'USD', units: '1800', validity_s: 86_400, window: null });
  await money.updateBusiness('merchant', SMOKE.merchant.code, { status: 'active' });
  assert.deepEqual((await checkParity({ legacy, catalog })).smoke_failed, []);
  checkLedger(f);
});

test('without mobile money the money services are named as not running, and the prepaid ones pass, bundles paid from airtime', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-smoke-'));
  const config = loadConfig({}, { data_dir: dir, log_level: 'silent' });
  const handle = await openLedger({ dataDir: dir });
  const platform = await openPlatform(handle, config, [prepaidModule, ussdModule]);
  t.after(async () => {
    await platform.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const prepaid = platform.module<PrepaidModule>('prepaid');
  await stockBundles(prepaid);
  const report = await checkParity({ legacy: legacyEnabled(), catalog: findCatalog(platform.modules)! });
  const reasons = Object.fromEntries(report.smoke_failed.map((item) => [item.service, item.reason]));
  const prepaidServices = ['VOUCHER_RECHARGE', 'AIRTIME_BALANCE', 'DATA_BUNDLE_PURCHASE', 'VOICE_BUNDLE_PURCHASE', 'SMS_BUNDLE_PURCHASE', 'BUNDLE_BALANCE'];
  for (const service of prepaidServices) assert.equal(reasons[service], undefined, `${service}: ${reasons[service]}`);
  assert.equal(report.present, prepaidServices.length);
  for (const item of report.smoke_failed) assert.equal(item.reason, 'the money module is not running', item.service);
  assert.deepEqual((await prepaid.bundleBalances(SMOKE.caller)).map((lot) => lot.bundle_code).sort(), ['D-DAY', 'S50', 'V30']);
  assertJournalOk(handle);
  checkBooks(handle.ledger.accounts.values());
});

test('the smoke check will not transact on a reserved number a customer holds', async (t) => {
  const { f, money } = await withPeople();
  t.after(() => f.close());
  await stockBundles(f.platform.module<PrepaidModule>('prepaid'));
  await money.registerSubscriber({ msisdn: SMOKE.payee, name: 'Farai Mutasa', kyc_tier: 1 });
  const wallet = money.walletOf(SMOKE.payee, 'USD')!;
  const before = ledgerState(f.handle).accounts[wallet];
  const report = await checkParity({ legacy: legacyEnabled(), catalog: findCatalog(f.platform.modules)! });
  assert.equal(report.ok, false);
  assert.equal(report.smoke_failed.find((item) => item.service === 'P2P')?.reason, `the reserved number ${SMOKE.payee} is held by another subscriber: the smoke check will not use it`);
  assert.equal(ledgerState(f.handle).accounts[wallet], before);
});

test('in maintenance the menus refuse writes with the maintenance text and keep serving balances; a ussd switch closes the menus', async (t) => {
  const { f, people } = await withPeople();
  t.after(() => f.close());
  const until = new Date(Date.now() + 3_600_000).toISOString();
  const on = await f.request({ url: '/maintenance', body: { on: true, service: 'all', until, reason: 'cutover', by: 'ops' } });
  assert.equal(on.status, 200, on.text);
  const state = ledgerState(f.handle);
  assert.match(await journey(dial(f.app, { msisdn: people[0][0], code: '*151#' }), ['1']), /^END Send money is closed for planned maintenance until .+ \(Harare time\)\. Balance enquiries still work\.$/);
  assert.match(await journey(dial(f.app, { msisdn: people[1][0], code: '*171#' }), ['1']), /^END .*yakavharwa nekuda kwekugadzirisa/);
  assert.match(await journey(dial(f.app, { msisdn: people[0][0], code: '*151#' }), ['7', '1', PIN]), /^END Your balance:\nUSD 50\.00/);
  assert.match(await journey(dial(f.app, { msisdn: people[0][0], code: '*405#' }), ['2']), /^END Airtime balance:/);
  assert.deepEqual(ledgerState(f.handle).accounts, state.accounts);
  await f.request({ url: '/maintenance', body: { on: true, service: 'ussd', until, reason: 'cutover', by: 'ops' } });
  assert.match(await dial(f.app, { msisdn: people[0][0], code: '*151#' }).send(), /^END USSD menus .* closed for planned maintenance/);
  await f.request({ url: '/maintenance', body: { on: false, service: 'all', by: 'ops' } });
  assert.match(await journey(dial(f.app, { msisdn: people[0][0], code: '*151#' }), ['1', people[1][0], '1', '1', PIN]), /^END Sent USD 1\.00/);
});

test('operators change the catalog as data: relabel, disable, refuse an unknown service; the menus follow', async (t) => {
  const { f, people } = await withPeople();
  t.after(() => f.close());
  const entry = { ...DEFAULT_CATALOG.find((e) => e.short_code === '*405#' && e.key === '2')! };
  const relabelled = await f.request({ url: '/ussd/catalog', body: { ...entry, label: { ...entry.label, en: 'My airtime' } } });
  assert.equal(relabelled.status, 200);
  assert.equal(await journey(dial(f.app, { msisdn: people[0][0], code: '*405#' }), []), 'CON Airtime\n1 Recharge with voucher\n2 My airtime');
  assert.equal((await f.request({ url: '/ussd/catalog', body: { ...entry, enabled: false } })).status, 200);
  assert.equal(await journey(dial(f.app, { msisdn: people[0][0], code: '*405#' }), []), 'CON Airtime\n1 Recharge with voucher');
  assert.match(await journey(dial(f.app, { msisdn: people[0][0], code: '*405#' }), ['2']), /^CON Invalid choice\./);
  const services = (await f.request({ url: '/ussd/catalog' })).body.services.map((s: { service: string }) => s.service);
  assert.ok(!services.includes('AIRTIME_BALANCE'));
  // Disabling a submenu hides what is under it from the parity answer too.
  const bank = DEFAULT_CATALOG.find((e) => e.short_code === '*151#' && e.key === '5')!;
  await f.request({ url: '/ussd/catalog', body: { ...bank, enabled: false } });
  const after = (await f.request({ url: '/ussd/catalog' })).body.services.map((s: { service: string }) => s.service);
  assert.ok(!after.includes('BANK_TO_WALLET') && !after.includes('WALLET_TO_BANK'));
  const unknown = await f.request({ url: '/ussd/catalog', body: { short_code: '*151#', key: '6', label: { en: 'Pay Bill', sn: 'Bhadhara', nd: 'Bhadala' }, service: 'BILL_PAYMENT', enabled: true } });
  assert.equal(unknown.status, 422);
  assert.equal(unknown.body.code, 'ussd_service_unknown');
  const invalid = await f.request({ url: '/ussd/catalog', body: { ...entry, short_code: '151' } });
  assert.equal(invalid.status, 422);
  assert.equal(invalid.body.code, 'ussd_catalog_entry_invalid');
  const auditor = await f.request({ url: '/ussd/catalog', body: entry, key: f.auditor });
  assert.equal(auditor.status, 403);
  // Refusals changed nothing.
  assert.equal(await journey(dial(f.app, { msisdn: people[0][0], code: '*405#' }), []), 'CON Airtime\n1 Recharge with voucher');
});

test('every screen of every service fits 182 characters in English, Shona and Ndebele', async (t) => {
  const { f, people } = await withPeople();
  t.after(() => f.close());
  // Inputs that walk each service to its confirmation (the dial helper checks every reply's length).
  const walks: [string, string[]][] = [
    ['*151#', ['1', people[1][0], '1', '123456789.99']], ['*151#', ['1', '0772']], ['*151#', ['2', '2', '0712345678', '2', '999']],
    ['*151#', ['3', 'OKZIM', '2', '250.50']], ['*151#', ['3', 'X']], ['*151#', ['4', 'AG001', '1', '100']], ['*151#', ['4', 'X']],
    ['*151#', ['5', '1', '1', '1', '5']], ['*151#', ['5', '2', '1', '2', '5']], ['*151#', ['5', '9']], ['*151#', ['7', '1']], ['*151#', ['7', '2']],
    ['*151#', ['7', '3', PIN, '4826', '1111']], ['*151#', ['7', '3', '1']], ['*151#', ['7', '1', '0000']], ['*151#', ['1', people[2][0], '1', '1', PIN]],
    ['*405#', ['1', '12']], ['*405#', ['2']], ['*405#', ['1', '1234567812345678']],
    ['*171#', ['1', '1', '1']], ['*171#', ['1', '1', '2']], ['*171#', ['2']], ['*171#', ['4']], ['*171#', ['1', '9']], ['*171#', ['1', '1', '1', '1']],
  ];
  let screens = 0;
  for (const [msisdn] of people) {
    for (const [code, inputs] of walks) {
      const session = dial(f.app, { msisdn, code });
      await session.send();
      for (const input of inputs) {
        const reply = await session.send(input);
        if (reply.startsWith('END')) break;
      }
      screens += session.replies.length;
    }
  }
  assert.ok(screens > 200, `${screens} screens checked`);
  // Texts shown alone (not through a walk above) fit too.
  for (const texts of Object.values(TEXTS)) for (const text of Object.values(texts)) assert.ok(text.length <= SCREEN_MAX, text);
});

test('recorded sessions are pruned once past the resend window: the store does not keep every USSD session for ever', async (t) => {
  const { f, people } = await withPeople();
  t.after(() => f.close());
  const ussd = f.platform.module<UssdModule>('ussd');
  const done = await journey(dial(f.app, { msisdn: people[0][0], code: '*151#' }), ['1', people[1][0], '1', '2', PIN]);
  assert.match(done, /^END Sent USD 2\.00/);
  const recorded = async () => {
    const keys: string[] = [];
    for await (const doc of f.handle.store.documents('ussd_sessions')) keys.push(doc.key);
    return keys;
  };
  assert.equal((await recorded()).length, 1, 'the completed session is recorded for resends');
  // One recorded by an earlier process, an hour ago: nothing in memory will ever sweep it.
  const old = { msisdn: people[2][0], service_code: '*151#', started_ms: Date.now() - 3_600_000, final: { text: '1', reply: 'END old' } };
  await f.handle.writer.execute({ run: (ctx) => ctx.put({ collection: 'ussd_sessions', key: 'before-restart', tag: old.msisdn, value: JSON.stringify(old) }) });
  assert.equal(await ussd.engine.pruneRecorded(), 1);
  const left = await recorded();
  assert.equal(left.length, 1, 'the recent one stays: a resend within ten minutes still gets its answer');
  assert.notEqual(left[0], 'before-restart');
});
