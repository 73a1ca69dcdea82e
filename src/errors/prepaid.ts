// Request error codes of prepaid: vouchers, bundles, charging (issue 5). Merged into REQUEST_ERRORS by registry.ts;
// each is { status, message }: a stable code and the human sentence every channel shows.
import type { Entry } from './entry.js';

export const PREPAID_ERRORS = {
  voucher_pin_invalid: { status: 400, message: 'A voucher PIN is 16 digits.' },
  voucher_not_found: { status: 404, message: 'No voucher has that PIN (or that serial). Check the digits and try again.' },
  voucher_used: { status: 409, message: 'That voucher has already been used.' },
  voucher_expired: { status: 409, message: 'That voucher has expired.' },
  voucher_blocked: { status: 409, message: 'That voucher is blocked by the operator.' },
  voucher_tries_exceeded: { status: 429, message: 'Too many wrong voucher PINs from this number; try again later.' },
  voucher_batch_invalid: { status: 400, message: 'A voucher batch needs a face value above zero, a count from 1 to the limit and an expiry date in the future.' },
  voucher_import_invalid: { status: 400, message: 'A legacy voucher needs a serial, a 16-digit PIN, a face value, a status of NEW, USED or EXPIRED (USED with used_by) and an expiry date.' },
  bundle_not_found: { status: 404, message: 'No bundle has that code.' },
  bundle_unavailable: { status: 409, message: 'That bundle is no longer sold.' },
  bundle_invalid: { status: 400, message: 'A bundle needs a code, a name, a kind (data, voice or sms), a price and units above zero, a validity of 1 hour to 366 days, and a window given as HH:MM to HH:MM if any.' },
  bundle_reference_conflict: { status: 409, message: 'That purchase reference was already used for a different purchase.' },
  insufficient_airtime: { status: 409, message: 'There is not enough airtime for that.' },
  insufficient_wallet_balance: { status: 409, message: 'There is not enough money in the wallet for that.' },
  wallet_unavailable: { status: 409, message: 'This number has no wallet to pay from.' },
  legacy_bucket_invalid: { status: 400, message: 'A legacy bucket needs an id, a kind (data, voice, sms or airtime), an amount above zero and, for a bundle, a name and an expiry in the future.' },
  session_not_found: { status: 404, message: 'No charging session has that id (it may have ended or expired).' },
  session_expired: { status: 410, message: 'The charging session was not updated within its validity time; its reservation was released.' },
  charging_request_out_of_order: { status: 409, message: 'The request number is not the next one for this session (or the session id is taken).' },
  credit_limit_reached: { status: 409, message: 'There are no bundle units or airtime left for this service.' },
} as const satisfies Record<string, Entry>;
