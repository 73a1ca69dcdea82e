// Checks maintenance notices: one campaign per window (idempotent), queued into the outbox at the
// campaign's rate in each subscriber's language, reminders before the start, re-sends to the
// undelivered after the delay, and reach (sent, delivered, failed by reason, never reached).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openKit, outbox, recordOutcome, subscriber, writeParties } from './fixture.js';
import { AccountCode, walletId } from '../../../src/products/accounts.js';
import type { TransferInput } from '../../../src/ledger/types.js';

const WINDOW = { starts_at: '2099-11-21T23:00:00Z', ends_at: '2099-11-22T05:00:00Z' };

test('a notice campaign texts each subscriber once in their language, reminds, re-sends to the undelivered and reports reach', async () => {
  const kit = await openKit();
  try {
    await writeParties(kit.handle, [
      subscriber({ id: 'p1', msisdn: '+263772000001', language: 'en' }),
      subscriber({ id: 'p2', msisdn: '+263772000002', language: 'sn' }),
      subscriber({ id: 'p3', msisdn: '+263772000003', language: 'nd' }),
      subscriber({ id: 'p4', msisdn: '+263772000004', status: 'closed' }),
      subscriber({ id: 'p5', msisdn: '+263772000005', status: 'suspended' }),
    ]);
    const started = await kit.request({ url: '/notices/maintenance', body: { ...WINDOW, by: 'ops', rate_per_s: 2, resend_after_s: 60, reminder_before_s: 3600 } });
    assert.equal(started.status, 201);
    const id = started.body.id;
    const notices = kit.cutover.notices;
    const t0 = new Date('2099-11-21T12:00:00Z');
    // Rate 2/s: one second's budget looks at two parties.
    await notices.tick({ now: t0, elapsed_s: 1 });
    assert.equal((await outbox(kit.handle, `${id}:a:`)).length, 2);
    await notices.tick({ now: t0, elapsed_s: 10 });
    const sent = await outbox(kit.handle, `${id}:a:`);
    assert.deepEqual(sent.map((m) => m.msisdn), ['+263772000001', '+263772000002', '+263772000003'], 'closed and suspended parties are not in the active audience');
    assert.match(sent[0].text, /^Planned maintenance from Sun 22 Nov 2099 01:00 to Sun 22 Nov 2099 07:00 \(Harare time\)/);
    assert.match(sent[1].text, /^Kugadzirisa kwakarongwa/);
    assert.match(sent[2].text, /^Ukulungiswa/);
    assert.ok(sent.every((m) => m.kind === 'maintenance' && m.campaign === id && m.state === 'queued'));
    // Idempotent: the same window again is the same campaign, and nothing is queued twice.
    const again = await kit.request({ url: '/notices/maintenance', body: { ...WINDOW, by: 'ops' } });
    assert.equal(again.status, 200);
    assert.equal(again.body.id, id);
    await notices.tick({ now: t0, elapsed_s: 10 });
    assert.equal((await outbox(kit.handle, `${id}:a:`)).length, 3);
    // Delivery reports: one delivered, one failed, one still submitted.
    await recordOutcome(kit.handle, sent[0], { state: 'delivered', at: t0 });
    await recordOutcome(kit.handle, sent[1], { state: 'failed', reason: 'absent subscriber', at: t0 });
    await recordOutcome(kit.handle, sent[2], { state: 'submitted', at: t0 });
    let reach = (await kit.request({ url: `/notices/maintenance/${id}` })).body;
    assert.deepEqual({ targeted: reach.targeted, sent: reach.sent, delivered: reach.delivered, pending: reach.pending }, { targeted: 3, sent: 3, delivered: 1, pending: 1 });
    assert.deepEqual(reach.failed_by_reason, { 'absent subscriber': 1 });
    assert.deepEqual(reach.never_reached, [{ msisdn: '+263772000002', party_id: 'p2', reason: 'absent subscriber' }]);
    // Before the delay nothing is re-sent; after it, the failed and the unconfirmed get a second attempt.
    await notices.tick({ now: new Date(t0.getTime() + 30_000), elapsed_s: 10 });
    assert.equal((await outbox(kit.handle, `${id}:a:`)).length, 3);
    await notices.tick({ now: new Date(t0.getTime() + 61_000), elapsed_s: 10 });
    const resent = (await outbox(kit.handle, `${id}:a:`)).filter((m) => m.id.endsWith(':2'));
    assert.deepEqual(resent.map((m) => m.msisdn).sort(), ['+263772000002', '+263772000003']);
    await recordOutcome(kit.handle, resent.find((m) => m.msisdn === '+263772000002')!, { state: 'delivered', at: t0 });
    reach = (await kit.request({ url: `/notices/maintenance/${id}` })).body;
    assert.equal(reach.delivered, 2);
    assert.deepEqual(reach.never_reached, []);
    // The reminder goes out an hour before the start, once.
    await notices.tick({ now: new Date('2099-11-21T22:00:01Z'), elapsed_s: 10 });
    await notices.tick({ now: new Date('2099-11-21T22:00:02Z'), elapsed_s: 10 });
    const reminders = await outbox(kit.handle, `${id}:r:`);
    assert.equal(reminders.length, 3);
    assert.match(reminders[0].text, /^Reminder: Planned maintenance/);
    const unknown = await kit.request({ url: '/notices/maintenance/mnt-nope' });
    assert.equal(unknown.body.code, 'notice_campaign_not_found');
    const backwards = await kit.request({ url: '/notices/maintenance', body: { starts_at: WINDOW.ends_at, ends_at: WINDOW.starts_at, by: 'ops' } });
    assert.equal(backwards.body.code, 'cutover_window_invalid');
  } finally {
    await kit.close();
  }
});

test('the recent audience: active subscribers with a wallet transaction in the last N days, legacy history at its legacy time', async () => {
  const kit = await openKit();
  try {
    await writeParties(kit.handle, ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map((id, i) =>
      subscriber({ id, msisdn: `+26377200010${i + 1}`, ...(id === 'p6' ? { status: 'suspended' as const } : {}) })));
    const day = 86_400_000;
    const legacyAt = (ms: number) => `legacy txn_log 7 P2P USSD ${new Date(ms).toISOString().slice(0, 19)}Z`;
    const bank = 'bank:b1:USD';
    const into = (id: string, party: string, user_data: string | null = null): TransferInput => ({ id, debit_account_id: bank, credit_account_id: walletId(party, 'USD'), amount: 100n, asset: 'USD', code: 1, user_data });
    await kit.handle.writer.execute({
      run: (ctx) => {
        const accounts = ctx.createAccounts([
          { id: bank, asset: 'USD', code: AccountCode.bank_settlement },
          ...['p1', 'p2', 'p3', 'p4', 'p6'].map((p) => ({ id: walletId(p, 'USD'), asset: 'USD', code: AccountCode.subscriber_wallet })),
        ]);
        assert.ok(accounts.every((r) => r === 'ok'), accounts.join());
        const results = ctx.createTransfers([
          into('mm:t1', 'p1'), // mari's own, now
          into('mig:txn:OLD2', 'p2', legacyAt(Date.now() - 100 * day)), // legacy, long ago, though booked now
          into('mig:open:2', 'p2', 'legacy wallet_snapshot 2'),
          into('mig:txn:NEW3', 'p3', legacyAt(Date.now() - 3 * day)), // legacy, three days ago, under ten drift entries
          ...Array.from({ length: 10 }, (_, i) => into(`mig:drift:3:${i}`, 'p3', 'drift')),
          into('mig:open:4', 'p4', 'legacy wallet_snapshot 4'), // an opening balance is no one's activity
          into('mm:t6', 'p6'), // recent, but suspended
        ]);
        assert.ok(results.every((r) => r === 'ok'), results.join());
      },
    });
    const started = await kit.request({ url: '/notices/maintenance', body: { ...WINDOW, by: 'ops', audience: 'recent', active_within_days: 30 } });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    assert.equal(started.body.active_within_days, 30);
    assert.equal(Date.parse(started.body.created_at) - Date.parse(started.body.active_since), 30 * day);
    await kit.cutover.notices.tick({ now: new Date('2099-11-21T12:00:00Z'), elapsed_s: 100 });
    const sent = await outbox(kit.handle, `${started.body.id}:a:`);
    assert.deepEqual(sent.map((m) => m.msisdn), ['+263772000101', '+263772000103']);
  } finally {
    await kit.close();
  }
});

test('a bad audience or number of days is refused with notice_audience_invalid, and starts nothing', async () => {
  const kit = await openKit();
  try {
    for (const body of [
      { audience: 'recent' }, { audience: 'recent', active_within_days: 0 }, { audience: 'recent', active_within_days: -7 },
      { audience: 'recent', active_within_days: 2.5 }, { audience: 'recent', active_within_days: 3651 }, { audience: 'active', active_within_days: 30 },
      { active_within_days: 30 },
    ]) {
      const answer = await kit.request({ url: '/notices/maintenance', body: { ...WINDOW, by: 'ops', ...body } });
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal(answer.body.code, 'notice_audience_invalid', JSON.stringify(body));
    }
    assert.deepEqual(kit.cutover.notices.list(), []);
  } finally {
    await kit.close();
  }
});
