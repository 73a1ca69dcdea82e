// The tariff: fees and agent commissions by service, currency and amount tier, and the limits
// of each KYC tier. Read from a JSON file (tariffs/default.json unless configured), checked
// against a schema and for tier order at start, then frozen: a bad tariff stops start-up
// rather than charging wrongly. Amounts are minor-unit decimal strings, as on the wire.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parseAmount } from '../../ledger/amount.js';
import { CURRENCIES, type Currency } from '../accounts.js';

export const DEFAULT_TARIFF_FILE = fileURLToPath(new URL('../../../../tariffs/default.json', import.meta.url));

/** Services that can carry a fee (who pays is the service's business: see services.ts). */
export const FEE_SERVICES = ['p2p', 'cash_out', 'merchant_payment', 'wallet_to_bank', 'airtime'] as const;
export type FeeService = (typeof FEE_SERVICES)[number];
export const COMMISSION_SERVICES = ['cash_in', 'cash_out'] as const;
export type CommissionService = (typeof COMMISSION_SERVICES)[number];
export type KycTier = 0 | 1 | 2;

const Minor = Type.String({ pattern: '^(0|[1-9][0-9]{0,17})$' });
const Tier = Type.Object({
  /** Inclusive upper bound of the amounts this tier covers; null for the last, open tier. */
  up_to: Type.Union([Minor, Type.Null()]),
  fixed: Minor,
  /** Basis points of the amount, added to `fixed` (rounded down to the minor unit). */
  bps: Type.Integer({ minimum: 0, maximum: 10_000 }),
}, { additionalProperties: false });
const Tiers = Type.Array(Tier, { minItems: 1, maxItems: 64 });
const PerCurrency = Type.Object({ USD: Tiers, ZWG: Tiers }, { additionalProperties: false });
const Limits = Type.Object({ transaction: Minor, daily: Minor, monthly: Minor, balance: Minor }, { additionalProperties: false });
const TierLimits = Type.Object({ USD: Limits, ZWG: Limits }, { additionalProperties: false });

export const TariffSchema = Type.Object({
  _comment: Type.Optional(Type.String()),
  fees: Type.Object(Object.fromEntries(FEE_SERVICES.map((s) => [s, PerCurrency])) as Record<FeeService, typeof PerCurrency>, { additionalProperties: false }),
  commissions: Type.Object(Object.fromEntries(COMMISSION_SERVICES.map((s) => [s, PerCurrency])) as Record<CommissionService, typeof PerCurrency>, { additionalProperties: false }),
  limits: Type.Object({ '0': TierLimits, '1': TierLimits, '2': TierLimits }, { additionalProperties: false }),
}, { additionalProperties: false });
export type TariffFile = Static<typeof TariffSchema>;

interface Band {
  up_to: bigint | null;
  fixed: bigint;
  bps: bigint;
}

export interface TierLimit {
  transaction: bigint;
  daily: bigint;
  monthly: bigint;
  balance: bigint;
}

export class Tariff {
  private constructor(
    private readonly fees: ReadonlyMap<string, readonly Band[]>,
    private readonly commissions: ReadonlyMap<string, readonly Band[]>,
    private readonly tierLimits: ReadonlyMap<string, TierLimit>,
  ) {}

  static load(file: string = DEFAULT_TARIFF_FILE): Tariff {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (error) {
      throw new Error(`tariff ${file}: ${(error as Error).message}`);
    }
    return Tariff.from(parsed, file);
  }

  /** Checks a parsed tariff; an Error names the first problem. */
  static from(value: unknown, source = 'tariff'): Tariff {
    const error = Value.Errors(TariffSchema, value).First();
    if (error) throw new Error(`${source}: ${error.path || '(root)'} ${error.message}`);
    const file = value as TariffFile;
    const fees = new Map<string, Band[]>();
    const commissions = new Map<string, Band[]>();
    for (const service of FEE_SERVICES) for (const c of CURRENCIES) fees.set(`${service}:${c}`, bands(file.fees[service][c], `${source}: fees.${service}.${c}`));
    for (const service of COMMISSION_SERVICES) for (const c of CURRENCIES) commissions.set(`${service}:${c}`, bands(file.commissions[service][c], `${source}: commissions.${service}.${c}`));
    const tierLimits = new Map<string, TierLimit>();
    for (const tier of ['0', '1', '2'] as const) {
      for (const c of CURRENCIES) {
        const l = file.limits[tier][c];
        tierLimits.set(`${tier}:${c}`, { transaction: BigInt(l.transaction), daily: BigInt(l.daily), monthly: BigInt(l.monthly), balance: BigInt(l.balance) });
      }
    }
    return new Tariff(fees, commissions, tierLimits);
  }

  fee(service: FeeService, currency: Currency, amount: bigint): bigint {
    return charge(this.fees.get(`${service}:${currency}`)!, amount);
  }

  commission(service: CommissionService, currency: Currency, amount: bigint): bigint {
    return charge(this.commissions.get(`${service}:${currency}`)!, amount);
  }

  limits(tier: KycTier, currency: Currency): TierLimit {
    return this.tierLimits.get(`${tier}:${currency}`)!;
  }
}

function bands(tiers: TariffFile['fees']['p2p']['USD'], where: string): Band[] {
  const out = tiers.map((t) => ({ up_to: t.up_to === null ? null : parseAmount(t.up_to)!, fixed: parseAmount(t.fixed)!, bps: BigInt(t.bps) }));
  out.forEach((band, i) => {
    const last = i === out.length - 1;
    if (last !== (band.up_to === null)) throw new Error(`${where}: only the last tier has up_to null`);
    if (i > 0 && band.up_to !== null && band.up_to <= out[i - 1].up_to!) throw new Error(`${where}: tiers must ascend by up_to`);
  });
  return out;
}

function charge(bands: readonly Band[], amount: bigint): bigint {
  const band = bands.find((b) => b.up_to === null || amount <= b.up_to)!;
  return band.fixed + (amount * band.bps) / 10_000n;
}
