// One registry of every code mari answers with: the ledger's per-event results (in order of
// precedence, as TigerBeetle orders create_transfers results) and the API's request errors.
// The OpenAPI document, the types and the docs are generated from here; a test keeps them in step.

import type { Entry } from './entry.js';
import { STORE_ERRORS } from './store.js';
import { MONEY_ERRORS } from './money.js';
import { PREPAID_ERRORS } from './prepaid.js';
import { CHANNELS_ERRORS } from './channels.js';
import { CUTOVER_ERRORS } from './cutover.js';

function registry<const T extends Record<string, Entry>>(entries: T): T {
  return Object.freeze(entries);
}

/** Results of creating an account, in precedence order. `ok` and `exists` are successes. */
export const ACCOUNT_RESULTS = registry({
  ok: { status: 201, message: 'The account was created.' },
  linked_event_failed: { status: 422, message: 'Another account in the same linked chain failed, so this one was not created.' },
  linked_event_chain_open: { status: 422, message: 'The last account of the batch is flagged linked, so its chain never closes.' },
  id_invalid: { status: 422, message: 'The id must be 1 to 64 letters, digits, dots, colons, dashes or underscores, starting with a letter or digit.' },
  reserved_flag: { status: 422, message: 'A flag is set that clients may not set.' },
  flags_are_mutually_exclusive: { status: 422, message: 'An account cannot be bounded both ways (debits_must_not_exceed_credits and credits_must_not_exceed_debits).' },
  code_invalid: { status: 422, message: 'The code must be an integer from 1 to 65535.' },
  user_data_too_long: { status: 422, message: 'user_data is longer than 128 characters.' },
  user_data_invalid: { status: 422, message: 'user_data is not well-formed Unicode text (it has a lone surrogate).' },
  asset_not_found: { status: 422, message: 'No asset has that code.' },
  exists_with_different_flags: { status: 409, message: 'An account with this id exists with different flags.' },
  exists_with_different_asset: { status: 409, message: 'An account with this id exists with a different asset.' },
  exists_with_different_code: { status: 409, message: 'An account with this id exists with a different code.' },
  exists_with_different_user_data: { status: 409, message: 'An account with this id exists with different user_data.' },
  exists: { status: 200, message: 'An account with this id and the same fields already exists; nothing changed.' },
});

/** Results of creating a transfer, in precedence order. `ok` and `exists` are successes. */
export const TRANSFER_RESULTS = registry({
  ok: { status: 201, message: 'The transfer was committed.' },
  linked_event_failed: { status: 422, message: 'Another transfer in the same linked chain failed, so this one was not applied.' },
  linked_event_chain_open: { status: 422, message: 'The last transfer of the batch is flagged linked, so its chain never closes.' },
  id_invalid: { status: 422, message: 'The id must be 1 to 64 letters, digits, dots, colons, dashes or underscores, starting with a letter or digit.' },
  reserved_flag: { status: 422, message: 'A flag is set that clients may not set (such as the ledger\'s own expiry flag).' },
  flags_are_mutually_exclusive: { status: 422, message: 'A transfer can be at most one of pending, post_pending_transfer and void_pending_transfer.' },
  pending_id_required: { status: 422, message: 'A post or void must name the pending transfer in pending_id.' },
  pending_id_must_be_different: { status: 422, message: 'pending_id must not be the transfer\'s own id.' },
  debit_account_id_required: { status: 422, message: 'debit_account_id is required.' },
  credit_account_id_required: { status: 422, message: 'credit_account_id is required.' },
  accounts_must_be_different: { status: 422, message: 'The debit and credit accounts must be different.' },
  pending_id_must_be_empty: { status: 422, message: 'Only a post or a void may name a pending transfer.' },
  timeout_reserved_for_pending_transfer: { status: 422, message: 'Only a pending transfer may have a timeout.' },
  timeout_invalid: { status: 422, message: 'timeout must be a whole number of seconds from 0 to 315360000.' },
  amount_required: { status: 422, message: 'amount is required.' },
  amount_must_not_be_zero: { status: 422, message: 'The amount must be greater than zero.' },
  amount_exceeds_maximum: { status: 422, message: 'The amount is larger than 9223372036854775807, the largest the ledger holds.' },
  asset_required: { status: 422, message: 'asset is required.' },
  code_invalid: { status: 422, message: 'The code must be an integer from 1 to 65535.' },
  user_data_too_long: { status: 422, message: 'user_data is longer than 128 characters.' },
  user_data_invalid: { status: 422, message: 'user_data is not well-formed Unicode text (it has a lone surrogate).' },
  reversal_not_allowed_on_two_phase: { status: 422, message: 'A reversal is a plain transfer: it cannot be pending, a post or a void.' },
  debit_account_not_found: { status: 422, message: 'No account has the debit_account_id.' },
  credit_account_not_found: { status: 422, message: 'No account has the credit_account_id.' },
  accounts_must_have_the_same_asset: { status: 422, message: 'The debit and credit accounts hold different assets.' },
  transfer_must_have_the_same_asset_as_accounts: { status: 422, message: 'The transfer\'s asset is not the asset of its accounts.' },
  pending_transfer_not_found: { status: 422, message: 'No transfer has the pending_id.' },
  pending_transfer_not_pending: { status: 422, message: 'The transfer named by pending_id is not a pending transfer.' },
  pending_transfer_has_different_debit_account_id: { status: 422, message: 'The debit account differs from the pending transfer\'s.' },
  pending_transfer_has_different_credit_account_id: { status: 422, message: 'The credit account differs from the pending transfer\'s.' },
  pending_transfer_has_different_asset: { status: 422, message: 'The asset differs from the pending transfer\'s.' },
  pending_transfer_has_different_code: { status: 422, message: 'The code differs from the pending transfer\'s.' },
  exceeds_pending_transfer_amount: { status: 422, message: 'The amount to post is more than the pending transfer reserved.' },
  pending_transfer_has_different_amount: { status: 422, message: 'A void must release the whole pending amount (or leave amount out).' },
  exists_with_different_flags: { status: 409, message: 'A transfer with this id exists with different flags.' },
  exists_with_different_pending_id: { status: 409, message: 'A transfer with this id exists with a different pending_id.' },
  exists_with_different_timeout: { status: 409, message: 'A transfer with this id exists with a different timeout.' },
  exists_with_different_debit_account_id: { status: 409, message: 'A transfer with this id exists with a different debit account.' },
  exists_with_different_credit_account_id: { status: 409, message: 'A transfer with this id exists with a different credit account.' },
  exists_with_different_amount: { status: 409, message: 'A transfer with this id exists with a different amount.' },
  exists_with_different_asset: { status: 409, message: 'A transfer with this id exists with a different asset.' },
  exists_with_different_code: { status: 409, message: 'A transfer with this id exists with a different code.' },
  exists_with_different_user_data: { status: 409, message: 'A transfer with this id exists with different user_data.' },
  exists_with_different_reversal_of: { status: 409, message: 'A transfer with this id exists with a different reversal_of.' },
  exists: { status: 200, message: 'A transfer with this id and the same fields already exists; nothing changed.' },
  pending_transfer_already_posted: { status: 409, message: 'The pending transfer was already posted.' },
  pending_transfer_already_voided: { status: 409, message: 'The pending transfer was already voided.' },
  pending_transfer_expired: { status: 409, message: 'The pending transfer expired and its reservation was released.' },
  reversal_original_not_found: { status: 422, message: 'No transfer has the id named in reversal_of.' },
  reversal_original_not_posted: { status: 422, message: 'Only a posted transfer can be reversed (not a pending one, a void or an expiry).' },
  reversal_must_swap_accounts: { status: 422, message: 'A reversal must debit the original\'s credit account and credit its debit account, in the same asset.' },
  reversal_exceeds_original_amount: { status: 422, message: 'A reversal cannot move more than the original transfer did.' },
  reversal_already_reversed: { status: 409, message: 'That transfer has already been reversed.' },
  overflows_debits_pending: { status: 422, message: 'The debit account\'s pending debits would pass the largest amount the ledger holds.' },
  overflows_credits_pending: { status: 422, message: 'The credit account\'s pending credits would pass the largest amount the ledger holds.' },
  overflows_debits_posted: { status: 422, message: 'The debit account\'s posted debits would pass the largest amount the ledger holds.' },
  overflows_credits_posted: { status: 422, message: 'The credit account\'s posted credits would pass the largest amount the ledger holds.' },
  overflows_debits: { status: 422, message: 'The debit account\'s debits (pending and posted) would pass the largest amount the ledger holds.' },
  overflows_credits: { status: 422, message: 'The credit account\'s credits (pending and posted) would pass the largest amount the ledger holds.' },
  exceeds_credits: { status: 422, message: 'The debit account does not have enough available to cover the amount.' },
  exceeds_debits: { status: 422, message: 'The credit account may not be credited past its debits.' },
});

/** Errors of a request as a whole: nothing in it was applied. */
export const REQUEST_ERRORS = registry({
  invalid_json: { status: 400, message: 'The body is not valid JSON.' },
  invalid_request: { status: 400, message: 'The request does not match the schema (see details).' },
  unsupported_media_type: { status: 415, message: 'The body must be application/json.' },
  body_too_large: { status: 413, message: 'The body is larger than the configured limit.' },
  batch_too_large: { status: 413, message: 'The batch has more events than the configured limit.' },
  batch_empty: { status: 400, message: 'A batch needs at least one event.' },
  amount_invalid: { status: 400, message: 'Amounts are strings of decimal digits in the asset\'s smallest unit, no larger than 9223372036854775807.' },
  timestamp_invalid: { status: 400, message: 'Timestamps are RFC 3339 date-times or integer nanoseconds since the epoch.' },
  cursor_invalid: { status: 400, message: 'The page cursor is not one this server issued.' },
  unauthorized: { status: 401, message: 'A valid API key is required (Authorization: Bearer <key>).' },
  forbidden: { status: 403, message: 'This API key\'s role may not do that.' },
  account_not_found: { status: 404, message: 'No account has that id.' },
  transfer_not_found: { status: 404, message: 'No transfer has that id.' },
  route_not_found: { status: 404, message: 'No such route.' },
  method_not_allowed: { status: 405, message: 'That method is not allowed on this route.' },
  request_timeout: { status: 408, message: 'The request was not received in time.' },
  headers_too_large: { status: 431, message: 'The request headers are larger than the server accepts.' },
  writer_unavailable: { status: 503, message: 'The ledger writer is not available; retry with the same ids.' },
  internal_error: { status: 500, message: 'mari failed unexpectedly; nothing was acknowledged. Retry with the same ids.' },
  // Each area keeps its codes in its own file; they are one registry all the same.
  ...STORE_ERRORS,
  ...MONEY_ERRORS,
  ...PREPAID_ERRORS,
  ...CHANNELS_ERRORS,
  ...CUTOVER_ERRORS,
});

export type AccountResult = keyof typeof ACCOUNT_RESULTS;
export type TransferResult = keyof typeof TRANSFER_RESULTS;
export type RequestErrorCode = keyof typeof REQUEST_ERRORS;
export type ErrorCode = AccountResult | TransferResult | RequestErrorCode;

export const TRANSFER_RESULT_CODES = Object.keys(TRANSFER_RESULTS) as TransferResult[];
export const ACCOUNT_RESULT_CODES = Object.keys(ACCOUNT_RESULTS) as AccountResult[];
export const REQUEST_ERROR_CODES = Object.keys(REQUEST_ERRORS) as RequestErrorCode[];

export function isSuccess(result: AccountResult | TransferResult): boolean {
  return result === 'ok' || result === 'exists';
}

/** An error of a whole request, thrown by channels and mapped to its HTTP status. */
export class RequestError extends Error {
  readonly code: RequestErrorCode;
  readonly status: number;
  readonly details: unknown;
  constructor(code: RequestErrorCode, details?: unknown, message?: string) {
    super(message ?? REQUEST_ERRORS[code].message);
    this.code = code;
    this.status = REQUEST_ERRORS[code].status;
    this.details = details;
  }
}
