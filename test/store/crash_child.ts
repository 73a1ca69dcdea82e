// Crash-test child: opens a data dir with openLedger and takes concurrent load, printing "ack <id> <result>" only after each commit is acknowledged.
// Run as `node dist/test/store/crash_child.js run <dataDir> <seed> <checkpoint_interval_ms>`; without "run" it does
// nothing (the test runner loads every file under test/). The workload is a pure function of the seed, so
// the parent can regenerate and retry exactly the same requests.
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import type { AccountInput, TransferInput } from '../../src/ledger/types.js';
import { AccountFlag, TransferFlag } from '../../src/ledger/types.js';

export const WALLETS = 40;
export const MERCHANTS = 4;
/** Calls in flight at once. */
export const IN_FLIGHT = 64;

export function accounts(): AccountInput[] {
  const D = AccountFlag.debits_must_not_exceed_credits;
  return [
    { id: 'bank', asset: 'USD', code: 1 },
    { id: 'fee', asset: 'USD', code: 2, flags: D },
    ...Array.from({ length: MERCHANTS }, (_, i) => ({ id: `m${i}`, asset: 'USD', code: 3, flags: D })),
    ...Array.from({ length: WALLETS }, (_, i) => ({ id: `w${i}`, asset: 'USD', code: 4, flags: D })),
  ];
}

export interface Call {
  /** Index of a call that must have answered before this one is sent (a post after its pending). */
  after?: number;
  transfers: TransferInput[];
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The funding call, then the load: linked payments with a fee leg into one hot account, plain batches, holds and their captures, reversals. */
export function workload(seed: number, calls = 4000): Call[] {
  const rand = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const wallet = () => `w${int(0, WALLETS - 1)}`;
  const merchant = () => `m${int(0, MERCHANTS - 1)}`;
  const L = TransferFlag.linked;
  const p = `s${seed}`;
  const t = (id: string, debit: string, credit: string, amount: number, flags = 0): TransferInput =>
    ({ id, debit_account_id: debit, credit_account_id: credit, amount: BigInt(amount), asset: 'USD', code: 1, flags });
  const out: Call[] = [{ transfers: Array.from({ length: WALLETS }, (_, i) => t(`${p}-fund-${i}`, 'bank', `w${i}`, 20_000)) }];
  for (let k = 1; out.length < calls; k++) {
    const id = (j: number | string) => `${p}-${k}-${j}`;
    const r = rand();
    if (r < 0.45) {
      // A payment: wallet to wallet (or merchant), its fee into the hot fee account; all or nothing.
      const from = wallet();
      let to = rand() < 0.7 ? wallet() : merchant();
      if (to === from) to = 'm0';
      const chain = [t(id(0), from, to, int(1, 300), L), t(id(1), from, 'fee', int(1, 5), rand() < 0.3 ? L : 0)];
      if (chain[1].flags) chain.push(t(id(2), from, merchant(), int(1, 50)));
      out.push({ transfers: chain });
      // Now and then a client sends the same request twice at once: the second answer (exists) may
      // rest on records still being written, and must not be acknowledged before they are durable.
      if (rand() < 0.05) out.push({ transfers: chain });
    } else if (r < 0.8) {
      // A plain batch of 1-20, some of them linked pairs.
      const n = int(1, 20);
      const transfers: TransferInput[] = [];
      for (let j = 0; j < n; j++) {
        const from = rand() < 0.1 ? 'bank' : wallet();
        let to = wallet();
        if (to === from) to = 'fee';
        const linked = j < n - 1 && rand() < 0.15;
        transfers.push(t(id(j), from, to, int(1, 400), linked ? L : 0));
        if (linked) transfers.push(t(id(`${j}b`), from, 'fee', int(1, 3)));
      }
      out.push({ transfers });
      if (rand() < 0.2) {
        // Reverse the batch's first transfer once it is in.
        const first = transfers[0];
        out.push({ after: out.length - 1, transfers: [{ ...t(id('rev'), first.credit_account_id!, first.debit_account_id!, Number(first.amount) - int(0, Number(first.amount) - 1)), reversal_of: first.id }] });
      }
    } else {
      // A hold (some expire after 1 s), then its capture: a full post, a partial post, or a void.
      const amount = int(1, 500);
      const hold: TransferInput = { ...t(id('hold'), wallet(), merchant(), amount, TransferFlag.pending), timeout: rand() < 0.3 ? 1 : 0 };
      out.push({ transfers: [hold] });
      const c = rand();
      const capture: TransferInput = c < 0.5 ? { id: id('post'), pending_id: hold.id, flags: TransferFlag.post_pending_transfer }
        : c < 0.75 ? { id: id('part'), pending_id: hold.id, amount: BigInt(int(1, amount)), flags: TransferFlag.post_pending_transfer }
        : { id: id('void'), pending_id: hold.id, flags: TransferFlag.void_pending_transfer };
      if (rand() < 0.85) out.push({ after: out.length - 1, transfers: [capture] });
    }
  }
  return out;
}

async function main(dataDir: string, seed: number, checkpoint_interval_ms: number): Promise<void> {
  const { openLedger } = await import('../../src/store/open.js');
  const handle = await openLedger({ dataDir, writer: { checkpoint_interval_ms } });
  const write = (text: string) => process.stdout.write(text);
  const setup = await handle.writer.createAccounts(accounts());
  if (!setup.every((r) => r === 'ok' || r === 'exists')) throw new Error(`accounts: ${setup.join(',')}`);
  const calls = workload(seed);
  const settled: Promise<unknown>[] = new Array(calls.length);
  const send = async (k: number) => {
    const call = calls[k];
    if (call.after !== undefined) await settled[call.after];
    const results = await handle.writer.createTransfers(call.transfers);
    // One write per call, after the commit: every line printed is an acknowledgement.
    let text = '';
    call.transfers.forEach((transfer, i) => {
      if (results[i] === 'ok' || results[i] === 'exists') text += `ack ${transfer.id} ${results[i]}\n`;
    });
    write(text + `done ${k}\n`);
  };
  // The funding call first, then IN_FLIGHT calls at a time.
  settled[0] = send(0);
  await settled[0];
  let next = 1;
  const lane = async () => {
    while (next < calls.length) {
      const k = next++;
      settled[k] = send(k);
      await settled[k];
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  write('finished\n');
  // Wait to be killed, as a server would keep running.
  setInterval(() => undefined, 1 << 30);
}

if (process.argv[2] === 'run' && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv[3], Number(process.argv[4]), Number(process.argv[5])).catch((error) => {
    process.stderr.write(`crash_child: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(2);
  });
}
