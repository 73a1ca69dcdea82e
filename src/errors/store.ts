// Request error codes of the PostgreSQL store and the writer role (issue 3). Merged into REQUEST_ERRORS by registry.ts;
// each is { status, message }: a stable code and the human sentence every channel shows.
import type { Entry } from './entry.js';

export const STORE_ERRORS = {
} as const satisfies Record<string, Entry>;
