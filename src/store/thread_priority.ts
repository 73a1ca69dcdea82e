// Derived work (the history index, WAL checkpoints) yields the CPU to commits: on Linux each
// thread is scheduled on its own, so a worker can lower its own priority by its thread id.
import fs from 'node:fs';
import os from 'node:os';

/**
 * Nice value for background threads: they still run whenever a core is idle. At 10 the history
 * index still took ~10% of a core from commits under a saturating load; at 19 the ledger bench
 * ran 4-10% faster (A/B, alternated), and the index caught up 0.2-2 s later after a 10 s run.
 */
export const BACKGROUND_NICE = 19;

/** Lowers the calling thread's priority; a no-op where threads cannot be told apart (not Linux). */
export function lowerThreadPriority(nice = BACKGROUND_NICE): void {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) os.setPriority(tid, nice);
  } catch {
    // Only an optimisation: the thread runs at the process's priority.
  }
}
