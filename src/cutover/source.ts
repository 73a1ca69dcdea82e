// Where legacy rows come from: a MariaDB/MySQL database (streamed with mysql2, never loaded
// whole) or a directory of CSV files with the same tables (the generator's --format csv).
// Both give rows as arrays of text (null for SQL NULL) in the column order of LEGACY_TABLES,
// in key order, from after a key, so a resumed import reads only what it has not imported.
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Readable } from 'node:stream';
import mysql from 'mysql2';
import type { Connection, ConnectionOptions } from 'mysql2';
import { parseDecimal } from './decimal.js';

/** The legacy tables the migration reads, each with its key and its columns (schema.sql). */
export const LEGACY_TABLES = {
  subscriber: { key: 'sub_id', columns: ['sub_id', 'msisdn', 'full_name', 'status', 'kyc_level', 'pin_md5', 'registered_at'] },
  wallet: { key: 'wallet_id', columns: ['wallet_id', 'owner_type', 'owner_ref', 'currency', 'balance', 'updated_at'] },
  wallet_snapshot: { key: 'wallet_id', columns: ['wallet_id', 'balance', 'as_of'] },
  agent: { key: 'agent_code', columns: ['agent_code', 'sub_id', 'name', 'float_wallet', 'commission_wallet'] },
  merchant: { key: 'merchant_code', columns: ['merchant_code', 'name', 'till_wallet'] },
  bank: { key: 'bank_code', columns: ['bank_code', 'name', 'usd_wallet', 'zwg_wallet'] },
  txn_log: { key: 'txn_id', columns: ['txn_id', 'ref', 'txn_type', 'debit_wallet', 'credit_wallet', 'amount', 'fee', 'currency', 'status', 'channel', 'orig_ref', 'created_at'] },
  prepaid_bucket: { key: 'bucket_id', columns: ['bucket_id', 'sub_id', 'kind', 'amount', 'bundle_name', 'expires_at'] },
  voucher: { key: 'serial', columns: ['serial', 'pin', 'face_value', 'currency', 'status', 'used_by', 'used_at', 'expires_at'] },
  service_menu: { key: 'menu_code', columns: ['menu_code', 'item_key', 'label', 'service', 'enabled'] },
} as const;

export type LegacyTable = keyof typeof LEGACY_TABLES;
export type Row = (string | null)[];

/** Tables keyed by an integer: read in numeric key order and resumable after a key. */
const NUMERIC_KEYED: ReadonlySet<LegacyTable> = new Set(['subscriber', 'wallet', 'wallet_snapshot', 'txn_log', 'prepaid_bucket', 'voucher']);

export interface RangeChecksum {
  /** floor(key / width) */
  range: number;
  rows: number;
  /** Sum of CRC32 of each row's comparison text: exact in a double up to 2M rows a range. */
  sum: number;
}

/**
 * What reconcile compares for a table, row by row: the key and a text made of the values that
 * must agree. `sql` builds that text in MariaDB (so checksums are computed where the data is);
 * `text` builds the same from a row, for the CSV source and for drilling into rows.
 */
export interface ComparedTable {
  table: LegacyTable;
  sql: { text: string; where?: string };
  /** The same text from a row (undefined: the row is left out, as `where` leaves it out in SQL). */
  text(row: Row): string | undefined;
}

/** A grouped sum of a decimal column: the same on both sources, exact (bigint at `scale`). */
export interface SumQuery {
  table: LegacyTable;
  /** Column position(s) to group by (the key joins them with '|'). */
  group: number | number[];
  /** Column position of the decimal to sum. */
  sum: number;
  scale: number;
  where?: { sql: string; row(row: Row): boolean };
}

export type Sums = Map<string, { count: number; total: bigint }>;

export interface LegacySource {
  readonly description: string;
  /** Rows in key order, in arrays of up to `batch_rows`; numeric keys strictly after `after` when given. */
  batches(table: LegacyTable, options?: { after?: number; batch_rows?: number }): AsyncIterable<Row[]>;
  count(table: LegacyTable): Promise<number>;
  /** Checksums per range of keys of width `width`, over the rows `compared` keeps. */
  checksums(compared: ComparedTable, width: number): Promise<RangeChecksum[]>;
  /** Rows whose key falls in the given ranges, in key order (unfiltered: the caller applies `text`). */
  rowsInRanges(table: LegacyTable, ranges: readonly number[], width: number): AsyncIterable<Row>;
  /** Rows with these numeric keys, in key order (missing keys are simply absent). */
  rowsByKeys(table: LegacyTable, keys: readonly number[]): AsyncIterable<Row>;
  sums(query: SumQuery): Promise<Sums>;
  close(): Promise<void>;
}

function addSum(sums: Sums, key: string, count: number, total: bigint): void {
  const entry = sums.get(key) ?? { count: 0, total: 0n };
  entry.count += count;
  entry.total += total;
  sums.set(key, entry);
}

export function checksumOf(text: string): number {
  return crc32(text);
}

/**
 * Connection options for `mysql://user:password@host:port/database`: UTF-8 from the server (names
 * are latin1 in the tables and arrive converted), DATETIMEs and DECIMALs as the strings they are.
 */
export function mysqlConnectionOptions(url: string): ConnectionOptions {
  const parsed = new URL(url);
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') throw new Error(`--from must be a mysql:// URL, not '${parsed.protocol}//…'`);
  const options: ConnectionOptions = {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username || 'root'),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')),
    charset: 'UTF8MB4_GENERAL_CI',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    timezone: 'local',
  };
  if (!options.database) throw new Error(`--from needs a database name: mysql://user@host:port/DATABASE`);
  return options;
}

/** Opens `mysql://user:password@host:port/database` (or a CSV directory with openCsvSource). */
export async function openMysqlSource(url: string): Promise<LegacySource> {
  const options = mysqlConnectionOptions(url);
  return new MysqlSource(options, `mysql://${options.user}@${options.host}:${options.port}/${options.database}`);
}

/** Idle connections kept for the next query: a delta makes many small ones, each a handshake otherwise. */
const IDLE_CONNECTIONS_MAX = 4;

class MysqlSource implements LegacySource {
  private readonly connections: Connection[] = [];
  private readonly idle: Connection[] = [];

  constructor(private readonly options: ConnectionOptions, readonly description: string) {}

  /** A connection per concurrent stream: a streaming query holds its connection until the end. */
  private async connect(): Promise<Connection> {
    const reused = this.idle.pop();
    if (reused) return reused;
    const connection = mysql.createConnection(this.options);
    // A lost connection fails the read in progress (its stream or query errors); never the process.
    connection.on('error', () => {
      const at = this.idle.indexOf(connection);
      if (at >= 0) this.idle.splice(at, 1);
    });
    await new Promise<void>((resolve, reject) => connection.connect((error) => (error ? reject(error) : resolve())));
    // A streamed read waits while the writer catches up (backpressure): the server must not give up
    // on a client that is slow to read (net_write_timeout is 60 s by default).
    await new Promise<void>((resolve, reject) => connection.query('SET SESSION net_write_timeout = 3600, net_read_timeout = 3600', (error) => (error ? reject(error) : resolve())));
    this.connections.push(connection);
    return connection;
  }

  /** `finished`: its last query was read to the end without error, so the next one can use it. */
  private release(connection: Connection, finished: boolean): void {
    if (finished && this.idle.length < IDLE_CONNECTIONS_MAX) {
      this.idle.push(connection);
      return;
    }
    this.connections.splice(this.connections.indexOf(connection), 1);
    connection.end();
  }

  private async query<T>(sql: string, values: unknown[] = []): Promise<T[]> {
    const connection = await this.connect();
    let finished = false;
    try {
      const rows = await new Promise<T[]>((resolve, reject) => connection.query({ sql, values, rowsAsArray: true }, (error, rows) => (error ? reject(error) : resolve(rows as T[]))));
      finished = true;
      return rows;
    } finally {
      this.release(connection, finished);
    }
  }

  async *batches(table: LegacyTable, options: { after?: number; batch_rows?: number } = {}): AsyncIterable<Row[]> {
    const spec = LEGACY_TABLES[table];
    const where = options.after !== undefined && NUMERIC_KEYED.has(table) ? `WHERE ${spec.key} > ${Math.trunc(options.after)}` : '';
    const order = table === 'service_menu' ? 'menu_code, item_key' : spec.key;
    yield* this.stream(`SELECT ${spec.columns.join(', ')} FROM ${table} ${where} ORDER BY ${order}`, options.batch_rows ?? 5000);
  }

  private async *stream(sql: string, batch_rows: number): AsyncIterable<Row[]> {
    const connection = await this.connect();
    // A stream left early (the reader stopped) may still have rows coming: its connection is closed, not reused.
    let finished = false;
    try {
      const rows = connection.query({ sql, rowsAsArray: true }).stream({ highWaterMark: batch_rows * 2 });
      for await (const batch of batchesOf(rows, batch_rows)) {
        finished = batch.length < batch_rows; // the last batch is the only short one
        yield batch;
        finished = false;
      }
      finished = true;
    } finally {
      this.release(connection, finished);
    }
  }

  async *rowsByKeys(table: LegacyTable, keys: readonly number[]): AsyncIterable<Row> {
    const spec = LEGACY_TABLES[table];
    const sorted = [...new Set(keys.map((k) => Math.trunc(k)))].sort((a, b) => a - b);
    for (let start = 0; start < sorted.length; start += 10_000) {
      const group = sorted.slice(start, start + 10_000);
      for await (const batch of this.stream(`SELECT ${spec.columns.join(', ')} FROM ${table} WHERE ${spec.key} IN (${group.join(',')}) ORDER BY ${spec.key}`, 5000)) yield* batch;
    }
  }

  async count(table: LegacyTable): Promise<number> {
    const [[n]] = await this.query<[number | string]>(`SELECT COUNT(*) FROM ${table}`);
    return Number(n);
  }

  async checksums(compared: ComparedTable, width: number): Promise<RangeChecksum[]> {
    const key = LEGACY_TABLES[compared.table].key;
    const where = compared.sql.where ? `WHERE ${compared.sql.where}` : '';
    const rows = await this.query<[string | number, string | number, string | number]>(
      `SELECT ${key} DIV ${Math.trunc(width)} AS r, COUNT(*), SUM(CRC32(${compared.sql.text})) FROM ${compared.table} ${where} GROUP BY r ORDER BY r`);
    return rows.map(([range, rows, sum]) => ({ range: Number(range), rows: Number(rows), sum: Number(sum) }));
  }

  async *rowsInRanges(table: LegacyTable, ranges: readonly number[], width: number): AsyncIterable<Row> {
    const spec = LEGACY_TABLES[table];
    // Neighbouring ranges are read as one span, and spans in groups so one query never names thousands of them.
    const spans = spansOf(ranges);
    for (let start = 0; start < spans.length; start += 200) {
      const group = spans.slice(start, start + 200).map(([from, to]) => `(${spec.key} >= ${from * width} AND ${spec.key} < ${to * width})`);
      for await (const batch of this.stream(`SELECT ${spec.columns.join(', ')} FROM ${table} WHERE ${group.join(' OR ')} ORDER BY ${spec.key}`, 5000)) yield* batch;
    }
  }

  async sums(query: SumQuery): Promise<Sums> {
    const columns = LEGACY_TABLES[query.table].columns as readonly string[];
    const group = (Array.isArray(query.group) ? query.group : [query.group]).map((i) => columns[i]);
    const where = query.where ? `WHERE ${query.where.sql}` : '';
    const rows = await this.query<[string, string | number, string | null]>(
      `SELECT CONCAT_WS('|', ${group.join(', ')}) AS g, COUNT(*), SUM(${columns[query.sum]}) FROM ${query.table} ${where} GROUP BY g ORDER BY g`);
    const sums: Sums = new Map();
    for (const [key, count, total] of rows) {
      const value = parseDecimal(String(total ?? '0'), query.scale);
      if (value === undefined) throw new Error(`sum of ${query.table}.${columns[query.sum]} is '${total}', not a decimal with ${query.scale} places`);
      addSum(sums, String(key), Number(count), value);
    }
    return sums;
  }

  async close(): Promise<void> {
    this.idle.splice(0);
    for (const connection of this.connections.splice(0)) connection.destroy();
  }
}

/**
 * The rows of a query stream in arrays of `size`, gathered from its 'data' events: one promise a
 * batch rather than one a row (a fifth of the import's reading). The stream is paused while a
 * batch is out, so the server waits for a slow reader (backpressure), and destroyed if the reader
 * stops early.
 */
async function* batchesOf(stream: Readable, size: number): AsyncIterable<Row[]> {
  let batch: Row[] = [];
  const ready: Row[][] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  stream.on('data', (raw: unknown[]) => {
    // In place: the row array mysql2 made becomes the Row (one array a row, not two).
    for (let i = 0; i < raw.length; i++) raw[i] = asText(raw[i]);
    batch.push(raw as Row);
    if (batch.length >= size) {
      ready.push(batch);
      batch = [];
      stream.pause();
      wake?.();
    }
  });
  stream.on('end', () => {
    ended = true;
    wake?.();
  });
  stream.on('error', (error: Error) => {
    failure = error;
    wake?.();
  });
  try {
    for (;;) {
      if (failure) throw failure;
      const next = ready.shift();
      if (next) {
        yield next;
        continue;
      }
      if (ended) {
        if (batch.length > 0) yield batch;
        return;
      }
      stream.resume();
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    if (!ended) stream.destroy();
  }
}

/** Sorted ranges as [first, last + 1) spans of consecutive ones. */
function spansOf(ranges: readonly number[]): [number, number][] {
  const spans: [number, number][] = [];
  for (const range of ranges) {
    const last = spans[spans.length - 1];
    if (last && last[1] === range) last[1] = range + 1;
    else spans.push([range, range + 1]);
  }
  return spans;
}

function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}

/** Opens a directory holding `<table>.csv` files with a header line (the generator's --format csv). */
export function openCsvSource(dir: string): LegacySource {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`--from-csv: ${dir} is not a directory`);
  return new CsvSource(dir);
}

class CsvSource implements LegacySource {
  constructor(private readonly dir: string) {}

  get description(): string {
    return `csv:${this.dir}`;
  }

  private file(table: LegacyTable): string {
    const file = path.join(this.dir, `${table}.csv`);
    if (!fs.existsSync(file)) throw new Error(`--from-csv: ${file} is missing`);
    return file;
  }

  /** Rows in file order; the generator writes each table in key order, which readRows checks. */
  private async *rows(table: LegacyTable): AsyncIterable<Row[]> {
    const spec = LEGACY_TABLES[table];
    let header: string[] | undefined;
    let positions: number[] = [];
    for await (const records of parseCsv(fs.createReadStream(this.file(table), { highWaterMark: 1 << 20 }))) {
      const out: Row[] = [];
      for (const record of records) {
        if (!header) {
          header = record;
          positions = spec.columns.map((column) => {
            const at = header!.indexOf(column);
            if (at < 0) throw new Error(`${table}.csv has no column ${column}`);
            return at;
          });
          continue;
        }
        // CSV has no NULL: an empty field is one, as the generator writes it.
        out.push(positions.map((at) => (record[at] === undefined || record[at] === '' ? null : record[at])));
      }
      if (out.length > 0) yield out;
    }
  }

  async *batches(table: LegacyTable, options: { after?: number; batch_rows?: number } = {}): AsyncIterable<Row[]> {
    const numeric = NUMERIC_KEYED.has(table);
    let previous = -Infinity;
    for await (const rows of this.rows(table)) {
      let kept = rows;
      if (numeric) {
        for (const row of rows) {
          const key = Number(row[0]);
          if (!(key > previous)) throw new Error(`${table}.csv is not in key order at ${row[0]}: a resumable import needs it sorted`);
          previous = key;
        }
        if (options.after !== undefined) kept = rows.filter((row) => Number(row[0]) > options.after!);
      }
      const size = options.batch_rows ?? 5000;
      for (let start = 0; start < kept.length; start += size) yield kept.slice(start, start + size);
    }
  }

  async *rowsByKeys(table: LegacyTable, keys: readonly number[]): AsyncIterable<Row> {
    const wanted = new Set(keys);
    for await (const rows of this.rows(table)) for (const row of rows) if (wanted.has(Number(row[0]))) yield row;
  }

  /** Lines after the header: a progress total, read at disk speed (a quoted newline would count twice). */
  async count(table: LegacyTable): Promise<number> {
    let lines = 0;
    let last = 10;
    for await (const chunk of fs.createReadStream(this.file(table), { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) lines += 1;
      if (chunk.length > 0) last = chunk[chunk.length - 1];
    }
    return Math.max(0, lines - 1 + (last === 10 ? 0 : 1));
  }

  async checksums(compared: ComparedTable, width: number): Promise<RangeChecksum[]> {
    const ranges = new Map<number, RangeChecksum>();
    for await (const rows of this.rows(compared.table)) {
      for (const row of rows) {
        const text = compared.text(row);
        if (text === undefined) continue;
        const range = Math.floor(Number(row[0]) / width);
        let entry = ranges.get(range);
        if (!entry) ranges.set(range, (entry = { range, rows: 0, sum: 0 }));
        entry.rows += 1;
        entry.sum += checksumOf(text);
      }
    }
    return [...ranges.values()].sort((a, b) => a.range - b.range);
  }

  async *rowsInRanges(table: LegacyTable, ranges: readonly number[], width: number): AsyncIterable<Row> {
    const wanted = new Set(ranges);
    for await (const rows of this.rows(table)) for (const row of rows) if (wanted.has(Math.floor(Number(row[0]) / width))) yield row;
  }

  async sums(query: SumQuery): Promise<Sums> {
    const group = Array.isArray(query.group) ? query.group : [query.group];
    const sums: Sums = new Map();
    for await (const rows of this.rows(query.table)) {
      for (const row of rows) {
        if (query.where && !query.where.row(row)) continue;
        const value = parseDecimal(row[query.sum] ?? '', query.scale);
        if (value === undefined) throw new Error(`${query.table}.csv: '${row[query.sum]}' is not a decimal with ${query.scale} places`);
        addSum(sums, group.map((i) => row[i] ?? '').join('|'), 1, value);
      }
    }
    return sums;
  }

  async close(): Promise<void> {}
}

/**
 * Streams RFC 4180 CSV: fields quoted with '"' may hold commas, quotes ('""') and newlines, and a
 * quoted field may span chunks. Yields the records completed by each chunk.
 */
export async function* parseCsv(input: AsyncIterable<Buffer | string>): AsyncIterable<string[][]> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let afterQuote = false;
  for await (const chunk of input) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    const records: string[][] = [];
    let i = 0;
    while (i < text.length) {
      if (quoted) {
        const close = text.indexOf('"', i);
        if (close < 0) {
          field += text.slice(i);
          i = text.length;
        } else if (close + 1 < text.length && text[close + 1] === '"') {
          field += text.slice(i, close + 1);
          i = close + 2;
        } else if (close + 1 === text.length) {
          // A quote at the end of a chunk: an escaped quote or the field's end, decided by the next chunk.
          field += text.slice(i, close);
          quoted = false;
          afterQuote = true;
          i = close + 1;
        } else {
          field += text.slice(i, close);
          quoted = false;
          i = close + 1;
        }
        continue;
      }
      const c = text[i];
      if (afterQuote) {
        afterQuote = false;
        if (c === '"') {
          field += '"';
          quoted = true;
          i += 1;
          continue;
        }
      }
      if (c === '"' && field === '') {
        quoted = true;
        i += 1;
      } else if (c === ',') {
        record.push(field);
        field = '';
        i += 1;
      } else if (c === '\n' || c === '\r') {
        if (c === '\r' && text[i + 1] === '\n') i += 1;
        record.push(field);
        field = '';
        if (record.length > 1 || record[0] !== '') records.push(record);
        record = [];
        i += 1;
      } else {
        // Plain run up to the next delimiter: sliced at once rather than char by char.
        let end = i;
        while (end < text.length) {
          const d = text.charCodeAt(end);
          if (d === 44 || d === 10 || d === 13 || d === 34) break;
          end += 1;
        }
        if (end === i) {
          field += c; // a '"' inside an unquoted field is kept as is
          i += 1;
        } else {
          field += text.slice(i, end);
          i = end;
        }
      }
    }
    if (records.length > 0) yield records;
  }
  if (quoted) throw new Error('CSV ends inside a quoted field');
  if (field !== '' || record.length > 0) {
    record.push(field);
    yield [record];
  }
}
