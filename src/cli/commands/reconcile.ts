// mari reconcile: the legacy platform against mari, account by account; exit 0 only when
// nothing is unexplained. Runs any time, before or after cutover (as a monitor).
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../config.js';
import { openLegacySource } from '../../cutover/open.js';
import { reconcile } from '../../cutover/reconcile.js';
import { renderReport, type ReportFormat } from '../../cutover/report.js';
import { openLedger } from '../../store/open.js';
import { parse, UsageError, type Command } from '../args.js';

const FORMATS: readonly ReportFormat[] = ['text', 'json', 'csv', 'html'];

export const reconcileCommand: Command = {
  name: 'reconcile',
  summary: 'compare the legacy platform with mari account by account; exit 0 only if nothing is unexplained',
  usage: `mari reconcile (--from mysql://USER@HOST:PORT/DB | --from-csv DIR) [options]

Compares every legacy wallet and prepaid bucket with its mari account (checksums over ranges
of accounts on both sides, drilling only into ranges that differ; exact decimals), the totals
per asset and owner type, and lists the known, booked differences (drift, expired buckets)
apart. Classes: missing_in_mari, extra_in_mari, wiped, inflated, deflated, expiry_differs.
Exits 0 when no difference is unexplained, 1 otherwise.

  --from URL        the legacy MariaDB/MySQL database
  --from-csv DIR    a directory of <table>.csv files instead
  --data-dir DIR    the data directory (default: MARI_DATA_DIR or ./data)
  --as-of TIME      Harare local time buckets are judged expired at (default: the import's)
  --format F        text (default), json, csv or html
  --out FILE        write the report there instead of standard output
  --json            the same as --format json`,
  async run(argv) {
    const { values } = parse(argv, {
      from: { type: 'string' }, 'from-csv': { type: 'string' }, 'data-dir': { type: 'string' }, 'as-of': { type: 'string' },
      format: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' },
    });
    if (Boolean(values.from) === Boolean(values['from-csv'])) throw new UsageError('give exactly one of --from and --from-csv');
    const format = (values.json ? 'json' : values.format ?? 'text') as ReportFormat;
    if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
    const config = loadConfig(process.env, values['data-dir'] ? { data_dir: values['data-dir'] } : {});
    if (!fs.existsSync(path.join(config.data_dir, 'ledger.sqlite'))) throw new UsageError(`no ledger in ${config.data_dir}`);
    const source = await openLegacySource({ from: values.from, from_csv: values['from-csv'] });
    const handle = await openLedger({ dataDir: config.data_dir });
    try {
      const report = await reconcile({ source, handle, as_of_local: values['as-of'] });
      const text = renderReport(report, format);
      if (values.out) fs.writeFileSync(values.out, text);
      else process.stdout.write(text);
      return report.ok ? 0 : 1;
    } finally {
      await source.close();
      await handle.close();
    }
  },
};
