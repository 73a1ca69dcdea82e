// Real-time charging with Diameter Gy credit-control semantics. A grant is a set of pending
// ledger transfers (one per source: window bundle, bundles soonest-expiring first, then airtime at
// the tariff rate), all with the same timeout, so the balance a customer sees (posted − pending)
// is exactly what another session can still reserve. An update posts the used units against the
// previous grant (partial posts release the rest) and reserves the next grant, in one command.
// A session not updated before its grant's timeout expires: the ledger releases the reservation.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { RequestError } from '../../errors/registry.js';
import { ExpiryHeap } from '../../ledger/heap.js';
import { formatAmount } from '../../ledger/amount.js';
import { available, TransferFlag } from '../../ledger/types.js';
import type { Ledger } from '../../ledger/ledger.js';
import type { Transfer } from '../../ledger/types.js';
import type { Store } from '../../store/store.js';
import type { CommandContext } from '../../store/writer.js';
import { CURRENCIES, airtimeId, type Currency } from '../accounts.js';
import { queueMessage } from '../outbox.js';
import type { Msisdn } from '../msisdn.js';
import type { Bundles, Lot } from './bundles.js';
import { SYSTEM, TransferCode, ensureSystem } from './ledger.js';
import { DEFAULT_QUOTA, QUOTA_MAX, windowSecondsLeft, type Service, type Tariff } from './tariff.js';

export const SESSIONS = 'prepaid_sessions';
const NS_PER_S = 1_000_000_000n;
/** A grant is not made from a source with less than this left before it must stop (lot expiry, window end). */
const TIMEOUT_MIN_S = 1n;
/** A post at the edge of the timeout would be refused; a grant this close to expiry counts as expired. */
const EXPIRY_MARGIN_NS = 10_000_000n;

/** One source of a grant: a pending transfer from a lot or an airtime account. */
interface Part {
  id: string;
  account_id: string;
  /** Service units reserved from this source. */
  units: bigint;
  /** Ledger amount per unit: 1 for a lot, the tariff for airtime. */
  rate: bigint;
}

interface Session {
  session_id: string;
  key: string;
  /** Base 36 of the ledger time the session opened: a session id used again later gets fresh transfer ids. */
  epoch: string;
  msisdn: Msisdn;
  service: Service;
  request_number: number;
  parts: Part[];
  /** When the current grant's reservation expires (ns). */
  expires_at: bigint;
  used_total: bigint;
  last: ChargingAnswer;
  closed: boolean;
}

/** What every charging request answers (CCA). */
export interface ChargingAnswer {
  session_id: string;
  request_number: number;
  service: Service;
  /** Units granted by this answer (0 on terminate). */
  granted_units: string;
  /** Seconds the grant is valid: update (or terminate) before then. */
  validity_s: number;
  /** True when this is the last grant: funds ran out (Diameter final-unit indication, action terminate). */
  final_unit: boolean;
  /** Units committed (charged) by this request. */
  used_units: string;
  /** Where the grant is reserved, in consumption order. */
  reserved_from: { account_id: string; units: string }[];
}

/** The `prepaid_sessions` document of an open session (key: a digest of the session id; deleted when it ends). */
interface SessionDocument {
  session_id: string;
  epoch: string;
  msisdn: string;
  service: Service;
  request_number: number;
  parts: [string, string, string, string][];
  expires_at: string;
  used_total: string;
  /** The last answer, for a retry: [granted_units, validity_s, final_unit, used_units]; reserved_from is `parts`. */
  last: [string, number, boolean, string];
}

export interface InitialRequest {
  session_id: string;
  request_number: number;
  msisdn: Msisdn;
  service: Service;
  requested_units?: bigint;
}

export interface UpdateRequest {
  session_id: string;
  request_number: number;
  used_units: bigint;
  requested_units?: bigint;
}

export interface TerminateRequest {
  session_id: string;
  request_number: number;
  used_units: bigint;
}

export interface ChargingOptions {
  tariff: Tariff;
  /** The longest a grant is valid (Diameter Validity-Time). */
  validity_s: number;
  /** How long a terminated session still answers a retried terminate. */
  closed_keep_s: number;
}

/** Main airtime is low below this many seconds of calls at the tariff's voice rate. */
const LOW_AIRTIME_VOICE_S = 300n;
/** Airtime assets' scale (AIRTIME_USD, AIRTIME_ZWG): 10000 = 1.00. */
const AIRTIME_SCALE = 4;

function sessionKey(session_id: string): string {
  return crypto.createHash('sha256').update(session_id).digest('base64url').slice(0, 16);
}

const ID_TIME_WIDTH = 12;
/** A charging transfer id, as grantIds writes it or as written before the time part led it. */
const GRANT_ID = new RegExp(`^cc:(?:[0-9a-z]{${ID_TIME_WIDTH}}:)?([^:]+:[^:]+):(\\d+):(\\d+)$`);

/**
 * What leads the ids of the transfers one request writes: `cc:<time>:<session key>:<epoch>`, the
 * time fixed-width base 36 of the ledger's, so ids sort by time and the store's id indexes take
 * them as appends, not as inserts at random places (a random leading key dirtied most of the id
 * index's pages in every commit).
 */
function grantIds(ctx: CommandContext, session: Session): string {
  return `cc:${ctx.ledger.lastTimestamp.toString(36).padStart(ID_TIME_WIDTH, '0')}:${session.key}:${session.epoch}`;
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

export class Charging {
  private readonly sessions = new Map<string, Session>();
  /** Session expiries and closed-session pruning, by time; stale entries are skipped. */
  private readonly timers = new ExpiryHeap();

  constructor(
    private readonly bundles: Bundles,
    private readonly options: ChargingOptions,
  ) {}

  /**
   * Sessions from their documents, brought up to date from their live reservations: an update
   * whose grant has parts writes no document (its pending transfers carry what a restart needs:
   * their ids name the session and request number, their user_data the units, final-unit flag
   * and units committed), so the ledger is the session's journal between documents.
   */
  async load(store: Store, ledger: Pick<Ledger, 'pending' | 'accounts'>): Promise<void> {
    const live = livePartsBySession(ledger.pending);
    for await (const doc of store.documents(SESSIONS)) {
      const json = JSON.parse(doc.value) as SessionDocument;
      const session: Session = {
        session_id: json.session_id, key: doc.key, epoch: json.epoch, msisdn: json.msisdn as Msisdn, service: json.service, request_number: json.request_number,
        parts: json.parts.map(([id, account_id, units, rate]) => ({ id, account_id, units: BigInt(units), rate: BigInt(rate) })),
        expires_at: BigInt(json.expires_at), used_total: BigInt(json.used_total), last: undefined as unknown as ChargingAnswer, closed: false,
      };
      const [granted_units, validity_s, final_unit, used_units] = json.last;
      session.last = {
        session_id: session.session_id, request_number: session.request_number, service: session.service, granted_units, validity_s, final_unit, used_units,
        reserved_from: session.parts.map((part) => ({ account_id: part.account_id, units: part.units.toString() })),
      };
      const newer = live.get(`cc:${session.key}:${session.epoch}`);
      if (newer && newer.request_number > session.request_number) catchUp(session, newer);
      this.sessions.set(session.session_id, session);
      this.timers.push({ expires_at: session.expires_at, pending_id: session.session_id });
    }
  }

  get openSessions(): number {
    let open = 0;
    for (const session of this.sessions.values()) if (!session.closed) open += 1;
    return open;
  }

  /** Whether a session is open (not terminated, expired or unknown). */
  isOpen(session_id: string): boolean {
    const session = this.sessions.get(session_id);
    return session !== undefined && !session.closed;
  }

  /** The transfer ids a request may refer to (the previous grant's parts), for the writer's lookups. */
  idsFor(session_id: string): string[] {
    return this.sessions.get(session_id)?.parts.map((part) => part.id) ?? [];
  }

  /** CCR-Initial: opens a session with a first grant, or refuses with credit_limit_reached. */
  initial(ctx: CommandContext, request: InitialRequest): ChargingAnswer {
    const existing = this.sessions.get(request.session_id);
    if (existing) return this.retried(existing, request);
    const now = ctx.ledger.now();
    const requested = this.quota(request.service, request.requested_units);
    const plan = this.plan(ctx, { msisdn: request.msisdn, service: request.service, requested, now });
    if (plan.granted === 0n) throw new RequestError('credit_limit_reached', { service: request.service });
    const session: Session = {
      session_id: request.session_id, key: sessionKey(request.session_id), epoch: now.toString(36), msisdn: request.msisdn, service: request.service, request_number: request.request_number,
      parts: [], expires_at: 0n, used_total: 0n, last: undefined as unknown as ChargingAnswer, closed: false,
    };
    this.reserve(ctx, session, plan, now, { used: 0n, final: plan.granted < requested });
    return this.answer(ctx, session, { requested, used: 0n, granted: plan.granted, final: plan.granted < requested, initial: true });
  }

  /** CCR-Update: commits the used units, replaces the grant with a new one (possibly smaller, possibly none). */
  update(ctx: CommandContext, request: UpdateRequest): ChargingAnswer | 'expired' {
    const session = this.open(request);
    if (!('msisdn' in session)) return session.answer;
    const now = ctx.ledger.now();
    if (this.lapsed(ctx, session, now)) return this.expire(ctx, session);
    const used = this.commit(ctx, session, request.used_units, request.request_number);
    const requested = this.quota(session.service, request.requested_units);
    const plan = this.plan(ctx, { msisdn: session.msisdn, service: session.service, requested, now });
    session.request_number = request.request_number;
    this.reserve(ctx, session, plan, now, { used, final: plan.granted < requested });
    return this.answer(ctx, session, { requested, used, granted: plan.granted, final: plan.granted < requested, initial: false });
  }

  /** CCR-Terminate: commits the final usage and releases the rest. */
  terminate(ctx: CommandContext, request: TerminateRequest): ChargingAnswer | 'expired' {
    const session = this.open(request);
    if (!('msisdn' in session)) return session.answer;
    const now = ctx.ledger.now();
    if (this.lapsed(ctx, session, now)) return this.expire(ctx, session);
    const used = this.commit(ctx, session, request.used_units, request.request_number);
    session.request_number = request.request_number;
    session.parts = [];
    session.closed = true;
    session.expires_at = now + BigInt(this.options.closed_keep_s) * NS_PER_S;
    const answer = this.answer(ctx, session, { requested: 0n, used, granted: 0n, final: true, initial: false });
    ctx.put({ collection: SESSIONS, key: session.key, value: null });
    return answer;
  }

  /** The open session for an update or terminate, or the answer a retry gets; refuses otherwise. */
  private open(request: { session_id: string; request_number: number }): Session | { answer: ChargingAnswer } {
    const session = this.sessions.get(request.session_id);
    if (!session) throw new RequestError('session_not_found', { session_id: request.session_id });
    if (request.request_number === session.request_number) return { answer: session.last };
    if (request.request_number < session.request_number || session.closed) {
      throw new RequestError('charging_request_out_of_order', { last_request_number: session.request_number });
    }
    return session;
  }

  private retried(session: Session, request: InitialRequest): ChargingAnswer {
    if (session.request_number === request.request_number && session.msisdn === request.msisdn && session.service === request.service) {
      return session.last;
    }
    throw new RequestError('charging_request_out_of_order', { last_request_number: session.request_number });
  }

  private quota(service: Service, requested: bigint | undefined): bigint {
    if (requested === undefined || requested === 0n) return DEFAULT_QUOTA[service];
    return minBig(requested, QUOTA_MAX[service]);
  }

  /** Whether the session's grant ran out of time (or a part was released by the ledger). */
  private lapsed(ctx: CommandContext, session: Session, now: bigint): boolean {
    if (session.expires_at <= now + EXPIRY_MARGIN_NS) return true;
    return session.parts.some((part) => !ctx.ledger.pending.has(part.id));
  }

  /**
   * Where a grant of `requested` units would come from, without writing: a window bundle in its
   * window, then bundles soonest-expiring first, then airtime (each currency) at the tariff rate.
   */
  plan(ctx: Pick<CommandContext, 'ledger'>, input: { msisdn: Msisdn; service: Service; requested: bigint; now: bigint }): { parts: Omit<Part, 'id'>[]; granted: bigint; timeout_s: bigint } {
    const { msisdn, service, now } = input;
    let remaining = input.requested;
    let timeout_s = BigInt(this.options.validity_s);
    const parts: Omit<Part, 'id'>[] = [];
    for (const { lot, limit_s } of this.usableLots(msisdn, service, now, ctx.ledger.lastTimestamp)) {
      if (remaining === 0n) break;
      const take = minBig(available(ctx.ledger.accounts.get(lot.id)!), remaining);
      if (take <= 0n) continue;
      parts.push({ account_id: lot.id, units: take, rate: 1n });
      remaining -= take;
      timeout_s = minBig(timeout_s, limit_s);
    }
    for (const currency of CURRENCIES) {
      if (remaining === 0n) break;
      const account = ctx.ledger.accounts.get(airtimeId(msisdn, currency));
      const rate = this.options.tariff[currency][service];
      const take = account ? minBig(available(account) / rate, remaining) : 0n;
      if (take <= 0n) continue;
      parts.push({ account_id: account!.id, units: take, rate });
      remaining -= take;
    }
    return { parts, granted: input.requested - remaining, timeout_s };
  }

  /** The line's lots for a service in consumption order, each with how long a grant from it may last. */
  usableLots(msisdn: Msisdn, service: Service, now: bigint, last_timestamp = now): { lot: Lot; limit_s: bigint }[] {
    const usable: { lot: Lot; limit_s: bigint; window: boolean }[] = [];
    // The reservation's timestamp is at or after both; its timeout counts from there, so the margin keeps it inside.
    const base = (now > last_timestamp ? now : last_timestamp) + EXPIRY_MARGIN_NS;
    const second_start = now - (now % NS_PER_S);
    for (const lot of this.bundles.lotsOf(msisdn, now)) {
      if (lot.service !== service) continue;
      let end = lot.expires_at;
      if (lot.window) end = minBig(end, second_start + windowSecondsLeft(lot.window, now) * NS_PER_S);
      const limit_s = (end - base) / NS_PER_S;
      if (limit_s < TIMEOUT_MIN_S) continue;
      usable.push({ lot, limit_s, window: lot.window !== null });
    }
    usable.sort((a, b) => (a.window !== b.window ? (a.window ? -1 : 1) : a.lot.expires_at < b.lot.expires_at ? -1 : a.lot.expires_at > b.lot.expires_at ? 1 : 0));
    return usable;
  }

  /** Writes the plan's pending transfers; every check was done before. */
  private reserve(ctx: CommandContext, session: Session, plan: ReturnType<Charging['plan']>, now: bigint, answer: { used: bigint; final: boolean }): void {
    const ids = grantIds(ctx, session);
    session.parts = plan.parts.map((part, index) => ({ ...part, id: `${ids}:${session.request_number}:${index}` }));
    if (session.parts.length > 0) {
      const events = session.parts.map((part) => {
        const unitAsset = ctx.ledger.accounts.get(part.account_id)!.asset;
        return {
          id: part.id, debit_account_id: part.account_id, credit_account_id: ensureSystem(ctx, SYSTEM.usage, unitAsset),
          amount: part.units * part.rate, asset: unitAsset, code: TransferCode.usage, flags: TransferFlag.pending, timeout: Number(plan.timeout_s),
          user_data: `u=${part.units};f=${answer.final ? 1 : 0};c=${answer.used}`,
        };
      });
      const results = ctx.createTransfers(events);
      for (const result of results) assert.equal(result, 'ok', 'a planned reservation fits the balance it was planned from');
      session.expires_at = ctx.transfer(session.parts[0].id)!.timestamp + plan.timeout_s * NS_PER_S;
    } else {
      session.expires_at = now + BigInt(this.options.validity_s) * NS_PER_S;
    }
    // One timer entry per session, pushed when it opens; runDue moves it on while the session lives.
    if (!this.sessions.has(session.session_id)) this.timers.push({ expires_at: session.expires_at, pending_id: session.session_id });
    this.sessions.set(session.session_id, session);
  }

  /**
   * Posts `used` units against the current grant, in its consumption order; unused parts are voided
   * and a partial post releases the rest. Usage past the grant cannot be charged (it was never
   * reserved), so at most the grant is committed. Answers the units committed.
   */
  private commit(ctx: CommandContext, session: Session, used: bigint, request_number: number): bigint {
    // Only a grant drawn from main airtime can take it under the line: bundle-only updates skip the reads.
    const fromAirtime = session.parts.some((part) => this.bundles.lot(part.account_id) === undefined);
    const airtimeBefore = fromAirtime ? this.airtimeLeft(ctx, session.msisdn) : undefined;
    const committed = this.commitParts(ctx, session, used, request_number);
    if (airtimeBefore) this.checkLowAirtime(ctx, session.msisdn, airtimeBefore);
    return committed;
  }

  private commitParts(ctx: CommandContext, session: Session, used: bigint, request_number: number): bigint {
    let left = used;
    let committed = 0n;
    const ids = grantIds(ctx, session);
    const events = session.parts.map((part, index) => {
      const take = minBig(left, part.units);
      left -= take;
      committed += take;
      const id = `${ids}:${request_number}:c${index}`;
      return take > 0n
        ? { id, pending_id: part.id, amount: take * part.rate, flags: TransferFlag.post_pending_transfer }
        : { id, pending_id: part.id, flags: TransferFlag.void_pending_transfer };
    });
    if (events.length > 0) {
      const results = ctx.createTransfers(events);
      results.forEach((result, index) => {
        if (result === 'ok') return;
        // The grant's timeout passed between the check and the post: those units were released, not charged.
        assert.ok(result === 'pending_transfer_expired' || result === 'pending_transfer_already_voided', `committing usage: ${result}`);
        if (events[index].flags === TransferFlag.post_pending_transfer) committed -= events[index].amount! / session.parts[index].rate;
      });
      for (const part of session.parts) {
        const lot = this.bundles.lot(part.account_id);
        if (lot) this.bundles.checkLow(ctx, lot);
      }
    }
    session.used_total += committed;
    return committed;
  }

  /**
   * The line's main airtime actually spent down to (posted, per currency it holds). Not the shown
   * balance: a call's reservation near the line would make every call near it cross it again.
   */
  private airtimeLeft(ctx: CommandContext, msisdn: Msisdn): (bigint | undefined)[] {
    return CURRENCIES.map((currency) => {
      const account = ctx.ledger.accounts.get(airtimeId(msisdn, currency));
      return account ? account.credits_posted - account.debits_posted : undefined;
    });
  }

  /**
   * One notice each time usage takes main airtime to or below about five minutes of calls at the
   * tariff (USD 0.60): a crossing, so a recharge above it re-arms the notice and nothing is stored.
   */
  private checkLowAirtime(ctx: CommandContext, msisdn: Msisdn, before: (bigint | undefined)[]): void {
    CURRENCIES.forEach((currency: Currency, index) => {
      const was = before[index];
      if (was === undefined) return;
      const threshold = this.options.tariff[currency].voice * LOW_AIRTIME_VOICE_S;
      const account = ctx.ledger.accounts.get(airtimeId(msisdn, currency))!;
      const left = account.credits_posted - account.debits_posted;
      if (!(was > threshold && left <= threshold)) return;
      const minutes = left / this.options.tariff[currency].voice / 60n;
      queueMessage(ctx, {
        id: `prepaid:low:${account.id}:${ctx.ledger.lastTimestamp}`, msisdn, kind: 'low_balance', language: this.bundles.languageOf(msisdn),
        text: `Your airtime is running low: ${currency} ${formatAmount(left, AIRTIME_SCALE).slice(0, -2)} left (about ${minutes} min of calls). Recharge with a voucher or buy airtime from your wallet.`,
      }, new Date(Number(ctx.ledger.lastTimestamp / 1_000_000n)));
    });
  }

  /** A lapsed session: whatever it still holds is released, and it is gone. */
  private expire(ctx: CommandContext, session: Session): 'expired' {
    this.release(ctx, session);
    this.sessions.delete(session.session_id);
    ctx.put({ collection: SESSIONS, key: session.key, value: null });
    return 'expired';
  }

  private release(ctx: CommandContext, session: Session): void {
    const live = session.parts.filter((part) => ctx.ledger.pending.has(part.id));
    if (live.length > 0) {
      ctx.createTransfers(live.map((part) => ({ id: `${part.id}:x`, pending_id: part.id, flags: TransferFlag.void_pending_transfer })));
    }
    session.parts = [];
  }

  private answer(ctx: CommandContext, session: Session, input: { requested: bigint; used: bigint; granted: bigint; final: boolean; initial: boolean }): ChargingAnswer {
    const now = ctx.ledger.now();
    const answer: ChargingAnswer = {
      session_id: session.session_id, request_number: session.request_number, service: session.service,
      granted_units: input.granted.toString(),
      validity_s: session.parts.length === 0 ? 0 : Number((session.expires_at - now) / NS_PER_S),
      final_unit: input.final, used_units: input.used.toString(),
      reserved_from: session.parts.map((part) => ({ account_id: part.account_id, units: part.units.toString() })),
    };
    session.last = answer;
    // An update with a grant is journaled by its reservations (see load); the document is written
    // when the session opens and when a grant has no parts left to carry the state.
    if (!session.closed && (input.initial || session.parts.length === 0)) {
      ctx.put({ collection: SESSIONS, key: session.key, value: JSON.stringify(sessionDocument(session)) });
    }
    return answer;
  }

  nextDue(): bigint | undefined {
    return this.timers.peek()?.expires_at;
  }

  /** Forgets sessions whose grant lapsed (releasing anything still held) and closed ones past keeping. */
  runDue(ctx: CommandContext, now: bigint, limit: number): number {
    let done = 0;
    for (let top = this.timers.peek(); top && top.expires_at <= now && done < limit; top = this.timers.peek()) {
      this.timers.pop();
      const session = this.sessions.get(top.pending_id);
      if (!session) continue;
      if (session.expires_at > now) {
        // Updated since this entry was pushed: wait for its current expiry.
        this.timers.push({ expires_at: session.expires_at, pending_id: session.session_id });
        continue;
      }
      if (session.closed) this.sessions.delete(session.session_id);
      else this.expire(ctx, session);
      done += 1;
    }
    return done;
  }
}

function sessionDocument(session: Session): SessionDocument {
  return {
    session_id: session.session_id, epoch: session.epoch, msisdn: session.msisdn, service: session.service, request_number: session.request_number,
    parts: session.parts.map((part) => [part.id, part.account_id, part.units.toString(), part.rate.toString()]),
    expires_at: session.expires_at.toString(), used_total: session.used_total.toString(),
    last: [session.last.granted_units, session.last.validity_s, session.last.final_unit, session.last.used_units],
  };
}

interface LiveGrant {
  request_number: number;
  parts: { index: number; transfer: Transfer }[];
}

/**
 * The newest live reservation of each session, by `cc:<key>:<epoch>`, from the ledger's pending
 * transfers: ids `cc:<time>:<key>:<epoch>:<request>:<part>`, or without the time part as written
 * before it led them.
 */
export function livePartsBySession(pending: ReadonlyMap<string, Transfer>): Map<string, LiveGrant> {
  const out = new Map<string, LiveGrant>();
  for (const transfer of pending.values()) {
    const match = GRANT_ID.exec(transfer.id);
    if (!match) continue;
    const session = `cc:${match[1]}`;
    const request_number = Number(match[2]);
    const grant = out.get(session);
    if (!grant || grant.request_number < request_number) out.set(session, { request_number, parts: [{ index: Number(match[3]), transfer }] });
    else if (grant.request_number === request_number) grant.parts.push({ index: Number(match[3]), transfer });
  }
  return out;
}

/** Brings a session to the grant its live reservations record (the user_data written by reserve). */
function catchUp(session: Session, grant: LiveGrant): void {
  grant.parts.sort((a, b) => a.index - b.index);
  const fields = (transfer: Transfer) => Object.fromEntries((transfer.user_data ?? '').split(';').map((pair) => pair.split('=')));
  session.request_number = grant.request_number;
  session.parts = grant.parts.map(({ transfer }) => {
    const units = BigInt(fields(transfer).u);
    assert.ok(units > 0n && transfer.amount % units === 0n, `reservation ${transfer.id} records its units`);
    return { id: transfer.id, account_id: transfer.debit_account_id, units, rate: transfer.amount / units };
  });
  const first = fields(grant.parts[0].transfer);
  session.expires_at = grant.parts[0].transfer.timestamp + BigInt(grant.parts[0].transfer.timeout) * NS_PER_S;
  session.last = {
    session_id: session.session_id, request_number: session.request_number, service: session.service,
    granted_units: session.parts.reduce((sum, part) => sum + part.units, 0n).toString(), validity_s: session.last.validity_s,
    final_unit: first.f === '1', used_units: first.c,
    reserved_from: session.parts.map((part) => ({ account_id: part.account_id, units: part.units.toString() })),
  };
}
