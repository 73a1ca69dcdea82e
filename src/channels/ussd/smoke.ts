// The parity smoke check (issue 8): each service the catalog carries is used as a customer uses
// it, every screen of its USSD journey to the final answer (PIN and confirmation included), on
// test accounts the check sets up itself; then what the journey did is looked up where it is
// recorded (the transaction, the wallet or airtime balance, the voucher, the bundle lot). A
// journey that breaks is reported with the screen that refused it, or the refusal.
//
// The test accounts: two subscribers on reserved numbers (the caller and a payee), a bank, an
// agent and a merchant, each named "Parity smoke ...", registered through mobile money the first
// time (idempotent after that). The caller's wallet is topped up to what a journey needs by a
// bank-to-wallet transfer from the smoke bank's trust account; nothing writes a balance. Its PIN
// is drawn at random once per process (the operator's reset first), so no one else knows it; the
// PIN-change journey changes it as any customer would, and a failed journey makes the next run
// set it afresh (a wrong PIN is never tried twice, so it cannot lock).
//
// Effects stay small and visible: USD 0.01 per money journey, every reference starting with
// smoke-. Each money transaction is reversed once checked (a cash-out is cancelled by the agent),
// so mari's own accounts that reconcile compares with legacy (fees, airtime sales) end where they
// were. A voucher of USD 0.01 airtime is issued and redeemed; a bundle purchase buys the cheapest
// bundle of its kind, which stays on the test line until it expires.
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { RequestError } from '../../errors/registry.js';
import { formatAmount } from '../../ledger/amount.js';
import { available, type Account } from '../../ledger/types.js';
import { airtimeId, bundleLotId, type Currency } from '../../products/accounts.js';
import type { Msisdn } from '../../products/msisdn.js';
import type { CatalogEntry } from './catalog.js';
import { referenceOf, type UssdEngine, type UssdRequest } from './engine.js';
import { FLOWS_BY_SERVICE, banksOnMenu, bundlesOnSale } from './flows.js';
import { servicesFrom, type BundleService, type MoneyOperations, type MoneyServices, type PrepaidOperations, type PrepaidServices } from './services.js';
import { TEXTS, say, type TextKey } from './texts.js';

/** The test accounts. The numbers are reserved: the check refuses to use one a customer holds. */
export const SMOKE = Object.freeze({
  caller: '+263780000001' as Msisdn,
  payee: '+263780000002' as Msisdn,
  caller_name: 'Parity smoke caller',
  payee_name: 'Parity smoke payee',
  bank: Object.freeze({ kind: 'bank', code: 'SMOKEBANK', name: 'Parity smoke bank' } as const),
  agent: Object.freeze({ kind: 'agent', code: 'SMOKEAGENT', name: 'Parity smoke agent' } as const),
  merchant: Object.freeze({ kind: 'merchant', code: 'SMOKESHOP', name: 'Parity smoke shop' } as const),
  currency: 'USD' as Currency,
  /** Minor units of `currency` each money journey moves: USD 0.01. */
  amount: 1n,
  /** Airtime units (scale 4) of the voucher the recharge journey redeems: USD 0.01 of airtime. */
  voucher_face_value: 100n,
});

const REVERSAL_REASON = 'parity smoke check: the test transaction given back';
/** A test voucher is redeemed within the same check; it lapses after a day if that failed. */
const VOUCHER_VALIDITY_MS = 86_400_000;
/** Airtime has two more decimal places than its money (as bundles and mobile money count it). */
const AIRTIME_PER_MONEY_UNIT = 100n;
/** What a screen shows above its prompt when the input before was not accepted. */
const NOTICE_KEYS: readonly TextKey[] = [
  'invalid_choice', 'invalid_amount', 'invalid_number', 'invalid_pin', 'pins_differ', 'not_registered', 'recipient_unknown', 'agent_unknown', 'merchant_unknown',
];
const NOTICES: ReadonlySet<string> = new Set(NOTICE_KEYS.flatMap((key) => Object.values(TEXTS[key])));
const NAV_LINES: ReadonlySet<string> = new Set(Object.values(TEXTS.nav));
/** Characters of a screen quoted in a reason. */
const QUOTE_LENGTH_MAX = 120;

export interface SmokeServices {
  money?: MoneyServices & MoneyOperations;
  prepaid?: PrepaidServices & PrepaidOperations;
}

export interface SmokeOutcome {
  ok: boolean;
  reason?: string;
}

/** The product modules with the operator calls the check makes on its own accounts. */
export function smokeServicesFrom(modules: ReadonlyMap<string, unknown>): SmokeServices {
  return servicesFrom(modules) as SmokeServices;
}

/** A money journey: what is typed after the menu key (the PIN follows), and what must come of it. */
interface MoneyJourney {
  inputs(bank: () => string): string[];
  /** The fee the caller pays on top of the amount (a merchant payment's fee is the merchant's). */
  fee?: 'p2p' | 'cash_out' | 'wallet_to_bank' | 'airtime';
  /** The caller's wallet is credited (bank to wallet) or debited. */
  credit?: boolean;
  /** The side of the record that names the counterpart, and who that must be. */
  side: 'to' | 'from';
  counterpart: string;
  /** A cash-out stays reserved until the agent acts: the check cancels it as the agent. */
  pending?: boolean;
}

const AMOUNT_TEXT = formatAmount(SMOKE.amount, 2);
/** The currency step's choice for SMOKE.currency (1 USD, 2 ZWG). */
const CURRENCY_CHOICE = '1';

const MONEY_JOURNEYS: Readonly<Record<string, MoneyJourney>> = {
  P2P: { inputs: () => [SMOKE.payee, CURRENCY_CHOICE, AMOUNT_TEXT], fee: 'p2p', side: 'to', counterpart: SMOKE.payee },
  AIRTIME_PURCHASE: { inputs: () => ['1', CURRENCY_CHOICE, AMOUNT_TEXT], fee: 'airtime', side: 'to', counterpart: SMOKE.caller },
  MERCHANT_PAYMENT: { inputs: () => [SMOKE.merchant.code, CURRENCY_CHOICE, AMOUNT_TEXT], side: 'to', counterpart: SMOKE.merchant.code },
  CASH_OUT: { inputs: () => [SMOKE.agent.code, CURRENCY_CHOICE, AMOUNT_TEXT], fee: 'cash_out', side: 'to', counterpart: SMOKE.agent.code, pending: true },
  BANK_TO_WALLET: { inputs: (bank) => [bank(), CURRENCY_CHOICE, AMOUNT_TEXT], credit: true, side: 'from', counterpart: SMOKE.bank.code },
  WALLET_TO_BANK: { inputs: (bank) => [bank(), CURRENCY_CHOICE, AMOUNT_TEXT], fee: 'wallet_to_bank', side: 'to', counterpart: SMOKE.bank.code },
};

/** Why a journey did not pass; becomes the reason of the outcome. */
class SmokeFailure extends Error {}

function fail(reason: string): never {
  throw new SmokeFailure(reason);
}

/** Runs `work`, naming what was being done when a service refused it. */
async function step<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof RequestError) fail(`${what}: ${error.code} (${error.message})`);
    throw error;
  }
}

export class SmokeCheck {
  /** The caller's PIN as this process set it; undefined until set, and after a failed journey. */
  private pin: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: { engine: UssdEngine; services: SmokeServices; accounts: ReadonlyMap<string, Account> }) {}

  /** One service's journey, one at a time: every journey uses the same test accounts and PIN. */
  run(item: CatalogEntry): Promise<SmokeOutcome> {
    const next = this.queue.then(() => this.runNow(item));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runNow(item: CatalogEntry): Promise<SmokeOutcome> {
    const flow = FLOWS_BY_SERVICE.get(item.service);
    if (!flow) return { ok: false, reason: 'no menu flow implements it' };
    const missing = flow.needs.filter((name) => this.options.services[name] === undefined);
    if (missing.length > 0) return { ok: false, reason: `the ${missing.join(' and ')} module is not running` };
    try {
      await this.journey(item, flow.sells);
      return { ok: true };
    } catch (error) {
      // The PIN may be what broke (changed half-way, refused): the next run sets it afresh.
      this.pin = undefined;
      if (error instanceof SmokeFailure) return { ok: false, reason: error.message };
      if (error instanceof RequestError) return { ok: false, reason: `${error.code} (${error.message})` };
      throw error;
    }
  }

  private async journey(item: CatalogEntry, sells: BundleService | undefined): Promise<void> {
    const money = MONEY_JOURNEYS[item.service];
    if (money) return this.moneyJourney(item, money);
    if (sells) return this.bundleJourney(item, sells);
    switch (item.service) {
      case 'BALANCE': return this.balanceJourney(item);
      case 'MINI_STATEMENT': return this.statementJourney(item);
      case 'CHANGE_PIN': return this.pinJourney(item);
      case 'VOUCHER_RECHARGE': return this.voucherJourney(item);
      case 'AIRTIME_BALANCE': return this.airtimeBalanceJourney(item);
      case 'BUNDLE_BALANCE': return this.bundleBalanceJourney(item);
      default: fail(`the smoke check has no journey for ${item.service}`);
    }
  }

  // ---- journeys ----

  private async moneyJourney(item: CatalogEntry, journey: MoneyJourney): Promise<void> {
    const money = this.money();
    await this.setUp(money);
    const fee = journey.fee ? money.tariff.fee(journey.fee, SMOKE.currency, SMOKE.amount) : 0n;
    if (!journey.credit) await this.fund(money, SMOKE.currency, SMOKE.amount + fee);
    const wallet = this.walletOf(money, SMOKE.currency);
    const airtime = airtimeId(SMOKE.caller, SMOKE.currency);
    const before = { wallet: this.balance(wallet), airtime: this.balance(airtime) };
    const { reply, reference } = await this.drive(item, [...journey.inputs(() => this.bankChoice(money)), this.currentPin()]);
    const tx = await money.transaction(reference);
    if (!tx) fail(`the menu answered ${quote(reply)} and no transaction was recorded`);
    const status = journey.pending ? 'pending' : 'completed';
    if (tx.status !== status) fail(`the transaction ${reference} is ${tx.status}, not ${status}; the menu answered ${quote(reply)}`);
    if (tx.amount !== SMOKE.amount.toString() || tx.currency !== SMOKE.currency || tx[journey.side] !== journey.counterpart) {
      fail(`the transaction ${reference} recorded ${tx.currency} ${tx.amount} ${journey.side} ${tx[journey.side]}, not what the journey asked`);
    }
    const paid = journey.fee ? BigInt(tx.fee) : 0n;
    this.expectMoved('the test wallet', wallet, before.wallet, journey.credit ? SMOKE.amount : -(SMOKE.amount + paid));
    if (item.service === 'AIRTIME_PURCHASE') this.expectMoved('the test line\'s airtime', airtime, before.airtime, SMOKE.amount * AIRTIME_PER_MONEY_UNIT);
    await this.giveBack(money, { reference, pending: journey.pending === true });
  }

  /** Reverses the checked transaction (a cash-out: the agent cancels it), so only the smoke accounts keep a trace. */
  private async giveBack(money: MoneyServices & MoneyOperations, tx: { reference: string; pending: boolean }): Promise<void> {
    if (tx.pending) {
      const cancelled = await step(`cancelling the test cash-out ${tx.reference}`, () => money.cancelCashOut({ agent: SMOKE.agent.code, reference: tx.reference }));
      if (cancelled.status !== 'cancelled') fail(`the test cash-out ${tx.reference} is ${cancelled.status} after the agent cancelled it`);
      return;
    }
    await step(`reversing the test transaction ${tx.reference}`, () => money.reverse({ original: tx.reference, reason: REVERSAL_REASON, reference: `${tx.reference}-r` }));
  }

  private async bundleJourney(item: CatalogEntry, kind: BundleService): Promise<void> {
    const prepaid = this.prepaid();
    const money = this.options.services.money;
    const list = bundlesOnSale(prepaid, kind);
    const cheapest = [...list].sort((a, b) => (BigInt(a.price) < BigInt(b.price) ? -1 : BigInt(a.price) > BigInt(b.price) ? 1 : 0))[0];
    if (!cheapest) {
      await this.drive(item, []); // stops at the menu's own words for an empty list
      fail(`no ${kind} bundle is on sale`);
    }
    const choice = String(list.indexOf(cheapest) + 1);
    const price = BigInt(cheapest.price);
    let account: string;
    let inputs: string[];
    let cost: bigint;
    if (money) {
      // Paid from the wallet, as most customers pay, with the PIN.
      await this.setUp(money);
      await this.fund(money, cheapest.currency, price);
      [account, cost, inputs] = [this.walletOf(money, cheapest.currency), price, [choice, '2', this.currentPin()]];
    } else {
      // No wallets on this platform: paid from airtime, topped up with a test voucher.
      [account, cost, inputs] = [airtimeId(SMOKE.caller, cheapest.currency), price * AIRTIME_PER_MONEY_UNIT, [choice, '1', '1']];
      await this.fundAirtime(prepaid, cheapest.currency, cost);
    }
    const before = this.balance(account);
    const { reply, reference } = await this.drive(item, inputs);
    const lots = await prepaid.bundleBalances(SMOKE.caller);
    if (!lots.some((lot) => lot.lot_id === bundleLotId(`b:${reference}`))) fail(`the menu answered ${quote(reply)} and no ${kind} bundle was sold`);
    this.expectMoved(money ? 'the test wallet' : 'the test line\'s airtime', account, before, -cost);
  }

  private async balanceJourney(item: CatalogEntry): Promise<void> {
    const money = this.money();
    await this.setUp(money);
    const { reply } = await this.drive(item, [this.currentPin()]);
    this.expectAnswer(reply, ['balance_title']);
    const shown = `${SMOKE.currency} ${formatAmount(this.balance(this.walletOf(money, SMOKE.currency)), 2)}`;
    if (!reply.split('\n').includes(shown)) fail(`the balance screen does not show the test wallet's ${shown}: ${quote(reply)}`);
  }

  private async statementJourney(item: CatalogEntry): Promise<void> {
    await this.setUp(this.money());
    const { reply } = await this.drive(item, [this.currentPin()]);
    this.expectAnswer(reply, ['statement_title', 'statement_empty']);
  }

  private async pinJourney(item: CatalogEntry): Promise<void> {
    const money = this.money();
    await this.setUp(money);
    const old = this.currentPin();
    let next = randomPin();
    while (next === old) next = randomPin();
    const { reply } = await this.drive(item, [old, next, next]);
    this.expectAnswer(reply, ['done_pin']);
    this.pin = next;
    await step('checking the new PIN', () => money.verifyPin(SMOKE.caller, next));
  }

  private async voucherJourney(item: CatalogEntry): Promise<void> {
    const prepaid = this.prepaid();
    const voucher = await this.issueVoucher(prepaid, SMOKE.voucher_face_value, SMOKE.currency);
    const line = airtimeId(SMOKE.caller, SMOKE.currency);
    const before = this.balance(line);
    const { reply } = await this.drive(item, [voucher.pin]);
    const after = await step(`reading the test voucher ${voucher.serial}`, () => prepaid.voucher(voucher.serial));
    if (after.state !== 'used' || after.used_by !== SMOKE.caller) fail(`the test voucher ${voucher.serial} is ${after.state} after the menu answered ${quote(reply)}`);
    this.expectMoved('the test line\'s airtime', line, before, SMOKE.voucher_face_value);
  }

  private async airtimeBalanceJourney(item: CatalogEntry): Promise<void> {
    const { reply } = await this.drive(item, []);
    this.expectAnswer(reply, ['airtime_title']);
    const shown = `${SMOKE.currency} ${formatAmount(this.balance(airtimeId(SMOKE.caller, SMOKE.currency)), 4)}`;
    if (!reply.split('\n').includes(shown)) fail(`the airtime screen does not show the test line's ${shown}: ${quote(reply)}`);
  }

  private async bundleBalanceJourney(item: CatalogEntry): Promise<void> {
    const { reply } = await this.drive(item, []);
    this.expectAnswer(reply, ['bundles_title', 'bundles_empty']);
  }

  // ---- the menu ----

  /**
   * Dials the item's short code on a fresh session and types the key, then the inputs, one screen
   * at a time as an aggregator sends them. Every screen before the last must ask for more without
   * a complaint about the input before; the last must end the session. Answers the final text.
   */
  private async drive(item: CatalogEntry, inputs: readonly string[]): Promise<{ reply: string; reference: string }> {
    const request = { sessionId: `smoke-${randomUUID()}`, serviceCode: item.short_code, phoneNumber: SMOKE.caller };
    const typed = [...item.key.split('.'), ...inputs];
    let screen = await this.answer(request, '');
    if (!screen.startsWith('CON ')) fail(`dialling ${item.short_code} answered ${quote(screen.slice(4))}`);
    for (let i = 1; i <= typed.length; i++) {
      const reply = await this.answer(request, typed.slice(0, i).join('*'));
      const notice = noticeOf(reply);
      if (notice !== undefined) fail(`${quote(promptOf(screen))} answered ${quote(notice)}`);
      if (reply.startsWith('END ') && i < typed.length) fail(`${quote(promptOf(screen))} ended the session: ${quote(reply.slice(4))}`);
      screen = reply;
    }
    if (!screen.startsWith('END ')) fail(`the journey stopped at ${quote(promptOf(screen))}`);
    return { reply: screen.slice(4), reference: referenceOf(request, { smoke: true }) };
  }

  private answer(request: Omit<UssdRequest, 'text'>, text: string): Promise<string> {
    return this.options.engine.answer({ ...request, text }, { smoke: true });
  }

  /** The final answer must be one of these texts (in the caller's language), not a refusal. */
  private expectAnswer(reply: string, keys: readonly TextKey[]): void {
    const language = this.options.engine.languageOf(SMOKE.caller);
    if (!keys.some((key) => reply.startsWith(say(language, key)))) fail(`the menu answered ${quote(reply)}`);
  }

  /** The test bank's number in the bank list (never another bank's: a real trust account is not the check's to move). */
  private bankChoice(money: MoneyServices): string {
    const banks = banksOnMenu(money);
    const index = banks.findIndex((bank) => bank.code === SMOKE.bank.code);
    if (index < 0) fail(`the smoke bank ${SMOKE.bank.code} is not among the ${banks.length} bank(s) the menu lists`);
    return String(index + 1);
  }

  // ---- the test accounts ----

  private async setUp(money: MoneyServices & MoneyOperations): Promise<void> {
    await this.subscriber(money, SMOKE.caller, SMOKE.caller_name);
    await this.subscriber(money, SMOKE.payee, SMOKE.payee_name);
    for (const business of [SMOKE.bank, SMOKE.agent, SMOKE.merchant]) await this.business(money, business);
    await this.ensurePin(money);
  }

  private async subscriber(money: MoneyServices & MoneyOperations, msisdn: Msisdn, name: string): Promise<void> {
    const holder = money.subscriberOf(msisdn);
    if (holder?.name === name) return;
    if (holder) fail(`the reserved number ${msisdn} is held by another subscriber: the smoke check will not use it`);
    await step(`registering the test subscriber ${msisdn}`, () => money.registerSubscriber({ msisdn, name, kyc_tier: 2, language: 'en' }));
  }

  private async business(money: MoneyServices & MoneyOperations, business: { kind: 'bank' | 'agent' | 'merchant'; code: string; name: string }): Promise<void> {
    const holder = money.findBusiness(business.code);
    if (holder?.kind === business.kind && holder.name === business.name) return;
    if (holder) fail(`the code ${business.code} is held by ${holder.name}: the smoke check will not use it`);
    const input = { code: business.code, name: business.name };
    await step(`registering the test ${business.kind} ${business.code}`, () => {
      switch (business.kind) {
        case 'bank': return money.registerBank(input);
        case 'agent': return money.registerAgent(input);
        case 'merchant': return money.registerMerchant(input);
      }
    });
  }

  /** Sets a fresh random PIN unless this process set the one in force (and it is not locked). */
  private async ensurePin(money: MoneyServices & MoneyOperations): Promise<void> {
    const state = money.pinState(SMOKE.caller);
    if (this.pin !== undefined && state.set && !state.locked) return;
    const pin = randomPin();
    if (state.set) await step('resetting the test caller\'s PIN', () => money.unlockPin({ msisdn: SMOKE.caller, reset: true }));
    await step('setting the test caller\'s PIN', () => money.setPin({ msisdn: SMOKE.caller, pin }));
    this.pin = pin;
  }

  private currentPin(): string {
    if (this.pin === undefined) fail('the test caller has no PIN set');
    return this.pin;
  }

  /** Tops the caller's wallet up to `need` from the smoke bank's trust account: a bank-to-wallet transfer. */
  private async fund(money: MoneyServices & MoneyOperations, currency: Currency, need: bigint): Promise<void> {
    const have = this.balance(this.walletOf(money, currency));
    if (have >= need) return;
    await step(`funding the test wallet from ${SMOKE.bank.code}`, () => money.bankToWallet({
      bank: SMOKE.bank.code, to: SMOKE.caller, amount: need - have, currency, reference: `smoke-fund-${randomBytes(8).toString('hex')}`,
    }));
  }

  /** Tops the caller's line up to `need` airtime with a test voucher (redeemed directly, not through the menu). */
  private async fundAirtime(prepaid: PrepaidServices & PrepaidOperations, currency: Currency, need: bigint): Promise<void> {
    const have = this.balance(airtimeId(SMOKE.caller, currency));
    if (have >= need) return;
    const voucher = await this.issueVoucher(prepaid, need - have, currency);
    await step('topping the test line up with a voucher', () => prepaid.redeemVoucher({ msisdn: SMOKE.caller, pin: voucher.pin }));
  }

  /**
   * A batch of one voucher, made the way an operator makes any batch. The printer's file is the
   * only copy of its PIN: the check reads its one card and removes the file at once.
   */
  private async issueVoucher(prepaid: PrepaidOperations, face_value: bigint, currency: Currency): Promise<{ serial: string; pin: string }> {
    const expires_at = BigInt(Date.now() + VOUCHER_VALIDITY_MS) * 1_000_000n;
    const batch = await step('issuing a test voucher', () => prepaid.createVoucherBatch({ face_value, currency, count: 1, expires_at }));
    try {
      const pin = fs.readFileSync(batch.file, 'utf8').split('\n')[1]?.split(',')[1];
      if (pin === undefined) fail(`the test voucher batch's file ${batch.file} lists no PIN`);
      return { serial: batch.first_serial, pin };
    } finally {
      fs.rmSync(batch.file, { force: true });
    }
  }

  private walletOf(money: MoneyServices & MoneyOperations, currency: Currency): string {
    return money.walletOf(SMOKE.caller, currency) ?? fail(`the test caller ${SMOKE.caller} has no active ${currency} wallet`);
  }

  /** Available balance of an account (0 for one not created yet, as a line's first airtime is). */
  private balance(id: string): bigint {
    const account = this.options.accounts.get(id);
    return account ? available(account) : 0n;
  }

  private expectMoved(what: string, id: string, before: bigint, expected: bigint): void {
    const moved = this.balance(id) - before;
    if (moved !== expected) fail(`${what} moved by ${moved} minor units, not ${expected}`);
  }

  private money(): MoneyServices & MoneyOperations {
    return this.options.services.money ?? fail('the money module is not running');
  }

  private prepaid(): PrepaidServices & PrepaidOperations {
    return this.options.services.prepaid ?? fail('the prepaid module is not running');
  }
}

/** A 6-digit PIN mobile money accepts: not all one digit, ascending or descending (each keeps one step, 0, 1 or 9, between digits). */
function randomPin(): string {
  for (;;) {
    const pin = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const first_step = (Number(pin[1]) - Number(pin[0]) + 10) % 10;
    if (first_step !== 0 && first_step !== 1 && first_step !== 9) return pin;
  }
}

function bodyLines(reply: string): string[] {
  return reply.slice(4).split('\n').filter((line) => !NAV_LINES.has(line));
}

/** The complaint a screen opens with when the input before it was not accepted. */
function noticeOf(reply: string): string | undefined {
  if (!reply.startsWith('CON ')) return undefined;
  const first = bodyLines(reply)[0];
  return first !== undefined && NOTICES.has(first) ? first : undefined;
}

/** What a screen asks (its first line after any complaint): how a reason names the screen. */
function promptOf(reply: string): string {
  return bodyLines(reply).find((line) => !NOTICES.has(line)) ?? reply.slice(4);
}

function quote(text: string): string {
  const flat = text.replace(/\n/g, ' | ');
  return `"${flat.length > QUOTE_LENGTH_MAX ? `${flat.slice(0, QUOTE_LENGTH_MAX - 1)}…` : flat}"`;
}
