// Conversions between the ledger's records (bigint amounts and nanoseconds, flag bits) and the
// wire (decimal strings, Harare times, flag names). Nothing bigint leaves this module.
import assert from 'node:assert/strict';
import { parseAmount, formatAmount } from '../../ledger/amount.js';
import type { Asset } from '../../ledger/assets.js';
import {
  AccountFlag,
  TransferFlag,
  available,
  flagNames,
  type Account,
  type AccountInput,
  type Balances,
  type Transfer,
  type TransferInput,
} from '../../ledger/types.js';
import { formatHarare } from '../../time.js';
import type { AccountInputBody, PostPendingBody, TransferInputBody } from './schemas.js';

type Assets = ReadonlyMap<string, Asset>;

function scaleOf(assets: Assets, code: string): number {
  const asset = assets.get(code);
  assert.ok(asset !== undefined, `asset ${code} of a committed record is known`);
  return asset.scale;
}

function flagBits(registry: Readonly<Record<string, number>>, names: readonly string[] | undefined): number {
  let bits = 0;
  for (const name of names ?? []) {
    assert.ok(name in registry, `flag ${name} passed the schema`);
    bits |= registry[name];
  }
  return bits;
}

/** The schema checked the syntax (format "amount"); this turns it into the ledger's bigint. */
function amountOf(text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined;
  const amount = parseAmount(text);
  assert.ok(amount !== undefined, 'amount passed the schema');
  return amount;
}

export function accountInput(body: AccountInputBody): AccountInput {
  return { id: body.id, asset: body.asset, code: body.code, flags: flagBits(AccountFlag, body.flags), user_data: body.user_data ?? null };
}

export function transferInput(body: TransferInputBody): TransferInput {
  return {
    id: body.id,
    debit_account_id: body.debit_account_id ?? null,
    credit_account_id: body.credit_account_id ?? null,
    amount: amountOf(body.amount) ?? null,
    pending_id: body.pending_id ?? null,
    asset: body.asset ?? null,
    code: body.code ?? null,
    flags: flagBits(TransferFlag, body.flags),
    timeout: body.timeout ?? 0,
    user_data: body.user_data ?? null,
    reversal_of: body.reversal_of ?? null,
  };
}

export function postPendingInput(options: { pending_id: string; body: PostPendingBody }): TransferInput {
  const { pending_id, body } = options;
  return { id: body.id, pending_id, flags: TransferFlag.post_pending_transfer, amount: amountOf(body.amount) ?? null, user_data: body.user_data ?? null };
}

export function voidPendingInput(options: { pending_id: string; id: string }): TransferInput {
  return { id: options.id, pending_id: options.pending_id, flags: TransferFlag.void_pending_transfer };
}

export function balancesJson(balances: Balances, account: { flags: number; scale: number }) {
  const value = available({ ...balances, flags: account.flags });
  return {
    debits_pending: balances.debits_pending.toString(),
    debits_posted: balances.debits_posted.toString(),
    credits_pending: balances.credits_pending.toString(),
    credits_posted: balances.credits_posted.toString(),
    available: value.toString(),
    available_display: formatAmount(value, account.scale),
  };
}

export function accountJson(options: { account: Account; balances: Balances }, assets: Assets) {
  const { account, balances } = options;
  const scale = scaleOf(assets, account.asset);
  return {
    id: account.id,
    asset: { code: account.asset, scale },
    code: account.code,
    flags: flagNames(AccountFlag, account.flags),
    user_data: account.user_data,
    created: formatHarare(account.timestamp),
    timestamp: account.timestamp.toString(),
    ...balancesJson(balances, { flags: account.flags, scale }),
  };
}

export function transferJson(transfer: Transfer, assets: Assets) {
  return {
    id: transfer.id,
    created: formatHarare(transfer.timestamp),
    timestamp: transfer.timestamp.toString(),
    debit_account_id: transfer.debit_account_id,
    credit_account_id: transfer.credit_account_id,
    amount: transfer.amount.toString(),
    amount_display: formatAmount(transfer.amount, scaleOf(assets, transfer.asset)),
    pending_id: transfer.pending_id,
    pending_amount: transfer.pending_amount.toString(),
    asset: transfer.asset,
    code: transfer.code,
    flags: flagNames(TransferFlag, transfer.flags),
    timeout: transfer.timeout,
    user_data: transfer.user_data,
    reversal_of: transfer.reversal_of,
  };
}

/** History pages continue from an opaque cursor bound to the account it was issued for. */
export function encodeCursor(options: { account_id: string; before: bigint }): string {
  return Buffer.from(JSON.stringify([options.account_id, options.before.toString()]), 'utf8').toString('base64url');
}

export function decodeCursor(options: { account_id: string; cursor: string }): bigint | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(options.cursor)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(options.cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || parsed[0] !== options.account_id) return undefined;
  const before = parsed[1];
  return typeof before === 'string' && /^[1-9][0-9]{0,18}$/.test(before) ? BigInt(before) : undefined;
}
