// Checks the size limits: a full batch of 8,190 transfers fits the default body limit and commits; one more event is batch_too_large; a body past the limit is body_too_large; neither changes anything.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config.js';
import { assertJournalOk, ledgerState, openHttp, seedWallets, USD } from '../../helpers/http.js';

const defaults = loadConfig({});

/** Transfers shaped like production ones: 26-character ULID-style ids and 64 characters of user_data. */
function transfers(count: number, prefix: string) {
  return Array.from({ length: count }, (_, index) => ({
    id: `${prefix}${index.toString(36).toUpperCase().padStart(26 - prefix.length, '0')}`,
    debit_account_id: 'alice',
    credit_account_id: 'bob',
    amount: '1',
    ...USD,
    user_data: 'u'.repeat(64),
  }));
}

test('a full batch of batch_events_max transfers fits body_bytes_max and commits', async () => {
  const http = await openHttp();
  try {
    await seedWallets(http, { alice: 100_000n });
    const body = { transfers: transfers(defaults.batch_events_max, 'F') };
    const bytes = Buffer.byteLength(JSON.stringify(body));
    assert.ok(bytes < defaults.body_bytes_max, `${bytes} bytes fit ${defaults.body_bytes_max}`);
    const answer = await http.request({ url: '/transfers/batch', body });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.results.length, defaults.batch_events_max);
    assert.ok(answer.body.results.every((result: { result: string }) => result.result === 'ok'));
    const alice = await http.request({ url: '/accounts/alice' });
    assert.equal(alice.body.debits_posted, String(defaults.batch_events_max));
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});

test('one event past batch_events_max is batch_too_large (413) and changes nothing', async () => {
  const http = await openHttp({ config: { batch_events_max: 100 } });
  try {
    await seedWallets(http, { alice: 100_000n });
    const before = ledgerState(http.handle);
    const tooMany = await http.request({ url: '/transfers/batch', body: { transfers: transfers(101, 'T') } });
    assert.equal(tooMany.status, 413);
    assert.equal(tooMany.body.code, 'batch_too_large');
    const accounts = Array.from({ length: 101 }, (_, index) => ({ id: `acct-${index}`, ...USD }));
    const tooManyAccounts = await http.request({ url: '/accounts/batch', body: { accounts } });
    assert.equal(tooManyAccounts.body.code, 'batch_too_large');
    assert.deepEqual(ledgerState(http.handle), before);
    const justRight = await http.request({ url: '/transfers/batch', body: { transfers: transfers(100, 'T') } });
    assert.equal(justRight.status, 200);
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});

test('a body past body_bytes_max is body_too_large (413) and changes nothing', async () => {
  const http = await openHttp({ config: { body_bytes_max: 4096 } });
  try {
    await seedWallets(http, { alice: 100n });
    const before = ledgerState(http.handle);
    const body = { transfers: transfers(40, 'B') };
    assert.ok(Buffer.byteLength(JSON.stringify(body)) > 4096);
    const answer = await http.request({ url: '/transfers/batch', body });
    assert.equal(answer.status, 413);
    assert.equal(answer.body.code, 'body_too_large');
    assert.deepEqual(ledgerState(http.handle), before);
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});
