// PostgreSQL for tests: each test gets a database of its own, created fresh (mari_test_<random>)
// and dropped after, on the machine's server (MARI_TEST_PG_URL, default the local trust login).
import type { TestContext } from 'node:test';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_SERVER_URL = process.env.MARI_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The URL of `server` with another database name. */
export function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function adminQuery(serverUrl: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A new empty database, dropped (with any connections left to it) when the test ends. */
export async function freshDatabase(t: TestContext | undefined, serverUrl = PG_SERVER_URL): Promise<string> {
  const name = `mari_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
  t?.after(() => dropDatabase(name, serverUrl));
  return withDatabase(serverUrl, name);
}

export async function dropDatabase(name: string, serverUrl = PG_SERVER_URL): Promise<void> {
  await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/** Runs `sql` on the database at `url` with a connection of its own. */
export async function query(url: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}
