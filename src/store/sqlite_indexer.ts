// The history index's own thread: told the last committed timestamp after commits, it indexes
// everything committed so far, in chunks, and answers "caught up to T". History reads wait for
// that answer instead of indexing a backlog on the server's event loop.
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { lowerThreadPriority } from './thread_priority.js';
import { HistoryIndexer } from './history_index.js';
import { FeedQueue, type FeedChunk } from './transfer_feed.js';

// Postings append. What a chunk rewrites in place is each changed account's running state, once
// per chunk however many postings it had (and one mark in 64 postings lands at random): a backlog
// (an import's lag, a restart) indexed in large chunks rewrites each account's row once for many
// of its postings. Transfers come from the commit thread's feed, or are streamed from the journal
// where it has none: a chunk holds little in memory beyond the feed's queue (FEED_MAX_BYTES).
const CHUNK = 250_000;
/**
 * Committed transfers waiting to be indexed, at most this much (48 bytes a transfer: ~2.8 million,
 * some 8 s of a saturating load). Past it the oldest are dropped and read from the database instead.
 */
const FEED_MAX_BYTES = 128 * 1024 * 1024;
lowerThreadPriority();
const { ledgerFile, historyFile, bulkMinimum, feed } = workerData as { ledgerFile: string; historyFile: string; bulkMinimum: number; feed?: MessagePort };
const ledger = new Database(ledgerFile, { readonly: true, fileMustExist: true });
ledger.defaultSafeIntegers(true);
const history = new Database(historyFile);
history.pragma('journal_mode = WAL');
history.pragma('synchronous = NORMAL');
// Each chunk rewrites every changed account's running state (its balances row) and adds marks at
// random accounts; a cache that holds those tables spares re-reading their pages from the OS.
history.pragma('cache_size = -262144');
ledger.pragma('cache_size = -65536');
history.defaultSafeIntegers(true);
const fed = new FeedQueue(FEED_MAX_BYTES);
const indexer = new HistoryIndexer(ledger, history, fed);

/** Takes what the commit thread sent: chunks are read here, between indexing passes, not as events. */
function receiveFeed(): void {
  if (!feed) return;
  for (let received = receiveMessageOnPort(feed); received !== undefined; received = receiveMessageOnPort(feed)) fed.push(received.message as FeedChunk);
}

parentPort!.on('message', (message: { target: bigint } | 'stop') => {
  if (message === 'stop') {
    ledger.close();
    history.close();
    parentPort!.postMessage('stopped');
    return;
  }
  // Everything committed before the poke is visible to this read: index until nothing is left.
  // The commit thread posts a commit's chunk before it answers, so this takes every chunk of what the poke covers.
  receiveFeed();
  const bulk = indexer.bulkBuild(bulkMinimum);
  do {
    receiveFeed();
  } while (indexer.index(CHUNK) > 0);
  parentPort!.postMessage({ caught_up: message.target, bulk, fed: indexer.fedTransfers });
});
