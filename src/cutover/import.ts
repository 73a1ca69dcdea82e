// The import: legacy platform → mari, through the single writer, in phases that each stream one
// legacy table in key order and submit it in large batches. Every batch is one writer command:
// its accounts, transfers, documents and the checkpoint saying how far the import got commit
// together, so a run killed anywhere resumes after its last durable batch and nothing is doubled
// (transfer ids are derived from legacy keys, so even a replayed row answers `exists`).
//
// Money: opening balances from wallet_snapshot (transfers from a migration account per asset),
// then txn_log replayed in txn_id order (the legacy platform's insertion order; created_at is
// checked to follow it), each ref once, the fee a linked transfer to the currency's fees account;
// then every wallet compared with what the legacy platform says now, the difference (drift)
// booked against a legacy-suspense account and reported.
import assert from 'node:assert/strict';
import { AccountFlag, type AccountInput, type TransferInput } from '../ledger/types.js';
import { AccountCode, airtimeAsset, systemId, walletId, CURRENCIES, type Currency } from '../products/accounts.js';
import type { Msisdn } from '../products/msisdn.js';
import { PARTIES, partyDocument, type Party, type PartyStatus } from '../products/parties.js';
import type { LedgerHandle } from '../store/open.js';
import type { CommandContext } from '../store/writer.js';
import type { DocumentWrite } from '../store/store.js';
import { addSubscribers, addWallets, loadContext, walletRole, type LegacyContext } from './context.js';
import { BUCKET_READ, SUM_WIDTH, SumBook, WALLET_READ } from './sums.js';
import { formatDecimal, parseDecimal } from './decimal.js';
import {
  MIGRATION, MIGRATION_FINDINGS, MigrationCode, SERVICE_CATALOG, TXN_TYPE_CODE, hashVoucherPin, heldAirtimeId, LEGACY_ACCOUNTS,
  PREPAID_MIGRATION_CODE, RANGE_WIDTH, legacyPinDocument, prepaidLotDocument, prepaidLotId, rangeDocument, rangeKey,
  type LegacyRecord, type RangeDocument, legacySuspenseId, lotAccount, migrationOpeningId, overdraftAccount, overdraftId,
  agentCommissionId, agentFloatId, bankSettlementId, isUnbounded, merchantTillId, partyIds, systemAccount, voucherDocument, walletAccount, airtimeAccountOf, type VoucherRecord,
  txnFeeId, txnTransferId,
} from './formats.js';

export { txnTransferId };
import { harareLocalToIso, harareLocalToMs, msToHarareLocal } from '../time.js';
import { PinHasher } from './pin_hasher.js';
import type { LegacySource, LegacyTable, RangeChecksum, Row } from './source.js';

export const PHASES = ['parties', 'wallets', 'opening', 'history', 'drift', 'buckets', 'vouchers', 'services', 'done'] as const;
export type Phase = (typeof PHASES)[number];
/** A delta brings new subscribers and wallets, new transactions, and wallets and buckets as they are now. */
const DELTA_PHASES: readonly Phase[] = ['parties', 'wallets', 'history', 'drift', 'buckets', 'done'];

/** The table each phase streams, for progress totals and rows-read counts. */
const PHASE_TABLE: Record<Exclude<Phase, 'done'>, LegacyTable> = {
  parties: 'subscriber', wallets: 'wallet', opening: 'wallet_snapshot', history: 'txn_log', drift: 'wallet',
  buckets: 'prepaid_bucket', vouchers: 'voucher', services: 'service_menu',
};

/** Assets the migration books in, each with its scale (src/ledger/assets.ts). */
const ASSETS = ['USD', 'ZWG', 'AIRTIME_USD', 'AIRTIME_ZWG', 'DATA_KB', 'VOICE_S', 'SMS'] as const;
const BUCKET_ASSET: Readonly<Record<string, string>> = { AIRTIME: 'AIRTIME_USD', DATA: 'DATA_KB', VOICE: 'VOICE_S', SMS: 'SMS' };
/** Legacy bucket amounts have four decimals; airtime keeps them (scale 4), units must be whole. */
const BUCKET_SCALE: Readonly<Record<string, number>> = { AIRTIME: 4, DATA: 0, VOICE: 0, SMS: 0 };

export interface Counters {
  msisdn_spellings: Record<'local' | 'international' | 'plus_spaced' | 'other', number>;
  msisdn_collisions: number;
  msisdn_invalid: number;
  names_non_ascii: number;
  pins_carried: number;
  pins_missing: number;
  unmapped_wallets: number;
  wallets_without_snapshot: number;
  failed_rows: number;
  duplicate_refs: number;
  ref_conflicts: number;
  replay_refused: number;
  reversals_linked: number;
  out_of_order_rows: number;
  drifted_wallets: number;
  /** Sum of drift per currency, decimal strings (legacy balance minus snapshot plus history). */
  drift_total: Record<string, string>;
  negative_wallets: number;
  negative_total: Record<string, string>;
  closed_with_balance: number;
  buckets_imported: number;
  expired_buckets: number;
  expired_by_kind: Record<string, number>;
  /** Units left in expired buckets per kind, not made usable (decimal, 4 places as legacy keeps them). */
  expired_totals: Record<string, string>;
  bucket_totals: Record<string, string>;
  held_buckets: number;
  orphan_buckets: number;
  fractional_units: number;
  vouchers_redeemable: number;
  vouchers_used: number;
  vouchers_expired: number;
  services: number;
  services_enabled: number;
}

export interface Checkpoint {
  version: 1;
  source: string;
  /** ISO UTC: buckets expiring before this are expired; the legacy cutover moment by default. */
  as_of: string;
  /** 1 for the bulk import, +1 for each delta. */
  pass: number;
  phase: Phase;
  /** Last legacy key of the phase's table committed. */
  after: number | null;
  last_txn_id: number;
  counters: Counters;
  rows_read: Record<string, number>;
  accounts_created: number;
  transfers_booked: number;
  documents_written: number;
  /** The largest key imported of the tables a delta reads only past it. */
  max_keys: Record<string, number>;
  /** Legacy wallets of each fees account: a replayed fee moves them, with no wallet id in its row. */
  fee_wallets?: Record<string, number[]>;
  /** Seconds spent importing, over every run of this pass. */
  seconds: number;
  /** Seconds per phase (the last run of each). */
  phase_seconds: Record<string, number>;
  started_at: string;
  completed_at: string | null;
}

export interface ImportOptions {
  source: LegacySource;
  handle: LedgerHandle;
  /** Harare local time ('2026-11-20 21:00:00') buckets are judged expired at; default now. */
  as_of_local?: string;
  delta?: boolean;
  batch_rows?: number;
  /** Batches submitted to the writer and not yet committed; the reader runs ahead this far. */
  batches_in_flight?: number;
  onProgress?: (progress: { phase: Phase; table: string; done: number; total: number }) => void;
  now?: () => Date;
}

export interface ImportSummary extends Checkpoint {
  /** Seconds of this run alone, and its rate over every row read. */
  run_seconds: number;
  rows_per_s: number;
  resumed: boolean;
}

const CHECKPOINT_KEY = 'import';

/**
 * Writer options for a ledger opened to import into. Nearly every account changes in every
 * batch, so each balance checkpoint rewrites them all (4.3 M rows at 1,000,000 subscribers, and
 * one a minute made that quadratic in the import's size); the import keeps its own checkpoints,
 * and the ledger's, which only bounds start-up replay, is written once when the ledger closes.
 */
const IMPORT_WRITER = Object.freeze({ checkpoint_interval_ms: Number.MAX_SAFE_INTEGER, checkpoint_records_max: Number.MAX_SAFE_INTEGER });

/**
 * How a ledger is opened to import into: IMPORT_WRITER, and the history index let ten seconds
 * behind (a few hundred thousand transfers), so it indexes large chunks: postings append either
 * way, but each chunk rewrites the running row of every account it touched once; nothing reads
 * history during an import, and a read would still wait for the index to catch up.
 */
export const IMPORT_OPEN = Object.freeze({ writer: IMPORT_WRITER, history_lag_ms: 10_000 });

export async function readCheckpoint(handle: LedgerHandle): Promise<Checkpoint | undefined> {
  const doc = await handle.store.document(MIGRATION, CHECKPOINT_KEY);
  return doc ? (JSON.parse(doc.value) as Checkpoint) : undefined;
}

function emptyCounters(): Counters {
  return {
    msisdn_spellings: { local: 0, international: 0, plus_spaced: 0, other: 0 }, msisdn_collisions: 0, msisdn_invalid: 0,
    names_non_ascii: 0, pins_carried: 0, pins_missing: 0, unmapped_wallets: 0, wallets_without_snapshot: 0, failed_rows: 0,
    duplicate_refs: 0, ref_conflicts: 0, replay_refused: 0, reversals_linked: 0, out_of_order_rows: 0, drifted_wallets: 0,
    drift_total: {}, negative_wallets: 0, negative_total: {}, closed_with_balance: 0, buckets_imported: 0, expired_buckets: 0, expired_by_kind: {},
    expired_totals: {}, bucket_totals: {}, held_buckets: 0, orphan_buckets: 0, fractional_units: 0, vouchers_redeemable: 0,
    vouchers_used: 0, vouchers_expired: 0, services: 0, services_enabled: 0,
  };
}

function addTo(totals: Record<string, string>, key: string, amount: bigint, scale: number): void {
  const previous = totals[key] === undefined ? 0n : parseDecimal(totals[key], scale)!;
  totals[key] = formatDecimal(previous + amount, scale);
}

function finding(kind: string, id: string, value: Record<string, unknown>): DocumentWrite {
  return { collection: MIGRATION_FINDINGS, key: `${kind}:${id}`, tag: kind, value: JSON.stringify({ kind, ...value }) };
}

/** Signed balance of an account as the ledger holds it (credits minus debits, posted), 0 if absent. */
function balanceOf(ctx: Pick<CommandContext, 'ledger'>, id: string): bigint {
  const account = ctx.ledger.accounts.get(id);
  return account ? account.credits_posted - account.debits_posted : 0n;
}

/**
 * The legacy-identity documents of one table, a document per range of keys. Rows arrive in key
 * order, so only the ranges of the batches in flight are held; a range is loaded from the store
 * before a batch first touches it (it may hold records from an earlier run) and dropped once the
 * import is past it.
 */
class RangeBook {
  private readonly ranges = new Map<number, RangeDocument>();
  private readonly touched = new Set<number>();

  constructor(private readonly table: 'wallet' | 'prepaid_bucket', private readonly handle: LedgerHandle) {}

  /** Outside the writer, before submitting a batch with these keys. */
  async preload(keys: readonly number[]): Promise<void> {
    for (const range of new Set(keys.map((key) => Math.floor(key / RANGE_WIDTH)))) {
      if (this.ranges.has(range)) continue;
      const doc = await this.handle.store.document(LEGACY_ACCOUNTS, rangeKey(this.table, range));
      this.ranges.set(range, doc ? (JSON.parse(doc.value) as RangeDocument) : { table: this.table, range, width: RANGE_WIDTH, records: {} });
    }
  }

  /** A record loaded by preload (a delta's bucket imported earlier), if there is one. */
  get(id: string): LegacyRecord | undefined {
    return this.ranges.get(Math.floor(Number(id) / RANGE_WIDTH))?.records[id];
  }

  add(record: LegacyRecord): void {
    const range = Math.floor(Number(record.id) / RANGE_WIDTH);
    const doc = this.ranges.get(range);
    assert.ok(doc, `range ${range} of ${this.table} was loaded before its batch`);
    doc.records[record.id] = record;
    this.touched.add(range);
  }

  /** Inside the writer: the documents of the ranges this batch changed; ranges below `last` are done. */
  flush(last: number): DocumentWrite[] {
    const documents = [...this.touched].map((range) => rangeDocument(this.ranges.get(range)!));
    this.touched.clear();
    const current = Math.floor(last / RANGE_WIDTH);
    for (const range of this.ranges.keys()) if (range < current) this.ranges.delete(range);
    return documents;
  }
}

/** The import of one source into one ledger; `run()` does or resumes the work. */
export class Importer {
  private checkpoint!: Checkpoint;
  private context!: LegacyContext;
  private readonly inflight: Promise<unknown>[] = [];
  private readonly batchRows: number;
  private readonly inflightMax: number;
  private readonly now: () => Date;
  private readonly asOfMs: number;
  private runStarted = 0;
  private secondsBefore = 0;
  private lastCreatedAt = '';
  /** Subscribers whose main airtime balance was imported in this run (a second one becomes a lot). */
  private readonly mainAirtime = new Set<number>();
  private readonly closedReported = new Set<number>();
  /** PIN hashes of redeemable vouchers, computed in the background from the start (scrypt is the slowest part). */
  private prehashed: Promise<Map<string, string>> | undefined;
  private walletBook!: RangeBook;
  private bucketBook!: RangeBook;
  /** What mari was made level with, per range of legacy keys (src/cutover/sums.ts). */
  private walletSums!: SumBook;
  private bucketSums!: SumBook;
  /** Delta: the legacy sums of now, asked for at the start (a scan in MariaDB, alongside the history). */
  private legacyNow: Partial<Record<'drift' | 'buckets', Promise<RangeChecksum[]>>> = {};

  constructor(private readonly options: ImportOptions) {
    this.batchRows = options.batch_rows ?? 8000;
    this.inflightMax = options.batches_in_flight ?? 3;
    this.now = options.now ?? (() => new Date());
    const asOf = options.as_of_local === undefined ? this.now().getTime() : harareLocalToMs(options.as_of_local);
    if (asOf === undefined) throw new Error(`--as-of: '${options.as_of_local}' is not a local date-time (YYYY-MM-DD HH:MM:SS)`);
    this.asOfMs = asOf;
  }

  private get writer() {
    return this.options.handle.writer;
  }

  async run(): Promise<ImportSummary> {
    this.runStarted = performance.now();
    const existing = await readCheckpoint(this.options.handle);
    const resumed = existing !== undefined && existing.phase !== 'done';
    if (this.options.delta) {
      if (!existing || existing.phase !== 'done') throw new Error(existing ? 'the bulk import has not finished: run mari migrate without --delta to finish it first' : 'nothing imported yet: run mari migrate without --delta first');
      this.checkpoint = { ...existing, pass: existing.pass + 1, phase: 'parties', after: null, counters: emptyCounters(), rows_read: {}, accounts_created: 0, transfers_booked: 0, documents_written: 0, seconds: 0, phase_seconds: {}, started_at: this.now().toISOString(), completed_at: null };
    } else if (existing) {
      if (existing.source !== this.options.source.description) throw new Error(`this data directory was imported from ${existing.source}, not ${this.options.source.description}`);
      this.checkpoint = existing;
    } else {
      this.checkpoint = {
        version: 1, source: this.options.source.description, as_of: new Date(this.asOfMs).toISOString(), pass: 1, phase: 'parties', after: null,
        last_txn_id: 0, max_keys: {}, counters: emptyCounters(), rows_read: {}, accounts_created: 0, transfers_booked: 0, documents_written: 0, seconds: 0, phase_seconds: {},
        started_at: this.now().toISOString(), completed_at: null,
      };
    }
    this.secondsBefore = this.checkpoint.seconds;
    this.walletBook = new RangeBook('wallet', this.options.handle);
    this.bucketBook = new RangeBook('prepaid_bucket', this.options.handle);
    this.walletSums = new SumBook(WALLET_READ, this.options.handle);
    this.bucketSums = new SumBook(BUCKET_READ, this.options.handle);
    if (this.checkpoint.phase === 'done') return this.summary(false);
    if (this.checkpoint.pass === 1 && PHASES.indexOf(this.checkpoint.phase) <= PHASES.indexOf('vouchers')) {
      this.prehashed = this.prehashVouchers();
      this.prehashed.catch(() => undefined); // awaited (and its error thrown) in the vouchers phase
    }
    if (this.checkpoint.pass > 1) await this.loadDeltaContext();
    else this.context = await loadContext(this.options.source);
    if (this.checkpoint.pass === 1 && this.checkpoint.phase === 'parties' && this.checkpoint.after === null) await this.submit((ctx) => this.createSystemAccounts(ctx));
    while ((this.checkpoint.phase as Phase) !== 'done') {
      const phase = this.checkpoint.phase;
      const phaseStarted = performance.now();
      await this.runPhase(phase);
      await this.drain();
      this.checkpoint.phase_seconds[phase] = Math.round(performance.now() - phaseStarted) / 1000;
      const order = this.checkpoint.pass > 1 ? DELTA_PHASES : PHASES;
      const next = order[order.indexOf(phase) + 1];
      await this.submit(() => {
        this.checkpoint.phase = next;
        this.checkpoint.after = null;
        if (next === 'done') this.checkpoint.completed_at = this.now().toISOString();
      });
      await this.drain();
    }
    return this.summary(resumed);
  }

  /**
   * A delta reads only subscribers and wallets past those imported, and the wallets its
   * transactions and changed ranges name, by key: its cost follows what changed, not the size of
   * what was imported.
   */
  private async loadDeltaContext(): Promise<void> {
    const max = this.checkpoint.max_keys ?? {};
    this.context = await loadContext(this.options.source, { subscriber: max.subscriber ?? 0, wallet: max.wallet ?? 0 });
    await this.walletSums.loadAll();
    await this.bucketSums.loadAll();
    const source = this.options.source;
    for (const [phase, compared] of [['drift', WALLET_READ], ['buckets', BUCKET_READ]] as const) {
      if (DELTA_PHASES.indexOf(this.checkpoint.phase) > DELTA_PHASES.indexOf(phase)) continue;
      const now = source.checksums(compared, SUM_WIDTH);
      now.catch(() => undefined); // awaited (and its error thrown) in its phase
      this.legacyNow[phase] = now;
    }
    // A new subscriber may share a number with one imported earlier: the same collision rule.
    for (const [sub_id, msisdn] of this.context.msisdnOf) {
      if (!msisdn) continue;
      for await (const doc of this.options.handle.store.documents(PARTIES, { tag: msisdn })) {
        const holder = Number((JSON.parse(doc.value) as Party).legacy?.id);
        if (doc.key.startsWith('sub.') && holder !== sub_id) {
          const holders = this.context.collisions.get(msisdn) ?? [holder];
          if (!holders.includes(sub_id)) holders.push(sub_id);
          this.context.collisions.set(msisdn, holders);
          this.context.collided.add(holder).add(sub_id);
        }
      }
    }
  }

  private summary(resumed: boolean): ImportSummary {
    const run_seconds = (performance.now() - this.runStarted) / 1000;
    const rows = Object.values(this.checkpoint.rows_read).reduce((a, b) => a + b, 0);
    return { ...this.checkpoint, run_seconds, rows_per_s: Math.round(rows / Math.max(this.checkpoint.seconds, 0.001)), resumed };
  }

  /** Submits one batch as a writer command with the checkpoint; waits only when too many are in flight. */
  private async submit(apply: (ctx: CommandContext) => void, ids?: string[]): Promise<void> {
    const promise = this.writer.execute({
      ids,
      run: (ctx) => {
        apply(ctx);
        this.checkpoint.seconds = this.secondsBefore + (performance.now() - this.runStarted) / 1000;
        ctx.put({ collection: MIGRATION, key: CHECKPOINT_KEY, tag: null, value: JSON.stringify(this.checkpoint) });
      },
    });
    this.inflight.push(promise);
    while (this.inflight.length > this.inflightMax) await this.inflight.shift();
  }

  private async drain(): Promise<void> {
    while (this.inflight.length > 0) await this.inflight.shift();
  }

  private createSystemAccounts(ctx: CommandContext): void {
    const accounts: AccountInput[] = [];
    for (const asset of ASSETS) {
      accounts.push(systemAccount(migrationOpeningId(asset), asset, AccountCode.migration_opening));
      accounts.push(systemAccount(legacySuspenseId(asset), asset, AccountCode.system_suspense));
    }
    this.createAccounts(ctx, accounts);
  }

  private createAccounts(ctx: CommandContext, accounts: AccountInput[]): void {
    if (accounts.length === 0) return;
    const results = ctx.createAccounts(accounts);
    results.forEach((result, i) => {
      // A different account under a migrated id would make every later balance wrong: stop.
      assert.ok(result === 'ok' || result === 'exists', `creating account ${accounts[i].id}: ${result}`);
      if (result === 'ok') this.checkpoint.accounts_created += 1;
    });
  }

  private put(ctx: CommandContext, documents: DocumentWrite[]): void {
    for (const document of documents) ctx.put(document);
    this.checkpoint.documents_written += documents.length;
  }

  private async runPhase(phase: Phase): Promise<void> {
    if (phase === 'done') return;
    const table = PHASE_TABLE[phase];
    // A delta's tables are read past their last key or by range: their full counts say nothing.
    const total = this.checkpoint.pass > 1 ? 0 : await this.options.source.count(table);
    let done = 0;
    const delta = this.checkpoint.pass > 1;
    const after = this.checkpoint.after ?? (phase === 'history' ? this.checkpoint.last_txn_id : delta ? this.checkpoint.max_keys[table] : undefined);
    const report = () => this.options.onProgress?.({ phase, table, done, total });
    report();
    const batches = delta && (phase === 'drift' || phase === 'buckets')
      ? this.differingRows(phase)
      : mapBatches(this.options.source.batches(table, { after: after ?? undefined, batch_rows: this.batchRows }));
    for await (const batch of prefetch(batches, 2)) {
      await this.applyBatch(phase, batch);
      done += batch.rows.length;
      report();
    }
    if (phase === 'parties') await this.submit((ctx) => this.otherParties(ctx));
  }

  /**
   * A delta's wallets and buckets "as they are now", the data-diff way: the legacy sums of now
   * against what mari was last made level with (src/cutover/sums.ts); only the rows of ranges
   * that differ are read and brought level, in batches of whole ranges so each batch counts
   * its ranges again.
   */
  private async *differingRows(phase: 'drift' | 'buckets'): AsyncIterable<Batch> {
    const book = phase === 'drift' ? this.walletSums : this.bucketSums;
    const ranges = book.differing(await this.legacyNow[phase]!);
    let batch: Row[] = [];
    let covered: number[] = [];
    let next = 0;
    let lastRange = -1;
    for await (const row of this.options.source.rowsInRanges(book.compared.table, ranges, SUM_WIDTH)) {
      const range = Math.floor(Number(row[0]) / SUM_WIDTH);
      if (batch.length >= this.batchRows && range !== lastRange) {
        yield { rows: batch, ranges: covered };
        batch = [];
        covered = [];
      }
      while (next < ranges.length && ranges[next] <= range) covered.push(ranges[next++]);
      batch.push(row);
      lastRange = range;
    }
    while (next < ranges.length) covered.push(ranges[next++]);
    if (covered.length > 0) yield { rows: batch, ranges: covered };
  }

  private async applyBatch(phase: Phase, { rows, ranges }: Batch): Promise<void> {
    const table = PHASE_TABLE[phase as Exclude<Phase, 'done'>];
    // A batch of ranges read again may hold no row (every row of them gone from legacy).
    const last = rows.length > 0 ? Number(rows[rows.length - 1][0]) : NaN;
    const keys = rows.map((row) => Number(row[0]));
    const account = (apply: (ctx: CommandContext) => void, ids?: string[]) => this.submit((ctx) => {
      apply(ctx);
      if (rows.length === 0) return;
      this.checkpoint.after = Number.isFinite(last) ? last : null;
      if (phase !== 'drift') this.checkpoint.rows_read[table] = (this.checkpoint.rows_read[table] ?? 0) + rows.length;
      if (phase === 'parties' || phase === 'wallets' || phase === 'buckets') this.checkpoint.max_keys[table] = Math.max(this.checkpoint.max_keys[table] ?? 0, last);
    }, ids);
    switch (phase) {
      case 'parties': return account((ctx) => this.parties(ctx, rows));
      case 'wallets': {
        await this.walletBook.preload(keys);
        return account((ctx) => this.wallets(ctx, rows));
      }
      case 'opening': {
        const transfers = this.openings(rows);
        return account((ctx) => this.book(ctx, transfers), transfers.map((t) => t.id));
      }
      case 'history': {
        if (this.checkpoint.pass > 1) await this.mapTxnWallets(rows);
        const planned = this.history(rows);
        const moved = this.checkpoint.pass > 1 ? this.walletsMoved(planned) : [];
        await this.walletSums.preload(moved);
        return account((ctx) => this.replay(ctx, planned, moved), planned.flatMap((p) => p.transfers.map((t) => t.id)));
      }
      case 'drift': {
        if (this.checkpoint.pass > 1) await addWallets(this.context, this.options.source, rows);
        await this.walletSums.preload([...keys, ...(ranges ?? []).map((range) => range * SUM_WIDTH)]);
        return account((ctx) => this.drift(ctx, rows, ranges));
      }
      case 'buckets': {
        await this.bucketBook.preload(keys);
        await this.bucketSums.preload([...keys, ...(ranges ?? []).map((range) => range * SUM_WIDTH)]);
        const unknown = rows.filter((row) => !this.context.statusOf.has(Number(row[1]))).map((row) => Number(row[1]));
        if (unknown.length > 0) {
          const found: Row[] = [];
          for await (const row of this.options.source.rowsByKeys('subscriber', unknown)) found.push(row);
          addSubscribers(this.context, found);
        }
        return account((ctx) => this.buckets(ctx, rows, ranges));
      }
      case 'vouchers': {
        const vouchers = await this.vouchers(rows);
        return account((ctx) => this.put(ctx, vouchers));
      }
      case 'services': return account((ctx) => this.services(ctx, rows));
      default: return undefined;
    }
  }

  /** A delta's transactions name wallets it has not read: fetched by key and mapped as the bulk import mapped them. */
  private async mapTxnWallets(rows: Row[]): Promise<void> {
    const wanted = new Set<number>();
    for (const row of rows) {
      for (const id of [Number(row[3]), Number(row[4])]) if (!this.context.accountOf.has(id) && !this.context.unmapped.has(id)) wanted.add(id);
    }
    if (wanted.size === 0) return;
    const found: Row[] = [];
    for await (const row of this.options.source.rowsByKeys('wallet', [...wanted])) found.push(row);
    await addWallets(this.context, this.options.source, found);
  }

  /** The legacy wallets a batch of transactions moves in mari: both sides, and the fees wallets when it takes a fee. */
  private walletsMoved(planned: readonly { row: Row; transfers: TransferInput[] }[]): number[] {
    const moved = new Set<number>();
    for (const { row, transfers } of planned) {
      if (transfers.length === 0) continue;
      moved.add(Number(row[3])).add(Number(row[4]));
      for (const t of transfers.slice(1)) for (const id of this.checkpoint.fee_wallets?.[t.credit_account_id!] ?? []) moved.add(id);
    }
    return [...moved];
  }

  // ---- parties ----------------------------------------------------------------------------------

  private parties(ctx: CommandContext, rows: Row[]): void {
    const counters = this.checkpoint.counters;
    const documents: DocumentWrite[] = [];
    const accounts: AccountInput[] = [];
    const now = this.now();
    for (const [sub_id, raw, full_name, status, kyc_level, pin_md5, registered_at] of rows) {
      const id = Number(sub_id);
      const party_id = partyIds.subscriber(sub_id!);
      // A delta brings only subscribers registered since: the wallets made with the party say it is known.
      if (this.checkpoint.pass > 1 && ctx.ledger.accounts.has(walletId(party_id, 'USD'))) continue;
      const msisdn = this.context.msisdnOf.get(id) ?? null;
      counters.msisdn_spellings[spelling(raw ?? '')] += 1;
      if (!msisdn) {
        counters.msisdn_invalid += 1;
        documents.push(finding('msisdn_invalid', sub_id!, { sub_id, msisdn: raw }));
      }
      const holders = msisdn ? this.context.collisions.get(msisdn) : undefined;
      if (holders && holders[0] === id) {
        counters.msisdn_collisions += holders.length - 1;
        documents.push(finding('msisdn_collision', msisdn!, { msisdn, sub_ids: holders.map(String), note: 'registered more than once: no party owns this number until an operator settles it' }));
      }
      const name = full_name ?? '';
      if (/[^\x00-\x7f]/.test(name)) counters.names_non_ascii += 1;
      const party: Party = {
        id: party_id, kind: 'subscriber', name, status: partyStatus(status), msisdn, kyc_tier: kycTier(kyc_level),
        language: 'en', code: null, legacy: { table: 'subscriber', id: sub_id! }, created_at: harareLocalToIso(registered_at ?? '', `subscriber ${sub_id} registered_at`),
      };
      documents.push(partyDocument(party));
      if (pin_md5 && /^[0-9a-fA-F]{32}$/.test(pin_md5)) {
        documents.push(legacyPinDocument(party_id, pin_md5, now));
        counters.pins_carried += 1;
      } else counters.pins_missing += 1;
      // Every subscriber has a wallet per currency in mari, whether legacy had one or not.
      for (const currency of CURRENCIES) accounts.push(walletAccount(walletId(party_id, currency), currency, AccountCode.subscriber_wallet));
    }
    this.createAccounts(ctx, accounts);
    this.put(ctx, documents);
  }

  /** Agents, merchants, banks and mari's own system party: small tables, one batch. */
  private otherParties(ctx: CommandContext): void {
    const documents: DocumentWrite[] = [];
    const created_at = this.now().toISOString();
    const party = (p: Omit<Party, 'status' | 'kyc_tier' | 'language' | 'created_at'>): Party => ({ status: 'active', kyc_tier: 2, language: 'en', created_at, ...p });
    // Every role account mobile money gives such a party, in both currencies, whatever legacy had.
    const accounts: AccountInput[] = [];
    for (const [code] of this.context.agents) {
      for (const c of CURRENCIES) {
        accounts.push(walletAccount(agentFloatId(partyIds.agent(code!), c), c, AccountCode.agent_float), walletAccount(agentCommissionId(partyIds.agent(code!), c), c, AccountCode.agent_commission));
      }
    }
    for (const [code] of this.context.merchants) for (const c of CURRENCIES) accounts.push(walletAccount(merchantTillId(partyIds.merchant(code!), c), c, AccountCode.merchant_till));
    for (const [code] of this.context.banks) for (const c of CURRENCIES) accounts.push(walletAccount(bankSettlementId(partyIds.bank(code!), c), c, AccountCode.bank_settlement));
    for (const c of CURRENCIES) {
      accounts.push(walletAccount(systemId('fees', c), c, AccountCode.system_fees), walletAccount(systemId('commissions', c), c, AccountCode.system_commissions), walletAccount(systemId('airtime_sales', c), c, AccountCode.airtime_sales));
    }
    this.createAccounts(ctx, accounts);
    for (const [code, sub_id, name] of this.context.agents) {
      const msisdn = this.context.collided.has(Number(sub_id)) ? null : this.context.msisdnOf.get(Number(sub_id)) ?? null;
      documents.push(partyDocument(party({ id: partyIds.agent(code!), kind: 'agent', name: name ?? '', msisdn, code, legacy: { table: 'agent', id: code! } })));
    }
    for (const [code, name] of this.context.merchants) {
      documents.push(partyDocument(party({ id: partyIds.merchant(code!), kind: 'merchant', name: name ?? '', msisdn: null, code, legacy: { table: 'merchant', id: code! } })));
    }
    for (const [code, name] of this.context.banks) {
      documents.push(partyDocument(party({ id: partyIds.bank(code!), kind: 'bank', name: name ?? '', msisdn: null, code, legacy: { table: 'bank', id: code! } })));
    }
    documents.push(partyDocument(party({ id: partyIds.system, kind: 'system', name: 'mari', msisdn: null, code: null, legacy: null })));
    // A delta brings new subscribers only: agents, merchants and banks are set up before the bulk import.
    if (this.checkpoint.pass > 1) return;
    this.checkpoint.rows_read.agent = this.context.agents.length;
    this.checkpoint.rows_read.merchant = this.context.merchants.length;
    this.checkpoint.rows_read.bank = this.context.banks.length;
    this.put(ctx, documents);
  }

  // ---- wallets ----------------------------------------------------------------------------------

  private wallets(ctx: CommandContext, rows: Row[]): void {
    const accounts: AccountInput[] = [];
    const documents: DocumentWrite[] = [];
    for (const row of rows) {
      const [wallet_id, owner_type, owner_ref, currency] = row as string[];
      const role = walletRole(this.context, row);
      if (typeof role === 'string') {
        this.checkpoint.counters.unmapped_wallets += 1;
        documents.push(finding('unmapped_wallet', wallet_id, { wallet_id, reason: role }));
        continue;
      }
      const cur = currency as Currency;
      accounts.push(walletAccount(role.account_id, cur, role.code));
      if (role.account_id === systemId('fees', cur)) {
        const fees = (this.checkpoint.fee_wallets ??= {});
        fees[role.account_id] = [...new Set([...(fees[role.account_id] ?? []), Number(wallet_id)])];
      }
      const msisdn = owner_type === 'SUBSCRIBER' ? this.context.msisdnOf.get(Number(owner_ref)) ?? null : null;
      this.walletBook.add({
        table: 'wallet', id: wallet_id, account_id: role.account_id, overdraft_id: overdraftId(role.account_id),
        owner_type, owner_ref, party_id: role.party_id, currency: cur, msisdn: msisdn as Msisdn | null,
      });
    }
    this.createAccounts(ctx, accounts);
    this.put(ctx, [...documents, ...this.walletBook.flush(Number(rows[rows.length - 1][0]))]);
  }

  // ---- opening balances -------------------------------------------------------------------------

  private openings(rows: Row[]): TransferInput[] {
    const transfers: TransferInput[] = [];
    for (const [wallet_id, balance] of rows) {
      const account = this.context.accountOf.get(Number(wallet_id));
      if (!account) continue; // an unmapped wallet is reported once, in the wallets phase
      const currency = this.context.currencyOf.get(Number(wallet_id))!;
      const amount = parseDecimal(balance ?? '', 2);
      assert.ok(amount !== undefined, `wallet_snapshot ${wallet_id}: balance '${balance}' is not a decimal with 2 places`);
      transfers.push(...this.moveTo(account, currency, amount, `mig:open:${wallet_id}`, MigrationCode.opening, migrationOpeningId(currency), `legacy wallet_snapshot ${wallet_id}`));
    }
    return transfers;
  }

  /**
   * Transfers that change an account's balance by `amount` (signed) against `counter`. A bounded
   * wallet cannot go below zero, so the negative part is booked on its overdraft account.
   */
  private moveTo(account: string, asset: string, amount: bigint, id: string, code: number, counter: string, user_data: string): TransferInput[] {
    if (amount === 0n) return [];
    const base = { asset, code, user_data };
    if (amount > 0n) return [{ ...base, id, debit_account_id: counter, credit_account_id: account, amount }];
    const debit = isUnbounded(account) ? account : overdraftId(account);
    return [{ ...base, id, debit_account_id: debit, credit_account_id: counter, amount: -amount }];
  }

  private book(ctx: CommandContext, transfers: TransferInput[]): void {
    const overdrafts: AccountInput[] = [];
    for (const t of transfers) if (t.debit_account_id!.startsWith('overdraft:')) overdrafts.push(overdraftAccount(t.debit_account_id!.slice('overdraft:'.length), t.asset!));
    this.createAccounts(ctx, overdrafts);
    const results = ctx.createTransfers(transfers);
    results.forEach((result, i) => {
      assert.ok(result === 'ok' || result === 'exists', `migration transfer ${transfers[i].id}: ${result}`);
      if (result === 'ok') this.checkpoint.transfers_booked += 1;
    });
  }

  // ---- history ----------------------------------------------------------------------------------

  private history(rows: Row[]): { row: Row; transfers: TransferInput[] }[] {
    const planned: { row: Row; transfers: TransferInput[] }[] = [];
    for (const row of rows) {
      const [txn_id, ref, txn_type, debit_wallet, credit_wallet, amount, fee, currency, status, channel, orig_ref, created_at] = row as string[];
      if (created_at < this.lastCreatedAt) this.checkpoint.counters.out_of_order_rows += 1;
      else this.lastCreatedAt = created_at;
      if (status !== 'SUCCESS') {
        planned.push({ row, transfers: [] });
        continue;
      }
      const debit = this.context.accountOf.get(Number(debit_wallet));
      const credit = this.context.accountOf.get(Number(credit_wallet));
      const units = parseDecimal(amount, 2);
      const feeUnits = parseDecimal(fee, 2);
      assert.ok(units !== undefined && feeUnits !== undefined, `txn_log ${txn_id}: amount '${amount}' or fee '${fee}' is not a decimal with 2 places`);
      if (!debit || !credit || !(CURRENCIES as readonly string[]).includes(currency) || units <= 0n || feeUnits < 0n) {
        planned.push({ row, transfers: [] });
        continue;
      }
      const user_data = `legacy txn_log ${txn_id} ${txn_type} ${channel} ${harareLocalToIso(created_at, `txn_log ${txn_id}`).slice(0, 19)}Z`;
      const id = txnTransferId(ref);
      const main: TransferInput = {
        id, debit_account_id: debit, credit_account_id: credit, amount: units, asset: currency,
        code: TXN_TYPE_CODE[txn_type] ?? MigrationCode.unknown_type, user_data,
        reversal_of: txn_type === 'REVERSAL' && orig_ref ? txnTransferId(orig_ref) : null,
      };
      const transfers = [main];
      if (feeUnits > 0n) {
        main.flags = 1; // linked: the fee moves with the transaction or not at all
        transfers.push({ id: txnFeeId(ref), debit_account_id: debit, credit_account_id: systemId('fees', currency), amount: feeUnits, asset: currency, code: MigrationCode.fee, user_data });
      }
      planned.push({ row, transfers });
    }
    return planned;
  }

  private replay(ctx: CommandContext, planned: { row: Row; transfers: TransferInput[] }[], moved: readonly number[]): void {
    const counters = this.checkpoint.counters;
    const documents: DocumentWrite[] = [];
    const transfers = planned.flatMap((p) => p.transfers);
    const before = moved.map((id) => this.walletText(ctx, id));
    const results = ctx.createTransfers(transfers);
    let at = 0;
    const retry: TransferInput[] = [];
    for (const { row, transfers: own } of planned) {
      const [txn_id, ref, , debit_wallet, credit_wallet, , , currency, status] = row as string[];
      this.checkpoint.last_txn_id = Math.max(this.checkpoint.last_txn_id, Number(txn_id));
      if (status !== 'SUCCESS') {
        counters.failed_rows += 1;
        continue;
      }
      if (own.length === 0) {
        counters.replay_refused += 1;
        documents.push(finding('replay_refused', txn_id, { txn_id, ref, reason: `wallet ${debit_wallet} or ${credit_wallet} is not imported, the currency '${currency}' is unknown, or the amount is not positive` }));
        continue;
      }
      const result = results[at];
      const feeResult = own.length > 1 ? results[at + 1] : 'ok';
      at += own.length;
      if (result === 'ok') {
        this.checkpoint.transfers_booked += own.length;
        if (own[0].reversal_of) counters.reversals_linked += 1;
      } else if (result === 'exists' || result === 'exists_with_different_user_data') {
        // The same ref again (a retried insert): the money moved once, so it is booked once.
        counters.duplicate_refs += 1;
        documents.push(finding('duplicate_ref', `${ref}:${txn_id}`, { ref, txn_id }));
      } else if (result.startsWith('exists_with_different')) {
        counters.ref_conflicts += 1;
        documents.push(finding('ref_conflict', `${ref}:${txn_id}`, { ref, txn_id, result }));
      } else if (result.startsWith('reversal_') || (result === 'linked_event_failed' && feeResult.startsWith('reversal_'))) {
        // The reversed transaction is not in the imported window: book it as a plain transfer.
        retry.push(...own.map((t) => ({ ...t, reversal_of: null })));
      } else {
        counters.replay_refused += 1;
        documents.push(finding('replay_refused', txn_id, { txn_id, ref, reason: result === 'linked_event_failed' ? feeResult : result }));
      }
    }
    if (retry.length > 0) {
      ctx.createTransfers(retry).forEach((result, i) => {
        if (result === 'ok') this.checkpoint.transfers_booked += 1;
        else if (result !== 'exists') {
          counters.replay_refused += 1;
          documents.push(finding('replay_refused', retry[i].id, { transfer_id: retry[i].id, reason: result }));
        }
      });
    }
    // What mari was level with moves with the money: the delta then reads only what legacy changed otherwise.
    moved.forEach((id, i) => {
      const [was, now] = [before[i], this.walletText(ctx, id)];
      if (was !== undefined && now !== undefined) this.walletSums.move(id, was, now);
    });
    this.put(ctx, [...documents, ...this.walletSums.flush()]);
  }

  /** A legacy wallet's compared text as mari holds it now (its account and any overdraft), as WALLET_READ writes it. */
  private walletText(ctx: CommandContext, wallet_id: number): string | undefined {
    const account = this.context.accountOf.get(wallet_id);
    if (account === undefined) return undefined;
    const value = balanceOf(ctx, account) + (isUnbounded(account) ? 0n : balanceOf(ctx, overdraftId(account)));
    return `${wallet_id}|${formatDecimal(value, 2)}`;
  }

  // ---- drift, negative and closed wallets -------------------------------------------------------

  /** Brings each wallet read level with legacy; `ranges` (a delta) are counted again from these rows. */
  private drift(ctx: CommandContext, rows: Row[], ranges?: readonly number[]): void {
    const counters = this.checkpoint.counters;
    const pass = this.checkpoint.pass;
    const documents: DocumentWrite[] = [];
    const transfers: TransferInput[] = [];
    const overdrafts: AccountInput[] = [];
    if (ranges) this.walletSums.reset(ranges);
    for (const row of rows) this.walletSums.add(row);
    for (const [wallet_id, owner_type, owner_ref, currency, balance] of rows as string[][]) {
      const account = this.context.accountOf.get(Number(wallet_id));
      if (!account) continue;
      const legacy = parseDecimal(balance, 2);
      assert.ok(legacy !== undefined, `wallet ${wallet_id}: balance '${balance}' is not a decimal with 2 places`);
      const bounded = !isUnbounded(account);
      const overdraft = overdraftId(account);
      const walletNow = balanceOf(ctx, account);
      const overdraftNow = bounded ? balanceOf(ctx, overdraft) : 0n;
      const drift = legacy - walletNow - overdraftNow;
      if (drift !== 0n) {
        counters.drifted_wallets += 1;
        addTo(counters.drift_total, currency, drift, 2);
        documents.push(finding('drift', `${wallet_id}:${pass}`, {
          wallet_id, currency, owner_type, owner_ref, pass, legacy: balance, from_history: formatDecimal(walletNow + overdraftNow, 2), drift: formatDecimal(drift, 2),
          transfer_ids: [`mig:drift:${wallet_id}:${pass}`, `mig:drift:${wallet_id}:${pass}:o`],
        }));
        // Reach the balance the customer sees: the wallet's non-negative part, the overdraft the rest.
        const walletTarget = bounded && legacy < 0n ? 0n : legacy;
        const overdraftTarget = bounded && legacy < 0n ? legacy : 0n;
        const user_data = `legacy drift of wallet ${wallet_id} (pass ${pass})`;
        transfers.push(...adjust(account, walletTarget - walletNow, { id: `mig:drift:${wallet_id}:${pass}`, asset: currency, code: MigrationCode.drift, user_data }, legacySuspenseId(currency)));
        if (overdraftTarget !== overdraftNow) {
          overdrafts.push(overdraftAccount(account, currency));
          transfers.push(...adjust(overdraft, overdraftTarget - overdraftNow, { id: `mig:drift:${wallet_id}:${pass}:o`, asset: currency, code: MigrationCode.drift, user_data }, legacySuspenseId(currency)));
        }
      }
      if (pass === 1 && legacy < 0n && owner_type !== 'BANK') {
        counters.negative_wallets += 1;
        addTo(counters.negative_total, currency, legacy, 2);
        documents.push(finding('negative_wallet', wallet_id, { wallet_id, owner_type, owner_ref, currency, balance, overdraft_id: overdraft }));
      }
      if (pass === 1 && owner_type === 'SUBSCRIBER' && legacy !== 0n && this.context.statusOf.get(Number(owner_ref)) === 'CLOSED' && !this.closedReported.has(Number(owner_ref))) {
        this.closedReported.add(Number(owner_ref));
        counters.closed_with_balance += 1;
        documents.push(finding('closed_with_balance', owner_ref, { sub_id: owner_ref, wallet_id, currency, balance }));
      }
    }
    this.createAccounts(ctx, overdrafts);
    this.book(ctx, transfers);
    this.put(ctx, [...documents, ...this.walletSums.flush()]);
  }

  // ---- prepaid buckets --------------------------------------------------------------------------

  /** Brings each bucket read level with legacy; `ranges` (a delta) are counted again from these rows. */
  private buckets(ctx: CommandContext, rows: Row[], ranges?: readonly number[]): void {
    const counters = this.checkpoint.counters;
    const pass = this.checkpoint.pass;
    const accounts: AccountInput[] = [];
    const transfers: TransferInput[] = [];
    const documents: DocumentWrite[] = [];
    if (ranges) this.bucketSums.reset(ranges);
    for (const row of rows) this.bucketSums.add(row);
    // Totals per kind summed here and added to the counters' decimal text once a batch.
    const expiredTotals = new Map<string, bigint>();
    const created_at_ns = BigInt(this.now().getTime()) * 1_000_000n;
    const bucketTotals = new Map<string, bigint>();
    for (const [bucket_id, sub_id, kind, amount, bundle_name, expires_at] of rows) {
      const asset = BUCKET_ASSET[kind!];
      const sub = Number(sub_id);
      const units4 = parseDecimal(amount ?? '', 4);
      assert.ok(units4 !== undefined, `prepaid_bucket ${bucket_id}: amount '${amount}' is not a decimal with 4 places`);
      if (!asset || !this.context.statusOf.has(sub)) {
        counters.orphan_buckets += 1;
        documents.push(finding('orphan_bucket', bucket_id!, { bucket_id, sub_id, kind, reason: asset ? 'no such subscriber' : `unknown kind '${kind}'` }));
        continue;
      }
      const expiresMs = expires_at === null ? null : harareLocalToMs(expires_at);
      assert.ok(expiresMs !== undefined, `prepaid_bucket ${bucket_id}: expires_at '${expires_at}' is not a local date-time`);
      if (expiresMs !== null && expiresMs <= this.asOfMs) {
        // Never made usable: legacy kept expired buckets, mari does not; reported with their total.
        if (pass === 1) {
          counters.expired_buckets += 1;
          counters.expired_by_kind[kind!] = (counters.expired_by_kind[kind!] ?? 0) + 1;
          expiredTotals.set(kind!, (expiredTotals.get(kind!) ?? 0n) + units4);
        }
        continue;
      }
      let units = units4;
      if (BUCKET_SCALE[kind!] === 0) {
        units = units4 / 10_000n;
        if (units * 10_000n !== units4) {
          counters.fractional_units += 1;
          documents.push(finding('fractional_units', bucket_id!, { bucket_id, kind, amount, imported: units.toString() }));
        }
      }
      const msisdn = this.context.msisdnOf.get(sub) ?? null;
      const held = this.context.collided.has(sub) || msisdn === null;
      const main = kind === 'AIRTIME' && bundle_name === null && expires_at === null && !this.mainAirtime.has(sub);
      // Prepaid's own ids and codes (lot:m:<id>, mig:<service>:<id>), so prepaid finds and charges what was brought.
      const service = kind!.toLowerCase();
      let account: AccountInput;
      const known = pass > 1 ? this.bucketBook.get(bucket_id!)?.account_id : undefined;
      if (known !== undefined) account = { id: known, asset, code: 0 };
      else if (main && !held) account = airtimeAccountOf(msisdn!, 'USD');
      else if (main) account = { id: heldAirtimeId(sub_id!, 'USD'), asset: airtimeAsset('USD'), code: AccountCode.migration_held, flags: AccountFlag.debits_must_not_exceed_credits, user_data: `held: number registered twice (legacy subscriber ${sub_id})` };
      else account = lotAccount(prepaidLotId(bucket_id!), asset);
      if (main) this.mainAirtime.add(sub);
      if (held) counters.held_buckets += 1;
      const exists = ctx.ledger.accounts.has(account.id);
      const current = exists ? balanceOf(ctx, account.id) : 0n;
      if (pass > 1 && exists && current === units) continue;
      if (!exists) accounts.push(account);
      const change = units - current;
      const id = pass === 1 ? `mig:${service}:${bucket_id}` : `mig:${service}:${bucket_id}:${pass}`;
      if (change !== 0n) {
        const base = { id, asset, code: PREPAID_MIGRATION_CODE, user_data: `legacy prepaid_bucket ${bucket_id}`, amount: change < 0n ? -change : change };
        transfers.push(change > 0n ? { ...base, debit_account_id: migrationOpeningId(asset), credit_account_id: account.id } : { ...base, debit_account_id: account.id, credit_account_id: migrationOpeningId(asset) });
      }
      if (pass === 1) {
        counters.buckets_imported += 1;
        bucketTotals.set(kind!, (bucketTotals.get(kind!) ?? 0n) + units4);
      }
      if (!main && !held && kind !== 'AIRTIME' && !exists) {
        // A bundle prepaid can charge; a bucket that never expired in legacy gets ten years.
        const expires_at_ns = BigInt(expiresMs ?? this.asOfMs + 10 * 365 * 86_400_000) * 1_000_000n;
        documents.push(prepaidLotDocument({
          id: account.id, msisdn: msisdn!, service: service as 'data' | 'voice' | 'sms', asset, name: bundle_name ?? kind!, units,
          created_at_ns, expires_at_ns,
        }));
      }
      this.bucketBook.add({
        table: 'prepaid_bucket', id: bucket_id!, account_id: account.id, kind: kind!, asset, sub_id: sub_id!, msisdn: msisdn as Msisdn | null,
        bundle_name, expires_at: expiresMs === null ? null : new Date(expiresMs).toISOString(), held,
      });
    }
    for (const [kind, total] of expiredTotals) addTo(counters.expired_totals, kind, total, 4);
    for (const [kind, total] of bucketTotals) addTo(counters.bucket_totals, kind, total, 4);
    if (rows.length > 0) documents.push(...this.bucketBook.flush(Number(rows[rows.length - 1][0])));
    documents.push(...this.bucketSums.flush());
    this.createAccounts(ctx, accounts);
    this.book(ctx, transfers);
    this.put(ctx, documents);
  }

  // ---- vouchers and the service catalog ---------------------------------------------------------

  /** The hashes of every NEW voucher's PIN, made on a thread of their own (src/cutover/pin_hasher.ts) from the start. */
  private async prehashVouchers(): Promise<Map<string, string>> {
    const hashes = new Map<string, string>();
    const hasher = new PinHasher();
    const pending: Promise<void>[] = [];
    try {
      for await (const rows of this.options.source.batches('voucher', { after: this.checkpoint.phase === 'vouchers' ? this.checkpoint.after ?? undefined : undefined, batch_rows: 2000 })) {
        const fresh = rows.filter((row) => row[4] === 'NEW');
        const hashed = hasher.hash(fresh.map((row) => row[1]!)).then((batch) => fresh.forEach((row, i) => hashes.set(row[0]!, batch[i])));
        hashed.catch(() => undefined); // awaited below, in order
        pending.push(hashed);
        // The next batch is always queued for the thread; no more are held in memory.
        if (pending.length >= 2) await pending.shift();
      }
      await Promise.all(pending);
    } finally {
      await hasher.close();
    }
    return hashes;
  }

  /** Hashes each redeemable voucher's PIN (off the writer, on libuv's pool); a plaintext PIN is never written. */
  private async vouchers(rows: Row[]): Promise<DocumentWrite[]> {
    const counters = this.checkpoint.counters;
    const prehashed = this.prehashed ? await this.prehashed : new Map<string, string>();
    const records = await mapLimited(rows, 8, async ([serial, pin, face_value, currency, status, used_by, used_at, expires_at]): Promise<VoucherRecord> => {
      const expiresMs = harareLocalToMs(`${expires_at} 23:59:59`);
      assert.ok(expiresMs !== undefined, `voucher ${serial}: expires_at '${expires_at}' is not a date`);
      const state = status === 'NEW' && expiresMs > this.asOfMs ? 'new' : status === 'USED' ? 'used' : 'expired';
      return {
        serial: serial!, pin_hash: state === 'new' ? prehashed.get(serial!) ?? await hashVoucherPin(pin!) : null, face_value: face_value!, currency: currency as Currency,
        status: state, used_by: used_by ? partyIds.subscriber(used_by) : null, used_at: used_at ? harareLocalToIso(used_at, `voucher ${serial} used_at`) : null,
        expires_at: new Date(expiresMs).toISOString(), legacy: { table: 'voucher', id: serial! },
      };
    });
    for (const record of records) {
      if (record.status === 'new') counters.vouchers_redeemable += 1;
      else if (record.status === 'used') counters.vouchers_used += 1;
      else counters.vouchers_expired += 1;
    }
    return records.map(voucherDocument);
  }

  private services(ctx: CommandContext, rows: Row[]): void {
    const documents = rows.map(([menu_code, item_key, label, service, enabled]) => {
      this.checkpoint.counters.services += 1;
      if (enabled === '1') this.checkpoint.counters.services_enabled += 1;
      return { collection: SERVICE_CATALOG, key: `${menu_code}|${item_key}`, tag: service, value: JSON.stringify({ menu_code, item_key, label, service, enabled: enabled === '1' }) };
    });
    this.put(ctx, documents);
  }
}

/** The transfer that changes `account`'s balance by `change` (signed) against `counter`; none for zero. */
function adjust(account: string, change: bigint, base: { id: string; asset: string; code: number; user_data: string }, counter: string): TransferInput[] {
  if (change === 0n) return [];
  return change > 0n
    ? [{ ...base, debit_account_id: counter, credit_account_id: account, amount: change }]
    : [{ ...base, debit_account_id: account, credit_account_id: counter, amount: -change }];
}

function spelling(raw: string): 'local' | 'international' | 'plus_spaced' | 'other' {
  if (/^0\d{9}$/.test(raw)) return 'local';
  if (/^263\d{9}$/.test(raw)) return 'international';
  if (/^\+263[\s\d]+$/.test(raw)) return 'plus_spaced';
  return 'other';
}

function partyStatus(status: string | null): PartyStatus {
  if (status === 'SUSPENDED') return 'suspended';
  if (status === 'CLOSED') return 'closed';
  return 'active';
}

function kycTier(level: string | null): 0 | 1 | 2 {
  const n = Number(level);
  return n === 1 || n === 2 ? n : 0;
}

/** Rows to apply; a delta's ranges read again name the ranges they cover (some may hold no row). */
interface Batch {
  rows: Row[];
  ranges?: number[];
}

async function* mapBatches(source: AsyncIterable<Row[]>): AsyncIterable<Batch> {
  for await (const rows of source) yield { rows };
}

/** Reads ahead: up to `depth` batches are fetched while earlier ones are being applied. */
export async function* prefetch<T>(source: AsyncIterable<T>, depth: number): AsyncIterable<T> {
  const iterator = source[Symbol.asyncIterator]();
  const queue: Promise<IteratorResult<T>>[] = [];
  try {
    for (;;) {
      while (queue.length < depth) queue.push(iterator.next());
      const next = await queue.shift()!;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  }));
  return results;
}

export { ASSETS as MIGRATION_ASSETS };
