// The HTTP API's TypeBox schemas: the same objects validate requests and make /openapi.json.
// The schemas check shape and the limits only the API knows (amount syntax, batch size); the
// ledger checks meaning (id syntax, code range, user_data length) and answers per event.
import { FormatRegistry, Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Config } from '../../config.js';
import { ACCOUNT_RESULT_CODES, TRANSFER_RESULT_CODES } from '../../errors/registry.js';
import { parseAmount } from '../../ledger/amount.js';
import { AccountFlag, CLIENT_TRANSFER_FLAGS, TransferFlag, type AccountFlagName } from '../../ledger/types.js';

FormatRegistry.Set('amount', (value) => parseAmount(value) !== undefined);

const AMOUNT_DESCRIPTION = 'A string of decimal digits in the asset\'s smallest unit, at most 9223372036854775807 (no sign, point or exponent).';

function literals<const T extends readonly string[]>(names: T, options: { description?: string } = {}) {
  return Type.Union(names.map((name) => Type.Literal(name)), options);
}

const Id = Type.String({
  minLength: 1,
  description: 'Chosen by the client; the idempotency key. 1 to 64 letters, digits, dots, colons, dashes or underscores, starting with a letter or digit (else id_invalid).',
});
const AccountId = Type.String({ minLength: 1, description: 'An account id.' });
function amount(description: string) {
  return Type.String({ format: 'amount', pattern: '^(0|[1-9][0-9]{0,18})$', description, examples: ['12500'] });
}
const Code = Type.Integer({ description: 'What the account or transfer is for, in the operator\'s chart: 1 to 65535 (else code_invalid).' });
const UserData = Type.Union([Type.String(), Type.Null()], { description: 'Free text for the client, at most 128 characters (else user_data_too_long).' });
const AssetCode = Type.String({ minLength: 1, description: 'An asset code from GET /assets.' });

const BOUND_FLAGS = ['debits_must_not_exceed_credits', 'credits_must_not_exceed_debits'] as const satisfies readonly AccountFlagName[];
const ACCOUNT_FLAG_NAMES = Object.keys(AccountFlag) as AccountFlagName[];
const TRANSFER_FLAG_NAMES = Object.keys(TransferFlag) as (keyof typeof TransferFlag)[];

function flagsInput<const T extends readonly string[]>(names: T, description: string) {
  return Type.Array(literals(names), { uniqueItems: true, maxItems: names.length, description });
}

function accountInput<const T extends readonly string[]>(flagNames: T) {
  return Type.Object({
    id: Id,
    asset: AssetCode,
    code: Code,
    flags: Type.Optional(flagsInput(flagNames, 'debits_must_not_exceed_credits: a wallet that may not be overdrawn; credits_must_not_exceed_debits: an asset-side account (e.g. a bank trust account).')),
    user_data: Type.Optional(UserData),
  }, { additionalProperties: false });
}

export const AccountInput = accountInput(BOUND_FLAGS);
export const AccountBatchItem = accountInput([...BOUND_FLAGS, 'linked'] as const);

export const TransferInput = Type.Object({
  id: Id,
  debit_account_id: Type.Optional(AccountId),
  credit_account_id: Type.Optional(AccountId),
  amount: Type.Optional(amount(AMOUNT_DESCRIPTION)),
  asset: Type.Optional(AssetCode),
  code: Type.Optional(Code),
  flags: Type.Optional(flagsInput(CLIENT_TRANSFER_FLAGS, 'linked: applied only if the next transfer succeeds too; pending: reserve now, post or void later.')),
  pending_id: Type.Optional(Type.Union([AccountId, Type.Null()], { description: 'On a post or void: the pending transfer\'s id.' })),
  timeout: Type.Optional(Type.Integer({ description: 'On a pending transfer: seconds before it expires, 0 to 315360000; 0 means never.' })),
  user_data: Type.Optional(UserData),
  reversal_of: Type.Optional(Type.Union([AccountId, Type.Null()], { description: 'The id of a posted transfer this one reverses (accounts swapped, same asset).' })),
}, { additionalProperties: false });

export const PostPendingInput = Type.Object({
  id: Id,
  amount: Type.Optional(amount(`${AMOUNT_DESCRIPTION} Leave out to post the whole pending amount.`)),
  user_data: Type.Optional(UserData),
}, { additionalProperties: false });

export const VoidPendingInput = Type.Object({ id: Id }, { additionalProperties: false });

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

export const BalanceQuery = Type.Object({
  at: Type.String({ minLength: 1, maxLength: 64, description: 'RFC 3339 date-time with an offset or Z (encode + as %2B), or integer nanoseconds since the epoch.' }),
}, { additionalProperties: false });

/** Schemas whose limits come from the configuration. */
export function configuredSchemas(config: Pick<Config, 'batch_events_max' | 'page_size_max' | 'page_size_default'>) {
  const batch = { minItems: 1, maxItems: config.batch_events_max };
  return {
    AccountBatch: Type.Object({ accounts: Type.Array(AccountBatchItem, batch) }, { additionalProperties: false }),
    TransferBatch: Type.Object({ transfers: Type.Array(TransferInput, batch) }, { additionalProperties: false }),
    HistoryQuery: Type.Object({
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: config.page_size_max, default: config.page_size_default })),
      before: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'The `next` cursor of the previous page.' })),
    }, { additionalProperties: false }),
  };
}

export type AccountInputBody = Static<typeof AccountInput> | Static<typeof AccountBatchItem>;
export type TransferInputBody = Static<typeof TransferInput>;
export type PostPendingBody = Static<typeof PostPendingInput>;

// Responses. Amounts and balances are decimal strings: JSON numbers lose precision past 2^53.

const Digits = Type.String({ pattern: '^[0-9]+$' });
const SignedDigits = Type.String({ pattern: '^-?[0-9]+$', description: 'Negative only on an account with no bound.' });
const Display = Type.String({ pattern: '^-?[0-9]+(\\.[0-9]+)?$', description: 'The amount with the asset\'s decimal point, for people.' });
const Nanoseconds = Type.String({ pattern: '^[0-9]+$', description: 'Nanoseconds since the epoch (UTC); unique per record.' });
const Harare = Type.String({ description: 'Africa/Harare time (+02:00), to the nanosecond.', examples: ['2026-11-23T02:47:01.123456789+02:00'] });

const balanceFields = {
  debits_pending: Digits,
  debits_posted: Digits,
  credits_pending: Digits,
  credits_posted: Digits,
  available: SignedDigits,
  available_display: Display,
};

export const AssetOutput = Type.Object({ code: Type.String(), scale: Type.Integer(), name: Type.String() });
export const AssetsOutput = Type.Object({ assets: Type.Array(AssetOutput) });

export const AccountOutput = Type.Object({
  id: Type.String(),
  asset: Type.Object({ code: Type.String(), scale: Type.Integer() }),
  code: Type.Integer(),
  flags: Type.Array(literals(ACCOUNT_FLAG_NAMES)),
  user_data: Type.Union([Type.String(), Type.Null()]),
  created: Harare,
  timestamp: Nanoseconds,
  ...balanceFields,
});

export const TransferOutput = Type.Object({
  id: Type.String(),
  created: Harare,
  timestamp: Nanoseconds,
  debit_account_id: Type.String(),
  credit_account_id: Type.String(),
  amount: Digits,
  amount_display: Display,
  pending_id: Type.Union([Type.String(), Type.Null()]),
  pending_amount: Type.String({ pattern: '^[0-9]+$', description: 'On a post, void or expiry: the pending amount it released.' }),
  asset: Type.String(),
  code: Type.Integer(),
  flags: Type.Array(literals(TRANSFER_FLAG_NAMES), { description: 'expiry marks the record the ledger writes when a pending transfer times out.' }),
  timeout: Type.Integer(),
  user_data: Type.Union([Type.String(), Type.Null()]),
  reversal_of: Type.Union([Type.String(), Type.Null()]),
});

export const HistoryOutput = Type.Object({
  transfers: Type.Array(Type.Object({
    ...TransferOutput.properties,
    after: Type.Object(balanceFields, { description: 'This account\'s balances right after the transfer.' }),
  })),
  next: Type.Optional(Type.String({ description: 'Pass as `before` for the next, older page; absent on the last page.' })),
});

export const BalanceOutput = Type.Object({ account_id: Type.String(), at: Harare, timestamp: Nanoseconds, ...balanceFields });

function batchOutput(codes: readonly string[]) {
  return Type.Object({
    results: Type.Array(Type.Object({ index: Type.Integer(), id: Type.String(), result: literals(codes) }), {
      description: 'One result per event, in order. ok and exists are successes; any other result means that event changed nothing.',
    }),
  });
}

export const AccountBatchOutput = batchOutput(ACCOUNT_RESULT_CODES);
export const TransferBatchOutput = batchOutput(TRANSFER_RESULT_CODES);
/** Written once in /openapi.json and referenced where used. */
export const NAMED_SCHEMAS = { Account: AccountOutput, Transfer: TransferOutput, AccountInput, TransferInput };

export const HealthOutput = Type.Object({ status: Type.Literal('ok') });

export function errorOutput(codes: readonly string[]): TSchema {
  return Type.Object({
    code: literals(codes),
    message: Type.String(),
    details: Type.Optional(Type.Unknown({ description: 'What was wrong, where it helps: the failing schema paths.' })),
  });
}
