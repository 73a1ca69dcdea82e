// What mari was last made level with, per legacy table: for each range of SUM_WIDTH legacy keys,
// the number of rows and the sum of CRC32 of each row's compared text, as the import read them
// and as mari holds them since (a replayed transaction moves a wallet's text with it). A delta
// asks the legacy database for the same sums now (one scan, computed where the data is) and reads
// row by row only the ranges that differ: the cost of comparing a million wallets and three
// million buckets is a scan in MariaDB, not millions of records decoded in mari.
//
// A range counted as equal is equal in both places (up to a CRC32 collision, as in reconcile);
// a range that is not is read and brought level, then counted again from the rows read. Sums are
// kept in documents of CHUNK_RANGES ranges, written in the writer command that changes them, so
// they are exactly as durable as the balances they describe.
import assert from 'node:assert/strict';
import type { LedgerHandle } from '../store/open.js';
import type { DocumentWrite } from '../store/store.js';
import { MIGRATION } from './formats.js';
import { checksumOf, type ComparedTable, type RangeChecksum, type Row } from './source.js';

/** Narrow enough that a scattered change costs a few dozen rows read, wide enough that the sums stay small. */
export const SUM_WIDTH = 32;
const CHUNK_RANGES = 256;

/** What a delta compares of each table: the legacy values mari is made level with. */
export const WALLET_READ: ComparedTable = {
  table: 'wallet',
  sql: { text: `CONCAT(wallet_id, '|', balance)` },
  text: (row) => `${row[0]}|${row[4]}`,
};
export const BUCKET_READ: ComparedTable = {
  table: 'prepaid_bucket',
  sql: { text: `CONCAT(bucket_id, '|', amount, '|', IFNULL(expires_at, ''))` },
  text: (row) => `${row[0]}|${row[3]}|${row[5] ?? ''}`,
};

interface SumsDocument {
  table: string;
  width: number;
  chunk: number;
  /** [range, rows, sum] */
  ranges: [number, number, number][];
}

const prefixOf = (table: string) => `sums:${table}:`;
const keyOf = (table: string, chunk: number) => `${prefixOf(table)}${String(chunk).padStart(8, '0')}`;

export class SumBook {
  private readonly chunks = new Map<number, Map<number, RangeChecksum>>();
  private readonly touched = new Set<number>();

  constructor(readonly compared: ComparedTable, private readonly handle: LedgerHandle) {}

  get table(): string {
    return this.compared.table;
  }

  /** Every range of the table (a delta compares them all). */
  async loadAll(): Promise<void> {
    for await (const doc of this.handle.store.documents(MIGRATION, { prefix: prefixOf(this.table) })) this.adopt(JSON.parse(doc.value) as SumsDocument);
  }

  /** Outside the writer, before submitting a batch with these keys: a resumed import continues the sums it left. */
  async preload(keys: readonly number[]): Promise<void> {
    for (const chunk of new Set(keys.map((key) => Math.floor(key / SUM_WIDTH / CHUNK_RANGES)))) {
      if (this.chunks.has(chunk)) continue;
      const doc = await this.handle.store.document(MIGRATION, keyOf(this.table, chunk));
      if (doc) this.adopt(JSON.parse(doc.value) as SumsDocument);
      else this.chunks.set(chunk, new Map());
    }
  }

  private adopt(doc: SumsDocument): void {
    assert.equal(doc.width, SUM_WIDTH, `sums of ${this.table} kept at width ${doc.width}, not ${SUM_WIDTH}`);
    this.chunks.set(doc.chunk, new Map(doc.ranges.map(([range, rows, sum]) => [range, { range, rows, sum }])));
  }

  private entry(range: number): RangeChecksum {
    const chunk = Math.floor(range / CHUNK_RANGES);
    const ranges = this.chunks.get(chunk);
    assert.ok(ranges, `sums chunk ${chunk} of ${this.table} was loaded before its batch`);
    let entry = ranges.get(range);
    if (!entry) ranges.set(range, (entry = { range, rows: 0, sum: 0 }));
    this.touched.add(chunk);
    return entry;
  }

  /** A row read (and mari made level with it). */
  add(row: Row): void {
    const text = this.compared.text(row);
    if (text === undefined) return;
    const entry = this.entry(Math.floor(Number(row[0]) / SUM_WIDTH));
    entry.rows += 1;
    entry.sum += checksumOf(text);
  }

  /** A row whose text mari moved (a replayed transaction): same row, new text. */
  move(key: number, before: string, after: string): void {
    if (before === after) return;
    const entry = this.entry(Math.floor(key / SUM_WIDTH));
    entry.sum += checksumOf(after) - checksumOf(before);
  }

  /** Ranges about to be read again in full: counted from scratch. */
  reset(ranges: readonly number[]): void {
    for (const range of ranges) {
      const entry = this.entry(range);
      entry.rows = 0;
      entry.sum = 0;
    }
  }

  /** Ranges whose legacy sums now differ from these (in either direction), in key order. */
  differing(legacy: readonly RangeChecksum[]): number[] {
    const differing = new Set<number>();
    const seen = new Set<number>();
    for (const now of legacy) {
      seen.add(now.range);
      const kept = this.chunks.get(Math.floor(now.range / CHUNK_RANGES))?.get(now.range);
      if (!kept || kept.rows !== now.rows || kept.sum !== now.sum) differing.add(now.range);
    }
    for (const ranges of this.chunks.values()) for (const kept of ranges.values()) if (kept.rows !== 0 && !seen.has(kept.range)) differing.add(kept.range);
    return [...differing].sort((a, b) => a - b);
  }

  /** Inside the writer: the documents of the chunks changed since the last flush. */
  flush(): DocumentWrite[] {
    const documents: DocumentWrite[] = [];
    for (const chunk of this.touched) {
      const ranges = [...this.chunks.get(chunk)!.values()].filter((e) => e.rows !== 0).sort((a, b) => a.range - b.range);
      const doc: SumsDocument = { table: this.table, width: SUM_WIDTH, chunk, ranges: ranges.map((e) => [e.range, e.rows, e.sum]) };
      documents.push({ collection: MIGRATION, key: keyOf(this.table, chunk), tag: null, value: JSON.stringify(doc) });
    }
    this.touched.clear();
    return documents;
  }
}
