// Kannel's sendsms HTTP interface (smsbox). Each message asks for every delivery report
// (dlr-mask 31) at a dlr-url back to mari that names the message by its outbox id and carries a
// signature, so a report can be matched without trusting Kannel's own ids and cannot be forged.
//
// Kannel has no idempotency key on sendsms, so "never twice" is kept on mari's side: the sender
// records the attempt before calling (see sender.ts), and only an answer that proves Kannel did
// not take the message (a refusal, a refused connection) lets it try again.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { OutboxMessage } from '../../products/outbox.js';
import { reasonText, type SmsGateway, type SubmitOutcome } from './gateway.js';

/** Kannel's DLR types (the `%d` escape), as bits of dlr-mask. */
export const DlrType = {
  delivered: 1,
  undelivered: 2,
  queued_on_smsc: 4,
  accepted_by_smsc: 8,
  rejected_by_smsc: 16,
} as const;
export const DLR_MASK_ALL = 31;


export interface KannelOptions {
  /** e.g. http://127.0.0.1:13013/cgi-bin/sendsms */
  sendsms_url: string;
  username: string;
  password: string;
  /** Sender id shown on the phone. */
  from: string;
  /** Past this, the submit's outcome is unknown: the message is not resent. */
  timeout_ms: number;
  /** Builds the dlr-url for a message (with Kannel's escapes left in). */
  dlr_url(message_id: string): string;
}

export class KannelGateway implements SmsGateway {
  readonly name = 'kannel';

  constructor(private readonly options: KannelOptions) {}

  url(message: OutboxMessage): string {
    const query = new URLSearchParams({
      username: this.options.username,
      password: this.options.password,
      from: this.options.from,
      to: message.msisdn,
      text: message.text,
      charset: 'UTF-8',
      'dlr-mask': String(DLR_MASK_ALL),
      'dlr-url': this.options.dlr_url(message.id),
    });
    // Outside GSM's basic Latin, the text travels as UCS-2 or phones show question marks.
    if (/[^\x20-\x7e\n\r]/.test(message.text)) query.set('coding', '2');
    return `${this.options.sendsms_url}?${query.toString()}`;
  }

  async submit(message: OutboxMessage): Promise<SubmitOutcome> {
    let response: Response;
    try {
      response = await fetch(this.url(message), { signal: AbortSignal.timeout(this.options.timeout_ms) });
    } catch (error) {
      return networkOutcome(error);
    }
    const body = reasonText(await response.text().catch(() => ''));
    return answerOutcome(response.status, body);
  }
}

/** A connection that was never made cannot have delivered anything; anything later might have. */
function networkOutcome(error: unknown): SubmitOutcome {
  const cause = (error as { cause?: { code?: string } }).cause;
  const code = cause?.code ?? (error as { code?: string }).code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH') {
    return { kind: 'refused', retry: true, reason: reasonText(`gateway unreachable: ${code}`) };
  }
  return { kind: 'uncertain', reason: reasonText(`no answer from the gateway: ${code ?? (error as Error).name}`) };
}

/**
 * smsbox answers 202 "0: Accepted for delivery" (or "3: Queued for later delivery") when it
 * took the message; 403 "Not routable" when no SMSC serves the number (a failure of that
 * message); 400 for a message it can never send; 403 "Authorization failed" and 5xx when the
 * gateway itself is wrong or busy, which the message survives.
 */
export function answerOutcome(status: number, body: string): SubmitOutcome {
  if (status === 200 || status === 202) return { kind: 'accepted' };
  if (status === 403 && /not routable/i.test(body)) return { kind: 'refused', retry: false, reason: reasonText(`not routable: ${body}`) };
  if (status === 400) return { kind: 'refused', retry: false, reason: reasonText(`rejected by the gateway: ${body}`) };
  return { kind: 'refused', retry: true, reason: reasonText(`gateway answered ${status}: ${body}`) };
}

/**
 * Signs delivery-report URLs. The key lives in the data directory (created once, owner-only),
 * so reports for messages sent before a restart still verify.
 */
export class DlrSigner {
  private constructor(private readonly key: Buffer) {}

  static open(dataDir: string): DlrSigner {
    const file = path.join(dataDir, 'sms-dlr.key');
    try {
      return new DlrSigner(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const key = randomBytes(32);
    // wx: two processes racing to create it must not end with different keys.
    try {
      fs.writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return DlrSigner.open(dataDir);
      throw error;
    }
    return new DlrSigner(key);
  }

  sign(message_id: string): string {
    return createHmac('sha256', this.key).update(message_id).digest('hex').slice(0, 32);
  }

  verify(message_id: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(message_id));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/** Message ids go into the URL as base64url: Kannel reads every `%` in a dlr-url as an escape. */
export function encodeMessageId(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

export function decodeMessageId(encoded: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(encoded)) return undefined;
  const id = Buffer.from(encoded, 'base64url').toString('utf8');
  return encodeMessageId(id) === encoded ? id : undefined;
}

/** The dlr-url for a message: mari's report endpoint with the id, its signature and Kannel's escapes. */
export function dlrUrl(options: { base_url: string; signer: DlrSigner; message_id: string }): string {
  const base = options.base_url.replace(/\/+$/, '');
  return `${base}/sms/dlr?id=${encodeMessageId(options.message_id)}&sig=${options.signer.sign(options.message_id)}&type=%d&reply=%A`;
}
