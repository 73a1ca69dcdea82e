// A mari process on a shared PostgreSQL database for the writer-role tests: it opens the ledger
// (as writer or standby), then tries a transfer every few milliseconds and prints one JSON line per
// answer: {"ack": id} for each transfer acknowledged, {"refused": code} otherwise; {"promoted": true}
// when it takes the role over and {"fatal": message} when its writer stops.
import { setTimeout as sleep } from 'node:timers/promises';
import { RequestError } from '../../src/errors/registry.js';
import { openLedger } from '../../src/store/open.js';

const [url, name, seconds] = process.argv.slice(2);
// The test runner loads every file under test/: without arguments this is not a child run.
if (url === undefined) process.exit(0);
const say = (line: object) => process.stdout.write(JSON.stringify(line) + '\n');
const handle = await openLedger({ store: url, address: name, role: { heartbeat_ms: 200, session_timeout_ms: 1500 } });
say({ ready: true, writing: handle.role!.writing });
handle.role!.on('promoted', () => say({ promoted: true }));
handle.role!.on('lost', (error) => say({ lost: error.message }));
handle.writer.on('fatal', (error) => say({ fatal: error.message }));
const until = Date.now() + Number(seconds) * 1000;
let i = 0;
while (Date.now() < until) {
  const id = `${name}-${i++}`;
  try {
    const [result] = await handle.writer.createTransfers([{ id, debit_account_id: 'a', credit_account_id: 'b', amount: 1n, asset: 'USD', code: 1 }]);
    say(result === 'ok' ? { ack: id } : { result, id });
  } catch (error) {
    say({ refused: error instanceof RequestError ? error.code : (error as Error).message, id });
  }
  await sleep(5);
}
await handle.close().catch(() => undefined);
process.exit(0);
