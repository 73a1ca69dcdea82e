// The derived history index: each account's entries with its balances after each one, built
// from the journal in timestamp order, and the running balances as of the watermark. It is
// rebuilt from the journal whenever it is missing or ahead of it, and verify checks it.
import type Database from 'better-sqlite3';
import { applyTransfer, type Balances, type Transfer } from '../ledger/types.js';
import { balancesFromRow, type Row } from './rows.js';
import { RowWriter } from './row_writer.js';

export const HISTORY_SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS entries (
    account_no INTEGER NOT NULL, timestamp INTEGER NOT NULL,
    debits_pending INTEGER NOT NULL, debits_posted INTEGER NOT NULL, credits_pending INTEGER NOT NULL, credits_posted INTEGER NOT NULL,
    PRIMARY KEY (account_no, timestamp)
  ) WITHOUT ROWID, STRICT;
  CREATE TABLE IF NOT EXISTS balances (
    account_no INTEGER PRIMARY KEY,
    debits_pending INTEGER NOT NULL, debits_posted INTEGER NOT NULL, credits_pending INTEGER NOT NULL, credits_posted INTEGER NOT NULL
  ) STRICT;
`;


export function historyWatermark(history: Database.Database): bigint {
  const row = history.prepare("SELECT value FROM meta WHERE key = 'watermark'").get() as Row | undefined;
  return row ? BigInt(row.value as string) : 0n;
}

/** The index is derived: if it is ahead of the journal (say, a restored backup), empty it to rebuild. */
export function resetHistoryIfAhead(history: Database.Database, lastTimestamp: bigint): void {
  if (historyWatermark(history) <= lastTimestamp) return;
  history.exec('DELETE FROM entries; DELETE FROM balances; DELETE FROM meta;');
}

const ENTRY_COLUMNS = 6;

/**
 * Each account's running balances as of the watermark, in flat arrays indexed by account number:
 * millions of accounts (an import) as Balances objects would take gigabytes and the collector's
 * time. An account's first use loads its balances with `load` (from the index, or nothing at all).
 */
class RunningBalances {
  private size = 0;
  private columns: BigInt64Array[] = [];
  /** 0: not loaded yet; 1: loaded; 2: changed since the last save. */
  private state = new Uint8Array(0);

  constructor(private readonly load: (no: number) => Balances | undefined) {}

  get(no: number): Balances {
    if (no >= this.size) this.grow(no);
    if (this.state[no] === 0) {
      const stored = this.load(no);
      if (stored) this.put(no, stored);
      this.state[no] = 1;
    }
    const c = this.columns;
    return { debits_pending: c[0][no], debits_posted: c[1][no], credits_pending: c[2][no], credits_posted: c[3][no] };
  }

  set(no: number, b: Balances): void {
    this.put(no, b);
    this.state[no] = 2;
  }

  /** Calls `save` for every changed account in account order, and marks them saved. */
  saveChanged(save: (no: number, b: Balances) => void): void {
    const c = this.columns;
    for (let no = 0; no < this.size; no++) {
      if (this.state[no] !== 2) continue;
      save(no, { debits_pending: c[0][no], debits_posted: c[1][no], credits_pending: c[2][no], credits_posted: c[3][no] });
      this.state[no] = 1;
    }
  }

  private put(no: number, b: Balances): void {
    const c = this.columns;
    c[0][no] = b.debits_pending;
    c[1][no] = b.debits_posted;
    c[2][no] = b.credits_pending;
    c[3][no] = b.credits_posted;
  }

  private grow(no: number): void {
    const size = Math.max(no + 1, this.size * 2, 1024);
    this.columns = [0, 1, 2, 3].map((i) => {
      const column = new BigInt64Array(size);
      if (this.columns[i]) column.set(this.columns[i]);
      return column;
    });
    const state = new Uint8Array(size);
    state.set(this.state);
    this.state = state;
    this.size = size;
  }
}

export class HistoryIndexer {
  private running: RunningBalances;
  private readonly statements;
  private readonly entries: RowWriter;
  private readonly balances: RowWriter;

  constructor(ledger: Database.Database, private readonly history: Database.Database) {
    this.statements = {
      nthTransfer: ledger.prepare('SELECT timestamp FROM transfers ORDER BY timestamp LIMIT 1 OFFSET ?'),
      allTransfers: ledger.prepare('SELECT timestamp, debit_no, credit_no, amount, pending_amount, flags FROM transfers ORDER BY timestamp'),
      transfersAfter: ledger.prepare('SELECT timestamp, debit_no, credit_no, amount, pending_amount, flags FROM transfers WHERE timestamp > ? ORDER BY timestamp LIMIT ?'),
      loadRunning: history.prepare('SELECT * FROM balances WHERE account_no = ?'),
      setWatermark: history.prepare("INSERT INTO meta (key, value) VALUES ('watermark', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
    };
    this.entries = new RowWriter(history, 'INSERT INTO entries VALUES $rows', ENTRY_COLUMNS);
    this.balances = new RowWriter(history, `INSERT INTO balances VALUES $rows ON CONFLICT (account_no) DO UPDATE SET debits_pending = excluded.debits_pending,
      debits_posted = excluded.debits_posted, credits_pending = excluded.credits_pending, credits_posted = excluded.credits_posted`, 5);
    this.running = this.loadedRunning();
  }

  private loadedRunning(): RunningBalances {
    return new RunningBalances((no) => {
      const row = this.statements.loadRunning.get(no) as Row | undefined;
      return row ? balancesFromRow(row) : undefined;
    });
  }

  private saveRunning(): void {
    this.running.saveChanged((no, b) => this.balances.add(no, b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted));
    this.balances.flush();
  }

  /** Applies one transfer row to the running balances; returns the two accounts' balances after it. */
  private apply(row: Row): [number, Balances, number, Balances] {
    const debit_no = Number(row.debit_no);
    const credit_no = Number(row.credit_no);
    const debit = this.running.get(debit_no);
    const credit = this.running.get(credit_no);
    applyTransfer({ flags: Number(row.flags), amount: row.amount as bigint, pending_amount: row.pending_amount as bigint } as Transfer, debit, credit);
    this.running.set(debit_no, debit);
    this.running.set(credit_no, credit);
    return [debit_no, debit, credit_no, credit];
  }

  /**
   * Indexes up to `limit` committed transfers past the watermark, in one transaction. Returns how
   * many. Entries go in sorted by (account, time): the B-tree is walked once, left to right.
   */
  index(limit: number): number {
    const s = this.statements;
    const rows = s.transfersAfter.all(historyWatermark(this.history), limit) as Row[];
    if (rows.length === 0) return 0;
    const accounts = new Float64Array(rows.length * 2);
    const entries: [bigint, Balances][] = [];
    for (const row of rows) {
      const [debit_no, debit, credit_no, credit] = this.apply(row);
      accounts[entries.length] = debit_no;
      entries.push([row.timestamp as bigint, debit]);
      accounts[entries.length] = credit_no;
      entries.push([row.timestamp as bigint, credit]);
    }
    // Stable: entries of one account stay in time order.
    const order = Array.from(entries.keys()).sort((x, y) => accounts[x] - accounts[y] || x - y);
    this.history.transaction(() => {
      this.entries.discard();
      this.balances.discard();
      for (const i of order) {
        const [timestamp, b] = entries[i];
        this.entries.add(accounts[i], timestamp, b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted);
      }
      this.entries.flush();
      this.saveRunning();
      s.setWatermark.run((rows[rows.length - 1].timestamp as bigint).toString());
    })();
    return rows.length;
  }

  /**
   * Builds an empty index from a large backlog in one pass (an index lost, or found ahead of the
   * journal): entries are staged in time order, then inserted sorted by (account, time), so the
   * B-tree is written once, left to right. Returns how many transfers it indexed; 0 (doing
   * nothing) when the index is not empty or the backlog is smaller than `minimum`.
   */
  bulkBuild(minimum: number): number {
    if (historyWatermark(this.history) !== 0n) return 0;
    if (this.statements.nthTransfer.get(minimum - 1) === undefined) return 0;
    // The index is empty: every account starts at zero, with nothing to load.
    this.running = new RunningBalances(() => undefined);
    let count = 0;
    let last = 0n;
    this.history.transaction(() => {
      this.history.exec('DROP TABLE IF EXISTS temp.staging; CREATE TEMP TABLE staging (account_no INTEGER, timestamp INTEGER, dp INTEGER, dpo INTEGER, cp INTEGER, cpo INTEGER)');
      const staging = new RowWriter(this.history, 'INSERT INTO temp.staging VALUES $rows', ENTRY_COLUMNS);
      for (const row of this.statements.allTransfers.iterate() as Iterable<Row>) {
        const [debit_no, debit, credit_no, credit] = this.apply(row);
        staging.add(debit_no, row.timestamp, debit.debits_pending, debit.debits_posted, debit.credits_pending, debit.credits_posted);
        staging.add(credit_no, row.timestamp, credit.debits_pending, credit.debits_posted, credit.credits_pending, credit.credits_posted);
        last = row.timestamp as bigint;
        count++;
      }
      staging.flush();
      this.history.exec('INSERT INTO entries SELECT * FROM temp.staging ORDER BY account_no, timestamp; DROP TABLE temp.staging');
      this.saveRunning();
      this.statements.setWatermark.run(last.toString());
    })();
    // Balances are in the index now: load them from it as accounts are met again.
    this.running = this.loadedRunning();
    return count;
  }
}
