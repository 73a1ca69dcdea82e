// What an SMS gateway answers when the sender hands it a message. The three outcomes decide
// whether a message may be tried again: only a submit that certainly did not reach the gateway
// is retried; one whose fate is unknown (a timeout after the request left) is never resent, so a
// message id is sent at most once, and a delivery report may still settle it.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { OutboxMessage } from '../../products/outbox.js';

export type SubmitOutcome =
  /** The gateway took it. `delivered` when handing it over is delivery itself (the log). */
  | { kind: 'accepted'; gateway_id?: string; delivered?: boolean }
  /** The gateway did not take it: `retry` when the message may succeed later, else it failed for good. */
  | { kind: 'refused'; retry: boolean; reason: string }
  /** The request may or may not have reached the gateway: never resent. */
  | { kind: 'uncertain'; reason: string };

export interface SmsGateway {
  readonly name: string;
  submit(message: OutboxMessage): Promise<SubmitOutcome>;
  close?(): Promise<void>;
}

/** Reason texts are stored and shown: bounded. */
export const REASON_LENGTH_MAX = 200;

export function reasonText(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, REASON_LENGTH_MAX);
}

/**
 * The embedded default: each message becomes one JSON line in `sms-outbox.log` in the data
 * directory. Appending is the delivery, so messages are delivered as soon as they are written.
 */
export class LogGateway implements SmsGateway {
  readonly name = 'log';
  readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'sms-outbox.log');
  }

  async submit(message: OutboxMessage): Promise<SubmitOutcome> {
    const line = JSON.stringify({
      at: new Date().toISOString(), id: message.id, msisdn: message.msisdn, text: message.text,
      language: message.language, kind: message.kind, campaign: message.campaign,
    });
    try {
      await fs.appendFile(this.file, line + '\n', 'utf8');
    } catch (error) {
      // A failed append wrote nothing usable (no newline), so the message may be tried again.
      return { kind: 'refused', retry: true, reason: reasonText(`log write failed: ${(error as Error).message}`) };
    }
    return { kind: 'accepted', delivered: true };
  }
}
