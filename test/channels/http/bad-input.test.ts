// Checks that every kind of bad input gets its registry code and status in the common error shape, and changes nothing (balances and journal record count).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REQUEST_ERRORS, TRANSFER_RESULTS, ACCOUNT_RESULTS, type ErrorCode } from '../../../src/errors/registry.js';
import { assertJournalOk, ledgerState, openHttp, seedWallets, USD, type RequestOptions } from '../../helpers/http.js';

const STATUS: Readonly<Record<ErrorCode, number>> = Object.fromEntries(
  [...Object.entries(ACCOUNT_RESULTS), ...Object.entries(TRANSFER_RESULTS), ...Object.entries(REQUEST_ERRORS)].map(([code, entry]) => [code, entry.status]),
) as Record<ErrorCode, number>;

const transfer = { id: 'bad-1', debit_account_id: 'alice', credit_account_id: 'bob', amount: '100', ...USD };
const json = { 'content-type': 'application/json' };

/** Each case: a request and the code it must be answered with. */
const CASES: [string, RequestOptions, ErrorCode][] = [
  ['malformed JSON', { method: 'POST', url: '/transfers', payload: '{"id": "x",', headers: json }, 'invalid_json'],
  ['empty JSON body', { method: 'POST', url: '/transfers', payload: '', headers: json }, 'invalid_json'],
  ['prototype poisoning', { method: 'POST', url: '/transfers', payload: '{"id":"x","__proto__":{"admin":true}}', headers: json }, 'invalid_json'],
  ['text/plain body', { method: 'POST', url: '/transfers', payload: JSON.stringify(transfer), headers: { 'content-type': 'text/plain' } }, 'unsupported_media_type'],
  ['form body', { method: 'POST', url: '/transfers', payload: 'id=x&amount=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 'unsupported_media_type'],
  ['no body', { method: 'POST', url: '/transfers' }, 'invalid_request'],
  ['a JSON array for an object', { url: '/transfers', body: [transfer] }, 'invalid_request'],
  ['amount as a JSON number', { url: '/transfers', body: { ...transfer, amount: 100 } }, 'amount_invalid'],
  ['amount as a float', { url: '/transfers', body: { ...transfer, amount: 10.5 } }, 'amount_invalid'],
  ['amount with a decimal point', { url: '/transfers', body: { ...transfer, amount: '10.50' } }, 'amount_invalid'],
  ['amount with an exponent', { url: '/transfers', body: { ...transfer, amount: '1e3' } }, 'amount_invalid'],
  ['amount with a leading zero', { url: '/transfers', body: { ...transfer, amount: '0100' } }, 'amount_invalid'],
  ['amount with spaces', { url: '/transfers', body: { ...transfer, amount: ' 100' } }, 'amount_invalid'],
  ['negative amount', { url: '/transfers', body: { ...transfer, amount: '-100' } }, 'amount_invalid'],
  ['empty amount', { url: '/transfers', body: { ...transfer, amount: '' } }, 'amount_invalid'],
  ['zero amount', { url: '/transfers', body: { ...transfer, amount: '0' } }, 'amount_must_not_be_zero'],
  ['amount past 2^63 − 1', { url: '/transfers', body: { ...transfer, amount: '9223372036854775808' } }, 'amount_invalid'],
  ['amount of 20 digits', { url: '/transfers', body: { ...transfer, amount: '99999999999999999999' } }, 'amount_invalid'],
  ['bad amount inside a batch', { url: '/transfers/batch', body: { transfers: [transfer, { ...transfer, id: 'bad-2', amount: '1.5' }] } }, 'amount_invalid'],
  ['bad amount on a post', { url: '/transfers/p/post', body: { id: 'p-post', amount: '-1' } }, 'amount_invalid'],
  ['unknown transfer field', { url: '/transfers', body: { ...transfer, currency: 'USD' } }, 'invalid_request'],
  ['unknown account field', { url: '/accounts', body: { id: 'n', ...USD, balance: '100' } }, 'invalid_request'],
  ['unknown field in a batch item', { url: '/accounts/batch', body: { accounts: [{ id: 'n', ...USD, owner: 'x' }] } }, 'invalid_request'],
  ['unknown top-level batch field', { url: '/transfers/batch', body: { transfers: [transfer], atomic: true } }, 'invalid_request'],
  ['unknown field on a void', { url: '/transfers/p/void', body: { id: 'p-void', amount: '1' } }, 'invalid_request'],
  ['code as a string', { url: '/transfers', body: { ...transfer, code: '1' } }, 'invalid_request'],
  ['code as a float', { url: '/accounts', body: { id: 'n', asset: 'USD', code: 1.5 } }, 'invalid_request'],
  ['id as a number', { url: '/accounts', body: { id: 7, ...USD } }, 'invalid_request'],
  ['unknown flag', { url: '/transfers', body: { ...transfer, flags: ['urgent'] } }, 'invalid_request'],
  ['flags as a number', { url: '/transfers', body: { ...transfer, flags: 2 } }, 'invalid_request'],
  ['repeated flag', { url: '/transfers', body: { ...transfer, flags: ['pending', 'pending'] } }, 'invalid_request'],
  ['linked on a single account', { url: '/accounts', body: { id: 'n', ...USD, flags: ['linked'] } }, 'invalid_request'],
  ['expiry set by a client', { url: '/transfers', body: { ...transfer, flags: ['expiry'] } }, 'invalid_request'],
  ['missing id', { url: '/transfers', body: { ...transfer, id: undefined } }, 'invalid_request'],
  ['unknown debit account', { url: '/transfers', body: { ...transfer, debit_account_id: 'ghost' } }, 'debit_account_not_found'],
  ['unknown credit account', { url: '/transfers', body: { ...transfer, credit_account_id: 'ghost' } }, 'credit_account_not_found'],
  ['transfer asset differs from the accounts', { url: '/transfers', body: { ...transfer, asset: 'ZWG' } }, 'transfer_must_have_the_same_asset_as_accounts'],
  ['accounts of different assets', { url: '/transfers', body: { ...transfer, credit_account_id: 'zwg_float' } }, 'accounts_must_have_the_same_asset'],
  ['unknown asset for an account', { url: '/accounts', body: { id: 'n', asset: 'BTC', code: 1 } }, 'asset_not_found'],
  ['empty transfer batch', { url: '/transfers/batch', body: { transfers: [] } }, 'batch_empty'],
  ['empty account batch', { url: '/accounts/batch', body: { accounts: [] } }, 'batch_empty'],
  ['unknown route', { url: '/wallets' }, 'route_not_found'],
  ['unknown nested route', { url: '/accounts/alice/statements' }, 'route_not_found'],
  ['wrong method', { method: 'DELETE', url: '/accounts/alice' }, 'method_not_allowed'],
  ['PUT on a POST route', { method: 'PUT', url: '/transfers', body: transfer }, 'method_not_allowed'],
  ['history limit of zero', { url: '/accounts/alice/transfers?limit=0' }, 'invalid_request'],
  ['history limit not a number', { url: '/accounts/alice/transfers?limit=ten' }, 'invalid_request'],
  ['history limit with a point', { url: '/accounts/alice/transfers?limit=1.5' }, 'invalid_request'],
  ['unknown query parameter', { url: '/accounts/alice/transfers?sort=asc' }, 'invalid_request'],
  ['cursor of stray percent signs', { url: '/accounts/alice/transfers?before=%%%' }, 'cursor_invalid'],
  ['malformed percent-encoding in the path', { url: '/accounts/%E0%A4%A' }, 'invalid_request'],
  ['made-up cursor', { url: '/accounts/alice/transfers?before=abc' }, 'cursor_invalid'],
  ['bad timestamp', { url: '/accounts/alice/balance?at=noon' }, 'timestamp_invalid'],
];

test('every bad input is refused with its code, in the common shape, and changes nothing', async () => {
  const http = await openHttp();
  try {
    await seedWallets(http, { alice: 1_000n });
    const before = ledgerState(http.handle);
    for (const [name, request, code] of CASES) {
      const answer = await http.request(request);
      assert.equal(answer.body?.code, code, `${name}: ${answer.text}`);
      assert.equal(answer.status, STATUS[code], name);
      assert.match(String(answer.headers['content-type']), /^application\/json/, name);
      assert.equal(typeof answer.body.message, 'string', name);
      assert.deepEqual(Object.keys(answer.body).filter((key) => !['code', 'message', 'details'].includes(key)), [], name);
      assert.ok(!/\bat .+:\d+:\d+/.test(answer.text), `${name}: no stack trace`);
    }
    assert.deepEqual(ledgerState(http.handle), before);
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});

test('validation errors name the failing paths in details', async () => {
  const http = await openHttp();
  try {
    const answer = await http.request({ url: '/transfers', body: { ...transfer, currency: 'USD' } });
    assert.equal(answer.body.code, 'invalid_request');
    assert.ok(Array.isArray(answer.body.details));
    assert.ok(answer.body.details.some((detail: { path: string }) => detail.path === '/currency'));
    const amount = await http.request({ url: '/transfers/batch', body: { transfers: [transfer, { ...transfer, amount: 5 }] } });
    assert.equal(amount.body.code, 'amount_invalid');
    assert.ok(amount.body.details.some((detail: { path: string }) => detail.path === '/transfers/1/amount'));
  } finally {
    await http.close();
  }
});
