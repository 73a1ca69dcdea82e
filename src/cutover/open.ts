// Opens the legacy source named on the command line: a MariaDB/MySQL URL or a CSV directory.
import { openCsvSource, openMysqlSource, type LegacySource } from './source.js';

export async function openLegacySource(options: { from?: string; from_csv?: string }): Promise<LegacySource> {
  if (options.from && options.from_csv) throw new Error('give one legacy source, not both');
  if (options.from) return openMysqlSource(options.from);
  if (options.from_csv) return openCsvSource(options.from_csv);
  throw new Error('no legacy source given (--from or --from-csv)');
}
