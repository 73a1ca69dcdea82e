// mari migrate: imports the legacy platform (MariaDB/MySQL or CSV) into the data directory,
// resumable, with a progress bar and a summary (or --json).
import { loadConfig } from '../../config.js';
import { Importer, IMPORT_OPEN, type ImportSummary } from '../../cutover/import.js';
import { harareLocalToMs } from '../../time.js';
import { openLegacySource } from '../../cutover/open.js';
import { openLedger } from '../../store/open.js';
import { parse, UsageError, type Command } from '../args.js';
import { formatDuration, Progress } from '../progress.js';

export const migrate: Command = {
  name: 'migrate',
  summary: 'import the legacy platform (MariaDB or CSV): resumable, with every quirk counted',
  usage: `mari migrate (--from mysql://USER[:PASSWORD]@HOST:PORT/DB | --from-csv DIR) [options]

Imports subscribers, agents, merchants, banks, every wallet with its opening balance and the
transaction history replayed, prepaid buckets, vouchers (PINs hashed) and the service catalog.
Kill it at any point and run it again: it continues from its last checkpoint, nothing doubled.

  --from URL         the legacy MariaDB/MySQL database
  --from-csv DIR     a directory of <table>.csv files instead
  --data-dir DIR     the data directory (default: MARI_DATA_DIR or ./data)
  --as-of TIME       Harare local time buckets are judged expired at (default: now),
                     e.g. '2026-11-20 21:00:00', the cutover moment
  --delta            after a bulk import: only new transactions, new subscribers, and wallets
                     and buckets as they are now
  --batch-rows N     legacy rows per writer batch (default 8000)
  --json             print the summary as one JSON object`,
  async run(argv) {
    const { values } = parse(argv, {
      from: { type: 'string' }, 'from-csv': { type: 'string' }, 'data-dir': { type: 'string' }, 'as-of': { type: 'string' },
      delta: { type: 'boolean' }, 'batch-rows': { type: 'string' }, json: { type: 'boolean' },
    });
    if (Boolean(values.from) === Boolean(values['from-csv'])) throw new UsageError('give exactly one of --from and --from-csv');
    const batch_rows = values['batch-rows'] === undefined ? undefined : Number(values['batch-rows']);
    if (batch_rows !== undefined && !(Number.isInteger(batch_rows) && batch_rows >= 1 && batch_rows <= 100_000)) throw new UsageError('--batch-rows must be an integer from 1 to 100000');
    if (values['as-of'] !== undefined && harareLocalToMs(values['as-of']) === undefined) throw new UsageError(`--as-of: '${values['as-of']}' is not a Harare local time like '2026-11-20 21:00:00'`);
    const config = loadConfig(process.env, values['data-dir'] ? { data_dir: values['data-dir'] } : {});
    const source = await openLegacySource({ from: values.from, from_csv: values['from-csv'] });
    const handle = await openLedger({ dataDir: config.data_dir, ...IMPORT_OPEN });
    const bars = new Map<string, Progress>();
    let summary: ImportSummary;
    try {
      summary = await new Importer({
        source, handle, as_of_local: values['as-of'], delta: values.delta, batch_rows,
        onProgress: ({ phase, table, done, total }) => {
          if (values.json) return;
          let bar = bars.get(phase);
          if (!bar) bars.set(phase, (bar = new Progress(`${phase.padEnd(8)} ${table}`.padEnd(26), total)));
          bar.update(done);
          if (done >= total) bar.done();
        },
      }).run();
    } finally {
      await source.close();
      await handle.close();
    }
    if (values.json) console.log(JSON.stringify(summary));
    else printSummary(summary);
    return 0;
  },
};

function printSummary(s: ImportSummary): void {
  const c = s.counters;
  console.log(`${s.pass === 1 ? 'import' : `delta (pass ${s.pass})`} from ${s.source}${s.resumed ? ' (resumed)' : ''}: ${s.phase === 'done' ? 'complete' : `stopped in ${s.phase}`}`);
  console.log(`  rows read:        ${Object.entries(s.rows_read).map(([t, n]) => `${t} ${n}`).join(', ')}`);
  console.log(`  written:          ${s.accounts_created} accounts, ${s.transfers_booked} transfers, ${s.documents_written} documents`);
  console.log(`  time:             ${formatDuration(s.seconds)} (this run ${formatDuration(s.run_seconds)}), ${s.rows_per_s} rows/s`);
  console.log(`  msisdn spellings: ${Object.entries(c.msisdn_spellings).map(([k, n]) => `${k} ${n}`).join(', ')}; invalid ${c.msisdn_invalid}; collisions ${c.msisdn_collisions} (neither owns the number)`);
  console.log(`  history:          ${c.failed_rows} FAILED rows (moved nothing), ${c.duplicate_refs} duplicate refs booked once, ${c.ref_conflicts} conflicting refs, ${c.replay_refused} refused, ${c.out_of_order_rows} out of time order`);
  console.log(`  drift:            ${c.drifted_wallets} wallets, ${JSON.stringify(c.drift_total)} booked against legacy suspense`);
  console.log(`  negative wallets: ${c.negative_wallets} ${JSON.stringify(c.negative_total)} (held as overdraft, cannot go further negative)`);
  console.log(`  closed, with money: ${c.closed_with_balance} subscribers (imported: the money is theirs)`);
  console.log(`  buckets:          ${c.buckets_imported} imported ${JSON.stringify(c.bucket_totals)}; ${c.expired_buckets} expired not made usable ${JSON.stringify(c.expired_totals)}; ${c.held_buckets} held (number registered twice)`);
  console.log(`  vouchers:         ${c.vouchers_redeemable} redeemable (PIN hashed), ${c.vouchers_used} used, ${c.vouchers_expired} expired`);
  console.log(`  pins:             ${c.pins_carried} MD5 hashes carried (upgraded at next entry), ${c.pins_missing} missing; names with accents ${c.names_non_ascii}`);
  console.log(`  services:         ${c.services} menu items (${c.services_enabled} enabled)`);
}
