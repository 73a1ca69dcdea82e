// Request error codes of USSD and SMS (issue 6). Merged into REQUEST_ERRORS by registry.ts;
// each is { status, message }: a stable code and the human sentence every channel shows.
import type { Entry } from './entry.js';

export const CHANNELS_ERRORS = {
  sms_message_not_found: { status: 404, message: 'No outbox message has that id.' },
  dlr_signature_invalid: { status: 403, message: 'The delivery report\'s signature does not match its message id; it was ignored.' },
} as const satisfies Record<string, Entry>;
