// Checks the outbox sender with the embedded log gateway (every message written once, at no more
// than the configured rate, restarts resend nothing) and the message state rules (backoff,
// attempts, reports in any order).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openHttp } from '../../helpers/http.js';
import { queueMessage, type OutboxMessage } from '../../../src/products/outbox.js';
import type { Msisdn } from '../../../src/products/msisdn.js';
import * as states from '../../../src/channels/sms/states.js';
import { answerOutcome, decodeMessageId, encodeMessageId } from '../../../src/channels/sms/kannel.js';

function logLines(dir: string): { id: string; msisdn: string; text: string }[] {
  const file = path.join(dir, 'sms-outbox.log');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line));
}

async function until(what: string, probe: () => boolean, timeout_ms = 15_000): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('the log gateway writes each queued message once, no faster than the configured rate', async (t) => {
  const fixture = await openHttp({ config: { sms_rate_per_second: 20, log_level: 'silent' } });
  t.after(() => fixture.close());
  const started = Date.now();
  await fixture.handle.writer.execute({
    run(ctx) {
      for (let i = 0; i < 12; i++) {
        queueMessage(ctx, { id: `txn:${i}`, msisdn: `+2637720000${String(i).padStart(2, '0')}` as Msisdn, text: `message ${i}`, language: 'sn', kind: 'transaction', campaign: 'c1' });
      }
    },
  });
  await until('12 messages delivered', () => logLines(fixture.dir).length === 12);
  const elapsed_ms = Date.now() - started;
  // 12 messages at 20/s: the first goes at once, the last no sooner than 11 intervals of 50 ms later.
  assert.ok(elapsed_ms >= 11 * 50 - 5, `12 messages in ${elapsed_ms} ms at 20/s`);
  assert.deepEqual(logLines(fixture.dir).map((line) => line.id).sort(), Array.from({ length: 12 }, (_, i) => `txn:${i}`).sort());
  const totals = await until2(async () => {
    const answer = await fixture.request({ url: '/sms/campaigns/c1' });
    return answer.body.totals.delivered === 12 ? answer.body.totals : undefined;
  });
  assert.deepEqual(totals, { total: 12, queued: 0, submitted: 0, delivered: 12, failed: 0 });
  const one = await fixture.request({ url: '/sms/messages/txn:3' });
  assert.equal(one.body.state, 'delivered');
  assert.equal(one.body.attempts, 1);
  assert.equal(one.body.language, 'sn');
  const bad = await fixture.request({ url: '/sms/messages?msisdn=12' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'msisdn_invalid');
  const unknownCampaign = await fixture.request({ url: '/sms/campaigns/none' });
  assert.deepEqual(unknownCampaign.body.totals, { total: 0, queued: 0, submitted: 0, delivered: 0, failed: 0 });
});

test('while SMS is closed for maintenance messages stay queued; they go out when it reopens', async (t) => {
  const fixture = await openHttp({ config: { log_level: 'silent' } });
  t.after(() => fixture.close());
  const closedUntil = new Date(Date.now() + 3_600_000).toISOString();
  assert.equal((await fixture.request({ url: '/maintenance', body: { on: true, service: 'sms', until: closedUntil, reason: 'gateway swap', by: 'ops' } })).status, 200);
  await fixture.handle.writer.execute({ run: (ctx) => void queueMessage(ctx, { id: 'held:1', msisdn: '+263772000001' as Msisdn, text: 'held', language: 'en', kind: 'test' }) });
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  assert.equal((await fixture.request({ url: '/sms/messages/held:1' })).body.state, 'queued');
  assert.equal(logLines(fixture.dir).length, 0);
  await fixture.request({ url: '/maintenance', body: { on: false, service: 'sms', by: 'ops' } });
  await until('the held message to go out', () => logLines(fixture.dir).length === 1);
});

async function until2<T>(probe: () => Promise<T | undefined>, timeout_ms = 10_000): Promise<T> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const queued: OutboxMessage = {
  id: 'm1', msisdn: '+263772123456' as Msisdn, text: 'hi', language: 'en', kind: 'test', campaign: null,
  state: 'queued', attempts: 0, created_at: '2026-11-23T00:00:00.000Z',
};
const now = new Date('2026-11-23T01:00:00.000Z');

test('a refused attempt waits base × 2^(attempts-1), capped, and fails after the last attempt', () => {
  assert.deepEqual([1, 2, 3, 4].map((attempts) => states.backoff({ attempts, base_ms: 1000 })), [1000, 2000, 4000, 8000]);
  assert.equal(states.backoff({ attempts: 40, base_ms: 1000 }), states.BACKOFF_MAX_MS);
  let message = queued;
  for (let attempt = 1; attempt <= 3; attempt++) {
    message = states.submitting(message, now);
    assert.equal(message.attempts, attempt);
    message = states.refused(message, { now, reason: 'gateway answered 503', retry: true, attempts_max: 3, backoff_ms: 1000 });
    if (attempt < 3) {
      assert.equal(message.state, 'queued');
      assert.equal(Date.parse(message.next_attempt_at!) - now.getTime(), 1000 * 2 ** (attempt - 1));
    }
  }
  assert.equal(message.state, 'failed');
  assert.match(message.reason!, /gave up after 3 attempts/);
  const permanent = states.refused(states.submitting(queued, now), { now, reason: 'not routable', retry: false, attempts_max: 3, backoff_ms: 1000 });
  assert.equal(permanent.state, 'failed');
  assert.throws(() => states.submitting(permanent, now), /only a queued message/);
});

test('reports in any order: delivered and failed are final, SMSC acceptance confirms a submit', () => {
  const submitted = states.submitting(queued, now);
  const delivered = states.reported(submitted, { now, type: 1, reply: '' });
  assert.equal(delivered.state, 'delivered');
  assert.equal(states.reported(delivered, { now, type: 8, reply: 'ACK/' }), delivered);
  assert.equal(states.reported(delivered, { now, type: 16, reply: 'NACK/' }), delivered);
  assert.equal(states.accepted(delivered, { now }), delivered);
  const acceptedBySmsc = states.reported(submitted, { now, type: 8, reply: 'ACK/' });
  assert.equal(acceptedBySmsc.state, 'submitted');
  assert.equal(acceptedBySmsc.accepted, true);
  const rejected = states.reported(submitted, { now, type: 16, reply: 'NACK/no SMSC' });
  assert.equal(rejected.state, 'failed');
  assert.equal(rejected.reason, 'NACK/no SMSC');
  const unknown = states.uncertain(submitted, { now, reason: 'no answer from the gateway: TimeoutError' });
  assert.equal(unknown.state, 'submitted');
  assert.match(unknown.reason!, /not resent/);
});

test('smsbox answers map to outcomes; message ids survive the dlr-url', () => {
  assert.deepEqual(answerOutcome(202, '0: Accepted for delivery'), { kind: 'accepted' });
  assert.equal(answerOutcome(403, 'Not routable. Do not try again.').kind, 'refused');
  assert.equal((answerOutcome(403, 'Not routable. Do not try again.') as { retry: boolean }).retry, false);
  assert.equal((answerOutcome(403, 'Authorization failed for sendsms') as { retry: boolean }).retry, true);
  assert.equal((answerOutcome(503, '') as { retry: boolean }).retry, true);
  assert.equal((answerOutcome(400, 'Empty receiver number not allowed, rejected') as { retry: boolean }).retry, false);
  for (const id of ['txn:abc-1', 'maint:2026-11-20:+263772123456', 'ü%d%A']) assert.equal(decodeMessageId(encodeMessageId(id)), id);
  assert.equal(decodeMessageId('not base64!'), undefined);
});
