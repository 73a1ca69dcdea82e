// The journal is the ledger's append-only history: every account and transfer record, in
// timestamp order, grouped into entries (one per commit). Each entry's hash commits to the
// previous entry's hash and to the canonical encoding of every record in it, so an auditor with
// the records alone can check that nothing was changed, removed, inserted or reordered.
import { createHash } from 'node:crypto';
import type { Account, Transfer } from './types.js';
import type { JournalRecord } from './ledger.js';

export interface JournalEntry {
  readonly seq: number;
  readonly first_timestamp: bigint;
  readonly last_timestamp: bigint;
  readonly count: number;
  readonly prev_hash: Buffer;
  readonly hash: Buffer;
}

export const GENESIS_HASH: Buffer = Buffer.alloc(32);

const TAG_ACCOUNT = 1;
const TAG_TRANSFER = 2;
const NULL_TEXT = 0xffff;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * Canonical binary encoding of records: fixed-width little-endian integers, then each text as a
 * u16 byte length (0xffff for null) and its UTF-8 bytes. Length prefixes make it unambiguous:
 * no value can forge a field or a record boundary.
 */
export class RecordEncoder {
  private buffer = Buffer.allocUnsafe(1 << 20);
  // Buffer's writeBigInt64LE splits the value with BigInt arithmetic; DataView's does not allocate.
  private view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
  private offset = 0;

  reset(): void {
    this.offset = 0;
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.offset);
  }

  add(record: JournalRecord): void {
    if (record.kind === 'account') this.account(record.account);
    else this.transfer(record.transfer);
  }

  // Fields go through the DataView, range-checked here as Buffer's write methods would check them:
  // those are calls with their own checks per field, a fifth of the writer's encoding time.
  account(a: Account): void {
    this.reserve(1 + 8 + 4 + 2 + 4 + 3 * 2 + 4 * 130);
    const v = this.view;
    let o = this.offset;
    v.setUint8(o, TAG_ACCOUNT);
    o = this.int64(a.timestamp, o + 1);
    v.setUint32(o, uint32(a.no), true);
    v.setUint16(o + 4, uint16(a.code), true);
    v.setUint32(o + 6, uint32(a.flags), true);
    o = this.text(a.id, o + 10);
    o = this.text(a.asset, o);
    this.offset = this.text(a.user_data, o);
  }

  transfer(t: Transfer): void {
    this.reserve(1 + 8 + 4 + 4 + 8 + 8 + 2 + 4 + 4 + 5 * 2 + 4 * 400);
    const v = this.view;
    let o = this.offset;
    v.setUint8(o, TAG_TRANSFER);
    o = this.int64(t.timestamp, o + 1);
    v.setUint32(o, uint32(t.debit_account_no), true);
    v.setUint32(o + 4, uint32(t.credit_account_no), true);
    o = this.int64(t.amount, o + 8);
    o = this.int64(t.pending_amount, o);
    v.setUint16(o, uint16(t.code), true);
    v.setUint32(o + 2, uint32(t.flags), true);
    v.setUint32(o + 6, uint32(t.timeout), true);
    o = this.text(t.id, o + 10);
    o = this.text(t.pending_id, o);
    o = this.text(t.asset, o);
    o = this.text(t.user_data, o);
    this.offset = this.text(t.reversal_of, o);
  }

  private int64(value: bigint, offset: number): number {
    // Same bytes and the same range check as writeBigInt64LE: a value outside int64 is a bug upstream.
    if (value < INT64_MIN || value > INT64_MAX) throw new RangeError(`${value} does not fit in 64 bits`);
    this.view.setBigInt64(offset, value, true);
    return offset + 8;
  }

  private text(value: string | null, offset: number): number {
    if (value === null) {
      this.view.setUint16(offset, NULL_TEXT, true);
      return offset + 2;
    }
    // Ids, asset codes and most user data are short ASCII: copied here, in the same bytes UTF-8
    // gives, for less than the call into Buffer.write costs. Anything else goes through it.
    const buffer = this.buffer;
    const start = offset + 2;
    const n = value.length;
    let i = 0;
    if (n <= 64) {
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c > 0x7f) break;
        buffer[start + i] = c;
      }
    }
    const length = i === n ? n : buffer.write(value, start, 'utf8');
    // A text of 0xffff bytes or more would read back as null or cut short: the ledger bounds them far below.
    if (length >= NULL_TEXT) throw new RangeError(`a text of ${length} bytes does not fit the journal`);
    this.view.setUint16(offset, length, true);
    return start + length;
  }

  private reserve(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + bytes));
    this.buffer.copy(grown, 0, 0, this.offset);
    this.buffer = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }
}

/** The value, if it fits in 32 unsigned bits (as Buffer.writeUInt32LE checks); a value that does not is a bug upstream. */
function uint32(value: number): number {
  if (value >>> 0 !== value) throw new RangeError(`${value} does not fit in 32 bits`);
  return value;
}

function uint16(value: number): number {
  if ((value & 0xffff) !== value) throw new RangeError(`${value} does not fit in 16 bits`);
  return value;
}

export function recordTimestamp(record: JournalRecord): bigint {
  return record.kind === 'account' ? record.account.timestamp : record.transfer.timestamp;
}

/** Decodes what RecordEncoder wrote. Needs each account's id by number to fill transfers' account ids. */
export function decodeRecords(bytes: Buffer, accountId: (no: number) => string): JournalRecord[] {
  const records: JournalRecord[] = [];
  visitRecords(bytes, {
    account: (account) => records.push({ kind: 'account', account }),
    transfer: (t) => records.push({ kind: 'transfer', transfer: { ...t, debit_account_id: accountId(t.debit_account_no), credit_account_id: accountId(t.credit_account_no) } }),
  });
  return records;
}

export interface RecordVisitor {
  account(account: Account): void;
  /** `transfer` is one scratch object, overwritten by the next record: copy what must outlive the call. Its account ids are empty. */
  transfer(transfer: Transfer): void;
}

/**
 * Walks what RecordEncoder wrote, in order, without building an object per transfer: the commit
 * thread turns every record into a row and needs none of them afterwards. Returns the count.
 */
export function visitRecords(bytes: Buffer, visitor: RecordVisitor): number {
  // Buffer's readBigInt64LE assembles the value with BigInt arithmetic; DataView's reads it at once.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 0;
  let count = 0;
  const text = (): string | null => {
    const length = bytes.readUInt16LE(o);
    o += 2;
    if (length === NULL_TEXT) return null;
    const value = bytes.toString('utf8', o, o + length);
    o += length;
    return value;
  };
  // A transfer's asset is nearly always the one before it: compared byte by byte, it is reused
  // rather than decoded again (each decode is a call into C++, a twentieth of the thread's time).
  let assetStart = -1;
  let asset = '';
  const assetText = (): string => {
    const length = bytes.readUInt16LE(o);
    const same = assetStart >= 0 && length !== NULL_TEXT && length === bytes.readUInt16LE(assetStart) && sameBytes(bytes, assetStart + 2, o + 2, length);
    if (!same) {
      assetStart = o;
      asset = text()!;
      return asset;
    }
    o += 2 + length;
    return asset;
  };
  const t = {
    id: '', timestamp: 0n, debit_account_id: '', credit_account_id: '', debit_account_no: 0, credit_account_no: 0, amount: 0n,
    pending_id: null as string | null, pending_amount: 0n, asset: '', code: 0, flags: 0, timeout: 0, user_data: null as string | null, reversal_of: null as string | null,
  };
  while (o < bytes.length) {
    const tag = bytes.readUInt8(o);
    o += 1;
    count += 1;
    if (tag === TAG_ACCOUNT) {
      const timestamp = view.getBigInt64(o, true);
      const no = bytes.readUInt32LE(o + 8);
      const code = bytes.readUInt16LE(o + 12);
      const flags = bytes.readUInt32LE(o + 14);
      o += 18;
      const id = text()!;
      const asset = text()!;
      const user_data = text();
      visitor.account({ id, no, asset, code, flags, user_data, timestamp, debits_pending: 0n, debits_posted: 0n, credits_pending: 0n, credits_posted: 0n });
      continue;
    }
    if (tag !== TAG_TRANSFER) throw new Error(`unknown record tag ${tag} at byte ${o - 1}`);
    if (o + 42 > bytes.length) throw new RangeError(`a transfer record cut short at byte ${o - 1}`);
    t.timestamp = view.getBigInt64(o, true);
    t.debit_account_no = bytes.readUInt32LE(o + 8);
    t.credit_account_no = bytes.readUInt32LE(o + 12);
    t.amount = view.getBigInt64(o + 16, true);
    t.pending_amount = view.getBigInt64(o + 24, true);
    t.code = bytes.readUInt16LE(o + 32);
    t.flags = bytes.readUInt32LE(o + 34);
    t.timeout = bytes.readUInt32LE(o + 38);
    o += 42;
    t.id = text()!;
    t.pending_id = text();
    t.asset = assetText();
    t.user_data = text();
    t.reversal_of = text();
    visitor.transfer(t);
  }
  return count;
}

function sameBytes(bytes: Buffer, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}

const encoder = new RecordEncoder();

/** The canonical bytes of `records`, in a buffer of their own (it can be handed to another thread). */
export function encodeRecords(records: readonly JournalRecord[]): Buffer {
  encoder.reset();
  for (const record of records) encoder.add(record);
  return Buffer.from(encoder.bytes());
}

/** The hash of an entry: sha256(previous hash ‖ its records' canonical bytes). */
export function hashBytes(prev_hash: Buffer, bytes: Buffer): Buffer {
  return createHash('sha256').update(prev_hash).update(bytes).digest();
}

export function hashEntry(prev_hash: Buffer, records: readonly JournalRecord[]): Buffer {
  return hashBytes(prev_hash, encodeRecords(records));
}

export function makeEntry(seq: number, prev_hash: Buffer, records: readonly JournalRecord[], bytes = encodeRecords(records)): JournalEntry {
  return {
    seq,
    first_timestamp: recordTimestamp(records[0]),
    last_timestamp: recordTimestamp(records[records.length - 1]),
    count: records.length,
    prev_hash,
    hash: hashBytes(prev_hash, bytes),
  };
}
