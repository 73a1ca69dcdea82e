// Vouchers: batches of 16-digit PINs printed on scratch cards. A PIN is stored only as a keyed
// digest (HMAC-SHA256 with a secret kept outside the database, the lookup key) and a salted
// scrypt hash (checked after the lookup), so a leaked database yields no usable PIN. A redemption
// credits the face value to the line's airtime with the transfer id `voucher:<serial>`, so the
// ledger itself makes a second redemption impossible, whatever the documents say.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { VOUCHERS as MIGRATED_VOUCHERS, hashVoucherPin, type VoucherRecord } from '../../cutover/formats.js';
import { RequestError } from '../../errors/registry.js';
import { formatAmount } from '../../ledger/amount.js';
import { available } from '../../ledger/types.js';
import type { LedgerHandle } from '../../store/open.js';
import type { CommandContext } from '../../store/writer.js';
import { formatHarare } from '../../time.js';
import { CURRENCIES, airtimeAsset, type Currency } from '../accounts.js';
import { msisdnDigits, type Msisdn } from '../msisdn.js';
import { SYSTEM, TransferCode, assertOk, ensureAirtime, ensureSystem } from './ledger.js';

export const VOUCHERS = 'prepaid_vouchers';
export const VOUCHER_PINS = 'prepaid_voucher_pins';
export const VOUCHER_BATCHES = 'prepaid_voucher_batches';
export const VOUCHER_TRIES = 'prepaid_voucher_tries';
export const SECRET_FILE = 'prepaid-voucher.key';

const scrypt = promisify(crypto.scrypt) as (pin: string, salt: Buffer, length: number, options: crypto.ScryptOptions) => Promise<Buffer>;
const NS_PER_S = 1_000_000_000n;
const PIN_PATTERN = /^\d{16}$/;
const SERIAL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;
export const BATCH_COUNT_MAX = 50_000;
/** Hashes computed at once while a batch is made: scrypt runs on libuv's threads. */
const HASH_CONCURRENCY = 4;

export type VoucherState = 'new' | 'used' | 'expired' | 'blocked';

/** The `prepaid_vouchers` document (key: serial, tag: state). Amounts and times (ns) as decimal strings. */
export interface VoucherDocument {
  serial: string;
  batch_id: string;
  /** In the airtime asset's smallest unit (scale 4: 10000 = 1.00). */
  face_value: string;
  currency: Currency;
  expires_at: string;
  /** As stored; a `new` voucher past expires_at is shown as `expired`. */
  state: VoucherState;
  /** `scrypt$<N>$<salt base64>$<hash base64>`. */
  pin_hash: string;
  used_by: string | null;
  used_at: string | null;
  transfer_id: string | null;
  source: 'batch' | 'legacy';
  created_at: string;
  /** While blocked: the state it had, which unblocking gives back. */
  blocked_from?: VoucherState;
}

export interface VoucherView {
  serial: string;
  batch_id: string;
  state: VoucherState;
  face_value: string;
  currency: Currency;
  expires_at: string;
  used_by: string | null;
  used_at: string | null;
  transfer_id: string | null;
}

export interface BatchRequest {
  face_value: bigint;
  currency: Currency;
  count: number;
  expires_at: bigint;
}

export interface BatchResult {
  batch_id: string;
  count: number;
  first_serial: string;
  last_serial: string;
  face_value: string;
  currency: Currency;
  expires_at: string;
  /** The printer's file (CSV, mode 0600): serial,pin,face_value,currency,expires_at. The only copy of the PINs. */
  file: string;
}

export interface RedeemResult {
  serial: string;
  msisdn: Msisdn;
  credited: string;
  asset: string;
  airtime_account_id: string;
  /** The line's available airtime in that currency after the credit. */
  balance: string;
  transfer_id: string;
}

export interface LegacyVoucher {
  serial: string;
  /** The plaintext PIN from the legacy database; hashed on the way in and never stored. */
  pin: string;
  face_value: bigint;
  currency: Currency;
  status: 'NEW' | 'USED' | 'EXPIRED';
  used_by: Msisdn | null;
  used_at: bigint | null;
  expires_at: bigint;
}

export interface VoucherOptions {
  dataDir: string;
  /** scrypt cost N (a power of two); 4096 takes about 10 ms and 4 MiB. */
  scrypt_cost: number;
  tries_max: number;
  tries_window_s: number;
  block_s: number;
}

interface Tries {
  failures: bigint[];
  blocked_until: bigint;
}

/** The HMAC secret: created once per data directory, readable only by mari, never in a document. */
export function loadSecret(dataDir: string): Buffer {
  const file = path.join(dataDir, SECRET_FILE);
  try {
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex') + '\n', { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const secret = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex');
  assert.equal(secret.length, 32, `${file} holds a 32-byte hex secret`);
  return secret;
}

export class Vouchers {
  /** Vouchers changed since start (used, blocked): authoritative over the store inside commands. */
  private readonly changed = new Map<string, VoucherDocument>();
  private readonly tries = new Map<string, Tries>();
  private batchNo = 0;

  constructor(
    private readonly handle: LedgerHandle,
    private readonly secret: Buffer,
    private readonly options: VoucherOptions,
  ) {}

  async load(): Promise<void> {
    for await (const doc of this.handle.store.documents(VOUCHER_BATCHES)) this.batchNo = Math.max(this.batchNo, Number(doc.key.slice(2)));
    for await (const doc of this.handle.store.documents(VOUCHER_TRIES)) {
      const json = JSON.parse(doc.value) as { failures: string[]; blocked_until: string };
      this.tries.set(doc.key, { failures: json.failures.map(BigInt), blocked_until: BigInt(json.blocked_until) });
    }
  }

  private now(): bigint {
    return this.handle.ledger.now();
  }

  digest(pin: string): string {
    return crypto.createHmac('sha256', this.secret).update(pin).digest('hex').slice(0, 32);
  }

  private async slowHash(pin: string): Promise<string> {
    const salt = crypto.randomBytes(16);
    const hash = await scrypt(pin, salt, 32, { N: this.options.scrypt_cost, r: 8, p: 1 });
    return `scrypt$${this.options.scrypt_cost}$${salt.toString('base64')}$${hash.toString('base64')}`;
  }

  private async slowCheck(pin: string, stored: string): Promise<boolean> {
    const [scheme, cost, salt, hash] = stored.split('$');
    assert.equal(scheme, 'scrypt', 'voucher PIN hashes are scrypt');
    const expected = Buffer.from(hash, 'base64');
    const actual = await scrypt(pin, Buffer.from(salt, 'base64'), expected.length, { N: Number(cost), r: 8, p: 1 });
    return crypto.timingSafeEqual(actual, expected);
  }

  /** A new batch: PINs generated, written to the printer's file, stored hashed, in one commit. */
  async createBatch(request: BatchRequest): Promise<BatchResult> {
    const now = this.now();
    if (request.face_value <= 0n || !Number.isInteger(request.count) || request.count < 1 || request.count > BATCH_COUNT_MAX ||
      request.expires_at <= now || !(CURRENCIES as readonly string[]).includes(request.currency)) {
      throw new RequestError('voucher_batch_invalid', { count_max: BATCH_COUNT_MAX });
    }
    const batch_id = `VB${String(++this.batchNo).padStart(6, '0')}`;
    const vouchers = await this.generate(batch_id, request, now);
    const file = this.writeFile(batch_id, vouchers, request);
    try {
      await this.handle.writer.execute({
        run: (ctx) => {
          for (const { doc, digest } of vouchers) {
            ctx.put({ collection: VOUCHERS, key: doc.serial, tag: doc.state, value: JSON.stringify(doc) });
            ctx.put({ collection: VOUCHER_PINS, key: digest, value: JSON.stringify({ serial: doc.serial }) });
          }
          ctx.put({ collection: VOUCHER_BATCHES, key: batch_id, value: JSON.stringify({
            batch_id, count: request.count, face_value: request.face_value.toString(), currency: request.currency,
            expires_at: request.expires_at.toString(), created_at: now.toString(), file,
          }) });
        },
      });
    } catch (error) {
      // Not stored, so the printed PINs would be worthless: take the file back.
      fs.rmSync(file, { force: true });
      throw error;
    }
    return {
      batch_id, count: request.count, first_serial: vouchers[0].doc.serial, last_serial: vouchers[vouchers.length - 1].doc.serial,
      face_value: request.face_value.toString(), currency: request.currency, expires_at: formatHarare(request.expires_at), file,
    };
  }

  private async generate(batch_id: string, request: BatchRequest, now: bigint): Promise<{ doc: VoucherDocument; digest: string; pin: string }[]> {
    const out: { doc: VoucherDocument; digest: string; pin: string }[] = [];
    const digests = new Set<string>();
    for (let index = 0; index < request.count; index++) {
      let pin: string;
      let digest: string;
      // A PIN equal to one already issued would let one card redeem another's value: draw again.
      do {
        pin = String(crypto.randomInt(0, 100_000_000)).padStart(8, '0') + String(crypto.randomInt(0, 100_000_000)).padStart(8, '0');
        digest = this.digest(pin);
      } while (digests.has(digest) || (await this.handle.store.document(VOUCHER_PINS, digest)) !== undefined);
      digests.add(digest);
      const serial = `${batch_id.slice(2)}${String(index + 1).padStart(6, '0')}`;
      out.push({ pin, digest, doc: {
        serial, batch_id, face_value: request.face_value.toString(), currency: request.currency, expires_at: request.expires_at.toString(),
        state: 'new', pin_hash: '', used_by: null, used_at: null, transfer_id: null, source: 'batch', created_at: now.toString(),
      } });
    }
    for (let start = 0; start < out.length; start += HASH_CONCURRENCY) {
      await Promise.all(out.slice(start, start + HASH_CONCURRENCY).map(async (v) => (v.doc.pin_hash = await this.slowHash(v.pin))));
    }
    return out;
  }

  private writeFile(batch_id: string, vouchers: readonly { doc: VoucherDocument; pin: string }[], request: BatchRequest): string {
    const dir = path.join(this.options.dataDir, 'vouchers');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${batch_id}.csv`);
    const face = formatAmount(request.face_value, 4);
    const expires = formatHarare(request.expires_at);
    const lines = ['serial,pin,face_value,currency,expires_at', ...vouchers.map((v) => `${v.doc.serial},${v.pin},${face},${request.currency},${expires}`)];
    fs.writeFileSync(file, lines.join('\n') + '\n', { flag: 'wx', mode: 0o600 });
    return file;
  }

  /** The current document of a voucher: what commands changed since start, else the store's. */
  private async current(serial: string): Promise<VoucherDocument | undefined> {
    const changed = this.changed.get(serial);
    if (changed) return changed;
    const doc = await this.handle.store.document(VOUCHERS, serial);
    return doc ? (JSON.parse(doc.value) as VoucherDocument) : undefined;
  }

  private blockedUntil(msisdn: Msisdn, now: bigint): bigint | undefined {
    const tries = this.tries.get(msisdnDigits(msisdn));
    return tries && tries.blocked_until > now ? tries.blocked_until : undefined;
  }

  /** Redeems a PIN for a line: the face value as airtime, once. The slow check runs before the writer. */
  async redeem(msisdn: Msisdn, pin: string): Promise<RedeemResult> {
    if (typeof pin !== 'string' || !PIN_PATTERN.test(pin)) throw new RequestError('voucher_pin_invalid');
    const blocked = this.blockedUntil(msisdn, this.now());
    if (blocked !== undefined) throw new RequestError('voucher_tries_exceeded', { retry_at: formatHarare(blocked) });
    const index = await this.handle.store.document(VOUCHER_PINS, this.digest(pin));
    let found = index ? await this.current((JSON.parse(index.value) as { serial: string }).serial) : undefined;
    if (found && !(await this.slowCheck(pin, found.pin_hash))) found = undefined;
    found ??= await this.findMigrated(pin);
    if (!found) return this.refuseWrongPin(msisdn);
    const transfer_id = `voucher:${found.serial}`;
    const serial = found.serial;
    const result = await this.handle.writer.execute({ ids: [transfer_id], run: (ctx) => this.credit(ctx, { msisdn, serial, fallback: found!, transfer_id }) });
    // Committed: the store says used now, and the ledger's transfer refuses any redemption still in
    // flight, so memory need not hold every voucher ever redeemed (blocked ones it keeps).
    if (this.changed.get(serial)?.state === 'used') this.changed.delete(serial);
    return result;
  }

  private credit(ctx: CommandContext, input: { msisdn: Msisdn; serial: string; fallback: VoucherDocument; transfer_id: string }): RedeemResult {
    const voucher = this.changed.get(input.serial) ?? input.fallback;
    const now = ctx.ledger.now();
    const blocked = this.blockedUntil(input.msisdn, now);
    if (blocked !== undefined) throw new RequestError('voucher_tries_exceeded', { retry_at: formatHarare(blocked) });
    if (voucher.state === 'blocked') throw new RequestError('voucher_blocked', { serial: voucher.serial });
    // The ledger's transfer is the truth of "used": a concurrent redemption committed it first.
    if (voucher.state === 'used' || ctx.transfer(input.transfer_id)) throw new RequestError('voucher_used', { serial: voucher.serial });
    if (voucher.state === 'expired' || BigInt(voucher.expires_at) <= now) throw new RequestError('voucher_expired', { serial: voucher.serial });
    const asset = airtimeAsset(voucher.currency);
    const issue = ensureSystem(ctx, SYSTEM.voucher_issue, asset);
    const line = ensureAirtime(ctx, input.msisdn, voucher.currency);
    assertOk(ctx.createTransfers([{
      id: input.transfer_id, debit_account_id: issue, credit_account_id: line, amount: BigInt(voucher.face_value), asset,
      code: TransferCode.voucher_redemption, user_data: voucher.serial,
    }]), 'voucher redemption');
    const used: VoucherDocument = { ...voucher, state: 'used', used_by: input.msisdn, used_at: now.toString(), transfer_id: input.transfer_id };
    this.changed.set(used.serial, used);
    ctx.put({ collection: VOUCHERS, key: used.serial, tag: used.state, value: JSON.stringify(used) });
    return {
      serial: used.serial, msisdn: input.msisdn, credited: voucher.face_value, asset, airtime_account_id: line,
      balance: available(ctx.ledger.accounts.get(line)!).toString(), transfer_id: input.transfer_id,
    };
  }

  /**
   * A voucher the migration brought over in its own format (`legacy_vouchers`, tagged with a
   * fixed-salt scrypt of the PIN while redeemable), as this module's document. Once redeemed or
   * blocked here, this module's own document for the serial is what counts.
   */
  private async findMigrated(pin: string): Promise<VoucherDocument | undefined> {
    const hash = await hashVoucherPin(pin);
    for await (const doc of this.handle.store.documents(MIGRATED_VOUCHERS, { tag: hash, limit: 1 })) {
      const record = JSON.parse(doc.value) as VoucherRecord;
      return (await this.current(record.serial)) ?? fromMigrated(record);
    }
    return undefined;
  }

  /** Counts a wrong PIN (in a command, so parallel guesses are all counted) and refuses. */
  private async refuseWrongPin(msisdn: Msisdn): Promise<never> {
    const tries_left = await this.handle.writer.execute({
      run: (ctx) => {
        const now = ctx.ledger.now();
        const key = msisdnDigits(msisdn);
        const window_start = now - BigInt(this.options.tries_window_s) * NS_PER_S;
        const tries = this.tries.get(key) ?? { failures: [], blocked_until: 0n };
        tries.failures = [...tries.failures.filter((at) => at > window_start), now];
        if (tries.failures.length >= this.options.tries_max) {
          tries.blocked_until = now + BigInt(this.options.block_s) * NS_PER_S;
          tries.failures = [];
        }
        this.tries.set(key, tries);
        ctx.put({ collection: VOUCHER_TRIES, key, value: JSON.stringify({ failures: tries.failures.map(String), blocked_until: tries.blocked_until.toString() }) });
        return tries.blocked_until > now ? 0 : this.options.tries_max - tries.failures.length;
      },
    });
    if (tries_left === 0) throw new RequestError('voucher_tries_exceeded', { tries_left });
    throw new RequestError('voucher_not_found', { tries_left });
  }

  /** A voucher by serial, with its state as of now (a new voucher past its expiry shows as expired). */
  async find(serial: string): Promise<VoucherView> {
    const doc = SERIAL_PATTERN.test(serial) ? (await this.current(serial)) ?? (await this.migrated(serial)) : undefined;
    if (!doc) throw new RequestError('voucher_not_found', { serial });
    const state = doc.state === 'new' && BigInt(doc.expires_at) <= this.now() ? 'expired' : doc.state;
    return {
      serial: doc.serial, batch_id: doc.batch_id, state, face_value: doc.face_value, currency: doc.currency,
      expires_at: formatHarare(BigInt(doc.expires_at)), used_by: doc.used_by, used_at: doc.used_at === null ? null : formatHarare(BigInt(doc.used_at)),
      transfer_id: doc.transfer_id,
    };
  }

  private async migrated(serial: string): Promise<VoucherDocument | undefined> {
    const doc = await this.handle.store.document(MIGRATED_VOUCHERS, serial);
    return doc ? fromMigrated(JSON.parse(doc.value) as VoucherRecord) : undefined;
  }

  /** Blocks an unused voucher (a stolen or misprinted card); blocking twice is harmless. */
  async block(serial: string): Promise<VoucherView> {
    const found = SERIAL_PATTERN.test(serial) ? (await this.current(serial)) ?? (await this.migrated(serial)) : undefined;
    if (!found) throw new RequestError('voucher_not_found', { serial });
    await this.handle.writer.execute({
      ids: [`voucher:${serial}`],
      run: (ctx) => {
        const voucher = this.changed.get(serial) ?? found;
        if (voucher.state === 'used' || ctx.transfer(`voucher:${serial}`)) throw new RequestError('voucher_used', { serial });
        if (voucher.state === 'blocked') return;
        const blocked: VoucherDocument = { ...voucher, state: 'blocked', blocked_from: voucher.state };
        this.changed.set(serial, blocked);
        ctx.put({ collection: VOUCHERS, key: serial, tag: blocked.state, value: JSON.stringify(blocked) });
      },
    });
    return this.find(serial);
  }

  /** Unblocks a voucher (found, or blocked by mistake): it gets back the state it had; unblocking twice is harmless. */
  async unblock(serial: string): Promise<VoucherView> {
    const found = SERIAL_PATTERN.test(serial) ? (await this.current(serial)) ?? (await this.migrated(serial)) : undefined;
    if (!found) throw new RequestError('voucher_not_found', { serial });
    await this.handle.writer.execute({
      run: (ctx) => {
        const voucher = this.changed.get(serial) ?? found;
        if (voucher.state !== 'blocked') return;
        const { blocked_from, ...rest } = voucher;
        const unblocked: VoucherDocument = { ...rest, state: blocked_from ?? 'new' };
        this.changed.set(serial, unblocked);
        ctx.put({ collection: VOUCHERS, key: serial, tag: unblocked.state, value: JSON.stringify(unblocked) });
      },
    });
    return this.find(serial);
  }

  /**
   * For the migration: one legacy voucher, its plaintext PIN hashed on the way in. A USED voucher
   * is recorded as used (its airtime was credited on the legacy platform, and comes over with the
   * line's balance); nothing is credited here. Idempotent by serial.
   */
  async importLegacy(legacy: LegacyVoucher): Promise<'ok' | 'exists'> {
    const invalid = (field: string): never => {
      throw new RequestError('voucher_import_invalid', { field, serial: String(legacy.serial).slice(0, 40) });
    };
    if (!SERIAL_PATTERN.test(legacy.serial)) invalid('serial');
    if (!PIN_PATTERN.test(legacy.pin)) invalid('pin');
    if (legacy.face_value <= 0n) invalid('face_value');
    if (!(CURRENCIES as readonly string[]).includes(legacy.currency)) invalid('currency');
    if (!['NEW', 'USED', 'EXPIRED'].includes(legacy.status)) invalid('status');
    if (legacy.status === 'USED' && legacy.used_by === null) invalid('used_by');
    if (await this.current(legacy.serial)) return 'exists';
    const digest = this.digest(legacy.pin);
    if (await this.handle.store.document(VOUCHER_PINS, digest)) invalid('pin');
    const state: VoucherState = legacy.status === 'USED' ? 'used' : legacy.status === 'EXPIRED' ? 'expired' : 'new';
    const doc: VoucherDocument = {
      serial: legacy.serial, batch_id: 'legacy', face_value: legacy.face_value.toString(), currency: legacy.currency,
      expires_at: legacy.expires_at.toString(), state, pin_hash: await this.slowHash(legacy.pin),
      used_by: legacy.used_by, used_at: legacy.used_at === null ? null : legacy.used_at.toString(), transfer_id: null,
      source: 'legacy', created_at: this.now().toString(),
    };
    await this.handle.writer.execute({
      run: (ctx) => {
        ctx.put({ collection: VOUCHERS, key: doc.serial, tag: doc.state, value: JSON.stringify(doc) });
        ctx.put({ collection: VOUCHER_PINS, key: digest, value: JSON.stringify({ serial: doc.serial }) });
      },
    });
    return 'ok';
  }
}

/** The migration's record as this module's document (its PIN check was the hash lookup itself). */
function fromMigrated(record: VoucherRecord): VoucherDocument {
  const ns = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;
  return {
    serial: record.serial, batch_id: 'legacy', face_value: record.face_value, currency: record.currency, expires_at: ns(record.expires_at).toString(),
    state: record.status, pin_hash: record.pin_hash === null ? '' : `migrated$${record.pin_hash}`, used_by: record.used_by,
    used_at: record.used_at === null ? null : ns(record.used_at).toString(), transfer_id: null, source: 'legacy', created_at: '0',
  };
}
