// The documents mobile money keeps besides parties, PINs and usage: one transaction record per
// client reference (the idempotency record, the answer a retry gets, and what a mini statement
// line says about the transfers it finds in the wallet's history).
import type { DocumentWrite, StoredDocument } from '../../store/store.js';
import type { Currency } from '../accounts.js';

export const TRANSACTIONS = 'money_transactions';
/** Lines a mini statement shows, as the USSD menu does. */
export const STATEMENT_LINES = 5;

export const SERVICES = [
  'p2p', 'cash_in', 'cash_out', 'merchant_payment', 'bank_to_wallet', 'wallet_to_bank', 'airtime', 'float_purchase', 'reversal',
] as const;
export type Service = (typeof SERVICES)[number];

/** Ledger transfer codes, one per service, and one for each kind of extra leg. */
export const TransferCode = {
  p2p: 1001, cash_in: 1002, cash_out: 1003, merchant_payment: 1004, bank_to_wallet: 1005, wallet_to_bank: 1006,
  airtime: 1007, airtime_credit: 1008, float_purchase: 1009, fee: 1010, commission: 1011, reversal: 1020,
} as const;

/** One transfer a transaction made, kept so a reversal knows what to undo. */
export interface Leg {
  id: string;
  debit_account_id: string;
  credit_account_id: string;
  /** Minor units, as a decimal string. */
  amount: string;
  asset: string;
}

export type TransactionStatus = 'completed' | 'pending' | 'cancelled' | 'reversed';

export interface MoneyTransaction {
  reference: string;
  service: Service;
  status: TransactionStatus;
  currency: Currency;
  /** Minor units, decimal strings. */
  amount: string;
  fee: string;
  commission: string;
  /** Party ids on each side (null for mari's own accounts). */
  payer_id: string | null;
  payee_id: string | null;
  /** How each side is shown: an MSISDN, or an agent, merchant or bank code. */
  from: string;
  to: string;
  /** The payer's available balance right after (for a subscriber payer), minor units. */
  balance: string | null;
  /** Posted legs, in order; a pending cash-out's are listed once completed. */
  legs: Leg[];
  /** ISO 8601 UTC. */
  created_at: string;
  updated_at: string;
  /** Cash-out: when the reservation lapses if the agent does not complete it. */
  expires_at?: string;
  /** Airtime: the line credited. */
  beneficiary?: string;
  reversal_of?: string;
  reversed_by?: string;
  reason?: string;
  /** What the request asked, without the PIN: a reused reference must ask the same. */
  fingerprint: string;
}

export function transactionDocument(tx: MoneyTransaction): DocumentWrite {
  return { collection: TRANSACTIONS, key: tx.reference, tag: tx.status === 'pending' ? 'pending' : null, value: JSON.stringify(tx) };
}

export function transactionFromDocument(doc: Pick<StoredDocument, 'value'>): MoneyTransaction {
  return JSON.parse(doc.value) as MoneyTransaction;
}

export interface StatementLine {
  reference: string;
  created_at: string;
  /** What it was, from this party's side: sent, received, cash_in, cash_out, paid, bank_in, bank_out, airtime, reversal. */
  kind: string;
  direction: 'debit' | 'credit';
  amount: string;
  fee: string;
  currency: Currency;
  counterparty: string;
}
