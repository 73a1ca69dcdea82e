// The cutover kit's commands as an operator runs them against a real `mari serve`: maintenance
// on/status/off, the runbook announced, its status and a rollback that only says what it would
// do without --yes; and plan-window against a generated legacy database, with its SVG.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLegacy, type LegacyDatabase } from './legacy.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const bin = path.join(root, 'bin/mari.js');
const KEY = 'mari_kit_cli_operator_key_00000000000';
let server: { child: ChildProcess; url: string; dir: string };
let legacy: LegacyDatabase;

function mari(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, MARI_URL: server?.url, MARI_API_KEY: KEY, USER: 'rudo' }, timeout: 60_000 });
}

before(async () => {
  legacy = createLegacy({ subscribers: 300, name: 'mari_kit_cli' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-kit-cli-'));
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--data-dir', dir], { env: { ...process.env, MARI_API_KEYS: `${KEY}:operator`, MARI_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`mari serve exited with ${code}: ${output}`)));
  });
  server = { child, url, dir };
});

after(() => {
  server?.child.kill('SIGTERM');
  if (server) fs.rmSync(server.dir, { recursive: true, force: true });
  legacy?.drop();
});

test('mari maintenance on, status and off against a running mari', () => {
  const on = mari(['maintenance', 'on', '--until', '2099-11-22 06:00', '--service', 'airtime', '--reason', 'cutover']);
  assert.equal(on.status, 0, on.stderr);
  assert.match(on.stdout, /airtime +closed until Sun 22 Nov 2099 06:00 \(Harare\) +cutover +by rudo/);
  const bad = mari(['maintenance', 'on', '--until', '2001-01-01 00:00']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /maintenance_until_invalid/);
  const status = mari(['maintenance', 'status', '--json']);
  assert.equal(JSON.parse(status.stdout).switches.length, 1);
  assert.match(mari(['maintenance', 'off', '--service', 'airtime']).stdout, /every service is open/);
});

test('mari cutover announce, status, and a rollback that only prints its plan without --yes', () => {
  const announced = mari(['cutover', 'announce', '--start', '2099-11-22 01:00', '--end', '2099-11-22 07:00', '--reach-min', '0']);
  assert.equal(announced.status, 0, announced.stderr);
  assert.match(announced.stdout, /cutover cut-\w+: announced, \d+h\d{2}m left to the announced end \(Sun 22 Nov 2099 07:00 Harare\)/);
  const blocked = mari(['cutover', 'next']);
  assert.equal(blocked.status, 1);
  assert.match(blocked.stderr, /cutover_gate_failed/);
  assert.match(blocked.stdout, /STOPPED at frozen: notices reached enough subscribers: no notice campaign/);
  const plan = mari(['cutover', 'rollback']);
  assert.equal(plan.status, 1);
  assert.match(plan.stdout, /Rolling back from announced will:\n {2}1\. nothing was frozen/);
  assert.match(plan.stdout, /Nothing done\. Run again with --yes/);
  assert.match(mari(['cutover', 'status']).stdout, /: announced/);
  const done = mari(['cutover', 'rollback', '--yes', '--reason', 'window moved']);
  assert.equal(done.status, 0, done.stderr);
  assert.match(done.stdout, /rolled back: cutover cut-\w+ is rolled_back/);
});

test('mari notify maintenance --days N texts the recently active; a bad number of days is refused', () => {
  const window = ['notify', 'maintenance', '--window', '2099-12-01 01:00/2099-12-01 05:00'];
  const zero = mari([...window, '--days', '0']);
  assert.equal(zero.status, 1);
  assert.match(zero.stderr, /refused \(notice_audience_invalid\)/);
  assert.match(mari([...window, '--days=-3']).stderr, /refused \(notice_audience_invalid\)/);
  const words = mari([...window, '--days', 'thirty']);
  assert.equal(words.status, 2);
  assert.match(words.stderr, /--days/);
  const started = mari([...window, '--days', '30', '--json']);
  assert.equal(started.status, 0, started.stderr);
  const { campaign, created } = JSON.parse(started.stdout);
  assert.deepEqual([created, campaign.audience, campaign.active_within_days], [true, 'recent', 30]);
});

test('mari plan-window prints the three quietest windows, the week chart, and writes the SVG', () => {
  const svg = path.join(server.dir, 'week.svg');
  const plan = mari(['plan-window', '--from', legacy.url, '--duration', '6h', '--svg', svg]);
  assert.equal(plan.status, 0, plan.stderr);
  const windows = plan.stdout.split('\n').filter((line) => /^ {2}\d\. /.test(line));
  assert.equal(windows.length, 3);
  assert.match(windows[0], /^ {2}1\. \w{3} \d{2}:00 to \w{3} \d{2}:00 Harare: ~\d+ transactions \(~\d+ in a month-end week\), ~\d+ customers affected$/);
  assert.match(fs.readFileSync(svg, 'utf8'), /^<svg /);
  const json = JSON.parse(mari(['plan-window', '--from', legacy.url, '--duration', '6h', '--json']).stdout);
  assert.equal(json.windows.length, 3);
  assert.equal(mari(['plan-window', '--from', legacy.url, '--duration', 'forever']).status, 2);
});

test('mari rehearse times the migration steps, and plan-window shows them with the safety margin', () => {
  const out = path.join(server.dir, 'rehearsal.json');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-kit-rehearse-'));
  try {
    const run = mari(['rehearse', '--from', legacy.url, '--data-dir', scratch, '--out', out]);
    assert.equal(run.status, 0, run.stderr + run.stdout);
    const report = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.deepEqual(report.steps.filter((s: { step: string }) => !s.step.startsWith(' ')).map((s: { step: string }) => s.step), ['import', 'delta import', 'reconcile', 'verify']);
    assert.ok(report.steps.every((s: { seconds: number }) => s.seconds >= 0));
    assert.ok(report.steps.some((s: { step: string }) => s.step === '  import: history'));
    assert.equal(report.source.includes('@'), true);
    const plan = mari(['plan-window', '--from', legacy.url, '--duration', '6h', '--rehearsal', out, '--margin', '1']);
    assert.equal(plan.status, 0, plan.stderr);
    assert.match(plan.stdout, /Measured in rehearsal \(with the safety margin\):\n {2}import +\S+ measured, +\S+ planned/);
    assert.match(plan.stdout, /total planned \S+: fits the 6 h window/);
    assert.equal(mari(['rehearse', '--from', legacy.url, '--data-dir', scratch]).status, 2, 'never over an existing ledger');
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});
