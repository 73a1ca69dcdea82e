// The outbox: customer notifications queued in the same commit as the transaction they report,
// for the SMS channel to deliver. Documents in `outbox`, keyed by message id, tagged with their
// delivery state so the sender finds queued messages without a scan. The sender (channels) owns
// every state after `queued`.
import type { CommandContext } from '../store/writer.js';
import type { DocumentWrite } from '../store/store.js';
import type { Msisdn } from './msisdn.js';
import type { Language } from './parties.js';

export const OUTBOX = 'outbox';

export type MessageState = 'queued' | 'submitted' | 'delivered' | 'failed';

export interface OutboxMessage {
  /** Unique and deterministic for what it reports (e.g. `txn:<client ref>`), so a retry queues nothing twice. */
  id: string;
  msisdn: Msisdn;
  text: string;
  language: Language;
  /** What kind of notice: transaction, low_balance, bundle_expiry, maintenance... */
  kind: string;
  /** Groups bulk notices (a maintenance announcement) for reach totals; null for transactional ones. */
  campaign: string | null;
  state: MessageState;
  attempts: number;
  /** ISO 8601 UTC. */
  created_at: string;
  /** Set by the sender. */
  updated_at?: string;
  next_attempt_at?: string;
  /** Gateway message id, and why it failed if it did. */
  gateway_id?: string;
  reason?: string;
  /** Set by the sender: when it was handed to the gateway, and whether the gateway acknowledged it (false while unknown). */
  submitted_at?: string;
  accepted?: boolean;
  /** Set from delivery reports: the last report's type (Kannel's dlr values) and when it was delivered. */
  dlr_type?: number;
  delivered_at?: string;
}

export function outboxDocument(message: OutboxMessage): DocumentWrite {
  return { collection: OUTBOX, key: message.id, tag: message.state, value: JSON.stringify(message) };
}

/** Queues a new message in the command's commit. */
export function queueMessage(
  ctx: Pick<CommandContext, 'put'>,
  message: Omit<OutboxMessage, 'state' | 'attempts' | 'created_at' | 'campaign'> & { campaign?: string | null },
  now: Date = new Date(),
): OutboxMessage {
  const queued: OutboxMessage = { campaign: null, ...message, state: 'queued', attempts: 0, created_at: now.toISOString() };
  ctx.put(outboxDocument(queued));
  return queued;
}
