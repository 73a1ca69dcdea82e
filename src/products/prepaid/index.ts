// Prepaid's public surface: the module (its service API), its factory, and the types the USSD
// menus and the migration use.
export { PrepaidModule, prepaidModule, PREPAID_DEFAULTS, type PrepaidOptions, type AirtimeBalance, type LineBalances, type BuyBundleRequest } from './module.js';
export type { BundleJson, LotView, PurchaseResult, LegacyBucket, LotDocument } from './bundles.js';
export type { ChargingAnswer } from './charging.js';
export type { VoucherView, RedeemResult, BatchResult, LegacyVoucher, VoucherDocument } from './vouchers.js';
export { SERVICES, SERVICE_ASSET, DEFAULT_TARIFF, type Service, type Tariff, type Window } from './tariff.js';
