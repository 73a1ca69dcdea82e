// How prepaid books its operations in the ledger: the accounts it creates (with the same fields
// mobile money uses for airtime, so either module may create one first) and its transfer codes.
import assert from 'node:assert/strict';
import { AccountFlag, available, type Account } from '../../ledger/types.js';
import type { CommandContext } from '../../store/writer.js';
import { AccountCode, CURRENCIES, airtimeAsset, airtimeId, systemId, type Currency } from '../accounts.js';
import type { Msisdn } from '../msisdn.js';

/** Transfer codes of prepaid's own transfers, for history and reports. */
export const TransferCode = {
  voucher_redemption: 500,
  bundle_payment: 501,
  bundle_units: 502,
  usage: 503,
  bundle_expiry: 504,
  migration_opening: 505,
} as const;

/** The system accounts, one per asset: each is the other side of one kind of prepaid transfer. */
export const SYSTEM = {
  /** Airtime issued by vouchers: its balance is minus the face value of every voucher redeemed. */
  voucher_issue: { name: 'voucher_issue', code: AccountCode.voucher_issue },
  /** Bundle prices received, in airtime or money. */
  bundle_sales: { name: 'bundle_sales', code: AccountCode.bundle_sales },
  /** Bundle units issued into lots. */
  bundle_issue: { name: 'bundle_issue', code: AccountCode.bundle_issue },
  /** Units and airtime consumed by charging (reservations post here). */
  usage: { name: 'prepaid_usage', code: AccountCode.prepaid_usage },
  /** Units that expired unused. */
  expiry: { name: 'prepaid_expiry', code: AccountCode.prepaid_expiry },
  /** Opening balances brought over from the legacy platform. */
  migration: { name: 'migration_opening', code: AccountCode.migration_opening },
} as const;
export type SystemAccount = (typeof SYSTEM)[keyof typeof SYSTEM];

/** Creates the account in the command unless it exists; the fields must match what exists. */
function ensure(ctx: CommandContext, input: { id: string; asset: string; code: number; flags: number }): string {
  const existing = ctx.ledger.accounts.get(input.id);
  if (existing) {
    assert.ok(existing.asset === input.asset && existing.code === input.code && existing.flags === input.flags, `account ${input.id} has the fields prepaid expects`);
    return input.id;
  }
  const [result] = ctx.createAccounts([{ ...input, user_data: null }]);
  assert.ok(result === 'ok' || result === 'exists', `creating ${input.id}: ${result}`);
  return input.id;
}

export function ensureSystem(ctx: CommandContext, account: SystemAccount, asset: string): string {
  return ensure(ctx, { id: systemId(account.name, asset), asset, code: account.code, flags: 0 });
}

/** The line's main airtime account, created (as mobile money would) if missing. */
export function ensureAirtime(ctx: CommandContext, msisdn: Msisdn, currency: Currency): string {
  return ensure(ctx, { id: airtimeId(msisdn, currency), asset: airtimeAsset(currency), code: AccountCode.airtime, flags: AccountFlag.debits_must_not_exceed_credits });
}

export function ensureLot(ctx: CommandContext, id: string, asset: string): string {
  return ensure(ctx, { id, asset, code: AccountCode.bundle_lot, flags: AccountFlag.debits_must_not_exceed_credits });
}

/** Available airtime of a line in each currency (0 where it has no account yet). */
export function airtimeBalances(accounts: ReadonlyMap<string, Account>, msisdn: Msisdn): Record<Currency, bigint> {
  const out = {} as Record<Currency, bigint>;
  for (const currency of CURRENCIES) {
    const account = accounts.get(airtimeId(msisdn, currency));
    out[currency] = account ? available(account) : 0n;
  }
  return out;
}

/** Asserts a ledger result the command's own checks made certain. */
export function assertOk(results: readonly string[], what: string): void {
  for (const result of results) assert.ok(result === 'ok', `${what}: ${result}`);
}
