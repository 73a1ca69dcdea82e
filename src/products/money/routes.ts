// Mobile money over HTTP: thin routes over MoneyModule. Amounts are minor-unit decimal strings on
// the wire (as everywhere in the API); PINs travel only in POST bodies, never in a URL, so no
// access log can carry one. Every code a route can answer is listed on it, for /openapi.json.
import { Type, type TSchema } from '@sinclair/typebox';
import { RequestError, type RequestErrorCode } from '../../errors/registry.js';
import { formatAmount } from '../../ledger/amount.js';
import { route, type Route } from '../../channels/http/routes.js';
import type { Party } from '../parties.js';
import type { MoneyModule } from './module.js';
import type { MoneyTransaction } from './records.js';
import type { KycTier } from './tariff.js';

const Msisdn = Type.String({ minLength: 1, maxLength: 32, description: 'A mobile number in any usual form (0772123456, +263772123456); stored as E.164.' });
const Amount = Type.String({ pattern: '^[0-9]{1,18}$', description: 'Minor units (cents) as a decimal string: "1000" is 10.00.', examples: ['1000'] });
const Currency = Type.String({ minLength: 1, maxLength: 8, description: 'USD or ZWG (else currency_invalid).' });
const Reference = Type.String({ minLength: 1, maxLength: 64, description: 'The client\'s reference for this call, 1 to 40 letters, digits, dots, dashes or underscores; a retry with the same reference gets the first result.' });
const Pin = Type.String({ minLength: 1, maxLength: 16, description: 'The subscriber\'s PIN (4 to 6 digits). Never logged or stored.' });
const Code = Type.String({ minLength: 1, maxLength: 16, description: 'An agent, merchant or bank short code.' });
const Name = Type.String({ minLength: 1, maxLength: 80 });
const Tier = Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)], { description: 'KYC tier: 0 unregistered, 1 basic, 2 full.' });
const Language = Type.Union([Type.Literal('en'), Type.Literal('sn'), Type.Literal('nd')], { description: 'English, Shona or Ndebele.' });
const Status = Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('closed')]);

const PartyOutput = Type.Object({
  id: Type.String(), kind: Type.String(), name: Type.String(), status: Type.String(), msisdn: Type.Union([Type.String(), Type.Null()]),
  kyc_tier: Type.Integer(), language: Type.String(), code: Type.Union([Type.String(), Type.Null()]),
  legacy: Type.Union([Type.Object({ table: Type.String(), id: Type.String() }), Type.Null()]), created_at: Type.String(),
});
const TransactionOutput = Type.Object({
  reference: Type.String(), service: Type.String(), status: Type.String({ description: 'completed, pending (a cash-out awaiting the agent), cancelled or reversed.' }),
  currency: Type.String(), amount: Type.String(), fee: Type.String(), commission: Type.String(),
  payer_id: Type.Union([Type.String(), Type.Null()]), payee_id: Type.Union([Type.String(), Type.Null()]), from: Type.String(), to: Type.String(),
  balance: Type.Union([Type.String(), Type.Null()], { description: 'The paying subscriber\'s available balance right after, minor units.' }),
  legs: Type.Array(Type.Object({ id: Type.String(), debit_account_id: Type.String(), credit_account_id: Type.String(), amount: Type.String(), asset: Type.String() })),
  created_at: Type.String(), updated_at: Type.String(),
  expires_at: Type.Optional(Type.String()), beneficiary: Type.Optional(Type.String()), reversal_of: Type.Optional(Type.String()),
  reversed_by: Type.Optional(Type.String()), reason: Type.Optional(Type.String()),
});
const BalanceOutput = Type.Object({
  msisdn: Type.String(),
  balances: Type.Array(Type.Object({ asset: Type.String(), account_id: Type.String(), available: Type.String(), display: Type.String() })),
});
const StatementOutput = Type.Object({ msisdn: Type.String(), lines: Type.Array(Type.Record(Type.String(), Type.String())), text: Type.Array(Type.String()) });
const PinOutput = Type.Object({ pin: Type.String() });

const PARTY_INPUT: readonly RequestErrorCode[] = ['msisdn_invalid'];
const PIN_CHECK: readonly RequestErrorCode[] = ['pin_not_set', 'pin_wrong', 'pin_locked'];
const PAYER: readonly RequestErrorCode[] = ['msisdn_invalid', 'subscriber_not_found', 'subscriber_suspended', 'subscriber_closed', ...PIN_CHECK];
const MONEY: readonly RequestErrorCode[] = ['reference_invalid', 'reference_reused', 'reference_migrated', 'amount_invalid', 'amount_zero', 'currency_invalid'];
const SPEND: readonly RequestErrorCode[] = ['insufficient_funds', 'exceeds_transaction_limit', 'exceeds_daily_limit', 'exceeds_monthly_limit'];

function answer(body: unknown, status = 200) {
  return { status, body };
}

export function transactionJson(tx: MoneyTransaction): Omit<MoneyTransaction, 'fingerprint'> {
  const { fingerprint: _, ...shown } = tx;
  return shown;
}

function partyJson(party: Party): Party {
  return party;
}

function ok(schema: TSchema, description: string) {
  return [{ status: 200, description, schema }];
}

export function moneyRoutes(money: MoneyModule): Route[] {
  return [...partyRoutes(money), ...pinRoutes(money), ...serviceRoutes(money), ...accountRoutes(money)];
}

function partyRoutes(money: MoneyModule): Route[] {
  return [
    route({
      method: 'POST', url: '/money/subscribers', operationId: 'registerSubscriber', access: 'write', writes: true,
      summary: 'Register a subscriber by MSISDN, with a wallet per currency, in one commit. The same request again answers the same subscriber.',
      body: Type.Object({ msisdn: Msisdn, name: Name, kyc_tier: Type.Optional(Tier), language: Type.Optional(Language) }, { additionalProperties: false }),
      errors: [...PARTY_INPUT, 'subscriber_exists'],
      success: [{ status: 201, description: 'The subscriber.', schema: PartyOutput }],
      async handle({ body }) {
        return answer(partyJson(await money.registerSubscriber({ ...body, kyc_tier: body.kyc_tier as KycTier | undefined })), 201);
      },
    }),
    route({
      method: 'GET', url: '/money/subscribers/:msisdn', operationId: 'getSubscriber', access: 'read', summary: 'A subscriber by MSISDN, with PIN state (never the PIN).',
      params: Type.Object({ msisdn: Msisdn }, { additionalProperties: false }), errors: [...PARTY_INPUT, 'subscriber_not_found'],
      success: ok(Type.Object({ party: PartyOutput, pin: Type.Object({ set: Type.Boolean(), locked: Type.Boolean(), failures: Type.Integer() }) }), 'The subscriber.'),
      async handle({ params }) {
        return answer({ party: partyJson(money.findSubscriber(params.msisdn)), pin: money.pinState(params.msisdn) });
      },
    }),
    route({
      method: 'POST', url: '/money/subscribers/:msisdn', operationId: 'updateSubscriber', access: 'write', writes: true,
      summary: 'Change a subscriber\'s status (active, suspended, closed), KYC tier, language or name.',
      params: Type.Object({ msisdn: Msisdn }, { additionalProperties: false }),
      body: Type.Object({ status: Type.Optional(Status), kyc_tier: Type.Optional(Tier), language: Type.Optional(Language), name: Type.Optional(Name) }, { additionalProperties: false }),
      errors: [...PARTY_INPUT, 'subscriber_not_found', 'party_closed', 'balance_not_zero'],
      success: ok(PartyOutput, 'The subscriber as changed.'),
      async handle({ params, body }) {
        return answer(partyJson(await money.updateSubscriber(params.msisdn, { ...body, kyc_tier: body.kyc_tier as KycTier | undefined })));
      },
    }),
    ...(['agent', 'merchant', 'bank'] as const).map((kind) => route({
      method: 'POST', url: `/money/${kind}s`, operationId: `register${kind[0].toUpperCase()}${kind.slice(1)}`, access: 'write', writes: true,
      summary: {
        agent: 'Register an agent (float and commission accounts per currency) by short code.',
        merchant: 'Register a merchant (a till per currency), paid by its short code.',
        bank: 'Register a bank (a settlement trust account per currency; its debit balance is the e-money issued).',
      }[kind],
      body: Type.Object({ code: Code, name: Name, msisdn: Type.Optional(Msisdn) }, { additionalProperties: false }),
      errors: [...PARTY_INPUT, 'party_exists'],
      success: [{ status: 201, description: 'The party.', schema: PartyOutput }],
      async handle({ body }) {
        const register = { agent: money.registerAgent, merchant: money.registerMerchant, bank: money.registerBank }[kind];
        return answer(partyJson(await register.call(money, body)), 201);
      },
    })),
    ...(['agent', 'merchant', 'bank'] as const).map((kind) => route({
      method: 'POST', url: `/money/${kind}s/:code`, operationId: `update${kind[0].toUpperCase()}${kind.slice(1)}`, access: 'write', writes: true,
      summary: `Suspend, reactivate, close or rename a${kind === 'agent' ? 'n' : ''} ${kind}. A closed one stays closed.`,
      params: Type.Object({ code: Code }, { additionalProperties: false }),
      body: Type.Object({ status: Type.Optional(Status), name: Type.Optional(Name) }, { additionalProperties: false }),
      errors: [`${kind}_not_found`, 'party_closed', 'balance_not_zero'],
      success: ok(PartyOutput, 'The party as changed.'),
      async handle({ params, body }) {
        return answer(partyJson(await money.updateBusiness(kind, params.code, body)));
      },
    })),
  ];
}

function pinRoutes(money: MoneyModule): Route[] {
  return [
    route({
      method: 'POST', url: '/money/pin', operationId: 'setPin', access: 'write', writes: true,
      summary: 'Set the subscriber\'s PIN (the first time), or change it with the old PIN.',
      body: Type.Object({ msisdn: Msisdn, pin: Pin, old_pin: Type.Optional(Pin) }, { additionalProperties: false }),
      errors: [...PAYER, 'pin_invalid', 'pin_too_simple', 'pin_already_set'],
      success: ok(PinOutput, 'The PIN is set.'),
      async handle({ body }) {
        await money.setPin(body);
        return answer({ pin: 'set' });
      },
    }),
    route({
      method: 'POST', url: '/money/pin/unlock', operationId: 'unlockPin', access: 'write', writes: true,
      summary: 'Operator: unlock a PIN locked after 3 wrong entries; with reset, remove it so the subscriber sets a new one.',
      body: Type.Object({ msisdn: Msisdn, reset: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      errors: [...PARTY_INPUT, 'subscriber_not_found', 'pin_not_set'],
      success: ok(PinOutput, 'unlocked or reset.'),
      async handle({ body }) {
        return answer(await money.unlockPin(body));
      },
    }),
  ];
}

function txRoute(options: {
  url: string; operationId: string; summary: string; body: TSchema; errors: readonly RequestErrorCode[]; call: (body: any) => Promise<MoneyTransaction>;
}): Route {
  return route({
    method: 'POST', url: options.url, operationId: options.operationId, summary: options.summary, access: 'write', writes: true,
    body: options.body, errors: options.errors,
    success: ok(TransactionOutput, 'The transaction (the same answer for a retry with the same reference).'),
    async handle({ body }) {
      return answer(transactionJson(await options.call(body)));
    },
  });
}

const money$ = (body: Record<string, unknown>) => ({ ...body, amount: BigInt(body.amount as string) });

function serviceRoutes(money: MoneyModule): Route[] {
  const obj = (fields: Record<string, TSchema>) => Type.Object(fields, { additionalProperties: false });
  return [
    txRoute({
      url: '/money/send', operationId: 'sendMoney', summary: 'Send money to another subscriber (P2P); the sender pays the fee.',
      body: obj({ reference: Reference, from: Msisdn, to: Msisdn, amount: Amount, currency: Currency, pin: Pin }),
      errors: [...MONEY, ...PAYER, ...SPEND, 'recipient_not_found', 'recipient_unavailable', 'recipient_exceeds_balance_cap', 'same_account'],
      call: (b) => money.sendMoney(money$(b) as never),
    }),
    txRoute({
      url: '/money/cash-in', operationId: 'cashIn', summary: 'Agent cash-in: the agent\'s float pays the subscriber\'s wallet; the agent earns commission.',
      body: obj({ reference: Reference, agent: Code, to: Msisdn, amount: Amount, currency: Currency }),
      errors: [...MONEY, 'msisdn_invalid', 'subscriber_not_found', 'subscriber_suspended', 'subscriber_closed', 'agent_not_found', 'agent_unavailable', 'insufficient_float', 'exceeds_balance_cap'],
      call: (b) => money.cashIn(money$(b) as never),
    }),
    txRoute({
      url: '/money/cash-out', operationId: 'cashOut', summary: 'Agent cash-out, step 1: the subscriber confirms with the PIN; amount and fee are reserved until the agent completes it or it expires.',
      body: obj({ reference: Reference, from: Msisdn, agent: Code, amount: Amount, currency: Currency, pin: Pin }),
      errors: [...MONEY, ...PAYER, ...SPEND, 'agent_not_found', 'agent_unavailable'],
      call: (b) => money.cashOut(money$(b) as never),
    }),
    ...(['complete', 'cancel'] as const).map((action) => txRoute({
      url: `/money/cash-out/${action}`, operationId: `${action}CashOut`,
      summary: action === 'complete' ? 'Agent cash-out, step 2: the agent handed over the cash; the reservation is posted and commission paid.' : 'The agent cancels a pending cash-out; the reservation is released.',
      body: obj({ reference: Reference, agent: Code }),
      errors: ['reference_invalid', 'agent_not_found', 'agent_unavailable', 'cash_out_not_found', 'cash_out_wrong_agent', 'cash_out_expired', 'cash_out_closed'],
      call: (b) => (action === 'complete' ? money.completeCashOut(b) : money.cancelCashOut(b)),
    })),
    txRoute({
      url: '/money/pay', operationId: 'payMerchant', summary: 'Pay a merchant by its short code; the merchant bears the fee.',
      body: obj({ reference: Reference, from: Msisdn, merchant: Code, amount: Amount, currency: Currency, pin: Pin }),
      errors: [...MONEY, ...PAYER, ...SPEND, 'merchant_not_found', 'merchant_unavailable'],
      call: (b) => money.payMerchant(money$(b) as never),
    }),
    txRoute({
      url: '/money/bank-to-wallet', operationId: 'bankToWallet', summary: 'A bank pays into a subscriber\'s wallet.',
      body: obj({ reference: Reference, bank: Code, to: Msisdn, amount: Amount, currency: Currency }),
      errors: [...MONEY, 'msisdn_invalid', 'subscriber_not_found', 'subscriber_suspended', 'subscriber_closed', 'bank_not_found', 'bank_unavailable', 'exceeds_balance_cap'],
      call: (b) => money.bankToWallet(money$(b) as never),
    }),
    txRoute({
      url: '/money/wallet-to-bank', operationId: 'walletToBank', summary: 'A subscriber sends money from the wallet to the bank; the sender pays the fee.',
      body: obj({ reference: Reference, from: Msisdn, bank: Code, amount: Amount, currency: Currency, pin: Pin }),
      errors: [...MONEY, ...PAYER, ...SPEND, 'bank_not_found', 'bank_unavailable'],
      call: (b) => money.walletToBank(money$(b) as never),
    }),
    txRoute({
      url: '/money/airtime', operationId: 'buyAirtime', summary: 'Buy airtime for your own line or another Zimbabwean number, paid from the wallet.',
      body: obj({ reference: Reference, from: Msisdn, to: Type.Optional(Msisdn), amount: Amount, currency: Currency, pin: Pin }),
      errors: [...MONEY, ...PAYER, ...SPEND, 'airtime_number_invalid'],
      call: (b) => money.buyAirtime(money$(b) as never),
    }),
    txRoute({
      url: '/money/float', operationId: 'buyFloat', summary: 'Operator: a bank sells e-money float to an agent.',
      body: obj({ reference: Reference, bank: Code, agent: Code, amount: Amount, currency: Currency }),
      errors: [...MONEY, 'bank_not_found', 'bank_unavailable', 'agent_not_found', 'agent_unavailable'],
      call: (b) => money.buyFloat(money$(b) as never),
    }),
    txRoute({
      url: '/money/reversals', operationId: 'reverseTransaction', summary: 'Operator: reverse a completed transaction with new transfers, giving a reason; at most once.',
      body: obj({ reference: Reference, original: Reference, reason: Type.String({ minLength: 1, maxLength: 200 }) }),
      errors: ['reference_invalid', 'reference_reused', 'transaction_not_found', 'reversal_not_allowed', 'transaction_already_reversed', 'reversal_insufficient_funds'],
      call: (b) => money.reverse(b),
    }),
  ];
}

function accountRoutes(money: MoneyModule): Route[] {
  const PinBody = Type.Object({ msisdn: Msisdn, pin: Pin }, { additionalProperties: false });
  return [
    route({
      method: 'POST', url: '/money/balance', operationId: 'balanceEnquiry', access: 'write', writes: true,
      summary: 'Balance enquiry with the PIN: every asset the subscriber holds (wallets and airtime), available amounts.',
      body: PinBody, errors: PAYER, success: ok(BalanceOutput, 'The balances.'),
      async handle({ body }) {
        const { msisdn, balances } = await money.balance(body);
        return answer({ msisdn, balances: balances.map((b) => ({ asset: b.asset, account_id: b.account_id, available: b.available.toString(), display: formatAmount(b.available, b.scale) })) });
      },
    }),
    route({
      method: 'POST', url: '/money/statement', operationId: 'miniStatement', access: 'write', writes: true,
      summary: 'Mini statement with the PIN: the last 5 transactions, newest first, with the lines as USSD shows them.',
      body: PinBody, errors: PAYER, success: ok(StatementOutput, 'The statement.'),
      async handle({ body }) {
        return answer(await money.miniStatement(body));
      },
    }),
    route({
      method: 'GET', url: '/money/transactions/:reference', operationId: 'getMoneyTransaction', access: 'read',
      summary: 'A mobile money transaction by its client reference.',
      params: Type.Object({ reference: Reference }, { additionalProperties: false }), errors: ['transaction_not_found'],
      success: ok(TransactionOutput, 'The transaction.'),
      async handle({ params }) {
        const tx = await money.transaction(params.reference);
        if (!tx) throw new RequestError('transaction_not_found');
        return answer(transactionJson(tx));
      },
    }),
  ];
}
