// What each catalog service does once chosen: the inputs it asks for (each checked as it is
// typed, so a mistake is shown on the same screen), the confirmation (amount, fee and recipient
// name before the PIN), and the one service call that completes it. Nothing is called on the
// services until the last input, so a half-finished session changes nothing; the call carries the
// session's reference, so a resent last request cannot complete it twice.
import { RequestError } from '../../errors/registry.js';
import { formatAmount } from '../../ledger/amount.js';
import { maskMsisdn, normalizeMsisdn, type Msisdn } from '../../products/msisdn.js';
import type { Language, Party } from '../../products/parties.js';
import { formatHarare } from '../../time.js';
import { refusalText, say, type TextKey } from './texts.js';
import type { BundleService, BundleView, Currency, MoneyServices, PrepaidServices, UssdServices } from './services.js';

export interface FlowContext {
  language: Language;
  msisdn: Msisdn;
  services: UssdServices;
  /** The service call's idempotency key, one per session. */
  reference: string;
  /** Accepted inputs so far, by step id. */
  values: Record<string, string>;
}

export type Accepted = { value: string } | { error: string };

export interface Step {
  id: string;
  prompt(context: FlowContext): string;
  accept(input: string, context: FlowContext): Accepted;
  /** Not asked in this case (e.g. the other number when buying airtime for oneself). */
  skip?(context: FlowContext): boolean;
}

export type Finish = 'pin' | 'confirm' | 'now';

export interface Flow {
  service: string;
  /** The modules it calls; without them the service answers "not available". */
  needs: readonly ('money' | 'prepaid')[];
  /** Whether the caller must hold a mobile money account. */
  subscriber: boolean;
  /** The service a maintenance switch closes it under (the cutover kit's names); absent for reads, which stay open. */
  writes?: string;
  steps: readonly Step[];
  finish(context: FlowContext): Finish;
  /** Lines shown above "Enter PIN to confirm" or "1 Confirm". */
  summary?(context: FlowContext): string[];
  /** Completes the service; the END text. Throws RequestError for a refusal. */
  run(context: FlowContext, pin: string | undefined): Promise<string>;
  /** Bundle purchases: the kind of bundle the flow sells. */
  sells?: BundleService;
}

const PIN = /^[0-9]{4,6}$/;
const AMOUNT = /^([0-9]{1,9})(?:\.([0-9]{1,2}))?$/;

function money(context: FlowContext): MoneyServices {
  const found = context.services.money;
  if (!found) throw new Error('flow needs money');
  return found;
}

function prepaid(context: FlowContext): PrepaidServices {
  const found = context.services.prepaid;
  if (!found) throw new Error('flow needs prepaid');
  return found;
}

export function shown(amount: bigint | string, currency: string): string {
  return `${currency} ${formatAmount(BigInt(amount), 2)}`;
}

/** "5", "5.5" and "5.50" are five dollars fifty; the answer is minor units. */
export function parseMoney(input: string): bigint | undefined {
  const match = AMOUNT.exec(input.trim());
  if (!match) return undefined;
  const minor = BigInt(match[1]) * 100n + BigInt((match[2] ?? '').padEnd(2, '0'));
  return minor > 0n ? minor : undefined;
}

function invalid(context: FlowContext, key: TextKey): Accepted {
  return { error: say(context.language, key) };
}

const currencyStep: Step = {
  id: 'currency',
  prompt: (c) => say(c.language, 'choose_currency'),
  accept: (input, c) => (input === '1' ? { value: 'USD' } : input === '2' ? { value: 'ZWG' } : invalid(c, 'invalid_choice')),
};

const amountStep: Step = {
  id: 'amount',
  prompt: (c) => say(c.language, 'enter_amount', { currency: c.values.currency }),
  accept(input, c) {
    const minor = parseMoney(input);
    return minor === undefined ? invalid(c, 'invalid_amount') : { value: minor.toString() };
  },
};

const recipientStep: Step = {
  id: 'to',
  prompt: (c) => say(c.language, 'enter_number'),
  accept(input, c) {
    const msisdn = normalizeMsisdn(input);
    if (!msisdn) return invalid(c, 'invalid_number');
    if (!money(c).subscriberOf(msisdn)) return invalid(c, 'recipient_unknown');
    return { value: msisdn };
  },
};

function businessStep(options: { id: 'agent' | 'merchant'; prompt: TextKey; unknown: TextKey }): Step {
  return {
    id: options.id,
    prompt: (c) => say(c.language, options.prompt),
    accept(input, c) {
      const party = money(c).findBusiness(input.trim().toUpperCase());
      if (!party || party.kind !== options.id || party.status !== 'active') return invalid(c, options.unknown);
      return { value: party.code! };
    },
  };
}

/** The banks the bank step lists, in order (the smoke check picks its own bank's number from it). */
export function banksOnMenu(services: MoneyServices): Party[] {
  return [...services.parties.values()].filter((p) => p.kind === 'bank' && p.status === 'active').sort((a, b) => (a.code! < b.code! ? -1 : 1)).slice(0, 8);
}

function banks(c: FlowContext): Party[] {
  return banksOnMenu(money(c));
}

const bankStep: Step = {
  id: 'bank',
  prompt(c) {
    const list = banks(c);
    if (list.length === 0) return say(c.language, 'no_banks');
    return [say(c.language, 'choose_bank'), ...list.map((bank, i) => `${i + 1} ${bank.name.slice(0, 18)}`)].join('\n');
  },
  accept(input, c) {
    const bank = banks(c)[Number(input) - 1];
    return /^[1-9]$/.test(input) && bank ? { value: bank.code! } : invalid(c, 'invalid_choice');
  },
};

function pinStep(id: string, prompt: TextKey): Step {
  return { id, prompt: (c) => say(c.language, prompt), accept: (input, c) => (PIN.test(input) ? { value: input } : invalid(c, 'invalid_pin')) };
}

function nameOf(c: FlowContext, code: string): string {
  return money(c).findBusiness(code)?.name ?? code;
}

function amountOf(c: FlowContext): string {
  return shown(c.values.amount, c.values.currency);
}

function feeLine(c: FlowContext, service: 'p2p' | 'cash_out' | 'merchant_payment' | 'wallet_to_bank' | 'airtime'): string {
  const fee = money(c).tariff.fee(service, c.values.currency as Currency, BigInt(c.values.amount));
  return say(c.language, 'fee', { fee: shown(fee, c.values.currency) });
}

function balanceOf(c: FlowContext, tx: { balance: string | null; currency: string }): string {
  return tx.balance === null ? '-' : shown(tx.balance, tx.currency);
}

const airtimeForStep: Step = {
  id: 'for',
  prompt: (c) => say(c.language, 'airtime_for'),
  accept: (input, c) => (input === '1' ? { value: 'self' } : input === '2' ? { value: 'other' } : invalid(c, 'invalid_choice')),
};

/** The other number, asked only when buying for someone else (skipped by accepting the caller's own). */
const airtimeNumberStep: Step = {
  id: 'beneficiary',
  skip: (c) => c.values.for !== 'other',
  prompt: (c) => say(c.language, 'enter_number'),
  accept(input, c) {
    const msisdn = normalizeMsisdn(input);
    return msisdn && msisdn.startsWith('+263') ? { value: msisdn } : invalid(c, 'invalid_number');
  },
};

function beneficiary(c: FlowContext): Msisdn {
  return (c.values.for === 'other' ? c.values.beneficiary : c.msisdn) as Msisdn;
}

const FLOWS: Flow[] = [
  {
    service: 'P2P', writes: 'send_money', needs: ['money'], subscriber: true,
    steps: [recipientStep, currencyStep, amountStep],
    finish: () => 'pin',
    summary: (c) => [
      say(c.language, 'confirm_send', { amount: amountOf(c), name: money(c).subscriberOf(c.values.to as Msisdn)?.name ?? '', msisdn: maskMsisdn(c.values.to as Msisdn) }),
      feeLine(c, 'p2p'),
    ],
    async run(c, pin) {
      const tx = await money(c).sendMoney({ from: c.msisdn, to: c.values.to, amount: BigInt(c.values.amount), currency: c.values.currency, pin: pin!, reference: c.reference });
      const name = money(c).subscriberOf(c.values.to as Msisdn)?.name ?? maskMsisdn(c.values.to as Msisdn);
      return say(c.language, 'done_send', { amount: shown(tx.amount, tx.currency), name, fee: shown(tx.fee, tx.currency), balance: balanceOf(c, tx), ref: tx.reference });
    },
  },
  {
    service: 'AIRTIME_PURCHASE', writes: 'airtime', needs: ['money'], subscriber: true,
    steps: [airtimeForStep, airtimeNumberStep, currencyStep, amountStep],
    finish: () => 'pin',
    summary: (c) => [say(c.language, 'confirm_airtime', { amount: amountOf(c), msisdn: maskMsisdn(beneficiary(c)) }), feeLine(c, 'airtime')],
    async run(c, pin) {
      const tx = await money(c).buyAirtime({ from: c.msisdn, to: beneficiary(c), amount: BigInt(c.values.amount), currency: c.values.currency, pin: pin!, reference: c.reference });
      return say(c.language, 'done_airtime', { amount: shown(tx.amount, tx.currency), msisdn: maskMsisdn(beneficiary(c)), balance: balanceOf(c, tx), ref: tx.reference });
    },
  },
  {
    service: 'MERCHANT_PAYMENT', writes: 'merchant', needs: ['money'], subscriber: true,
    steps: [businessStep({ id: 'merchant', prompt: 'enter_merchant', unknown: 'merchant_unknown' }), currencyStep, amountStep],
    finish: () => 'pin',
    summary: (c) => [say(c.language, 'confirm_merchant', { amount: amountOf(c), name: nameOf(c, c.values.merchant), code: c.values.merchant }), feeLine(c, 'merchant_payment')],
    async run(c, pin) {
      const tx = await money(c).payMerchant({ from: c.msisdn, merchant: c.values.merchant, amount: BigInt(c.values.amount), currency: c.values.currency, pin: pin!, reference: c.reference });
      return say(c.language, 'done_merchant', { amount: shown(tx.amount, tx.currency), name: nameOf(c, c.values.merchant), fee: shown(tx.fee, tx.currency), balance: balanceOf(c, tx), ref: tx.reference });
    },
  },
  {
    service: 'CASH_OUT', writes: 'cash', needs: ['money'], subscriber: true,
    steps: [businessStep({ id: 'agent', prompt: 'enter_agent', unknown: 'agent_unknown' }), currencyStep, amountStep],
    finish: () => 'pin',
    summary: (c) => [say(c.language, 'confirm_cash_out', { amount: amountOf(c), name: nameOf(c, c.values.agent), code: c.values.agent }), feeLine(c, 'cash_out')],
    async run(c, pin) {
      const tx = await money(c).cashOut({ from: c.msisdn, agent: c.values.agent, amount: BigInt(c.values.amount), currency: c.values.currency, pin: pin!, reference: c.reference });
      const until = tx.expires_at ? formatHarare(BigInt(Date.parse(tx.expires_at)) * 1_000_000n).slice(11, 16) : '-';
      return say(c.language, 'done_cash_out', { amount: shown(tx.amount, tx.currency), name: nameOf(c, c.values.agent), until, ref: tx.reference });
    },
  },
  {
    service: 'BANK_TO_WALLET', writes: 'bank', needs: ['money'], subscriber: true,
    steps: [bankStep, currencyStep, amountStep],
    finish: () => 'pin',
    summary: (c) => [say(c.language, 'confirm_bank_in', { amount: amountOf(c), name: nameOf(c, c.values.bank) }), say(c.language, 'fee', { fee: shown(0n, c.values.currency) })],
    async run(c, pin) {
      // The bank pulls on the customer's instruction: the PIN is the customer's consent.
      await money(c).verifyPin(c.msisdn, pin!);
      const tx = await money(c).bankToWallet({ bank: c.values.bank, to: c.msisdn, amount: BigInt(c.values.amount), currency: c.values.currency, reference: c.reference });
      return say(c.language, 'done_bank', { amount: shown(tx.amount, tx.currency), balance: balanceOf(c, { balance: tx.balance ?? null, currency: tx.currency }), ref: tx.reference });
    },
  },
  {
    service: 'WALLET_TO_BANK', writes: 'bank', needs: ['money'], subscriber: true,
    steps: [bankStep, currencyStep, amountStep],
    finish: () => 'pin',
    summary: (c) => [say(c.language, 'confirm_bank_out', { amount: amountOf(c), name: nameOf(c, c.values.bank) }), feeLine(c, 'wallet_to_bank')],
    async run(c, pin) {
      const tx = await money(c).walletToBank({ from: c.msisdn, bank: c.values.bank, amount: BigInt(c.values.amount), currency: c.values.currency, pin: pin!, reference: c.reference });
      return say(c.language, 'done_bank', { amount: shown(tx.amount, tx.currency), balance: balanceOf(c, tx), ref: tx.reference });
    },
  },
  {
    service: 'BALANCE', needs: ['money'], subscriber: true, steps: [], finish: () => 'pin',
    async run(c, pin) {
      const { balances } = await money(c).balance({ msisdn: c.msisdn, pin: pin! });
      const lines = balances.map((line) => `${line.asset.replace('AIRTIME_', 'Airtime ')} ${formatAmount(line.available, line.scale)}`);
      return [say(c.language, 'balance_title'), ...lines].join('\n');
    },
  },
  {
    service: 'MINI_STATEMENT', needs: ['money'], subscriber: true, steps: [], finish: () => 'pin',
    async run(c, pin) {
      const { text } = await money(c).miniStatement({ msisdn: c.msisdn, pin: pin! });
      if (text.length === 0) return say(c.language, 'statement_empty');
      return fit([say(c.language, 'statement_title'), ...text]);
    },
  },
  {
    service: 'CHANGE_PIN', writes: 'send_money', needs: ['money'], subscriber: true,
    steps: [
      pinStep('old_pin', 'enter_old_pin'),
      pinStep('new_pin', 'enter_new_pin'),
      {
        id: 'repeat_pin', prompt: (c) => say(c.language, 'repeat_new_pin'),
        accept: (input, c) => (input === c.values.new_pin ? { value: input } : invalid(c, 'pins_differ')),
      },
    ],
    finish: () => 'now',
    async run(c) {
      await money(c).setPin({ msisdn: c.msisdn, pin: c.values.new_pin, old_pin: c.values.old_pin });
      return say(c.language, 'done_pin');
    },
  },
  {
    service: 'VOUCHER_RECHARGE', writes: 'vouchers', needs: ['prepaid'], subscriber: false,
    steps: [{
      id: 'voucher', prompt: (c) => say(c.language, 'enter_voucher'),
      accept: (input, c) => (/^[0-9]{16}$/.test(input.replace(/\s/g, '')) ? { value: input.replace(/\s/g, '') } : invalid(c, 'invalid_number')),
    }],
    finish: () => 'now',
    async run(c) {
      const redeemed = await prepaid(c).redeemVoucher({ msisdn: c.msisdn, pin: c.values.voucher });
      const currency = redeemed.asset.replace('AIRTIME_', '');
      return say(c.language, 'done_voucher', { amount: `${currency} ${formatAmount(BigInt(redeemed.credited), 4)}`, balance: `${currency} ${formatAmount(BigInt(redeemed.balance), 4)}` });
    },
  },
  {
    service: 'AIRTIME_BALANCE', needs: ['prepaid'], subscriber: false, steps: [], finish: () => 'now',
    async run(c) {
      const lines = (await prepaid(c).airtimeBalance(c.msisdn)).map((line) => `${line.currency} ${formatAmount(BigInt(line.available), 4)}`);
      return [say(c.language, 'airtime_title'), ...lines].join('\n');
    },
  },
  bundleFlow('DATA_BUNDLE_PURCHASE', 'data'),
  bundleFlow('VOICE_BUNDLE_PURCHASE', 'voice'),
  bundleFlow('SMS_BUNDLE_PURCHASE', 'sms'),
  {
    service: 'BUNDLE_BALANCE', needs: ['prepaid'], subscriber: false, steps: [], finish: () => 'now',
    async run(c) {
      const lots = await prepaid(c).bundleBalances(c.msisdn);
      if (lots.length === 0) return say(c.language, 'bundles_empty');
      return fit([say(c.language, 'bundles_title'), ...lots.map((lot) => `${lot.name.slice(0, 20)}: ${lot.available} ${lot.unit} ${harareDay(lot.expires_at)}`)]);
    },
  },
];

/** The bundles of one kind on sale, as many as a screen holds, in the order the bundle step lists them. */
export function bundlesOnSale(services: PrepaidServices, service: BundleService): BundleView[] {
  return services.listBundles().filter((bundle) => bundle.service === service && bundle.active).slice(0, 6);
}

function bundlesOf(c: FlowContext, service: BundleService): BundleView[] {
  return bundlesOnSale(prepaid(c), service);
}

function bundleFlow(id: string, service: BundleService): Flow {
  const chosen = (c: FlowContext) => bundlesOf(c, service).find((bundle) => bundle.code === c.values.bundle)!;
  return {
    service: id, writes: 'bundles', needs: ['prepaid'], subscriber: false, sells: service,
    steps: [
      {
        id: 'bundle',
        prompt(c) {
          const list = bundlesOf(c, service);
          if (list.length === 0) return say(c.language, 'no_bundles');
          return [say(c.language, 'choose_bundle'), ...list.map((b, i) => `${i + 1} ${b.name.slice(0, 16)} ${shown(b.price, b.currency)}`)].join('\n');
        },
        accept(input, c) {
          const bundle = bundlesOf(c, service)[Number(input) - 1];
          return /^[1-9]$/.test(input) && bundle ? { value: bundle.code } : invalid(c, 'invalid_choice');
        },
      },
      {
        id: 'pay_from', prompt: (c) => say(c.language, 'pay_from'),
        accept(input, c) {
          if (input === '1') return { value: 'airtime' };
          if (input !== '2') return invalid(c, 'invalid_choice');
          // Paying from a wallet needs a mobile money account (and its PIN).
          return c.services.money?.subscriberOf(c.msisdn) ? { value: 'wallet' } : invalid(c, 'not_registered');
        },
      },
    ],
    finish: (c) => (c.values.pay_from === 'wallet' ? 'pin' : 'confirm'),
    summary(c) {
      const bundle = chosen(c);
      return [say(c.language, 'confirm_bundle', { name: bundle.name, amount: shown(bundle.price, bundle.currency), source: say(c.language, c.values.pay_from === 'wallet' ? 'wallet' : 'airtime') })];
    },
    async run(c, pin) {
      const bought = await prepaid(c).buyBundle({
        msisdn: c.msisdn, bundle_code: c.values.bundle, pay_from: c.values.pay_from as 'airtime' | 'wallet', reference: c.reference,
        ...(pin === undefined ? {} : { pin }),
      });
      return say(c.language, 'done_bundle', { name: bought.lot.name, available: bought.lot.available, unit: bought.lot.unit, until: harareDay(bought.lot.expires_at) });
    },
  };
}

/** "23/11 21:00" in Harare time, from an ISO instant or nanoseconds. */
function harareDay(at: string): string {
  const ns = /^[0-9]+$/.test(at) ? BigInt(at) : BigInt(Date.parse(at)) * 1_000_000n;
  const text = formatHarare(ns);
  return `${text.slice(8, 10)}/${text.slice(5, 7)} ${text.slice(11, 16)}`;
}

export const SCREEN_LENGTH_MAX = 182;

/** Drops trailing lines until the text fits one screen. */
export function fit(lines: string[], max = SCREEN_LENGTH_MAX): string {
  const kept = [...lines];
  while (kept.length > 1 && kept.join('\n').length > max) kept.pop();
  return kept.join('\n').slice(0, max);
}

export const FLOWS_BY_SERVICE: ReadonlyMap<string, Flow> = new Map(FLOWS.map((flow) => [flow.service, flow]));

/** A refusal from a service as the customer reads it. */
export function refusal(language: Language, error: unknown): string | undefined {
  if (!(error instanceof RequestError)) return undefined;
  return refusalText(language, error.code, error.message);
}
