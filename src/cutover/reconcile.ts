// Reconcile: the legacy platform against mari, account by account and asset by asset, with the
// data-diff technique: both sides are summarised as checksums over ranges of legacy keys, and
// only the ranges whose checksums differ are read row by row and compared exactly (bigint
// minor units, never floats). Known, booked differences (drift adjustments, expired buckets not
// made usable) are listed apart; anything else is an unexplained discrepancy.
import type { Account } from '../ledger/types.js';
import type { LedgerHandle } from '../store/open.js';
import { formatDecimal, parseDecimal } from './decimal.js';
import { LEGACY_ACCOUNTS, MIGRATION_FINDINGS, RANGE_WIDTH, rangeKey, type LegacyBucketRecord, type LegacyRecord, type LegacyWalletRecord, type RangeDocument } from './formats.js';
import { harareLocalToMs, isoToHarareLocal, msToHarareLocal } from '../time.js';
import { readCheckpoint } from './import.js';
import { checksumOf, type ComparedTable, type LegacySource, type RangeChecksum, type Row, type Sums } from './source.js';

export const DISCREPANCY_CLASSES = ['missing_in_mari', 'extra_in_mari', 'wiped', 'inflated', 'deflated', 'expiry_differs', 'legacy_drift'] as const;
export type DiscrepancyClass = (typeof DISCREPANCY_CLASSES)[number];

export interface Discrepancy {
  class: DiscrepancyClass;
  /** Legacy identity: table and key. */
  table: 'wallet' | 'prepaid_bucket';
  legacy_id: string;
  account_id: string | null;
  msisdn: string | null;
  owner: string | null;
  asset: string;
  /** Decimal strings in the legacy form (2 places for money, 4 for buckets); null when that side has none. */
  legacy: string | null;
  mari: string | null;
  difference: string;
  legacy_expires_at?: string | null;
  mari_expires_at?: string | null;
}

export interface KnownDifference {
  class: 'legacy_drift' | 'expired_not_migrated';
  table: 'wallet' | 'prepaid_bucket';
  legacy_id: string | null;
  asset: string;
  /** What was booked or left out, decimal. */
  amount: string;
  count: number;
  note: string;
  transfer_ids?: string[];
}

export interface TotalLine {
  asset: string;
  owner: string;
  legacy: string;
  mari: string;
  difference: string;
}

export interface ReconcileReport {
  ok: boolean;
  source: string;
  generated_at: string;
  as_of: string;
  seconds: number;
  compared: Record<string, { legacy_rows: number; mari_rows: number; ranges: number; ranges_differing: number; rows_drilled: number }>;
  totals: TotalLine[];
  counts: Partial<Record<DiscrepancyClass, number>>;
  discrepancies: Discrepancy[];
  known: KnownDifference[];
}


/** One comparable item of the mari side, by legacy key. */
export interface MariItem {
  id: number;
  text: string;
  value: bigint;
  account_id: string;
  msisdn: string | null;
  owner: string;
  asset: string;
  expires_local: string | null;
}

function signedBalance(account: Account | undefined): bigint {
  return account ? account.credits_posted - account.debits_posted - account.debits_pending : 0n;
}

/** Money wallets: the legacy balance against the mari account plus any overdraft held for it. */
export const WALLETS: ComparedTable = {
  table: 'wallet',
  sql: { text: `CONCAT(wallet_id, '|', balance)` },
  text: (row) => `${row[0]}|${row[4]}`,
};

export function bucketsCompared(asOfLocal: string): ComparedTable {
  return {
    table: 'prepaid_bucket',
    // Expired buckets are not made usable in mari: they are left out here and listed as known.
    sql: { text: `CONCAT(bucket_id, '|', amount, '|', IFNULL(expires_at, ''))`, where: `expires_at IS NULL OR expires_at > '${asOfLocal}'` },
    text: (row) => (row[5] !== null && row[5] <= asOfLocal ? undefined : `${row[0]}|${row[3]}|${row[5] ?? ''}`),
  };
}

export interface ReconcileOptions {
  source: LegacySource;
  handle: LedgerHandle;
  /** Harare local time for bucket expiry; default: the import's. */
  as_of_local?: string;
}

export async function reconcile(options: ReconcileOptions): Promise<ReconcileReport> {
  const started = performance.now();
  const { source, handle } = options;
  const checkpoint = await readCheckpoint(handle);
  const asOfMs = options.as_of_local !== undefined ? harareLocalToMs(options.as_of_local) : checkpoint ? Date.parse(checkpoint.as_of) : Date.now();
  if (asOfMs === undefined) throw new Error(`--as-of: '${options.as_of_local}' is not a local date-time`);
  const asOfLocal = msToHarareLocal(asOfMs);
  const report: ReconcileReport = {
    ok: false, source: source.description, generated_at: new Date().toISOString(), as_of: new Date(asOfMs).toISOString(), seconds: 0,
    compared: {}, totals: [], counts: {}, discrepancies: [], known: [],
  };
  const bucketTable = bucketsCompared(asOfLocal);
  // Legacy's side is computed in MariaDB while mari's is read here: every query starts now.
  const legacy = {
    wallets: source.checksums(WALLETS, RANGE_WIDTH),
    buckets: source.checksums(bucketTable, RANGE_WIDTH),
    walletTotals: source.sums({ table: 'wallet', group: [3, 1], sum: 4, scale: 2 }),
    bucketTotals: source.sums({ table: 'prepaid_bucket', group: 2, sum: 3, scale: 4, where: { sql: `expires_at IS NULL OR expires_at > '${asOfLocal}'`, row: (row) => row[5] === null || row[5] > asOfLocal } }),
    expired: source.sums({ table: 'prepaid_bucket', group: 2, sum: 3, scale: 4, where: { sql: `expires_at IS NOT NULL AND expires_at <= '${asOfLocal}'`, row: (row) => row[5] !== null && row[5] <= asOfLocal } }),
  };
  for (const query of Object.values(legacy)) query.catch(() => undefined); // each awaited (and its error thrown) below
  const accounts = handle.ledger.accounts;
  const walletOf = (record: LegacyWalletRecord) => walletItem(record, accounts);
  const bucketOf = (record: LegacyBucketRecord) => bucketItem(record, accounts);
  const wallets = await summarise(handle, 'wallet', walletOf, (item) => `${item.asset}|${item.owner}`);
  const buckets = await summarise(handle, 'prepaid_bucket', bucketOf, (item) => item.owner);
  await compare(report, source, WALLETS, await legacy.wallets, wallets, (ranges) => itemsOf(handle, 'wallet', ranges, walletOf), walletLegacyValue);
  await compare(report, source, bucketTable, await legacy.buckets, buckets, (ranges) => itemsOf(handle, 'prepaid_bucket', ranges, bucketOf), bucketLegacyValue);
  await knownDifferences(report, handle, await legacy.expired, asOfLocal);
  pushTotals(report.totals, await legacy.walletTotals, wallets.totals, 2);
  pushTotals(report.totals, await legacy.bucketTotals, buckets.totals, 4);
  for (const d of report.discrepancies) report.counts[d.class] = (report.counts[d.class] ?? 0) + 1;
  report.ok = report.discrepancies.length === 0;
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

/**
 * Mari's side of a table as it is read, range document by range document: each range's checksum
 * and the totals, no item kept (millions of them cost most of reconcile's time in garbage
 * collection). Items are built again only for the ranges that differ (itemsOf). Balances are
 * read as each document is: a reconcile while mari takes writes compares a moving ledger anyway.
 */
interface MariSummary {
  ranges: Map<number, RangeChecksum>;
  totals: Map<string, bigint>;
  rows: number;
}

async function summarise<R extends LegacyRecord>(handle: LedgerHandle, table: 'wallet' | 'prepaid_bucket', itemOf: (record: R) => MariItem | undefined, totalOf: (item: MariItem) => string): Promise<MariSummary> {
  const summary: MariSummary = { ranges: new Map(), totals: new Map(), rows: 0 };
  let yielded = performance.now();
  for await (const doc of handle.store.documents(LEGACY_ACCOUNTS, { prefix: table === 'wallet' ? 'w:' : 'b:' })) {
    // SQLite answers without ever leaving the event loop: let the legacy queries' sockets be served meanwhile.
    if (performance.now() - yielded > 20) {
      await new Promise((resolve) => setImmediate(resolve));
      yielded = performance.now();
    }
    for (const record of Object.values((JSON.parse(doc.value) as RangeDocument).records) as R[]) {
      const item = itemOf(record);
      if (!item) continue; // its legacy row shows it missing
      summary.rows += 1;
      const range = Math.floor(item.id / RANGE_WIDTH);
      let entry = summary.ranges.get(range);
      if (!entry) summary.ranges.set(range, (entry = { range, rows: 0, sum: 0 }));
      entry.rows += 1;
      entry.sum += checksumOf(item.text);
      const key = totalOf(item);
      summary.totals.set(key, (summary.totals.get(key) ?? 0n) + item.value);
    }
  }
  return summary;
}

/** The items of these ranges, read again from their range documents. */
async function itemsOf<R extends LegacyRecord>(handle: LedgerHandle, table: 'wallet' | 'prepaid_bucket', ranges: readonly number[], itemOf: (record: R) => MariItem | undefined): Promise<Map<number, MariItem>> {
  const items = new Map<number, MariItem>();
  for (const range of ranges) {
    const doc = await handle.store.document(LEGACY_ACCOUNTS, rangeKey(table, range));
    if (!doc) continue;
    for (const record of Object.values((JSON.parse(doc.value) as RangeDocument).records) as R[]) {
      const item = itemOf(record);
      if (item) items.set(item.id, item);
    }
  }
  return items;
}

/** A legacy wallet's value in mari now: its account plus any overdraft held for it. */
function walletItem(record: LegacyWalletRecord, accounts: ReadonlyMap<string, Account>): MariItem | undefined {
  const account = accounts.get(record.account_id);
  if (!account) return undefined;
  const value = signedBalance(account) + signedBalance(accounts.get(record.overdraft_id));
  const id = Number(record.id);
  return { id, text: `${id}|${formatDecimal(value, 2)}`, value, account_id: record.account_id, msisdn: record.msisdn, owner: record.owner_type, asset: record.currency, expires_local: null };
}

/** A legacy bucket's value in mari now, in legacy's form (four decimals), with its expiry. */
function bucketItem(record: LegacyBucketRecord, accounts: ReadonlyMap<string, Account>): MariItem | undefined {
  const account = accounts.get(record.account_id);
  if (!account) return undefined;
  const units = signedBalance(account);
  const value = record.kind === 'AIRTIME' ? units : units * 10_000n;
  const expires_local = record.expires_at === null ? null : isoToHarareLocal(record.expires_at);
  const id = Number(record.id);
  return { id, text: `${id}|${formatDecimal(value, 4)}|${expires_local ?? ''}`, value, account_id: record.account_id, msisdn: record.msisdn, owner: record.kind, asset: record.asset, expires_local };
}

interface LegacyValue {
  value: bigint;
  asset: string;
  owner: string;
  expires_local: string | null;
}

function walletLegacyValue(row: Row): LegacyValue {
  return { value: parseDecimal(row[4] ?? '', 2) ?? 0n, asset: row[3] ?? '', owner: row[1] ?? '', expires_local: null };
}

function bucketLegacyValue(row: Row): LegacyValue {
  const asset = { AIRTIME: 'AIRTIME_USD', DATA: 'DATA_KB', VOICE: 'VOICE_S', SMS: 'SMS' }[row[2] ?? ''] ?? row[2] ?? '';
  return { value: parseDecimal(row[3] ?? '', 4) ?? 0n, asset, owner: row[2] ?? '', expires_local: row[5] };
}

/** Ranges of legacy keys whose checksums differ between legacy and mari (the only ones worth reading row by row). */
function differingRanges(legacyRanges: readonly RangeChecksum[], mariRanges: ReadonlyMap<number, RangeChecksum>): { ranges: number[]; legacy_rows: number; total: number } {
  const differing = new Set<number>();
  const legacyByRange = new Map(legacyRanges.map((r) => [r.range, r]));
  for (const r of legacyRanges) {
    const m = mariRanges.get(r.range);
    if (!m || m.rows !== r.rows || m.sum !== r.sum) differing.add(r.range);
  }
  for (const m of mariRanges.values()) if (!legacyByRange.has(m.range)) differing.add(m.range);
  return {
    ranges: [...differing].sort((a, b) => a - b),
    legacy_rows: legacyRanges.reduce((n, r) => n + r.rows, 0),
    total: new Set([...legacyByRange.keys(), ...mariRanges.keys()]).size,
  };
}

/** Checksums per range on both sides; rows of differing ranges compared one by one. */
async function compare(report: ReconcileReport, source: LegacySource, table: ComparedTable, legacyRanges: readonly RangeChecksum[], mariSide: MariSummary,
  itemsOfRanges: (ranges: readonly number[]) => Promise<Map<number, MariItem>>, legacyValue: (row: Row) => LegacyValue): Promise<void> {
  const { ranges, legacy_rows, total } = differingRanges(legacyRanges, mariSide.ranges);
  const mari = await itemsOfRanges(ranges);
  const name = table.table as 'wallet' | 'prepaid_bucket';
  const scale = name === 'wallet' ? 2 : 4;
  let drilled = 0;
  const seen = new Set<number>();
  for await (const row of source.rowsInRanges(table.table, ranges, RANGE_WIDTH)) {
    drilled += 1;
    const text = table.text(row);
    if (text === undefined) continue;
    const id = Number(row[0]);
    seen.add(id);
    const item = mari.get(id);
    const legacy = legacyValue(row);
    if (!item) {
      report.discrepancies.push(discrepancy('missing_in_mari', name, row[0]!, null, null, legacy.owner, legacy.asset, legacy.value, null, scale));
      continue;
    }
    if (item.text === text) continue;
    if (item.value !== legacy.value) {
      const kind: DiscrepancyClass = item.value === 0n && legacy.value !== 0n ? 'wiped' : item.value > legacy.value ? 'inflated' : 'deflated';
      report.discrepancies.push(discrepancy(kind, name, row[0]!, item.account_id, item.msisdn, item.owner, item.asset, legacy.value, item.value, scale));
    }
    if (item.expires_local !== legacy.expires_local) {
      report.discrepancies.push({
        ...discrepancy('expiry_differs', name, row[0]!, item.account_id, item.msisdn, item.owner, item.asset, legacy.value, item.value, scale),
        legacy_expires_at: legacy.expires_local, mari_expires_at: item.expires_local,
      });
    }
  }
  for (const item of [...mari.values()].sort((a, b) => a.id - b.id)) {
    if (!seen.has(item.id)) report.discrepancies.push(discrepancy('extra_in_mari', name, String(item.id), item.account_id, item.msisdn, item.owner, item.asset, null, item.value, scale));
  }
  report.compared[table.table] = { legacy_rows, mari_rows: mariSide.rows, ranges: total, ranges_differing: ranges.length, rows_drilled: drilled };
}

function discrepancy(kind: DiscrepancyClass, table: 'wallet' | 'prepaid_bucket', legacy_id: string, account_id: string | null, msisdn: string | null, owner: string | null, asset: string, legacy: bigint | null, mari: bigint | null, scale: number): Discrepancy {
  return {
    class: kind, table, legacy_id, account_id, msisdn, owner, asset,
    legacy: legacy === null ? null : formatDecimal(legacy, scale), mari: mari === null ? null : formatDecimal(mari, scale),
    difference: formatDecimal((mari ?? 0n) - (legacy ?? 0n), scale),
  };
}

/** Drift the import booked (legacy against its own history) and expired buckets left out: explained, listed apart. */
async function knownDifferences(report: ReconcileReport, handle: LedgerHandle, expired: Sums, asOfLocal: string): Promise<void> {
  for await (const doc of handle.store.documents(MIGRATION_FINDINGS, { tag: 'drift' })) {
    const f = JSON.parse(doc.value) as { wallet_id: string; currency: string; drift: string; legacy: string; from_history: string; pass: number; transfer_ids: string[] };
    report.known.push({
      class: 'legacy_drift', table: 'wallet', legacy_id: f.wallet_id, asset: f.currency, amount: f.drift, count: 1, transfer_ids: f.transfer_ids,
      note: `legacy balance ${f.legacy} but snapshot plus history give ${f.from_history} (pass ${f.pass}): the difference is booked against legacy suspense`,
    });
  }
  for (const [kind, { count, total }] of expired) {
    report.known.push({ class: 'expired_not_migrated', table: 'prepaid_bucket', legacy_id: null, asset: kind, amount: formatDecimal(total, 4), count, note: `expired before ${asOfLocal} (Harare): not made usable in mari` });
  }
}

function pushTotals(lines: TotalLine[], legacy: Map<string, { count: number; total: bigint }>, mari: Map<string, bigint>, scale: number): void {
  const keys = [...new Set([...legacy.keys(), ...mari.keys()])].sort();
  const all = new Map<string, [bigint, bigint]>();
  for (const key of keys) {
    const [asset, owner = 'ALL'] = key.split('|');
    const l = legacy.get(key)?.total ?? 0n;
    const m = mari.get(key) ?? 0n;
    lines.push({ asset, owner, legacy: formatDecimal(l, scale), mari: formatDecimal(m, scale), difference: formatDecimal(m - l, scale) });
    const sum = all.get(asset) ?? [0n, 0n];
    all.set(asset, [sum[0] + l, sum[1] + m]);
  }
  if (keys.some((k) => k.includes('|'))) {
    for (const [asset, [l, m]] of all) lines.push({ asset, owner: 'ALL', legacy: formatDecimal(l, scale), mari: formatDecimal(m, scale), difference: formatDecimal(m - l, scale) });
  }
}

/** The legacy wallet records mari holds (what the migration wrote), read once. */
export async function walletRecords(handle: LedgerHandle): Promise<LegacyWalletRecord[]> {
  const out: LegacyWalletRecord[] = [];
  for await (const doc of handle.store.documents(LEGACY_ACCOUNTS, { prefix: 'w:' })) {
    out.push(...(Object.values((JSON.parse(doc.value) as RangeDocument).records) as LegacyWalletRecord[]));
  }
  return out;
}
