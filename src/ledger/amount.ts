// Amounts are bigint in an asset's smallest unit. The bound is the largest signed 64-bit
// integer so every amount and every balance fits SQLite's INTEGER and PostgreSQL's bigint.
export const AMOUNT_MAX = (1n << 63n) - 1n;

const DIGITS = /^(0|[1-9][0-9]{0,18})$/;

/** Parses a decimal string of digits; undefined when it is not one or is past AMOUNT_MAX. */
export function parseAmount(text: string): bigint | undefined {
  if (!DIGITS.test(text)) return undefined;
  const value = BigInt(text);
  return value <= AMOUNT_MAX ? value : undefined;
}

/** Formats a minor-unit amount with the asset's scale: formatAmount(1234n, 2) === "12.34". */
export function formatAmount(amount: bigint, scale: number): string {
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString().padStart(scale + 1, '0');
  const whole = scale === 0 ? digits : digits.slice(0, -scale);
  const fraction = scale === 0 ? '' : '.' + digits.slice(-scale);
  return (negative ? '-' : '') + whole + fraction;
}
