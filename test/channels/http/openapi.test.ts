// Checks that the error registry, /openapi.json and the TypeScript types list the same codes with the same statuses and messages, and that every route is documented.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REQUEST_ERROR_SCOPES } from '../../../src/channels/http/openapi.js';
import {
  ACCOUNT_RESULTS,
  REQUEST_ERRORS,
  REQUEST_ERROR_CODES,
  TRANSFER_RESULTS,
  type AccountResult,
  type ErrorCode,
  type RequestErrorCode,
  type TransferResult,
} from '../../../src/errors/registry.js';
import { openHttp } from '../../helpers/http.js';

// Type level: the code unions are exactly the registries' keys, and every request error has a
// documented scope. Adding a code to a union without a registry entry (or the reverse) fails to compile.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const unionsMatch: [
  Same<AccountResult, keyof typeof ACCOUNT_RESULTS>,
  Same<TransferResult, keyof typeof TRANSFER_RESULTS>,
  Same<RequestErrorCode, keyof typeof REQUEST_ERRORS>,
  Same<ErrorCode, AccountResult | TransferResult | RequestErrorCode>,
  // Scoped codes are request errors; the rest are listed by the routes that answer them.
  [keyof typeof REQUEST_ERROR_SCOPES] extends [RequestErrorCode] ? true : false,
] = [true, true, true, true, true];

/** Every registry entry, as "code status message", tagged by its registry (account and transfer results share some codes). */
function expected(): Set<string> {
  const lines = new Set<string>();
  const add = (registry: Record<string, { status: number; message: string }>) => {
    for (const [code, { status, message }] of Object.entries(registry)) lines.add(`${code} ${status} ${message}`);
  };
  add(ACCOUNT_RESULTS);
  add(TRANSFER_RESULTS);
  add(REQUEST_ERRORS);
  return lines;
}

interface ResponseObject {
  'x-status'?: number;
  content?: Record<string, { examples?: Record<string, { summary: string; value?: { code: string; message: string } }> }>;
}

/** Every documented code: response examples are keyed by code, summarised by the message. */
function documented(document: Record<string, any>): Set<string> {
  const lines = new Set<string>();
  const collect = (status: number, response: ResponseObject) => {
    for (const media of Object.values(response.content ?? {})) {
      for (const [code, example] of Object.entries(media.examples ?? {})) {
        if (example.value !== undefined) assert.deepEqual(example.value, { code, message: example.summary });
        lines.add(`${code} ${status} ${example.summary}`);
      }
    }
  };
  for (const item of Object.values(document.paths) as Record<string, { responses: Record<string, ResponseObject> }>[]) {
    for (const operation of Object.values(item)) {
      for (const [status, response] of Object.entries(operation.responses)) collect(Number(status), response);
    }
  }
  for (const response of Object.values(document.components.responses) as ResponseObject[]) collect(Number(response['x-status']), response);
  return lines;
}

test('every registry code is in /openapi.json with its status and message, and nothing else is', async () => {
  assert.deepEqual(unionsMatch, [true, true, true, true, true]);
  assert.deepEqual(Object.keys(REQUEST_ERROR_SCOPES).sort(), [...REQUEST_ERROR_CODES].sort());
  const http = await openHttp();
  try {
    const answer = await http.request({ url: '/openapi.json', key: null });
    assert.equal(answer.status, 200);
    const found = documented(answer.body);
    const wanted = expected();
    assert.deepEqual([...wanted].filter((line) => !found.has(line)), [], 'registry entries missing from the document');
    assert.deepEqual([...found].filter((line) => !wanted.has(line)), [], 'documented codes not in the registry');
  } finally {
    await http.close();
  }
});

test('/openapi.json is OpenAPI 3.1 and documents every route with its parameters, body and auth', async () => {
  const http = await openHttp();
  try {
    const document = (await http.request({ url: '/openapi.json' })).body;
    assert.equal(document.openapi, '3.1.0');
    const operations = Object.entries(document.paths as Record<string, Record<string, any>>)
      .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`)).sort()
      // Product modules' routes are checked by their own tests (test/products/...).
      .filter((operation) => !operation.includes(' /money/'));
    assert.deepEqual(operations, [
      'GET /accounts/{id}', 'GET /accounts/{id}/balance', 'GET /accounts/{id}/transfers', 'GET /assets', 'GET /health',
      'GET /openapi.json', 'GET /transfers/{id}', 'POST /accounts', 'POST /accounts/batch', 'POST /transfers',
      'POST /transfers/batch', 'POST /transfers/{id}/post', 'POST /transfers/{id}/void',
      'GET /sms/messages/{id}', 'GET /sms/messages', 'GET /sms/campaigns/{campaign}', 'GET /sms/dlr', 'POST /sms/messages/{id}/requeue', 'GET /ussd/catalog', 'POST /ussd/catalog',
      // The cutover kit (issue 8).
      'GET /maintenance', 'POST /maintenance', 'GET /incidents', 'POST /incidents', 'POST /incidents/{id}/updates',
      'GET /cutover', 'POST /cutover', 'POST /cutover/advance', 'POST /cutover/decisions', 'GET /cutover/rollback', 'POST /cutover/rollback',
      'POST /notices/maintenance', 'GET /notices/maintenance/{id}', 'GET /watch', 'POST /watch/run', 'POST /parity',
      // prepaid (issue 5)
      'GET /prepaid/bundles', 'GET /prepaid/lines/{msisdn}/balances', 'GET /prepaid/vouchers/{serial}', 'POST /prepaid/buckets/import',
      'POST /prepaid/bundles', 'POST /prepaid/bundles/purchase', 'POST /prepaid/bundles/{code}/retire', 'POST /prepaid/charging/initial',
      'POST /prepaid/charging/terminate', 'POST /prepaid/charging/update', 'POST /prepaid/vouchers/batches', 'POST /prepaid/vouchers/import',
      'POST /prepaid/vouchers/redeem', 'POST /prepaid/vouchers/{serial}/block', 'POST /prepaid/vouchers/{serial}/unblock',
    ].sort());
    // Every documented operation answers (not route_not_found) at its path.
    for (const operation of operations) {
      const [method, path] = operation.split(' ');
      const answer = await http.request({ method: method as 'GET' | 'POST', url: path.replace('{id}', 'x'), payload: method === 'POST' ? '{}' : undefined, headers: method === 'POST' ? { 'content-type': 'application/json' } : {} });
      assert.notEqual(answer.body?.code, 'route_not_found', operation);
    }
    const create = document.paths['/transfers'].post;
    assert.deepEqual(create.security, [{ bearerAuth: [] }]);
    assert.equal(create.requestBody.content['application/json'].schema.$ref, '#/components/schemas/TransferInput');
    const input = document.components.schemas.TransferInput;
    assert.equal(input.additionalProperties, false);
    assert.deepEqual(Object.keys(input.properties).sort(), ['amount', 'asset', 'code', 'credit_account_id', 'debit_account_id', 'flags', 'id', 'pending_id', 'reversal_of', 'timeout', 'user_data']);
    assert.equal(input.properties.amount.type, 'string');
    assert.equal(input.properties.amount.pattern, '^(0|[1-9][0-9]{0,18})$');
    assert.deepEqual(document.paths['/health'].get.security, []);
    const batch = document.paths['/transfers/batch'].post.requestBody.content['application/json'].schema;
    assert.equal(batch.properties.transfers.maxItems, http.config.batch_events_max);
    const history = document.paths['/accounts/{id}/transfers'].get.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`);
    assert.deepEqual(history, ['path:id', 'query:limit', 'query:before']);
    assert.deepEqual(Object.keys(document.paths['/transfers'].post.responses).sort(), ['200', '201', '400', '401', '403', '409', '413', '415', '422', '500', '503']);
  } finally {
    await http.close();
  }
});
