// Request error codes of mobile money (issue 4). Merged into REQUEST_ERRORS by registry.ts;
// each is { status, message }: a stable code and the human sentence every channel shows.
import type { Entry } from './entry.js';

export const MONEY_ERRORS = {
  msisdn_invalid: { status: 400, message: 'That is not a valid mobile number (for example 0772123456 or +263772123456).' },
} as const satisfies Record<string, Entry>;
