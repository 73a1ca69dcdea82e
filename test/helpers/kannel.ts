// A real Kannel for SMS tests: bearerbox and smsbox from Debian's `kannel` package, configured
// in a temporary directory, with `fakesmsc` (kannel-extras) connected as the SMSC. Numbers
// starting with FAILING_PREFIX have no route (`denied-prefix`), so Kannel refuses them and
// reports the failure: the way a real SMSC refuses a number.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const BEARERBOX = '/usr/sbin/bearerbox';
export const SMSBOX = '/usr/sbin/smsbox';
export const FAKESMSC = '/usr/lib/kannel/test/fakesmsc';
export const FAILING_PREFIX = '+26371999';

export function kannelInstalled(): boolean {
  return [BEARERBOX, SMSBOX, FAKESMSC].every((file) => fs.existsSync(file));
}

export interface Kannel {
  dir: string;
  sendsms_url: string;
  username: string;
  password: string;
  /** Messages the fake SMSC received: `{from, to, coding, text}` (UCS-2 decoded). */
  received(): { from: string; to: string; coding: string; text: string }[];
  stopSmsbox(): Promise<void>;
  /** Freezes bearerbox (SIGSTOP): smsbox takes a sendsms request but cannot answer it until resumed. */
  pauseBearerbox(): void;
  resumeBearerbox(): void;
  startSmsbox(): Promise<void>;
  stop(): Promise<void>;
}

/** Ports base .. base+3 (admin, smsbox link, fake SMSC, sendsms); the project keeps 13000-13100 for Kannel tests. */
export async function startKannel(options: { base_port: number }): Promise<Kannel> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-kannel-'));
  const [admin, smsboxPort, smscPort, sendsmsPort] = [0, 1, 2, 3].map((i) => options.base_port + i);
  for (const port of [admin, smsboxPort, smscPort, sendsmsPort]) {
    // A Kannel left from an interrupted run would answer in place of this one.
    if (await canConnect(port)) throw new Error(`port ${port} is already in use (a Kannel left from an earlier run?)`);
  }
  const username = 'mari';
  const password = 'kannel-test-secret';
  const conf = path.join(dir, 'kannel.conf');
  fs.writeFileSync(conf, `group = core
admin-port = ${admin}
admin-password = test-admin
smsbox-port = ${smsboxPort}
box-allow-ip = "127.0.0.1"
log-file = "${dir}/bearerbox.log"
log-level = 1
access-log = "${dir}/access.log"
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = ${smscPort}
connect-allow-ip = "127.0.0.1"
denied-prefix = "${FAILING_PREFIX}"

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = ${sendsmsPort}
log-file = "${dir}/smsbox.log"
log-level = 1

group = sendsms-user
username = ${username}
password = ${password}
max-messages = 10
concatenation = true
`);
  const children: ChildProcess[] = [];
  const run = (file: string, args: string[], name: string) => {
    const out = fs.openSync(path.join(dir, `${name}.out`), 'a');
    const child = spawn(file, args, { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    children.push(child);
    return child;
  };
  const bearerbox = run(BEARERBOX, [conf], 'bearerbox');
  await waitForPort(smscPort);
  run(FAKESMSC, ['-H', '127.0.0.1', '-r', String(smscPort), '-i', '1', '-m', '0', '1 2 text unused'], 'fakesmsc');
  let smsbox: ChildProcess | undefined = run(SMSBOX, [conf], 'smsbox');
  await waitForPort(sendsmsPort);
  await waitForLine(path.join(dir, 'bearerbox.log'), /Fakesmsc client connected/);
  return {
    dir,
    sendsms_url: `http://127.0.0.1:${sendsmsPort}/cgi-bin/sendsms`,
    username,
    password,
    received: () => parseFakesmsc(fs.readFileSync(path.join(dir, 'fakesmsc.out'), 'utf8')),
    async stopSmsbox() {
      if (smsbox) await kill(smsbox);
      smsbox = undefined;
      await waitForPortClosed(sendsmsPort);
    },
    pauseBearerbox() {
      bearerbox.kill('SIGSTOP');
    },
    resumeBearerbox() {
      bearerbox.kill('SIGCONT');
    },
    async startSmsbox() {
      // The old smsbox's port may still be held for a moment (connections closing): smsbox then
      // exits at once, so it is started again until it listens.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const child = run(SMSBOX, [conf], 'smsbox');
        smsbox = child;
        const exited = new Promise<'exited'>((resolve) => child.once('exit', () => resolve('exited')));
        const listening = waitForPort(sendsmsPort, 5_000).then(() => 'listening' as const, () => 'silent' as const);
        const outcome = await Promise.race([exited, listening]);
        if (outcome === 'listening') return;
        if (outcome === 'silent') await kill(child);
        if (Date.now() > deadline) {
          const log = fs.readFileSync(path.join(dir, 'smsbox.out'), 'utf8').split('\n').slice(-10).join('\n');
          throw new Error(`smsbox did not listen on ${sendsmsPort} again:\n${log}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    },
    async stop() {
      bearerbox.kill('SIGCONT');
      for (const child of children.reverse()) await kill(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const GOT = /Got message \d+: <(\S+) (\S+) (text|data|ucs-2|udh) (.*)>$/;

function parseFakesmsc(output: string) {
  const messages: { from: string; to: string; coding: string; text: string }[] = [];
  for (const line of output.split('\n')) {
    const match = GOT.exec(line);
    if (!match) continue;
    const [, from, to, coding, body] = match;
    messages.push({ from, to, coding, text: decodeBody(coding, body) });
  }
  return messages;
}

/** fakesmsc prints UCS-2 and binary bodies URL-encoded. */
function decodeBody(coding: string, body: string): string {
  if (coding === 'text') return body;
  const bytes = Buffer.from(unescape(body.replace(/\+/g, ' ')), 'latin1');
  if (coding !== 'ucs-2') return bytes.toString('utf8');
  const swapped = Buffer.from(bytes);
  swapped.swap16();
  return swapped.toString('utf16le');
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

async function waitForPort(port: number, timeout_ms = 15_000): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (Date.now() < deadline) {
    if (await canConnect(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on port ${port} after ${timeout_ms} ms`);
}

async function waitForPortClosed(port: number, timeout_ms = 15_000): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (Date.now() < deadline) {
    if (!(await canConnect(port))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`port ${port} still open after ${timeout_ms} ms`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitForLine(file: string, pattern: RegExp, timeout_ms = 15_000): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (Date.now() < deadline) {
    if (fs.existsSync(file) && pattern.test(fs.readFileSync(file, 'utf8'))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no line matching ${pattern} in ${file} after ${timeout_ms} ms`);
}
