// Checks the transfer routes: commit, retries (exists, exists_with_different_amount), refusals, linked batches, two-phase post and void, reversals, and reading a transfer back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TRANSFER_RESULTS } from '../../../src/errors/registry.js';
import { assertJournalOk, ledgerState, openHttp, seedWallets, USD } from '../../helpers/http.js';

async function balancesOf(http: Awaited<ReturnType<typeof openHttp>>, id: string) {
  const answer = await http.request({ url: `/accounts/${id}` });
  assert.equal(answer.status, 200);
  const { debits_pending, debits_posted, credits_pending, credits_posted, available } = answer.body;
  return { debits_pending, debits_posted, credits_pending, credits_posted, available };
}

test('POST /transfers commits, a retry answers 200 with the stored transfer, a changed retry 409', async () => {
  const http = await openHttp();
  try {
    await seedWallets(http, { alice: 10_000n });
    const transfer = { id: 'p2p-1', debit_account_id: 'alice', credit_account_id: 'bob', amount: '2550', ...USD, user_data: 'lunch' };
    const created = await http.request({ url: '/transfers', body: transfer });
    assert.equal(created.status, 201);
    assert.equal(created.body.id, 'p2p-1');
    assert.equal(created.body.amount, '2550');
    assert.equal(created.body.amount_display, '25.50');
    assert.deepEqual(created.body.flags, []);
    assert.equal(created.body.user_data, 'lunch');
    assert.match(created.body.created, /\+02:00$/);

    const retry = await http.request({ url: '/transfers', body: transfer });
    assert.equal(retry.status, 200);
    assert.deepEqual(retry.body, created.body);

    const changed = await http.request({ url: '/transfers', body: { ...transfer, amount: '2551' } });
    assert.equal(changed.status, 409);
    assert.deepEqual(changed.body, { code: 'exists_with_different_amount', message: TRANSFER_RESULTS.exists_with_different_amount.message });

    const read = await http.request({ url: '/transfers/p2p-1', key: http.auditor });
    assert.equal(read.status, 200);
    assert.deepEqual(read.body, created.body);
    assert.deepEqual(await balancesOf(http, 'alice'), { debits_pending: '0', debits_posted: '2550', credits_pending: '0', credits_posted: '10000', available: '7450' });
    assert.equal((await http.request({ url: '/transfers/nope' })).body.code, 'transfer_not_found');
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});

test('POST /transfers refuses with the ledger result and changes nothing', async () => {
  const http = await openHttp();
  try {
    await seedWallets(http, { alice: 1_000n });
    const before = ledgerState(http.handle);
    const base = { debit_account_id: 'alice', credit_account_id: 'bob', amount: '100', ...USD };
    const cases: [Record<string, unknown>, keyof typeof TRANSFER_RESULTS][] = [
      [{ ...base, id: 'x1', amount: '1001' }, 'exceeds_credits'],
      [{ ...base, id: 'x2', debit_account_id: 'ghost' }, 'debit_account_not_found'],
      [{ ...base, id: 'x3', credit_account_id: 'ghost' }, 'credit_account_not_found'],
      [{ ...base, id: 'x4', credit_account_id: 'zwg_float' }, 'accounts_must_have_the_same_asset'],
      [{ ...base, id: 'x5', asset: 'ZWG' }, 'transfer_must_have_the_same_asset_as_accounts'],
      [{ ...base, id: 'x6', amount: '0' }, 'amount_must_not_be_zero'],
      [{ ...base, id: 'x7', credit_account_id: 'alice' }, 'accounts_must_be_different'],
      [{ ...base, id: 'x8', timeout: 60 }, 'timeout_reserved_for_pending_transfer'],
      [{ id: 'x9', credit_account_id: 'bob', amount: '1', ...USD }, 'debit_account_id_required'],
    ];
    for (const [body, code] of cases) {
      const answer = await http.request({ url: '/transfers', body });
      assert.equal(answer.status, TRANSFER_RESULTS[code].status, code);
      assert.deepEqual(answer.body, { code, message: TRANSFER_RESULTS[code].message });
    }
    assert.deepEqual(ledgerState(http.handle), before);
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});

test('POST /transfers/batch lists every result, and a linked chain fails as one', async () => {
  const http = await openHttp();
  try {
    await seedWallets(http, { alice: 1_000n });
    const before = ledgerState(http.handle);
    const move = (id: string, amount: string, flags: string[] = []) => ({ id, debit_account_id: 'alice', credit_account_id: 'bob', amount, ...USD, flags });
    const answer = await http.request({
      url: '/transfers/batch',
      body: { transfers: [move('c1', '300', ['linked']), move('c2', '300', ['linked']), move('c3', '500')] },
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.results, [
      { index: 0, id: 'c1', result: 'linked_event_failed' },
      { index: 1, id: 'c2', result: 'linked_event_failed' },
      { index: 2, id: 'c3', result: 'exceeds_credits' },
    ]);
    assert.deepEqual(ledgerState(http.handle), before, 'a failed chain leaves no trace');

    const mixed = await http.request({ url: '/transfers/batch', body: { transfers: [move('m1', '400'), move('m2', '700'), move('m3', '600')] } });
    assert.deepEqual(mixed.body.results.map((r: { result: string }) => r.result), ['ok', 'exceeds_credits', 'ok']);
    assert.equal((await balancesOf(http, 'bob')).credits_posted, '1000');
    const open = await http.request({ url: '/transfers/batch', body: { transfers: [move('o1', '1', ['linked'])] } });
    assert.deepEqual(open.body.results, [{ index: 0, id: 'o1', result: 'linked_event_chain_open' }]);
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});

test('two-phase: a pending transfer reserves, a partial post moves part and releases the rest, a void releases', async () => {
  const http = await openHttp();
  try {
    await seedWallets(http, { alice: 10_000n });
    const hold = { id: 'hold-1', debit_account_id: 'alice', credit_account_id: 'bob', amount: '4000', ...USD, flags: ['pending'], timeout: 3600 };
    const pending = await http.request({ url: '/transfers', body: hold });
    assert.equal(pending.status, 201);
    assert.deepEqual(pending.body.flags, ['pending']);
    assert.equal(pending.body.timeout, 3600);
    assert.deepEqual(await balancesOf(http, 'alice'), { debits_pending: '4000', debits_posted: '0', credits_pending: '0', credits_posted: '10000', available: '6000' });

    const posted = await http.request({ url: '/transfers/hold-1/post', body: { id: 'hold-1-post', amount: '2500' } });
    assert.equal(posted.status, 201);
    assert.deepEqual(posted.body.flags, ['post_pending_transfer']);
    assert.equal(posted.body.pending_id, 'hold-1');
    assert.equal(posted.body.amount, '2500');
    assert.equal(posted.body.pending_amount, '4000');
    assert.deepEqual(await balancesOf(http, 'alice'), { debits_pending: '0', debits_posted: '2500', credits_pending: '0', credits_posted: '10000', available: '7500' });

    const again = await http.request({ url: '/transfers/hold-1/post', body: { id: 'hold-1-post', amount: '2500' } });
    assert.equal(again.status, 200, 'a retried post is exists');
    const late = await http.request({ url: '/transfers/hold-1/void', body: { id: 'hold-1-void' } });
    assert.equal(late.status, 409);
    assert.equal(late.body.code, 'pending_transfer_already_posted');

    await http.request({ url: '/transfers', body: { ...hold, id: 'hold-2', amount: '1000' } });
    const voided = await http.request({ url: '/transfers/hold-2/void', body: { id: 'hold-2-void' } });
    assert.equal(voided.status, 201);
    assert.deepEqual(voided.body.flags, ['void_pending_transfer']);
    assert.equal((await balancesOf(http, 'alice')).debits_pending, '0');
    const tooMuch = await http.request({ url: '/transfers', body: { ...hold, id: 'hold-3', amount: '100' } });
    assert.equal(tooMuch.status, 201);
    const over = await http.request({ url: '/transfers/hold-3/post', body: { id: 'hold-3-post', amount: '101' } });
    assert.equal(over.body.code, 'exceeds_pending_transfer_amount');
    const missing = await http.request({ url: '/transfers/none/void', body: { id: 'none-void' } });
    assert.equal(missing.body.code, 'pending_transfer_not_found');
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});

test('a reversal swaps the accounts of a posted transfer, once', async () => {
  const http = await openHttp();
  try {
    await seedWallets(http, { alice: 5_000n });
    await http.request({ url: '/transfers', body: { id: 'pay-1', debit_account_id: 'alice', credit_account_id: 'bob', amount: '1200', ...USD } });
    const reversal = { id: 'pay-1-rev', debit_account_id: 'bob', credit_account_id: 'alice', amount: '1200', ...USD, reversal_of: 'pay-1' };
    const reversed = await http.request({ url: '/transfers', body: reversal });
    assert.equal(reversed.status, 201);
    assert.equal(reversed.body.reversal_of, 'pay-1');
    const twice = await http.request({ url: '/transfers', body: { ...reversal, id: 'pay-1-rev-2' } });
    assert.equal(twice.body.code, 'reversal_already_reversed');
    assert.equal((await balancesOf(http, 'alice')).available, '5000');
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});
