// Drives `mari ussd` as a person would: in a tmux pane, typing options and reading the screen,
// against a running mari (listening on a port), through a send-money journey to its END.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openHttp } from '../helpers/http.js';
import type { MoneyModule } from '../../src/products/money/module.js';

const run = promisify(execFile);
const MARI_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/mari.js');

async function tmux(...args: string[]): Promise<string> {
  return (await run('tmux', args)).stdout;
}

async function screenShows(pane: string, pattern: RegExp, timeout_ms = 10_000): Promise<string> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const screen = await tmux('capture-pane', '-p', '-t', pane);
    if (pattern.test(screen)) return screen;
    if (Date.now() > deadline) throw new Error(`the pane never showed ${pattern}; it shows:\n${screen}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function type(pane: string, text: string): Promise<void> {
  await tmux('send-keys', '-t', pane, '-l', text);
  await tmux('send-keys', '-t', pane, 'Enter');
}

test('mari ussd in a terminal: menus, back, a confirmation with the fee and name, the PIN, and the END screen', async (t) => {
  const f = await openHttp({ config: { log_level: 'silent' } });
  t.after(() => f.close());
  const money = f.platform.module<MoneyModule>('money');
  await money.registerSubscriber({ msisdn: '+263772000301', name: 'Tendai Moyo', kyc_tier: 2, language: 'en' });
  await money.registerSubscriber({ msisdn: '+263772000302', name: 'Rudo Chikwanha', kyc_tier: 2, language: 'sn' });
  await money.setPin({ msisdn: '+263772000301', pin: '2580' });
  await money.registerBank({ code: 'CBZ', name: 'CBZ Bank' });
  await money.bankToWallet({ bank: 'CBZ', to: '+263772000301', amount: 30_00n, currency: 'USD', reference: 'fund-tmux' });
  const url = await f.app.listen({ port: 0, host: '127.0.0.1' });

  const name = `mari-ussd-test-${process.pid}`;
  await tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '40',
    `${process.execPath} ${MARI_BIN} ussd 0772000301 '*151#' --url ${url}; echo "exit=$?"; sleep 30`);
  t.after(() => tmux('kill-session', '-t', name).catch(() => undefined));
  const pane = `${name}:0.0`;
  await screenShows(pane, /Mobile Money\n1 Send Money[\s\S]*7 My Account/);
  await type(pane, '7');
  await screenShows(pane, /My Account\n1 Check Balance\n2 Mini Statement\n3 Change PIN\n0 Back 00 Home/);
  await type(pane, '0');
  await screenShows(pane, /> 0\n─+\nMobile Money/);
  await type(pane, '1');
  await screenShows(pane, /Enter recipient number/);
  await type(pane, '0772000302');
  await screenShows(pane, /Currency:/);
  await type(pane, '1');
  await screenShows(pane, /Enter amount \(USD\)/);
  await type(pane, '2.50');
  await screenShows(pane, /Send USD 2\.50 to Rudo Chikwanha \+263772…302\nFee: USD [\d.]+\nEnter PIN to confirm/);
  await type(pane, '2580');
  const screen = await screenShows(pane, /\(session ended\)\nexit=0/);
  assert.match(screen, /Sent USD 2\.50 to Rudo Chikwanha\. Fee USD [\d.]+\. Balance USD [\d.]+\. Ref ussd/);
  const bob = money.subscriberOf('+263772000302' as never)!;
  assert.equal(f.handle.ledger.accounts.get(`wallet:${bob.id}:USD`)!.credits_posted, 250n);
});

test('mari ussd reads typed-ahead answers from a pipe, for scripted demos; bad arguments are usage errors', async (t) => {
  const f = await openHttp({ config: { log_level: 'silent' } });
  t.after(() => f.close());
  const money = f.platform.module<MoneyModule>('money');
  await money.registerSubscriber({ msisdn: '+263772000311', name: 'Rudo Chikwanha', kyc_tier: 2, language: 'sn' });
  await money.setPin({ msisdn: '+263772000311', pin: '2580' });
  const url = await f.app.listen({ port: 0, host: '127.0.0.1' });
  const child = execFile(process.execPath, [MARI_BIN, 'ussd', '+263772000311', '*151#', '--url', url]);
  child.stdin!.end('7\n1\n2580\n');
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0);
  assert.match(output, /Akaundi Yangu\n1 Ona Mari Yasara/);
  assert.match(output, /Mari yenyu:\nUSD 0\.00\nZWG 0\.00\n─+\n\(session ended\)/);
  const usage = await run(process.execPath, [MARI_BIN, 'ussd', '12', '*151#']).catch((error: { code: number; stderr: string }) => error);
  assert.equal((usage as { code: number }).code, 2);
  assert.match((usage as { stderr: string }).stderr, /12 is not a mobile number/);
});
