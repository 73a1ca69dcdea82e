// The "is it back?" surge: balance enquiries are answered from memory, and limited per customer
// (per MSISDN or account) and overall with token buckets, so a flood of enquiries answers
// `try_later` quickly instead of taking the latency of genuine transactions with it.
import { RequestError } from '../../errors/registry.js';

/** Customers tracked at once; past this the oldest buckets are forgotten (they were idle longest). */
const KEYS_MAX = 200_000;

export interface SurgeLimits {
  /** Sustained enquiries per second per customer; a burst of ten times that is allowed. */
  per_customer_per_s: number;
  /** Sustained enquiries per second over all customers; bursts of one second's worth. */
  total_per_s: number;
}

export const SURGE_DEFAULTS: SurgeLimits = Object.freeze({ per_customer_per_s: 2, total_per_s: 40_000 });

interface Bucket {
  tokens: number;
  at_ms: number;
}

export class EnquiryLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly total: Bucket;
  refused = 0;

  constructor(private readonly limits: SurgeLimits = SURGE_DEFAULTS, private readonly now: () => number = () => performance.now()) {
    this.total = { tokens: limits.total_per_s, at_ms: now() };
  }

  /** Takes one enquiry for this customer, or throws `try_later` with the seconds to wait. */
  admit(customer: string): void {
    const now_ms = this.now();
    const burst = this.limits.per_customer_per_s * 10;
    let bucket = this.buckets.get(customer);
    if (bucket === undefined) {
      if (this.buckets.size >= KEYS_MAX) this.buckets.delete(this.buckets.keys().next().value as string);
      bucket = { tokens: burst, at_ms: now_ms };
      this.buckets.set(customer, bucket);
    }
    refill(this.total, { rate_per_s: this.limits.total_per_s, burst: this.limits.total_per_s, now_ms });
    refill(bucket, { rate_per_s: this.limits.per_customer_per_s, burst, now_ms });
    if (this.total.tokens < 1) this.refuse(1 / this.limits.total_per_s, 'total');
    if (bucket.tokens < 1) this.refuse((1 - bucket.tokens) / this.limits.per_customer_per_s, 'customer');
    this.total.tokens -= 1;
    bucket.tokens -= 1;
  }

  private refuse(wait_s: number, limit: 'total' | 'customer'): never {
    this.refused++;
    throw new RequestError('try_later', { retry_after_s: Math.max(1, Math.ceil(wait_s)), limit });
  }
}

function refill(bucket: Bucket, options: { rate_per_s: number; burst: number; now_ms: number }): void {
  const elapsed_ms = options.now_ms - bucket.at_ms;
  if (elapsed_ms <= 0) return;
  bucket.tokens = Math.min(options.burst, bucket.tokens + (elapsed_ms * options.rate_per_s) / 1000);
  bucket.at_ms = options.now_ms;
}

/** Enquiry routes: reads of a balance, keyed by whom they are about (the MSISDN, else the account). */
export function enquiryCustomer(options: { method: string; url: string; params: unknown; body: unknown }): string | undefined {
  const { method, url } = options;
  const enquiry = method === 'GET' ? url === '/accounts/:id' || /balances?$/.test(url) : /\/balance$/.test(url);
  if (!enquiry) return undefined;
  const p = { ...(options.params ?? {}), ...(method === 'POST' && typeof options.body === 'object' ? options.body : {}) } as Record<string, unknown>;
  const customer = p.msisdn ?? p.id ?? p.account_id;
  return typeof customer === 'string' ? customer.replace(/[^0-9A-Za-z:._-]/g, '') : undefined;
}
