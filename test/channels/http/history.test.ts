// Checks an account's history (newest first, balances after each transfer, cursor paging) and its balance at a past time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatHarare } from '../../../src/time.js';
import { assertJournalOk, openHttp, seedWallets, USD } from '../../helpers/http.js';

test('GET /accounts/:id/transfers pages newest first with the balances after each transfer', async () => {
  const http = await openHttp();
  try {
    await seedWallets(http, { alice: 1_000n });
    for (let index = 1; index <= 5; index++) {
      const body = { id: `spend-${index}`, debit_account_id: 'alice', credit_account_id: 'bob', amount: String(index * 10), ...USD };
      assert.equal((await http.request({ url: '/transfers', body })).status, 201);
    }
    const seen: { id: string; available: string; credits_posted: string; debits_posted: string }[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const url = `/accounts/alice/transfers?limit=2${cursor ? `&before=${encodeURIComponent(cursor)}` : ''}`;
      const page = await http.request({ url, key: http.auditor });
      assert.equal(page.status, 200);
      assert.ok(page.body.transfers.length <= 2);
      for (const entry of page.body.transfers) seen.push({ id: entry.id, ...entry.after });
      cursor = page.body.next;
      pages += 1;
    } while (cursor !== undefined && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual(seen.map((entry) => entry.id), ['spend-5', 'spend-4', 'spend-3', 'spend-2', 'spend-1', 'fund-alice']);
    // Spent 10, 20, 30, 40, 50 from 1000: available after each, newest first.
    assert.deepEqual(seen.map((entry) => entry.available), ['850', '900', '940', '970', '990', '1000']);
    assert.deepEqual(seen.map((entry) => entry.debits_posted), ['150', '100', '60', '30', '10', '0']);
    assert.ok(seen.every((entry) => entry.credits_posted === '1000'));

    const all = await http.request({ url: '/accounts/alice/transfers' });
    assert.equal(all.body.transfers.length, 6, 'the default page size holds them all');
    assert.equal(all.body.next, undefined);
    assert.equal(all.body.transfers[0].after.available_display, '8.50');
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});

test('a history cursor is refused on another account, when altered, or when made up', async () => {
  const http = await openHttp();
  try {
    await seedWallets(http, { alice: 100n, bob: 100n });
    await http.request({ url: '/transfers', body: { id: 's1', debit_account_id: 'alice', credit_account_id: 'bob', amount: '1', ...USD } });
    const page = await http.request({ url: '/accounts/alice/transfers?limit=1' });
    const cursor: string = page.body.next;
    assert.equal(typeof cursor, 'string');
    for (const url of [
      `/accounts/bob/transfers?before=${cursor}`,
      `/accounts/alice/transfers?before=${cursor.slice(0, -2)}`,
      '/accounts/alice/transfers?before=not-a-cursor',
      `/accounts/alice/transfers?before=${Buffer.from('["alice","-5"]').toString('base64url')}`,
    ]) {
      const answer = await http.request({ url });
      assert.equal(answer.status, 400, url);
      assert.equal(answer.body.code, 'cursor_invalid', url);
    }
    const tooMany = await http.request({ url: `/accounts/alice/transfers?limit=${http.config.page_size_max + 1}` });
    assert.equal(tooMany.body.code, 'invalid_request');
    assert.equal((await http.request({ url: '/accounts/ghost/transfers' })).body.code, 'account_not_found');
  } finally {
    await http.close();
  }
});

test('GET /accounts/:id/balance answers the balances at a past time, in RFC 3339 or nanoseconds', async () => {
  const http = await openHttp();
  try {
    await seedWallets(http, { alice: 1_000n });
    const first = await http.request({ url: '/transfers', body: { id: 'b1', debit_account_id: 'alice', credit_account_id: 'bob', amount: '100', ...USD } });
    const second = await http.request({ url: '/transfers', body: { id: 'b2', debit_account_id: 'alice', credit_account_id: 'bob', amount: '200', ...USD } });
    const between = BigInt(first.body.timestamp);
    assert.ok(BigInt(second.body.timestamp) > between);

    const byNs = await http.request({ url: `/accounts/alice/balance?at=${between}`, key: http.auditor });
    assert.equal(byNs.status, 200);
    assert.equal(byNs.body.debits_posted, '100');
    assert.equal(byNs.body.available, '900');
    assert.equal(byNs.body.timestamp, between.toString());
    assert.equal(byNs.body.at, formatHarare(between));

    // The same instant written as Harare time: a raw + decodes to a space, which is accepted too.
    const harare = formatHarare(between);
    for (const at of [encodeURIComponent(harare), harare]) {
      const answer = await http.request({ url: `/accounts/alice/balance?at=${at}` });
      assert.equal(answer.status, 200, at);
      assert.equal(answer.body.available, '900');
    }
    const beforeAll = await http.request({ url: '/accounts/alice/balance?at=2001-01-01T00:00:00Z' });
    assert.equal(beforeAll.body.available, '0');
    const now = await http.request({ url: `/accounts/alice/balance?at=${BigInt(second.body.timestamp) + 1n}` });
    assert.equal(now.body.available, '700');
    const farFuture = await http.request({ url: `/accounts/alice/balance?at=${(1n << 63n) - 1n}` });
    assert.equal(farFuture.status, 200);
    assert.equal(farFuture.body.available, '700');
    assert.equal(farFuture.body.timestamp, ((1n << 63n) - 1n).toString());

    for (const at of ['yesterday', '2026-13-01T00:00:00Z', '2026-01-01T00:00:00', '99999999999999999999']) {
      const answer = await http.request({ url: `/accounts/alice/balance?at=${encodeURIComponent(at)}` });
      assert.equal(answer.status, 400, at);
      assert.equal(answer.body.code, 'timestamp_invalid', at);
    }
    assert.equal((await http.request({ url: '/accounts/alice/balance' })).body.code, 'invalid_request');
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});
