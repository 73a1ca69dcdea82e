// Mobile money: parties (subscribers, agents, merchants, banks), PINs, and the services a
// customer uses every day, each one writer command that checks, moves money with linked
// transfers, counts limits, records the transaction under its client reference and queues the
// customer's SMS, all in one commit. Channels (HTTP, USSD) call the methods below; nothing here
// knows about HTTP.
//
// The shape of every service call:
//   1. validate the input and find the parties (fast refusals, nothing written);
//   2. a reference seen before answers its first result (or reference_reused);
//   3. check the PIN outside the writer (slow hash), counting a wrong one in its own command;
//   4. in the writer: check again what could have changed, then limits, funds and caps, then
//      transfers, documents and the outbox message; throw only before the first write.
//
// The service API (amounts bigint minor units; every call rejects with a RequestError whose
// `code` is in src/errors/money.ts and whose message is fit for a USSD screen):
//   customer, with PIN:  sendMoney, cashOut, payMerchant, walletToBank, buyAirtime, balance,
//                        miniStatement, setPin (first time, or with old_pin), verifyPin
//   agent / bank:        cashIn, completeCashOut, cancelCashOut, bankToWallet, buyFloat
//   operator:            registerSubscriber, updateSubscriber, registerAgent, registerMerchant,
//                        registerBank, updateBusiness, unlockPin, reverse
//   lookups:             subscriberOf, walletOf, findSubscriber, findBusiness, pinState,
//                        transaction (by reference)
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { RequestError } from '../../errors/registry.js';
import { formatAmount } from '../../ledger/amount.js';
import { expiryId } from '../../ledger/ledger.js';
import { AccountFlag, TransferFlag, available, type Account, type AccountInput, type Transfer, type TransferInput } from '../../ledger/types.js';
import { IdFilter } from '../../store/bloom.js';
import type { LedgerHandle } from '../../store/open.js';
import type { Store } from '../../store/store.js';
import type { CommandContext } from '../../store/writer.js';
import type { ProductModule } from '../../platform.js';
import type { Route } from '../../channels/http/routes.js';
import { moneyRoutes } from './routes.js';
import {
  AccountCode, CURRENCIES, agentCommissionId, agentFloatId, airtimeAccount, airtimeAsset, airtimeId, bankSettlementId,
  merchantTillId, systemId, walletId, type Currency,
} from '../accounts.js';
import { maskMsisdn, normalizeMsisdn, requireMsisdn, type Msisdn } from '../msisdn.js';
import { queueMessage } from '../outbox.js';
import { LANGUAGES, PartyDirectory, partyDocument, type Language, type Party, type PartyKind, type PartyStatus } from '../parties.js';
import type { WalletDirectory } from '../wallets.js';
import { checkBalanceCap, currentUsage, spend, USAGE, usageDocument, usageFromDocument, usageKey, type Usage } from './limits.js';
import { noticeText, shortHarare, type NoticeKind } from './messages.js';
import { checkNewPin, hashPin, PIN_TRIES_MAX, pinDocument, pinFromDocument, pinMatches, PINS, VerifiedPins, type PinRecord } from './pins.js';
import {
  STATEMENT_LINES, TRANSACTIONS, TransferCode, transactionDocument, transactionFromDocument,
  type Leg, type MoneyTransaction, type Service, type StatementLine,
} from './records.js';
import { Tariff, type FeeService, type KycTier } from './tariff.js';
import { TXN_TYPE_CODE, txnFeeId, txnTransferId } from '../../cutover/formats.js';

export const REFERENCE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;
/**
 * Legacy transaction types an operator may reverse once migrated: a movement between two
 * parties and its fee. Not airtime (the line keeps what it was credited in legacy), commission
 * or a reversal.
 */
const MIGRATED_SERVICE: ReadonlyMap<number, Service> = new Map([
  [TXN_TYPE_CODE.P2P, 'p2p'], [TXN_TYPE_CODE.CASHIN, 'cash_in'], [TXN_TYPE_CODE.CASHOUT, 'cash_out'],
  [TXN_TYPE_CODE.MERCHANT, 'merchant_payment'], [TXN_TYPE_CODE.BANK_IN, 'bank_to_wallet'], [TXN_TYPE_CODE.BANK_OUT, 'wallet_to_bank'],
]);
const CODE_PATTERN = /^[A-Za-z0-9]{2,16}$/;
const NAME_LENGTH_MAX = 80;
/** Money has scale 2, airtime scale 4: one cent buys 100 airtime units. */
const AIRTIME_UNITS_PER_MINOR = 100n;
const TRANSACTIONS_IN_MEMORY_MAX = 500_000;
/** Wallet history read for a mini statement: enough for 5 transactions of up to 4 legs each, and a few holds. */
const STATEMENT_HISTORY_MAX = 40;

export interface MoneyOptions {
  tariff: Tariff;
  /** Wall clock for limits' calendar days and message times; tests pass their own. */
  clock?: () => Date;
  /** How long an agent has to complete a cash-out before the reservation lapses. */
  cash_out_timeout_s?: number;
  /** How often lapsed cash-outs are closed and their usage given back (0: only when asked). */
  expired_cash_out_sweep_ms?: number;
}

/** Amounts are bigint minor units; `reference` is the client's idempotency key (see REFERENCE_PATTERN). */
export interface SendMoney { from: string; to: string; amount: bigint; currency: string; pin: string; reference: string }
export interface CashIn { agent: string; to: string; amount: bigint; currency: string; reference: string }
export interface CashOut { from: string; agent: string; amount: bigint; currency: string; pin: string; reference: string }
export interface AgentAction { agent: string; reference: string }
export interface PayMerchant { from: string; merchant: string; amount: bigint; currency: string; pin: string; reference: string }
export interface BankToWallet { bank: string; to: string; amount: bigint; currency: string; reference: string }
export interface WalletToBank { from: string; bank: string; amount: bigint; currency: string; pin: string; reference: string }
/** `to` defaults to the payer's own number. */
export interface BuyAirtime { from: string; to?: string; amount: bigint; currency: string; pin: string; reference: string }
export interface FloatPurchase { bank: string; agent: string; amount: bigint; currency: string; reference: string }
export interface Reverse { original: string; reason: string; reference: string }

export interface NewSubscriber { msisdn: string; name: string; kyc_tier?: KycTier; language?: Language }
export interface SubscriberChange { status?: PartyStatus; kyc_tier?: KycTier; language?: Language; name?: string }
export interface NewBusiness { code: string; name: string; msisdn?: string | null }

export interface BalanceLine { asset: string; account_id: string; available: bigint; scale: number }
export interface StatementView { msisdn: Msisdn; lines: StatementLine[]; text: string[] }

interface Payee { party: Party; wallet: string }
interface Plan {
  service: Service;
  reference: string;
  /** What the request asked (without the PIN), for reference_reused. */
  fields: Record<string, string>;
  pin?: { party: Party; pin: string };
  ids: string[];
  run(ctx: CommandContext, now: Date): MoneyTransaction;
}

export class MoneyModule implements ProductModule, WalletDirectory {
  readonly name = 'money';
  private readonly verified = new VerifiedPins();
  private readonly clock: () => Date;
  private readonly cash_out_timeout_s: number;

  private constructor(
    private readonly handle: LedgerHandle,
    readonly tariff: Tariff,
    readonly parties: PartyDirectory,
    private readonly pins: Map<string, PinRecord>,
    private readonly usage: Map<string, Usage>,
    private references: IdFilter,
    options: MoneyOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.cash_out_timeout_s = options.cash_out_timeout_s ?? 600;
    if (options.expired_cash_out_sweep_ms !== 0) {
      this.sweepTimer = setInterval(() => void this.closeExpiredCashOuts().catch(() => undefined), options.expired_cash_out_sweep_ms ?? 60_000);
      this.sweepTimer.unref();
    }
  }

  private readonly sweepTimer: NodeJS.Timeout | undefined;

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
  }

  /**
   * Transactions by reference, as their recorded JSON: every one this process wrote, and older ones
   * once looked up. One string each, not an object graph, leaves the collector little to copy and trace.
   */
  private readonly transactions = new Map<string, string>();

  /** Loads parties, PINs and usage counters. */
  static async open(handle: LedgerHandle, options: MoneyOptions): Promise<MoneyModule> {
    const parties = await PartyDirectory.load(handle.store);
    const pins = new Map<string, PinRecord>();
    for await (const doc of handle.store.documents(PINS)) pins.set(doc.key, pinFromDocument(doc));
    const usage = new Map<string, Usage>();
    for await (const doc of handle.store.documents(USAGE)) usage.set(doc.key, usageFromDocument(doc));
    return new MoneyModule(handle, options.tariff, parties, pins, usage, await loadReferences(handle.store), options);
  }

  /** The HTTP routes (routes.ts), listed in /openapi.json like the ledger's. */
  routes(): Route[] {
    return moneyRoutes(this);
  }

  // ---- mari's own party and accounts ----

  /**
   * mari's own accounts (fees, commissions, airtime sales per currency, airtime issue per airtime
   * asset) and its party, created by the first command that needs them rather than at start,
   * so opening the platform writes nothing.
   */
  private ensureSystem(ctx: CommandContext, ids: readonly string[]): void {
    if (ids.every((id) => !id.startsWith('system:') || this.handle.ledger.accounts.has(id))) return;
    const accounts: AccountInput[] = CURRENCIES.flatMap((c) => [
      { id: systemId('fees', c), asset: c, code: AccountCode.system_fees },
      { id: systemId('commissions', c), asset: c, code: AccountCode.system_commissions },
      { id: systemId('airtime_sales', c), asset: c, code: AccountCode.airtime_sales },
      { id: systemId('airtime_issue', airtimeAsset(c)), asset: airtimeAsset(c), code: AccountCode.airtime_issue },
    ]);
    const results = ctx.createAccounts(accounts);
    assert.ok(results.every((r) => r === 'ok' || r === 'exists'), `system accounts: ${results.join(',')}`);
    if (this.parties.get('system')) return;
    const party: Party = {
      id: 'system', kind: 'system', name: 'mari', status: 'active', msisdn: null, kyc_tier: 2, language: 'en', code: null,
      legacy: null, created_at: this.clock().toISOString(),
    };
    ctx.put(partyDocument(party));
    this.parties.set(party);
  }

  // ---- WalletDirectory (what prepaid and the channels use) ----

  subscriberOf(msisdn: Msisdn): Party | undefined {
    const party = this.parties.byNumber(msisdn, 'subscriber');
    return party?.status === 'active' ? party : undefined;
  }

  walletOf(msisdn: Msisdn, currency: Currency): string | undefined {
    const party = this.subscriberOf(msisdn);
    return party ? walletId(party.id, currency) : undefined;
  }

  async verifyPin(msisdn: Msisdn, pin: string): Promise<void> {
    await this.checkPin(this.subscriber(msisdn, 'payer'), pin);
  }

  // ---- parties ----

  /** Registers a subscriber and a wallet per currency in one commit. Registering the same number again with the same details answers the existing party. */
  async registerSubscriber(input: NewSubscriber): Promise<Party> {
    const msisdn = requireMsisdn(input.msisdn);
    const name = checkName(input.name);
    const kyc_tier = input.kyc_tier ?? 0;
    const language = input.language ?? 'en';
    if (![0, 1, 2].includes(kyc_tier) || !LANGUAGES.includes(language)) throw new RequestError('invalid_request', { field: 'kyc_tier or language' });
    return this.handle.writer.execute({
      run: (ctx) => {
        const existing = this.parties.byNumber(msisdn, 'subscriber') ?? this.parties.allByNumber(msisdn).find((p) => p.kind === 'subscriber' && p.status !== 'closed');
        if (existing) {
          if (existing.name === name && existing.kyc_tier === kyc_tier && existing.language === language) return existing;
          throw new RequestError('subscriber_exists');
        }
        const party: Party = {
          id: `sub-${newId()}`, kind: 'subscriber', name, status: 'active', msisdn, kyc_tier, language, code: null, legacy: null,
          created_at: this.clock().toISOString(),
        };
        this.createParty(ctx, party, partyAccounts(party));
        return party;
      },
    });
  }

  /** An agent with a float and a commission account per currency. */
  async registerAgent(input: NewBusiness): Promise<Party> {
    return this.registerBusiness('agent', input);
  }

  /** A merchant with a till per currency, paid by its short code. */
  async registerMerchant(input: NewBusiness): Promise<Party> {
    return this.registerBusiness('merchant', input);
  }

  /** A bank with a settlement (trust) account per currency. Unbounded: its debit balance is the e-money issued against the trust. */
  async registerBank(input: NewBusiness): Promise<Party> {
    return this.registerBusiness('bank', input);
  }

  private async registerBusiness(kind: PartyKind, input: NewBusiness): Promise<Party> {
    if (typeof input.code !== 'string' || !CODE_PATTERN.test(input.code)) throw new RequestError('invalid_request', { field: 'code', rule: '2 to 16 letters or digits' });
    const name = checkName(input.name);
    const msisdn = input.msisdn === undefined || input.msisdn === null ? null : requireMsisdn(input.msisdn);
    return this.handle.writer.execute({
      run: (ctx) => {
        const existing = this.parties.byShortCode(input.code);
        if (existing) {
          if (existing.kind === kind && existing.name === name && existing.msisdn === msisdn) return existing;
          throw new RequestError('party_exists');
        }
        const party: Party = {
          id: `${kind}-${input.code}`, kind, name, status: 'active', msisdn, kyc_tier: 2, language: 'en', code: input.code, legacy: null,
          created_at: this.clock().toISOString(),
        };
        this.createParty(ctx, party, partyAccounts(party));
        return party;
      },
    });
  }

  private createParty(ctx: CommandContext, party: Party, accounts: AccountInput[]): void {
    assert.ok(!this.parties.get(party.id), 'a new party id is new');
    const results = ctx.createAccounts(accounts.map((a, i) => ({ ...a, flags: (a.flags ?? 0) | (i < accounts.length - 1 ? AccountFlag.linked : 0) })));
    // A party's accounts are created with it; an existing one means another module used our naming.
    assert.ok(results.every((r) => r === 'ok'), `accounts of ${party.id}: ${results.join(',')}`);
    ctx.put(partyDocument(party));
    this.parties.set(party);
  }

  /** Changes a subscriber's status, tier, language or name. A closed account stays closed. */
  async updateSubscriber(msisdnInput: string, change: SubscriberChange): Promise<Party> {
    const msisdn = requireMsisdn(msisdnInput);
    if (change.name !== undefined) checkName(change.name);
    return this.handle.writer.execute({
      run: (ctx) => {
        const party = this.anySubscriber(msisdn);
        if (party.status === 'closed') throw new RequestError('party_closed');
        if (change.status === 'closed') this.requireEmpty(CURRENCIES.map((c) => walletId(party.id, c)));
        const updated: Party = { ...party, ...definedOnly(change) };
        ctx.put(partyDocument(updated));
        this.parties.set(updated);
        return updated;
      },
    });
  }

  /** Suspends, reactivates, closes or renames an agent, merchant or bank. A closed one stays closed. */
  async updateBusiness(kind: 'agent' | 'merchant' | 'bank', code: string, change: { status?: PartyStatus; name?: string }): Promise<Party> {
    if (change.name !== undefined) checkName(change.name);
    return this.handle.writer.execute({
      run: (ctx) => {
        const party = typeof code === 'string' ? this.parties.byShortCode(code) : undefined;
        if (!party || party.kind !== kind) throw new RequestError(`${kind}_not_found`);
        if (party.status === 'closed') throw new RequestError('party_closed');
        if (change.status === 'closed') this.requireEmpty(this.accountsOf(party));
        const updated: Party = { ...party, ...definedOnly(change) };
        ctx.put(partyDocument(updated));
        this.parties.set(updated);
        return updated;
      },
    });
  }

  /** A party's own money accounts (not a bank's trust account, which is the issuer's side). */
  private accountsOf(party: Party): string[] {
    if (party.kind === 'agent') return CURRENCIES.flatMap((c) => [agentFloatId(party.id, c), agentCommissionId(party.id, c)]);
    if (party.kind === 'merchant') return CURRENCIES.map((c) => merchantTillId(party.id, c));
    return [];
  }

  /** Closing an account that still holds money would strand it: refuse until it is paid out. */
  private requireEmpty(ids: readonly string[]): void {
    for (const id of ids) {
      const account = this.handle.ledger.accounts.get(id);
      if (account && (account.credits_posted !== account.debits_posted || account.debits_pending !== 0n || account.credits_pending !== 0n)) {
        throw new RequestError('balance_not_zero', { account_id: id });
      }
    }
  }

  /** The subscriber holding a number, whatever its status (for operators). */
  findSubscriber(msisdnInput: string): Party {
    return this.anySubscriber(requireMsisdn(msisdnInput));
  }

  /** An agent, merchant or bank by its short code. */
  findBusiness(code: string): Party | undefined {
    return this.parties.byShortCode(code);
  }

  private anySubscriber(msisdn: Msisdn): Party {
    const party = this.parties.byNumber(msisdn, 'subscriber')
      ?? this.parties.allByNumber(msisdn).find((p) => p.kind === 'subscriber' && p.status !== 'closed')
      ?? this.parties.allByNumber(msisdn).find((p) => p.kind === 'subscriber');
    if (!party) throw new RequestError('subscriber_not_found');
    return party;
  }

  // ---- PINs ----

  /**
   * Sets the subscriber's PIN. The first time needs no old PIN; after that, the old PIN (a wrong
   * one counts toward the lock like any other).
   */
  async setPin(input: { msisdn: string; pin: string; old_pin?: string }): Promise<void> {
    const party = this.subscriber(requireMsisdn(input.msisdn), 'payer');
    const pin = checkNewPin(input.pin);
    const before = this.pins.get(party.id);
    if (before && input.old_pin === undefined) throw new RequestError('pin_already_set');
    if (before) await this.checkPin(party, input.old_pin!);
    const expected = this.pins.get(party.id);
    const record = await hashPin(party.id, pin, this.clock());
    await this.handle.writer.execute({
      run: (ctx) => {
        // Another change (a lock, a concurrent set) came in between: this one was decided on stale state.
        if (this.pins.get(party.id) !== expected) throw new RequestError(this.pins.get(party.id)?.locked ? 'pin_locked' : 'pin_already_set');
        this.writePin(ctx, record);
      },
    });
  }

  /** Operator: clears the failure count and the lock; with `reset`, removes the PIN so the subscriber sets a new one. */
  async unlockPin(input: { msisdn: string; reset?: boolean }): Promise<{ pin: 'unlocked' | 'reset' }> {
    const party = this.anySubscriber(requireMsisdn(input.msisdn));
    return this.handle.writer.execute({
      run: (ctx) => {
        const record = this.pins.get(party.id);
        if (!record) throw new RequestError('pin_not_set');
        if (input.reset) {
          ctx.put({ ...pinDocument(record), value: null });
          this.pins.delete(party.id);
          this.verified.forget(party.id);
          return { pin: 'reset' as const };
        }
        this.writePin(ctx, { ...record, failures: 0, locked: false, updated_at: this.clock().toISOString() });
        return { pin: 'unlocked' as const };
      },
    });
  }

  /** Whether a subscriber's PIN is set and locked: for operators and channels (never the PIN or its hash). */
  pinState(msisdnInput: string): { set: boolean; locked: boolean; failures: number } {
    const record = this.pins.get(this.anySubscriber(requireMsisdn(msisdnInput)).id);
    return { set: record !== undefined, locked: record?.locked ?? false, failures: record?.failures ?? 0 };
  }

  private writePin(ctx: CommandContext, record: PinRecord): void {
    ctx.put(pinDocument(record));
    this.pins.set(record.party_id, record);
    this.verified.forget(record.party_id);
  }

  /**
   * Checks a PIN. Slow work happens here, outside the writer; a wrong PIN is counted (and the
   * PIN locked on the third in a row) by a command, then refused with pin_wrong (tries left) or
   * pin_locked. A correct one clears the count and upgrades a legacy MD5 hash.
   */
  private async checkPin(party: Party, pin: string): Promise<void> {
    const record = this.pins.get(party.id);
    if (!record) throw new RequestError('pin_not_set');
    if (record.locked) throw new RequestError('pin_locked');
    const now_ms = this.clock().getTime();
    const known = typeof pin === 'string' ? this.verified.check(party.id, pin, now_ms) : false;
    const matches = known ?? await pinMatches(record, pin);
    if (matches) return this.pinAccepted(record, pin, now_ms, known === true);
    const outcome = await this.handle.writer.execute({
      run: (ctx) => {
        const current = this.pins.get(party.id);
        if (!current) return { locked: false, tries_left: PIN_TRIES_MAX, unset: true };
        if (current.locked) return { locked: true, tries_left: 0, unset: false };
        const failures = current.failures + 1;
        const locked = failures >= PIN_TRIES_MAX;
        this.writePin(ctx, { ...current, failures, locked, updated_at: locked ? this.clock().toISOString() : current.updated_at });
        return { locked, tries_left: PIN_TRIES_MAX - failures, unset: false };
      },
    });
    if (outcome.unset) throw new RequestError('pin_not_set');
    if (outcome.locked) throw new RequestError('pin_locked');
    throw new RequestError('pin_wrong', { tries_left: outcome.tries_left });
  }

  private async pinAccepted(record: PinRecord, pin: string, now_ms: number, remembered: boolean): Promise<void> {
    if (record.scheme === 'scrypt' && record.failures === 0) {
      // Already remembered: only its time is renewed, without a second HMAC of the same PIN.
      if (remembered) this.verified.renew(record.party_id, now_ms);
      else if (this.pins.get(record.party_id) === record) this.verified.remember(record.party_id, pin, now_ms);
      return;
    }
    const upgraded = record.scheme === 'md5' ? await hashPin(record.party_id, pin, this.clock()) : { ...record, failures: 0 };
    await this.handle.writer.execute({
      run: (ctx) => {
        const current = this.pins.get(record.party_id);
        if (current !== record) {
          // Changed meanwhile: a lock decided after this entry was checked still stands.
          if (current?.locked) throw new RequestError('pin_locked');
          return;
        }
        this.writePin(ctx, { ...upgraded, failures: 0, locked: false });
      },
    });
  }

  // ---- services ----

  /** P2P: the sender pays the fee; both sides are told. */
  async sendMoney(input: SendMoney): Promise<MoneyTransaction> {
    const currency = checkCurrency(input.currency);
    const amount = checkAmount(input.amount);
    const payer = this.subscriber(requireMsisdn(input.from, 'from'), 'payer');
    const payee = this.subscriber(requireMsisdn(input.to, 'to'), 'recipient');
    if (payee.id === payer.id) throw new RequestError('same_account');
    const reference = checkReference(input.reference);
    return this.transact({
      service: 'p2p', reference, fields: { from: payer.msisdn!, to: payee.msisdn!, amount: String(amount), currency },
      pin: { party: payer, pin: input.pin }, ids: legIds(reference, ['', ':fee']),
      run: (ctx, now) => {
        this.recheck(payer, 'payer');
        this.recheck(payee, 'recipient');
        const from = walletId(payer.id, currency);
        const to: Payee = { party: payee, wallet: walletId(payee.id, currency) };
        const fee = this.tariff.fee('p2p', currency, amount);
        const used = this.spend(payer, currency, amount, now);
        this.requireFunds(from, amount + fee, 'insufficient_funds');
        this.checkCap(to, currency, amount, 'recipient_exceeds_balance_cap');
        const legs = this.post(ctx, [
          leg(`mm:${reference}`, from, to.wallet, amount, currency, TransferCode.p2p),
          fee > 0n && leg(`mm:${reference}:fee`, from, systemId('fees', currency), fee, currency, TransferCode.fee),
        ]);
        this.commitUsage(ctx, used);
        const tx = this.record({ reference, service: 'p2p', currency, amount, fee, commission: 0n, payer, payee, from: payer.msisdn!, to: payee.msisdn!, legs, now });
        this.tell(ctx, { party: payer, kind: 'sent', tx, counterparty: maskMsisdn(payee.msisdn!), account: from, now });
        this.tell(ctx, { party: payee, kind: 'received', tx, counterparty: `${payer.name} ${maskMsisdn(payer.msisdn!)}`, account: to.wallet, now, fee: 0n });
        return tx;
      },
    });
  }

  /** Agent cash-in: the agent's float pays the subscriber's wallet; the agent earns commission. */
  async cashIn(input: CashIn): Promise<MoneyTransaction> {
    const currency = checkCurrency(input.currency);
    const amount = checkAmount(input.amount);
    const agent = this.business(input.agent, 'agent');
    const payee = this.subscriber(requireMsisdn(input.to, 'to'), 'payer');
    const reference = checkReference(input.reference);
    return this.transact({
      service: 'cash_in', reference, fields: { agent: agent.code!, to: payee.msisdn!, amount: String(amount), currency }, ids: legIds(reference, ['', ':com']),
      run: (ctx, now) => {
        this.recheckBusiness(agent);
        this.recheck(payee, 'payer');
        const float = agentFloatId(agent.id, currency);
        const to: Payee = { party: payee, wallet: walletId(payee.id, currency) };
        const commission = this.tariff.commission('cash_in', currency, amount);
        this.requireFunds(float, amount, 'insufficient_float');
        this.checkCap(to, currency, amount, 'exceeds_balance_cap');
        const legs = this.post(ctx, [
          leg(`mm:${reference}`, float, to.wallet, amount, currency, TransferCode.cash_in),
          commission > 0n && leg(`mm:${reference}:com`, systemId('commissions', currency), agentCommissionId(agent.id, currency), commission, currency, TransferCode.commission),
        ]);
        const tx = this.record({ reference, service: 'cash_in', currency, amount, fee: 0n, commission, payer: agent, payee, from: agent.code!, to: payee.msisdn!, legs, now });
        this.tell(ctx, { party: payee, kind: 'cash_in', tx, counterparty: `${agent.name} (${agent.code})`, account: to.wallet, now, fee: 0n });
        return tx;
      },
    });
  }

  /**
   * Cash-out, step 1 (the subscriber at the agent, with PIN): reserves amount and fee in the
   * wallet as pending transfers that lapse after cash_out_timeout_s. The agent then completes it
   * (after handing over the cash) or cancels it.
   */
  async cashOut(input: CashOut): Promise<MoneyTransaction> {
    const currency = checkCurrency(input.currency);
    const amount = checkAmount(input.amount);
    const payer = this.subscriber(requireMsisdn(input.from, 'from'), 'payer');
    const agent = this.business(input.agent, 'agent');
    const reference = checkReference(input.reference);
    return this.transact({
      service: 'cash_out', reference, fields: { from: payer.msisdn!, agent: agent.code!, amount: String(amount), currency },
      pin: { party: payer, pin: input.pin }, ids: legIds(reference, ['', ':fee']),
      run: (ctx, now) => {
        this.recheck(payer, 'payer');
        this.recheckBusiness(agent);
        const from = walletId(payer.id, currency);
        const fee = this.tariff.fee('cash_out', currency, amount);
        const used = this.spend(payer, currency, amount, now);
        this.requireFunds(from, amount + fee, 'insufficient_funds');
        const timeout = this.cash_out_timeout_s;
        const legs = this.post(ctx, [
          { ...leg(`mm:${reference}`, from, agentFloatId(agent.id, currency), amount, currency, TransferCode.cash_out), pending: timeout },
          fee > 0n && { ...leg(`mm:${reference}:fee`, from, systemId('fees', currency), fee, currency, TransferCode.fee), pending: timeout },
        ]);
        this.commitUsage(ctx, used);
        const tx = this.record({ reference, service: 'cash_out', currency, amount, fee, commission: 0n, payer, payee: agent, from: payer.msisdn!, to: agent.code!, legs: [], now, status: 'pending' });
        tx.expires_at = new Date(now.getTime() + timeout * 1000).toISOString();
        tx.balance = available(this.account(from)).toString();
        assert.equal(legs.length, fee > 0n ? 2 : 1);
        return tx;
      },
    });
  }

  /** Cash-out, step 2: the agent paid the cash; the reservation is posted and the agent earns commission. A retry answers the completed cash-out. */
  async completeCashOut(input: AgentAction): Promise<MoneyTransaction> {
    return this.settleCashOut(input, 'complete');
  }

  /** Cash-out, or the agent cancels: the reservation is released and today's usage given back. */
  async cancelCashOut(input: AgentAction): Promise<MoneyTransaction> {
    return this.settleCashOut(input, 'cancel');
  }

  private async settleCashOut(input: AgentAction, action: 'complete' | 'cancel'): Promise<MoneyTransaction> {
    const reference = checkReference(input.reference);
    const agent = this.business(input.agent, 'agent');
    const found = await this.lookup(reference);
    if (!found || found.service !== 'cash_out') throw new RequestError('cash_out_not_found');
    if (found.payee_id !== agent.id) throw new RequestError('cash_out_wrong_agent');
    return this.handle.writer.execute({
      ids: legIds(reference, ['', ':fee', ':post', ':fee:post', ':com']),
      run: (ctx) => {
        const tx = this.known(reference)!;
        const done = action === 'complete' ? tx.status === 'completed' || tx.status === 'reversed' : tx.status === 'cancelled';
        if (done) return tx;
        if (tx.status !== 'pending') throw new RequestError('cash_out_closed');
        if (!this.handle.ledger.pending.has(`mm:${reference}`)) throw new RequestError('cash_out_expired');
        return action === 'complete' ? this.completeCommand(ctx, tx, agent) : this.cancelCommand(ctx, tx);
      },
    });
  }

  private completeCommand(ctx: CommandContext, tx: MoneyTransaction, agent: Party): MoneyTransaction {
    const now = this.clock();
    const currency = tx.currency;
    const fee = BigInt(tx.fee);
    const amount = BigInt(tx.amount);
    const commission = this.tariff.commission('cash_out', currency, amount);
    const payer = this.parties.get(tx.payer_id!)!;
    const from = walletId(payer.id, currency);
    const legs = this.post(ctx, [
      { ...leg(`mm:${tx.reference}:post`, from, agentFloatId(agent.id, currency), amount, currency, TransferCode.cash_out), post: `mm:${tx.reference}` },
      fee > 0n && { ...leg(`mm:${tx.reference}:fee:post`, from, systemId('fees', currency), fee, currency, TransferCode.fee), post: `mm:${tx.reference}:fee` },
      commission > 0n && leg(`mm:${tx.reference}:com`, systemId('commissions', currency), agentCommissionId(agent.id, currency), commission, currency, TransferCode.commission),
    ]);
    const completed: MoneyTransaction = { ...tx, status: 'completed', commission: commission.toString(), legs, updated_at: now.toISOString(), balance: available(this.account(from)).toString() };
    this.save(ctx, completed);
    this.tell(ctx, { party: payer, kind: 'cash_out', tx: completed, counterparty: `${agent.name} (${agent.code})`, account: from, now });
    return completed;
  }

  private cancelCommand(ctx: CommandContext, tx: MoneyTransaction): MoneyTransaction {
    const fee = BigInt(tx.fee);
    const voids: TransferInput[] = [{ id: `mm:${tx.reference}:void`, pending_id: `mm:${tx.reference}`, flags: TransferFlag.void_pending_transfer }];
    if (fee > 0n) voids.push({ id: `mm:${tx.reference}:fee:void`, pending_id: `mm:${tx.reference}:fee`, flags: TransferFlag.void_pending_transfer });
    const results = ctx.createTransfers(voids.map((v, i) => ({ ...v, flags: v.flags! | (i < voids.length - 1 ? TransferFlag.linked : 0) })));
    assert.ok(results.every((r) => r === 'ok'), `cash-out void: ${results.join(',')}`);
    return this.closeCashOut(ctx, tx);
  }

  /** A cash-out that never paid out (cancelled, or lapsed: `reason`): its usage given back, its record cancelled. */
  private closeCashOut(ctx: CommandContext, tx: MoneyTransaction, reason?: string): MoneyTransaction {
    this.giveBackUsage(ctx, tx);
    const cancelled: MoneyTransaction = {
      ...tx, status: 'cancelled', ...(reason === undefined ? {} : { reason }), updated_at: this.clock().toISOString(),
      balance: available(this.account(walletId(tx.payer_id!, tx.currency))).toString(),
    };
    this.save(ctx, cancelled);
    return cancelled;
  }

  /** Gives back what a cash-out that never paid out counted against the limits, in the periods it was counted in. */
  private giveBackUsage(ctx: CommandContext, tx: MoneyTransaction): void {
    const stored = this.usage.get(usageKey(tx.payer_id!, tx.currency));
    if (!stored) return;
    const created = new Date(tx.created_at);
    const amount = BigInt(tx.amount);
    const counted = currentUsage(undefined, tx.payer_id!, tx.currency, created);
    const day_total = stored.day === counted.day ? stored.day_total - amount : stored.day_total;
    const month_total = stored.month === counted.month ? stored.month_total - amount : stored.month_total;
    this.commitUsage(ctx, { ...stored, day_total: day_total < 0n ? 0n : day_total, month_total: month_total < 0n ? 0n : month_total });
  }

  /**
   * Cash-outs whose reservation the ledger released at its timeout (the agent neither completed
   * nor cancelled): each is recorded as cancelled (reason `expired`) and its usage given back, as
   * a cancel would. Runs on a timer; returns how many it closed.
   */
  async closeExpiredCashOuts(): Promise<number> {
    const expired: string[] = [];
    for await (const doc of this.handle.store.documents(TRANSACTIONS, { tag: 'pending' })) {
      const tx = transactionFromDocument(doc);
      if (tx.service === 'cash_out' && !this.handle.ledger.pending.has(`mm:${tx.reference}`)) expired.push(tx.reference);
    }
    let closed = 0;
    for (const reference of expired) {
      await this.lookup(reference);
      const done = await this.handle.writer.execute({
        ids: [expiryId(`mm:${reference}`)],
        run: (ctx) => {
          const tx = this.known(reference)!;
          // Completed or cancelled since the scan, or resolved through the ledger API rather than by its timeout.
          if (tx.status !== 'pending' || this.handle.ledger.pending.has(`mm:${reference}`)) return false;
          if (!ctx.transfer(expiryId(`mm:${reference}`))) return false;
          this.closeCashOut(ctx, tx, 'expired');
          return true;
        },
      });
      if (done) closed += 1;
    }
    return closed;
  }

  /** Pays a merchant by its short code; the merchant bears the fee (taken from the till in the same chain). */
  async payMerchant(input: PayMerchant): Promise<MoneyTransaction> {
    const currency = checkCurrency(input.currency);
    const amount = checkAmount(input.amount);
    const payer = this.subscriber(requireMsisdn(input.from, 'from'), 'payer');
    const merchant = this.business(input.merchant, 'merchant');
    const reference = checkReference(input.reference);
    return this.transact({
      service: 'merchant_payment', reference, fields: { from: payer.msisdn!, merchant: merchant.code!, amount: String(amount), currency },
      pin: { party: payer, pin: input.pin }, ids: legIds(reference, ['', ':fee']),
      run: (ctx, now) => {
        this.recheck(payer, 'payer');
        this.recheckBusiness(merchant);
        const from = walletId(payer.id, currency);
        const till = merchantTillId(merchant.id, currency);
        const fee = this.tariff.fee('merchant_payment', currency, amount);
        const used = this.spend(payer, currency, amount, now);
        this.requireFunds(from, amount, 'insufficient_funds');
        const legs = this.post(ctx, [
          leg(`mm:${reference}`, from, till, amount, currency, TransferCode.merchant_payment),
          fee > 0n && leg(`mm:${reference}:fee`, till, systemId('fees', currency), fee, currency, TransferCode.fee),
        ]);
        this.commitUsage(ctx, used);
        const tx = this.record({ reference, service: 'merchant_payment', currency, amount, fee, commission: 0n, payer, payee: merchant, from: payer.msisdn!, to: merchant.code!, legs, now });
        this.tell(ctx, { party: payer, kind: 'merchant_payment', tx, counterparty: `${merchant.name} (${merchant.code})`, account: from, now, fee: 0n });
        if (merchant.msisdn) this.tell(ctx, { party: merchant, kind: 'merchant_received', tx, counterparty: maskMsisdn(payer.msisdn!), account: till, now });
        return tx;
      },
    });
  }

  /** A bank pays into a wallet (the customer's bank app or branch): e-money issued against the trust account. */
  async bankToWallet(input: BankToWallet): Promise<MoneyTransaction> {
    const currency = checkCurrency(input.currency);
    const amount = checkAmount(input.amount);
    const bank = this.business(input.bank, 'bank');
    const payee = this.subscriber(requireMsisdn(input.to, 'to'), 'payer');
    const reference = checkReference(input.reference);
    return this.transact({
      service: 'bank_to_wallet', reference, fields: { bank: bank.code!, to: payee.msisdn!, amount: String(amount), currency }, ids: legIds(reference, ['']),
      run: (ctx, now) => {
        this.recheckBusiness(bank);
        this.recheck(payee, 'payer');
        const to: Payee = { party: payee, wallet: walletId(payee.id, currency) };
        this.checkCap(to, currency, amount, 'exceeds_balance_cap');
        const legs = this.post(ctx, [leg(`mm:${reference}`, bankSettlementId(bank.id, currency), to.wallet, amount, currency, TransferCode.bank_to_wallet)]);
        const tx = this.record({ reference, service: 'bank_to_wallet', currency, amount, fee: 0n, commission: 0n, payer: bank, payee, from: bank.code!, to: payee.msisdn!, legs, now });
        this.tell(ctx, { party: payee, kind: 'bank_to_wallet', tx, counterparty: bank.name, account: to.wallet, now, fee: 0n });
        return tx;
      },
    });
  }

  /** Wallet to bank: e-money goes back to the trust account; the sender pays the fee. */
  async walletToBank(input: WalletToBank): Promise<MoneyTransaction> {
    const currency = checkCurrency(input.currency);
    const amount = checkAmount(input.amount);
    const payer = this.subscriber(requireMsisdn(input.from, 'from'), 'payer');
    const bank = this.business(input.bank, 'bank');
    const reference = checkReference(input.reference);
    return this.transact({
      service: 'wallet_to_bank', reference, fields: { from: payer.msisdn!, bank: bank.code!, amount: String(amount), currency },
      pin: { party: payer, pin: input.pin }, ids: legIds(reference, ['', ':fee']),
      run: (ctx, now) => {
        this.recheck(payer, 'payer');
        this.recheckBusiness(bank);
        const from = walletId(payer.id, currency);
        const fee = this.tariff.fee('wallet_to_bank', currency, amount);
        const used = this.spend(payer, currency, amount, now);
        this.requireFunds(from, amount + fee, 'insufficient_funds');
        const legs = this.post(ctx, [
          leg(`mm:${reference}`, from, bankSettlementId(bank.id, currency), amount, currency, TransferCode.wallet_to_bank),
          fee > 0n && leg(`mm:${reference}:fee`, from, systemId('fees', currency), fee, currency, TransferCode.fee),
        ]);
        this.commitUsage(ctx, used);
        const tx = this.record({ reference, service: 'wallet_to_bank', currency, amount, fee, commission: 0n, payer, payee: bank, from: payer.msisdn!, to: bank.code!, legs, now });
        this.tell(ctx, { party: payer, kind: 'wallet_to_bank', tx, counterparty: bank.name, account: from, now });
        return tx;
      },
    });
  }

  /**
   * Airtime for the payer's own line or another Zimbabwean number: money goes to airtime sales,
   * and the line's airtime account (created here if it is the line's first) is credited in
   * AIRTIME_<currency>, the account prepaid charges.
   */
  async buyAirtime(input: BuyAirtime): Promise<MoneyTransaction> {
    const currency = checkCurrency(input.currency);
    const amount = checkAmount(input.amount);
    const payer = this.subscriber(requireMsisdn(input.from, 'from'), 'payer');
    const beneficiary = input.to === undefined || input.to === '' ? payer.msisdn! : requireMsisdn(input.to, 'to');
    if (!beneficiary.startsWith('+263')) throw new RequestError('airtime_number_invalid');
    const reference = checkReference(input.reference);
    return this.transact({
      service: 'airtime', reference, fields: { from: payer.msisdn!, to: beneficiary, amount: String(amount), currency },
      pin: { party: payer, pin: input.pin }, ids: legIds(reference, ['', ':fee', ':air']),
      run: (ctx, now) => {
        this.recheck(payer, 'payer');
        const from = walletId(payer.id, currency);
        const fee = this.tariff.fee('airtime', currency, amount);
        const used = this.spend(payer, currency, amount, now);
        this.requireFunds(from, amount + fee, 'insufficient_funds');
        const created = ctx.createAccounts([airtimeAccount(beneficiary, currency)]);
        assert.ok(created[0] === 'ok' || created[0] === 'exists', `airtime account of ${beneficiary}: ${created[0]}`);
        const airtime = airtimeId(beneficiary, currency);
        const legs = this.post(ctx, [
          leg(`mm:${reference}`, from, systemId('airtime_sales', currency), amount, currency, TransferCode.airtime),
          fee > 0n && leg(`mm:${reference}:fee`, from, systemId('fees', currency), fee, currency, TransferCode.fee),
          leg(`mm:${reference}:air`, systemId('airtime_issue', airtimeAsset(currency)), airtime, amount * AIRTIME_UNITS_PER_MINOR, airtimeAsset(currency), TransferCode.airtime_credit),
        ]);
        this.commitUsage(ctx, used);
        const tx = this.record({ reference, service: 'airtime', currency, amount, fee, commission: 0n, payer, payee: null, from: payer.msisdn!, to: beneficiary, legs, now });
        tx.beneficiary = beneficiary;
        const self = beneficiary === payer.msisdn;
        this.tell(ctx, { party: payer, kind: 'airtime', tx, counterparty: self ? 'your line' : maskMsisdn(beneficiary), account: from, now });
        if (!self) {
          const other = this.parties.byNumber(beneficiary, 'subscriber');
          this.notify(ctx, { msisdn: beneficiary, language: other?.language ?? 'en', kind: 'airtime_received', tx, counterparty: maskMsisdn(payer.msisdn!), balance: 0n, fee: 0n, now });
        }
        return tx;
      },
    });
  }

  /** Operator: a bank sells e-money float to an agent (float purchase). */
  async buyFloat(input: FloatPurchase): Promise<MoneyTransaction> {
    const currency = checkCurrency(input.currency);
    const amount = checkAmount(input.amount);
    const bank = this.business(input.bank, 'bank');
    const agent = this.business(input.agent, 'agent');
    const reference = checkReference(input.reference);
    return this.transact({
      service: 'float_purchase', reference, fields: { bank: bank.code!, agent: agent.code!, amount: String(amount), currency }, ids: legIds(reference, ['']),
      run: (ctx, now) => {
        this.recheckBusiness(bank);
        this.recheckBusiness(agent);
        const legs = this.post(ctx, [leg(`mm:${reference}`, bankSettlementId(bank.id, currency), agentFloatId(agent.id, currency), amount, currency, TransferCode.float_purchase)]);
        const tx = this.record({ reference, service: 'float_purchase', currency, amount, fee: 0n, commission: 0n, payer: bank, payee: agent, from: bank.code!, to: agent.code!, legs, now });
        tx.balance = available(this.account(agentFloatId(agent.id, currency))).toString();
        return tx;
      },
    });
  }

  /**
   * Operator: reverses a completed transaction with new transfers (reversal_of each leg, in one
   * linked chain), never an edit. A transaction reverses at most once; the receiving side must
   * still hold the money.
   */
  async reverse(input: Reverse): Promise<MoneyTransaction> {
    const reference = checkReference(input.reference);
    const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
    if (reason.length === 0 || reason.length > 200) throw new RequestError('invalid_request', { field: 'reason', rule: '1 to 200 characters' });
    const originalRef = checkReference(input.original);
    const original = await this.lookup(originalRef);
    if (!original) return this.reverseMigrated({ reference, reason, original: originalRef });
    const ids = original.legs.flatMap((l, i) => [l.id, `mm:${reference}:${i}`]);
    return this.transact({
      service: 'reversal', reference, fields: { original: originalRef, reason }, ids,
      run: (ctx, now) => this.reverseCommand(ctx, { reference, reason, original: this.known(originalRef)!, now }),
    });
  }

  /**
   * A legacy transaction the migration booked (issue 7) has no transaction record here, only its
   * ledger transfers: after the cutover an operator still reverses it by its legacy ref. Its
   * record is made from those transfers inside the command and saved as reversed with the
   * reversal, so it reverses once; one legacy already reversed is refused as such.
   */
  private reverseMigrated(input: { reference: string; reason: string; original: string }): Promise<MoneyTransaction> {
    const { reference, reason, original } = input;
    const legIds = [txnTransferId(original), txnFeeId(original)];
    return this.transact({
      service: 'reversal', reference, fields: { original, reason }, ids: [...legIds, ...legIds.map((_, i) => `mm:${reference}:${i}`)],
      run: (ctx, now) => {
        // Reversed by an earlier command of this batch: its record is in memory now.
        const known = this.known(original) ?? this.migratedTransaction(ctx, original, legIds);
        return this.reverseCommand(ctx, { reference, reason, original: known, now });
      },
    });
  }

  private migratedTransaction(ctx: CommandContext, reference: string, legIds: readonly string[]): MoneyTransaction {
    const [main, fee] = legIds.map((id) => ctx.transfer(id));
    if (!main) throw new RequestError('transaction_not_found');
    const service = MIGRATED_SERVICE.get(main.code);
    if (!service) throw new RequestError('reversal_not_allowed');
    const reversed = ctx.reversal(main.id);
    if (reversed) throw new RequestError('transaction_already_reversed', { reversed_by: reversed.id.replace(/^mig:txn:/, '') });
    const legs: Leg[] = [main, fee].filter((t) => t !== undefined).map((t) => ({
      id: t.id, debit_account_id: t.debit_account_id, credit_account_id: t.credit_account_id, amount: t.amount.toString(), asset: t.asset,
    }));
    const payer = this.partyOfAccount(main.debit_account_id);
    const payee = this.partyOfAccount(main.credit_account_id);
    const at = /(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)Z$/.exec(main.user_data ?? '')?.[1];
    const created_at = at ? `${at}.000Z` : this.clock().toISOString();
    return {
      reference, service, status: 'completed', currency: main.asset as Currency, amount: main.amount.toString(), fee: (fee?.amount ?? 0n).toString(),
      commission: '0', payer_id: payer?.id ?? null, payee_id: payee?.id ?? null,
      from: payer?.msisdn ?? payer?.code ?? main.debit_account_id, to: payee?.msisdn ?? payee?.code ?? main.credit_account_id,
      balance: null, legs, created_at, updated_at: created_at, fingerprint: '',
    };
  }

  /** The party a wallet, float, till, commission or bank account belongs to (src/products/accounts.ts names them). */
  private partyOfAccount(account_id: string): Party | undefined {
    const match = /^(?:wallet|float|till|commission|bank):(.+):[A-Z]{3}$/.exec(account_id);
    return match ? this.parties.get(match[1]) : undefined;
  }

  private reverseCommand(ctx: CommandContext, options: { reference: string; reason: string; original: MoneyTransaction; now: Date }): MoneyTransaction {
    const { reference, original, now } = options;
    if (original.reversed_by) throw new RequestError('transaction_already_reversed', { reversed_by: original.reversed_by });
    if (original.status !== 'completed' || original.service === 'reversal') throw new RequestError('reversal_not_allowed');
    // Each bounded account must hold what its legs give back, all legs together.
    const needed = new Map<string, bigint>();
    for (const l of original.legs) needed.set(l.credit_account_id, (needed.get(l.credit_account_id) ?? 0n) + BigInt(l.amount));
    for (const [id, amount] of needed) {
      const account = this.account(id);
      if ((account.flags & AccountFlag.debits_must_not_exceed_credits) && available(account) < amount) throw new RequestError('reversal_insufficient_funds');
    }
    const legs = this.post(ctx, original.legs.map((l, i) => ({
      ...leg(`mm:${reference}:${i}`, l.credit_account_id, l.debit_account_id, BigInt(l.amount), l.asset, TransferCode.reversal), reversal_of: l.id,
    })));
    const payer = original.payer_id ? this.parties.get(original.payer_id)! : null;
    const payee = original.payee_id ? this.parties.get(original.payee_id)! : null;
    this.save(ctx, { ...original, status: 'reversed', reversed_by: reference, updated_at: now.toISOString() });
    const tx = this.record({
      reference, service: 'reversal', currency: original.currency, amount: BigInt(original.amount), fee: BigInt(original.fee), commission: BigInt(original.commission),
      payer: payee, payee: payer, from: original.to, to: original.from, legs, now,
    });
    tx.reversal_of = original.reference;
    tx.reason = options.reason;
    tx.balance = null;
    for (const party of [payer, payee]) {
      if (party?.kind !== 'subscriber') continue;
      const account = walletId(party.id, original.currency);
      this.tell(ctx, { party, kind: 'reversal', tx, counterparty: original.reference, account, now, fee: 0n });
    }
    return tx;
  }

  /** Every asset the subscriber holds: a wallet per currency and the line's airtime (available amounts). */
  async balance(input: { msisdn: string; pin: string }): Promise<{ msisdn: Msisdn; balances: BalanceLine[] }> {
    const party = this.subscriber(requireMsisdn(input.msisdn), 'payer');
    await this.checkPin(party, input.pin);
    await this.handle.writer.settled();
    const ids = [...CURRENCIES.map((c) => walletId(party.id, c)), ...CURRENCIES.map((c) => airtimeId(party.msisdn!, c))];
    const balances: BalanceLine[] = [];
    for (const id of ids) {
      const account = this.handle.ledger.accounts.get(id);
      if (!account) continue;
      balances.push({ asset: account.asset, account_id: id, available: available(account), scale: this.handle.ledger.assets.get(account.asset)!.scale });
    }
    return { msisdn: party.msisdn!, balances };
  }

  /**
   * The last five transactions, newest first, with the lines as a USSD screen shows them. Read
   * from the wallets' history in the journal (so every movement shows, whichever module made it),
   * described from the transaction records; holds and released holds are not transactions.
   */
  async miniStatement(input: { msisdn: string; pin: string }): Promise<StatementView> {
    const party = this.subscriber(requireMsisdn(input.msisdn), 'payer');
    await this.checkPin(party, input.pin);
    await this.handle.writer.settled();
    const lines = await this.statementLines(party);
    const text = lines.map((l) => {
      const sign = l.direction === 'debit' ? '-' : '+';
      return `${shortHarare(new Date(l.created_at)).slice(0, 14)} ${sign}${l.currency} ${formatAmount(BigInt(l.amount), 2)} ${l.kind} ${l.counterparty}`;
    });
    return { msisdn: party.msisdn!, lines, text };
  }

  private async statementLines(party: Party): Promise<StatementLine[]> {
    // Each reference's net effect on the wallet; a service's legs (amount, fee, post) are one line.
    const moves = new Map<string, { reference: string; currency: Currency; net: bigint; timestamp: bigint; transfer: Transfer }>();
    for (const currency of CURRENCIES) {
      const account = this.handle.ledger.accounts.get(walletId(party.id, currency));
      if (!account) continue;
      const page = await this.handle.store.accountHistory(account, { limit: STATEMENT_HISTORY_MAX });
      for (const { transfer } of page.entries) {
        if (transfer.flags & (TransferFlag.pending | TransferFlag.void_pending_transfer | TransferFlag.expiry)) continue;
        const reference = transfer.id.startsWith('mm:') ? transfer.id.split(':')[1] : transfer.id;
        const key = `${currency}:${reference}`;
        const move = moves.get(key) ?? { reference, currency, net: 0n, timestamp: transfer.timestamp, transfer };
        move.net += transfer.credit_account_id === account.id ? transfer.amount : -transfer.amount;
        if (transfer.timestamp > move.timestamp) move.timestamp = transfer.timestamp;
        moves.set(key, move);
      }
    }
    const newest = [...moves.values()].sort((a, b) => (a.timestamp < b.timestamp ? 1 : -1)).slice(0, STATEMENT_LINES);
    const lines: StatementLine[] = [];
    for (const move of newest) {
      const tx = move.transfer.id.startsWith('mm:') ? await this.lookup(move.reference) : undefined;
      lines.push(tx ? this.describe(party, tx, move.net) : {
        reference: move.reference, created_at: new Date(Number(move.timestamp / 1_000_000n)).toISOString(), kind: 'other',
        direction: move.net < 0n ? 'debit' : 'credit', amount: (move.net < 0n ? -move.net : move.net).toString(), fee: '0', currency: move.currency, counterparty: '',
      });
    }
    return lines;
  }

  /** One statement line: the transaction as the party sees it. */
  private describe(party: Party, tx: MoneyTransaction, net: bigint): StatementLine {
    const paid = net < 0n;
    const amount = BigInt(tx.amount);
    const moved = paid ? -net : net;
    const business = (code: string) => { const p = this.parties.byShortCode(code); return p ? `${p.name} (${code})` : code; };
    const masked = (text: string) => (normalizeMsisdn(text) ? maskMsisdn(text as Msisdn) : text);
    const [kind, counterparty] = ((): [string, string] => {
      switch (tx.service) {
        case 'p2p': return paid ? ['sent', masked(tx.to)] : ['received', masked(tx.from)];
        case 'cash_in': return ['cash_in', business(tx.from)];
        case 'cash_out': return ['cash_out', business(tx.to)];
        case 'merchant_payment': return ['merchant_payment', business(tx.to)];
        case 'bank_to_wallet': return ['bank_to_wallet', business(tx.from)];
        case 'wallet_to_bank': return ['wallet_to_bank', business(tx.to)];
        case 'airtime': return ['airtime', tx.beneficiary === party.msisdn ? 'own line' : masked(tx.beneficiary ?? tx.to)];
        case 'reversal': return ['reversal', tx.reversal_of ?? ''];
        default: return [tx.service, tx.to];
      }
    })();
    return {
      reference: tx.reference, created_at: tx.status === 'completed' && tx.service === 'cash_out' ? tx.updated_at : tx.created_at, kind,
      direction: paid ? 'debit' : 'credit', amount: (moved < amount ? moved : amount).toString(),
      fee: (paid && moved > amount ? moved - amount : 0n).toString(), currency: tx.currency, counterparty,
    };
  }

  /** A transaction by its client reference (for operators and retries), or undefined. */
  async transaction(reference: string): Promise<MoneyTransaction | undefined> {
    if (typeof reference !== 'string' || !REFERENCE_PATTERN.test(reference)) return undefined;
    const tx = await this.lookup(reference);
    if (tx?.status === 'pending' && !this.handle.ledger.pending.has(`mm:${reference}`)) return { ...tx, status: 'cancelled', reason: 'expired' };
    return tx;
  }

  // ---- the command skeleton ----

  private async transact(plan: Plan): Promise<MoneyTransaction> {
    const fingerprint = fingerprintOf(plan.service, plan.fields);
    const before = await this.lookup(plan.reference);
    if (before) return answerRetry(before, fingerprint);
    if (plan.pin) await this.checkPin(plan.pin.party, plan.pin.pin);
    return this.handle.writer.execute({
      ids: [...plan.ids, txnTransferId(plan.reference)],
      run: (ctx) => {
        // A retry that raced the first call past the lookup above.
        const raced = this.known(plan.reference);
        if (raced) return answerRetry(raced, fingerprint);
        // A client retrying, after the cutover, a request the legacy platform already carried out.
        if (ctx.transfer(txnTransferId(plan.reference))) throw new RequestError('reference_migrated', { reference: plan.reference });
        if (plan.pin && this.pins.get(plan.pin.party.id)?.locked) throw new RequestError('pin_locked');
        const tx = plan.run(ctx, this.clock());
        tx.fingerprint = fingerprint;
        this.save(ctx, tx);
        return tx;
      },
    });
  }

  /** The transaction recorded under a reference, from memory or the store. */
  private async lookup(reference: string): Promise<MoneyTransaction | undefined> {
    const known = this.known(reference);
    if (known) return known;
    // Most references are new: the filter says so without a read of the store.
    if (!this.references.mightContain(reference)) return undefined;
    const doc = await this.handle.store.document(TRANSACTIONS, reference);
    if (!doc) return undefined;
    // A command may have recorded it while we read: memory is newer.
    const value = this.transactions.get(reference) ?? doc.value;
    this.remember(reference, value);
    return transactionFromDocument({ value });
  }

  /** The transaction in memory, as a fresh object the caller may change. */
  private known(reference: string): MoneyTransaction | undefined {
    const value = this.transactions.get(reference);
    return value === undefined ? undefined : transactionFromDocument({ value });
  }

  private remember(reference: string, value: string): void {
    this.transactions.delete(reference);
    // Forgetting the oldest only costs a store read if it is asked for again.
    while (this.transactions.size >= TRANSACTIONS_IN_MEMORY_MAX) this.transactions.delete(this.transactions.keys().next().value!);
    this.transactions.set(reference, value);
  }

  private save(ctx: CommandContext, tx: MoneyTransaction): void {
    const document = transactionDocument(tx);
    ctx.put(document);
    this.remember(tx.reference, document.value!);
    this.references.add(tx.reference);
    // A full filter answers "maybe" ever more often: a bigger one layered over it keeps its answers.
    if (this.references.saturated) this.references = this.references.grown();
  }

  private record(options: {
    reference: string; service: Service; currency: Currency; amount: bigint; fee: bigint; commission: bigint;
    payer: Party | null; payee: Party | null; from: string; to: string; legs: Leg[]; now: Date; status?: MoneyTransaction['status'];
  }): MoneyTransaction {
    const payerWallet = options.payer?.kind === 'subscriber' ? this.handle.ledger.accounts.get(walletId(options.payer.id, options.currency)) : undefined;
    return {
      reference: options.reference, service: options.service, status: options.status ?? 'completed', currency: options.currency,
      amount: options.amount.toString(), fee: options.fee.toString(), commission: options.commission.toString(),
      payer_id: options.payer?.id ?? null, payee_id: options.payee?.id ?? null, from: options.from, to: options.to,
      balance: payerWallet ? available(payerWallet).toString() : null, legs: options.legs,
      created_at: options.now.toISOString(), updated_at: options.now.toISOString(), fingerprint: '',
    };
  }

  /** Applies the legs as one linked chain. Every check came first, so a refusal here is a bug. */
  private post(ctx: CommandContext, drafts: (LegDraft | false)[]): Leg[] {
    const legs = drafts.filter((d): d is LegDraft => d !== false);
    const events: TransferInput[] = legs.map((d, i) => {
      const linked = i < legs.length - 1 ? TransferFlag.linked : 0;
      if (d.post) return { id: d.id, pending_id: d.post, flags: TransferFlag.post_pending_transfer | linked };
      return {
        id: d.id, debit_account_id: d.debit, credit_account_id: d.credit, amount: d.amount, asset: d.asset, code: d.code,
        flags: (d.pending ? TransferFlag.pending : 0) | linked, timeout: d.pending ?? 0, reversal_of: d.reversal_of ?? null,
      };
    });
    this.ensureSystem(ctx, legs.flatMap((l) => [l.debit, l.credit]));
    const results = ctx.createTransfers(events);
    assert.ok(results.every((r) => r === 'ok'), `legs ${legs.map((l) => l.id).join(',')}: ${results.join(',')}`);
    return legs.map((d) => ({ id: d.id, debit_account_id: d.debit, credit_account_id: d.credit, amount: d.amount.toString(), asset: d.asset }));
  }

  // ---- checks ----

  /** An active subscriber by number; `role` picks the codes a counterparty gets. */
  private subscriber(msisdn: Msisdn, role: 'payer' | 'recipient'): Party {
    const party = this.parties.byNumber(msisdn, 'subscriber');
    if (!party) throw new RequestError(role === 'payer' ? 'subscriber_not_found' : 'recipient_not_found');
    this.recheck(party, role);
    return party;
  }

  /** Status again, inside the writer: an operator may have suspended the party since. */
  private recheck(party: Party, role: 'payer' | 'recipient'): void {
    const current = this.parties.get(party.id)!;
    if (current.status === 'active') return;
    if (role === 'recipient') throw new RequestError('recipient_unavailable');
    throw new RequestError(current.status === 'closed' ? 'subscriber_closed' : 'subscriber_suspended');
  }

  private business(code: string, kind: 'agent' | 'merchant' | 'bank'): Party {
    const party = typeof code === 'string' ? this.parties.byShortCode(code) : undefined;
    if (!party || party.kind !== kind) throw new RequestError(`${kind}_not_found`);
    this.recheckBusiness(party);
    return party;
  }

  private recheckBusiness(party: Party): void {
    if (this.parties.get(party.id)!.status !== 'active') throw new RequestError(`${party.kind as 'agent' | 'merchant' | 'bank'}_unavailable`);
  }

  private account(id: string): Account {
    const account = this.handle.ledger.accounts.get(id);
    assert.ok(account, `account ${id} exists`);
    return account;
  }

  private requireFunds(id: string, needed: bigint, code: 'insufficient_funds' | 'insufficient_float'): void {
    const account = this.account(id);
    const have = available(account);
    if (have >= needed) return;
    const scale = this.handle.ledger.assets.get(account.asset)!.scale;
    throw new RequestError(code, { currency: account.asset, available: formatAmount(have, scale), needed: formatAmount(needed, scale) });
  }

  private checkCap(to: Payee, currency: Currency, amount: bigint, code: 'exceeds_balance_cap' | 'recipient_exceeds_balance_cap'): void {
    const party = this.parties.get(to.party.id)!;
    checkBalanceCap({ available: available(this.account(to.wallet)), amount, limit: this.tariff.limits(party.kyc_tier, currency), currency, scale: 2, code });
  }

  private spend(party: Party, currency: Currency, amount: bigint, now: Date): Usage {
    const current = currentUsage(this.usage.get(usageKey(party.id, currency)), party.id, currency, now);
    return spend(current, this.tariff.limits(this.parties.get(party.id)!.kyc_tier, currency), amount, 2);
  }

  private commitUsage(ctx: CommandContext, usage: Usage): void {
    ctx.put(usageDocument(usage));
    this.usage.set(usageKey(usage.party_id, usage.currency), usage);
  }

  // ---- statements and notifications ----

  /** Queues the party's SMS about the transaction (the mini statement reads the journal). */
  private tell(ctx: CommandContext, options: {
    party: Party; kind: NoticeKind; tx: MoneyTransaction; counterparty: string; account: string; now: Date; fee?: bigint;
  }): void {
    const { party, tx } = options;
    if (!party.msisdn) return;
    const fee = options.fee ?? BigInt(tx.fee);
    const balance = available(this.account(options.account));
    this.notify(ctx, { msisdn: party.msisdn, language: party.language, kind: options.kind, tx, counterparty: options.counterparty, balance, fee, now: options.now, key: party.id });
  }

  private notify(ctx: CommandContext, options: {
    msisdn: Msisdn; language: Language; kind: NoticeKind; tx: MoneyTransaction; counterparty: string; balance: bigint; fee: bigint; now: Date; key?: string;
  }): void {
    const { tx } = options;
    const text = noticeText(options.language, {
      kind: options.kind, amount: BigInt(tx.amount), currency: tx.currency, scale: 2, counterparty: options.counterparty, fee: options.fee,
      balance: options.balance, reference: tx.reference, at: shortHarare(options.now),
    });
    // One message per transaction and recipient: a retry or a replay queues nothing twice.
    queueMessage(ctx, { id: `txn:${tx.reference}:${options.key ?? normalizeMsisdn(options.msisdn)!.slice(1)}`, msisdn: options.msisdn, text, language: options.language, kind: 'transaction' }, options.now);
  }
}

/**
 * The ledger accounts a party holds, exactly as mobile money creates them with the party (the
 * migration creates the same, so a later create answers `exists`): a wallet per currency for a
 * subscriber (never below zero), float and commission for an agent, a till for a merchant, and a
 * settlement (trust) account for a bank, unbounded because its debit balance is the e-money issued.
 */
export function partyAccounts(party: Pick<Party, 'id' | 'kind'>): AccountInput[] {
  const bounded = AccountFlag.debits_must_not_exceed_credits;
  switch (party.kind) {
    case 'subscriber': return CURRENCIES.map((c) => ({ id: walletId(party.id, c), asset: c, code: AccountCode.subscriber_wallet, flags: bounded }));
    case 'agent': return CURRENCIES.flatMap((c) => [
      { id: agentFloatId(party.id, c), asset: c, code: AccountCode.agent_float, flags: bounded },
      { id: agentCommissionId(party.id, c), asset: c, code: AccountCode.agent_commission, flags: bounded },
    ]);
    case 'merchant': return CURRENCIES.map((c) => ({ id: merchantTillId(party.id, c), asset: c, code: AccountCode.merchant_till, flags: bounded }));
    case 'bank': return CURRENCIES.map((c) => ({ id: bankSettlementId(party.id, c), asset: c, code: AccountCode.bank_settlement }));
    case 'system': return [];
  }
}

interface LegDraft {
  id: string;
  debit: string;
  credit: string;
  amount: bigint;
  asset: string;
  code: number;
  /** Seconds: a pending leg with this timeout. */
  pending?: number;
  /** Posts this pending transfer instead. */
  post?: string;
  reversal_of?: string;
}

function leg(id: string, debit: string, credit: string, amount: bigint, asset: string, code: number): LegDraft {
  return { id, debit, credit, amount, asset, code };
}

/** A filter of every transaction reference recorded in the store, sized so that it is not already full. */
async function loadReferences(store: Store): Promise<IdFilter> {
  let filter = await addRecordedReferences(store, IdFilter.rebuiltFor(0));
  while (filter.saturated) filter = await addRecordedReferences(store, IdFilter.rebuiltFor(filter.size));
  return filter;
}

async function addRecordedReferences(store: Store, filter: IdFilter): Promise<IdFilter> {
  for await (const reference of store.documentKeys(TRANSACTIONS)) filter.add(reference);
  return filter;
}

function legIds(reference: string, suffixes: string[]): string[] {
  return suffixes.map((s) => `mm:${reference}${s}`);
}

function fingerprintOf(service: Service, fields: Record<string, string>): string {
  const canonical = JSON.stringify([service, ...Object.keys(fields).sort().map((k) => [k, fields[k]])]);
  // One-shot: a Hash object costs more than hashing a few dozen bytes.
  return crypto.hash('sha256', canonical, 'hex').slice(0, 32);
}

function answerRetry(tx: MoneyTransaction, fingerprint: string): MoneyTransaction {
  if (tx.fingerprint !== fingerprint) throw new RequestError('reference_reused', { reference: tx.reference });
  return tx;
}

function checkReference(reference: unknown): string {
  if (typeof reference !== 'string' || !REFERENCE_PATTERN.test(reference)) throw new RequestError('reference_invalid');
  return reference;
}

function checkCurrency(currency: unknown): Currency {
  if (!CURRENCIES.includes(currency as Currency)) throw new RequestError('currency_invalid');
  return currency as Currency;
}

function checkAmount(amount: unknown): bigint {
  if (typeof amount !== 'bigint' || amount < 0n || amount > (1n << 62n)) throw new RequestError('amount_invalid');
  if (amount === 0n) throw new RequestError('amount_zero');
  return amount;
}

function checkName(name: unknown): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  if (trimmed.length === 0 || trimmed.length > NAME_LENGTH_MAX) throw new RequestError('invalid_request', { field: 'name', rule: `1 to ${NAME_LENGTH_MAX} characters` });
  return trimmed;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Party ids: time-ordered (cheap to index) and unguessable enough not to be enumerated. */
function newId(): string {
  return Date.now().toString(36) + crypto.randomBytes(5).toString('hex');
}
