// The commit thread: its own connection, WAL, synchronous=FULL. It receives each journal entry
// as the canonical bytes that were hashed, decodes them, inserts the records, the entry and any
// balance checkpoint in one transaction, and replies once the transaction (its fsync) returns.
// Entries arrive and commit in order; after a failure it refuses everything that follows. Each
// committed entry's transfers also go to the history index's thread (transfer_feed.ts), which would
// otherwise read them back from this database.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { visitRecords, type RecordVisitor } from '../ledger/journal.js';
import { RowWriter } from './row_writer.js';
import { FeedWriter } from './transfer_feed.js';

export interface CommitMessage {
  seq: number;
  first_timestamp: bigint;
  last_timestamp: bigint;
  count: number;
  prev_hash: Uint8Array;
  hash: Uint8Array;
  bytes: Uint8Array;
  /** Balances as of `checkpoint_timestamp`, five values per account: no, dp, dpo, cp, cpo. */
  checkpoint?: { timestamp: bigint; balances: BigInt64Array };
  /** Product documents to write in the same transaction: collection, key, tag, JSON value (null deletes). */
  documents?: [string, string, string | null, string | null][];
  now_ms: number;
}

export type CommitReply = { seq: number; ok: true } | { seq: number; ok: false; error: string };

const { file, feed } = workerData as { file: string; feed?: MessagePort };
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('wal_autocheckpoint = 0');
db.pragma('busy_timeout = 5000');
// The id index takes random inserts: with SQLite's default 2 MiB cache every one re-reads its
// leaf page from the OS once the index outgrows it.
db.pragma('cache_size = -262144');

const insertAccount = db.prepare('INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0)');
// Transfers go in 32 rows a statement (row_writer.ts). Most are plain (no two-phase, reversal or
// user data): their five empty columns are written as constants, not bound one by one (binding
// costs about 45 ns a value, a fifth of the row).
const transferRows = new RowWriter(db, 'INSERT INTO transfers VALUES $rows', 13);
const plainTransferRows = new RowWriter(db, 'INSERT INTO transfers VALUES $rows', 8, '(?, ?, ?, ?, ?, NULL, 0, ?, ?, ?, 0, NULL, NULL)');
const insertEntry = db.prepare('INSERT INTO journal VALUES (?, ?, ?, ?, ?, ?)');
const checkpointAccount = db.prepare('UPDATE accounts SET debits_pending = ?, debits_posted = ?, credits_pending = ?, credits_posted = ? WHERE no = ?');
const setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
const putDocument = db.prepare(`INSERT INTO documents (collection, key, tag, value, updated_at) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (collection, key) DO UPDATE SET tag = excluded.tag, value = excluded.value, updated_at = excluded.updated_at`);
const deleteDocument = db.prepare('DELETE FROM documents WHERE collection = ? AND key = ?');
// Read inside each commit's transaction: the feed says which transfer its chunk follows, so the
// indexer never mistakes a chunk for the next one when something came between.
const lastTransfer = db.prepare('SELECT max(timestamp) FROM transfers').pluck().safeIntegers(true);
let fed: FeedWriter | undefined;
let failure: string | undefined;

// Rows go in record order (accounts before the transfers that use them), transfers in groups.
const rows: RecordVisitor = {
  account(a) {
    transferRows.flush();
    plainTransferRows.flush();
    insertAccount.run(a.no, a.id, a.asset, a.code, a.flags, a.user_data, a.timestamp);
  },
  transfer(t) {
    fed?.add(t.timestamp, t.debit_account_no, t.credit_account_no, t.amount, t.pending_amount, t.flags);
    if (t.pending_id === null && t.pending_amount === 0n && t.timeout === 0 && t.user_data === null && t.reversal_of === null) {
      plainTransferRows.values.push(t.timestamp, t.id, t.debit_account_no, t.credit_account_no, t.amount, t.asset, t.code, t.flags);
      plainTransferRows.added();
      return;
    }
    transferRows.add(t.timestamp, t.id, t.debit_account_no, t.credit_account_no, t.amount, t.pending_id, t.pending_amount,
      t.asset, t.code, t.flags, t.timeout, t.user_data, t.reversal_of);
  },
};

const commit = db.transaction((message: CommitMessage) => {
  transferRows.discard();
  plainTransferRows.discard();
  fed = feed && new FeedWriter((lastTransfer.get() as bigint | null) ?? 0n, message.count);
  const count = visitRecords(Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength), rows);
  transferRows.flush();
  plainTransferRows.flush();
  if (count !== message.count) throw new Error(`entry ${message.seq} decodes to ${count} records, expected ${message.count}`);
  if (message.count > 0) {
    insertEntry.run(message.seq, message.first_timestamp, message.last_timestamp, message.count, Buffer.from(message.prev_hash), Buffer.from(message.hash));
  }
  for (const [collection, key, tag, value] of message.documents ?? []) {
    if (value === null) deleteDocument.run(collection, key);
    else putDocument.run(collection, key, tag, value, message.now_ms);
  }
  if (message.checkpoint) {
    const b = message.checkpoint.balances;
    for (let i = 0; i < b.length; i += 5) checkpointAccount.run(b[i + 1], b[i + 2], b[i + 3], b[i + 4], b[i]);
    setMeta.run('checkpoint_timestamp', message.checkpoint.timestamp.toString());
  }
});

parentPort!.on('message', (message: CommitMessage | 'stop') => {
  if (message === 'stop') {
    db.close();
    parentPort!.postMessage('stopped');
    return;
  }
  if (failure !== undefined) {
    parentPort!.postMessage({ seq: message.seq, ok: false, error: `an earlier commit failed: ${failure}` } satisfies CommitReply);
    return;
  }
  try {
    commit(message);
    // Only once durable: the indexer must never index a transfer that was not committed.
    fed?.send(feed!);
    fed = undefined;
    parentPort!.postMessage({ seq: message.seq, ok: true } satisfies CommitReply);
  } catch (error) {
    fed = undefined;
    failure = (error as Error).message;
    parentPort!.postMessage({ seq: message.seq, ok: false, error: failure } satisfies CommitReply);
  }
});
