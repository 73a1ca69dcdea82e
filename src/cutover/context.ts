// What every phase of an import needs to know about the legacy platform as a whole: each
// subscriber's number (normalised) and status, the numbers registered twice, the roles of agent,
// merchant and bank wallets, and the mari account of every legacy wallet. Read from the source
// at the start of every run (no writes), so a resumed or delta run knows it without replaying
// what was imported. Memory is a few small entries per subscriber and wallet, in the same
// proportion as the ledger's own accounts.
import { CURRENCIES, AccountCode, systemId, walletId, type Currency } from '../products/accounts.js';
import { normalizeMsisdn, type Msisdn } from '../products/msisdn.js';
import { agentCommissionId, agentFloatId, bankSettlementId, merchantTillId, partyIds } from './formats.js';
import type { LegacySource, Row } from './source.js';

export interface OwnerRole {
  party_id: string;
  /** The account code of the wallet's role. */
  code: number;
  account_id: string;
}

export interface LegacyContext {
  msisdnOf: Map<number, Msisdn | null>;
  statusOf: Map<number, string>;
  /** Numbers held by two or more subscribers, with their sub_ids in order. */
  collisions: Map<Msisdn, number[]>;
  /** Subscribers whose number is held by another too. */
  collided: Set<number>;
  /** Raw numbers that are not valid mobile numbers, by sub_id. */
  invalidMsisdn: Map<number, string>;
  agentOfFloat: Map<number, string>;
  agentOfCommission: Map<number, string>;
  agents: Row[];
  merchants: Row[];
  banks: Row[];
  /** wallet_id → mari account id. */
  accountOf: Map<number, string>;
  /** wallet_id → currency, for wallets whose currency mari knows. */
  currencyOf: Map<number, Currency>;
  /** Legacy wallets that could not be mapped (unknown owner or currency), with the reason. */
  unmapped: Map<number, string>;
  rows: Record<string, number>;
}

/**
 * Reads the context from the source. With `after` (a delta), only subscribers and wallets past
 * the keys already imported are read: the rest is known from mari's own legacy records.
 */
export async function loadContext(source: LegacySource, after: { subscriber?: number; wallet?: number } = {}): Promise<LegacyContext> {
  const context: LegacyContext = {
    msisdnOf: new Map(), statusOf: new Map(), collisions: new Map(), collided: new Set(), invalidMsisdn: new Map(),
    agentOfFloat: new Map(), agentOfCommission: new Map(), agents: [], merchants: [], banks: [],
    accountOf: new Map(), currencyOf: new Map(), unmapped: new Map(), rows: {},
  };
  const firstHolder = new Map<string, number>();
  let read = 0;
  for await (const batch of source.batches('subscriber', { after: after.subscriber, batch_rows: 10_000 })) {
    for (const row of batch) {
      const id = Number(row[0]);
      const raw = row[1];
      const msisdn = normalizeMsisdn(raw ?? '') ?? null;
      context.msisdnOf.set(id, msisdn);
      context.statusOf.set(id, row[3] ?? '');
      if (!msisdn) {
        context.invalidMsisdn.set(id, raw ?? '');
        continue;
      }
      const first = firstHolder.get(msisdn);
      if (first === undefined) firstHolder.set(msisdn, id);
      else {
        const holders = context.collisions.get(msisdn) ?? [first];
        holders.push(id);
        context.collisions.set(msisdn, holders);
        context.collided.add(first).add(id);
      }
    }
    read += batch.length;
  }
  context.rows.subscriber = read;
  firstHolder.clear();
  context.agents = await all(source, 'agent');
  context.merchants = await all(source, 'merchant');
  context.banks = await all(source, 'bank');
  for (const [code, , , float, commission] of context.agents) {
    context.agentOfFloat.set(Number(float), code!);
    context.agentOfCommission.set(Number(commission), code!);
  }
  read = 0;
  for await (const batch of source.batches('wallet', { after: after.wallet, batch_rows: 10_000 })) {
    // A delta reads few wallets, some of subscribers it has not read: those are fetched by key.
    if (after.subscriber !== undefined) await addWallets(context, source, batch);
    else mapWallets(context, batch);
    read += batch.length;
  }
  context.rows.wallet = read;
  return context;
}

/**
 * Wallets a delta meets that it has not read (a transaction's, a range read again): mapped as
 * loadContext maps them, their owning subscribers fetched by key when not known yet.
 */
export async function addWallets(context: LegacyContext, source: LegacySource, rows: readonly Row[]): Promise<void> {
  const owners = rows.filter((row) => row[1] === 'SUBSCRIBER' && !context.statusOf.has(Number(row[2]))).map((row) => Number(row[2]));
  if (owners.length > 0) {
    const found: Row[] = [];
    for await (const row of source.rowsByKeys('subscriber', owners)) found.push(row);
    addSubscribers(context, found);
  }
  mapWallets(context, rows);
}

function mapWallets(context: LegacyContext, rows: readonly Row[]): void {
  for (const row of rows) {
    const id = Number(row[0]);
    const role = walletRole(context, row);
    if (typeof role === 'string') context.unmapped.set(id, role);
    else {
      context.accountOf.set(id, role.account_id);
      context.currencyOf.set(id, row[3] as Currency);
    }
  }
}

async function all(source: LegacySource, table: 'agent' | 'merchant' | 'bank'): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const batch of source.batches(table)) rows.push(...batch);
  return rows;
}

/** Adds subscribers read by key (a delta meeting a subscriber it did not read at the start). */
export function addSubscribers(context: LegacyContext, rows: readonly Row[]): void {
  for (const row of rows) {
    const id = Number(row[0]);
    context.msisdnOf.set(id, normalizeMsisdn(row[1] ?? '') ?? null);
    context.statusOf.set(id, row[3] ?? '');
  }
}

/** The party and mari account of a legacy wallet row, or why it has none. */
export function walletRole(context: LegacyContext, row: Row): OwnerRole | string {
  const [wallet_id, owner_type, owner_ref, currency] = row as string[];
  if (!(CURRENCIES as readonly string[]).includes(currency)) return `unknown currency '${currency}'`;
  const cur = currency as Currency;
  const id = Number(wallet_id);
  switch (owner_type) {
    case 'SUBSCRIBER': {
      if (!context.statusOf.has(Number(owner_ref))) return `owner subscriber ${owner_ref} does not exist`;
      const party_id = partyIds.subscriber(owner_ref);
      return { party_id, code: AccountCode.subscriber_wallet, account_id: walletId(party_id, cur) };
    }
    case 'AGENT': {
      const party_id = partyIds.agent(owner_ref);
      if (context.agentOfFloat.get(id) === owner_ref) return { party_id, code: AccountCode.agent_float, account_id: agentFloatId(party_id, cur) };
      if (context.agentOfCommission.get(id) === owner_ref) return { party_id, code: AccountCode.agent_commission, account_id: agentCommissionId(party_id, cur) };
      return `agent wallet ${wallet_id} is neither ${owner_ref}'s float nor its commission wallet`;
    }
    case 'MERCHANT': {
      const party_id = partyIds.merchant(owner_ref);
      return { party_id, code: AccountCode.merchant_till, account_id: merchantTillId(party_id, cur) };
    }
    case 'BANK': {
      const party_id = partyIds.bank(owner_ref);
      return { party_id, code: AccountCode.bank_settlement, account_id: bankSettlementId(party_id, cur) };
    }
    case 'SYSTEM': {
      if (owner_ref === 'FEES') return { party_id: partyIds.system, code: AccountCode.system_fees, account_id: systemId('fees', cur) };
      if (owner_ref === 'AIRTIME_SALES') return { party_id: partyIds.system, code: AccountCode.airtime_sales, account_id: systemId('airtime_sales', cur) };
      return `unknown system wallet '${owner_ref}'`;
    }
    default:
      return `unknown owner type '${owner_type}'`;
  }
}
