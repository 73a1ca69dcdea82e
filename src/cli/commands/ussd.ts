// mari ussd: a USSD session in the terminal against a running mari, speaking to POST /ussd
// exactly as an aggregator does (form-encoded, all inputs so far joined by `*`), for demos and
// for people testing menus.
import { randomUUID } from 'node:crypto';
import readline from 'node:readline/promises';
import { loadConfig } from '../../config.js';
import { normalizeMsisdn } from '../../products/msisdn.js';
import { parse, UsageError, type Command } from '../args.js';

const RULE = '─'.repeat(32);
const REQUEST_TIMEOUT_MS = 15_000;

export const ussd: Command = {
  name: 'ussd',
  summary: 'a USSD session in the terminal against a running mari',
  usage: `mari ussd MSISDN SHORTCODE [--url URL] [--session-id ID]

Dials SHORTCODE (e.g. '*151#', quoted for the shell) as MSISDN and shows each screen; type the
option and press Enter. 0 goes back, 00 goes home, an empty line hangs up. The session ends when
mari answers END (or after its timeout, 180 s by default).

  --url URL          mari's base URL (default: http://HOST:PORT from the environment, or http://127.0.0.1:8080)
  --session-id ID    the aggregator's session id (default: a new one)

Example: mari ussd +263772123456 '*151#'`,
  async run(argv) {
    const { values, positionals } = parse(argv, { url: { type: 'string' }, 'session-id': { type: 'string' } }, true);
    const [number, code] = positionals;
    if (number === undefined || code === undefined || positionals.length > 2) throw new UsageError('give a number and a short code');
    const msisdn = normalizeMsisdn(number);
    if (!msisdn) throw new UsageError(`${number} is not a mobile number`);
    if (!/^\*[0-9*]+#$/.test(code)) throw new UsageError(`${code} is not a short code like '*151#'`);
    const config = loadConfig(process.env);
    const base = (values.url ?? `http://${config.host}:${config.port}`).replace(/\/+$/, '');
    const sessionId = values['session-id'] ?? `cli-${randomUUID()}`;
    return session({ url: `${base}/ussd`, msisdn, code, sessionId });
  },
};

async function session(options: { url: string; msisdn: string; code: string; sessionId: string }): Promise<number> {
  const terminal = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  // Lines are read through the iterator, which buffers them: piped input typed ahead is not lost.
  const lines = terminal[Symbol.asyncIterator]();
  const inputs: string[] = [];
  console.log(`Dialling ${options.code} as ${options.msisdn}`);
  try {
    for (;;) {
      const reply = await request(options, inputs.join('*'));
      const ended = reply.startsWith('END');
      console.log(`${RULE}\n${reply.replace(/^(CON|END) /, '')}\n${RULE}`);
      if (ended) {
        console.log('(session ended)');
        return 0;
      }
      process.stdout.write('> ');
      const next = await lines.next();
      const answer = next.done ? '' : String(next.value).trim();
      if (!process.stdin.isTTY) process.stdout.write(`${answer}\n`);
      if (answer === '') {
        console.log('(hung up)');
        return 0;
      }
      inputs.push(answer);
    }
  } finally {
    terminal.close();
  }
}

async function request(options: { url: string; msisdn: string; code: string; sessionId: string }, text: string): Promise<string> {
  const body = new URLSearchParams({ sessionId: options.sessionId, serviceCode: options.code, phoneNumber: options.msisdn, networkCode: '', text });
  let response: Response;
  try {
    response = await fetch(options.url, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new Error(`cannot reach mari at ${options.url}: ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`);
  }
  const reply = await response.text();
  if (response.status !== 200) throw new Error(`mari answered ${response.status}: ${reply.slice(0, 200)}`);
  return reply;
}
