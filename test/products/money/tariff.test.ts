// The tariff file: fees and commissions by amount tier (inclusive bounds, fixed plus basis
// points, rounded down), limits per KYC tier, and a bad file refused at start with its fault named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_TARIFF_FILE, Tariff } from '../../../src/products/money/tariff.js';
import { loadConfig } from '../../../src/config.js';
import { openLedger } from '../../../src/store/open.js';
import { openMoney } from '../../../src/products/money/index.js';

const file = () => JSON.parse(fs.readFileSync(DEFAULT_TARIFF_FILE, 'utf8'));

test('fee tiers are inclusive of up_to; the open tier adds basis points, rounded down', () => {
  const tariff = Tariff.load();
  assert.equal(tariff.fee('p2p', 'USD', 1n), 5n);
  assert.equal(tariff.fee('p2p', 'USD', 500n), 5n);
  assert.equal(tariff.fee('p2p', 'USD', 501n), 20n);
  assert.equal(tariff.fee('p2p', 'USD', 10_000n), 50n);
  assert.equal(tariff.fee('p2p', 'USD', 10_001n), 100n); // 50 + 0.5% of 100.01 = 50 + 50.005
  assert.equal(tariff.fee('merchant_payment', 'USD', 199n), 0n);
  assert.equal(tariff.commission('cash_out', 'USD', 3000n), 22n);
  assert.deepEqual(tariff.limits(0, 'USD'), { transaction: 5000n, daily: 10_000n, monthly: 30_000n, balance: 20_000n });
  assert.equal(tariff.limits(2, 'ZWG').daily, 27_000_000n);
});

test('a bad tariff is refused with the path of its fault', () => {
  const missing = file();
  delete missing.fees.airtime;
  assert.throws(() => Tariff.from(missing), /\/fees/);
  const unordered = file();
  unordered.fees.p2p.USD = [{ up_to: '2000', fixed: '5', bps: 0 }, { up_to: '500', fixed: '20', bps: 0 }, { up_to: null, fixed: '0', bps: 10 }];
  assert.throws(() => Tariff.from(unordered), /fees\.p2p\.USD: tiers must ascend/);
  const open = file();
  open.commissions.cash_in.ZWG = [{ up_to: null, fixed: '1', bps: 0 }, { up_to: null, fixed: '2', bps: 0 }];
  assert.throws(() => Tariff.from(open), /only the last tier has up_to null/);
  const negative = file();
  negative.limits['1'].USD.daily = '-1';
  assert.throws(() => Tariff.from(negative), /\/limits\/1\/USD\/daily/);
  assert.throws(() => Tariff.load('/nonexistent/tariff.json'), /tariff \/nonexistent\/tariff\.json/);
});

test('MARI_TARIFF_FILE picks the tariff the platform charges with; a broken one stops start-up', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mari-tariff-'));
  const custom = file();
  custom.fees.p2p.USD = [{ up_to: null, fixed: '7', bps: 0 }];
  fs.writeFileSync(path.join(dir, 'tariff.json'), JSON.stringify(custom));
  fs.writeFileSync(path.join(dir, 'broken.json'), '{"fees": ');
  const handle = await openLedger({ dataDir: path.join(dir, 'data') });
  // Close, then remove (after hooks run in the order they were added).
  t.after(async () => {
    await handle.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const config = loadConfig({ MARI_TARIFF_FILE: path.join(dir, 'tariff.json') }, { data_dir: path.join(dir, 'data') });
  const money = await openMoney({ handle, config, modules: new Map() }) as unknown as { tariff: Tariff };
  assert.equal(money.tariff.fee('p2p', 'USD', 100_000n), 7n);
  const broken = loadConfig({ MARI_TARIFF_FILE: path.join(dir, 'broken.json') }, { data_dir: path.join(dir, 'data') });
  await assert.rejects(openMoney({ handle, config: broken, modules: new Map() }), /broken\.json/);
});
