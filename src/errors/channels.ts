// Request error codes of USSD and SMS (issue 6). Merged into REQUEST_ERRORS by registry.ts;
// each is { status, message }: a stable code and the human sentence every channel shows.
import type { Entry } from './entry.js';

export const CHANNELS_ERRORS = {
} as const satisfies Record<string, Entry>;
