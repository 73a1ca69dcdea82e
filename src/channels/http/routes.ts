// The routes, as one table: method, path, access, schemas, documented answers and handler.
// app.ts registers them with fastify and openapi.ts documents them, so the two cannot drift.
import assert from 'node:assert/strict';
import type { Static, TSchema } from '@sinclair/typebox';
import type { Config } from '../../config.js';
import {
  ACCOUNT_RESULTS,
  RequestError,
  TRANSFER_RESULTS,
  isSuccess,
  type AccountResult,
  type RequestErrorCode,
  type TransferResult,
} from '../../errors/registry.js';
import { snapshot } from '../../ledger/ledger.js';
import type { Account, Balances, TransferInput } from '../../ledger/types.js';
import type { LedgerHandle } from '../../store/open.js';
import { parseTimestamp, formatHarare } from '../../time.js';
import type { Access } from './auth.js';
import { refusal } from './errors.js';
import * as S from './schemas.js';
import * as wire from './wire.js';

export interface Answer {
  status: number;
  body: unknown;
}

export interface SuccessDoc {
  status: number;
  description: string;
  schema: TSchema;
  /** The ledger results answered with this status and body (ok, exists). */
  codes?: readonly ('ok' | 'exists')[];
}

export interface RouteDoc {
  method: 'GET' | 'POST';
  url: string;
  operationId: string;
  summary: string;
  access: Access;
  success: readonly SuccessDoc[];
  /** A single-event write answers each ledger refusal with the registry's status. */
  results?: 'account' | 'transfer';
  /** Request errors beyond those implied by the access, the inputs and writing. */
  errors?: readonly RequestErrorCode[];
  /** Whether the route goes through the writer (writer_unavailable). */
  writes?: boolean;
}

type Input<S> = S extends TSchema ? Static<S> : undefined;

interface RouteDefinition<P, Q, B> extends RouteDoc {
  params?: P;
  querystring?: Q;
  body?: B;
  handle(input: { params: Input<P>; query: Input<Q>; body: Input<B> }): Promise<Answer>;
}

export interface Route extends RouteDoc {
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  handle(input: { params: unknown; query: unknown; body: unknown }): Promise<Answer>;
}

export function route<P extends TSchema | undefined = undefined, Q extends TSchema | undefined = undefined, B extends TSchema | undefined = undefined>(
  definition: RouteDefinition<P, Q, B>,
): Route {
  return definition as unknown as Route;
}

export interface RouteContext {
  handle: LedgerHandle;
  config: Readonly<Config>;
  /** The writer's answer, or writer_unavailable if the writer stops before giving one. */
  written<T>(work: Promise<T>): Promise<T>;
}

export function routes(context: RouteContext): Route[] {
  const configured = S.configuredSchemas(context.config);
  return [
    ...serviceRoutes(context),
    ...accountRoutes(context, configured),
    ...transferRoutes(context, configured),
  ];
}

function serviceRoutes(context: RouteContext): Route[] {
  return [
    route({
      method: 'GET', url: '/health', operationId: 'health', summary: 'Whether the ledger accepts writes.', access: 'public',
      success: [{ status: 200, description: 'The writer is running.', schema: S.HealthOutput }],
      errors: ['writer_unavailable'],
      async handle() {
        if (context.handle.writer.failed) throw new RequestError('writer_unavailable');
        return { status: 200, body: { status: 'ok' } };
      },
    }),
    route({
      method: 'GET', url: '/assets', operationId: 'listAssets', summary: 'The assets accounts may hold, with their scales.', access: 'read',
      success: [{ status: 200, description: 'Every asset, by code.', schema: S.AssetsOutput }],
      async handle() {
        const assets = [...context.handle.ledger.assets.values()].sort((a, b) => (a.code < b.code ? -1 : 1));
        return { status: 200, body: { assets: assets.map(({ code, scale, name }) => ({ code, scale, name })) } };
      },
    }),
  ];
}

/** The account, once every batch the writer applied before this read is durable. */
async function accountOf(context: RouteContext, id: string): Promise<Account> {
  await context.handle.writer.settled();
  const account = context.handle.ledger.accounts.get(id);
  if (!account) throw new RequestError('account_not_found');
  return account;
}

/**
 * The account with its durable balances. The writer pipelines: it may apply a batch to memory
 * while the previous one is still being written. If no batch was applied since the last durable
 * commit, memory is the durable state; otherwise the store's last durable balances are read.
 */
async function accountWithBalances(context: RouteContext, id: string): Promise<{ account: Account; balances: Balances }> {
  const { writer, ledger, store } = context.handle;
  // An account no commit in flight has touched shows its committed balances in memory: no wait, no read.
  const known = ledger.accounts.get(id);
  if (known !== undefined && writer.isSettled(known)) return { account: known, balances: snapshot(known) };
  const settled = writer.settled();
  await settled;
  const account = ledger.accounts.get(id);
  if (!account) throw new RequestError('account_not_found');
  // Checked and copied in one synchronous step: the writer cannot apply a batch in between.
  if (writer.failed === undefined && writer.settled() === settled) return { account, balances: snapshot(account) };
  return { account, balances: await store.balanceAt(account, ledger.lastTimestamp) };
}

async function accountAnswer(context: RouteContext, options: { id: string; status: number }): Promise<Answer> {
  const found = await accountWithBalances(context, options.id);
  return { status: options.status, body: wire.accountJson(found, context.handle.ledger.assets) };
}

function scaleOf(context: RouteContext, account: Account): number {
  const asset = context.handle.ledger.assets.get(account.asset);
  assert.ok(asset !== undefined, 'an account\'s asset is known');
  return asset.scale;
}

function batchAnswer<R extends string>(ids: readonly string[], results: readonly R[]): Answer {
  assert.equal(results.length, ids.length, 'one result per event');
  return { status: 200, body: { results: results.map((result, index) => ({ index, id: ids[index], result })) } };
}

function accountRoutes(context: RouteContext, configured: ReturnType<typeof S.configuredSchemas>): Route[] {
  const { handle } = context;
  return [
    route({
      method: 'POST', url: '/accounts', operationId: 'createAccount', summary: 'Create one account.', access: 'write', writes: true,
      body: S.AccountInput, results: 'account',
      success: [
        { status: 201, description: 'Created.', schema: S.AccountOutput, codes: ['ok'] },
        { status: 200, description: 'Already there with the same fields (a retry).', schema: S.AccountOutput, codes: ['exists'] },
      ],
      async handle({ body }) {
        const [result] = await context.written(handle.writer.createAccounts([wire.accountInput(body)]));
        if (!isSuccess(result)) return refusal(ACCOUNT_RESULTS, result);
        return accountAnswer(context, { id: body.id, status: ACCOUNT_RESULTS[result].status });
      },
    }),
    route({
      method: 'POST', url: '/accounts/batch', operationId: 'createAccounts',
      summary: 'Create accounts in one commit; linked ones succeed or fail together.', access: 'write', writes: true,
      body: configured.AccountBatch, errors: ['batch_too_large', 'batch_empty'],
      success: [{ status: 200, description: 'Every event\'s result, in order.', schema: S.AccountBatchOutput }],
      async handle({ body }) {
        const results: AccountResult[] = await context.written(handle.writer.createAccounts(body.accounts.map(wire.accountInput)));
        return batchAnswer(body.accounts.map((event) => event.id), results);
      },
    }),
    route({
      method: 'GET', url: '/accounts/:id', operationId: 'getAccount', summary: 'An account with its balances.', access: 'read',
      params: S.IdParams, errors: ['account_not_found', 'try_later'],
      success: [{ status: 200, description: 'The account, as of the last commit.', schema: S.AccountOutput }],
      async handle({ params }) {
        return accountAnswer(context, { id: params.id, status: 200 });
      },
    }),
    route({
      method: 'GET', url: '/accounts/:id/transfers', operationId: 'getAccountTransfers',
      summary: 'The account\'s transfers, newest first, each with the balances right after it.', access: 'read',
      params: S.IdParams, querystring: configured.HistoryQuery, errors: ['account_not_found', 'cursor_invalid'],
      success: [{ status: 200, description: 'One page; follow `next` for older ones.', schema: S.HistoryOutput }],
      async handle({ params, query }) {
        const account = await accountOf(context, params.id);
        const before = query.before === undefined ? undefined : wire.decodeCursor({ account_id: account.id, cursor: query.before });
        if (query.before !== undefined && before === undefined) throw new RequestError('cursor_invalid');
        const page = await handle.store.accountHistory(account, { limit: query.limit ?? context.config.page_size_default, before });
        const scale = scaleOf(context, account);
        const transfers = page.entries.map((entry) => ({
          ...wire.transferJson(entry.transfer, handle.ledger.assets),
          after: wire.balancesJson(entry.after, { flags: account.flags, scale }),
        }));
        const next = page.next_before === undefined ? undefined : wire.encodeCursor({ account_id: account.id, before: page.next_before });
        return { status: 200, body: next === undefined ? { transfers } : { transfers, next } };
      },
    }),
    route({
      method: 'GET', url: '/accounts/:id/balance', operationId: 'getAccountBalanceAt', summary: 'The account\'s balances at a past time.', access: 'read',
      params: S.IdParams, querystring: S.BalanceQuery, errors: ['account_not_found', 'timestamp_invalid'],
      success: [{ status: 200, description: 'The balances after the last transfer at or before `at`.', schema: S.BalanceOutput }],
      async handle({ params, query }) {
        const account = await accountOf(context, params.id);
        // A raw `+` in a query string decodes to a space; an offset is the only place it can occur.
        const at = parseTimestamp(query.at.replace(/ (\d{2}:\d{2})$/, '+$1'));
        if (at === undefined) throw new RequestError('timestamp_invalid');
        // Nothing is recorded past the ledger's last timestamp; the store cannot take times near 2^63.
        const balances = await handle.store.balanceAt(account, at < handle.ledger.lastTimestamp ? at : handle.ledger.lastTimestamp);
        const body = { account_id: account.id, at: formatHarare(at), timestamp: at.toString(), ...wire.balancesJson(balances, { flags: account.flags, scale: scaleOf(context, account) }) };
        return { status: 200, body };
      },
    }),
  ];
}

function transferRoutes(context: RouteContext, configured: ReturnType<typeof S.configuredSchemas>): Route[] {
  const { handle } = context;
  const single = {
    access: 'write', writes: true, results: 'transfer',
    success: [
      { status: 201, description: 'Committed.', schema: S.TransferOutput, codes: ['ok'] },
      { status: 200, description: 'Already there with the same fields (a retry): the stored transfer.', schema: S.TransferOutput, codes: ['exists'] },
    ],
  } as const satisfies Partial<RouteDoc>;

  async function createOne(input: TransferInput): Promise<Answer> {
    const outcome = await context.written(handle.writer.createTransfersWithRecords([input]));
    const [result] = outcome.results;
    if (!isSuccess(result)) return refusal(TRANSFER_RESULTS, result);
    // A new transfer comes back from the commit itself; only a retry (`exists`) reads the store.
    const transfer = outcome.transfers[0] ?? await handle.store.getTransfer(input.id);
    assert.ok(transfer !== undefined, `committed transfer ${input.id} is stored`);
    return { status: TRANSFER_RESULTS[result].status, body: wire.transferJson(transfer, handle.ledger.assets) };
  }

  return [
    route({
      ...single, method: 'POST', url: '/transfers', operationId: 'createTransfer', summary: 'Commit one transfer.',
      body: S.TransferInput, errors: ['amount_invalid'],
      handle: ({ body }) => createOne(wire.transferInput(body)),
    }),
    route({
      method: 'POST', url: '/transfers/batch', operationId: 'createTransfers',
      summary: 'Commit transfers in one commit; linked ones succeed or fail together.', access: 'write', writes: true,
      body: configured.TransferBatch, errors: ['amount_invalid', 'batch_too_large', 'batch_empty'],
      success: [{ status: 200, description: 'Every event\'s result, in order.', schema: S.TransferBatchOutput }],
      async handle({ body }) {
        const results: TransferResult[] = await context.written(handle.writer.createTransfers(body.transfers.map(wire.transferInput)));
        return batchAnswer(body.transfers.map((event) => event.id), results);
      },
    }),
    route({
      method: 'GET', url: '/transfers/:id', operationId: 'getTransfer', summary: 'A committed transfer.', access: 'read',
      params: S.IdParams, errors: ['transfer_not_found'],
      success: [{ status: 200, description: 'The transfer.', schema: S.TransferOutput }],
      async handle({ params }) {
        const transfer = await handle.store.getTransfer(params.id);
        if (!transfer) throw new RequestError('transfer_not_found');
        return { status: 200, body: wire.transferJson(transfer, handle.ledger.assets) };
      },
    }),
    route({
      ...single, method: 'POST', url: '/transfers/:id/post', operationId: 'postPendingTransfer',
      summary: 'Post (complete) the pending transfer :id, wholly or in part, as a new transfer with the body\'s id.',
      params: S.IdParams, body: S.PostPendingInput, errors: ['amount_invalid'],
      handle: ({ params, body }) => createOne(wire.postPendingInput({ pending_id: params.id, body })),
    }),
    route({
      ...single, method: 'POST', url: '/transfers/:id/void', operationId: 'voidPendingTransfer',
      summary: 'Void the pending transfer :id, releasing its reservation, as a new transfer with the body\'s id.',
      params: S.IdParams, body: S.VoidPendingInput,
      handle: ({ params, body }) => createOne(wire.voidPendingInput({ pending_id: params.id, id: body.id })),
    }),
  ];
}
