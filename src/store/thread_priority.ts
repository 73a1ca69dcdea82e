// Derived work (the history index, WAL checkpoints) yields the CPU to commits: on Linux each
// thread is scheduled on its own, so a worker can lower its own priority by its thread id.
import fs from 'node:fs';
import os from 'node:os';

/** Nice value for background threads: they still run whenever a core is idle. */
export const BACKGROUND_NICE = 10;

/** Lowers the calling thread's priority; a no-op where threads cannot be told apart (not Linux). */
export function lowerThreadPriority(nice = BACKGROUND_NICE): void {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) os.setPriority(tid, nice);
  } catch {
    // Only an optimisation: the thread runs at the process's priority.
  }
}
