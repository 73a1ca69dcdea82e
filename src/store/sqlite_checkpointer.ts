// Runs in a worker thread with its own connection: copies committed WAL frames back into the
// database (PASSIVE: never blocks the writer or readers), so the writer's commits stay short and
// the WAL stays bounded. SQLite restarts the WAL from its start once a checkpoint has caught up.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { lowerThreadPriority } from './thread_priority.js';

const { file, interval_ms } = workerData as { file: string; interval_ms: number };
lowerThreadPriority();
const db = new Database(file);
db.pragma('busy_timeout = 0');
let stopped = false;

function checkpoint(): void {
  if (stopped) return;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // A busy database is fine: the next tick tries again.
  }
  setTimeout(checkpoint, interval_ms);
}

parentPort!.on('message', (message: string) => {
  if (message !== 'stop') return;
  stopped = true;
  db.close();
  parentPort!.postMessage('stopped');
});
checkpoint();
