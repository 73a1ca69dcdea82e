// Mobile money over HTTP: the README tour end to end, refusals as { code, message, details } with
// the registry's status, roles, the routes in /openapi.json, and no PIN in any log line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { openHttp, assertJournalOk } from '../../helpers/http.js';

test('the tour: register, set a PIN, fund, send, balance, statement, reverse; every refusal has its code', async (t) => {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _encoding, done) { lines.push(chunk.toString()); done(); } });
  const http = await openHttp({ logger: { level: 'trace', stream } });
  t.after(() => http.close());
  const post = (url: string, body: unknown, key?: string | null) => http.request({ url, body, key });

  const alice = await post('/money/subscribers', { msisdn: '0772 123 456', name: 'Alice Moyo', kyc_tier: 1 });
  assert.equal(alice.status, 201);
  assert.equal(alice.body.msisdn, '+263772123456');
  assert.equal((await post('/money/subscribers', { msisdn: '0712345678', name: 'Bob Ncube', language: 'nd' })).status, 201);
  assert.equal((await post('/money/subscribers', { msisdn: '0712345678', name: 'Bob Ncube', language: 'nd' })).status, 201, 'the same registration again answers the same party');
  assert.equal((await post('/money/pin', { msisdn: '0772123456', pin: '2580' })).status, 200);
  assert.equal((await post('/money/pin', { msisdn: '0712345678', pin: '1397' })).status, 200);
  assert.equal((await post('/money/banks', { code: 'CBZ', name: 'CBZ Bank' })).status, 201);
  const funded = await post('/money/bank-to-wallet', { reference: 'fund-1', bank: 'CBZ', to: '0772123456', amount: '5000', currency: 'USD' });
  assert.equal(funded.status, 200);
  const sent = await post('/money/send', { reference: 'tour-1', from: '0772123456', to: '0712345678', amount: '1000', currency: 'USD', pin: '2580' });
  assert.equal(sent.status, 200);
  assert.equal(sent.body.balance, '3980');
  assert.equal(sent.body.fingerprint, undefined);
  assert.deepEqual((await post('/money/send', { reference: 'tour-1', from: '0772123456', to: '0712345678', amount: '1000', currency: 'USD', pin: '2580' })).body, sent.body);

  const balance = await post('/money/balance', { msisdn: '+263772123456', pin: '2580' });
  assert.deepEqual(balance.body.balances.map((b: { asset: string; display: string }) => `${b.asset} ${b.display}`), ['USD 39.80', 'ZWG 0.00']);
  const statement = await post('/money/statement', { msisdn: '0712345678', pin: '1397' });
  assert.deepEqual(statement.body.lines.map((l: { reference: string }) => l.reference), ['tour-1']);
  const got = await http.request({ url: '/money/transactions/tour-1', key: http.auditor });
  assert.equal(got.status, 200);
  assert.equal(got.body.amount, '1000');
  const subscriber = await http.request({ url: '/money/subscribers/0772123456', key: http.auditor });
  assert.deepEqual(subscriber.body.pin, { set: true, locked: false, failures: 0 });

  const refusals: [string, unknown, number, string, unknown?][] = [
    ['/money/send', { reference: 'x1', from: '0772123456', to: '0712345678', amount: '1000', currency: 'USD', pin: '9999' }, 403, 'pin_wrong', { tries_left: 2 }],
    ['/money/send', { reference: 'x2', from: '0772123456', to: '0719876543', amount: '1000', currency: 'USD', pin: '2580' }, 404, 'recipient_not_found'],
    ['/money/send', { reference: 'x3', from: '0772123456', to: '0712345678', amount: '40000', currency: 'USD', pin: '2580' }, 422, 'insufficient_funds', { currency: 'USD', available: '39.80', needed: '402.50' }],
    ['/money/send', { reference: 'tour-1', from: '0772123456', to: '0712345678', amount: '999', currency: 'USD', pin: '2580' }, 409, 'reference_reused', { reference: 'tour-1' }],
    ['/money/send', { reference: 'x4', from: 'hello', to: '0712345678', amount: '1', currency: 'USD', pin: '2580' }, 400, 'msisdn_invalid', { field: 'from', value: 'hello' }],
    ['/money/send', { reference: 'x5', from: '0772123456', to: '0712345678', amount: '1.5', currency: 'USD', pin: '2580' }, 400, 'amount_invalid'],
    ['/money/pay', { reference: 'x6', from: '0772123456', merchant: '777', amount: '100', currency: 'USD', pin: '2580' }, 404, 'merchant_not_found'],
    ['/money/pin', { msisdn: '0772123456', pin: '1234' }, 400, 'pin_too_simple'],
    ['/money/reversals', { reference: 'x7', original: 'nope', reason: 'why' }, 404, 'transaction_not_found'],
  ];
  for (const [url, body, status, code, details] of refusals) {
    const answer = await post(url, body);
    assert.equal(answer.status, status, `${url} ${code}: ${answer.text}`);
    assert.equal(answer.body.code, code);
    if (details !== undefined) assert.deepEqual(answer.body.details, details);
  }
  assert.equal((await http.request({ url: '/money/send', body: { reference: 'x8', from: '0772123456', to: '0712345678', amount: '1', currency: 'USD', pin: '2580' }, key: http.auditor })).status, 403);
  assert.equal((await http.request({ url: '/money/transactions/nope', key: http.auditor })).body.code, 'transaction_not_found');

  const reversal = await post('/money/reversals', { reference: 'rev-1', original: 'tour-1', reason: 'wrong number' });
  assert.equal(reversal.status, 200, reversal.text);
  assert.equal(reversal.body.reversal_of, 'tour-1');
  assertJournalOk(http.handle);
  const logged = lines.join('');
  assert.ok(logged.includes('/money/send'), 'requests were logged');
  // Timings and ids are full of digits: look for the PIN as a value, and for any pin field.
  for (const pin of ['2580', '1397', '9999']) assert.equal(logged.includes(`"${pin}"`), false, `PIN ${pin} in the log: ${lines.find((l) => l.includes(`"${pin}"`))}`);
  assert.equal(/"(old_)?pin"/.test(logged), false, 'a pin field in the log');
});

test('/openapi.json documents every mobile money route, each refusal code with its message', async (t) => {
  const http = await openHttp();
  t.after(() => http.close());
  const document = (await http.request({ url: '/openapi.json' })).body;
  const paths = Object.keys(document.paths).filter((p) => p.startsWith('/money/')).sort();
  assert.deepEqual(paths, [
    '/money/agents', '/money/agents/{code}', '/money/airtime', '/money/balance', '/money/bank-to-wallet', '/money/banks', '/money/banks/{code}',
    '/money/cash-in', '/money/cash-out', '/money/cash-out/cancel', '/money/cash-out/complete', '/money/float', '/money/merchants',
    '/money/merchants/{code}', '/money/pay', '/money/pin', '/money/pin/unlock', '/money/reversals', '/money/send', '/money/statement',
    '/money/subscribers', '/money/subscribers/{msisdn}', '/money/transactions/{reference}', '/money/wallet-to-bank',
  ]);
  const send = document.paths['/money/send'].post;
  assert.equal(send.responses['422'].content['application/json'].examples.exceeds_daily_limit.summary,
    'This would pass your daily limit. See the remaining amount allowed today.');
  assert.ok(send.responses['423'].content['application/json'].examples.pin_locked);
});
