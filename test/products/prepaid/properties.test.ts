// Property: random interleavings of voucher recharges, bundle purchases, charging sessions (some
// run concurrently) and clock advances with expiries. After every step the balance shown for each
// line and service is exactly what a new session could be granted, nothing is overdrawn, every
// asset sums to zero and the airtime redeemed is all accounted for; at the end the journal verifies.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { RequestError } from '../../../src/errors/registry.js';
import { systemId } from '../../../src/products/accounts.js';
import { normalizeMsisdn } from '../../../src/products/msisdn.js';
import { SERVICES, type Service } from '../../../src/products/prepaid/tariff.js';
import { NS_PER_S, START_NS, assertSound, openPrepaid, type Fixture } from './fixture.js';
import fs from 'node:fs';

const LINES = ['0772000001', '0772000002'];
const BUNDLES = ['DATA', 'VOICE', 'SMS', 'DATA2'];
const ALLOWED = new Set(['voucher_used', 'insufficient_airtime', 'credit_limit_reached', 'session_expired', 'session_not_found', 'charging_request_out_of_order']);

type Op =
  | { kind: 'recharge'; line: number; voucher: number }
  | { kind: 'buy'; line: number; bundle: number }
  | { kind: 'start'; line: number; service: Service; requested: number }
  | { kind: 'update'; session: number; used_percent: number; requested: number }
  | { kind: 'end'; session: number; used_percent: number }
  | { kind: 'advance'; minutes: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('recharge' as const), line: fc.nat(1), voucher: fc.nat(11) }),
  fc.record({ kind: fc.constant('buy' as const), line: fc.nat(1), bundle: fc.nat(3) }),
  fc.record({ kind: fc.constant('start' as const), line: fc.nat(1), service: fc.constantFrom(...SERVICES), requested: fc.integer({ min: 0, max: 5_000 }) }),
  fc.record({ kind: fc.constant('update' as const), session: fc.nat(7), used_percent: fc.integer({ min: 0, max: 120 }), requested: fc.integer({ min: 0, max: 5_000 }) }),
  fc.record({ kind: fc.constant('end' as const), session: fc.nat(7), used_percent: fc.integer({ min: 0, max: 120 }) }),
  fc.record({ kind: fc.constant('advance' as const), minutes: fc.constantFrom(1, 5, 30, 120, 1_440) }),
);

interface Model {
  pins: string[];
  sessions: { id: string; number: number; granted: bigint }[];
  started: number;
  redeemed: bigint;
}

async function apply(f: Fixture, model: Model, step: Op): Promise<void> {
  switch (step.kind) {
    case 'recharge': {
      const result = await f.prepaid.redeemVoucher({ msisdn: LINES[step.line], pin: model.pins[step.voucher] });
      model.redeemed += BigInt(result.credited);
      return;
    }
    case 'buy':
      await f.prepaid.buyBundle({ msisdn: LINES[step.line], bundle_code: BUNDLES[step.bundle], pay_from: 'airtime', reference: `r${model.started++}` });
      return;
    case 'start': {
      const id = `s${model.started++}`;
      const answer = await f.prepaid.chargingInitial({ session_id: id, request_number: 0, msisdn: LINES[step.line], service: step.service, requested_units: BigInt(step.requested) });
      model.sessions.push({ id, number: 0, granted: BigInt(answer.granted_units) });
      return;
    }
    case 'update':
    case 'end': {
      const session = model.sessions[step.session % Math.max(1, model.sessions.length)];
      if (!session) return;
      const number = session.number + 1;
      const used_units = (session.granted * BigInt(step.used_percent)) / 100n;
      session.number = number;
      if (step.kind === 'end') {
        await f.prepaid.chargingTerminate({ session_id: session.id, request_number: number, used_units });
        model.sessions.splice(model.sessions.indexOf(session), 1);
      } else {
        session.granted = BigInt((await f.prepaid.chargingUpdate({ session_id: session.id, request_number: number, used_units, requested_units: BigInt(step.requested) })).granted_units);
      }
      return;
    }
    case 'advance':
      f.advance(BigInt(step.minutes) * 60n * NS_PER_S);
      await f.handle.writer.expireNow();
      await f.prepaid.runDue();
      return;
  }
}

/** For every line and service: what is shown (lots + airtime at the tariff) is what a session could be granted. */
async function assertShownIsUsable(f: Fixture, model: Model): Promise<void> {
  const now = f.clock.now;
  let airtime = 0n;
  for (const line of LINES) {
    const msisdn = normalizeMsisdn(line)!;
    const shown = await f.prepaid.balances(line);
    for (const lot of shown.bundles) assert.ok(f.prepaid.bundles.lot(lot.lot_id)!.expires_at > now, 'an expired lot is never shown');
    const usd = BigInt(shown.airtime.find((a) => a.currency === 'USD')!.available);
    airtime += usd + BigInt(shown.airtime.find((a) => a.currency === 'USD')!.reserved);
    for (const service of SERVICES) {
      const lots = shown.bundles.filter((lot) => lot.service === service).reduce((sum, lot) => sum + BigInt(lot.available), 0n);
      const rate = f.prepaid.options.tariff.USD[service];
      const plan = f.prepaid.charging.plan(f.handle, { msisdn, service, requested: 1n << 60n, now });
      assert.equal(plan.granted, lots + usd / rate, `${line} ${service}: shown equals usable`);
    }
  }
  // Every unit of airtime redeemed is on a line, reserved, spent on bundles or charged.
  const sales = f.handle.ledger.accounts.get(systemId('bundle_sales', 'AIRTIME_USD'));
  const usage = f.handle.ledger.accounts.get(systemId('prepaid_usage', 'AIRTIME_USD'));
  assert.equal(airtime + (sales?.credits_posted ?? 0n) + (usage?.credits_posted ?? 0n), model.redeemed);
}

test('random interleavings of recharges, purchases, sessions and expiries: shown = usable at every step, and the journal verifies', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 5, maxLength: 25 }), async (groups) => {
      const closers: (() => Promise<void> | void)[] = [];
      const f = await openPrepaid({ after: (fn: () => Promise<void>) => closers.push(fn) } as unknown as TestContext);
      try {
        await f.prepaid.putBundle({ code: 'DATA', name: 'Data', service: 'data', price: '10', currency: 'USD', units: '3000', validity_s: 3_600, window: null });
        await f.prepaid.putBundle({ code: 'DATA2', name: 'Data 2', service: 'data', price: '15', currency: 'USD', units: '8000', validity_s: 86_400, window: null });
        await f.prepaid.putBundle({ code: 'VOICE', name: 'Voice', service: 'voice', price: '20', currency: 'USD', units: '600', validity_s: 7_200, window: null });
        await f.prepaid.putBundle({ code: 'SMS', name: 'SMS', service: 'sms', price: '5', currency: 'USD', units: '20', validity_s: 86_400, window: null });
        const batch = await f.prepaid.createVoucherBatch({ face_value: 5_000n, currency: 'USD', count: 12, expires_at: START_NS + 30n * 86_400n * NS_PER_S });
        const pins = fs.readFileSync(batch.file, 'utf8').trim().split('\n').slice(1).map((line) => line.split(',')[1]);
        const model: Model = { pins, sessions: [], started: 0, redeemed: 0n };
        for (const group of groups) {
          const outcomes = await Promise.allSettled(group.map((step) => apply(f, model, step)));
          for (const outcome of outcomes) {
            if (outcome.status === 'fulfilled') continue;
            const error = outcome.reason;
            assert.ok(error instanceof RequestError && ALLOWED.has(error.code), `unexpected: ${error?.code ?? error?.stack}`);
          }
          // A session the module forgot (expired, terminated) drops out of the model.
          model.sessions = model.sessions.filter((s) => f.prepaid.charging.idsFor(s.id).length > 0 || f.prepaid.charging.isOpen(s.id));
          await assertShownIsUsable(f, model);
        }
        await assertSound(f.handle);
      } finally {
        for (const close of closers) await close();
      }
    }),
    { numRuns: 12 },
  );
});
