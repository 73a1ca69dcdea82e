// The derived history index: each account's entries with its balances after each one, built
// from the journal in timestamp order, and the running balances as of the watermark. It is
// rebuilt from the journal whenever it is missing or ahead of it, and verify checks it.
import type Database from 'better-sqlite3';
import { applyTransfer, zeroBalances, type Balances, type Transfer } from '../ledger/types.js';
import { balancesFromRow, type Row } from './rows.js';

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

export class HistoryIndexer {
  /** Running balances as of the watermark, loaded from the index as accounts are met. */
  private readonly running = new Map<number, Balances>();
  private readonly statements;

  constructor(ledger: Database.Database, private readonly history: Database.Database) {
    this.statements = {
      transfersAfter: ledger.prepare('SELECT timestamp, debit_no, credit_no, amount, pending_amount, flags FROM transfers WHERE timestamp > ? ORDER BY timestamp LIMIT ?'),
      insertEntry: history.prepare('INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)'),
      loadRunning: history.prepare('SELECT * FROM balances WHERE account_no = ?'),
      saveRunning: history.prepare('INSERT INTO balances VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_no) DO UPDATE SET debits_pending = excluded.debits_pending, debits_posted = excluded.debits_posted, credits_pending = excluded.credits_pending, credits_posted = excluded.credits_posted'),
      setWatermark: history.prepare("INSERT INTO meta (key, value) VALUES ('watermark', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
    };
  }

  /** Indexes up to `limit` committed transfers past the watermark, in one transaction. Returns how many. */
  index(limit: number): number {
    const s = this.statements;
    const rows = s.transfersAfter.all(historyWatermark(this.history), limit) as Row[];
    if (rows.length === 0) return 0;
    this.history.transaction(() => {
      const dirty = new Set<number>();
      for (const row of rows) {
        const debit_no = Number(row.debit_no);
        const credit_no = Number(row.credit_no);
        const debit = this.balances(debit_no);
        const credit = this.balances(credit_no);
        applyTransfer({ flags: Number(row.flags), amount: row.amount as bigint, pending_amount: row.pending_amount as bigint } as Transfer, debit, credit);
        s.insertEntry.run(debit_no, row.timestamp, debit.debits_pending, debit.debits_posted, debit.credits_pending, debit.credits_posted);
        s.insertEntry.run(credit_no, row.timestamp, credit.debits_pending, credit.debits_posted, credit.credits_pending, credit.credits_posted);
        dirty.add(debit_no).add(credit_no);
      }
      for (const no of dirty) {
        const b = this.running.get(no)!;
        s.saveRunning.run(no, b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted);
      }
      s.setWatermark.run((rows[rows.length - 1].timestamp as bigint).toString());
    })();
    return rows.length;
  }

  private balances(no: number): Balances {
    let balances = this.running.get(no);
    if (!balances) {
      const row = this.statements.loadRunning.get(no) as Row | undefined;
      balances = row ? balancesFromRow(row) : zeroBalances();
      this.running.set(no, balances);
    }
    return balances;
  }
}
