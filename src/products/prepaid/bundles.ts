// Bundles: the catalog an operator manages, and the lots a line holds. A lot is its own ledger
// account holding one purchase's units (DATA_KB, VOICE_S or SMS) until its expiry time, when the
// remaining units leave through an expiry transfer. Lots live in memory (loaded from the
// `prepaid_lots` documents at start) and change only inside writer commands.
import assert from 'node:assert/strict';
import { RequestError } from '../../errors/registry.js';
import { ExpiryHeap } from '../../ledger/heap.js';
import { available, TransferFlag } from '../../ledger/types.js';
import type { CommandContext } from '../../store/writer.js';
import type { Store } from '../../store/store.js';
import { formatHarare } from '../../time.js';
import { CURRENCIES, airtimeAsset, airtimeId, bundleLotId, systemId, type Currency } from '../accounts.js';
import { msisdnDigits, type Msisdn } from '../msisdn.js';
import { queueMessage } from '../outbox.js';
import type { Language } from '../parties.js';
import { SYSTEM, TransferCode, assertOk, ensureAirtime, ensureLot, ensureSystem } from './ledger.js';
import { SERVICES, SERVICE_ASSET, SERVICE_UNIT, parseWindow, type Service, type Window } from './tariff.js';

export const BUNDLES = 'prepaid_bundles';
export const LOTS = 'prepaid_lots';

const NS_PER_S = 1_000_000_000n;
const DAY_NS = 86_400n * NS_PER_S;
/** Airtime has two more decimal places than its money: a price of 100 cents is 10000 airtime units. */
const AIRTIME_PER_MONEY_UNIT = 100n;
const CODE_PATTERN = /^[A-Z0-9][A-Z0-9_-]{0,23}$/;
/** Purchase references and legacy bucket ids become ledger ids (lot:b:<ref>), so they keep to the id alphabet. */
export const REFERENCE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$/;
const VALIDITY_MIN_S = 3_600;
const VALIDITY_MAX_S = 366 * 86_400;
/** A low-balance notice goes out when a lot falls to this fraction (1/5 = 20%) of its units. */
const LOW_BALANCE_DIVISOR = 5n;

/** A catalog entry. `price` is in the currency's smallest unit (cents). */
export interface Bundle {
  code: string;
  name: string;
  service: Service;
  price: bigint;
  currency: Currency;
  units: bigint;
  validity_s: number;
  window: Window | null;
  active: boolean;
}

/** The wire and document form of a bundle: amounts as decimal strings. */
export interface BundleJson {
  code: string;
  name: string;
  service: Service;
  price: string;
  currency: Currency;
  units: string;
  validity_s: number;
  window: Window | null;
  active: boolean;
}

export interface Lot {
  /** The lot's ledger account id. */
  id: string;
  msisdn: Msisdn;
  service: Service;
  asset: string;
  /** Catalog code, or null for a migrated bucket. */
  bundle_code: string | null;
  name: string;
  units: bigint;
  created_at: bigint;
  expires_at: bigint;
  window: Window | null;
  low_notified: boolean;
  expiry_notified: boolean;
  state: 'active' | 'expired';
}

/** The `prepaid_lots` document (key: lot id, tag: state). Times are nanoseconds as strings. */
export interface LotDocument {
  id: string;
  msisdn: string;
  service: Service;
  asset: string;
  bundle_code: string | null;
  name: string;
  units: string;
  created_at: string;
  expires_at: string;
  window: Window | null;
  low_notified: boolean;
  expiry_notified: boolean;
  state: 'active' | 'expired';
}

export function bundleJson(bundle: Bundle): BundleJson {
  return { ...bundle, price: bundle.price.toString(), units: bundle.units.toString() };
}

/** Validates an operator's catalog entry; refuses with bundle_invalid naming the field. */
export function parseBundle(input: Omit<BundleJson, 'active'> & { active?: boolean }): Bundle {
  const bad = (field: string): never => {
    throw new RequestError('bundle_invalid', { field });
  };
  if (!CODE_PATTERN.test(input.code)) bad('code');
  if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 40) bad('name');
  if (!(SERVICES as readonly string[]).includes(input.service)) bad('service');
  if (!(CURRENCIES as readonly string[]).includes(input.currency)) bad('currency');
  const price = /^[1-9][0-9]{0,12}$/.test(input.price) ? BigInt(input.price) : bad('price');
  const units = /^[1-9][0-9]{0,12}$/.test(input.units) ? BigInt(input.units) : bad('units');
  if (!Number.isInteger(input.validity_s) || input.validity_s < VALIDITY_MIN_S || input.validity_s > VALIDITY_MAX_S) bad('validity_s');
  if (input.window !== null && input.window !== undefined && !parseWindow(input.window)) bad('window');
  return {
    code: input.code, name: input.name.trim(), service: input.service, price, currency: input.currency, units,
    validity_s: input.validity_s, window: input.window ?? null, active: input.active ?? true,
  };
}

function lotDocument(lot: Lot): { collection: string; key: string; tag: string; value: string } {
  const doc: LotDocument = {
    ...lot, msisdn: lot.msisdn, units: lot.units.toString(), created_at: lot.created_at.toString(), expires_at: lot.expires_at.toString(),
  };
  return { collection: LOTS, key: lot.id, tag: lot.state, value: JSON.stringify(doc) };
}

function lotFromDocument(doc: LotDocument): Lot {
  return {
    ...doc, msisdn: doc.msisdn as Msisdn, units: BigInt(doc.units), created_at: BigInt(doc.created_at), expires_at: BigInt(doc.expires_at),
  };
}

export interface PurchaseRequest {
  msisdn: Msisdn;
  bundle_code: string;
  /** Where the price comes from: the line's airtime in the bundle's currency, or the subscriber's wallet. */
  pay_from: 'airtime' | 'wallet';
  /** The client's idempotency key: a retry with the same reference answers the same lot. */
  reference: string;
  /** The wallet's ledger account (pay_from wallet), found by the caller through the WalletDirectory. */
  wallet_id?: string;
}

export interface LotView {
  lot_id: string;
  service: Service;
  bundle_code: string | null;
  name: string;
  /** Units a session can use now: posted minus reserved. */
  available: string;
  /** Units reserved by sessions in progress. */
  reserved: string;
  units: string;
  unit: string;
  expires_at: string;
  window: Window | null;
}

export interface PurchaseResult {
  result: 'ok' | 'exists';
  lot: LotView;
  /** What was paid, in the paying account's asset and smallest unit. */
  paid: { account_id: string; asset: string; amount: string };
}

export interface LegacyBucket {
  /** The legacy bucket's id: unique, the idempotency key (ledger ids mig:<kind>:<id>). */
  id: string;
  msisdn: Msisdn;
  kind: Service | 'airtime';
  /** Units (data KB, voice seconds, SMS) or, for airtime, the airtime asset's smallest unit. */
  amount: bigint;
  /** Airtime only (default USD). */
  currency?: Currency;
  /** Bundles only: the name shown to the customer and the expiry (ns since the epoch). */
  bundle_name?: string;
  expires_at?: bigint;
  window?: Window | null;
}

/** Notices go to the outbox in the customer's language when mobile money knows it; English otherwise. */
export type LanguageOf = (msisdn: Msisdn) => Language;

export class Bundles {
  private readonly catalog = new Map<string, Bundle>();
  private readonly lots = new Map<string, Lot>();
  private readonly byLine = new Map<string, Lot[]>();
  private readonly expiries = new ExpiryHeap();
  private readonly notices = new ExpiryHeap();

  constructor(readonly languageOf: LanguageOf) {}

  async load(store: Store): Promise<void> {
    for await (const doc of store.documents(BUNDLES)) {
      const json = JSON.parse(doc.value) as BundleJson;
      this.catalog.set(json.code, { ...json, price: BigInt(json.price), units: BigInt(json.units) });
    }
    for await (const doc of store.documents(LOTS, { tag: 'active' })) this.track(lotFromDocument(JSON.parse(doc.value) as LotDocument));
  }

  list(options: { all?: boolean } = {}): Bundle[] {
    return [...this.catalog.values()].filter((b) => options.all || b.active).sort((a, b) => (a.code < b.code ? -1 : 1));
  }

  bundle(code: string): Bundle | undefined {
    return this.catalog.get(code);
  }

  /** Adds or replaces a catalog entry (in a command). Lots already sold keep their terms. */
  putBundle(ctx: CommandContext, bundle: Bundle): void {
    this.catalog.set(bundle.code, bundle);
    ctx.put({ collection: BUNDLES, key: bundle.code, tag: bundle.active ? 'active' : 'retired', value: JSON.stringify(bundleJson(bundle)) });
  }

  /** Active lots of a line not yet past their expiry, any service. */
  lotsOf(msisdn: Msisdn, now: bigint): Lot[] {
    return (this.byLine.get(msisdnDigits(msisdn)) ?? []).filter((lot) => lot.expires_at > now);
  }

  view(ctx: Pick<CommandContext, 'ledger'>, lot: Lot): LotView {
    const account = ctx.ledger.accounts.get(lot.id);
    assert.ok(account, `lot ${lot.id} has an account`);
    return {
      lot_id: lot.id, service: lot.service, bundle_code: lot.bundle_code, name: lot.name,
      available: available(account).toString(), reserved: account.debits_pending.toString(), units: lot.units.toString(),
      unit: SERVICE_UNIT[lot.service], expires_at: formatHarare(lot.expires_at), window: lot.window,
    };
  }

  /** Buys a bundle inside a command: checks first, then pays and issues the lot in one linked chain. */
  purchase(ctx: CommandContext, request: PurchaseRequest, now: bigint): PurchaseResult {
    const lot_id = bundleLotId(`b:${request.reference}`);
    const existing = this.lots.get(lot_id);
    if (existing) return this.retried(ctx, existing, request);
    if (ctx.ledger.accounts.has(lot_id)) throw new RequestError('bundle_reference_conflict', { reference: request.reference, lot: 'expired' });
    const bundle = this.catalog.get(request.bundle_code);
    if (!bundle) throw new RequestError('bundle_not_found', { bundle_code: request.bundle_code });
    if (!bundle.active) throw new RequestError('bundle_unavailable', { bundle_code: bundle.code });
    const payer = this.payer(ctx, request, bundle);
    // Every check is done: from here the command only writes.
    const payer_id = request.pay_from === 'airtime' ? ensureAirtime(ctx, request.msisdn, bundle.currency) : payer.id;
    const sales = ensureSystem(ctx, SYSTEM.bundle_sales, payer.asset);
    const issue = ensureSystem(ctx, SYSTEM.bundle_issue, SERVICE_ASSET[bundle.service]);
    ensureLot(ctx, lot_id, SERVICE_ASSET[bundle.service]);
    assertOk(ctx.createTransfers([
      { id: `bundle:${request.reference}:pay`, debit_account_id: payer_id, credit_account_id: sales, amount: payer.amount, asset: payer.asset, code: TransferCode.bundle_payment, flags: TransferFlag.linked, user_data: bundle.code },
      { id: `bundle:${request.reference}:units`, debit_account_id: issue, credit_account_id: lot_id, amount: bundle.units, asset: SERVICE_ASSET[bundle.service], code: TransferCode.bundle_units, user_data: bundle.code },
    ]), 'bundle purchase');
    const lot: Lot = {
      id: lot_id, msisdn: request.msisdn, service: bundle.service, asset: SERVICE_ASSET[bundle.service], bundle_code: bundle.code,
      name: bundle.name, units: bundle.units, created_at: now, expires_at: now + BigInt(bundle.validity_s) * NS_PER_S, window: bundle.window,
      low_notified: false, expiry_notified: false, state: 'active',
    };
    this.track(lot);
    ctx.put(lotDocument(lot));
    return { result: 'ok', lot: this.view(ctx, lot), paid: { account_id: payer_id, asset: payer.asset, amount: payer.amount.toString() } };
  }

  private retried(ctx: CommandContext, lot: Lot, request: PurchaseRequest): PurchaseResult {
    if (lot.msisdn !== request.msisdn || lot.bundle_code !== request.bundle_code) {
      throw new RequestError('bundle_reference_conflict', { reference: request.reference });
    }
    const payment = ctx.transfer(`bundle:${request.reference}:pay`);
    assert.ok(payment, 'a purchased lot has its payment');
    return { result: 'exists', lot: this.view(ctx, lot), paid: { account_id: payment.debit_account_id, asset: payment.asset, amount: payment.amount.toString() } };
  }

  private payer(ctx: CommandContext, request: PurchaseRequest, bundle: Bundle): { id: string; asset: string; amount: bigint } {
    if (request.pay_from === 'airtime') {
      const id = airtimeId(request.msisdn, bundle.currency);
      const amount = bundle.price * AIRTIME_PER_MONEY_UNIT;
      const account = ctx.ledger.accounts.get(id);
      const balance = account ? available(account) : 0n;
      if (balance < amount) throw new RequestError('insufficient_airtime', { needed: amount.toString(), available: balance.toString(), asset: airtimeAsset(bundle.currency) });
      return { id, asset: airtimeAsset(bundle.currency), amount };
    }
    const account = request.wallet_id === undefined ? undefined : ctx.ledger.accounts.get(request.wallet_id);
    if (!account || account.asset !== bundle.currency) throw new RequestError('wallet_unavailable', { currency: bundle.currency });
    if (available(account) < bundle.price) {
      throw new RequestError('insufficient_wallet_balance', { needed: bundle.price.toString(), available: available(account).toString(), asset: bundle.currency });
    }
    return { id: account.id, asset: account.asset, amount: bundle.price };
  }

  /** Brings one legacy bucket over (in a command): airtime onto the line, a bundle as a lot. */
  importBucket(ctx: CommandContext, bucket: LegacyBucket, now: bigint): 'ok' | 'exists' {
    const transfer_id = `mig:${bucket.kind}:${bucket.id}`;
    if (ctx.transfer(transfer_id)) return 'exists';
    if (bucket.kind === 'airtime') {
      const currency = bucket.currency ?? 'USD';
      const source = ensureSystem(ctx, SYSTEM.migration, airtimeAsset(currency));
      const line = ensureAirtime(ctx, bucket.msisdn, currency);
      assertOk(ctx.createTransfers([{ id: transfer_id, debit_account_id: source, credit_account_id: line, amount: bucket.amount, asset: airtimeAsset(currency), code: TransferCode.migration_opening }]), 'legacy airtime');
      return 'ok';
    }
    const lot_id = bundleLotId(`m:${bucket.id}`);
    const asset = SERVICE_ASSET[bucket.kind];
    const source = ensureSystem(ctx, SYSTEM.migration, asset);
    ensureLot(ctx, lot_id, asset);
    assertOk(ctx.createTransfers([{ id: transfer_id, debit_account_id: source, credit_account_id: lot_id, amount: bucket.amount, asset, code: TransferCode.migration_opening }]), 'legacy bucket');
    const lot: Lot = {
      id: lot_id, msisdn: bucket.msisdn, service: bucket.kind, asset, bundle_code: null, name: bucket.bundle_name!, units: bucket.amount,
      created_at: now, expires_at: bucket.expires_at!, window: bucket.window ?? null, low_notified: false, expiry_notified: false, state: 'active',
    };
    this.track(lot);
    ctx.put(lotDocument(lot));
    return 'ok';
  }

  private track(lot: Lot): void {
    this.lots.set(lot.id, lot);
    const key = msisdnDigits(lot.msisdn);
    const line = this.byLine.get(key);
    if (line) line.push(lot);
    else this.byLine.set(key, [lot]);
    this.expiries.push({ expires_at: lot.expires_at, pending_id: lot.id });
    // A day before expiry, unless the lot lives less than a day (a daily bundle needs no warning).
    if (!lot.expiry_notified && lot.expires_at - DAY_NS > lot.created_at) this.notices.push({ expires_at: lot.expires_at - DAY_NS, pending_id: lot.id });
  }

  private untrack(lot: Lot): void {
    this.lots.delete(lot.id);
    const key = msisdnDigits(lot.msisdn);
    const rest = (this.byLine.get(key) ?? []).filter((other) => other !== lot);
    if (rest.length === 0) this.byLine.delete(key);
    else this.byLine.set(key, rest);
  }

  /** The next time something is due (an expiry or an expiry notice), for the module's timer. */
  nextDue(): bigint | undefined {
    const expiry = this.expiries.peek()?.expires_at;
    const notice = this.notices.peek()?.expires_at;
    if (expiry === undefined) return notice;
    if (notice === undefined) return expiry;
    return expiry < notice ? expiry : notice;
  }

  /** Runs due expiries and notices in a command, at most `limit` of them; answers how many. */
  runDue(ctx: CommandContext, now: bigint, limit: number): number {
    let done = 0;
    for (let top = this.expiries.peek(); top && top.expires_at <= now && done < limit; top = this.expiries.peek()) {
      this.expiries.pop();
      const lot = this.lots.get(top.pending_id);
      if (lot && lot.expires_at === top.expires_at) this.expire(ctx, lot);
      done += 1;
    }
    for (let top = this.notices.peek(); top && top.expires_at <= now && done < limit; top = this.notices.peek()) {
      this.notices.pop();
      const lot = this.lots.get(top.pending_id);
      if (lot && !lot.expiry_notified) this.noticeExpiry(ctx, lot);
      done += 1;
    }
    return done;
  }

  private expire(ctx: CommandContext, lot: Lot): void {
    const account = ctx.ledger.accounts.get(lot.id);
    assert.ok(account, `lot ${lot.id} has an account`);
    // Reservations never outlast their lot (their timeout stops at its expiry), so the ledger has
    // released them by now; any left would hold units past expiry, so they are voided first.
    if (account.debits_pending > 0n) {
      for (const pending of [...ctx.ledger.pending.values()].filter((p) => p.debit_account_id === lot.id)) {
        ctx.createTransfers([{ id: `void:${pending.id}`.slice(0, 64), pending_id: pending.id, flags: TransferFlag.void_pending_transfer }]);
      }
    }
    const remaining = available(account);
    if (remaining > 0n) {
      const sink = ensureSystem(ctx, SYSTEM.expiry, lot.asset);
      assertOk(ctx.createTransfers([{ id: `expire:${lot.id}`, debit_account_id: lot.id, credit_account_id: sink, amount: remaining, asset: lot.asset, code: TransferCode.bundle_expiry }]), 'lot expiry');
    }
    assert.equal(available(account), 0n, 'an expired lot holds nothing');
    lot.state = 'expired';
    this.untrack(lot);
    ctx.put(lotDocument(lot));
  }

  private noticeExpiry(ctx: CommandContext, lot: Lot): void {
    lot.expiry_notified = true;
    ctx.put(lotDocument(lot));
    const account = ctx.ledger.accounts.get(lot.id)!;
    if (available(account) === 0n) return;
    queueMessage(ctx, {
      id: `prepaid:expiring:${lot.id}`, msisdn: lot.msisdn, kind: 'bundle_expiry', language: this.languageOf(lot.msisdn),
      text: `Your ${lot.name} bundle expires on ${formatHarare(lot.expires_at).slice(0, 16).replace('T', ' ')}. ${available(account)} ${SERVICE_UNIT[lot.service]} left.`,
    }, new Date(Number(ctx.ledger.lastTimestamp / 1_000_000n)));
  }

  /** After usage from a lot: once what is left (posted) falls to 20% of its units, one low-balance notice. */
  checkLow(ctx: CommandContext, lot: Lot): void {
    if (lot.low_notified || lot.state !== 'active') return;
    const account = ctx.ledger.accounts.get(lot.id)!;
    const left = account.credits_posted - account.debits_posted;
    if (left * LOW_BALANCE_DIVISOR > lot.units) return;
    lot.low_notified = true;
    ctx.put(lotDocument(lot));
    queueMessage(ctx, {
      id: `prepaid:low:${lot.id}`, msisdn: lot.msisdn, kind: 'low_balance', language: this.languageOf(lot.msisdn),
      text: `Your ${lot.name} bundle is running low: ${left} ${SERVICE_UNIT[lot.service]} left.`,
    }, new Date(Number(ctx.ledger.lastTimestamp / 1_000_000n)));
  }

  lot(id: string): Lot | undefined {
    return this.lots.get(id);
  }

  /** For tests and verification: every active lot. */
  activeLots(): Lot[] {
    return [...this.lots.values()];
  }
}

/** The system account ids a line's prepaid history refers to, for documentation and reports. */
export function prepaidSystemIds(asset: string): string[] {
  return Object.values(SYSTEM).map((account) => systemId(account.name, asset));
}
