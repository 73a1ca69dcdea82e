// Committed transfers, handed from the commit thread to the history index's thread in the packed
// form the indexer reads: reading them back from the ledger's database cost the indexer about a
// quarter of its time. A chunk names the transfer it follows, so the indexer uses a chunk only
// where it continues exactly from what it has indexed; anything else (chunks dropped, a restart's
// backlog) it reads from the database as before. The feed saves work; it is never the only source.
import type { MessagePort } from 'node:worker_threads';

/** Per transfer: timestamp, debit_no, credit_no, amount, pending_amount, flags; each 8 bytes, big-endian. */
export const PACKED_FIELDS = 6;
export const PACKED_BYTES = PACKED_FIELDS * 8;

/** One committed entry's transfers: those after the transfer at `after` (0 for none), up to and including `last`. */
export interface FeedChunk {
  after: bigint;
  last: bigint;
  count: number;
  buffer: ArrayBuffer;
}

/** Gathers one commit's transfers (the commit thread, as it inserts them). */
export class FeedWriter {
  private readonly view: DataView;
  private readonly buffer: ArrayBuffer;
  private count = 0;
  private last: bigint;

  /** `capacity`: the entry's records, an upper bound on its transfers. */
  constructor(private readonly after: bigint, capacity: number) {
    this.buffer = new ArrayBuffer(capacity * PACKED_BYTES);
    this.view = new DataView(this.buffer);
    this.last = after;
  }

  add(timestamp: bigint, debit_no: number, credit_no: number, amount: bigint, pending_amount: bigint, flags: number): void {
    const v = this.view;
    const o = this.count * PACKED_BYTES;
    v.setBigInt64(o, timestamp);
    v.setUint32(o + 8, 0);
    v.setUint32(o + 12, debit_no);
    v.setUint32(o + 16, 0);
    v.setUint32(o + 20, credit_no);
    v.setBigInt64(o + 24, amount);
    v.setBigInt64(o + 32, pending_amount);
    v.setUint32(o + 40, 0);
    v.setUint32(o + 44, flags);
    this.count += 1;
    this.last = timestamp;
  }

  /** What was gathered; undefined when the entry had no transfers. */
  chunk(): FeedChunk | undefined {
    return this.count === 0 ? undefined : { after: this.after, last: this.last, count: this.count, buffer: this.buffer };
  }

  /** Posts the chunk, its buffer moved, not copied. */
  send(port: MessagePort): void {
    const chunk = this.chunk();
    if (chunk) port.postMessage(chunk, [chunk.buffer]);
  }
}

/**
 * The chunks received and not yet indexed, oldest first. Past `maxBytes` the oldest are dropped:
 * an indexer far behind reads those from the database instead of holding them in memory.
 */
export class FeedQueue {
  private readonly chunks: FeedChunk[] = [];
  /** Transfers of the head chunk already taken. */
  private offset = 0;
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: FeedChunk): void {
    this.chunks.push(chunk);
    this.bytes += chunk.buffer.byteLength;
    while (this.bytes > this.maxBytes && this.chunks.length > 0) this.shift();
  }

  /**
   * Up to `limit` transfers following `current` (the last indexed transfer's timestamp), as a view
   * of packed transfers and how many; undefined when the queue does not continue from `current`.
   */
  take(current: bigint, limit: number): { view: DataView; offset: number; count: number } | undefined {
    // Chunks wholly indexed already (read from the database while they waited) are dropped.
    while (this.chunks.length > 0 && this.chunks[0].last <= current) this.shift();
    const head = this.chunks[0];
    if (head === undefined) return undefined;
    const view = new DataView(head.buffer);
    // The head continues from `current` only if it starts at or before it (its first untaken
    // transfer follows `after`, or a transfer at or before `current`, which is then skipped).
    if (this.continuesFrom()! > current) return undefined;
    while (this.offset < head.count && view.getBigInt64(this.offset * PACKED_BYTES) <= current) this.offset += 1;
    const offset = this.offset;
    const count = Math.min(limit, head.count - offset);
    this.offset += count;
    if (this.offset === head.count) this.shift();
    return { view, offset: offset * PACKED_BYTES, count };
  }

  /** Where the queue could continue from: the head chunk's first untaken transfer follows this one. Undefined when empty. */
  continuesFrom(): bigint | undefined {
    const head = this.chunks[0];
    if (head === undefined) return undefined;
    return this.offset === 0 ? head.after : new DataView(head.buffer).getBigInt64((this.offset - 1) * PACKED_BYTES);
  }

  /** Forgets every chunk (the indexer's running state was reset: it rereads from its watermark). */
  clear(): void {
    while (this.chunks.length > 0) this.shift();
  }

  private shift(): void {
    const chunk = this.chunks.shift()!;
    this.bytes -= chunk.buffer.byteLength;
    this.offset = 0;
  }
}
