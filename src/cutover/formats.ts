// How migrated things are written in mari: the ledger accounts of each legacy owner and bucket,
// their flags, the migration's own accounts and transfer codes, and the documents that keep each
// account's legacy identity. Shared ids come from src/products/accounts.ts so that mobile money
// and prepaid find (and `exists`-create) the same accounts the migration made.
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { AccountFlag, type AccountInput } from '../ledger/types.js';
import { AccountCode, airtimeAsset, airtimeId, systemId, walletId, type Currency } from '../products/accounts.js';
import type { Msisdn } from '../products/msisdn.js';
import type { DocumentWrite } from '../store/store.js';

/** Collections the migration writes besides parties and product documents. */
export const LEGACY_ACCOUNTS = 'legacy_accounts';
export const MIGRATION = 'migration';
export const MIGRATION_FINDINGS = 'migration_findings';
export const SERVICE_CATALOG = 'legacy_service_menu';
/** Migrated vouchers, apart from prepaid's own `prepaid_vouchers` until the two formats are one (see README). */
export const VOUCHERS = 'legacy_vouchers';

/** Party ids of migrated owners: never the MSISDN (numbers collide and move). */
export const partyIds = {
  subscriber: (sub_id: string) => `sub.${sub_id}`,
  agent: (code: string) => `agent.${code}`,
  merchant: (code: string) => `merchant.${code}`,
  bank: (code: string) => `bank.${code}`,
  system: 'system',
} as const;

// The role accounts of agents, merchants and banks, named as mobile money names them.
export const agentFloatId = (party_id: string, currency: Currency) => `float:${party_id}:${currency}`;
export const agentCommissionId = (party_id: string, currency: Currency) => `commission:${party_id}:${currency}`;
export const merchantTillId = (party_id: string, currency: Currency) => `till:${party_id}:${currency}`;
export const bankSettlementId = (party_id: string, currency: Currency) => `bank:${party_id}:${currency}`;

/** Where a legacy negative balance of a wallet that may not go negative in mari is held (see README). */
export const overdraftId = (account_id: string) => `overdraft:${account_id}`.slice(0, 64);

/** The migration's counter-accounts, one per asset: openings come from one, drift is booked against the other. */
export const migrationOpeningId = (asset: string) => systemId('migration_opening', asset);
export const legacySuspenseId = (asset: string) => systemId('legacy_suspense', asset);
/** Airtime of a subscriber whose number is registered twice: kept apart from the line until an operator settles it. */
export const heldAirtimeId = (sub_id: string, currency: Currency) => `held:airtime:sub.${sub_id}:${currency}`;

export const MigrationCode = {
  opening: AccountCode.migration_opening,
  drift: AccountCode.system_suspense,
  fee: 309,
  unknown_type: 399,
} as const;

/** Transfer codes of replayed legacy transactions, by txn_type. */
export const TXN_TYPE_CODE: Readonly<Record<string, number>> = Object.freeze({
  P2P: 300, CASHIN: 301, CASHOUT: 302, MERCHANT: 303, BANK_IN: 304, BANK_OUT: 305, AIRTIME: 306, COMMISSION: 307, REVERSAL: 308,
});

const REF_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/;

/** `mig:txn:<ref>` when the ref is a valid id; otherwise a hash of it, so any ref maps to one id. */
export function txnTransferId(ref: string): string {
  if (REF_ID.test(ref)) return `mig:txn:${ref}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < ref.length; i++) h = Math.imul(h ^ ref.charCodeAt(i), 0x01000193) >>> 0;
  return `mig:txn:x${h.toString(16)}.${Buffer.from(ref).toString('base64url').slice(0, 40)}`;
}

/** The fee leg booked with a legacy transaction (linked to it), when it had a fee. */
export function txnFeeId(ref: string): string {
  return `mig:fee:${txnTransferId(ref).slice('mig:txn:'.length)}`;
}

const BOUNDED = AccountFlag.debits_must_not_exceed_credits;

/** Accounts mobile money creates unbounded: a bank's trust account and mari's own system accounts. */
const UNBOUNDED_CODES: ReadonlySet<number> = new Set([AccountCode.bank_settlement, AccountCode.system_fees, AccountCode.system_commissions, AccountCode.airtime_sales]);

/**
 * Exactly as mobile money creates each kind of account (flags, code, no user_data), so whichever
 * creates it first, the other's create answers `exists`. Customer and role wallets may not be
 * overdrawn (bounded); a bank's settlement account is the other side of issued e-money and goes
 * negative by design, and mari's system accounts are unbounded, as mobile money makes them.
 */
export function walletAccount(id: string, currency: Currency, code: number): AccountInput {
  return { id, asset: currency, code, flags: UNBOUNDED_CODES.has(code) ? 0 : BOUNDED, user_data: null };
}

/** Whether a migrated wallet account may go below zero in mari (otherwise its negative part is an overdraft). */
export function isUnbounded(account_id: string): boolean {
  return account_id.startsWith('bank:') || account_id.startsWith('system:');
}

/** A debt account: only debited by the migration, it can be paid back to zero (credited) but never above. */
export function overdraftAccount(account_id: string, asset: string): AccountInput {
  return { id: overdraftId(account_id), asset, code: AccountCode.migration_overdraft, flags: AccountFlag.credits_must_not_exceed_debits, user_data: `overdraft of ${account_id}`.slice(0, 128) };
}

export function systemAccount(id: string, asset: string, code: number): AccountInput {
  return { id, asset, code, flags: 0, user_data: null };
}

export function airtimeAccountOf(msisdn: Msisdn, currency: Currency): AccountInput {
  return { id: airtimeId(msisdn, currency), asset: airtimeAsset(currency), code: AccountCode.airtime, flags: BOUNDED, user_data: null };
}

export function lotAccount(id: string, asset: string): AccountInput {
  return { id, asset, code: AccountCode.bundle_lot, flags: BOUNDED, user_data: null };
}

export { walletId };

/** What mari holds for one legacy wallet. */
export interface LegacyWalletRecord {
  table: 'wallet';
  id: string;
  account_id: string;
  /** Where a legacy negative balance is held (bounded wallets); the account exists only if one was. */
  overdraft_id: string;
  owner_type: string;
  owner_ref: string;
  party_id: string;
  currency: Currency;
  msisdn: Msisdn | null;
}

/** What mari holds for one legacy prepaid bucket. */
export interface LegacyBucketRecord {
  table: 'prepaid_bucket';
  id: string;
  account_id: string;
  kind: string;
  asset: string;
  sub_id: string;
  msisdn: Msisdn | null;
  bundle_name: string | null;
  /** ISO 8601 UTC, or null for never. */
  expires_at: string | null;
  /** True when the line is registered twice in legacy: the units wait for an operator. */
  held: boolean;
}

export type LegacyRecord = LegacyWalletRecord | LegacyBucketRecord;

/**
 * Legacy identity is kept per range of RANGE_WIDTH legacy keys, one document per range (key
 * `w:<range>` or `b:<range>`): a million accounts are a few thousand documents, written once
 * each during an import and read in seconds by reconcile, where one document per account
 * would be millions of writes and reads.
 */
export const RANGE_WIDTH = 1024;
export const rangeKey = (table: 'wallet' | 'prepaid_bucket', range: number) => `${table === 'wallet' ? 'w' : 'b'}:${String(range).padStart(10, '0')}`;

export interface RangeDocument {
  table: 'wallet' | 'prepaid_bucket';
  range: number;
  width: number;
  records: Record<string, LegacyRecord>;
}

export function rangeDocument(doc: RangeDocument): DocumentWrite {
  return { collection: LEGACY_ACCOUNTS, key: rangeKey(doc.table, doc.range), tag: doc.table, value: JSON.stringify(doc) };
}

/** The record of one legacy wallet or bucket, for support and tests. */
export async function legacyRecord(store: { document(c: string, k: string): Promise<{ value: string } | undefined> }, table: 'wallet' | 'prepaid_bucket', id: string | number): Promise<LegacyRecord | undefined> {
  const doc = await store.document(LEGACY_ACCOUNTS, rangeKey(table, Math.floor(Number(id) / RANGE_WIDTH)));
  return doc ? (JSON.parse(doc.value) as RangeDocument).records[String(id)] : undefined;
}

/** Prepaid's lot document (collection `prepaid_lots`), for a migrated bundle bucket. */
export const PREPAID_LOTS = 'prepaid_lots';
export const prepaidLotId = (bucket_id: string) => `lot:m:${bucket_id}`;
export const PREPAID_MIGRATION_CODE = 505;

export function prepaidLotDocument(lot: { id: string; msisdn: Msisdn; service: 'data' | 'voice' | 'sms'; asset: string; name: string; units: bigint; created_at_ns: bigint; expires_at_ns: bigint }): DocumentWrite {
  const doc = {
    id: lot.id, msisdn: lot.msisdn, service: lot.service, asset: lot.asset, bundle_code: null, name: lot.name, units: lot.units.toString(),
    created_at: lot.created_at_ns.toString(), expires_at: lot.expires_at_ns.toString(), window: null, low_notified: false, expiry_notified: false, state: 'active',
  };
  return { collection: PREPAID_LOTS, key: lot.id, tag: 'active', value: JSON.stringify(doc) };
}

// The subscriber's PIN as the legacy platform kept it (unsalted MD5), in mobile money's own PIN
// document format: the next correct entry upgrades it to scrypt.
export { legacyPinDocument } from '../products/money/pins.js';

// Voucher PINs: 16 digits (about 53 bits), hashed with scrypt under a fixed salt so that a PIN
// typed at recharge finds its voucher by hash. The cost is lower than a subscriber PIN's: the
// PIN's own entropy is what resists an offline search (2^53 tries at ~0.5 ms each is about
// 140,000 core-years), and the redeemable vouchers of a million subscribers must hash within a
// migration window on two cores.
export const VOUCHER_PIN_SCRYPT = Object.freeze({ N: 1 << 8, r: 8, p: 1, keylen: 32, salt: 'mari-voucher-pin-v1' });
const scryptAsync = promisify(crypto.scrypt) as (password: string, salt: string, keylen: number, options: crypto.ScryptOptions) => Promise<Buffer>;

export async function hashVoucherPin(pin: string): Promise<string> {
  const { N, r, p, keylen, salt } = VOUCHER_PIN_SCRYPT;
  return (await scryptAsync(pin, salt, keylen, { N, r, p })).toString('hex');
}

/** The same hash, blocking: for a thread that does nothing else (src/cutover/pin_hasher.ts). */
export function hashVoucherPinSync(pin: string): string {
  const { N, r, p, keylen, salt } = VOUCHER_PIN_SCRYPT;
  return crypto.scryptSync(pin, salt, keylen, { N, r, p }).toString('hex');
}

export type VoucherStatus = 'new' | 'used' | 'expired';

export interface VoucherRecord {
  serial: string;
  /** scrypt of the PIN (VOUCHER_PIN_SCRYPT); null for a used or expired voucher, which can never redeem. */
  pin_hash: string | null;
  face_value: string;
  currency: Currency;
  status: VoucherStatus;
  used_by: string | null;
  used_at: string | null;
  /** ISO 8601 UTC: the end of the expiry day in Harare. */
  expires_at: string;
  legacy: { table: 'voucher'; id: string };
}

/** Keyed by serial; tagged with the PIN hash so a recharge finds a redeemable voucher by its PIN. */
export function voucherDocument(voucher: VoucherRecord): DocumentWrite {
  return { collection: VOUCHERS, key: voucher.serial, tag: voucher.pin_hash, value: JSON.stringify(voucher) };
}
