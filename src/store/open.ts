// Opens a data directory: the store, the ledger loaded from it (invariants checked), and the writer.
import { Ledger } from '../ledger/ledger.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';
import { Writer, WRITER_DEFAULTS, type WriterOptions } from './writer.js';

export interface LedgerHandle {
  ledger: Ledger;
  store: Store;
  writer: Writer;
  close(): Promise<void>;
}

export interface OpenOptions {
  dataDir: string;
  writer?: Partial<WriterOptions>;
  /** The ledger's clock (nanoseconds since the epoch); tests pass a controllable one. */
  clock?: () => bigint;
}

export async function openLedger(options: OpenOptions): Promise<LedgerHandle> {
  const store = new SqliteStore({ dataDir: options.dataDir });
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
