// The ledger's records. Amounts and balances are bigint minor units; timestamps are bigint
// nanoseconds since the Unix epoch (UTC), unique and strictly increasing, assigned by the ledger.

// Bit values follow TigerBeetle's. `linked` chains account creations in a batch; it is not stored.
export const AccountFlag = {
  linked: 1 << 0,
  debits_must_not_exceed_credits: 1 << 1,
  credits_must_not_exceed_debits: 1 << 2,
} as const;
export type AccountFlagName = keyof typeof AccountFlag;

export const TransferFlag = {
  linked: 1 << 0,
  pending: 1 << 1,
  post_pending_transfer: 1 << 2,
  void_pending_transfer: 1 << 3,
  /** Set only by the ledger, on the record that releases a pending transfer whose timeout passed. */
  expiry: 1 << 4,
} as const;
export type TransferFlagName = keyof typeof TransferFlag;
export const CLIENT_TRANSFER_FLAGS = ['linked', 'pending', 'post_pending_transfer', 'void_pending_transfer'] as const;

/** Ids are chosen by clients (the idempotency key). Ids that grow with time (ULID, UUIDv7) keep the index cheap. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
export const CODE_MAX = 65535;
export const USER_DATA_LENGTH_MAX = 128;
/** A pending transfer may be held at most this long (about 10 years), so expiry never overflows. */
export const TIMEOUT_MAX_S = 315_360_000;

export interface Balances {
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
}

export interface Account extends Balances {
  readonly id: string;
  /** Dense internal number, assigned at creation; what the journal and indexes refer to. */
  readonly no: number;
  readonly asset: string;
  readonly code: number;
  readonly flags: number;
  readonly user_data: string | null;
  readonly timestamp: bigint;
}

export interface AccountInput {
  id: string;
  asset: string;
  code: number;
  flags?: number;
  user_data?: string | null;
}

export interface TransferInput {
  id: string;
  debit_account_id?: string | null;
  credit_account_id?: string | null;
  /** Absent on post (meaning the full pending amount) and on void. */
  amount?: bigint | null;
  pending_id?: string | null;
  asset?: string | null;
  code?: number | null;
  flags?: number;
  /** Seconds a pending transfer may stay pending before it expires; 0 means never. */
  timeout?: number;
  user_data?: string | null;
  /** The id of a posted transfer this one reverses (same asset, accounts swapped). */
  reversal_of?: string | null;
}

/** A transfer as the ledger committed it, every field resolved. */
export interface Transfer {
  readonly id: string;
  readonly timestamp: bigint;
  readonly debit_account_id: string;
  readonly credit_account_id: string;
  readonly debit_account_no: number;
  readonly credit_account_no: number;
  readonly amount: bigint;
  readonly pending_id: string | null;
  /** On a post, void or expiry: the pending amount it released. */
  readonly pending_amount: bigint;
  readonly asset: string;
  readonly code: number;
  readonly flags: number;
  readonly timeout: number;
  readonly user_data: string | null;
  readonly reversal_of: string | null;
}

/**
 * A committed transfer's effect on its two accounts' balances. The one definition shared by the
 * ledger, replay, verification and the history index.
 */
export function applyTransfer(transfer: Transfer, debit: Balances, credit: Balances): void {
  if (transfer.flags & (TransferFlag.post_pending_transfer | TransferFlag.void_pending_transfer | TransferFlag.expiry)) {
    debit.debits_pending -= transfer.pending_amount;
    credit.credits_pending -= transfer.pending_amount;
  }
  if (transfer.flags & TransferFlag.pending) {
    debit.debits_pending += transfer.amount;
    credit.credits_pending += transfer.amount;
  } else if (!(transfer.flags & (TransferFlag.void_pending_transfer | TransferFlag.expiry))) {
    debit.debits_posted += transfer.amount;
    credit.credits_posted += transfer.amount;
  }
}

export function zeroBalances(): Balances {
  return { debits_pending: 0n, debits_posted: 0n, credits_pending: 0n, credits_posted: 0n };
}

/**
 * The one number every channel shows. For an account that must not be overdrawn (a wallet):
 * credits posted − debits posted − debits pending. For one bounded the other way (an asset-side
 * account such as a bank's trust account): debits posted − credits posted − credits pending.
 */
export function available(account: Balances & { flags: number }): bigint {
  if (account.flags & AccountFlag.credits_must_not_exceed_debits) {
    return account.debits_posted - account.credits_posted - account.credits_pending;
  }
  return account.credits_posted - account.debits_posted - account.debits_pending;
}

export function flagNames<T extends Record<string, number>>(registry: T, flags: number): (keyof T & string)[] {
  return (Object.keys(registry) as (keyof T & string)[]).filter((name) => (flags & registry[name]) !== 0);
}
