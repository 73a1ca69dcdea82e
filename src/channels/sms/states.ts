// How an outbox message moves: queued → submitted → delivered | failed, with a submitted message
// going back to queued only when the gateway certainly did not take it. Pure functions from one
// message to the next; the sender writes the result through a writer command.
//
// Delivery reports can arrive in any order (Kannel's fake SMSC reports "delivered" before
// "accepted by the SMSC"), so delivered and failed are final and a late report changes nothing.
import assert from 'node:assert/strict';
import type { OutboxMessage } from '../../products/outbox.js';
import { DlrType } from './kannel.js';
import { reasonText } from './gateway.js';

export const BACKOFF_MAX_MS = 3_600_000;

export function isFinal(message: OutboxMessage): boolean {
  return message.state === 'delivered' || message.state === 'failed';
}

/** The attempt begins: recorded before the gateway is called, so a restart never sends it again. */
export function submitting(message: OutboxMessage, now: Date): OutboxMessage {
  assert.equal(message.state, 'queued', `only a queued message is submitted (${message.id} is ${message.state})`);
  return {
    ...message, state: 'submitted', attempts: message.attempts + 1, accepted: false,
    submitted_at: now.toISOString(), updated_at: now.toISOString(), next_attempt_at: undefined,
  };
}

export function accepted(message: OutboxMessage, options: { now: Date; gateway_id?: string; delivered?: boolean }): OutboxMessage {
  // A report may have settled it while the submit was being answered.
  if (message.state !== 'submitted') return message;
  const at = options.now.toISOString();
  const next: OutboxMessage = { ...message, accepted: true, reason: undefined, updated_at: at };
  if (options.gateway_id !== undefined) next.gateway_id = options.gateway_id;
  if (options.delivered) return { ...next, state: 'delivered', delivered_at: at };
  return next;
}

/** The gateway certainly did not take it: queue it again after a backoff, or give up. */
export function refused(message: OutboxMessage, options: { now: Date; reason: string; retry: boolean; attempts_max: number; backoff_ms: number }): OutboxMessage {
  if (message.state !== 'submitted') return message;
  const at = options.now.toISOString();
  if (!options.retry) return { ...message, state: 'failed', reason: reasonText(options.reason), updated_at: at };
  if (message.attempts >= options.attempts_max) {
    return { ...message, state: 'failed', reason: reasonText(`gave up after ${message.attempts} attempts: ${options.reason}`), updated_at: at };
  }
  const delay_ms = backoff({ attempts: message.attempts, base_ms: options.backoff_ms });
  return {
    ...message, state: 'queued', accepted: undefined, reason: reasonText(options.reason), updated_at: at,
    next_attempt_at: new Date(options.now.getTime() + delay_ms).toISOString(),
  };
}

/** The request may have reached the gateway: it stays submitted (never resent); a report may settle it. */
export function uncertain(message: OutboxMessage, options: { now: Date; reason: string }): OutboxMessage {
  if (message.state !== 'submitted') return message;
  return { ...message, reason: reasonText(`not resent, outcome unknown: ${options.reason}`), updated_at: options.now.toISOString() };
}

/** Exponential: base, 2×base, 4×base... capped at an hour. */
export function backoff(options: { attempts: number; base_ms: number }): number {
  const exponent = Math.min(Math.max(options.attempts - 1, 0), 30);
  return Math.min(options.base_ms * 2 ** exponent, BACKOFF_MAX_MS);
}

/** A delivery report. Types not in Kannel's five are refused by the route's schema. */
export function reported(message: OutboxMessage, options: { now: Date; type: number; reply: string }): OutboxMessage {
  if (isFinal(message)) return message;
  const at = options.now.toISOString();
  const base = { ...message, dlr_type: options.type, updated_at: at };
  switch (options.type) {
    case DlrType.delivered:
      return { ...base, state: 'delivered', delivered_at: at, accepted: true, reason: undefined };
    case DlrType.undelivered:
    case DlrType.rejected_by_smsc:
      return { ...base, state: 'failed', reason: reasonText(options.reply || (options.type === DlrType.undelivered ? 'not delivered to the phone' : 'rejected by the SMSC')) };
    default:
      // Queued on or accepted by the SMSC: it left mari, whatever the submit's answer said.
      return { ...base, state: 'submitted', accepted: true };
  }
}
