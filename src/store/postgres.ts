// The PostgreSQL store. The ledger runs in memory as on SQLite; each batch commits with one call
// of mari_commit() (one round trip, one transaction: fence, records, journal entry, documents,
// checkpoint), its rows passed as arrays and inserted with unnest. Durability is PostgreSQL's:
// synchronous_commit on, and with a synchronous standby a commit returns once the standby has it.
//
// Several processes may open one database. The one holding the writer role (writer_role.ts)
// commits; the others load the ledger and follow the journal (replaying what the writer commits)
// so they can serve reads, and take over when the role comes free. Per-account history is a
// derived index built by the writer behind the commits; reads wait for it to catch up.
import assert from 'node:assert/strict';
import pg from 'pg';
import { DEFAULT_ASSETS, type Asset } from '../ledger/assets.js';
import { GENESIS_HASH, encodeRecords, makeEntry, type JournalEntry } from '../ledger/journal.js';
import type { JournalRecord, Ledger, Lookups } from '../ledger/ledger.js';
import { applyTransfer, zeroBalances, type Account, type Balances, type Transfer } from '../ledger/types.js';
import { verifyJournal, type VerifyReport, type VerifySource } from '../ledger/verify.js';
import { IdFilter } from './bloom.js';
import { accountFromRow, balancesFromRow, documentFromRow, transferFromRow, type Row } from './rows.js';
import { MIGRATIONS } from './postgres_schema.js';
import type { CommitRequest, DocumentQuery, DocumentWrite, HistoryPage, Store, StoredDocument } from './store.js';
import type { WriterRole } from './writer_role.js';

/** Later than any timestamp the ledger assigns (nanoseconds, good until 2116). */
const TIMESTAMP_END = 1n << 62n;
/** Serialises concurrent migrations of one database (distinct from the writer lock). */
const MIGRATION_LOCK_KEY = 0x6d617270;
/** How far the history index may fall behind while nobody reads it. */
const HISTORY_LAG_MS = 500;
/** While commits keep coming the index waits for a pause, but never longer than this. */
const HISTORY_YIELD_MAX_MS = 30_000;
/** Transfers indexed per history transaction: small enough not to stall the event loop for long. */
const HISTORY_CHUNK = 10_000;
/** How often a standby replays what the writer committed. */
const FOLLOW_INTERVAL_MS = 200;
/** How long a history read waits for the index before it is refused. */
const HISTORY_WAIT_MS = 30_000;
/** Document keys read per query by documentKeys(). */
const DOCUMENT_KEYS_PAGE = 10_000;

type View = Lookups & { ids(): Iterable<string> };

export interface PostgresStoreOptions {
  /** A libpq connection string (postgres://user@host:port/db; several hosts for failover). */
  url: string;
  assets?: readonly Asset[];
  /** The writer role: commits only while it is held. Absent: read-only (verify, tools). */
  role?: WriterRole;
  /** Connections for reads (documents, history, lookups). */
  pool_size?: number;
}

/** int8 as bigint: balances and timestamps do not fit a double. */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (text: string) => BigInt(text);
    return pg.types.getTypeParser(oid, format);
  },
};

export function clientConfig(url: string, application_name: string): pg.ClientConfig {
  return { connectionString: url, application_name, types: TYPES as pg.CustomTypesConfig, keepAlive: true };
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly prefetchesLookups = true;
  readonly pool: pg.Pool;
  private commitClient: pg.Client | undefined;
  private assetList: Asset[] = [];
  private chainHead: { seq: number; hash: Buffer } = { seq: 0, hash: GENESIS_HASH };
  private accountsByNo: readonly Account[] = [];
  private ids = new IdFilter(0);
  private readonly inflight: View[] = [];
  private commitFailure: Error | undefined;
  private lastCommit: Promise<unknown> = Promise.resolve();
  /** The newest transfer committed (or replayed, on a standby): what a history read must see. */
  private lastTransferTimestamp = 0n;
  private followTimer: NodeJS.Timeout | undefined;
  private following: Promise<void> = Promise.resolve();
  private followFailure: Error | undefined;
  private indexer: HistoryIndexer | undefined;
  private closed = false;

  private constructor(private readonly options: PostgresStoreOptions) {
    this.pool = new pg.Pool({ ...clientConfig(options.url, 'mari reads'), max: options.pool_size ?? 4 });
    // A lost connection (the server went away) must not crash the process, idle or checked out
    // between two queries: the next query on it fails instead, and that failure is handled.
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  /** Connects, applies pending migrations, and reads the assets. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      if (options.role) await migrate(store.pool, options.assets ?? DEFAULT_ASSETS);
      else await checkSchema(store.pool);
      const { rows } = await store.pool.query('SELECT code, scale, name FROM assets ORDER BY code');
      store.assetList = rows.map((row: Row) => ({ code: row.code as string, scale: Number(row.scale), name: row.name as string }));
    } catch (error) {
      await store.pool.end().catch(() => undefined);
      throw error;
    }
    return store;
  }

  get url(): string {
    return this.options.url;
  }

  assets(): Asset[] {
    return this.assetList.map((a) => ({ ...a }));
  }

  /** Loads the checkpoint, the live pendings at it and the records after it, from one snapshot. */
  async load(ledger: Ledger): Promise<void> {
    await this.snapshot(async (client) => {
      const checkpoint = await checkpointTimestamp(client);
      for (const row of (await client.query('SELECT * FROM accounts WHERE timestamp <= $1 ORDER BY no', [checkpoint])).rows) {
        ledger.addAccount(accountFromRow(row, false, unescapeText));
      }
      const byNo = (no: number) => ledger.accountsByNo[no];
      const pendings = await client.query(`SELECT * FROM transfers p WHERE flags & 2 != 0 AND timestamp <= $1
        AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = p.id AND r.timestamp <= $1) ORDER BY timestamp`, [checkpoint]);
      for (const row of pendings.rows) ledger.trackPending(transferFromRow(row, byNo, unescapeText));
      ledger.lastTimestamp = checkpoint;
      await this.replayAfter(client, ledger);
      this.accountsByNo = ledger.accountsByNo;
      await this.rebuildIdFilter(client);
    });
  }

  /** Replays every record after the ledger's last timestamp (read in the caller's snapshot). */
  private async replayAfter(client: pg.ClientBase, ledger: Ledger): Promise<number> {
    const after = ledger.lastTimestamp;
    const accounts = (await client.query('SELECT * FROM accounts WHERE timestamp > $1 ORDER BY timestamp', [after])).rows;
    const transfers = (await client.query('SELECT * FROM transfers WHERE timestamp > $1 ORDER BY timestamp', [after])).rows;
    const byNo = (no: number) => ledger.accountsByNo[no];
    for (const record of mergeRecords(accounts, transfers, byNo)) {
      ledger.replay(record);
      if (record.kind === 'transfer') {
        this.ids.add(record.transfer.id);
        this.lastTransferTimestamp = record.transfer.timestamp;
      }
    }
    const head = (await client.query('SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1')).rows[0] as Row | undefined;
    if (head) this.chainHead = { seq: Number(head.seq), hash: head.hash as Buffer };
    const last = (await client.query('SELECT coalesce(max(timestamp), 0) AS ts FROM transfers')).rows[0].ts as bigint;
    if (last > this.lastTransferTimestamp) this.lastTransferTimestamp = last;
    return accounts.length + transfers.length;
  }

  /** At load, before any commit (a full filter grows in place afterwards: IdFilter.grown). */
  private async rebuildIdFilter(client: pg.ClientBase): Promise<void> {
    const count = Number((await client.query('SELECT count(*) AS n FROM transfers')).rows[0].n);
    this.ids = IdFilter.rebuiltFor(count);
    // Keyset pages: no cursor held open, bounded memory.
    let after = -1n;
    for (;;) {
      const { rows } = await client.query('SELECT timestamp, id FROM transfers WHERE timestamp > $1 ORDER BY timestamp LIMIT 100000', [after]);
      for (const row of rows) this.ids.add(row.id as string);
      if (rows.length < 100_000) break;
      after = rows[rows.length - 1].timestamp as bigint;
    }
  }

  /** Runs `work` in one REPEATABLE READ, read-only transaction: everything it reads is one moment. */
  private async snapshot<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * A standby: replays what the writer commits, every FOLLOW_INTERVAL_MS, until stopFollowing().
   * A failure stops following (reads then show the state as of the last replay) and is kept.
   */
  follow(ledger: Ledger): void {
    if (this.followTimer || this.closed) return;
    this.followTimer = setInterval(() => {
      this.following = this.following.then(() => this.catchUp(ledger)).then(() => undefined, (error: Error) => {
        this.followFailure = error;
        clearInterval(this.followTimer);
      });
    }, FOLLOW_INTERVAL_MS);
    this.followTimer.unref();
  }

  get followError(): Error | undefined {
    return this.followFailure;
  }

  async stopFollowing(): Promise<void> {
    clearInterval(this.followTimer);
    this.followTimer = undefined;
    await this.following;
  }

  /** Replays everything committed since the ledger's last record; returns how many records. */
  catchUp(ledger: Ledger): Promise<number> {
    return this.snapshot((client) => this.replayAfter(client, ledger));
  }

  /**
   * Everything the next batch may ask about, in one query: transfers by id, resolutions by pending
   * id, reversals by original id. The id filter answers "new" for most ids without the database.
   */
  async lookups(ids: readonly string[]): Promise<Lookups> {
    // Batches still being written are consulted first; taken now, since they may land meanwhile.
    const inflight = [...this.inflight];
    const maybe = [...new Set(ids.filter((id) => this.ids.mightContain(id)))];
    const byId = new Map<string, Transfer>();
    const byPending = new Map<string, Transfer>();
    const byReversed = new Map<string, Transfer>();
    const asked = new Set(maybe);
    if (maybe.length > 0) {
      const { rows } = await this.pool.query(
        'SELECT * FROM transfers WHERE id = ANY($1::text[]) OR pending_id = ANY($1::text[]) OR reversal_of = ANY($1::text[])', [maybe]);
      const byNo = (no: number) => this.accountsByNo[no];
      for (const row of rows) {
        const t = transferFromRow(row, byNo, unescapeText);
        if (asked.has(t.id)) byId.set(t.id, t);
        if (t.pending_id !== null && asked.has(t.pending_id)) byPending.set(t.pending_id, t);
        if (t.reversal_of !== null && asked.has(t.reversal_of)) byReversed.set(t.reversal_of, t);
      }
    }
    const find = (lookup: (view: Lookups) => Transfer | undefined): Transfer | undefined => {
      for (let i = inflight.length - 1; i >= 0; i--) {
        const found = lookup(inflight[i]);
        if (found) return found;
      }
      return undefined;
    };
    // An id the batch did not declare cannot be answered from a prefetch: that is a caller's bug,
    // and answering "not found" could commit a duplicate, so it stops the writer instead.
    const declared = (id: string) => {
      if (this.ids.mightContain(id) && !asked.has(id)) throw new Error(`transfer id ${id} was looked up without being declared to the batch`);
    };
    return {
      transfer: (id) => find((v) => v.transfer(id)) ?? (declared(id), byId.get(id)),
      resolution: (id) => find((v) => v.resolution(id)) ?? (declared(id), byPending.get(id)),
      reversal: (id) => find((v) => v.reversal(id)) ?? (declared(id), byReversed.get(id)),
    };
  }

  /**
   * Sends one batch to mari_commit() and resolves once PostgreSQL committed it. The chain head,
   * the id filter and the in-flight view are updated before the first await, so the writer can
   * apply its next batch meanwhile. Commits go out in order on one connection.
   */
  commit(request: CommitRequest): Promise<JournalEntry | undefined> {
    if (this.commitFailure) return Promise.reject(this.commitFailure);
    const role = this.options.role;
    if (!role?.held) return Promise.reject(role?.lostWith ?? new Error('this process does not hold the writer role'));
    const client = this.commitClient;
    assert.ok(client, 'the store commits only after start()');
    const { records } = request;
    const entry = records.length > 0 ? makeEntry(this.chainHead.seq + 1, this.chainHead.hash, records, encodeRecords(records)) : undefined;
    if (entry) this.chainHead = { seq: entry.seq, hash: entry.hash };
    let lastTransfer = 0n;
    for (const record of records) {
      if (record.kind !== 'transfer') continue;
      this.ids.add(record.transfer.id);
      lastTransfer = record.transfer.timestamp;
    }
    const view = request.view ?? viewOf(records);
    this.inflight.push(view);
    const params = commitParams(role.epoch!, records, entry, request.documents ?? [], request.checkpoint);
    const done = client.query(COMMIT_SQL, params).then(
      () => {
        this.inflight.splice(this.inflight.indexOf(view), 1);
        if (lastTransfer > this.lastTransferTimestamp) this.lastTransferTimestamp = lastTransfer;
        this.indexer?.poke(false);
        if (this.ids.saturated) this.ids = this.ids.grown();
        return entry;
      },
      (error: Error & { code?: string }) => {
        const failure = error.code === 'MR001' ? new Error(`commit fenced off: ${error.message}`) : new Error(`commit of journal entry ${entry?.seq ?? '(documents)'} failed: ${error.message}`);
        this.commitFailure ??= failure;
        throw this.commitFailure;
      },
    );
    this.lastCommit = done.catch(() => undefined);
    return done;
  }

  /** Opens the commit connection and the history indexer: called once this process holds the role. */
  async start(): Promise<void> {
    if (this.commitClient) return;
    const client = new pg.Client(clientConfig(this.options.url, 'mari commits'));
    client.on('error', (error) => (this.commitFailure ??= new Error(`the commit connection failed: ${error.message}`)));
    await client.connect();
    this.commitClient = client;
    this.indexer = new HistoryIndexer(this.pool, this.options.role!, () => this.inflight.length > 0);
    this.indexer.poke(false);
  }

  async getTransfer(id: string): Promise<Transfer | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM transfers WHERE id = $1', [id]);
    return rows[0] ? transferFromRow(rows[0], (no) => this.accountsByNo[no], unescapeText) : undefined;
  }

  async accountHistory(account: Account, options: { limit: number; before?: bigint }): Promise<HistoryPage> {
    await this.historyUpToDate();
    const before = options.before ?? TIMESTAMP_END;
    const { rows } = await this.pool.query(`SELECT e.debits_pending AS a_dp, e.debits_posted AS a_dpo, e.credits_pending AS a_cp, e.credits_posted AS a_cpo, t.*
      FROM account_entries e JOIN transfers t ON t.timestamp = e.timestamp
      WHERE e.account_no = $1 AND e.timestamp < $2 ORDER BY e.timestamp DESC LIMIT $3`, [account.no, before, options.limit + 1]);
    const entries = rows.slice(0, options.limit).map((row: Row) => ({
      transfer: transferFromRow(row, (no) => this.accountsByNo[no], unescapeText),
      after: { debits_pending: row.a_dp as bigint, debits_posted: row.a_dpo as bigint, credits_pending: row.a_cp as bigint, credits_posted: row.a_cpo as bigint },
    }));
    const last = entries[entries.length - 1];
    return rows.length > options.limit && last ? { entries, next_before: last.transfer.timestamp } : { entries };
  }

  async balanceAt(account: Account, timestamp: bigint): Promise<Balances> {
    await this.historyUpToDate();
    const until = timestamp < TIMESTAMP_END ? timestamp + 1n : TIMESTAMP_END;
    const { rows } = await this.pool.query(
      'SELECT * FROM account_entries WHERE account_no = $1 AND timestamp < $2 ORDER BY timestamp DESC LIMIT 1', [account.no, until]);
    return rows[0] ? balancesFromRow(rows[0]) : zeroBalances();
  }

  /** Resolves once the history index holds every transfer this process has seen committed. */
  private async historyUpToDate(): Promise<void> {
    const target = this.lastTransferTimestamp;
    if (this.indexer) return this.indexer.waitFor(target);
    // A standby: the writer's indexer catches up within HISTORY_LAG_MS; wait for it.
    const deadline = Date.now() + HISTORY_WAIT_MS;
    while ((await historyWatermark(this.pool)) < target) {
      if (Date.now() > deadline) throw new Error('the history index is not catching up (is a writer running?)');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Verifies the journal as of one snapshot (read into memory: the verifier is synchronous). */
  async verify(onProgress?: (entries: number, total: number) => void): Promise<VerifyReport> {
    const source = await this.snapshot((client) => loadVerifySource(client));
    const total = source.entryCount();
    return verifyJournal(source, (entries) => onProgress?.(entries, total));
  }

  async document(collection: string, key: string): Promise<StoredDocument | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM documents WHERE collection = $1 AND key = $2', [collection, key]);
    return rows[0] ? documentFromRow(rows[0]) : undefined;
  }

  async *documents(collection: string, query: DocumentQuery = {}): AsyncIterable<StoredDocument> {
    const clauses = ['collection = $1'];
    const params: unknown[] = [collection];
    if (query.tag !== undefined) {
      params.push(query.tag);
      clauses.push(`tag = $${params.length}`);
    }
    if (query.prefix !== undefined && query.prefix !== '') {
      params.push(query.prefix);
      clauses.push(`key >= $${params.length} AND starts_with(key, $${params.length})`);
    }
    const sql = `SELECT * FROM documents WHERE ${clauses.join(' AND ')} AND key > $${params.length + 1} ORDER BY key LIMIT $${params.length + 2}`;
    let after = query.after ?? '';
    let left = query.limit ?? Infinity;
    while (left > 0) {
      const { rows } = await this.pool.query(sql, [...params, after, Math.min(1000, left)]);
      for (const row of rows) yield documentFromRow(row);
      if (rows.length < 1000) return;
      left -= rows.length;
      after = rows[rows.length - 1].key as string;
    }
  }

  async *documentKeys(collection: string): AsyncIterable<string> {
    let after = '';
    for (;;) {
      const { rows } = await this.pool.query('SELECT key FROM documents WHERE collection = $1 AND key > $2 ORDER BY key LIMIT $3', [collection, after, DOCUMENT_KEYS_PAGE]);
      for (const row of rows) yield row.key as string;
      if (rows.length < DOCUMENT_KEYS_PAGE) return;
      after = rows[rows.length - 1].key as string;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stopFollowing();
    await this.lastCommit;
    await this.indexer?.close();
    await this.commitClient?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}

const COMMIT_SQL = `SELECT mari_commit($1::bigint,
  $2::integer[], $3::text[], $4::text[], $5::integer[], $6::integer[], $7::text[], $8::bigint[],
  $9::bigint[], $10::text[], $11::integer[], $12::integer[], $13::bigint[], $14::text[], $15::bigint[], $16::text[], $17::integer[],
  $18::integer[], $19::bigint[], $20::text[], $21::text[],
  $22::bigint, $23::bigint, $24::bigint, $25::integer, $26::bytea, $27::bytea,
  $28::text[], $29::text[], $30::text[], $31::text[], $32::boolean[], $33::bigint,
  $34::bigint, $35::integer[], $36::bigint[], $37::bigint[], $38::bigint[], $39::bigint[])`;

/** Array literals built here: PostgreSQL parses them in C, far cheaper than a parameter per value. */
function numbers(values: readonly (number | bigint)[]): string {
  return `{${values.join(',')}}`;
}

function texts(values: readonly (string | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const v = values[i];
    out += v === null ? 'NULL' : `"${v.replace(/[\\"]/g, '\\$&')}"`;
  }
  return out + '}';
}

/**
 * user_data may hold any well-formed text, even U+0000, which PostgreSQL's text type refuses: it
 * is stored escaped (a NUL as \u0000, a backslash doubled) and unescaped when read.
 */
export function escapeText(value: string | null): string | null {
  return value === null || !/[\\\0]/.test(value) ? value : value.replace(/\\/g, '\\\\').replace(/\0/g, '\\0');
}

export function unescapeText(value: string | null): string | null {
  return value === null || !value.includes('\\') ? value : value.replace(/\\(\\|0)/g, (_, c: string) => (c === '0' ? '\0' : '\\'));
}

function commitParams(
  epoch: bigint, records: readonly JournalRecord[], entry: JournalEntry | undefined,
  documents: readonly DocumentWrite[], checkpoint: CommitRequest['checkpoint'],
): unknown[] {
  const a = { no: [] as number[], id: [] as string[], asset: [] as string[], code: [] as number[], flags: [] as number[], user_data: [] as (string | null)[], ts: [] as bigint[] };
  const t = {
    ts: [] as bigint[], id: [] as string[], debit: [] as number[], credit: [] as number[], amount: [] as bigint[], pending_id: [] as (string | null)[],
    pending_amount: [] as bigint[], asset: [] as string[], code: [] as number[], flags: [] as number[], timeout: [] as number[],
    user_data: [] as (string | null)[], reversal_of: [] as (string | null)[],
  };
  for (const record of records) {
    if (record.kind === 'account') {
      const x = record.account;
      a.no.push(x.no); a.id.push(x.id); a.asset.push(x.asset); a.code.push(x.code); a.flags.push(x.flags); a.user_data.push(escapeText(x.user_data)); a.ts.push(x.timestamp);
    } else {
      const x = record.transfer;
      t.ts.push(x.timestamp); t.id.push(x.id); t.debit.push(x.debit_account_no); t.credit.push(x.credit_account_no); t.amount.push(x.amount);
      t.pending_id.push(x.pending_id); t.pending_amount.push(x.pending_amount); t.asset.push(x.asset); t.code.push(x.code); t.flags.push(x.flags);
      t.timeout.push(x.timeout); t.user_data.push(escapeText(x.user_data)); t.reversal_of.push(x.reversal_of);
    }
  }
  // The last write of a key wins, as if applied in order: one row per key for the upsert.
  const latest = new Map<string, DocumentWrite>();
  for (const d of documents) {
    const k = `${d.collection}\u0000${d.key}`;
    latest.delete(k);
    latest.set(k, d);
  }
  const docs = [...latest.values()];
  const dirty = checkpoint ? [...checkpoint.dirty] : [];
  return [
    epoch.toString(),
    numbers(a.no), texts(a.id), texts(a.asset), numbers(a.code), numbers(a.flags), texts(a.user_data), numbers(a.ts),
    numbers(t.ts), texts(t.id), numbers(t.debit), numbers(t.credit), numbers(t.amount), texts(t.pending_id), numbers(t.pending_amount),
    texts(t.asset), numbers(t.code), numbers(t.flags), numbers(t.timeout), texts(t.user_data), texts(t.reversal_of),
    entry ? entry.seq : null, entry?.first_timestamp.toString() ?? null, entry?.last_timestamp.toString() ?? null, entry?.count ?? null,
    entry?.prev_hash ?? null, entry?.hash ?? null,
    texts(docs.map((d) => d.collection)), texts(docs.map((d) => d.key)), texts(docs.map((d) => d.tag ?? null)),
    texts(docs.map((d) => d.value ?? '')), `{${docs.map((d) => (d.value === null ? 't' : 'f')).join(',')}}`, Date.now(),
    checkpoint ? checkpoint.timestamp.toString() : null,
    numbers(dirty.map((x) => x.no)), numbers(dirty.map((x) => x.debits_pending)), numbers(dirty.map((x) => x.debits_posted)),
    numbers(dirty.map((x) => x.credits_pending)), numbers(dirty.map((x) => x.credits_posted)),
  ];
}

async function migrate(pool: pg.Pool, assets: readonly Asset[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    const applied = new Set((await client.query('SELECT version FROM schema_migrations')).rows.map((row: Row) => Number(row.version)));
    const newest = Math.max(0, ...applied);
    const known = MIGRATIONS[MIGRATIONS.length - 1].version;
    assert.ok(newest <= known, `the database was migrated by a newer mari (schema ${newest} > ${known})`);
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
    }
    for (const asset of assets) {
      await client.query('INSERT INTO assets (code, scale, name) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING', [asset.code, asset.scale, asset.name]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** A reader (verify) does not migrate: it refuses a database that is not a mari ledger it knows. */
async function checkSchema(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
  if (!rows[0].present) throw new Error('no mari ledger in this database (no schema_migrations table)');
  const newest = Number((await pool.query('SELECT coalesce(max(version), 0) AS v FROM schema_migrations')).rows[0].v);
  const known = MIGRATIONS[MIGRATIONS.length - 1].version;
  if (newest > known) throw new Error(`the database was migrated by a newer mari (schema ${newest} > ${known})`);
  if (newest < known) throw new Error(`the database's schema is older (${newest} < ${known}); start mari serve on it once to migrate`);
}

async function checkpointTimestamp(client: pg.ClientBase): Promise<bigint> {
  const { rows } = await client.query("SELECT value FROM meta WHERE key = 'checkpoint_timestamp'");
  return rows[0] ? BigInt(rows[0].value as string) : 0n;
}

async function historyWatermark(client: pg.Pool | pg.ClientBase): Promise<bigint> {
  const { rows } = await client.query("SELECT value FROM meta WHERE key = 'history_watermark'");
  return rows[0] ? BigInt(rows[0].value as string) : 0n;
}

/**
 * Builds account_entries from the journal behind the commits: per chunk, one transaction that
 * checks the fence, reads the transfers after the watermark, applies them to each account's
 * latest entry, and writes the new entries and the new watermark.
 */
class HistoryIndexer {
  private readonly running = new Map<number, Balances>();
  private watermark: bigint | undefined;
  private timer: NodeJS.Timeout | undefined;
  private work: Promise<void> = Promise.resolve();
  private scheduled = false;
  private failure: Error | undefined;
  private closed = false;

  /** History reads waiting: they never wait for a pause in the commits. */
  private readers = 0;
  private caughtUpAt = Date.now();

  constructor(
    private readonly pool: pg.Pool,
    private readonly role: WriterRole,
    /** Whether commits are in flight: the index is derived, so it leaves the server to them. */
    private readonly writerBusy: () => boolean,
  ) {}

  /** Whether to leave PostgreSQL to the commits for now (nobody reads, and the index is not too far behind). */
  private yieldToCommits(): boolean {
    return this.readers === 0 && this.writerBusy() && Date.now() - this.caughtUpAt < HISTORY_YIELD_MAX_MS;
  }

  /** Catch up now (a reader waits) or within HISTORY_LAG_MS (after a commit). */
  poke(now: boolean): void {
    if (this.closed) return;
    if (now) {
      clearTimeout(this.timer);
      this.timer = undefined;
      if (this.scheduled) return;
      this.scheduled = true;
      this.work = this.work.then(() => {
        this.scheduled = false;
        return this.catchUp();
      }).catch((error: Error) => {
        this.failure = error;
      });
      return;
    }
    if (this.timer || this.scheduled) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.yieldToCommits()) this.poke(false);
      else this.poke(true);
    }, HISTORY_LAG_MS);
    this.timer.unref();
  }

  /** Resolves once the index reaches `target`; a failed attempt is reported to the reader and retried by the next. */
  async waitFor(target: bigint): Promise<void> {
    this.readers += 1;
    try {
      for (;;) {
        if (this.watermark !== undefined && this.watermark >= target) return;
        if (this.closed) throw new Error('the store is closed');
        this.poke(true);
        await this.work;
        const failure = this.failure;
        this.failure = undefined;
        if (failure) throw new Error(`the history index could not catch up: ${failure.message}`);
      }
    } finally {
      this.readers -= 1;
    }
  }

  private async catchUp(): Promise<void> {
    while (!this.closed) {
      if ((await this.indexChunk()) < HISTORY_CHUNK) {
        this.caughtUpAt = Date.now();
        return;
      }
      // A backlog and commits still coming: the rest after a pause (or when someone reads).
      if (this.yieldToCommits()) {
        this.poke(false);
        return;
      }
    }
  }

  private async indexChunk(): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // The index is derived and its watermark commits with it: a chunk lost in a crash is
      // simply indexed again, so this commit need not wait for the disk (or the standby).
      await client.query('SET LOCAL synchronous_commit = off');
      const fenced = await client.query('SELECT 1 FROM writer_lease WHERE id = 1 AND epoch = $1 FOR SHARE', [this.role.epoch!.toString()]);
      if (fenced.rowCount !== 1) throw new Error('the history index is written only by the writer');
      const watermark = await historyWatermark(client);
      if (this.watermark !== watermark) this.running.clear();
      const { rows } = await client.query(
        'SELECT timestamp, debit_no, credit_no, amount, pending_amount, flags FROM transfers WHERE timestamp > $1 ORDER BY timestamp LIMIT $2',
        [watermark, HISTORY_CHUNK]);
      if (rows.length === 0) {
        // Nothing after the watermark: every transfer committed before this snapshot is indexed.
        await client.query('COMMIT');
        this.watermark = watermark;
        return 0;
      }
      const missing = new Set<number>();
      for (const row of rows) for (const no of [Number(row.debit_no), Number(row.credit_no)]) if (!this.running.has(no)) missing.add(no);
      if (missing.size > 0) {
        // Each account's latest entry, found by the primary key (account_no, timestamp) backwards.
        const loaded = await client.query(`SELECT u.no, e.* FROM unnest($1::integer[]) AS u(no)
          CROSS JOIN LATERAL (SELECT * FROM account_entries WHERE account_no = u.no ORDER BY timestamp DESC LIMIT 1) e`, [numbers([...missing])]);
        for (const row of loaded.rows) this.running.set(Number(row.no), balancesFromRow(row));
        for (const no of missing) if (!this.running.has(no)) this.running.set(no, zeroBalances());
      }
      const e = { no: [] as number[], ts: [] as bigint[], dp: [] as bigint[], dpo: [] as bigint[], cp: [] as bigint[], cpo: [] as bigint[] };
      for (const row of rows) {
        const debit_no = Number(row.debit_no);
        const credit_no = Number(row.credit_no);
        const debit = this.running.get(debit_no)!;
        const credit = this.running.get(credit_no)!;
        applyTransfer({ flags: Number(row.flags), amount: row.amount as bigint, pending_amount: row.pending_amount as bigint } as Transfer, debit, credit);
        for (const [no, b] of [[debit_no, debit], [credit_no, credit]] as const) {
          e.no.push(no); e.ts.push(row.timestamp as bigint); e.dp.push(b.debits_pending); e.dpo.push(b.debits_posted); e.cp.push(b.credits_pending); e.cpo.push(b.credits_posted);
        }
      }
      await client.query('INSERT INTO account_entries SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])',
        [numbers(e.no), numbers(e.ts), numbers(e.dp), numbers(e.dpo), numbers(e.cp), numbers(e.cpo)]);
      const last = rows[rows.length - 1].timestamp as bigint;
      await client.query("INSERT INTO meta VALUES ('history_watermark', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [last.toString()]);
      await client.query('COMMIT');
      this.watermark = last;
      return rows.length;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      // The cache may hold balances of a rolled-back chunk: reload from the table next time.
      this.running.clear();
      this.watermark = undefined;
      throw error;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.work;
  }
}

/** Reads the whole journal of one snapshot into memory and answers the verifier from it. */
async function loadVerifySource(client: pg.ClientBase): Promise<VerifySource> {
  const accountsRows = (await client.query('SELECT * FROM accounts ORDER BY no')).rows;
  const accounts = accountsRows.map((row: Row) => accountFromRow(row, false, unescapeText));
  const byNo = (no: number) => accounts[no];
  const transfers = (await client.query('SELECT * FROM transfers ORDER BY timestamp')).rows.map((row: Row) => transferFromRow(row, byNo, unescapeText));
  const records: JournalRecord[] = [];
  const byTimestamp = [...accounts].sort((x, y) => (x.timestamp < y.timestamp ? -1 : 1));
  let ai = 0;
  let ti = 0;
  while (ai < byTimestamp.length || ti < transfers.length) {
    if (ai < byTimestamp.length && (ti >= transfers.length || byTimestamp[ai].timestamp < transfers[ti].timestamp)) {
      records.push({ kind: 'account', account: { ...byTimestamp[ai++], ...zeroBalances() } });
    } else {
      records.push({ kind: 'transfer', transfer: transfers[ti++] });
    }
  }
  const timestamps = records.map((r) => (r.kind === 'account' ? r.account.timestamp : r.transfer.timestamp));
  const entries: JournalEntry[] = (await client.query('SELECT * FROM journal ORDER BY seq')).rows.map((row: Row) => ({
    seq: Number(row.seq), first_timestamp: row.first_timestamp as bigint, last_timestamp: row.last_timestamp as bigint,
    count: Number(row.count), prev_hash: row.prev_hash as Buffer, hash: row.hash as Buffer,
  }));
  const transferById = new Map(transfers.map((t) => [t.id, t]));
  const checkpoint = await checkpointTimestamp(client);
  const watermark = await historyWatermark(client);
  const history = new Map<string, Balances>();
  for (const row of (await client.query('SELECT * FROM account_entries')).rows) history.set(`${row.account_no}:${row.timestamp}`, balancesFromRow(row));
  return {
    entries: () => entries,
    entryCount: () => entries.length,
    records: (first, last) => records.slice(lowerBound(timestamps, first), lowerBound(timestamps, last + 1n)),
    transfer: (id) => transferById.get(id),
    recordCount: () => records.length,
    checkpoint: () => ({
      timestamp: checkpoint,
      accounts: accounts.filter((a) => a.timestamp <= checkpoint).map((a) => ({
        id: a.id, no: a.no, debits_pending: a.debits_pending, debits_posted: a.debits_posted, credits_pending: a.credits_pending, credits_posted: a.credits_posted,
      })),
    }),
    history: () => ({
      watermark,
      entry: (no, timestamp) => history.get(`${no}:${timestamp}`),
      entryCount: (up_to) => {
        let n = 0;
        for (const key of history.keys()) if (BigInt(key.slice(key.indexOf(':') + 1)) <= up_to) n++;
        return n;
      },
    }),
  };
}

function lowerBound(sorted: readonly bigint[], value: bigint): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function* mergeRecords(accounts: Row[], transfers: Row[], byNo: (no: number) => Account | undefined): Generator<JournalRecord> {
  let ai = 0;
  let ti = 0;
  while (ai < accounts.length || ti < transfers.length) {
    if (ai < accounts.length && (ti >= transfers.length || (accounts[ai].timestamp as bigint) < (transfers[ti].timestamp as bigint))) {
      yield { kind: 'account', account: accountFromRow(accounts[ai++], true, unescapeText) };
    } else {
      // Decoded when reached: accounts created earlier in this replay resolve by number.
      yield { kind: 'transfer', transfer: transferFromRow(transfers[ti++], byNo, unescapeText) };
    }
  }
}





function viewOf(records: readonly JournalRecord[]): View {
  const byId = new Map<string, Transfer>();
  const byPending = new Map<string, Transfer>();
  const byReversed = new Map<string, Transfer>();
  for (const record of records) {
    if (record.kind !== 'transfer') continue;
    const t = record.transfer;
    byId.set(t.id, t);
    if (t.pending_id !== null) byPending.set(t.pending_id, t);
    if (t.reversal_of !== null) byReversed.set(t.reversal_of, t);
  }
  return { transfer: (id) => byId.get(id), resolution: (id) => byPending.get(id), reversal: (id) => byReversed.get(id), ids: () => byId.keys() };
}

/**
 * A libpq-style multi-host URL (postgres://user@h1:5432,h2:5432/db) names the primary and its
 * standbys; node-postgres connects to one host, so the first that accepts writes (not in recovery)
 * is chosen at open. After a failover, reopening (a restart of mari) finds the promoted standby.
 */
export async function resolvePrimary(url: string, timeout_ms = 3000): Promise<string> {
  const match = /^(postgres(?:ql)?:\/\/(?:[^@/]*@)?)([^/?#]*)(.*)$/.exec(url);
  if (!match || !match[2].includes(',')) return url;
  const [, prefix, hosts, rest] = match;
  const tried: string[] = [];
  for (const host of hosts.split(',')) {
    const candidate = `${prefix}${host}${rest}`;
    const client = new pg.Client({ connectionString: candidate, connectionTimeoutMillis: timeout_ms });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query('SELECT pg_is_in_recovery() AS standby');
      if (!rows[0].standby) return candidate;
      tried.push(`${host}: a standby`);
    } catch (error) {
      tried.push(`${host}: ${(error as Error).message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw new Error(`no host accepts writes (${tried.join('; ')})`);
}
