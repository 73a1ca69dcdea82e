// Checks the account routes, /assets and /health: creation, retries, refusals with the registry's status, linked batches, and reading an account back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACCOUNT_RESULTS } from '../../../src/errors/registry.js';
import { assertJournalOk, ledgerState, openHttp, USD } from '../../helpers/http.js';

test('GET /health and GET /assets', async () => {
  const http = await openHttp();
  try {
    const health = await http.request({ url: '/health', key: null });
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });
    const assets = await http.request({ url: '/assets' });
    assert.equal(assets.status, 200);
    const usd = assets.body.assets.find((asset: { code: string }) => asset.code === 'USD');
    assert.deepEqual(usd, { code: 'USD', scale: 2, name: 'US dollar' });
    assert.ok(assets.body.assets.some((asset: { code: string; scale: number }) => asset.code === 'AIRTIME_USD' && asset.scale === 4));
  } finally {
    await http.close();
  }
});

test('POST /accounts creates, answers a retry with 200, and a conflicting retry with 409', async () => {
  const http = await openHttp();
  try {
    const account = { id: 'wallet-1', ...USD, flags: ['debits_must_not_exceed_credits'], user_data: 'msisdn:263771234567' };
    const created = await http.request({ url: '/accounts', body: account });
    assert.equal(created.status, 201);
    assert.equal(created.body.id, 'wallet-1');
    assert.deepEqual(created.body.asset, { code: 'USD', scale: 2 });
    assert.deepEqual(created.body.flags, ['debits_must_not_exceed_credits']);
    assert.equal(created.body.user_data, 'msisdn:263771234567');
    assert.match(created.body.created, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}\+02:00$/);
    assert.match(created.body.timestamp, /^[0-9]+$/);
    for (const field of ['debits_pending', 'debits_posted', 'credits_pending', 'credits_posted', 'available']) assert.equal(created.body[field], '0');
    assert.equal(created.body.available_display, '0.00');

    const retry = await http.request({ url: '/accounts', body: account });
    assert.equal(retry.status, 200);
    assert.deepEqual(retry.body, created.body);

    const conflict = await http.request({ url: '/accounts', body: { ...account, code: 2 } });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.code, 'exists_with_different_code');
    assert.equal(conflict.body.message, ACCOUNT_RESULTS.exists_with_different_code.message);
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});

test('POST /accounts answers ledger refusals with their status and changes nothing', async () => {
  const http = await openHttp();
  try {
    const before = ledgerState(http.handle);
    const cases: [Record<string, unknown>, keyof typeof ACCOUNT_RESULTS][] = [
      [{ id: '-bad', ...USD }, 'id_invalid'],
      [{ id: 'a', ...USD, flags: ['debits_must_not_exceed_credits', 'credits_must_not_exceed_debits'] }, 'flags_are_mutually_exclusive'],
      [{ id: 'a', asset: 'USD', code: 0 }, 'code_invalid'],
      [{ id: 'a', ...USD, user_data: 'x'.repeat(129) }, 'user_data_too_long'],
      [{ id: 'a', asset: 'XAU', code: 1 }, 'asset_not_found'],
    ];
    for (const [body, code] of cases) {
      const answer = await http.request({ url: '/accounts', body });
      assert.equal(answer.status, ACCOUNT_RESULTS[code].status, code);
      assert.deepEqual(answer.body, { code, message: ACCOUNT_RESULTS[code].message });
    }
    assert.deepEqual(ledgerState(http.handle), before);
  } finally {
    await http.close();
  }
});

test('POST /accounts/batch lists every result, and a linked chain fails as one', async () => {
  const http = await openHttp();
  try {
    const answer = await http.request({
      url: '/accounts/batch',
      body: {
        accounts: [
          { id: 'solo', ...USD },
          { id: 'chain-1', ...USD, flags: ['linked', 'debits_must_not_exceed_credits'] },
          { id: 'chain-2', ...USD, flags: ['linked'] },
          { id: 'chain-3', asset: 'NOPE', code: 1 },
        ],
      },
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.results, [
      { index: 0, id: 'solo', result: 'ok' },
      { index: 1, id: 'chain-1', result: 'linked_event_failed' },
      { index: 2, id: 'chain-2', result: 'linked_event_failed' },
      { index: 3, id: 'chain-3', result: 'asset_not_found' },
    ]);
    assert.deepEqual([...http.handle.ledger.accounts.keys()], ['solo']);
    const chained = await http.request({
      url: '/accounts/batch',
      body: { accounts: [{ id: 'pair-1', ...USD, flags: ['linked', 'debits_must_not_exceed_credits'] }, { id: 'pair-2', ...USD }] },
    });
    assert.deepEqual(chained.body.results.map((r: { result: string }) => r.result), ['ok', 'ok']);
    // linked chains the batch; it is not a property of the account.
    const pair = await http.request({ url: '/accounts/pair-1' });
    assert.deepEqual(pair.body.flags, ['debits_must_not_exceed_credits']);
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});

// As in TigerBeetle, the events after a failed chain stand on their own merits.
test('an event after a failed linked chain in the same batch is applied', async () => {
  const http = await openHttp();
  try {
    const answer = await http.request({
      url: '/accounts/batch',
      body: { accounts: [{ id: 'c1', ...USD, flags: ['linked'] }, { id: 'c2', asset: 'NOPE', code: 1 }, { id: 'after', ...USD }] },
    });
    assert.deepEqual(answer.body.results.map((r: { result: string }) => r.result), ['linked_event_failed', 'asset_not_found', 'ok']);
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});

test('GET /accounts/:id shows balances and available with the asset scale; an unknown id is 404', async () => {
  const http = await openHttp();
  try {
    await http.request({ url: '/accounts', body: { id: 'float', ...USD } });
    await http.request({ url: '/accounts', body: { id: 'trust', ...USD, flags: ['credits_must_not_exceed_debits'] } });
    await http.request({ url: '/accounts', body: { id: 'w', ...USD, flags: ['debits_must_not_exceed_credits'] } });
    const moves = [
      { id: 't1', debit_account_id: 'trust', credit_account_id: 'float', amount: '100000', ...USD },
      { id: 't2', debit_account_id: 'float', credit_account_id: 'w', amount: '12345', ...USD },
      { id: 't3', debit_account_id: 'w', credit_account_id: 'float', amount: '45', ...USD, flags: ['pending'] },
    ];
    for (const move of moves) assert.equal((await http.request({ url: '/transfers', body: move })).status, 201);
    const wallet = await http.request({ url: '/accounts/w' });
    assert.equal(wallet.status, 200);
    assert.equal(wallet.body.credits_posted, '12345');
    assert.equal(wallet.body.debits_pending, '45');
    assert.equal(wallet.body.available, '12300');
    assert.equal(wallet.body.available_display, '123.00');
    const trust = await http.request({ url: '/accounts/trust', key: http.auditor });
    assert.equal(trust.body.available, '100000', 'an asset-side account counts debits as available');
    assert.equal(trust.body.available_display, '1000.00');
    const float = await http.request({ url: '/accounts/float' });
    assert.equal(float.body.available, '87655', 'credits 100000 − debits 12345');
    const missing = await http.request({ url: '/accounts/nobody' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'account_not_found');
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});

test('with a newer batch in flight, GET /accounts/:id answers the durable balances from the store, the same as memory when idle', async () => {
  const http = await openHttp();
  try {
    await http.request({ url: '/accounts/batch', body: { accounts: [{ id: 'src', ...USD }, { id: 'dst', ...USD, flags: ['debits_must_not_exceed_credits'] }] } });
    await http.request({ url: '/transfers', body: { id: 'm1', debit_account_id: 'src', credit_account_id: 'dst', amount: '700', ...USD } });
    await http.request({ url: '/transfers', body: { id: 'm2', debit_account_id: 'dst', credit_account_id: 'src', amount: '200', ...USD, flags: ['pending'] } });
    const fromMemory = await http.request({ url: '/accounts/dst' });
    // A fresh promise on every call looks like a batch applied after the wait: memory is not trusted.
    const writer = http.handle.writer;
    writer.settled = () => Promise.resolve();
    const fromStore = await http.request({ url: '/accounts/dst' });
    assert.equal(fromStore.status, 200);
    assert.deepEqual(fromStore.body, fromMemory.body);
    assert.equal(fromStore.body.available, '500', 'credits 700 − pending debits 200');
  } finally {
    await http.close();
  }
});
