// Request error codes of migration and the cutover kit (issues 7 and 8). Merged into REQUEST_ERRORS by registry.ts;
// each is { status, message }: a stable code and the human sentence every channel shows.
import type { Entry } from './entry.js';

export const CUTOVER_ERRORS = {
} as const satisfies Record<string, Entry>;
