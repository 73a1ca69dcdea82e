// Rows as both stores read them back: the same columns on SQLite and PostgreSQL, integers already
// bigint. `text` undoes what a store had to do to keep a text (PostgreSQL escapes NUL).
import { zeroBalances, type Account, type Balances, type Transfer } from '../ledger/types.js';
import type { StoredDocument } from './store.js';

export type Row = Record<string, unknown>;
type Text = (value: string | null) => string | null;
const asIs: Text = (value) => value;

export function balancesFromRow(row: Row): Balances {
  return {
    debits_pending: row.debits_pending as bigint, debits_posted: row.debits_posted as bigint,
    credits_pending: row.credits_pending as bigint, credits_posted: row.credits_posted as bigint,
  };
}

export function documentFromRow(row: Row): StoredDocument {
  return { collection: row.collection as string, key: row.key as string, tag: (row.tag as string | null) ?? null, value: row.value as string, updated_at: Number(row.updated_at) };
}

/** An account row; `zero` for a record as first created (balances come from replay). */
export function accountFromRow(row: Row, zero = false, text: Text = asIs): Account {
  return {
    no: Number(row.no), id: row.id as string, asset: row.asset as string, code: Number(row.code), flags: Number(row.flags),
    user_data: text((row.user_data as string | null) ?? null), timestamp: row.timestamp as bigint,
    ...(zero ? zeroBalances() : balancesFromRow(row)),
  };
}

/** A transfer row; accounts are stored by number, so ids come from `accountByNo` (`#<no>` if unknown). */
export function transferFromRow(row: Row, accountByNo: (no: number) => Account | undefined, text: Text = asIs): Transfer {
  const debit_no = Number(row.debit_no);
  const credit_no = Number(row.credit_no);
  return {
    id: row.id as string,
    timestamp: row.timestamp as bigint,
    debit_account_id: accountByNo(debit_no)?.id ?? `#${debit_no}`,
    credit_account_id: accountByNo(credit_no)?.id ?? `#${credit_no}`,
    debit_account_no: debit_no,
    credit_account_no: credit_no,
    amount: row.amount as bigint,
    pending_id: (row.pending_id as string | null) ?? null,
    pending_amount: row.pending_amount as bigint,
    asset: row.asset as string,
    code: Number(row.code),
    flags: Number(row.flags),
    timeout: Number(row.timeout),
    user_data: text((row.user_data as string | null) ?? null),
    reversal_of: (row.reversal_of as string | null) ?? null,
  };
}
