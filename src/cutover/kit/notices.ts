// Maintenance notices: one campaign per window, queued into the outbox (the SMS channel sends
// them through Kannel and records delivery reports on each message) at a configured rate, in
// each subscriber's language, with a reminder before the start and re-sends to the undelivered.
// Message ids are deterministic (campaign, phase, party, attempt), and a campaign's id is its
// window, so running `notify` twice texts nobody twice. Reach is read back from the outbox.
import { RequestError } from '../../errors/registry.js';
import { CURRENCIES, walletId } from '../../products/accounts.js';
import { OUTBOX, outboxDocument, type OutboxMessage } from '../../products/outbox.js';
import { PARTIES, partyFromDocument, type Language, type Party } from '../../products/parties.js';
import type { Transfer } from '../../ledger/types.js';
import type { LedgerHandle } from '../../store/open.js';
import { harareText } from '../../time.js';

export const NOTICES = 'notice_campaigns';
/** Messages queued in one writer command: bounded so a big campaign never makes one huge commit. */
const QUEUE_PER_COMMAND_MAX = 2000;
const NEVER_REACHED_LISTED_MAX = 10_000;

/**
 * Who is texted: active subscribers; active ones with a transaction in the last N days
 * (`recent`, with `active_within_days`); or every subscriber not closed.
 */
export type Audience = 'active' | 'recent' | 'all';
export const AUDIENCES: readonly Audience[] = ['active', 'recent', 'all'];
export const ACTIVE_WITHIN_DAYS_MAX = 3650;
/** History entries read per page while looking for a wallet's last transaction. */
const ACTIVITY_PAGE = 8;
type Phase = 'announce' | 'reminder';

export interface Campaign {
  id: string;
  window: { starts_at: string; ends_at: string };
  audience: Audience;
  /** `recent` only: how many days back a transaction counts, and the moment that makes (ISO, from created_at). */
  active_within_days?: number;
  active_since?: string;
  rate_per_s: number;
  reminder_before_s: number;
  resend_after_s: number;
  attempts_max: number;
  by: string;
  created_at: string;
  /** Last party id queued per phase (keyset cursor over `parties`), and whether the sweep finished. */
  progress: Record<Phase, { after: string | null; done: boolean; queued: number }>;
  last_resend_at: string | null;
}

export interface ReachReport {
  campaign: string;
  targeted: number;
  sent: number;
  delivered: number;
  pending: number;
  failed_by_reason: Record<string, number>;
  never_reached: { msisdn: string; party_id: string; reason: string }[];
  reach: number;
  reminders_queued: number;
}

const TEXTS: Readonly<Record<Language, (from: string, to: string) => string>> = {
  en: (from, to) => `Planned maintenance from ${from} to ${to} (Harare time): sending money, airtime, bundles and payments will be unavailable. Balance enquiries will work. We will SMS you when we are back.`,
  sn: (from, to) => `Kugadzirisa kwakarongwa kubva ${from} kusvika ${to} (nguva yeHarare): kutumira mari, airtime, mabundles nekubhadhara hazvishande. Munogona kuona mari yenyu. Tichakutumirai SMS tadzoka.`,
  nd: (from, to) => `Ukulungiswa okuhleliweyo kusuka ${from} kuze kube ${to} (isikhathi seHarare): ukuthumela imali, airtime, amabundles lokubhadala akuzusebenza. Lingabona imali yenu. Sizalithumelela SMS sesibuyile.`,
};
const REMINDER: Readonly<Record<Language, string>> = { en: 'Reminder: ', sn: 'Chiyeuchidzo: ', nd: 'Isikhumbuzo: ' };

export function noticeText(options: { language: Language; window: Campaign['window']; phase: Phase }): string {
  const text = TEXTS[options.language](harareText(new Date(options.window.starts_at)), harareText(new Date(options.window.ends_at)));
  return options.phase === 'reminder' ? REMINDER[options.language] + text : text;
}

export function campaignId(window: Campaign['window']): string {
  return `mnt-${Date.parse(window.starts_at).toString(36)}-${Date.parse(window.ends_at).toString(36)}`;
}

function messageId(options: { campaign: string; phase: Phase; party: string; attempt: number }): string {
  return `${options.campaign}:${options.phase === 'announce' ? 'a' : 'r'}:${options.party}:${options.attempt}`;
}

function inAudience(party: Party, audience: Audience): boolean {
  if (party.kind !== 'subscriber' || party.msisdn === null || party.status === 'closed') return false;
  return audience === 'all' || party.status === 'active';
}

function checkAudience(audience: unknown, days: unknown): void {
  const wholeDays = typeof days === 'number' && Number.isInteger(days) && days >= 1 && days <= ACTIVE_WITHIN_DAYS_MAX;
  const ok = audience === 'recent' ? wholeDays : AUDIENCES.includes(audience as Audience) && days === undefined;
  if (!ok) throw new RequestError('notice_audience_invalid', { audience, active_within_days: days ?? null });
}

/**
 * When a wallet transfer was a customer's transaction, in ms: a migrated legacy row (mig:txn,
 * mig:fee) at its legacy time, kept in user_data; anything mari did itself at its ledger time.
 * The migration's other transfers (opening balances, drift, overdrafts) are no one's activity.
 */
export function activityAt(transfer: Transfer): number | undefined {
  if (transfer.id.startsWith('mig:txn:') || transfer.id.startsWith('mig:fee:')) {
    const legacy = /(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$/.exec(transfer.user_data ?? '')?.[1];
    return legacy === undefined ? undefined : Date.parse(legacy);
  }
  if (transfer.id.startsWith('mig:')) return undefined;
  return Number(transfer.timestamp / 1_000_000n);
}

export class Notices {
  private readonly campaigns = new Map<string, Campaign>();
  private ticking: Promise<unknown> = Promise.resolve();

  private constructor(private readonly handle: LedgerHandle) {}

  static async open(handle: LedgerHandle): Promise<Notices> {
    const notices = new Notices(handle);
    for await (const doc of handle.store.documents(NOTICES)) {
      const campaign = JSON.parse(doc.value) as Campaign;
      notices.campaigns.set(campaign.id, campaign);
    }
    return notices;
  }

  get(id: string): Campaign {
    const campaign = this.campaigns.get(id);
    if (campaign === undefined) throw new RequestError('notice_campaign_not_found', { id });
    return campaign;
  }

  list(): Campaign[] {
    return [...this.campaigns.values()];
  }

  /** Starts a campaign for a window, or answers the existing one: idempotent. */
  async start(input: Omit<Campaign, 'id' | 'created_at' | 'progress' | 'last_resend_at' | 'active_since'>, now = new Date()): Promise<{ campaign: Campaign; created: boolean }> {
    const starts = Date.parse(input.window.starts_at);
    const ends = Date.parse(input.window.ends_at);
    if (!Number.isFinite(starts) || !Number.isFinite(ends) || starts >= ends) throw new RequestError('cutover_window_invalid', input.window);
    checkAudience(input.audience, input.active_within_days);
    const window = { starts_at: new Date(starts).toISOString(), ends_at: new Date(ends).toISOString() };
    const id = campaignId(window);
    const existing = this.campaigns.get(id);
    if (existing) return { campaign: existing, created: false };
    const since = input.active_within_days === undefined ? {} : { active_since: new Date(now.getTime() - input.active_within_days * 86_400_000).toISOString() };
    const campaign: Campaign = {
      ...input, ...since, window, id, created_at: now.toISOString(), last_resend_at: null,
      progress: { announce: { after: null, done: false, queued: 0 }, reminder: { after: null, done: false, queued: 0 } },
    };
    await this.save(campaign, []);
    return { campaign, created: true };
  }

  /**
   * One step of every campaign: queue the next announcements at the campaign's rate, the
   * reminders once their time has come, and re-sends to the undelivered. `elapsed_s` is the time
   * since the previous tick (the rate's budget). Called by a timer; tests call it directly.
   */
  tick(options: { now?: Date; elapsed_s: number }): Promise<number> {
    // One tick at a time: two sweeps from one cursor would queue the same messages twice.
    const next = this.ticking.then(() => this.tickOnce(options));
    this.ticking = next.catch(() => undefined);
    return next;
  }

  private async tickOnce(options: { now?: Date; elapsed_s: number }): Promise<number> {
    const now = options.now ?? new Date();
    let queued = 0;
    for (const campaign of this.campaigns.values()) {
      let budget = Math.max(1, Math.floor(campaign.rate_per_s * options.elapsed_s));
      if (Date.parse(campaign.window.starts_at) <= now.getTime()) continue; // the window has begun: notices are late news
      const spent = await this.sweep(campaign, { phase: 'announce', budget, now });
      queued += spent;
      budget -= spent;
      const reminderAt = Date.parse(campaign.window.starts_at) - campaign.reminder_before_s * 1000;
      if (campaign.progress.announce.done && now.getTime() >= reminderAt && budget > 0) {
        const reminded = await this.sweep(campaign, { phase: 'reminder', budget, now });
        queued += reminded;
        budget -= reminded;
      }
      if (budget > 0) queued += await this.resend(campaign, { budget, now });
    }
    return queued;
  }

  /** Queues the phase's first attempt for the next parties in id order, up to the budget. */
  private async sweep(campaign: Campaign, options: { phase: Phase; budget: number; now: Date }): Promise<number> {
    const progress = campaign.progress[options.phase];
    let queued = 0;
    while (!progress.done && queued < options.budget) {
      const limit = Math.min(QUEUE_PER_COMMAND_MAX, options.budget - queued);
      let after = progress.after;
      let seen = 0;
      const candidates: Party[] = [];
      for await (const doc of this.handle.store.documents(PARTIES, { ...(after === null ? {} : { after }), limit })) {
        seen++;
        after = doc.key;
        const party = partyFromDocument(doc);
        if (inAudience(party, campaign.audience)) candidates.push(party);
      }
      const audience = campaign.audience === 'recent' ? await this.activeSince(candidates, Date.parse(campaign.active_since!)) : candidates;
      const messages = audience.map((party) => this.message({ campaign, phase: options.phase, party, attempt: 1, now: options.now }));
      const next: Campaign = {
        ...campaign,
        progress: { ...campaign.progress, [options.phase]: { after, done: seen < limit, queued: progress.queued + messages.length } },
      };
      await this.save(next, messages);
      Object.assign(campaign, next);
      Object.assign(progress, next.progress[options.phase]);
      queued += Math.max(1, seen); // parties looked at count against the budget, so a sparse audience still ends
      if (seen === 0) break;
    }
    return queued;
  }

  /** The parties with a transaction on one of their wallets at or after `since` (ms), in order. */
  private async activeSince(parties: readonly Party[], since: number): Promise<Party[]> {
    const active = await Promise.all(parties.map(async (party) => {
      for (const currency of CURRENCIES) {
        const last = await this.lastActivity(walletId(party.id, currency));
        if (last !== undefined && last >= since) return true;
      }
      return false;
    }));
    return parties.filter((_, i) => active[i]);
  }

  /** The wallet's last transaction (activityAt), newest first past the migration's own transfers. */
  private async lastActivity(account_id: string): Promise<number | undefined> {
    const account = this.handle.ledger.accounts.get(account_id);
    if (account === undefined) return undefined;
    let before: bigint | undefined;
    do {
      const page = await this.handle.store.accountHistory(account, { limit: ACTIVITY_PAGE, ...(before === undefined ? {} : { before }) });
      for (const entry of page.entries) {
        const at = activityAt(entry.transfer);
        if (at !== undefined) return at;
      }
      before = page.next_before;
    } while (before !== undefined);
    return undefined;
  }

  private message(options: { campaign: Campaign; phase: Phase; party: Party; attempt: number; now: Date }): OutboxMessage {
    const { campaign, phase, party, attempt, now } = options;
    return {
      id: messageId({ campaign: campaign.id, phase, party: party.id, attempt }), msisdn: party.msisdn!, language: party.language,
      text: noticeText({ language: party.language, window: campaign.window, phase }), kind: 'maintenance', campaign: campaign.id,
      state: 'queued', attempts: 0, created_at: now.toISOString(),
    };
  }

  /** Announcements that failed, or were sent and never confirmed, get another attempt after the delay. */
  private async resend(campaign: Campaign, options: { budget: number; now: Date }): Promise<number> {
    const delay_ms = campaign.resend_after_s * 1000;
    if (campaign.last_resend_at !== null && options.now.getTime() - Date.parse(campaign.last_resend_at) < delay_ms / 2) return 0;
    const latest = await this.latestAttempts(campaign, 'announce');
    const messages: OutboxMessage[] = [];
    for (const [party_id, message] of latest) {
      if (messages.length >= Math.min(options.budget, QUEUE_PER_COMMAND_MAX)) break;
      const attempt = Number(message.id.slice(message.id.lastIndexOf(':') + 1));
      if (attempt >= campaign.attempts_max || message.state === 'delivered' || message.state === 'queued') continue;
      const since_ms = options.now.getTime() - Date.parse(message.updated_at ?? message.created_at);
      if (since_ms < delay_ms) continue;
      const party = { id: party_id, msisdn: message.msisdn, language: message.language } as Party;
      messages.push(this.message({ campaign, phase: 'announce', party, attempt: attempt + 1, now: options.now }));
    }
    const next = { ...campaign, last_resend_at: options.now.toISOString() };
    await this.save(next, messages);
    Object.assign(campaign, next);
    return messages.length;
  }

  /** Each party's latest attempt of a phase, from the outbox (attempts sort in key order up to 9). */
  private async latestAttempts(campaign: Campaign, phase: Phase): Promise<Map<string, OutboxMessage>> {
    const latest = new Map<string, OutboxMessage>();
    const prefix = `${campaign.id}:${phase === 'announce' ? 'a' : 'r'}:`;
    for await (const doc of this.handle.store.documents(OUTBOX, { prefix })) {
      const message = JSON.parse(doc.value) as OutboxMessage;
      const rest = message.id.slice(prefix.length);
      const party = rest.slice(0, rest.lastIndexOf(':'));
      const previous = latest.get(party);
      // A delivered attempt stays the party's answer even if a later re-send is still in flight.
      if (previous?.state === 'delivered') continue;
      latest.set(party, message);
    }
    return latest;
  }

  /** Reach from delivery reports: per party, delivered if any attempt was. */
  async reach(id: string): Promise<ReachReport> {
    const campaign = this.get(id);
    const latest = await this.latestAttempts(campaign, 'announce');
    const report: ReachReport = {
      campaign: id, targeted: latest.size, sent: 0, delivered: 0, pending: 0, failed_by_reason: {}, never_reached: [], reach: 0,
      reminders_queued: campaign.progress.reminder.queued,
    };
    for (const [party_id, message] of latest) {
      if (message.state !== 'queued') report.sent++;
      if (message.state === 'delivered') report.delivered++;
      else if (message.state === 'failed') {
        const reason = message.reason ?? 'unknown';
        report.failed_by_reason[reason] = (report.failed_by_reason[reason] ?? 0) + 1;
        if (report.never_reached.length < NEVER_REACHED_LISTED_MAX) report.never_reached.push({ msisdn: message.msisdn, party_id, reason });
      } else report.pending++;
    }
    report.reach = report.targeted === 0 ? 0 : report.delivered / report.targeted;
    return report;
  }

  private async save(campaign: Campaign, messages: readonly OutboxMessage[]): Promise<void> {
    await this.handle.writer.execute({
      run: (ctx) => {
        for (const message of messages) ctx.put(outboxDocument(message));
        ctx.put({ collection: NOTICES, key: campaign.id, value: JSON.stringify(campaign) });
      },
    });
    this.campaigns.set(campaign.id, campaign);
  }
}
