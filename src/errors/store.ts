// Request error codes of the PostgreSQL store and the writer role (issue 3). Merged into REQUEST_ERRORS by registry.ts;
// each is { status, message }: a stable code and the human sentence every channel shows.
import type { Entry } from './entry.js';

export const STORE_ERRORS = {
  // A standby on a shared PostgreSQL database: the message names the writer when it is known.
  not_writer: { status: 503, message: 'This mari process is a standby and does not write; send writes to the writer, or retry here with the same ids (it takes over if the writer fails).' },
} as const satisfies Record<string, Entry>;
