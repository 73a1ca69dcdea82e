// After the switch: invariant monitors on a schedule. Each monitor is a function answering ok or
// what is wrong; a failing monitor opens an incident on the status page (one per monitor while it
// fails) and resolves it when it passes again. Cheap monitors read the ledger in memory; verify
// reads the journal. Monitors that need other modules (reconcile against legacy, vouchers
// redeemed against recharges) are plugged in by whoever owns that data.
import { available } from '../../ledger/types.js';
import { AccountCode } from '../../products/accounts.js';
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
