// Shadow replay (issue 8): a window of real legacy traffic (txn_log, in txn_id order) replayed
// against a scratch copy of mari, transaction by transaction, comparing outcome, fee and the
// debit wallet's balance after. The scratch copy is the real migration with legacy as it stood
// at the window's start; each row goes through the mobile money service API, so what differs is
// what customers would see differ. Differences are grouped by cause; declared ones apart.
import fs from 'node:fs';
import { Importer, IMPORT_OPEN, txnTransferId, type Phase } from '../import.js';
import { openLegacySource } from '../open.js';
import type { LegacySource, Row } from '../source.js';
import { LEGACY_ACCOUNTS, MIGRATION_FINDINGS, type LegacyWalletRecord, type RangeDocument } from '../formats.js';
import { formatDecimal, parseDecimal } from '../decimal.js';
import { openLedger } from '../../store/open.js';
import type { Store } from '../../store/store.js';
import { openPlatform, type ModuleFactory } from '../../platform.js';
import type { Config } from '../../config.js';
import { MoneyModule, type MoneyTransaction } from '../../products/money/index.js';
import { DEFAULT_TARIFF_FILE, Tariff } from '../../products/money/tariff.js';
import { RequestError } from '../../errors/registry.js';
import { normalizeMsisdn } from '../../products/msisdn.js';
import { harareLocalToMs } from '../../time.js';
import { openLegacyDb, redactUrl, type LegacyDb } from './legacy_db.js';

/** The PIN the scratch copy gives each payer (legacy PINs are only MD5 hashes; see resetPin). */
const SHADOW_PIN = '7392';
const EXAMPLES_PER_CAUSE = 5;
/** Subscribers asked of legacy per query. */
const SUBSCRIBERS_PER_QUERY = 1000;

export interface Expectation {
  cause: string;
  /** The legacy txn_type it applies to (P2P, CASHOUT…); every type when absent. */
  service?: string;
  reason: string;
}

export interface ShadowDifference {
  txn_id: string;
  ref: string;
  service: string;
  cause: string;
  legacy: { status: string; fee: string; balance_after: string | null };
  mari: { ok: boolean; code?: string; fee: string | null; balance_after: string | null };
  /** What legacy says of the party or transaction behind the cause (which legacy subscriber, its status). */
  note?: string;
}

export interface ShadowGroup {
  cause: string;
  count: number;
  /** Count per legacy txn_type. */
  services: Record<string, number>;
  examples: ShadowDifference[];
  /** The declared reason, for expected groups. */
  reason?: string;
}

export interface ShadowReport {
  source: string;
  since: string;
  until: string | null;
  rows: number;
  replayed: number;
  /** Rows mari has no service for on their own (COMMISSION: mari books it inside cash in/out). */
  skipped: Record<string, number>;
  same: number;
  differences: ShadowGroup[];
  expected: ShadowGroup[];
  /** Rows that differ for a known legacy quirk (or follow from a difference reported already), with the reason; not declared by the operator. */
  explained: ShadowGroup[];
  ok: boolean;
}

/**
 * Legacy quirks the shadow recognises itself (shared/legacy/README.md), checked against legacy's
 * own tables, and a reversal that follows from a difference already reported: reported apart with
 * the reason and, per example, the legacy subscriber behind it, never as a difference, as long as
 * mari behaves (with the very code) as the reason says.
 */
export const EXPLAINED: Readonly<Record<string, string>> = Object.freeze({
  duplicate_ref: 'legacy wrote this ref twice (a retried insert) and moved the money once, so this row moved nothing; ' +
    'neither did mari (it answered the ref\'s first result, or the first row is before the window: migrated history, not replayed)',
  suspended_in_legacy: 'legacy\'s subscriber table has this subscriber SUSPENDED, yet legacy let it transact (legacy keeps only the ' +
    'current status: it did not check it, or suspended the subscriber after this row); mari imported the status and refuses a ' +
    'suspended account: subscriber_suspended to the customer, recipient_unavailable for a P2P recipient',
  closed_in_legacy: 'legacy\'s subscriber table has this subscriber CLOSED, yet legacy let it transact (legacy keeps only the current ' +
    'status: it did not check it, or closed the subscriber after this row); in mari a closed account holds no number, so mari answers ' +
    'the number as not registered: subscriber_not_found to the customer, recipient_not_found for a P2P recipient (any money stays ' +
    'in the closed wallet: closed_with_balance in the migration report)',
  number_registered_twice: 'the number is registered to two legacy subscribers (the migration\'s msisdn_collision finding, confirmed ' +
    'in legacy\'s subscriber table) and legacy moved one of their wallets; mari gives the number to neither until an operator settles ' +
    'it, so it answers subscriber_not_found to the customer, recipient_not_found for a P2P recipient. Settle these before the ' +
    'cutover: until then neither registration can use mobile money',
  original_refused: 'the transaction this reverses was not moved by mari earlier in this replay (reported under its own cause), so mari ' +
    'has nothing to reverse (transaction_not_found); legacy reversed money it had moved',
});

/** What legacy's own subscriber table says of a subscriber the window moves money for, apart from what mari imported. */
export interface LegacySubscriber {
  status: string;
  /** The other legacy registrations of its number (the migration's msisdn_collision finding, confirmed in legacy). */
  twins: string[];
}

type TxnRow = { txn_id: string; ref: string; txn_type: string; debit_wallet: string; credit_wallet: string; amount: string; fee: string; currency: string; status: string; channel: string; orig_ref: string | null; created_at: string };

/**
 * The legacy source as it stood at `before` (Harare local): txn_log rows before it only, and no
 * drift phase (the live wallet balances are of now, not of then; the as-of balance is the
 * snapshot plus the history before it, which the opening and history phases book).
 */
export function sourceAsOf(source: LegacySource, before: string, phase: () => Phase | undefined): LegacySource {
  return {
    description: `${source.description} (as of ${before})`,
    count: (table) => source.count(table),
    checksums: (compared, width) => source.checksums(compared, width),
    rowsInRanges: (table, ranges, width) => source.rowsInRanges(table, ranges, width),
    rowsByKeys: (table, keys) => source.rowsByKeys(table, keys),
    sums: (query) => source.sums(query),
    batches(table, options) {
      if (table === 'wallet' && phase() === 'drift') return (async function* () {})();
      const inner = source.batches(table, options);
      if (table !== 'txn_log') return inner;
      return (async function* () {
        for await (const rows of inner) {
          const kept = rows.filter((row: Row) => (row[11] ?? '') < before);
          if (kept.length > 0) yield kept;
        }
      })();
    },
    close: () => source.close(),
  };
}

function checkLocal(text: string, what: string): string {
  if (harareLocalToMs(text) === undefined) throw new Error(`${what}: '${text}' is not a Harare local date-time (YYYY-MM-DD HH:MM:SS)`);
  return text;
}

export function loadExpectations(file: string): Expectation[] {
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((e) => e && typeof e.cause === 'string' && typeof e.reason === 'string' && (e.service === undefined || typeof e.service === 'string'))) {
    throw new Error(`${file}: expected a JSON array of {"cause", "service"?, "reason"}`);
  }
  return parsed as Expectation[];
}

/** A refusal code as a cause: the families an operator reads together. */
export function causeOfRefusal(code: string): string {
  if (code === 'insufficient_funds' || code === 'insufficient_float' || code === 'reversal_insufficient_funds') return 'insufficient_funds';
  if (code.startsWith('exceeds_') || code === 'recipient_exceeds_balance_cap') return 'limit_differs';
  // Parties only: a reversal's missing original (transaction_not_found) is no party, and keeps its own code.
  if (/^(subscriber|recipient|agent|merchant|bank)_not_found$/.test(code)) return 'unknown_party';
  if (/^(subscriber_(suspended|closed)|(recipient|agent|merchant|bank)_unavailable)$/.test(code)) return 'party_unavailable';
  if (code.startsWith('pin_')) return 'pin_refused';
  return `refused_${code}`;
}

/**
 * What legacy's subscriber table says of each subscriber (sub_id) the window moves money for: its
 * status, and the other registrations of its number. Collisions come from the migration's findings
 * and are kept only where legacy's own rows confirm the shared number, so a refusal is explained by
 * legacy's data, never by what mari imported of it.
 */
async function legacySubscribers(db: LegacyDb, store: Store, sub_ids: ReadonlySet<string>): Promise<Map<string, LegacySubscriber>> {
  const holders = new Map<string, string[]>();
  for await (const doc of store.documents(MIGRATION_FINDINGS, { tag: 'msisdn_collision' })) {
    const finding = JSON.parse(doc.value) as { sub_ids: string[] };
    for (const id of finding.sub_ids) if (sub_ids.has(id)) holders.set(id, finding.sub_ids);
  }
  const wanted = [...new Set([...sub_ids, ...[...holders.values()].flat()])].map(Number);
  const rows = new Map<string, { msisdn: string; status: string }>();
  for (let i = 0; i < wanted.length; i += SUBSCRIBERS_PER_QUERY) {
    const found = await db.query<{ sub_id: number; msisdn: string; status: string }>(
      'SELECT sub_id, msisdn, status FROM subscriber WHERE sub_id IN (?)', [wanted.slice(i, i + SUBSCRIBERS_PER_QUERY)]);
    for (const row of found) rows.set(String(row.sub_id), row);
  }
  const subscribers = new Map<string, LegacySubscriber>();
  for (const id of sub_ids) {
    const row = rows.get(id);
    if (!row) continue;
    const number = normalizeMsisdn(row.msisdn);
    const twins = (holders.get(id) ?? []).filter((other) => other !== id && number !== undefined && normalizeMsisdn(rows.get(other)?.msisdn ?? '') === number);
    subscribers.set(id, { status: row.status, twins });
  }
  return subscribers;
}

const netOf = (account: { credits_posted: bigint; debits_posted: bigint } | undefined) => (account ? account.credits_posted - account.debits_posted : 0n);
const money = (units: bigint | null) => (units === null ? null : formatDecimal(units, 2));

/** A legacy row the shadow cannot put to mari at all (a wallet the migration did not map, a type mari has no service for). */
class Unreplayable extends Error {
  constructor(readonly kind: string) {
    super(kind);
  }
}

export async function shadow(options: {
  from: string; since: string; until?: string; data_dir: string; config: Readonly<Config>; expect?: readonly Expectation[];
  onProgress?: (done: number, total: number) => void;
}): Promise<ShadowReport> {
  const since = checkLocal(options.since, '--since');
  const until = options.until === undefined ? null : checkLocal(options.until, '--until');
  // 1. The scratch copy: the migration with legacy as of the window's start.
  let phase: Phase | undefined;
  const raw = await openLegacySource({ from: options.from });
  const handle = await openLedger({ dataDir: options.data_dir, ...IMPORT_OPEN });
  const clock = { now: new Date(harareLocalToMs(since)!) };
  try {
    const imported = await new Importer({ source: sourceAsOf(raw, since, () => phase), handle, as_of_local: since, onProgress: (p) => (phase = p.phase) }).run();
    if (imported.phase !== 'done') throw new Error(`the scratch import stopped in phase ${imported.phase}`);
  } catch (error) {
    await handle.close();
    throw error;
  } finally {
    await raw.close();
  }
  // 2. The legacy identity of every wallet, from the migration's own records.
  const wallets = new Map<string, LegacyWalletRecord>();
  await handle.writer.settled();
  for await (const doc of handle.store.documents(LEGACY_ACCOUNTS)) {
    const range = JSON.parse(doc.value) as RangeDocument;
    if (range.table !== 'wallet') continue;
    for (const [id, record] of Object.entries(range.records)) wallets.set(id, record as LegacyWalletRecord);
  }
  // Mobile money on the scratch copy, its clock on each legacy row's time (limits' days are legacy's).
  const moneyAt: ModuleFactory = async ({ handle: h, config }) => MoneyModule.open(h, {
    tariff: Tariff.load(config.tariff_file === '' ? DEFAULT_TARIFF_FILE : config.tariff_file), clock: () => clock.now,
  });
  const platform = await openPlatform(handle, options.config, [moneyAt]);
  const db = await openLegacyDb(options.from);
  try {
    const mm = platform.module<MoneyModule>('money');
    const rows = await db.query<TxnRow>(
      `SELECT txn_id, ref, txn_type, debit_wallet, credit_wallet, amount, fee, currency, status, channel, orig_ref, created_at FROM txn_log
       WHERE created_at >= ? ${until === null ? '' : 'AND created_at < ?'} ORDER BY txn_id`, until === null ? [since] : [since, until]);
    // Refs the scratch copy booked before the window: the same ref in the window is a duplicate.
    const refs = [...new Set(rows.filter((r) => r.status === 'SUCCESS').map((r) => r.ref))];
    const lookups = await (handle.store as Store).lookups(refs.map(txnTransferId));
    const bookedBefore = new Set(refs.filter((ref) => lookups.transfer(txnTransferId(ref)) !== undefined));
    const sub_ids = new Set<string>();
    for (const row of rows) {
      for (const wallet of [row.debit_wallet, row.credit_wallet]) {
        const record = wallets.get(String(wallet));
        if (record?.owner_type === 'SUBSCRIBER') sub_ids.add(record.owner_ref);
      }
    }
    const subscribers = await legacySubscribers(db, handle.store as Store, sub_ids);
    const replay = new Replay(mm, { wallets, subscribers, accounts: handle.ledger.accounts, expect: options.expect ?? [], bookedBefore });
    let done = 0;
    for (const fetched of rows) {
      // The driver answers INT columns as numbers; the migration's records are keyed by text.
      const row: TxnRow = { ...fetched, txn_id: String(fetched.txn_id), debit_wallet: String(fetched.debit_wallet), credit_wallet: String(fetched.credit_wallet) };
      clock.now = new Date(harareLocalToMs(row.created_at) ?? clock.now.getTime());
      await replay.row(row);
      options.onProgress?.(++done, rows.length);
    }
    return replay.report({ source: redactUrl(options.from), since, until, rows: rows.length });
  } finally {
    await db.close();
    await platform.close();
    await handle.close();
  }
}

/** A difference's cause, with what legacy says behind it when that is known. */
type Cause = { cause: string; note?: string };

class Replay {
  /** Legacy balances (minor units) by legacy wallet id, from the scratch copy's start plus legacy's own rows. */
  private readonly legacyBalance = new Map<string, bigint>();
  private readonly pinReady = new Set<string>();
  private readonly groups = new Map<string, ShadowGroup>();
  private readonly expectedGroups = new Map<string, ShadowGroup>();
  private readonly explainedGroups = new Map<string, ShadowGroup>();
  /** SUCCESS refs of the window so far: legacy counts each ref once. */
  private readonly counted = new Set<string>();
  /** Refs legacy moved money for and mari did not in this replay, with the row and its cause: a later reversal of one has nothing to reverse. */
  private readonly refused = new Map<string, { txn_id: string; cause: string }>();
  private readonly skipped: Record<string, number> = {};
  private replayed = 0;
  private same = 0;
  private readonly wallets: ReadonlyMap<string, LegacyWalletRecord>;
  private readonly subscribers: ReadonlyMap<string, LegacySubscriber>;
  private readonly accounts: ReadonlyMap<string, { credits_posted: bigint; debits_posted: bigint }>;
  private readonly expect: readonly Expectation[];
  private readonly bookedBefore: ReadonlySet<string>;

  constructor(private readonly mm: MoneyModule, options: {
    wallets: ReadonlyMap<string, LegacyWalletRecord>; subscribers: ReadonlyMap<string, LegacySubscriber>;
    accounts: ReadonlyMap<string, { credits_posted: bigint; debits_posted: bigint }>; expect: readonly Expectation[]; bookedBefore: ReadonlySet<string>;
  }) {
    this.wallets = options.wallets;
    this.subscribers = options.subscribers;
    this.accounts = options.accounts;
    this.expect = options.expect;
    this.bookedBefore = options.bookedBefore;
  }

  /** A wallet's balance in mari: its account less what the migration put on its overdraft. */
  private mariBalance(wallet: string): bigint | null {
    const record = this.wallets.get(wallet);
    if (!record) return null;
    return netOf(this.accounts.get(record.account_id)) + netOf(this.accounts.get(record.overdraft_id));
  }

  private legacyBefore(wallet: string): bigint | null {
    if (!this.legacyBalance.has(wallet)) {
      const start = this.mariBalance(wallet);
      if (start === null) return null;
      this.legacyBalance.set(wallet, start);
    }
    return this.legacyBalance.get(wallet)!;
  }

  async row(row: TxnRow): Promise<void> {
    if (row.txn_type === 'COMMISSION') {
      this.skipped.COMMISSION = (this.skipped.COMMISSION ?? 0) + 1;
      return;
    }
    this.replayed++;
    const legacyOk = row.status === 'SUCCESS';
    // A ref legacy already counted (a retried insert, duplicate_refs): the money moved once, so
    // this row moves nothing in legacy. Counting it again put its amount and fee twice on the
    // payer's legacy balance.
    const firstBefore = legacyOk && this.bookedBefore.has(row.ref);
    const duplicate = firstBefore || (legacyOk && this.counted.has(row.ref));
    if (legacyOk) this.counted.add(row.ref);
    const moves = legacyOk && !duplicate;
    const amount = parseDecimal(row.amount, 2) ?? 0n;
    const legacyFee = parseDecimal(row.fee, 2) ?? 0n;
    const debitBefore = this.legacyBefore(row.debit_wallet);
    const creditBefore = this.legacyBefore(row.credit_wallet);
    const mariBefore = this.mariBalance(row.debit_wallet);
    if (moves && debitBefore !== null) this.legacyBalance.set(row.debit_wallet, debitBefore - amount - legacyFee);
    if (moves && creditBefore !== null) this.legacyBalance.set(row.credit_wallet, this.legacyBalance.get(row.credit_wallet)! + amount);
    let tx: MoneyTransaction | undefined;
    let code: string | undefined;
    if (firstBefore) {
      // Its first row is before the window: the scratch copy holds it as migrated history, not
      // as a request mari answered, so there is nothing to retry against.
      code = 'not_replayed';
    } else {
      try {
        tx = await this.call(row, amount);
      } catch (error) {
        if (error instanceof Unreplayable) code = `shadow_${error.kind}`;
        else if (error instanceof RequestError) code = error.code;
        else throw error;
      }
    }
    const mariAfter = this.mariBalance(row.debit_wallet);
    const legacyAfter = moves ? (debitBefore === null ? null : debitBefore - amount - legacyFee) : debitBefore;
    const difference: Omit<ShadowDifference, 'cause'> = {
      txn_id: row.txn_id, ref: row.ref, service: row.txn_type,
      legacy: { status: row.status, fee: row.fee, balance_after: money(legacyAfter) },
      mari: { ok: tx !== undefined, ...(code ? { code } : {}), fee: tx ? money(BigInt(tx.fee)) : null, balance_after: money(mariAfter) },
    };
    const b = { legacyBefore: debitBefore, legacyAfter, mariBefore, mariAfter };
    const found = duplicate ? { cause: this.causeOfDuplicate(b) } : this.causeOf(row, legacyOk, tx, code, legacyFee, b);
    if (moves && !tx && found) this.refused.set(row.ref, { txn_id: row.txn_id, cause: found.cause });
    if (found === undefined) this.same++;
    else this.add({ ...difference, ...found });
  }

  /** A duplicate row moved nothing in legacy: mari must not move anything either. */
  private causeOfDuplicate(b: { legacyBefore: bigint | null; legacyAfter: bigint | null; mariBefore: bigint | null; mariAfter: bigint | null }): string {
    return b.mariBefore !== null && b.mariBefore !== b.mariAfter ? 'balance_differs' : 'duplicate_ref';
  }

  /**
   * Why this row differs, or undefined. A balance difference counts only where it arises (the
   * change in the wallet differs), not for every later row of a wallet that differed once.
   */
  private causeOf(row: TxnRow, legacyOk: boolean, tx: MoneyTransaction | undefined, code: string | undefined, legacyFee: bigint,
    b: { legacyBefore: bigint | null; legacyAfter: bigint | null; mariBefore: bigint | null; mariAfter: bigint | null }): Cause | undefined {
    if (code?.startsWith('shadow_')) return { cause: code.slice('shadow_'.length) };
    if (legacyOk && !tx) return this.refusalCause(row, code!) ?? { cause: causeOfRefusal(code!) };
    if (!legacyOk && tx) return { cause: 'accepted_legacy_refused' };
    if (!legacyOk) return undefined; // refused on both sides (legacy keeps no reason)
    const party = this.acceptanceCause(row, tx!);
    if (party) return party;
    // A reversal's fee in mari is the original's fee given back; legacy charged none and gave none back.
    if (row.txn_type === 'REVERSAL' && legacyFee === 0n && BigInt(tx!.fee) > 0n) return { cause: 'reversal_refunds_fee' };
    if (row.txn_type !== 'REVERSAL' && BigInt(tx!.fee) !== legacyFee) return { cause: 'fee_differs' };
    if (b.legacyBefore === null || b.legacyAfter === null || b.mariBefore === null || b.mariAfter === null) return undefined;
    return b.legacyAfter - b.legacyBefore === b.mariAfter - b.mariBefore ? undefined : { cause: 'balance_differs' };
  }

  /** The legacy subscriber behind a wallet, with the side it is on, if the wallet is a subscriber's. */
  private subscriberOf(wallet: string, side: string): { record: LegacyWalletRecord; legacy: LegacySubscriber | undefined; who: string } | undefined {
    const record = this.wallets.get(wallet);
    if (record?.owner_type !== 'SUBSCRIBER') return undefined;
    return { record, legacy: this.subscribers.get(record.owner_ref), who: `${side} legacy subscriber ${record.owner_ref}` };
  }

  /**
   * A refusal legacy's own data explains, or undefined. Only where mari's code is the one the
   * explanation names, for the party the code is about (subscriber_*: the customer, who receives
   * in cash-in and bank-in; recipient_*: a P2P's recipient).
   */
  private refusalCause(row: TxnRow, code: string): Cause | undefined {
    if (row.txn_type === 'REVERSAL' && code === 'transaction_not_found' && row.orig_ref !== null) {
      const original = this.refused.get(row.orig_ref);
      if (original) return { cause: 'original_refused', note: `reverses txn ${original.txn_id} ${row.orig_ref}, which mari did not move in this replay: ${original.cause}` };
    }
    const receives = row.txn_type === 'CASHIN' || row.txn_type === 'BANK_IN';
    const side = code.startsWith('recipient_') ? (row.txn_type === 'P2P' ? this.subscriberOf(row.credit_wallet, 'recipient') : undefined)
      : code.startsWith('subscriber_') ? this.subscriberOf(receives ? row.credit_wallet : row.debit_wallet, receives ? 'payee' : 'payer') : undefined;
    if (!side?.legacy) return undefined;
    const { legacy, who } = side;
    const notFound = code === 'subscriber_not_found' || code === 'recipient_not_found';
    if (legacy.twins.length > 0 && notFound) return { cause: 'number_registered_twice', note: `${who}'s number is also legacy subscriber ${legacy.twins.join(', ')}'s` };
    if (legacy.status === 'SUSPENDED' && (code === 'subscriber_suspended' || code === 'recipient_unavailable')) return { cause: 'suspended_in_legacy', note: `${who} is SUSPENDED in legacy` };
    if (legacy.status === 'CLOSED' && (notFound || code === 'subscriber_closed')) return { cause: 'closed_in_legacy', note: `${who} is CLOSED in legacy` };
    return undefined;
  }

  /**
   * What mari accepted must be between the parties legacy moved money for (a number resolving to
   * another registration would move someone else's money: the debit balance alone may not show
   * it), and never for a party mari must refuse (the other side of the explained refusals).
   */
  private acceptanceCause(row: TxnRow, tx: MoneyTransaction): Cause | undefined {
    const sides = [this.subscriberOf(row.debit_wallet, 'paying'), this.subscriberOf(row.credit_wallet, 'paid')];
    for (const [i, side] of sides.entries()) {
      if (side && tx.payer_id !== side.record.party_id && tx.payee_id !== side.record.party_id) {
        const between = `${tx.payer_id ?? 'mari'} and ${tx.payee_id ?? 'mari'}`;
        return { cause: 'party_differs', note: `legacy ${i === 0 ? 'debited' : 'credited'} legacy subscriber ${side.record.owner_ref}'s wallet; mari moved money between ${between}` };
      }
    }
    // A reversal is the operator's: mari reverses whatever the parties' status.
    if (row.txn_type === 'REVERSAL') return undefined;
    for (const side of sides) {
      const legacy = side?.legacy;
      if (!legacy) continue;
      if (legacy.twins.length > 0) return { cause: 'accepted_unavailable_party', note: `${side.who}'s number is also legacy subscriber ${legacy.twins.join(', ')}'s` };
      if (legacy.status === 'SUSPENDED' || legacy.status === 'CLOSED') return { cause: 'accepted_unavailable_party', note: `${side.who} is ${legacy.status} in legacy` };
    }
    return undefined;
  }

  private party(wallet: string): LegacyWalletRecord {
    const record = this.wallets.get(wallet);
    if (!record) throw new Unreplayable('unmapped_wallet');
    return record;
  }

  /** The number to put to mari; a wallet that has none was never asked of mari (not mari's refusal). */
  private msisdn(wallet: string): string {
    const record = this.party(wallet);
    if (record.owner_type !== 'SUBSCRIBER' || !record.msisdn) throw new Unreplayable('no_number');
    return record.msisdn;
  }

  /**
   * Legacy PINs are not known (MD5 hashes of them are migrated), and the customer services have
   * no path without a PIN: the scratch copy resets each payer's PIN once, as an operator does
   * (unlockPin reset), and sets a known one. The PIN step itself is not what the shadow compares.
   */
  private async pin(msisdn: string): Promise<string> {
    if (this.pinReady.has(msisdn)) return SHADOW_PIN;
    try {
      try {
        await this.mm.unlockPin({ msisdn, reset: true });
      } catch (error) {
        if (!(error instanceof RequestError) || error.code !== 'pin_not_set') throw error;
      }
      await this.mm.setPin({ msisdn, pin: SHADOW_PIN });
      this.pinReady.add(msisdn);
    } catch (error) {
      // The number resolves to no active subscriber (suspended, closed, registered twice): the
      // service itself is asked and its refusal reported, not this set-up's.
      if (!(error instanceof RequestError)) throw error;
    }
    return SHADOW_PIN;
  }

  private async call(row: TxnRow, amount: bigint): Promise<MoneyTransaction> {
    const base = { amount, currency: row.currency, reference: row.ref };
    const payer = async () => {
      const from = this.msisdn(row.debit_wallet);
      return { from, pin: await this.pin(from) };
    };
    const code = (wallet: string) => this.party(wallet).owner_ref;
    switch (row.txn_type) {
      case 'P2P': return this.mm.sendMoney({ ...base, ...(await payer()), to: this.msisdn(row.credit_wallet) });
      case 'CASHIN': return this.mm.cashIn({ ...base, agent: code(row.debit_wallet), to: this.msisdn(row.credit_wallet) });
      case 'CASHOUT': {
        const agent = code(row.credit_wallet);
        await this.mm.cashOut({ ...base, ...(await payer()), agent });
        return this.mm.completeCashOut({ agent, reference: row.ref });
      }
      case 'MERCHANT': return this.mm.payMerchant({ ...base, ...(await payer()), merchant: code(row.credit_wallet) });
      case 'BANK_IN': return this.mm.bankToWallet({ ...base, bank: code(row.debit_wallet), to: this.msisdn(row.credit_wallet) });
      case 'BANK_OUT': return this.mm.walletToBank({ ...base, ...(await payer()), bank: code(row.credit_wallet) });
      case 'AIRTIME': return this.mm.buyAirtime({ ...base, ...(await payer()) });
      case 'REVERSAL': return this.mm.reverse({ original: row.orig_ref ?? '', reason: `legacy reversal ${row.ref}`, reference: row.ref });
      default: throw new Unreplayable('unknown_service');
    }
  }

  private matching(difference: ShadowDifference): Expectation | undefined {
    return this.expect.find((e) => e.cause === difference.cause && (e.service === undefined || e.service === difference.service));
  }

  private add(difference: ShadowDifference): void {
    const explained = EXPLAINED[difference.cause];
    const expected = explained === undefined ? this.matching(difference) : undefined;
    const groups = explained !== undefined ? this.explainedGroups : expected ? this.expectedGroups : this.groups;
    const key = expected ? `${expected.cause}/${expected.service ?? '*'}` : difference.cause;
    const reason = explained ?? expected?.reason;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { cause: difference.cause, count: 0, services: {}, examples: [], ...(reason !== undefined ? { reason } : {}) }));
    group.count++;
    group.services[difference.service] = (group.services[difference.service] ?? 0) + 1;
    if (group.examples.length < EXAMPLES_PER_CAUSE) group.examples.push(difference);
  }

  report(head: { source: string; since: string; until: string | null; rows: number }): ShadowReport {
    const sorted = (groups: Map<string, ShadowGroup>) => [...groups.values()].sort((a, b) => b.count - a.count || a.cause.localeCompare(b.cause));
    const differences = sorted(this.groups);
    return {
      ...head, replayed: this.replayed, skipped: this.skipped, same: this.same, differences, expected: sorted(this.expectedGroups),
      explained: sorted(this.explainedGroups), ok: differences.length === 0,
    };
  }
}

export function shadowSummary(report: ShadowReport): string[] {
  const lines = [`Shadow replay of ${report.source} from ${report.since}${report.until ? ` to ${report.until}` : ''} (Harare): ${report.rows} legacy rows, ${report.replayed} replayed, ` +
    `${report.same} the same` + Object.entries(report.skipped).map(([t, n]) => `, ${n} ${t} not replayed (mari books it inside the transaction)`).join('')];
  const print = (label: string) => (group: ShadowGroup) => {
    lines.push(`  ${group.cause}: ${group.count} (${Object.entries(group.services).map(([s, n]) => `${s} ${n}`).join(', ')})${group.reason ? ` ${label}: ${group.reason}` : ''}`);
    for (const e of group.examples.slice(0, 3)) {
      const mari = e.mari.ok ? 'ok' : e.mari.code === 'not_replayed' ? 'not replayed' : `refused ${e.mari.code}`;
      lines.push(`    txn ${e.txn_id} ${e.ref} ${e.service}: legacy ${e.legacy.status} fee ${e.legacy.fee} balance ${e.legacy.balance_after ?? '?'}; ` +
        `mari ${mari}${e.mari.fee !== null ? ` fee ${e.mari.fee}` : ''} balance ${e.mari.balance_after ?? '?'}${e.note ? ` (${e.note})` : ''}`);
    }
  };
  lines.push(report.differences.length === 0 ? 'No undeclared difference.' : 'Differences:');
  report.differences.forEach(print('expected'));
  if (report.expected.length > 0) lines.push('Expected (declared):');
  report.expected.forEach(print('expected'));
  if (report.explained.length > 0) lines.push('Explained (known legacy quirks):');
  report.explained.forEach(print('because'));
  return lines;
}
