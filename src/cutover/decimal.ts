// Exact decimals: legacy DECIMAL strings become bigint minor units at a scale, and back, with
// no float on the way (a float would lose a cent somewhere in a million wallets).

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** Parses '12.3' at scale 2 as 1230n; undefined when malformed or when it has more decimals than `scale` allows (non-zero ones). */
export function parseDecimal(text: string, scale: number): bigint | undefined {
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
