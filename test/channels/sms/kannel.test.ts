// Checks the SMS channel against a real Kannel (bearerbox + smsbox, fakesmsc as the SMSC):
// messages reach the fake SMSC once each, delivery reports come back to mari's dlr-url and are
// recorded, a number with no route is recorded as failed with Kannel's reason, a gateway that is
// down is retried with backoff, and an attempt whose outcome was lost in a crash is never resent.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openHttp, type HttpFixture } from '../../helpers/http.js';
import { FAILING_PREFIX, kannelInstalled, startKannel, type Kannel } from '../../helpers/kannel.js';
import { outboxDocument, queueMessage, type OutboxMessage } from '../../../src/products/outbox.js';
import type { Msisdn } from '../../../src/products/msisdn.js';
import { SUBMISSIONS } from '../../../src/channels/sms/sender.js';
import type { SmsModule } from '../../../src/channels/sms/module.js';

const KANNEL_BASE_PORT = 13040;
const MARI_PORT = 13049;

let kannel: Kannel;
let fixture: HttpFixture;

async function openMari(): Promise<HttpFixture> {
  const opened = await openHttp({
    config: {
      sms_sender: 'kannel', kannel_sendsms_url: kannel.sendsms_url, kannel_username: kannel.username, kannel_password: kannel.password,
      sms_dlr_base_url: `http://127.0.0.1:${MARI_PORT}`, sms_rate_per_second: 50, sms_backoff_ms: 300, kannel_timeout_ms: 700, log_level: 'silent',
    },
  });
  await opened.app.listen({ port: MARI_PORT, host: '127.0.0.1' });
  return opened;
}

before(async () => {
  assert.ok(kannelInstalled(), 'Kannel is installed (apt-get install kannel kannel-extras; .ci/run does it)');
  kannel = await startKannel({ base_port: KANNEL_BASE_PORT });
  fixture = await openMari();
});

after(async () => {
  await fixture?.close();
  await kannel?.stop();
});

function queue(messages: { id: string; msisdn: string; text: string; campaign?: string }[]): Promise<void> {
  return fixture.handle.writer.execute({
    run(ctx) {
      for (const message of messages) {
        queueMessage(ctx, { id: message.id, msisdn: message.msisdn as Msisdn, text: message.text, language: 'en', kind: 'test', campaign: message.campaign ?? null });
      }
    },
  });
}

async function message(id: string): Promise<OutboxMessage> {
  const answer = await fixture.request({ url: `/sms/messages/${encodeURIComponent(id)}` });
  assert.equal(answer.status, 200, answer.text);
  return answer.body as OutboxMessage;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeout_ms = 20_000): Promise<T> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function settled(id: string, state: OutboxMessage['state'] = 'delivered'): Promise<OutboxMessage> {
  return until(`${id} to be ${state}`, async () => {
    const current = await message(id);
    return current.state === state ? current : undefined;
  });
}

test('messages reach the fake SMSC once each and their delivery reports are recorded; an unroutable number fails with the reason', async () => {
  await queue([
    { id: 'maint:1', msisdn: '+263772000001', text: 'mari maintenance tonight 22:00-23:00', campaign: 'maint-nov' },
    { id: 'maint:2', msisdn: '+263772000002', text: 'Zoë, mari ichavandudzwa manheru ano', campaign: 'maint-nov' },
    { id: 'maint:3', msisdn: '+263782000003', text: 'Notice 3', campaign: 'maint-nov' },
    { id: 'maint:4', msisdn: `${FAILING_PREFIX}1234`, text: 'Never arrives', campaign: 'maint-nov' },
  ]);
  for (const id of ['maint:1', 'maint:2', 'maint:3']) {
    const delivered = await settled(id);
    assert.equal(delivered.attempts, 1);
    assert.equal(delivered.accepted, true);
    assert.equal(delivered.dlr_type, 1);
    assert.ok(delivered.delivered_at);
  }
  const failed = await settled('maint:4', 'failed');
  assert.match(failed.reason ?? '', /not routable|no SMSC/i);
  assert.equal(failed.attempts, 1);

  const received = kannel.received();
  assert.deepEqual(received.map((m) => m.to).sort(), ['+263772000001', '+263772000002', '+263782000003']);
  assert.equal(received.find((m) => m.to === '+263772000002')?.text, 'Zoë, mari ichavandudzwa manheru ano');
  assert.equal(received.find((m) => m.to === '+263772000001')?.from, 'mari');

  const campaign = await fixture.request({ url: '/sms/campaigns/maint-nov' });
  assert.equal(campaign.status, 200);
  assert.deepEqual(campaign.body.totals, { total: 4, queued: 0, submitted: 0, delivered: 3, failed: 1 });

  const byNumber = await fixture.request({ url: '/sms/messages?msisdn=0772000002' });
  assert.equal(byNumber.status, 200);
  assert.equal(byNumber.body.msisdn, '+263772000002');
  assert.deepEqual(byNumber.body.messages.map((m: OutboxMessage) => m.id), ['maint:2']);
  assert.equal(byNumber.body.totals.delivered, 1);
});

test('a forged or replayed-for-another-id delivery report is refused and changes nothing', async () => {
  await queue([{ id: 'otp:1', msisdn: '+263772000011', text: 'Your code is 1234' }]);
  await settled('otp:1');
  const sms = fixture.platform.module<SmsModule>('sms');
  const real = new URL(sms.dlrUrl('otp:1').replace('%d', '2').replace('%A', 'x'));
  const forged = await fixture.request({ url: `/sms/dlr?id=${real.searchParams.get('id')}&sig=${'0'.repeat(32)}&type=2`, key: null });
  assert.equal(forged.status, 403);
  assert.equal(forged.body.code, 'dlr_signature_invalid');
  const otherId = new URL(sms.dlrUrl('maint:1').replace('%d', '2').replace('%A', 'x'));
  const swapped = await fixture.request({ url: `/sms/dlr?id=${real.searchParams.get('id')}&sig=${otherId.searchParams.get('sig')}&type=2`, key: null });
  assert.equal(swapped.body.code, 'dlr_signature_invalid');
  const badType = await fixture.request({ url: `/sms/dlr?id=${real.searchParams.get('id')}&sig=${real.searchParams.get('sig')}&type=3`, key: null });
  assert.equal(badType.status, 400);
  // A late "undelivered" for a delivered message changes nothing: delivered is final.
  const late = await fixture.request({ url: `${real.pathname}${real.search}`, key: null });
  assert.equal(late.status, 200);
  assert.equal(late.body.state, 'delivered');
  assert.equal((await message('otp:1')).state, 'delivered');
  const unknown = await fixture.request({ url: '/sms/messages/nope' });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.code, 'sms_message_not_found');
});

test('while smsbox is down the message waits with backoff, then goes out once when it is back', async () => {
  await kannel.stopSmsbox();
  await queue([{ id: 'txn:retry', msisdn: '+263772000021', text: 'You received USD 5.00' }]);
  const waiting = await until('a refused attempt', async () => {
    const current = await message('txn:retry');
    return current.state === 'queued' && current.attempts >= 1 ? current : undefined;
  });
  assert.match(waiting.reason ?? '', /unreachable/);
  assert.ok(waiting.next_attempt_at && Date.parse(waiting.next_attempt_at) > Date.parse(waiting.updated_at!));
  await kannel.startSmsbox();
  const delivered = await settled('txn:retry');
  assert.ok(delivered.attempts >= 2);
  assert.equal(kannel.received().filter((m) => m.to === '+263772000021').length, 1);
});

test('a submit that times out is not resent; when the gateway catches up, the message goes out once and its report settles it', async () => {
  kannel.pauseBearerbox();
  try {
    await queue([{ id: 'txn:slow', msisdn: '+263772000041', text: 'Slow gateway' }]);
    const unknown = await until('the submit to time out', async () => {
      const current = await message('txn:slow');
      return current.state === 'submitted' && /outcome unknown/.test(current.reason ?? '') ? current : undefined;
    });
    assert.equal(unknown.accepted, false);
    assert.equal(unknown.attempts, 1);
    // Longer than a backoff: a resend would have happened by now.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal((await message('txn:slow')).attempts, 1);
  } finally {
    kannel.resumeBearerbox();
  }
  const delivered = await settled('txn:slow');
  assert.equal(delivered.attempts, 1);
  assert.equal(kannel.received().filter((m) => m.to === '+263772000041').length, 1);
});

test('an attempt whose outcome a crash lost is never resent, and its late report still settles it', async () => {
  // What a crash right after recording the attempt leaves: submitted, unconfirmed, outstanding.
  const lost: OutboxMessage = {
    id: 'txn:lost', msisdn: '+263772000031' as Msisdn, text: 'Lost in a crash', language: 'en', kind: 'test', campaign: null,
    state: 'submitted', attempts: 1, accepted: false, created_at: new Date().toISOString(), submitted_at: new Date().toISOString(),
  };
  // And a producer that queued an already-submitted message again.
  const requeued: OutboxMessage = { ...lost, id: 'txn:requeued', msisdn: '+263772000032' as Msisdn, state: 'queued', attempts: 0 };
  await fixture.handle.writer.execute({
    run(ctx) {
      ctx.put(outboxDocument(lost));
      ctx.put({ collection: SUBMISSIONS, key: lost.id, value: JSON.stringify({ attempts: 1, outstanding: true }) });
      ctx.put(outboxDocument(requeued));
      ctx.put({ collection: SUBMISSIONS, key: requeued.id, value: JSON.stringify({ attempts: 1, outstanding: true }) });
    },
  });
  // Restart mari: the sender starts from what is on disk.
  const dir = fixture.dir;
  await fixture.app.close();
  await fixture.platform.close();
  fixture = await reopen(dir);
  await queue([{ id: 'txn:after', msisdn: '+263772000033', text: 'After the restart' }]);
  await settled('txn:after');
  const restored = await settled('txn:requeued', 'submitted');
  assert.match(restored.reason ?? '', /not resent/);
  assert.equal((await message('txn:lost')).state, 'submitted');
  assert.equal(kannel.received().filter((m) => m.to === '+263772000031' || m.to === '+263772000032').length, 0);
  // Kannel did have it after all: its report arrives and settles it.
  const url = new URL(fixture.platform.module<SmsModule>('sms').dlrUrl('txn:lost').replace('%d', '1').replace('%A', ''));
  const report = await fixture.request({ url: `${url.pathname}${url.search}`, key: null });
  assert.equal(report.status, 200);
  assert.equal((await message('txn:lost')).state, 'delivered');
  // The operator decides the requeued one should go out after all: once.
  const requeue = await fixture.request({ method: 'POST', url: '/sms/messages/txn:requeued/requeue', payload: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(requeue.status, 200, requeue.text);
  assert.equal(requeue.body.state, 'queued');
  const sent = await settled('txn:requeued');
  assert.equal(sent.attempts, 2);
  assert.equal(kannel.received().filter((m) => m.to === '+263772000032').length, 1);
  const again = await fixture.request({ method: 'POST', url: '/sms/messages/txn:requeued/requeue', payload: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(again.status, 409);
  assert.equal(again.body.code, 'sms_requeue_refused');
  // Nothing that was already sent went out again after the restart.
  const counts = new Map<string, number>();
  for (const m of kannel.received()) counts.set(m.to, (counts.get(m.to) ?? 0) + 1);
  assert.deepEqual([...counts.values()].filter((n) => n > 1), []);
});

/** The same data directory, a new process's worth of state. */
async function reopen(dir: string): Promise<HttpFixture> {
  const { openLedger } = await import('../../../src/store/open.js');
  const { openPlatform } = await import('../../../src/platform.js');
  const { loadConfig } = await import('../../../src/config.js');
  const { buildApp } = await import('../../../src/channels/http/app.js');
  const config = loadConfig({}, { ...fixture.config });
  const handle = await openLedger({ dataDir: dir });
  const platform = await openPlatform(handle, config);
  const app = await buildApp({ handle, config, keys: fixture.keys, modules: platform.modules.values() });
  await app.listen({ port: MARI_PORT, host: '127.0.0.1' });
  const operator = fixture.operator;
  const previous = fixture;
  return {
    ...previous, config, handle, platform, app,
    request: async (options) => {
      const headers: Record<string, string> = { ...options.headers, ...(options.key === null ? {} : { authorization: `Bearer ${operator}` }) };
      const response = await app.inject({ method: options.method ?? 'GET', url: options.url, headers, payload: options.payload });
      return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : undefined, headers: response.headers, text: response.body };
    },
    async close() {
      await app.close();
      await platform.close();
      await previous.close().catch(() => undefined);
    },
  };
}
