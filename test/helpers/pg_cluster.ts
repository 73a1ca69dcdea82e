// PostgreSQL clusters of the tests' own: initdb into a temporary directory, on a port of their own
// (never the machine's server), a primary and a streaming replica made with pg_basebackup. The
// server refuses to run as root, so when the tests run as root the clusters run as 'postgres'.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
  if (versions.length === 0) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)');
  return path.join(root, versions.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL binary, as 'postgres' when we are root. */
function run(binary: string, args: string[]): string {
  const file = path.join(binDir(), binary);
  const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  return execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Clusters still running: stopped when the process exits, whatever way the tests end. */
const running = new Set<Cluster>();
process.once('exit', () => {
  for (const cluster of running) cluster.destroy();
});

export class Cluster {
  constructor(readonly dir: string, readonly port: number) {
    running.add(this);
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  urlOf(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  start(): void {
    run('pg_ctl', ['-D', this.dir, '-l', path.join(this.dir, 'server.log'), '-w', '-t', '60', 'start']);
  }

  /** The postmaster's pid, from postmaster.pid. */
  pid(): number {
    return Number(fs.readFileSync(path.join(this.dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  promote(): void {
    run('pg_ctl', ['-D', this.dir, '-w', '-t', '60', 'promote']);
  }

  /** Sets a server setting with ALTER SYSTEM and reloads. */
  async set(setting: string, value: string): Promise<void> {
    await this.query(`ALTER SYSTEM SET ${setting} = '${value}'`);
    await this.query('SELECT pg_reload_conf()');
  }

  /** Stops it if it runs (immediate: the tests are done with it), and removes its files. */
  destroy(): void {
    running.delete(this);
    if (fs.existsSync(path.join(this.dir, 'postmaster.pid'))) {
      spawnSync(asRoot ? 'runuser' : path.join(binDir(), 'pg_ctl'),
        asRoot ? ['-u', 'postgres', '--', path.join(binDir(), 'pg_ctl'), '-D', this.dir, '-m', 'immediate', '-w', 'stop'] : ['-D', this.dir, '-m', 'immediate', '-w', 'stop']);
    }
    fs.rmSync(path.dirname(this.dir), { recursive: true, force: true });
  }

  async query(sql: string, database = 'postgres'): Promise<pg.QueryResult> {
    const client = new pg.Client({ connectionString: this.urlOf(database) });
    await client.connect();
    try {
      return await client.query(sql);
    } finally {
      await client.end();
    }
  }
}

function tempDirFor(name: string): string {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), `mari-pg-${name}-`));
  const dir = path.join(parent, 'data');
  fs.mkdirSync(dir, { mode: 0o700 });
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', parent]);
  return dir;
}

function conf(cluster: Cluster, lines: string[]): void {
  fs.appendFileSync(path.join(cluster.dir, 'postgresql.conf'), lines.join('\n') + '\n');
}

/**
 * A primary on `port` and a synchronous streaming replica on `port + 1`: a commit on the primary
 * returns only once the replica has flushed it (synchronous_standby_names, synchronous_commit on).
 */
export async function primaryWithReplica(port: number): Promise<{ primary: Cluster; replica: Cluster }> {
  const made: Cluster[] = [];
  try {
    return await setUp(port, made);
  } catch (error) {
    for (const cluster of made) cluster.destroy();
    throw error;
  }
}

async function setUp(port: number, made: Cluster[]): Promise<{ primary: Cluster; replica: Cluster }> {
  const primary = new Cluster(tempDirFor('primary'), port);
  run('initdb', ['-D', primary.dir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const common = [`listen_addresses = '127.0.0.1'`, `unix_socket_directories = '${path.dirname(primary.dir)}'`, 'fsync = on', 'synchronous_commit = on',
    'shared_buffers = 64MB', 'max_connections = 50'];
  conf(primary, [...common, `port = ${port}`, 'wal_level = replica', 'max_wal_senders = 4', `synchronous_standby_names = 'replica1'`]);
  made.push(primary);
  primary.start();
  const replica = new Cluster(tempDirFor('replica'), port + 1);
  made.push(replica);
  fs.rmdirSync(replica.dir);
  run('pg_basebackup', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-D', replica.dir, '-R', '-X', 'stream', '--no-sync']);
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', replica.dir]);
  conf(replica, [`port = ${port + 1}`, `unix_socket_directories = '${path.dirname(replica.dir)}'`]);
  // pg_basebackup -R wrote primary_conninfo into postgresql.auto.conf, which wins over postgresql.conf.
  fs.appendFileSync(path.join(replica.dir, 'postgresql.auto.conf'), `primary_conninfo = 'host=127.0.0.1 port=${port} user=postgres application_name=replica1'\n`);
  replica.start();
  for (let i = 0; ; i++) {
    const { rows } = await primary.query("SELECT sync_state FROM pg_stat_replication WHERE application_name = 'replica1'");
    if (rows[0]?.sync_state === 'sync') break;
    if (i > 600) throw new Error('the replica did not become a synchronous standby');
    await sleep(50);
  }
  return { primary, replica };
}
