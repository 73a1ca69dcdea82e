// Maintenance mode: per-service switches, persisted as documents (`maintenance`, keyed by the
// service or `all`) and held in memory so the check on every request costs a map lookup. While a
// service is switched off its writes are refused with `maintenance`, naming the planned end in
// Harare time; reads (balance enquiries, statements) are never refused. The USSD channel asks
// the same object for the text to show (see ussdText).
import { RequestError } from '../../errors/registry.js';
import type { Language } from '../../products/parties.js';
import type { LedgerHandle } from '../../store/open.js';
import { parseTimestamp } from '../../time.js';
import { harareText } from '../../time.js';
import { SERVICES, SERVICE_LABELS, isService, type Service } from './services.js';

export const MAINTENANCE = 'maintenance';

export interface MaintenanceSwitch {
  /** A service, or `all` for every customer write except SMS notices (customers must still hear "we are back"). */
  service: Service | 'all';
  /** Planned end, ISO 8601 UTC. The switch stays on past it until turned off: an overrun shows. */
  until: string;
  reason: string;
  by: string;
  since: string;
}

export interface MaintenanceChange {
  on: boolean;
  service?: string;
  until?: string;
  reason?: string;
  by: string;
}

const TEXTS: Readonly<Record<Language, (label: string, until: string) => string>> = {
  en: (label, until) => `${label} is closed for planned maintenance until ${until} (Harare time). Balance enquiries still work.`,
  sn: (label, until) => `${label} yakavharwa nekuda kwekugadzirisa kusvika ${until} (nguva yeHarare). Munogona kuona mari yenyu.`,
  nd: (label, until) => `${label} kuvaliwe ngenxa yokulungiswa kuze kube ngu ${until} (isikhathi seHarare). Lingabona imali yenu.`,
};

export class Maintenance {
  private readonly switches = new Map<Service | 'all', MaintenanceSwitch>();
  private readonly listeners: (() => void)[] = [];

  private constructor(private readonly handle: LedgerHandle) {}

  static async open(handle: LedgerHandle): Promise<Maintenance> {
    const maintenance = new Maintenance(handle);
    for await (const doc of handle.store.documents(MAINTENANCE)) {
      const stored = JSON.parse(doc.value) as MaintenanceSwitch;
      maintenance.switches.set(stored.service, stored);
    }
    return maintenance;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** The switch that closes this service (its own, else `all`), or undefined when open. */
  closing(service: Service): MaintenanceSwitch | undefined {
    if (this.switches.size === 0) return undefined;
    return this.switches.get(service) ?? (service === 'sms' ? undefined : this.switches.get('all'));
  }

  /** The refusal for a write to this service, or undefined when it is open. */
  refusal(service: Service, language: Language = 'en'): RequestError | undefined {
    const closed = this.closing(service);
    if (closed === undefined) return undefined;
    const until_harare = harareText(new Date(closed.until));
    return new RequestError('maintenance', { service, until: closed.until, until_harare, reason: closed.reason },
      TEXTS[language](SERVICE_LABELS[service][language], until_harare));
  }

  /** Throws `maintenance` when the service is closed: for modules and commands outside HTTP. */
  check(service: Service): void {
    const refusal = this.refusal(service);
    if (refusal) throw refusal;
  }

  /** What a USSD session shows when the service is closed (ends the session), or undefined. */
  ussdText(service: Service, language: Language = 'en'): string | undefined {
    return this.refusal(service, language)?.message;
  }

  list(): MaintenanceSwitch[] {
    return [...this.switches.values()];
  }

  /** Turns a switch on or off, durably; answers the switches now in force. */
  async set(change: MaintenanceChange, now: Date = new Date()): Promise<MaintenanceSwitch[]> {
    const service = change.service ?? 'all';
    if (service !== 'all' && !isService(service)) throw new RequestError('service_unknown', { service, services: SERVICES });
    if (!change.on) {
      await this.handle.writer.execute({ run: (ctx) => ctx.put({ collection: MAINTENANCE, key: service, value: null }) });
      // `off` for all ends every switch: the platform is back.
      if (service === 'all') {
        const others = [...this.switches.keys()].filter((key) => key !== 'all');
        await this.handle.writer.execute({ run: (ctx) => others.forEach((key) => ctx.put({ collection: MAINTENANCE, key, value: null })) });
        this.switches.clear();
      } else {
        this.switches.delete(service);
      }
      this.changed();
      return this.list();
    }
    const ns = change.until === undefined ? undefined : parseTimestamp(change.until);
    const until = ns === undefined ? Number.NaN : Number(ns / 1_000_000n);
    if (!Number.isFinite(until) || until <= now.getTime()) throw new RequestError('maintenance_until_invalid', { until: change.until ?? null });
    const entry: MaintenanceSwitch = {
      service, until: new Date(until).toISOString(), reason: change.reason ?? 'planned maintenance', by: change.by, since: now.toISOString(),
    };
    await this.handle.writer.execute({ run: (ctx) => ctx.put({ collection: MAINTENANCE, key: service, value: JSON.stringify(entry) }) });
    this.switches.set(service, entry);
    this.changed();
    return this.list();
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
