// Limits per KYC tier: per transaction, per Harare calendar day and month (money sent or paid
// out of the wallet), and a cap on what a wallet may hold. Usage counters live in memory and are
// written as documents by the same command as the transfer they count, so the check, the
// transfer and the counter cannot drift apart.
import { formatAmount } from '../../ledger/amount.js';
import { RequestError } from '../../errors/registry.js';
import type { DocumentWrite, StoredDocument } from '../../store/store.js';
import type { Currency } from '../accounts.js';
import { harareDay, harareMonth } from './messages.js';
import type { TierLimit } from './tariff.js';

export const USAGE = 'money_usage';

export interface Usage {
  party_id: string;
  currency: Currency;
  /** Harare calendar day (YYYY-MM-DD) and month (YYYY-MM) the totals are for. */
  day: string;
  day_total: bigint;
  month: string;
  month_total: bigint;
}

export function usageKey(party_id: string, currency: Currency): string {
  return `${party_id}:${currency}`;
}

export function usageDocument(usage: Usage): DocumentWrite {
  return {
    collection: USAGE, key: usageKey(usage.party_id, usage.currency), tag: null,
    value: JSON.stringify({ ...usage, day_total: usage.day_total.toString(), month_total: usage.month_total.toString() }),
  };
}

export function usageFromDocument(doc: Pick<StoredDocument, 'value'>): Usage {
  const raw = JSON.parse(doc.value) as Omit<Usage, 'day_total' | 'month_total'> & { day_total: string; month_total: string };
  return { ...raw, day_total: BigInt(raw.day_total), month_total: BigInt(raw.month_total) };
}

/** The counters as of `now`: a new day or month starts from zero. */
export function currentUsage(stored: Usage | undefined, party_id: string, currency: Currency, now: Date): Usage {
  const day = harareDay(now);
  const month = harareMonth(now);
  return {
    party_id, currency, day, month,
    day_total: stored && stored.day === day ? stored.day_total : 0n,
    month_total: stored && stored.month === month ? stored.month_total : 0n,
  };
}

/** Refuses `amount` if it passes a limit (the error carries what is still allowed); else the counters after it. */
export function spend(usage: Usage, limit: TierLimit, amount: bigint, scale: number): Usage {
  const shown = (value: bigint) => formatAmount(value < 0n ? 0n : value, scale);
  const details = (max: bigint, used: bigint) => ({ currency: usage.currency, limit: shown(max), used: shown(used), remaining: shown(max - used) });
  if (amount > limit.transaction) throw new RequestError('exceeds_transaction_limit', { currency: usage.currency, limit: shown(limit.transaction), remaining: shown(limit.transaction) });
  if (usage.day_total + amount > limit.daily) throw new RequestError('exceeds_daily_limit', details(limit.daily, usage.day_total));
  if (usage.month_total + amount > limit.monthly) throw new RequestError('exceeds_monthly_limit', details(limit.monthly, usage.month_total));
  return { ...usage, day_total: usage.day_total + amount, month_total: usage.month_total + amount };
}

/** Refuses a credit that would take a wallet above its tier's cap. */
export function checkBalanceCap(options: { available: bigint; amount: bigint; limit: TierLimit; currency: Currency; scale: number; code: 'exceeds_balance_cap' | 'recipient_exceeds_balance_cap' }): void {
  const { available, amount, limit } = options;
  if (available + amount <= limit.balance) return;
  const room = limit.balance - available;
  const details = options.code === 'exceeds_balance_cap'
    ? { currency: options.currency, limit: formatAmount(limit.balance, options.scale), remaining: formatAmount(room < 0n ? 0n : room, options.scale) }
    // The recipient's balance is theirs alone: the room left would reveal it.
    : { currency: options.currency };
  throw new RequestError(options.code, details);
}
