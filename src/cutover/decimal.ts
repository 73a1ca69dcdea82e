// Exact decimals: legacy DECIMAL strings become bigint minor units at a scale, and back, with
// no float on the way (a float would lose a cent somewhere in a million wallets).

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** Parses '12.3' at scale 2 as 1230n; undefined when malformed or when it has more decimals than `scale` allows (non-zero ones). */
export function parseDecimal(text: string, scale: number): bigint | undefined {
  // DECIMAL(n, scale) as MariaDB prints it ('-12.30'), millions of times in an import: digits
  // checked and read as a number when exact (below 2^53), no regex.
  const point = text.length - scale - 1;
  if (scale > 0 && point > 0 && text.length <= 16 && text.charCodeAt(point) === 46) {
    const negative = text.charCodeAt(0) === 45;
    let units = 0;
    let at = negative ? 1 : 0;
    if (at < point) {
      for (; at < text.length; at++) {
        if (at === point) continue;
        const digit = text.charCodeAt(at) - 48;
        if (digit < 0 || digit > 9) break;
        units = units * 10 + digit;
      }
      if (at === text.length) return BigInt(negative ? -units : units);
    }
  }
  return parseDecimalText(text, scale);
}

function parseDecimalText(text: string, scale: number): bigint | undefined {
  const match = DECIMAL.exec(text.trim());
  if (!match) return undefined;
  const [, sign, whole, fraction = ''] = match;
  const extra = fraction.slice(scale);
  if (/[1-9]/.test(extra)) return undefined;
  const units = BigInt(whole + fraction.slice(0, scale).padEnd(scale, '0'));
  return sign === '-' ? -units : units;
}

/** Like parseDecimal, throwing with the value and where it came from. */
export function requireDecimal(text: string, scale: number, where: string): bigint {
  const value = parseDecimal(text, scale);
  if (value === undefined) throw new Error(`${where}: '${text}' is not a decimal with at most ${scale} decimals`);
  return value;
}

/** Formats minor units with `scale` decimals, the way MariaDB prints a DECIMAL column: -12.30. */
export function formatDecimal(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}
