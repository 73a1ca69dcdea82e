// mari serve: the ledger on the embedded store, the HTTP API, until SIGINT or SIGTERM.
import { loadConfig } from '../../config.js';
import { KeyStore } from '../../auth/keys.js';
import { buildApp } from '../../channels/http/app.js';
import { createLogger } from '../../log.js';
import { openLedger } from '../../store/open.js';
import type { FastifyInstance } from 'fastify';
import { openPlatform, type Platform } from '../../platform.js';
import { parse, type Command } from '../args.js';

export const serve: Command = {
  name: 'serve',
  summary: 'serve the ledger and its HTTP API',
  usage: `mari serve [--data-dir DIR] [--store postgres://…] [--port N] [--host HOST]

Opens (or creates) the ledger in the data directory, checks its invariants, and serves the
HTTP API. On the first start with no API key it creates an operator key and prints it once.
Stops cleanly on SIGINT/SIGTERM (queued transfers are committed first).

  --data-dir DIR   data directory (default: MARI_DATA_DIR or ./data)
  --store URL      keep the ledger in PostgreSQL (default: MARI_STORE; else SQLite in the data
                   directory). Several processes may share one database: one writes, the others
                   serve reads, answer writes with not_writer, and take over if the writer dies.
  --port N         port (default: PORT or 8080; 0 picks a free one)
  --host HOST      address to listen on (default: HOST or 127.0.0.1)

Environment: MARI_DATA_DIR, MARI_STORE, PORT, HOST, MARI_LOG_LEVEL, MARI_API_KEYS (key:role,...),
MARI_BODY_BYTES_MAX, MARI_BATCH_EVENTS_MAX, MARI_PAGE_SIZE_DEFAULT, MARI_PAGE_SIZE_MAX,
MARI_COMMIT_EVENTS_MAX.`,
  async run(argv) {
    const { values } = parse(argv, { 'data-dir': { type: 'string' }, store: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } });
    const overrides = {
      ...(values['data-dir'] ? { data_dir: values['data-dir'] } : {}),
      ...(values.store ? { store: values.store } : {}),
      ...(values.port !== undefined ? { port: Number(values.port) } : {}),
      ...(values.host ? { host: values.host } : {}),
    };
    const config = loadConfig(process.env, overrides);
    const logger = createLogger(config.log_level);
    const handle = await openLedger({
      dataDir: config.data_dir, store: config.store, address: `http://${config.host}:${config.port}`,
      writer: { commit_events_max: config.commit_events_max },
    });
    // PostgreSQL: a writer that lost the role must not go on serving what it holds in memory: it
    // exits, and a restart makes it a standby.
    handle.role?.on('lost', (error) => {
      logger.fatal({ err: error }, 'lost the writer role');
      process.exit(70);
    });
    handle.writer.on('fatal', (error) => {
      // The ledger in memory may be ahead of the disk: stop, and let a restart reload from the journal.
      logger.fatal({ err: error }, 'ledger writer stopped');
      process.exit(70);
    });
    const keys = KeyStore.open(config);
    if (keys.list().length === 0) {
      const key = keys.create('operator', 'first operator key');
      console.log(`Created the first operator API key (shown once; only its hash is kept):\n  ${key}\n` +
        `Use it as: Authorization: Bearer ${key}\nMore keys: mari keys create --role operator|auditor`);
    }
    // A standby serves the ledger's routes only: product modules keep state in memory and run
    // senders, so they open only in the process that writes, from the documents as they are then.
    let platform: Platform | undefined;
    let app: FastifyInstance;
    let port = config.port;
    const start = async () => {
      platform = handle.role && !handle.role.writing ? undefined : await openPlatform(handle, config);
      app = await buildApp({ handle, config, keys, logger, modules: platform?.modules.values() ?? [] });
      const address = await app.listen({ port, host: config.host });
      port = Number(new URL(address).port);
      await handle.role?.announce(address);
      return address;
    };
    let stopping = false;
    let restarting: Promise<unknown> = Promise.resolve();
    handle.role?.on('promoted', () => {
      logger.info('this process took over the writer role; opening the product modules');
      restarting = (async () => {
        await app.close();
        if (!stopping) await start();
      })().catch((error: Error) => {
        logger.fatal({ err: error }, 'could not open the platform after taking over');
        process.exit(70);
      });
    });
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      await restarting;
      await app.close();
      await (platform ? platform.close() : handle.close());
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
    const address = await start();
    const where = config.store ? `PostgreSQL ${redact(config.store)}, ${handle.role?.writing ? 'writer' : `standby of ${handle.role?.writer ?? 'another process'}`}` : `data in ${config.data_dir}`;
    console.log(`mari listening on ${address} (${where}, ${handle.ledger.accounts.size} accounts)`);
    return new Promise<number>(() => {});
  },
};

/** A connection string without its password, for logs. */
export function redact(url: string): string {
  return url.replace(/(:\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}
