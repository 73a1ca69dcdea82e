// MSISDNs: every way a number is written (0772123456, 263772123456, +263 77 212 3456,
// 00263772123456) becomes one E.164 form, +263772123456. Zimbabwean numbers must be mobile
// (71 NetOne, 73 Telecel, 77 and 78 Econet); other countries' numbers are checked for E.164
// shape only, since their mobile ranges are not ours to know.
import { RequestError } from '../errors/registry.js';

const ZW_MOBILE = /^2637[1378]\d{7}$/;
const E164_DIGITS = /^[1-9]\d{7,14}$/;

export type Msisdn = string & { readonly __msisdn: unique symbol };

/** The E.164 form (with '+'), or undefined if `input` is not a valid mobile number. */
export function normalizeMsisdn(input: string): Msisdn | undefined {
  if (typeof input !== 'string' || input.length > 32) return undefined;
  // Spaces, dashes, dots and brackets are how people write numbers, not part of them.
  let digits = input.trim().replace(/[\s\-().]/g, '');
  if (digits.startsWith('+')) digits = digits.slice(1);
  else if (digits.startsWith('00')) digits = digits.slice(2);
  else if (/^0\d{9}$/.test(digits)) digits = '263' + digits.slice(1);
  else if (/^7[1378]\d{7}$/.test(digits)) digits = '263' + digits;
  if (!/^\d+$/.test(digits)) return undefined;
  if (digits.startsWith('263')) return ZW_MOBILE.test(digits) ? (`+${digits}` as Msisdn) : undefined;
  return E164_DIGITS.test(digits) ? (`+${digits}` as Msisdn) : undefined;
}

/** Like normalizeMsisdn, refusing with `msisdn_invalid` (and the input in the details). */
export function requireMsisdn(input: string, field = 'msisdn'): Msisdn {
  const msisdn = normalizeMsisdn(input);
  if (!msisdn) throw new RequestError('msisdn_invalid', { field, value: String(input).slice(0, 32) });
  return msisdn;
}

/** The digits alone: ledger ids cannot start with '+'. */
export function msisdnDigits(msisdn: Msisdn): string {
  return msisdn.slice(1);
}

/** How a number is shown to its owner's counterpart: +263772…456, enough to recognise, not to harvest. */
export function maskMsisdn(msisdn: Msisdn): string {
  return `${msisdn.slice(0, 7)}…${msisdn.slice(-3)}`;
}
