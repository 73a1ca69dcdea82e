// Parties: who holds accounts. Subscribers (keyed by their own id, reached by MSISDN), agents,
// merchants, banks and mari's own system party. Stored as documents in `parties` (tag: the
// MSISDN for subscribers and agents, the short code for merchants and banks), loaded into a
// directory in memory at start, and written only through writer commands so that a party and
// its accounts are created in one commit. The migration writes the same documents.
import type { StoredDocument } from '../store/store.js';
import type { Store } from '../store/store.js';
import type { DocumentWrite } from '../store/store.js';
import type { Msisdn } from './msisdn.js';

export const PARTIES = 'parties';

export type PartyKind = 'subscriber' | 'agent' | 'merchant' | 'bank' | 'system';
export type PartyStatus = 'active' | 'suspended' | 'closed';
export type Language = 'en' | 'sn' | 'nd';
export const LANGUAGES: readonly Language[] = ['en', 'sn', 'nd'];

export interface Party {
  /** mari's id for the party, never its MSISDN (numbers are recycled and mistyped). */
  id: string;
  kind: PartyKind;
  /** Display name, UTF-8 as the customer wrote it. */
  name: string;
  status: PartyStatus;
  /** Subscribers and agents (an agent's own line); null otherwise. */
  msisdn: Msisdn | null;
  /** Subscribers: 0 unregistered, 1 basic, 2 full. Others: 2. */
  kyc_tier: 0 | 1 | 2;
  language: Language;
  /** Agent, merchant or bank short code; null for subscribers. */
  code: string | null;
  /** Where the party came from in a migrated platform (e.g. { table: 'subscriber', id: '1234' }). */
  legacy: { table: string; id: string } | null;
  /** ISO 8601 UTC. */
  created_at: string;
}

export function partyDocument(party: Party): DocumentWrite {
  return { collection: PARTIES, key: party.id, tag: party.msisdn ?? party.code, value: JSON.stringify(party) };
}

export function partyFromDocument(doc: Pick<StoredDocument, 'value'>): Party {
  return JSON.parse(doc.value) as Party;
}

/**
 * Every party in memory, by id, by MSISDN and by short code. An MSISDN held by two parties
 * (legacy double registrations) resolves to neither until an operator settles it: money must
 * never reach the wrong person because two records share a number.
 */
export class PartyDirectory {
  private readonly byId = new Map<string, Party>();
  private readonly byMsisdn = new Map<string, string[]>();
  private readonly byCode = new Map<string, string>();

  static async load(store: Store): Promise<PartyDirectory> {
    const directory = new PartyDirectory();
    for await (const doc of store.documents(PARTIES)) directory.set(partyFromDocument(doc));
    return directory;
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Party | undefined {
    return this.byId.get(id);
  }

  /**
   * The one party holding this MSISDN (closed parties don't hold one), or undefined if none or
   * several. A number two migrated registrations share is held by neither, whatever their
   * status: legacy let a closed registration go on transacting on the number, so the other
   * registration is no more the number's owner than it is (closing frees a number only for
   * registrations made in mari).
   */
  byNumber(msisdn: Msisdn, kind: PartyKind = 'subscriber'): Party | undefined {
    const all = (this.byMsisdn.get(msisdn) ?? []).map((id) => this.byId.get(id)!).filter((p) => p.kind === kind);
    if (all.filter((p) => p.legacy !== null).length > 1) return undefined;
    const holders = all.filter((p) => p.status !== 'closed');
    return holders.length === 1 ? holders[0] : undefined;
  }

  /** Every party of any status that has held this MSISDN: for support and for collision reports. */
  allByNumber(msisdn: Msisdn): Party[] {
    return (this.byMsisdn.get(msisdn) ?? []).map((id) => this.byId.get(id)!);
  }

  byShortCode(code: string): Party | undefined {
    const id = this.byCode.get(code);
    return id === undefined ? undefined : this.byId.get(id);
  }

  values(): IterableIterator<Party> {
    return this.byId.values();
  }

  /** Call inside the command that writes partyDocument(party), so memory and disk agree. */
  set(party: Party): void {
    const previous = this.byId.get(party.id);
    if (previous?.msisdn && previous.msisdn !== party.msisdn) {
      const ids = this.byMsisdn.get(previous.msisdn)!.filter((id) => id !== party.id);
      if (ids.length > 0) this.byMsisdn.set(previous.msisdn, ids);
      else this.byMsisdn.delete(previous.msisdn);
    }
    if (previous?.code && previous.code !== party.code) this.byCode.delete(previous.code);
    this.byId.set(party.id, party);
    if (party.msisdn) {
      const ids = this.byMsisdn.get(party.msisdn) ?? [];
      if (!ids.includes(party.id)) ids.push(party.id);
      this.byMsisdn.set(party.msisdn, ids);
    }
    if (party.code) this.byCode.set(party.code, party.id);
  }
}
