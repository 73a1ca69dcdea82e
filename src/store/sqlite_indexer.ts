// The history index's own thread: told the last committed timestamp after commits, it indexes
// everything committed so far, in chunks, and answers "caught up to T". History reads wait for
// that answer instead of indexing a backlog on the server's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { lowerThreadPriority } from './thread_priority.js';
import { HistoryIndexer } from './history_index.js';

// Postings append. What a chunk rewrites in place is each changed account's running state, once
// per chunk however many postings it had (and one mark in 64 postings lands at random): a backlog
// (an import's lag, a restart) indexed in large chunks rewrites each account's row once for many
// of its postings. Transfers are streamed from the journal, so a chunk holds little in memory.
const CHUNK = 250_000;
lowerThreadPriority();
const { ledgerFile, historyFile, bulkMinimum } = workerData as { ledgerFile: string; historyFile: string; bulkMinimum: number };
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
const indexer = new HistoryIndexer(ledger, history);

parentPort!.on('message', (message: { target: bigint } | 'stop') => {
  if (message === 'stop') {
    ledger.close();
    history.close();
    parentPort!.postMessage('stopped');
    return;
  }
  // Everything committed before the poke is visible to this read: index until nothing is left.
  const bulk = indexer.bulkBuild(bulkMinimum);
  while (indexer.index(CHUNK) > 0) { /* next chunk */ }
  parentPort!.postMessage({ caught_up: message.target, bulk });
});
