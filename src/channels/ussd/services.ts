// What the USSD menus need from mobile money and prepaid, as the shapes those modules' service
// APIs have (`modules.get('money')`, `modules.get('prepaid')`). The menus depend on these shapes,
// not on the modules' insides; a service whose module is not on the platform is answered with a
// clear "not available" screen and listed by `unavailableServices`.
import type { Msisdn } from '../../products/msisdn.js';
import type { Language, Party } from '../../products/parties.js';

export type Currency = 'USD' | 'ZWG';

/** A money transaction as mobile money answers it (amounts in minor units, decimal strings). */
export interface MoneyTransactionView {
  reference: string;
  status: string;
  currency: Currency;
  amount: string;
  fee: string;
  to: string;
  balance: string | null;
  expires_at?: string;
}

export interface MoneyServices {
  readonly name: 'money';
  subscriberOf(msisdn: Msisdn): Party | undefined;
  findBusiness(code: string): Party | undefined;
  readonly parties: { values(): IterableIterator<Party> };
  readonly tariff: { fee(service: 'p2p' | 'cash_out' | 'merchant_payment' | 'wallet_to_bank' | 'airtime', currency: Currency, amount: bigint): bigint };
  verifyPin(msisdn: Msisdn, pin: string): Promise<void>;
  sendMoney(input: { from: string; to: string; amount: bigint; currency: string; pin: string; reference: string }): Promise<MoneyTransactionView>;
  cashOut(input: { from: string; agent: string; amount: bigint; currency: string; pin: string; reference: string }): Promise<MoneyTransactionView>;
  payMerchant(input: { from: string; merchant: string; amount: bigint; currency: string; pin: string; reference: string }): Promise<MoneyTransactionView>;
  bankToWallet(input: { bank: string; to: string; amount: bigint; currency: string; reference: string }): Promise<MoneyTransactionView>;
  walletToBank(input: { from: string; bank: string; amount: bigint; currency: string; pin: string; reference: string }): Promise<MoneyTransactionView>;
  buyAirtime(input: { from: string; to?: string; amount: bigint; currency: string; pin: string; reference: string }): Promise<MoneyTransactionView>;
  balance(input: { msisdn: string; pin: string }): Promise<{ balances: { asset: string; available: bigint; scale: number }[] }>;
  miniStatement(input: { msisdn: string; pin: string }): Promise<{ text: string[] }>;
  setPin(input: { msisdn: string; pin: string; old_pin?: string }): Promise<void>;
}

export type BundleService = 'data' | 'voice' | 'sms';

export interface BundleView {
  code: string;
  name: string;
  service: BundleService;
  /** Minor units of `currency`. */
  price: string;
  currency: Currency;
  units: string;
  active: boolean;
}

export interface LotView {
  lot_id: string;
  service: BundleService;
  name: string;
  available: string;
  unit: string;
  expires_at: string;
}

export interface PrepaidServices {
  readonly name: 'prepaid';
  redeemVoucher(input: { msisdn: string; pin: string }): Promise<{ credited: string; asset: string; balance: string }>;
  airtimeBalance(msisdn: string): Promise<{ currency: Currency; asset: string; available: string }[]>;
  bundleBalances(msisdn: string): Promise<LotView[]>;
  listBundles(options?: { all?: boolean }): BundleView[];
  buyBundle(input: { msisdn: string; bundle_code: string; pay_from: 'airtime' | 'wallet'; reference: string; pin?: string }): Promise<{ result: string; lot: LotView }>;
}

/**
 * What the parity smoke check (smoke.ts) also needs of mobile money: an operator's set-up of its
 * own test accounts, the record of what a journey did, and the give-back afterwards.
 */
export interface MoneyOperations {
  registerSubscriber(input: { msisdn: string; name: string; kyc_tier?: 0 | 1 | 2; language?: Language }): Promise<Party>;
  registerBank(input: { code: string; name: string }): Promise<Party>;
  registerAgent(input: { code: string; name: string }): Promise<Party>;
  registerMerchant(input: { code: string; name: string }): Promise<Party>;
  walletOf(msisdn: Msisdn, currency: Currency): string | undefined;
  pinState(msisdn: string): { set: boolean; locked: boolean; failures: number };
  unlockPin(input: { msisdn: string; reset?: boolean }): Promise<unknown>;
  transaction(reference: string): Promise<(MoneyTransactionView & { service: string; from: string }) | undefined>;
  reverse(input: { original: string; reason: string; reference: string }): Promise<MoneyTransactionView>;
  cancelCashOut(input: { agent: string; reference: string }): Promise<MoneyTransactionView>;
}

/** What the parity smoke check also needs of prepaid: a voucher batch of its own, and a voucher's state. */
export interface PrepaidOperations {
  createVoucherBatch(input: { face_value: bigint; currency: Currency; count: number; expires_at: bigint }): Promise<{ first_serial: string; file: string }>;
  voucher(serial: string): Promise<{ state: string; used_by: string | null }>;
}

export interface UssdServices {
  money?: MoneyServices;
  prepaid?: PrepaidServices;
}

/** The product modules on the platform, by the names they register under. */
export function servicesFrom(modules: ReadonlyMap<string, unknown>): UssdServices {
  return {
    money: modules.get('money') as MoneyServices | undefined,
    prepaid: modules.get('prepaid') as PrepaidServices | undefined,
  };
}
