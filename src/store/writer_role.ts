// The writer role on PostgreSQL: several mari processes may share one database, exactly one of them
// writes. The role is a session advisory lock held on a dedicated connection. Whoever takes the
// lock bumps writer_lease.epoch and commits only with that epoch (checked under a row lock inside
// every commit), so a writer that lost its lock, however it lost it (crashed, stopped, cut off),
// can never commit again: two writers at once are impossible, not just unlikely.
//
// A process that is stopped (SIGSTOP, a long pause) or cut off keeps its TCP connection open as
// far as the server knows; the lock session therefore sets idle_session_timeout and keepalives, and
// the holder pings it every heartbeat: a holder that stops pinging loses the session and the lock
// within `session_timeout_ms`, and a standby takes over.
import { EventEmitter } from 'node:events';
import pg from 'pg';

/** The advisory lock key: 'mari' in ASCII. */
export const WRITER_LOCK_KEY = 0x6d617269;

export interface WriterRoleOptions {
  /** How often the holder pings its lock session (and a standby retries the lock). */
  heartbeat_ms: number;
  /**
   * The server ends a lock session idle this long: how fast a stopped or cut-off holder is
   * replaced. It must exceed the longest stall of this process's event loop (which sends the
   * heartbeats) under load, or a busy writer loses its role. A holder that crashes is replaced at
   * once whatever this is: the server sees its connection close.
   */
  session_timeout_ms: number;
}

export const WRITER_ROLE_DEFAULTS: WriterRoleOptions = Object.freeze({ heartbeat_ms: 500, session_timeout_ms: 10_000 });

export class WriterRole extends EventEmitter<{ acquired: [bigint]; lost: [Error] }> {
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private busy = false;
  /** The epoch this process writes with, once it holds the role. */
  epoch: bigint | undefined;
  lostWith: Error | undefined;

  constructor(
    private readonly url: string,
    /** Where clients reach this process (named to clients refused by a standby). */
    public address: string,
    private readonly options: WriterRoleOptions = WRITER_ROLE_DEFAULTS,
  ) {
    super();
  }

  get held(): boolean {
    return this.epoch !== undefined && this.lostWith === undefined;
  }

  /** One attempt: takes the lock if free, and then the next epoch. */
  async tryAcquire(): Promise<boolean> {
    if (this.closed || this.epoch !== undefined) return this.held;
    const client = await this.connect();
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [WRITER_LOCK_KEY]);
    if (!rows[0].locked) return false;
    // Waits for any commit of the previous holder still running (it holds the lease row FOR SHARE).
    const lease = await client.query<{ epoch: string }>(
      'UPDATE writer_lease SET epoch = epoch + 1, holder = $1, since = now() WHERE id = 1 RETURNING epoch::text', [this.address]);
    this.epoch = BigInt(lease.rows[0].epoch);
    this.emit('acquired', this.epoch);
    return true;
  }

  /** Keeps trying until this process holds the role (a standby), then keeps the session alive. */
  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.tick(), this.options.heartbeat_ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.busy || this.closed) return;
    this.busy = true;
    try {
      if (this.epoch === undefined) await this.tryAcquire();
      else if (this.lostWith === undefined) await this.client!.query('SELECT 1');
    } catch (error) {
      if (this.epoch !== undefined) this.lose(error as Error);
      else this.dropClient();
    } finally {
      this.busy = false;
    }
  }

  private lose(error: Error): void {
    if (this.lostWith) return;
    this.lostWith = new Error(`lost the writer role: ${error.message}`);
    clearInterval(this.timer);
    this.dropClient();
    this.emit('lost', this.lostWith);
  }

  private async connect(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ connectionString: this.url, application_name: 'mari writer role', keepAlive: true, keepAliveInitialDelayMillis: 1000 });
    client.on('error', (error) => (this.epoch !== undefined ? this.lose(error) : this.dropClient()));
    this.client = client;
    try {
      await client.connect();
      const seconds = Math.max(1, Math.ceil(this.options.session_timeout_ms / 1000));
      await client.query(`SET idle_session_timeout = '${this.options.session_timeout_ms}ms'; SET tcp_keepalives_idle = ${seconds};
        SET tcp_keepalives_interval = 1; SET tcp_keepalives_count = ${seconds}`);
    } catch (error) {
      this.dropClient();
      throw error;
    }
    return client;
  }

  private dropClient(): void {
    const client = this.client;
    this.client = undefined;
    client?.end().catch(() => undefined);
  }

  /** Sets this process's address (once it listens), and records it if this process writes. */
  async announce(address: string): Promise<void> {
    this.address = address;
    if (!this.held || !this.client) return;
    await this.client.query('UPDATE writer_lease SET holder = $1 WHERE id = 1 AND epoch = $2', [address, this.epoch!.toString()]);
  }

  /** Who holds the role now, as recorded by its last taker (an address), or undefined. */
  static async holder(pool: pg.Pool): Promise<string | undefined> {
    const { rows } = await pool.query<{ holder: string | null; held: boolean }>(
      `SELECT holder, EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND classid = 0 AND objid = $1 AND objsubid = 1 AND granted) AS held FROM writer_lease WHERE id = 1`,
      [WRITER_LOCK_KEY]);
    return rows[0]?.held ? rows[0].holder ?? undefined : undefined;
  }

  /** Gives the role up (the lock ends with its session). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    const client = this.client;
    this.client = undefined;
    if (client) await client.end().catch(() => undefined);
  }
}
