// Opens a ledger: the store (SQLite in a data directory, or PostgreSQL by URL), the ledger loaded
// from it (invariants checked), and the writer. On PostgreSQL several processes may open one
// database: the one that holds the writer role writes, the others are standbys that follow the
// journal, serve reads, refuse writes with not_writer, and take over when the role comes free.
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { RequestError } from '../errors/registry.js';
import { Ledger } from '../ledger/ledger.js';
import { PostgresStore, resolvePrimary } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';
import { Writer, WRITER_DEFAULTS, type WriterOptions } from './writer.js';
import { WriterRole, WRITER_ROLE_DEFAULTS, type WriterRoleOptions } from './writer_role.js';

export interface LedgerHandle<S extends Store = Store> {
  ledger: Ledger;
  store: S;
  writer: Writer;
  /** PostgreSQL only: this process's part in the writer role ('promoted' when a standby takes over, 'lost' when the role is lost). */
  role?: StoreRole;
  close(): Promise<void>;
}

export interface StoreRole extends EventEmitter<{ promoted: []; lost: [Error] }> {
  /** Whether this process writes now. */
  readonly writing: boolean;
  /** The writer's address as it recorded it, when this process is a standby. */
  readonly writer: string | undefined;
  /** Ends the lock session at once, as a crash would (tests; close() does it in order). */
  resign(): Promise<void>;
  /** Where clients reach this process, once it listens: standbys name it while it writes. */
  announce(address: string): Promise<void>;
}

export interface OpenOptions {
  /** The SQLite data directory (when `store` is not a PostgreSQL URL). */
  dataDir?: string;
  /** `postgres://…` or `postgresql://…` for PostgreSQL; otherwise SQLite in `dataDir`. */
  store?: string;
  /** Where clients reach this process: standbys name it when they refuse a write. */
  address?: string;
  writer?: Partial<WriterOptions>;
  role?: Partial<WriterRoleOptions>;
  /** SQLite only: an empty history index this far behind is built in one pass (tests lower it). */
  history_bulk_minimum?: number;
  /** SQLite only: how far behind the last commit the history index may fall while nobody reads it. */
  history_lag_ms?: number;
  /** The ledger's clock (nanoseconds since the epoch); tests pass a controllable one. */
  clock?: () => bigint;
}

export function isPostgresUrl(store: string | undefined): store is string {
  return store !== undefined && /^postgres(ql)?:\/\//.test(store);
}

export function openLedger(options: OpenOptions & { store?: undefined; dataDir: string }): Promise<LedgerHandle<SqliteStore>>;
export function openLedger(options: OpenOptions): Promise<LedgerHandle>;
export async function openLedger(options: OpenOptions): Promise<LedgerHandle> {
  if (isPostgresUrl(options.store)) return openPostgres(options.store, options);
  const dataDir = options.store ?? options.dataDir;
  if (dataDir === undefined) throw new Error('openLedger needs a data directory or a postgres:// URL');
  const store = new SqliteStore({ dataDir, history_bulk_minimum: options.history_bulk_minimum, history_lag_ms: options.history_lag_ms });
  const ledger = new Ledger({ assets: store.assets(), clock: options.clock });
  await store.load(ledger);
  ledger.checkInvariants();
  const writer = new Writer(ledger, store, { ...WRITER_DEFAULTS, ...options.writer });
  let closing: Promise<void> | undefined;
  return {
    ledger,
    store,
    writer,
    close() {
      closing ??= writer.close().then(() => store.close());
      return closing;
    },
  };
}

class PostgresRole extends EventEmitter<{ promoted: []; lost: [Error] }> implements StoreRole {
  writing = false;
  writer: string | undefined;

  constructor(private readonly role: WriterRole) {
    super();
  }

  resign(): Promise<void> {
    this.writing = false;
    return this.role.close();
  }

  async announce(address: string): Promise<void> {
    await this.role.announce(address);
    if (this.writing) this.writer = address;
  }
}

async function openPostgres(given: string, options: OpenOptions): Promise<LedgerHandle<PostgresStore>> {
  const url = await resolvePrimary(given);
  const role = new WriterRole(url, options.address ?? `pid ${process.pid} on ${os.hostname()}`, { ...WRITER_ROLE_DEFAULTS, ...options.role });
  let store: PostgresStore | undefined;
  try {
    store = await PostgresStore.open({ url, role });
    await role.tryAcquire();
  } catch (error) {
    await role.close();
    await store?.close();
    throw error;
  }
  const ledger = new Ledger({ assets: store.assets(), clock: options.clock });
  const state = new PostgresRole(role);
  const refusal = () => new RequestError('not_writer', { writer: state.writer ?? null },
    state.writer ? `This mari process is a standby; the writer is ${state.writer}. Send writes there, or retry here with the same ids.` : undefined);
  const writer = await (async () => {
    try {
      await store.load(ledger);
      ledger.checkInvariants();
      return new Writer(ledger, store, { ...WRITER_DEFAULTS, ...options.writer }, () => (state.writing ? undefined : refusal()));
    } catch (error) {
      await role.close();
      await store.close();
      throw error;
    }
  })();
  let watcher: NodeJS.Timeout | undefined;
  const lookUpWriter = () => void WriterRole.holder(store.pool).then((holder) => (state.writer = holder), () => undefined);
  const promote = async () => {
    // The role is ours (and the epoch bumped: the old writer can commit nothing more). Replay what
    // it committed, then write.
    clearInterval(watcher);
    await store.stopFollowing();
    await store.catchUp(ledger);
    ledger.checkInvariants();
    await store.start();
    state.writing = true;
    state.writer = role.address;
    writer.promote();
    state.emit('promoted');
  };
  role.on('lost', (error) => {
    state.writing = false;
    state.emit('lost', error);
  });
  if (role.held) {
    await store.start();
    state.writing = true;
    state.writer = role.address;
    writer.promote();
  } else {
    store.follow(ledger);
    lookUpWriter();
    watcher = setInterval(lookUpWriter, 1000);
    watcher.unref();
    role.once('acquired', () => void promote().catch((error: Error) => {
      state.emit('lost', error);
      void role.close();
    }));
  }
  role.start();
  let closing: Promise<void> | undefined;
  return {
    ledger,
    store,
    writer,
    role: state,
    close() {
      clearInterval(watcher);
      closing ??= writer.close().then(() => store.close()).finally(() => role.close());
      return closing;
    },
  };
}
