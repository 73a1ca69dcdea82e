// The prepaid module: what a NetOne or Econet prepaid line has (main airtime, data, voice and SMS
// bundles, voucher recharge, real-time charging), as one service API that the HTTP routes, the
// USSD menus (*405#, *171#) and the migration call. Every write is a writer command: its checks,
// transfers and documents commit together.
import type { Config } from '../../config.js';
import { RequestError } from '../../errors/registry.js';
import { available } from '../../ledger/types.js';
import type { ModuleFactory, ProductModule } from '../../platform.js';
import type { LedgerHandle } from '../../store/open.js';
import type { CommandContext } from '../../store/writer.js';
import { CURRENCIES, airtimeAsset, airtimeId, type Currency } from '../accounts.js';
import { requireMsisdn, type Msisdn } from '../msisdn.js';
import type { Language } from '../parties.js';
import type { WalletDirectory } from '../wallets.js';
import { Bundles, REFERENCE_PATTERN, bundleJson, parseBundle, type BundleJson, type LegacyBucket, type LotView, type PurchaseResult } from './bundles.js';
import { Charging, type ChargingAnswer } from './charging.js';
import { prepaidRoutes } from './routes.js';
import { DEFAULT_TARIFF, SERVICE_ASSET, type Service, type Tariff, type Window } from './tariff.js';
import { Vouchers, loadSecret, type BatchResult, type LegacyVoucher, type RedeemResult, type VoucherView } from './vouchers.js';

export interface PrepaidOptions {
  tariff: Tariff;
  /** Longest validity of a charging grant, seconds. */
  grant_validity_s: number;
  /** How long a terminated session still answers a retried terminate, seconds. */
  closed_session_keep_s: number;
  /** scrypt cost of voucher PIN hashes (a power of two). */
  voucher_scrypt_cost: number;
  /** Wrong voucher PINs from one MSISDN within the window that block further tries, and for how long. */
  voucher_tries_max: number;
  voucher_tries_window_s: number;
  voucher_block_s: number;
  /** Whether the module runs due expiries on its own timer (tests with a controllable clock call runDue). */
  timer: boolean;
}

export const PREPAID_DEFAULTS: Readonly<PrepaidOptions> = Object.freeze({
  tariff: DEFAULT_TARIFF,
  grant_validity_s: 300,
  closed_session_keep_s: 600,
  voucher_scrypt_cost: 4096,
  voucher_tries_max: 5,
  voucher_tries_window_s: 3_600,
  voucher_block_s: 3_600,
  timer: true,
});

/** Due expiries handled per command, so one commit stays small. */
const DUE_PER_COMMAND = 1_000;
/** The timer looks at least this often (ms): the next expiry may come from a lot bought meanwhile. */
const TICK_MAX_MS = 1_000;

export interface AirtimeBalance {
  currency: Currency;
  asset: string;
  account_id: string;
  /** What can be spent now: posted minus reserved by sessions in progress. */
  available: string;
  reserved: string;
}

export interface LineBalances {
  msisdn: Msisdn;
  airtime: AirtimeBalance[];
  bundles: LotView[];
}

export interface BuyBundleRequest {
  msisdn: string;
  bundle_code: string;
  pay_from: 'airtime' | 'wallet';
  /** Idempotency key of the purchase: 1 to 48 letters, digits, dots, dashes or underscores. */
  reference: string;
  /** The subscriber's wallet PIN, checked through mobile money when paying from the wallet. */
  pin?: string;
}

export class PrepaidModule implements ProductModule {
  readonly name = 'prepaid';
  readonly bundles: Bundles;
  readonly charging: Charging;
  readonly vouchers: Vouchers;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private closed = false;

  constructor(
    readonly handle: LedgerHandle,
    readonly options: Readonly<PrepaidOptions>,
    context: { dataDir: string; wallets?: WalletDirectory },
  ) {
    this.wallets = context.wallets;
    this.bundles = new Bundles((msisdn) => this.languageOf(msisdn));
    this.charging = new Charging(this.bundles, { tariff: options.tariff, validity_s: options.grant_validity_s, closed_keep_s: options.closed_session_keep_s });
    this.vouchers = new Vouchers(handle, loadSecret(context.dataDir), {
      dataDir: context.dataDir, scrypt_cost: options.voucher_scrypt_cost, tries_max: options.voucher_tries_max,
      tries_window_s: options.voucher_tries_window_s, block_s: options.voucher_block_s,
    });
  }

  private readonly wallets: WalletDirectory | undefined;

  /** Loads catalog, lots, sessions and voucher tries from the documents, then starts the expiry timer. */
  async start(): Promise<this> {
    await this.bundles.load(this.handle.store);
    await this.charging.load(this.handle.store, this.handle.ledger);
    await this.vouchers.load();
    if (this.options.timer) this.tick();
    return this;
  }

  private languageOf(msisdn: Msisdn): Language {
    return this.wallets?.subscriberOf(msisdn)?.language ?? 'en';
  }

  // --- vouchers ---

  /** Redeems a 16-digit voucher PIN for a line: its face value as airtime, once. */
  async redeemVoucher(input: { msisdn: string; pin: string }): Promise<RedeemResult> {
    return this.vouchers.redeem(requireMsisdn(input.msisdn), input.pin);
  }

  /** Operator: a batch of vouchers; the PINs go only to the returned file (CSV, mode 0600). */
  createVoucherBatch(input: { face_value: bigint; currency: Currency; count: number; expires_at: bigint }): Promise<BatchResult> {
    return this.vouchers.createBatch(input);
  }

  /** A voucher's state, face value and who used it when, by serial. */
  voucher(serial: string): Promise<VoucherView> {
    return this.vouchers.find(serial);
  }

  blockVoucher(serial: string): Promise<VoucherView> {
    return this.vouchers.block(serial);
  }

  unblockVoucher(serial: string): Promise<VoucherView> {
    return this.vouchers.unblock(serial);
  }

  /** Migration: one legacy voucher (plaintext PIN hashed on the way in). Idempotent by serial. */
  async importLegacyVoucher(voucher: Omit<LegacyVoucher, 'used_by'> & { used_by: string | null }): Promise<'ok' | 'exists'> {
    const used_by = voucher.used_by === null ? null : requireMsisdn(voucher.used_by, 'used_by');
    return this.vouchers.importLegacy({ ...voucher, used_by });
  }

  // --- balances ---

  /** Main airtime of a line in each currency (zero where it has none yet). */
  async airtimeBalance(msisdn_input: string): Promise<AirtimeBalance[]> {
    return (await this.balances(msisdn_input)).airtime;
  }

  /** Bundle lots of a line usable now (not expired), soonest expiry first. */
  async bundleBalances(msisdn_input: string): Promise<LotView[]> {
    return (await this.balances(msisdn_input)).bundles;
  }

  /**
   * Airtime and bundles of a line, read inside the writer (so at one instant of the ledger clock,
   * with expired lots left out) and answered once that state is durable.
   */
  async balances(msisdn_input: string): Promise<LineBalances> {
    const msisdn = requireMsisdn(msisdn_input);
    return this.handle.writer.execute({ run: (ctx) => this.balancesNow(ctx, msisdn) });
  }

  balancesNow(ctx: Pick<CommandContext, 'ledger'>, msisdn: Msisdn): LineBalances {
    const now = ctx.ledger.now();
    const airtime = CURRENCIES.map((currency) => {
      const account = ctx.ledger.accounts.get(airtimeId(msisdn, currency));
      return {
        currency, asset: airtimeAsset(currency), account_id: airtimeId(msisdn, currency),
        available: account ? available(account).toString() : '0', reserved: account ? account.debits_pending.toString() : '0',
      };
    });
    const lots = this.bundles.lotsOf(msisdn, now).sort((a, b) => (a.expires_at < b.expires_at ? -1 : a.expires_at > b.expires_at ? 1 : 0));
    return { msisdn, airtime, bundles: lots.map((lot) => this.bundles.view(ctx, lot)) };
  }

  // --- bundles ---

  /** The catalog: active bundles (all with `all`), by code. */
  listBundles(options: { all?: boolean } = {}): BundleJson[] {
    return this.bundles.list(options).map(bundleJson);
  }

  /** Operator: adds or replaces a bundle. Lots already sold keep the terms they were sold with. */
  async putBundle(input: Omit<BundleJson, 'active'> & { active?: boolean }): Promise<BundleJson> {
    const bundle = parseBundle(input);
    await this.handle.writer.execute({ run: (ctx) => this.bundles.putBundle(ctx, bundle) });
    return bundleJson(bundle);
  }

  /** Operator: stops selling a bundle (lots sold stay valid until they expire). */
  async retireBundle(code: string): Promise<BundleJson> {
    return bundleJson(await this.handle.writer.execute({
      run: (ctx) => {
        const bundle = this.bundles.bundle(code);
        if (!bundle) throw new RequestError('bundle_not_found', { bundle_code: code });
        const retired = { ...bundle, active: false };
        this.bundles.putBundle(ctx, retired);
        return retired;
      },
    }));
  }

  /** Buys a bundle from the line's airtime or the subscriber's wallet: price debited, a new lot credited. */
  async buyBundle(input: BuyBundleRequest): Promise<PurchaseResult> {
    const msisdn = requireMsisdn(input.msisdn);
    if (!REFERENCE_PATTERN.test(input.reference)) throw new RequestError('invalid_request', { field: 'reference' });
    let wallet_id: string | undefined;
    if (input.pay_from === 'wallet') {
      const bundle = this.bundles.bundle(input.bundle_code);
      if (!bundle) throw new RequestError('bundle_not_found', { bundle_code: input.bundle_code });
      wallet_id = this.wallets?.walletOf(msisdn, bundle.currency);
      if (wallet_id === undefined) throw new RequestError('wallet_unavailable', { currency: bundle.currency });
      if (input.pin !== undefined) await this.wallets!.verifyPin(msisdn, input.pin);
    }
    const reference = input.reference;
    return this.handle.writer.execute({
      ids: [`bundle:${reference}:pay`, `bundle:${reference}:units`],
      run: (ctx) => this.bundles.purchase(ctx, { msisdn, bundle_code: input.bundle_code, pay_from: input.pay_from, reference, wallet_id }, ctx.ledger.now()),
    });
  }

  /**
   * Migration: one legacy prepaid bucket (main airtime, or a data/voice/SMS bundle with its name and
   * expiry), credited from the migration opening account. Idempotent by bucket id.
   */
  async importLegacyBucket(input: Omit<LegacyBucket, 'msisdn'> & { msisdn: string }): Promise<'ok' | 'exists'> {
    const msisdn = requireMsisdn(input.msisdn);
    const invalid = (field: string): never => {
      throw new RequestError('legacy_bucket_invalid', { field, id: String(input.id).slice(0, 48) });
    };
    if (typeof input.id !== 'string' || !REFERENCE_PATTERN.test(input.id)) invalid('id');
    if (!['airtime', ...Object.keys(SERVICE_ASSET)].includes(input.kind)) invalid('kind');
    if (typeof input.amount !== 'bigint' || input.amount <= 0n) invalid('amount');
    if (input.kind === 'airtime' && input.currency !== undefined && !(CURRENCIES as readonly string[]).includes(input.currency)) invalid('currency');
    if (input.kind !== 'airtime') {
      if (typeof input.bundle_name !== 'string' || input.bundle_name.trim() === '' || input.bundle_name.length > 40) invalid('bundle_name');
      if (input.expires_at === undefined || input.expires_at <= this.handle.ledger.now()) invalid('expires_at');
    }
    return this.handle.writer.execute({
      ids: [`mig:${input.kind}:${input.id}`],
      run: (ctx) => this.bundles.importBucket(ctx, { ...input, msisdn }, ctx.ledger.now()),
    });
  }

  // --- charging ---

  /** CCR-Initial: reserves a first grant for a service; credit_limit_reached if nothing is left. */
  async chargingInitial(input: { session_id: string; request_number: number; msisdn: string; service: Service; requested_units?: bigint }): Promise<ChargingAnswer> {
    const msisdn = requireMsisdn(input.msisdn);
    return this.handle.writer.execute({ run: (ctx) => this.charging.initial(ctx, { ...input, msisdn }) });
  }

  /** CCR-Update: commits the units used, replaces the reservation with a new grant. */
  async chargingUpdate(input: { session_id: string; request_number: number; used_units: bigint; requested_units?: bigint }): Promise<ChargingAnswer> {
    const answer = await this.handle.writer.execute({ ids: this.charging.idsFor(input.session_id), run: (ctx) => this.charging.update(ctx, input) });
    if (answer === 'expired') throw new RequestError('session_expired', { session_id: input.session_id });
    return answer;
  }

  /** CCR-Terminate: commits the final usage and releases the rest of the reservation. */
  async chargingTerminate(input: { session_id: string; request_number: number; used_units: bigint }): Promise<ChargingAnswer> {
    const answer = await this.handle.writer.execute({ ids: this.charging.idsFor(input.session_id), run: (ctx) => this.charging.terminate(ctx, input) });
    if (answer === 'expired') throw new RequestError('session_expired', { session_id: input.session_id });
    return answer;
  }

  // --- expiry ---

  /**
   * Runs everything due at the ledger clock's now: lot expiries (remaining units to the expiry
   * account), bundle-expiry notices, lapsed sessions. The timer calls it; tests with a
   * controllable clock call it directly. Answers how many items it handled.
   */
  runDue(): Promise<number> {
    this.running ??= this.drainDue().finally(() => (this.running = undefined));
    return this.running;
  }

  private async drainDue(): Promise<number> {
    let total = 0;
    for (;;) {
      // Pending reservations released by the ledger first, so a lot's expiry sees them gone.
      await this.handle.writer.expireNow();
      const done = await this.handle.writer.execute({
        run: (ctx) => {
          const now = ctx.ledger.now();
          const lots = this.bundles.runDue(ctx, now, DUE_PER_COMMAND);
          return lots + this.charging.runDue(ctx, now, DUE_PER_COMMAND);
        },
      });
      total += done;
      if (done < DUE_PER_COMMAND) return total;
    }
  }

  private nextDue(): bigint | undefined {
    const a = this.bundles.nextDue();
    const b = this.charging.nextDue();
    if (a === undefined) return b;
    if (b === undefined) return a;
    return a < b ? a : b;
  }

  private tick(): void {
    if (this.closed) return;
    const next = this.nextDue();
    const now = this.handle.ledger.now();
    if (next !== undefined && next <= now && !this.handle.writer.failed) {
      this.runDue().catch(() => undefined).finally(() => this.tick());
      return;
    }
    const wait_ms = next === undefined ? TICK_MAX_MS : Math.max(1, Math.min(TICK_MAX_MS, Number((next - now) / 1_000_000n) + 1));
    this.timer = setTimeout(() => this.tick(), wait_ms);
    this.timer.unref();
  }

  routes() {
    return prepaidRoutes(this);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}

/** The platform factory: after mobile money, whose module (when present) is the wallet directory. */
export const prepaidModule: ModuleFactory = async ({ handle, config, modules }) => {
  const money = modules.get('money') as (ProductModule & Partial<WalletDirectory>) | undefined;
  const wallets = money && typeof money.walletOf === 'function' ? (money as unknown as WalletDirectory) : undefined;
  return new PrepaidModule(handle, PREPAID_DEFAULTS, { dataDir: (config as Readonly<Config>).data_dir, wallets }).start();
};

export type { Window };
