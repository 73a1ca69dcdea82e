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

/**
 * Canonical binary encoding of records: fixed-width little-endian integers, then each text as a
 * u16 byte length (0xffff for null) and its UTF-8 bytes. Length prefixes make it unambiguous:
 * no value can forge a field or a record boundary.
 */
export class RecordEncoder {
  private buffer = Buffer.allocUnsafe(1 << 20);
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

  account(a: Account): void {
    this.reserve(1 + 8 + 4 + 2 + 4 + 3 * 2 + 4 * 130);
    let o = this.buffer.writeUInt8(TAG_ACCOUNT, this.offset);
    o = this.buffer.writeBigInt64LE(a.timestamp, o);
    o = this.buffer.writeUInt32LE(a.no, o);
    o = this.buffer.writeUInt16LE(a.code, o);
    o = this.buffer.writeUInt32LE(a.flags, o);
    o = this.text(a.id, o);
    o = this.text(a.asset, o);
    this.offset = this.text(a.user_data, o);
  }

  transfer(t: Transfer): void {
    this.reserve(1 + 8 + 4 + 4 + 8 + 8 + 2 + 4 + 4 + 5 * 2 + 4 * 400);
    let o = this.buffer.writeUInt8(TAG_TRANSFER, this.offset);
    o = this.buffer.writeBigInt64LE(t.timestamp, o);
    o = this.buffer.writeUInt32LE(t.debit_account_no, o);
    o = this.buffer.writeUInt32LE(t.credit_account_no, o);
    o = this.buffer.writeBigInt64LE(t.amount, o);
    o = this.buffer.writeBigInt64LE(t.pending_amount, o);
    o = this.buffer.writeUInt16LE(t.code, o);
    o = this.buffer.writeUInt32LE(t.flags, o);
    o = this.buffer.writeUInt32LE(t.timeout, o);
    o = this.text(t.id, o);
    o = this.text(t.pending_id, o);
    o = this.text(t.asset, o);
    o = this.text(t.user_data, o);
    this.offset = this.text(t.reversal_of, o);
  }

  private text(value: string | null, offset: number): number {
    if (value === null) return this.buffer.writeUInt16LE(NULL_TEXT, offset);
    const length = this.buffer.write(value, offset + 2, 'utf8');
    this.buffer.writeUInt16LE(length, offset);
    return offset + 2 + length;
  }

  private reserve(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + bytes));
    this.buffer.copy(grown, 0, 0, this.offset);
    this.buffer = grown;
  }
}

export function recordTimestamp(record: JournalRecord): bigint {
  return record.kind === 'account' ? record.account.timestamp : record.transfer.timestamp;
}

const encoder = new RecordEncoder();

/** The hash of an entry: sha256(previous hash ‖ each record's canonical encoding). */
export function hashEntry(prev_hash: Buffer, records: readonly JournalRecord[]): Buffer {
  const hash = createHash('sha256').update(prev_hash);
  encoder.reset();
  for (const record of records) {
    encoder.add(record);
    if (encoder.bytes().length > 1 << 19) {
      hash.update(encoder.bytes());
      encoder.reset();
    }
  }
  hash.update(encoder.bytes());
  return hash.digest();
}

export function makeEntry(seq: number, prev_hash: Buffer, records: readonly JournalRecord[]): JournalEntry {
  return {
    seq,
    first_timestamp: recordTimestamp(records[0]),
    last_timestamp: recordTimestamp(records[records.length - 1]),
    count: records.length,
    prev_hash,
    hash: hashEntry(prev_hash, records),
  };
}
