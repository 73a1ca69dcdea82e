// Request error codes of prepaid: vouchers, bundles, charging (issue 5). Merged into REQUEST_ERRORS by registry.ts;
// each is { status, message }: a stable code and the human sentence every channel shows.
import type { Entry } from './entry.js';

export const PREPAID_ERRORS = {
} as const satisfies Record<string, Entry>;
