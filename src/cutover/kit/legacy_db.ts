// A connection to the legacy MariaDB/MySQL database for the cutover kit's questions (traffic by
// hour, the service menu): aggregates computed where the data is, never whole tables in memory.
import mysql from 'mysql2/promise';
import { mysqlConnectionOptions } from '../source.js';

export interface LegacyDb {
  query<T>(sql: string, values?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** Opens `mysql://user:password@host:port/database`. */
export async function openLegacyDb(url: string): Promise<LegacyDb> {
  const connection = await mysql.createConnection(mysqlConnectionOptions(url));
  return {
    async query<T>(sql: string, values: unknown[] = []) {
      const [rows] = await connection.query(sql, values);
      return rows as T[];
    },
    close: () => connection.end(),
  };
}

/** The URL without its password, for logs, journals and reports. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}
