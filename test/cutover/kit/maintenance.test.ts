// Checks maintenance mode: writes refused with `maintenance` (planned end in Harare time) while
// reads still answer, per-service switches, persistence across a restart, the USSD text, and
// that bad switches are refused without changing anything.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config.js';
import { cutoverOf, type CutoverModule } from '../../../src/cutover/kit/module.js';
import { serviceOfPath } from '../../../src/cutover/kit/services.js';
import { openPlatform } from '../../../src/platform.js';
import { openLedger } from '../../../src/store/open.js';
import { ledgerState, openHttp, seedWallets } from '../../helpers/http.js';

const UNTIL = '2099-11-22T04:00:00Z'; // 06:00 in Harare

test('maintenance on refuses writes with the planned end in Harare time; reads and the status page still answer', async () => {
  const http = await openHttp();
  try {
    await seedWallets(http, { alice: 1000n });
    const on = await http.request({ url: '/maintenance', body: { on: true, until: UNTIL, by: 'ops', reason: 'platform cutover' } });
    assert.equal(on.status, 200);
    assert.equal(on.body.switches[0].service, 'all');
    assert.equal(on.body.switches[0].until_harare, 'Sun 22 Nov 2099 06:00');
    const before = ledgerState(http.handle);
    const refused = await http.request({ url: '/transfers', body: { id: 't1', debit_account_id: 'alice', credit_account_id: 'bob', amount: '1', asset: 'USD', code: 1 } });
    assert.equal(refused.status, 503);
    assert.equal(refused.body.code, 'maintenance');
    assert.match(refused.body.message, /until Sun 22 Nov 2099 06:00 \(Harare time\)/);
    assert.equal(refused.body.details.service, 'ledger_api');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    assert.deepEqual(ledgerState(http.handle), before);
    const balance = await http.request({ url: '/accounts/alice' });
    assert.equal(balance.status, 200);
    assert.equal(balance.body.credits_posted, '1000');
    const statement = await http.request({ url: '/accounts/alice/transfers' });
    assert.equal(statement.status, 200);
    const status = await http.request({ url: '/status.json', key: null });
    assert.equal(status.status, 200);
    assert.equal(status.body.overall, 'maintenance');
    assert.ok(status.body.services.every((s: { service: string; state: string }) => s.state === (s.service === 'sms' ? 'up' : 'maintenance')));
    const off = await http.request({ url: '/maintenance', body: { on: false, by: 'ops' } });
    assert.deepEqual(off.body.switches, []);
    const accepted = await http.request({ url: '/transfers', body: { id: 't1', debit_account_id: 'alice', credit_account_id: 'bob', amount: '1', asset: 'USD', code: 1 } });
    assert.equal(accepted.status, 201);
  } finally {
    await http.close();
  }
});

test('a per-service switch closes only that service, and the USSD text is in the customer\'s language', async () => {
  const http = await openHttp();
  try {
    await seedWallets(http, { alice: 1000n });
    await http.request({ url: '/maintenance', body: { on: true, service: 'airtime', until: UNTIL, by: 'ops' } });
    const cutover = cutoverOf(http.platform.modules)!;
    assert.equal(cutover.maintenance.refusal('send_money'), undefined);
    assert.throws(() => cutover.maintenance.check('airtime'), { code: 'maintenance' });
    assert.match(cutover.maintenance.ussdText('airtime', 'sn')!, /Kutenga airtime yakavharwa .* kusvika Sun 22 Nov 2099 06:00/);
    assert.equal(cutover.maintenance.ussdText('bundles', 'en'), undefined);
    const transfer = await http.request({ url: '/transfers', body: { id: 't1', debit_account_id: 'alice', credit_account_id: 'bob', amount: '1', asset: 'USD', code: 1 } });
    assert.equal(transfer.status, 201);
    const status = (await http.request({ url: '/status.json', key: null })).body;
    const states = Object.fromEntries(status.services.map((s: { service: string; state: string }) => [s.service, s.state]));
    assert.equal(states.airtime, 'maintenance');
    assert.equal(states.send_money, 'up');
    // Airtime comes back on its own.
    await http.request({ url: '/maintenance', body: { on: false, service: 'airtime', by: 'ops' } });
    assert.equal(cutover.maintenance.refusal('airtime'), undefined);
  } finally {
    await http.close();
  }
});

test('bad switches are refused and change nothing', async () => {
  const http = await openHttp();
  try {
    for (const [body, code] of [
      [{ on: true, until: '2001-01-01T00:00:00Z', by: 'ops' }, 'maintenance_until_invalid'],
      [{ on: true, until: 'tomorrow', by: 'ops' }, 'maintenance_until_invalid'],
      [{ on: true, by: 'ops' }, 'maintenance_until_invalid'],
      [{ on: true, service: 'teleport', until: UNTIL, by: 'ops' }, 'service_unknown'],
      [{ on: true, until: UNTIL }, 'invalid_request'],
    ] as const) {
      const answer = await http.request({ url: '/maintenance', body });
      assert.equal(answer.body.code, code, JSON.stringify(body));
      assert.equal(answer.status, code === 'invalid_request' ? 400 : 400);
    }
    assert.deepEqual((await http.request({ url: '/maintenance' })).body.switches, []);
    const auditor = await http.request({ url: '/maintenance', key: http.auditor, body: { on: true, until: UNTIL, by: 'ops' } });
    assert.equal(auditor.body.code, 'forbidden');
    assert.deepEqual((await http.request({ url: '/maintenance' })).body.switches, []);
  } finally {
    await http.close();
  }
});

test('switches are documents: they survive a restart', async () => {
  const http = await openHttp();
  const dir = http.dir;
  await http.request({ url: '/maintenance', body: { on: true, service: 'vouchers', until: UNTIL, by: 'ops' } });
  await http.app.close();
  await http.platform.close();
  const handle = await openLedger({ dataDir: dir });
  const platform = await openPlatform(handle, loadConfig({}, { data_dir: dir }));
  try {
    const cutover = platform.module<CutoverModule>('cutover');
    assert.equal(cutover.maintenance.list().length, 1);
    assert.throws(() => cutover.maintenance.check('vouchers'), { code: 'maintenance' });
  } finally {
    await platform.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('routes map to the services customers know', () => {
  assert.equal(serviceOfPath('/transfers'), 'ledger_api');
  assert.equal(serviceOfPath('/vouchers/redeem'), 'vouchers');
  assert.equal(serviceOfPath('/maintenance'), null);
  assert.equal(serviceOfPath('/cutover/advance'), null);
  assert.equal(serviceOfPath('/incidents/:id/updates'), null);
});

test('USSD shows the maintenance notice for a closed service and still serves balance enquiries', async () => {
  const http = await openHttp();
  try {
    assert.equal((await http.request({ url: '/money/subscribers', body: { msisdn: '+263772000001', name: 'Rudo Moyo' } })).status, 201);
    await http.request({ url: '/maintenance', body: { on: true, service: 'airtime', until: UNTIL, by: 'ops' } });
    const dial = (text: string) => http.app.inject({
      method: 'POST', url: '/ussd', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ sessionId: `s-${text}-${Math.random()}`, serviceCode: '*151#', phoneNumber: '+263772000001', text }).toString(),
    });
    const airtime = await dial('2');
    assert.match(airtime.body, /^END Buy airtime is closed for planned maintenance until Sun 22 Nov 2099 06:00 \(Harare time\)/);
    const send = await dial('1');
    assert.doesNotMatch(send.body, /maintenance/);
    await http.request({ url: '/maintenance', body: { on: true, until: UNTIL, by: 'ops' } });
    assert.match((await dial('1')).body, /^END Send money is closed for planned maintenance/);
    assert.doesNotMatch((await dial('7*1')).body, /maintenance/, 'balance enquiries stay open');
  } finally {
    await http.close();
  }
});
