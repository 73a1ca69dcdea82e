// PINs: stored only as a salted scrypt hash (or, for migrated subscribers, the legacy platform's
// unsalted MD5 until the next correct entry upgrades it). Hashing is slow on purpose and runs
// on libuv's thread pool, never inside the writer; only the outcome (failure count, lock,
// upgrade) is written, by a command. A PIN never reaches a log, an error, the journal or any
// document other than its hash.
//
// Cost: scrypt N=2^14, r=8, p=1 (16 MiB) takes about 25–50 ms on the 2-core development machine
// (measured 49 ms under load, 22 ms for N=2^13). A 4-digit PIN cannot resist an offline search
// whatever the cost; the cost makes a stolen table expensive per subscriber and the lockout after
// 3 wrong entries is what protects the PIN online.
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { RequestError } from '../../errors/registry.js';
import type { DocumentWrite, StoredDocument } from '../../store/store.js';

export const PINS = 'money_pins';
/** Wrong entries in a row that lock the PIN until an operator unlocks it. */
export const PIN_TRIES_MAX = 3;
const PIN_FORMAT = /^[0-9]{4,6}$/;
const SCRYPT = Object.freeze({ N: 1 << 14, r: 8, p: 1 });
const KEY_BYTES = 32;
const SALT_BYTES = 16;

const scryptAsync = promisify(crypto.scrypt) as (password: string, salt: Buffer, keylen: number, options: crypto.ScryptOptions) => Promise<Buffer>;

export interface PinRecord {
  party_id: string;
  scheme: 'scrypt' | 'md5';
  /** Hex. */
  hash: string;
  /** Hex; null for the legacy unsalted MD5. */
  salt: string | null;
  params: { N: number; r: number; p: number } | null;
  /** Wrong entries in a row. */
  failures: number;
  locked: boolean;
  /** ISO 8601 UTC of the last change of hash or lock state. */
  updated_at: string;
}

export function pinDocument(record: PinRecord): DocumentWrite {
  return { collection: PINS, key: record.party_id, tag: record.locked ? 'locked' : null, value: JSON.stringify(record) };
}

export function pinFromDocument(doc: Pick<StoredDocument, 'value'>): PinRecord {
  return JSON.parse(doc.value) as PinRecord;
}

/**
 * The PIN document for a subscriber migrated with the legacy platform's unsalted MD5 hash of
 * the PIN (32 hex digits). The next correct entry replaces it with a scrypt hash.
 */
export function legacyPinDocument(party_id: string, md5hex: string, now: Date = new Date()): DocumentWrite {
  if (!/^[0-9a-fA-F]{32}$/.test(md5hex)) throw new Error('a legacy PIN hash is 32 hex digits');
  return pinDocument({ party_id, scheme: 'md5', hash: md5hex.toLowerCase(), salt: null, params: null, failures: 0, locked: false, updated_at: now.toISOString() });
}

/** Refuses a PIN that is not 4–6 digits, or one anyone would try first. */
export function checkNewPin(pin: unknown): string {
  if (typeof pin !== 'string' || !PIN_FORMAT.test(pin)) throw new RequestError('pin_invalid');
  const digits = [...pin].map(Number);
  const same = digits.every((d) => d === digits[0]);
  const ascending = digits.every((d, i) => i === 0 || d === (digits[i - 1] + 1) % 10);
  const descending = digits.every((d, i) => i === 0 || d === (digits[i - 1] + 9) % 10);
  if (same || ascending || descending) throw new RequestError('pin_too_simple');
  return pin;
}

/** A new scrypt record for `pin` (slow: call outside the writer). */
export async function hashPin(party_id: string, pin: string, now: Date): Promise<PinRecord> {
  const salt = crypto.randomBytes(SALT_BYTES);
  const hash = await scryptAsync(pin, salt, KEY_BYTES, { ...SCRYPT, maxmem: 64 * 1024 * 1024 });
  return { party_id, scheme: 'scrypt', hash: hash.toString('hex'), salt: salt.toString('hex'), params: { ...SCRYPT }, failures: 0, locked: false, updated_at: now.toISOString() };
}

/** Whether `pin` matches the record's hash (slow for scrypt: call outside the writer). */
export async function pinMatches(record: PinRecord, pin: string): Promise<boolean> {
  // A malformed entry can never match; hashing it would only spend time.
  if (typeof pin !== 'string' || !PIN_FORMAT.test(pin)) return false;
  const expected = Buffer.from(record.hash, 'hex');
  let actual: Buffer;
  if (record.scheme === 'md5') actual = crypto.createHash('md5').update(pin).digest();
  else actual = await scryptAsync(pin, Buffer.from(record.salt!, 'hex'), expected.length, { ...record.params!, maxmem: 64 * 1024 * 1024 });
  return actual.length === expected.length && crypto.timingSafeEqual(actual, expected);
}

/**
 * PINs recently entered correctly, as an HMAC under a key that lives only in this process's
 * memory. A subscriber who keeps transacting is checked in microseconds instead of spending
 * tens of milliseconds of CPU on every request; a wrong PIN is told apart just as surely. The
 * stored hash stays scrypt, so a stolen database gains nothing. Any change to the PIN record
 * forgets the entry.
 */
export class VerifiedPins {
  private readonly key = crypto.randomBytes(32);
  private readonly entries = new Map<string, { mac: Buffer; expires_ms: number }>();

  constructor(private readonly ttl_ms = 15 * 60_000, private readonly entries_max = 200_000) {}

  private mac(party_id: string, pin: string): Buffer {
    return crypto.createHmac('sha256', this.key).update(party_id).update('\0').update(pin).digest();
  }

  /** true: this PIN was verified recently; false: a different PIN was; undefined: nothing known. */
  check(party_id: string, pin: string, now_ms: number): boolean | undefined {
    const entry = this.entries.get(party_id);
    if (!entry) return undefined;
    if (entry.expires_ms <= now_ms) {
      this.entries.delete(party_id);
      return undefined;
    }
    return crypto.timingSafeEqual(entry.mac, this.mac(party_id, pin));
  }

  remember(party_id: string, pin: string, now_ms: number): void {
    this.entries.delete(party_id);
    // Oldest first in insertion order: dropping them only costs a slow check later.
    while (this.entries.size >= this.entries_max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(party_id, { mac: this.mac(party_id, pin), expires_ms: now_ms + this.ttl_ms });
  }

  /** Keeps a remembered PIN for another ttl from now (it was just entered correctly again). */
  renew(party_id: string, now_ms: number): void {
    const entry = this.entries.get(party_id);
    if (!entry) return;
    this.entries.delete(party_id);
    entry.expires_ms = now_ms + this.ttl_ms;
    this.entries.set(party_id, entry);
  }

  forget(party_id: string): void {
    this.entries.delete(party_id);
  }
}
