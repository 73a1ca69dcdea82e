// The history index fed by the commit thread (transfer_feed.ts) must come out exactly as one built
// by reading the journal back: chunks that leave gaps, overlap what was read, split across
// indexing passes, or are dropped past the queue's size are made up from the database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openLedger } from '../../src/store/open.js';
import { HistoryIndexer, openHistoryIndex } from '../../src/store/history_index.js';
import { FeedQueue, FeedWriter, PACKED_BYTES, type FeedChunk } from '../../src/store/transfer_feed.js';
import type { TransferInput } from '../../src/ledger/types.js';

interface TransferRow { timestamp: bigint; debit_no: bigint; credit_no: bigint; amount: bigint; pending_amount: bigint; flags: bigint }

/** A journal of 120 transfers among 5 accounts (posted, pending, posted-pending), committed in batches. */
async function journal(dataDir: string): Promise<TransferRow[]> {
  const handle = await openLedger({ dataDir });
  try {
    const accounts = ['a', 'b', 'c', 'd', 'e'];
    await handle.writer.createAccounts([{ id: 'bank', asset: 'USD', code: 1 }, ...accounts.map((id) => ({ id, asset: 'USD', code: 1 }))]);
    let n = 0;
    for (let batch = 0; batch < 6; batch++) {
      const transfers: TransferInput[] = [];
      for (let i = 0; i < 20; i += 2) {
        const debit = i % 4 === 0 ? 'bank' : accounts[n % 5];
        const credit = accounts[(n + 1 + (batch % 4)) % 5];
        transfers.push({ id: `p${n}`, debit_account_id: debit, credit_account_id: credit, amount: BigInt(100 + n), asset: 'USD', code: 1, flags: 2 });
        transfers.push({ id: `q${n}`, pending_id: `p${n}`, amount: BigInt(50 + n), flags: 4 });
        n += 1;
      }
      const results = await handle.writer.createTransfers(transfers);
      assert.ok(results.every((r) => r === 'ok'), results.join());
    }
  } finally {
    await handle.close();
  }
  const db = new Database(path.join(dataDir, 'ledger.sqlite'), { readonly: true });
  db.defaultSafeIntegers(true);
  const rows = db.prepare('SELECT timestamp, debit_no, credit_no, amount, pending_amount, flags FROM transfers ORDER BY timestamp').all() as TransferRow[];
  db.close();
  return rows;
}

/** Rows `from`..`to` (exclusive) as one chunk, following the row before `from`. */
function chunkOf(rows: TransferRow[], from: number, to: number): FeedChunk {
  const writer = new FeedWriter(from === 0 ? 0n : rows[from - 1].timestamp, to - from);
  for (const r of rows.slice(from, to)) writer.add(r.timestamp, Number(r.debit_no), Number(r.credit_no), r.amount, r.pending_amount, Number(r.flags));
  return writer.chunk()!;
}

function dump(file: string): unknown {
  const db = new Database(file, { readonly: true });
  db.defaultSafeIntegers(true);
  const tables = Object.fromEntries(['postings', 'balances', 'marks'].map((t) => [t, db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all()]));
  const watermark = db.prepare("SELECT value FROM meta WHERE key = 'watermark'").pluck().get();
  db.close();
  return { ...tables, watermark };
}

test('a history index fed with gaps, overlaps, split and dropped chunks equals one read back from the journal', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-feed-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rows = await journal(path.join(dir, 'data'));
  assert.equal(rows.length, 120);
  const ledger = new Database(path.join(dir, 'data', 'ledger.sqlite'), { readonly: true });
  ledger.defaultSafeIntegers(true);
  t.after(() => ledger.close());

  const build = (name: string, steps: (indexer: HistoryIndexer, feed: FeedQueue) => void, maxBytes = Infinity) => {
    const file = path.join(dir, `${name}.sqlite`);
    const history = openHistoryIndex(file);
    history.defaultSafeIntegers(true);
    const feed = new FeedQueue(maxBytes);
    const indexer = new HistoryIndexer(ledger, history, feed);
    steps(indexer, feed);
    history.close();
    return { index: dump(file), fed: indexer.fedTransfers };
  };
  const reread = build('reread', (indexer) => {
    while (indexer.index(7) > 0) { /* next chunk */ }
  });
  assert.equal(reread.fed, 0);

  const fed = build('fed', (indexer, feed) => {
    feed.push(chunkOf(rows, 0, 10));
    // 10..20 never arrives: a gap the indexer reads from the journal.
    feed.push(chunkOf(rows, 20, 35));
    // Overlaps the chunk before it (a chunk whose start was already indexed is skipped into).
    feed.push(chunkOf(rows, 30, 50));
    assert.equal(indexer.index(7), 7, 'part of the first chunk');
    assert.equal(indexer.fedTransfers, 7);
    // The rest of the first chunk (3), the gap read from the journal up to where the next chunk
    // follows (10), that chunk (15), the overlapping one past what was indexed (15), then the
    // journal for what no chunk brought (57).
    assert.equal(indexer.index(100), 100);
    assert.equal(indexer.fedTransfers, 7 + 3 + 15 + 15);
    feed.push(chunkOf(rows, 90, 100)); // indexed already: dropped
    feed.push(chunkOf(rows, 100, 120)); // its first seven are indexed already: skipped
    while (indexer.index(7) > 0) { /* next chunk */ }
  });
  assert.deepEqual(fed.index, reread.index);
  assert.equal(fed.fed, 40 + 13);

  const dropped = build('dropped', (indexer, feed) => {
    // Room for about two chunks of ten: the first ones are dropped, then read from the journal.
    for (let from = 0; from < 120; from += 10) feed.push(chunkOf(rows, from, from + 10));
    while (indexer.index(13) > 0) { /* next chunk */ }
  }, 2 * 10 * PACKED_BYTES);
  assert.deepEqual(dropped.index, reread.index);
  assert.equal(dropped.fed, 20, 'only the two chunks kept');
});
