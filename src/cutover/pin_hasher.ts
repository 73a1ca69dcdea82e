// Voucher PINs hashed on a thread of their own, a batch at a time. On the import's main thread,
// each scrypt call waits for a writer turn to end before the next is started, so the hashing ran
// at a fraction of a core and the vouchers phase waited for it at the end; here it runs at up to
// one core alongside the import, whatever the main thread is doing.
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { hashVoucherPinSync } from './formats.js';

/** Batches of PINs in, their hashes out in the same order. */
export class PinHasher {
  private readonly worker = new Worker(new URL(import.meta.url));
  private readonly waiting: { resolve: (hashes: string[]) => void; reject: (error: Error) => void }[] = [];
  private failure: Error | undefined;

  constructor() {
    this.worker.on('message', (hashes: string[]) => this.waiting.shift()?.resolve(hashes));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the PIN hashing thread stopped (exit code ${code})`)));
    // Never what keeps the process alive: whoever awaits a batch is.
    this.worker.unref();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.waiting.splice(0)) waiting.reject(error);
  }

  hash(pins: readonly string[]): Promise<string[]> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(pins);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (pins: string[]) => port.postMessage(pins.map(hashVoucherPinSync)));
}
