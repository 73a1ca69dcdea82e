// How product accounts are named and coded in the ledger, shared by every module so that two of
// them needing one account (mobile money crediting airtime that prepaid then charges) create the
// same one: creating an account that exists with the same fields answers `exists`, so whichever
// module gets there first creates it and the other's create is a no-op.
//
// Parties (subscribers, agents, merchants, banks) have their own ids, not their MSISDN: a number
// can change hands or be registered twice in legacy data, and an account must not follow it.
// Prepaid balances belong to the line (the MSISDN), as in every charging system.
import type { Msisdn } from './msisdn.js';
import { msisdnDigits } from './msisdn.js';
import { AccountFlag, type AccountInput } from '../ledger/types.js';

/** Money currencies a wallet can hold; airtime is bought in the same currencies. */
export const CURRENCIES = ['USD', 'ZWG'] as const;
export type Currency = (typeof CURRENCIES)[number];

/** The account `code` says what kind of account it is (for reports, reconcile and verify). */
export const AccountCode = {
  subscriber_wallet: 100,
  agent_float: 110,
  agent_commission: 111,
  merchant_till: 120,
  bank_settlement: 130,
  system_fees: 140,
  system_commissions: 141,
  airtime_sales: 142,
  system_suspense: 143,
  airtime_issue: 144,
  migration_opening: 150,
  /** A legacy negative balance of a wallet that may not go negative in mari (issue 7). */
  migration_overdraft: 151,
  /** Airtime of a line registered twice in legacy, held apart until an operator settles it (issue 7). */
  migration_held: 152,
  airtime: 200,
  bundle_lot: 210,
  prepaid_usage: 220,
  prepaid_expiry: 221,
  voucher_issue: 222,
  bundle_sales: 223,
  bundle_issue: 224,
} as const;

export function walletId(party_id: string, currency: Currency): string {
  return `wallet:${party_id}:${currency}`;
}

/** Main airtime balance of a line, in AIRTIME_<currency>. */
export function airtimeId(msisdn: Msisdn, currency: Currency = 'USD'): string {
  return `airtime:${msisdnDigits(msisdn)}:${currency}`;
}

export function airtimeAsset(currency: Currency): string {
  return `AIRTIME_${currency}`;
}

/** A system account of mari itself (fees, commissions, airtime sales...), one per asset. */
export function systemId(name: string, asset: string): string {
  return `system:${name}:${asset}`;
}

/** An agent's e-money float (what it pays out on cash-in and receives on cash-out). */
export function agentFloatId(party_id: string, currency: Currency): string {
  return `float:${party_id}:${currency}`;
}

/** Where an agent's earned commission accrues. */
export function agentCommissionId(party_id: string, currency: Currency): string {
  return `commission:${party_id}:${currency}`;
}

export function merchantTillId(party_id: string, currency: Currency): string {
  return `till:${party_id}:${currency}`;
}

/** A bank's settlement (trust) account: its debit balance is the e-money issued against the trust. */
export function bankSettlementId(party_id: string, currency: Currency): string {
  return `bank:${party_id}:${currency}`;
}

/**
 * The airtime account of a line exactly as every module creates it (same flags, code and
 * user_data), so a second create answers `exists` rather than `exists_with_different_*`.
 */
export function airtimeAccount(msisdn: Msisdn, currency: Currency = 'USD'): AccountInput {
  return { id: airtimeId(msisdn, currency), asset: airtimeAsset(currency), code: AccountCode.airtime, flags: AccountFlag.debits_must_not_exceed_credits, user_data: null };
}

/** A bundle lot: units of one purchase (or one migrated bucket) with their own expiry. `lot_key` is at most 50 characters. */
export function bundleLotId(lot_key: string): string {
  return `lot:${lot_key}`;
}
