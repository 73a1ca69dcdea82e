// After the switch: invariant monitors on a schedule. Each monitor is a function answering ok or
// what is wrong; a failing monitor opens an incident on the status page (one per monitor while it
// fails) and resolves it when it passes again. Cheap monitors read the ledger in memory; verify
// reads the journal; vouchers reads prepaid's documents; reconcile against legacy (tools.ts)
// reads the legacy database, when mari is told where it is.
import { available } from '../../ledger/types.js';
import { AccountCode, CURRENCIES, airtimeAsset, systemId } from '../../products/accounts.js';
import { SYSTEM } from '../../products/prepaid/ledger.js';
import { VOUCHERS, type VoucherDocument } from '../../products/prepaid/vouchers.js';
import type { LedgerHandle } from '../../store/open.js';
import type { StatusBoard } from './status.js';
import type { Service } from './services.js';

export interface MonitorResult {
  monitor: string;
  ok: boolean;
  summary: string;
  at: string;
  details?: unknown;
}

export interface Monitor {
  name: string;
  /** Services whose customers a failure affects (shown on the status page). */
  services: Service[];
  check(): Promise<{ ok: boolean; summary: string; details?: unknown }>;
}

/** Each asset's posted and pending debits equal its credits across all accounts (double entry). */
export function conservationMonitor(handle: LedgerHandle): Monitor {
  return {
    name: 'conservation', services: ['send_money', 'airtime', 'bundles', 'charging', 'ledger_api'],
    async check() {
      const sums = new Map<string, { posted: bigint; pending: bigint }>();
      for (const account of handle.ledger.accounts.values()) {
        const sum = sums.get(account.asset) ?? { posted: 0n, pending: 0n };
        sum.posted += account.credits_posted - account.debits_posted;
        sum.pending += account.credits_pending - account.debits_pending;
        sums.set(account.asset, sum);
      }
      const off = [...sums].filter(([, sum]) => sum.posted !== 0n || sum.pending !== 0n).map(([asset, sum]) => ({ asset, posted: sum.posted.toString(), pending: sum.pending.toString() }));
      return off.length === 0 ? { ok: true, summary: `${sums.size} asset(s) sum to zero` } : { ok: false, summary: `${off.map((o) => o.asset).join(', ')} do not sum to zero`, details: off };
    },
  };
}

/** The hash chain verifies and every balance recomputes from the journal. */
export function verifyMonitor(handle: LedgerHandle): Monitor {
  return {
    name: 'verify', services: ['send_money', 'airtime', 'bundles', 'charging', 'ledger_api'],
    async check() {
      await handle.writer.settled();
      const report = await handle.store.verify();
      return report.ok
        ? { ok: true, summary: `${report.entries} entries, ${report.transfers} transfers verify` }
        : { ok: false, summary: `${report.failure!.check}: ${report.failure!.message}`, details: report.failure };
    },
  };
}

/**
 * Charging grants against balances: what prepaid has reserved for calls and sessions (pending
 * debits) never exceeds what the line holds, so the balance shown is what charging can use.
 */
export function chargingMonitor(handle: LedgerHandle): Monitor {
  const prepaid = new Set<number>([AccountCode.airtime, AccountCode.bundle_lot]);
  return {
    name: 'charging_grants', services: ['charging', 'airtime', 'bundles'],
    async check() {
      const over: { account: string; available: string }[] = [];
      let checked = 0;
      for (const account of handle.ledger.accounts.values()) {
        if (!prepaid.has(account.code)) continue;
        checked++;
        if (account.debits_pending > account.credits_posted || available(account) < 0n) over.push({ account: account.id, available: available(account).toString() });
      }
      return over.length === 0 ? { ok: true, summary: `${checked} prepaid balance(s) cover their grants` } : { ok: false, summary: `${over.length} prepaid balance(s) granted past what they hold`, details: over.slice(0, 20) };
    },
  };
}

/** How many vouchers or recharges a failing vouchers monitor names. */
const VOUCHER_EXAMPLES = 20;

/**
 * Recharges against vouchers redeemed: per airtime asset, the face values of the vouchers prepaid
 * marked redeemed in mari (`prepaid_vouchers`, state used, with their transfer) sum to what the
 * voucher issue account gave out, so no recharge went out without a voucher and no voucher was
 * marked used without its airtime. Vouchers used on legacy came with the line's balance and have
 * no transfer here. On a mismatch it names the vouchers and recharges that do not pair up.
 */
export function vouchersMonitor(handle: LedgerHandle): Monitor {
  return {
    name: 'vouchers_vs_recharges', services: ['vouchers', 'airtime'],
    async check() {
      await handle.writer.settled();
      const redeemed = new Map<string, VoucherDocument>();
      const docs = new Map<string, bigint>();
      for await (const doc of handle.store.documents(VOUCHERS, { tag: 'used' })) {
        const voucher = JSON.parse(doc.value) as VoucherDocument;
        if (voucher.transfer_id === null) continue;
        redeemed.set(voucher.transfer_id, voucher);
        const asset = airtimeAsset(voucher.currency);
        docs.set(asset, (docs.get(asset) ?? 0n) + BigInt(voucher.face_value));
      }
      const issued = new Map<string, bigint>();
      for (const asset of CURRENCIES.map(airtimeAsset)) {
        const account = handle.ledger.accounts.get(systemId(SYSTEM.voucher_issue.name, asset));
        if (account) issued.set(asset, account.debits_posted - account.credits_posted);
      }
      const assets = [...new Set([...docs.keys(), ...issued.keys()])];
      const off = assets.filter((a) => (docs.get(a) ?? 0n) !== (issued.get(a) ?? 0n));
      const line = (a: string) => `${a}: vouchers ${docs.get(a) ?? 0n}, recharges ${issued.get(a) ?? 0n}`;
      if (off.length === 0) return { ok: true, summary: `${redeemed.size} voucher(s) redeemed in mari, each with its recharge (${assets.map(line).join('; ') || 'none yet'})` };
      return { ok: false, summary: `recharges and vouchers redeemed differ: ${off.map(line).join('; ')}`, details: await unpaired(handle, redeemed, off) };
    },
  };
}

/** The vouchers with no matching recharge, and the recharges with no voucher marked redeemed. */
async function unpaired(handle: LedgerHandle, redeemed: ReadonlyMap<string, VoucherDocument>, assets: readonly string[]) {
  const without_recharge: { serial: string; transfer_id: string; face_value: string; recharged: string | null }[] = [];
  for (const [id, voucher] of redeemed) {
    if (!assets.includes(airtimeAsset(voucher.currency)) || without_recharge.length >= VOUCHER_EXAMPLES) continue;
    const transfer = await handle.store.getTransfer(id);
    if (transfer?.amount !== BigInt(voucher.face_value)) without_recharge.push({ serial: voucher.serial, transfer_id: id, face_value: voucher.face_value, recharged: transfer ? transfer.amount.toString() : null });
  }
  const without_voucher: { transfer_id: string; amount: string; asset: string }[] = [];
  for (const asset of assets) {
    const account = handle.ledger.accounts.get(systemId(SYSTEM.voucher_issue.name, asset));
    let before: bigint | undefined;
    while (account && without_voucher.length < VOUCHER_EXAMPLES) {
      const page = await handle.store.accountHistory(account, { limit: 500, ...(before === undefined ? {} : { before }) });
      for (const { transfer } of page.entries) {
        if (!redeemed.has(transfer.id) && without_voucher.length < VOUCHER_EXAMPLES) without_voucher.push({ transfer_id: transfer.id, amount: transfer.amount.toString(), asset });
      }
      if ((before = page.next_before) === undefined) break;
    }
  }
  return { without_recharge, without_voucher };
}

export class Watch {
  private readonly latest = new Map<string, MonitorResult>();
  private readonly incidents = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<MonitorResult[]> | undefined;

  constructor(private readonly monitors: Monitor[], private readonly board: StatusBoard) {}

  add(monitor: Monitor): void {
    this.monitors.push(monitor);
  }

  results(): MonitorResult[] {
    return [...this.latest.values()];
  }

  get scheduled(): boolean {
    return this.timer !== undefined;
  }

  /** Runs every monitor once (one run at a time); raises or resolves incidents. */
  run(by = 'watch'): Promise<MonitorResult[]> {
    this.running ??= this.runAll(by).finally(() => (this.running = undefined));
    return this.running;
  }

  private async runAll(by: string): Promise<MonitorResult[]> {
    const results: MonitorResult[] = [];
    for (const monitor of this.monitors) {
      let outcome: { ok: boolean; summary: string; details?: unknown };
      try {
        outcome = await monitor.check();
      } catch (error) {
        outcome = { ok: false, summary: `the monitor could not run: ${(error as Error).message}` };
      }
      const result: MonitorResult = { monitor: monitor.name, at: new Date().toISOString(), ...outcome };
      this.latest.set(monitor.name, result);
      results.push(result);
      await this.raise(monitor, result, by);
    }
    return results;
  }

  private async raise(monitor: Monitor, result: MonitorResult, by: string): Promise<void> {
    const open = this.incidents.get(monitor.name);
    if (!result.ok && open === undefined) {
      const incident = await this.board.openIncident({
        title: `Invariant check failed: ${monitor.name}`, impact: 'degraded', services: monitor.services, text: result.summary, by,
      });
      this.incidents.set(monitor.name, incident.id);
    } else if (result.ok && open !== undefined) {
      await this.board.updateIncident(open, { text: `Resolved: ${result.summary}`, by, resolve: true });
      this.incidents.delete(monitor.name);
    }
  }

  start(interval_s: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.run().catch(() => undefined), interval_s * 1000);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}
