// The USSD service catalog: which services each short code offers, under which key, with what
// label in each language. It is data (documents in `ussd_catalog`), seeded with the defaults
// below on first start and changed by operators through the API, so the same catalog drives the
// menus and answers the cutover's "which services exist" (compared with the legacy service_menu).
//
// Keys are the legacy ones: "5.1" is item 1 of the submenu at item 5. A submenu is an entry with
// service MENU. Disabled entries are kept (the parity check sees them) but not shown.
import { RequestError } from '../../errors/registry.js';
import type { Language } from '../../products/parties.js';
import type { Store } from '../../store/store.js';
import type { Writer } from '../../store/writer.js';

export const CATALOG = 'ussd_catalog';
export const MENU_SERVICE = 'MENU';

export interface CatalogEntry {
  short_code: string;
  key: string;
  label: Record<Language, string>;
  /** A service id the menus implement (see flows.ts), or MENU for a submenu. */
  service: string;
  enabled: boolean;
}

export const SHORT_CODE_PATTERN = /^\*[0-9]{2,4}#$/;
export const KEY_PATTERN = /^[1-9][0-9]?(\.[1-9][0-9]?){0,2}$/;
export const LABEL_LENGTH_MAX = 40;

function entry(short_code: string, key: string, service: string, en: string, sn: string, nd: string, enabled = true): CatalogEntry {
  return { short_code, key, label: { en, sn, nd }, service, enabled };
}

/** Every service the legacy menus offered, under the same codes and keys (legacy BILL_PAYMENT was disabled). */
export const DEFAULT_CATALOG: readonly CatalogEntry[] = Object.freeze([
  entry('*151#', '1', 'P2P', 'Send Money', 'Tumira Mari', 'Thumela Imali'),
  entry('*151#', '2', 'AIRTIME_PURCHASE', 'Buy Airtime', 'Tenga Airtime', 'Thenga i-Airtime'),
  entry('*151#', '3', 'MERCHANT_PAYMENT', 'Pay Merchant', 'Bhadhara Mutengesi', 'Bhadala Umthengisi'),
  entry('*151#', '4', 'CASH_OUT', 'Cash Out', 'Bvisa Mari', 'Khipha Imali'),
  entry('*151#', '5', MENU_SERVICE, 'Bank', 'Bhangi', 'Ibhange'),
  entry('*151#', '5.1', 'BANK_TO_WALLET', 'Bank to Wallet', 'Kubva kuBhangi', 'Kusuka eBhange'),
  entry('*151#', '5.2', 'WALLET_TO_BANK', 'Wallet to Bank', 'Kuenda kuBhangi', 'Kuya eBhange'),
  entry('*151#', '6', 'BILL_PAYMENT', 'Pay Bill (ZESA)', 'Bhadhara Bhiri (ZESA)', 'Bhadala Isikweletu (ZESA)', false),
  entry('*151#', '7', MENU_SERVICE, 'My Account', 'Akaundi Yangu', 'I-akhawunti Yami'),
  entry('*151#', '7.1', 'BALANCE', 'Check Balance', 'Ona Mari Yasara', 'Bona Imali Eseleyo'),
  entry('*151#', '7.2', 'MINI_STATEMENT', 'Mini Statement', 'Zvakaitika Zvichangopfuura', 'Okwenzeke Muva'),
  entry('*151#', '7.3', 'CHANGE_PIN', 'Change PIN', 'Chinja PIN', 'Guqula iPIN'),
  entry('*405#', '1', 'VOUCHER_RECHARGE', 'Recharge with voucher', 'Isa kadhi re airtime', 'Faka ikhadi le-airtime'),
  entry('*405#', '2', 'AIRTIME_BALANCE', 'Airtime balance', 'Airtime yasara', 'I-airtime eseleyo'),
  entry('*171#', '1', 'DATA_BUNDLE_PURCHASE', 'Data bundles', 'Mabundle e data', 'Amabundle e-data'),
  entry('*171#', '2', 'VOICE_BUNDLE_PURCHASE', 'Voice bundles', 'Mabundle ekufona', 'Amabundle okufona'),
  entry('*171#', '3', 'SMS_BUNDLE_PURCHASE', 'SMS bundles', 'Mabundle e SMS', 'Amabundle e-SMS'),
  entry('*171#', '4', 'BUNDLE_BALANCE', 'Bundle balances', 'Mabundle asara', 'Amabundle aseleyo'),
]);

function documentKey(entry: Pick<CatalogEntry, 'short_code' | 'key'>): string {
  return `${entry.short_code}|${entry.key}`;
}

/** Numeric order of keys: 2 before 10, 5 before 5.1 before 5.2. */
function compareKeys(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? -1) - (right[i] ?? -1);
    if (difference !== 0) return difference;
  }
  return 0;
}

export class UssdCatalog {
  private readonly items = new Map<string, CatalogEntry>();

  private constructor(private readonly implemented: ReadonlySet<string>) {}

  /** Loads the catalog; on first start writes the defaults so they are data from then on. */
  static async open(options: { store: Store; writer: Writer; implemented: ReadonlySet<string> }): Promise<UssdCatalog> {
    const catalog = new UssdCatalog(options.implemented);
    for await (const doc of options.store.documents(CATALOG)) {
      const loaded = JSON.parse(doc.value) as CatalogEntry;
      catalog.items.set(documentKey(loaded), loaded);
    }
    if (catalog.items.size === 0) {
      await options.writer.execute({
        run(ctx) {
          for (const item of DEFAULT_CATALOG) ctx.put({ collection: CATALOG, key: documentKey(item), tag: item.short_code, value: JSON.stringify(item) });
        },
      });
      for (const item of DEFAULT_CATALOG) catalog.items.set(documentKey(item), structuredClone(item));
    }
    return catalog;
  }

  /** Every entry, by short code then key. */
  list(): CatalogEntry[] {
    return [...this.items.values()].sort((a, b) => (a.short_code === b.short_code ? compareKeys(a.key, b.key) : a.short_code < b.short_code ? -1 : 1));
  }

  shortCodes(): string[] {
    return [...new Set(this.list().map((item) => item.short_code))];
  }

  get(short_code: string, key: string): CatalogEntry | undefined {
    return this.items.get(documentKey({ short_code, key }));
  }

  /** The enabled items directly under `parent` ('' for the top), in key order. */
  children(short_code: string, parent: string): CatalogEntry[] {
    const depth = parent === '' ? 1 : parent.split('.').length + 1;
    return this.list().filter((item) => item.short_code === short_code && item.enabled && item.key.split('.').length === depth &&
      (parent === '' || item.key.startsWith(`${parent}.`)));
  }

  /** The services customers can reach (enabled, and every enabled submenu above them): the parity check's answer. */
  services(): { short_code: string; key: string; service: string; label: string }[] {
    return this.list()
      .filter((item) => item.service !== MENU_SERVICE && this.reachable(item))
      .map((item) => ({ short_code: item.short_code, key: item.key, service: item.service, label: item.label.en }));
  }

  /** Every service entry with whether customers can reach it: the shape the cutover parity check reads. */
  entries(): { service: string; menu_code: string; item_key: string; label: string; enabled: boolean }[] {
    return this.list().filter((item) => item.service !== MENU_SERVICE)
      .map((item) => ({ service: item.service, menu_code: item.short_code, item_key: item.key, label: item.label.en, enabled: this.reachable(item) }));
  }

  /** Whether a service's whole journey completes on its menu (see smoke.ts); refuses a service not reachable. */
  async smoke(service: string): Promise<{ ok: boolean; reason?: string }> {
    const item = this.list().find((entry) => entry.service === service && this.reachable(entry));
    if (!item) return { ok: false, reason: `${service} is not reachable on any menu` };
    return this.smoker ? this.smoker(item) : { ok: false, reason: 'no menu engine is running' };
  }

  private smoker: ((item: CatalogEntry) => Promise<{ ok: boolean; reason?: string }>) | undefined;

  /** The module's check, set once its engine exists. */
  setSmoke(check: (item: CatalogEntry) => Promise<{ ok: boolean; reason?: string }>): void {
    this.smoker = check;
  }

  private reachable(item: CatalogEntry): boolean {
    const parts = item.key.split('.');
    for (let depth = 1; depth <= parts.length; depth++) {
      const ancestor = this.get(item.short_code, parts.slice(0, depth).join('.'));
      if (!ancestor?.enabled) return false;
    }
    return true;
  }

  /** Operator: adds or replaces an entry (refusing a service the menus do not implement, unless disabled). */
  async put(writer: Writer, input: CatalogEntry): Promise<CatalogEntry> {
    const item = validated(input);
    if (item.enabled && item.service !== MENU_SERVICE && !this.implemented.has(item.service)) {
      throw new RequestError('ussd_service_unknown', { service: item.service, implemented: [...this.implemented].sort() });
    }
    await writer.execute({ run: (ctx) => ctx.put({ collection: CATALOG, key: documentKey(item), tag: item.short_code, value: JSON.stringify(item) }) });
    this.items.set(documentKey(item), item);
    return item;
  }
}

function validated(input: CatalogEntry): CatalogEntry {
  const labels = [input.label?.en, input.label?.sn, input.label?.nd];
  const ok = SHORT_CODE_PATTERN.test(input.short_code) && KEY_PATTERN.test(input.key) &&
    labels.every((label) => typeof label === 'string' && label.trim() !== '' && label.length <= LABEL_LENGTH_MAX) &&
    /^[A-Z][A-Z0-9_]{1,31}$/.test(input.service);
  if (!ok) throw new RequestError('ussd_catalog_entry_invalid', { short_code: input.short_code, key: input.key });
  return {
    short_code: input.short_code, key: input.key, service: input.service, enabled: input.enabled,
    label: { en: input.label.en.trim(), sn: input.label.sn.trim(), nd: input.label.nd.trim() },
  };
}
