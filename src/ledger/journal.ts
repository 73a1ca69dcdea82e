// The journal is the ledger's append-only history: every account and transfer record, in
// timestamp order, grouped into entries (one per commit). Each entry's hash commits to the
// previous entry's hash and to the canonical encoding of every record in it, so an auditor with
// the records alone can check that nothing was changed, removed, inserted or reordered.
import { createHash } from 'node:crypto';
import type { Account, Balances, Transfer } from './types.js';
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

// Free text is length-prefixed so no value can forge a field separator.
function text(value: string | null): string {
  return value === null ? '-' : `${value.length}:${value}`;
}

function balances(b: Readonly<Balances>): string {
  return `${b.debits_pending}|${b.debits_posted}|${b.credits_pending}|${b.credits_posted}`;
}

export function encodeAccount(a: Account): string {
  return `A|${a.timestamp}|${a.no}|${a.id}|${a.asset}|${a.code}|${a.flags}|${text(a.user_data)}\n`;
}

export function encodeTransfer(t: Transfer): string {
  return `T|${t.timestamp}|${t.id}|${t.debit_account_no}|${t.credit_account_no}|${t.amount}|${text(t.pending_id)}|` +
    `${t.pending_amount}|${t.asset}|${t.code}|${t.flags}|${t.timeout}|${text(t.user_data)}|${text(t.reversal_of)}|` +
    `${balances(t.debit_after)}|${balances(t.credit_after)}\n`;
}

export function encodeRecord(record: JournalRecord): string {
  return record.kind === 'account' ? encodeAccount(record.account) : encodeTransfer(record.transfer);
}

export function recordTimestamp(record: JournalRecord): bigint {
  return record.kind === 'account' ? record.account.timestamp : record.transfer.timestamp;
}

/** The hash of an entry: sha256(previous hash ‖ each record's canonical line). */
export function hashEntry(prev_hash: Buffer, records: readonly JournalRecord[]): Buffer {
  const hash = createHash('sha256').update(prev_hash);
  // Encoding in chunks keeps update() calls few; the bytes hashed are the same.
  let chunk = '';
  for (const record of records) {
    chunk += encodeRecord(record);
    if (chunk.length > 65536) {
      hash.update(chunk);
      chunk = '';
    }
  }
  hash.update(chunk);
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
