// Request error codes of USSD and SMS (issue 6). Merged into REQUEST_ERRORS by registry.ts;
// each is { status, message }: a stable code and the human sentence every channel shows.
import type { Entry } from './entry.js';

export const CHANNELS_ERRORS = {
  sms_message_not_found: { status: 404, message: 'No outbox message has that id.' },
  dlr_signature_invalid: { status: 403, message: 'The delivery report\'s signature does not match its message id; it was ignored.' },
  sms_requeue_refused: { status: 409, message: 'Only a failed message, or a submitted one whose outcome is unknown, can be queued again.' },
  ussd_service_unknown: { status: 422, message: 'The USSD catalog names a service mari does not implement (an unimplemented one may only be listed disabled).' },
  ussd_catalog_entry_invalid: { status: 422, message: 'A USSD catalog entry needs a short code like *151#, a key like 1 or 5.1, a service id in capitals, and labels in English, Shona and Ndebele of at most 40 characters.' },
} as const satisfies Record<string, Entry>;
