// Checks bearer-key access: 401 without a valid key, 403 for an auditor writing, auditors reading everything, public routes, config keys and revocation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertJournalOk, ledgerState, openHttp, seedWallets, USD } from '../../helpers/http.js';

const WRITES = [
  { url: '/accounts', body: { id: 'x', ...USD } },
  { url: '/accounts/batch', body: { accounts: [{ id: 'x', ...USD }] } },
  { url: '/transfers', body: { id: 't', debit_account_id: 'float', credit_account_id: 'alice', amount: '1', ...USD } },
  { url: '/transfers/batch', body: { transfers: [{ id: 't', debit_account_id: 'float', credit_account_id: 'alice', amount: '1', ...USD }] } },
  { url: '/transfers/p/post', body: { id: 'p-post' } },
  { url: '/transfers/p/void', body: { id: 'p-void' } },
];
const READS = ['/assets', '/accounts/alice', '/accounts/alice/transfers', '/accounts/alice/balance?at=0', '/transfers/fund-alice'];

test('no key, a wrong key or a malformed header is 401 on every route but /health and /openapi.json', async () => {
  const http = await openHttp();
  try {
    await seedWallets(http, { alice: 10n });
    const before = ledgerState(http.handle);
    const badHeaders = [undefined, `Bearer ${http.operator}x`, `Basic ${http.operator}`, 'Bearer', `Bearer  ${http.operator}`];
    for (const authorization of badHeaders) {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
      for (const url of READS) {
        const answer = await http.request({ url, key: null, headers });
        assert.equal(answer.status, 401, `${url} ${authorization}`);
        assert.equal(answer.body.code, 'unauthorized');
        assert.equal(answer.headers['www-authenticate'], 'Bearer');
      }
      for (const write of WRITES) {
        const answer = await http.request({ ...write, key: null, headers });
        assert.equal(answer.status, 401, write.url);
        assert.equal(answer.body.code, 'unauthorized');
      }
    }
    assert.equal((await http.request({ url: '/health', key: null })).status, 200);
    assert.equal((await http.request({ url: '/openapi.json', key: null })).status, 200);
    assert.deepEqual(ledgerState(http.handle), before);
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});

test('an auditor reads every GET route and is refused every write with 403', async () => {
  const http = await openHttp();
  try {
    await seedWallets(http, { alice: 10n });
    for (const url of READS) {
      const answer = await http.request({ url, key: http.auditor });
      assert.equal(answer.status, 200, url);
    }
    const before = ledgerState(http.handle);
    for (const write of WRITES) {
      const answer = await http.request({ ...write, key: http.auditor });
      assert.equal(answer.status, 403, write.url);
      assert.equal(answer.body.code, 'forbidden');
    }
    assert.deepEqual(ledgerState(http.handle), before);
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});

test('keys from the configuration are accepted with their role, and a revoked key is refused at once', async () => {
  const operatorKey = 'env-operator-key-0123456789';
  const auditorKey = 'env-auditor-key-0123456789';
  const http = await openHttp({ config: { api_keys: [{ key: operatorKey, role: 'operator' }, { key: auditorKey, role: 'auditor' }] } });
  try {
    assert.equal((await http.request({ url: '/accounts', body: { id: 'a', ...USD }, key: operatorKey })).status, 201);
    assert.equal((await http.request({ url: '/accounts/a', key: auditorKey })).status, 200);
    assert.equal((await http.request({ url: '/accounts', body: { id: 'b', ...USD }, key: auditorKey })).status, 403);

    const label = 'to revoke';
    const doomed = http.keys.create('operator', label);
    assert.equal((await http.request({ url: '/accounts/a', key: doomed })).status, 200);
    const entry = http.keys.list().find((info) => info.label === label);
    assert.ok(entry);
    assert.ok(http.keys.revoke(entry.hash_prefix));
    assert.equal((await http.request({ url: '/accounts/a', key: doomed })).status, 401);
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});
