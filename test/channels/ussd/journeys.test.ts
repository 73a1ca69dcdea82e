// Full USSD journeys for every menu item of *151#, *405# and *171#, driven through POST /ussd as
// an aggregator sends them, against the real mobile money and prepaid modules: confirmations
// show amount, fee and recipient name before the PIN; wrong PIN, insufficient funds, back and
// home, timeouts and resent requests; every screen within 182 characters.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { openHttp, assertJournalOk, ledgerState, type HttpFixture } from '../../helpers/http.js';
import { dial, journey } from '../../helpers/ussd.js';
import type { MoneyModule } from '../../../src/products/money/module.js';
import type { PrepaidModule } from '../../../src/products/prepaid/module.js';
import { walletId } from '../../../src/products/accounts.js';
import { available } from '../../../src/ledger/types.js';
import { OUTBOX } from '../../../src/products/outbox.js';
import type { Msisdn } from '../../../src/products/msisdn.js';

const ALICE = '+263772000101';
const BOB = '+263772000102';
const CAROL = '+263772000103';
const PIN = '2580';

let f: HttpFixture;
let money: MoneyModule;
let prepaid: PrepaidModule;
let vouchers: string[] = [];

before(async () => {
  f = await openHttp({ config: { log_level: 'silent' } });
  money = f.platform.module<MoneyModule>('money');
  prepaid = f.platform.module<PrepaidModule>('prepaid');
  await money.registerSubscriber({ msisdn: ALICE, name: 'Tendai Moyo', kyc_tier: 2, language: 'en' });
  await money.registerSubscriber({ msisdn: BOB, name: 'Rudo Chikwanha', kyc_tier: 2, language: 'sn' });
  await money.registerSubscriber({ msisdn: CAROL, name: 'Sipho Ndlovu', kyc_tier: 2, language: 'nd' });
  for (const msisdn of [ALICE, BOB, CAROL]) await money.setPin({ msisdn, pin: PIN });
  await money.registerBank({ code: 'CBZ', name: 'CBZ Bank' });
  await money.registerBank({ code: 'STEW', name: 'Steward Bank' });
  await money.registerMerchant({ code: 'OKZIM', name: 'OK Zimbabwe' });
  await money.registerAgent({ code: 'AG001', name: 'Mbare Agent' });
  await money.bankToWallet({ bank: 'CBZ', to: ALICE, amount: 100_00n, currency: 'USD', reference: 'fund-alice' });
  await money.bankToWallet({ bank: 'CBZ', to: BOB, amount: 20_00n, currency: 'USD', reference: 'fund-bob' });
  for (const [code, name, service, units] of [['D100', 'Daily 100MB', 'data', '102400'], ['V30', 'Voice 30 min', 'voice', '1800'], ['S50', 'SMS 50', 'sms', '50']] as const) {
    await prepaid.putBundle({ code, name, service, price: '50', currency: 'USD', units, validity_s: 86_400, window: null });
  }
  const batch = await prepaid.createVoucherBatch({ face_value: 2_0000n, currency: 'USD', count: 3, expires_at: BigInt(Date.now() + 86_400_000) * 1_000_000n });
  vouchers = fs.readFileSync(batch.file, 'utf8').trim().split('\n').slice(1).map((line) => line.split(',')[1]);
  assert.equal(vouchers.length, 3);
});

after(async () => {
  assertJournalOk(f.handle);
  await f.close();
});

function wallet(msisdn: string, currency: 'USD' | 'ZWG' = 'USD'): bigint {
  const party = money.subscriberOf(msisdn as Msisdn)!;
  return available(f.handle.ledger.accounts.get(walletId(party.id, currency))!);
}

test('the top menus list the catalog in the caller\'s language, with 0 Back and 00 Home below the top', async () => {
  assert.equal(await dial(f.app, { msisdn: ALICE, code: '*151#' }).send(),
    'CON Mobile Money\n1 Send Money\n2 Buy Airtime\n3 Pay Merchant\n4 Cash Out\n5 Bank\n7 My Account');
  assert.match(await journey(dial(f.app, { msisdn: BOB, code: '*151#' }), []), /^CON Mari nharembozha\n1 Tumira Mari/);
  assert.match(await journey(dial(f.app, { msisdn: CAROL, code: '*151#' }), ['7']), /^CON I-akhawunti Yami\n1 Bona Imali Eseleyo[\s\S]*0 Emuva 00 Ekhaya$/);
  assert.equal(await journey(dial(f.app, { msisdn: ALICE, code: '*405#' }), []), 'CON Airtime\n1 Recharge with voucher\n2 Airtime balance');
  assert.equal(await journey(dial(f.app, { msisdn: ALICE, code: '*171#' }), []), 'CON Bundles\n1 Data bundles\n2 Voice bundles\n3 SMS bundles\n4 Bundle balances');
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['9']), /^CON Invalid choice\.\nMobile Money/);
});

test('send money: amount, fee and recipient name before the PIN; completes once even when the gateway resends', async () => {
  const before = { alice: wallet(ALICE), bob: wallet(BOB) };
  const session = dial(f.app, { msisdn: ALICE, code: '*151#' });
  await journey(session, ['1']);
  assert.match(await session.send('0772000102'), /^CON Currency:\n1 USD\n2 ZWG/);
  assert.match(await session.send('1'), /^CON Enter amount \(USD\)/);
  const confirm = await session.send('5');
  assert.match(confirm, /^CON Send USD 5\.00 to Rudo Chikwanha \+263772…102\nFee: USD \d+\.\d{2}\nEnter PIN to confirm\n0 Back 00 Home$/);
  const fee = BigInt(/Fee: USD (\d+)\.(\d{2})/.exec(confirm)!.slice(1).join(''));
  const done = await session.send(PIN);
  assert.match(done, /^END Sent USD 5\.00 to Rudo Chikwanha\. Fee USD [\d.]+\. Balance USD [\d.]+\. Ref ussd[0-9a-f]{28}$/);
  assert.equal(wallet(ALICE), before.alice - 500n - fee);
  assert.equal(wallet(BOB), before.bob + 500n);
  // The gateway did not get the answer and sends the last request again.
  assert.equal(await session.resend(), done);
  assert.equal(await session.resend(), done);
  assert.equal(wallet(ALICE), before.alice - 500n - fee);
  assert.equal(wallet(BOB), before.bob + 500n);
  // A later request in a finished session is refused without effect.
  assert.match(await session.send('1'), /^END This session has ended/);
  // The customer's notices were queued with the transfer, for the SMS channel.
  let notices = 0;
  for await (const doc of f.handle.store.documents(OUTBOX)) if ((JSON.parse(doc.value) as { msisdn: string }).msisdn === BOB) notices++;
  assert.ok(notices >= 1);
});

test('a resent final request arriving while the first is still being answered completes once', async () => {
  const before = wallet(ALICE);
  const session = dial(f.app, { msisdn: ALICE, code: '*151#' });
  await journey(session, ['1', BOB, '1', '2']);
  const [first, second] = await Promise.all([session.send(PIN), session.resend()]);
  assert.equal(first, second);
  assert.match(first, /^END Sent USD 2\.00/);
  const fee = money.tariff.fee('p2p', 'USD', 200n);
  assert.equal(wallet(ALICE), before - 200n - fee);
});

test('wrong PIN and insufficient funds end the session with the reason and move nothing', async () => {
  const state = ledgerState(f.handle);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['1', BOB, '1', '3', '9999']), /^END Wrong PIN/);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['1', BOB, '1', '5000', PIN]), /^END You do not have enough money/);
  assert.match(await journey(dial(f.app, { msisdn: BOB, code: '*151#' }), ['1', ALICE, '1', '5000', PIN]), /^END Hamuna mari yakakwana/);
  assert.deepEqual(ledgerState(f.handle).accounts, state.accounts);
  // A PIN that is not 4 to 6 digits is asked again on the same screen.
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['1', BOB, '1', '3', '12']), /^CON A PIN is 4 to 6 digits\.\nSend USD 3\.00/);
  // Unknown recipients and bad amounts are caught as they are typed.
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['1', '0772999999']), /^CON That number is not registered\.\nEnter recipient number/);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['1', BOB, '1', '1.234']), /^CON Invalid amount\./);
  // The correct PIN still works: the wrong one above did not lock the account.
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['1', BOB, '1', '1', PIN]), /^END Sent USD 1\.00/);
});

test('0 goes back one screen and 00 goes home, at any depth, and nothing half-done is applied', async () => {
  const state = ledgerState(f.handle);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['1', '0']), /^CON Mobile Money\n1 Send Money/);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['5', '2', '1', '00']), /^CON Mobile Money\n1 Send Money/);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['1', BOB, '1', '0']), /^CON Currency:/);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['1', BOB, '1', '7', '0', '0', '0']), /^CON Enter recipient number/);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['7', '0', '7', '1']), /^CON Enter PIN\n0 Back 00 Home$/);
  // Back from the confirmation and choose another amount: only the final one is sent.
  const before = wallet(BOB);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['1', BOB, '1', '9', '0', '4', PIN]), /^END Sent USD 4\.00/);
  assert.equal(wallet(BOB), before + 400n);
  // Sessions abandoned half-way changed nothing.
  const after = ledgerState(f.handle).accounts;
  for (const [id, balances] of Object.entries(state.accounts)) if (!id.startsWith('wallet:') && !id.startsWith('system:')) assert.equal(after[id], balances, id);
});

test('buy airtime for oneself and for another number, with the fee shown first', async () => {
  const own = await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['2', '1', '1', '1']);
  assert.match(own, /^CON Buy USD 1\.00 airtime for \+263772…101\nFee: USD [\d.]+\nEnter PIN to confirm/);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['2', '1', '1', '1', PIN]), /^END Bought USD 1\.00 airtime for \+263772…101/);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['2', '2', '0712345678', '1', '2', PIN]), /^END Bought USD 2\.00 airtime for \+263712…678/);
  const lines = await prepaid.airtimeBalance('+263712345678');
  assert.equal(lines.find((line) => line.currency === 'USD')?.available, '20000');
});

test('pay a merchant and cash out at an agent show the business name and fee before the PIN', async () => {
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['3', 'okzim', '1', '3']), /^CON Pay USD 3\.00 to OK Zimbabwe \(OKZIM\)\nFee: USD [\d.]+\nEnter PIN to confirm/);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['3', 'NOPE']), /^CON No merchant has that code\./);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['3', 'OKZIM', '1', '3', PIN]), /^END Paid USD 3\.00 to OK Zimbabwe/);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['4', 'AG001', '1', '10']), /^CON Cash out USD 10\.00 at Mbare Agent \(AG001\)\nFee: USD [\d.]+/);
  const before = wallet(ALICE);
  const done = await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['4', 'AG001', '1', '10', PIN]);
  assert.match(done, /^END Cash-out of USD 10\.00 at Mbare Agent is reserved until \d{2}:\d{2}\. The agent completes it\. Ref ussd/);
  // Reserved (pending) until the agent completes it: no longer available.
  assert.ok(wallet(ALICE) < before - 1000n + 1n);
});

test('bank to wallet and wallet to bank, choosing the bank from a list', async () => {
  const banks = await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['5', '1']);
  assert.equal(banks, 'CON Choose bank:\n1 CBZ Bank\n2 Steward Bank\n0 Back 00 Home');
  const before = wallet(ALICE);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['5', '1', '2', '1', '7']), /^CON Move USD 7\.00 from Steward Bank to your wallet\nFee: USD 0\.00/);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['5', '1', '2', '1', '7', '1111']), /^END Wrong PIN/);
  assert.equal(wallet(ALICE), before);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['5', '1', '2', '1', '7', PIN]), /^END Done: USD 7\.00 moved/);
  assert.equal(wallet(ALICE), before + 700n);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['5', '2', '1', '1', '2']), /^CON Move USD 2\.00 from your wallet to CBZ Bank\nFee: USD [\d.]+/);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['5', '2', '1', '1', '2', PIN]), /^END Done: USD 2\.00 moved/);
});

test('my account: balance and mini statement behind the PIN, and change PIN', async () => {
  const balance = await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['7', '1', PIN]);
  assert.match(balance, /^END Your balance:\nUSD [\d.]+\nZWG 0\.00/);
  assert.ok(balance.includes(`USD ${(Number(wallet(ALICE)) / 100).toFixed(2)}`), balance);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['7', '1', '0000']), /^END Wrong PIN/);
  const statement = await journey(dial(f.app, { msisdn: ALICE, code: '*151#' }), ['7', '2', PIN]);
  assert.match(statement, /^END Last transactions:\n/);
  assert.match(await journey(dial(f.app, { msisdn: CAROL, code: '*151#' }), ['7', '2', PIN]), /^END Akukho okwenzekileyo\.$/);
  assert.match(await journey(dial(f.app, { msisdn: CAROL, code: '*151#' }), ['7', '3', PIN, '4826', '4827']), /^CON Ama-PIN amatsha awafanani\./);
  assert.match(await journey(dial(f.app, { msisdn: CAROL, code: '*151#' }), ['7', '3', '1111', '4826', '4826']), /^END IPIN ayilunganga/);
  assert.match(await journey(dial(f.app, { msisdn: CAROL, code: '*151#' }), ['7', '3', PIN, '4826', '4826']), /^END IPIN yakho iguqulwe\.$/);
  assert.match(await journey(dial(f.app, { msisdn: CAROL, code: '*151#' }), ['7', '1', '4826']), /^END Imali yakho:/);
  await money.setPin({ msisdn: CAROL, pin: PIN, old_pin: '4826' });
});

test('*405#: voucher recharge once (a resend or a second use never credits twice) and airtime balance, for any line', async () => {
  const line = '+263772000150';
  const session = dial(f.app, { msisdn: line, code: '*405#' });
  assert.match(await journey(session, ['1']), /^CON Enter the 16-digit voucher PIN/);
  assert.match(await session.send('1234'), /^CON Invalid number\./);
  const done = await session.send(vouchers[0]);
  assert.match(done, /^END Recharged USD 2\.0000\. Airtime balance USD 2\.0000\.$/);
  assert.equal(await session.resend(), done);
  assert.match(await journey(dial(f.app, { msisdn: line, code: '*405#' }), ['1', vouchers[0]]), /^END That voucher has already been used\.$/);
  assert.match(await journey(dial(f.app, { msisdn: line, code: '*405#' }), ['2']), /^END Airtime balance:\nUSD 2\.0000\nZWG 0\.0000$/);
  assert.match(await journey(dial(f.app, { msisdn: line, code: '*405#' }), ['1', '9999888877776666']), /^END No voucher has that PIN/);
});

test('*171#: data, voice and SMS bundles from airtime or the wallet, and bundle balances', async () => {
  const line = '+263772000160';
  await journey(dial(f.app, { msisdn: line, code: '*405#' }), ['1', vouchers[1]]);
  assert.equal(await journey(dial(f.app, { msisdn: line, code: '*171#' }), ['1']), 'CON Choose a bundle:\n1 Daily 100MB USD 0.50\n0 Back 00 Home');
  assert.match(await journey(dial(f.app, { msisdn: line, code: '*171#' }), ['1', '1', '1']), /^CON Buy Daily 100MB for USD 0\.50 from airtime\n1 Confirm/);
  assert.match(await journey(dial(f.app, { msisdn: line, code: '*171#' }), ['1', '1', '1', '1']), /^END You bought Daily 100MB\. 102400 KB until/);
  assert.match(await journey(dial(f.app, { msisdn: line, code: '*171#' }), ['2', '1', '1', '1']), /^END You bought Voice 30 min\. 1800 seconds until/);
  // No wallet on this line: paying from the wallet is refused on the same screen.
  assert.match(await journey(dial(f.app, { msisdn: line, code: '*171#' }), ['3', '1', '2']), /^CON This number is not registered for mobile money\.\nPay with:/);
  // A wallet holder pays from the wallet with the PIN.
  const before = wallet(ALICE);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*171#' }), ['3', '1', '2']), /^CON Buy SMS 50 for USD 0\.50 from wallet\nEnter PIN to confirm/);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*171#' }), ['3', '1', '2', '0000']), /^END Wrong PIN/);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*171#' }), ['3', '1', '2', PIN]), /^END You bought SMS 50\. 50 SMS until/);
  assert.equal(wallet(ALICE), before - 50n);
  const balances = await journey(dial(f.app, { msisdn: line, code: '*171#' }), ['4']);
  assert.match(balances, /^END Your bundles:\n/);
  assert.match(balances, /Daily 100MB: 102400 KB/);
  assert.match(balances, /Voice 30 min: 1800 seconds/);
  assert.match(await journey(dial(f.app, { msisdn: '+263772000161', code: '*171#' }), ['4']), /^END You have no bundles\.$/);
  // Not enough airtime: refused, nothing bought.
  assert.match(await journey(dial(f.app, { msisdn: '+263772000161', code: '*171#' }), ['1', '1', '1', '1']), /^END There is not enough airtime/);
});

test('a dialled shortcut such as *151*7*1# opens the menu it stands for', async () => {
  assert.equal(await dial(f.app, { msisdn: ALICE, code: '*151*7*1#' }).send(), 'CON Enter PIN\n0 Back 00 Home');
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151*7*1#' }), [PIN]), /^END Your balance:/);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*151*7#' }), ['0']), /^CON Mobile Money/);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*405*2#' }), []), /^END Airtime balance:/);
  assert.match(await dial(f.app, { msisdn: ALICE, code: '*152*1#' }).send(), /^END This service is not available/);
});

test('an unregistered caller is told so on *151#; malformed requests are refused', async () => {
  assert.equal(await journey(dial(f.app, { msisdn: '+263772000199', code: '*151#' }), ['1']), 'END This number is not registered for mobile money.');
  const missing = await f.app.inject({ method: 'POST', url: '/ussd', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'serviceCode=*151%23&phoneNumber=%2B263772000101&text=' });
  assert.equal(missing.statusCode, 400);
  assert.equal(JSON.parse(missing.body).code, 'invalid_request');
  const badNumber = await f.app.inject({ method: 'POST', url: '/ussd', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'sessionId=x1&serviceCode=*151%23&phoneNumber=12&text=' });
  assert.equal(badNumber.statusCode, 400);
  assert.match(await journey(dial(f.app, { msisdn: ALICE, code: '*999#' }), []), /^END This service is not available/);
  // A session id reused from another number is not that number's session.
  const session = dial(f.app, { msisdn: ALICE, code: '*151#' });
  await session.send();
  assert.match(await journey(dial(f.app, { msisdn: BOB, code: '*151#', sessionId: session.sessionId }), []), /^END /);
});
