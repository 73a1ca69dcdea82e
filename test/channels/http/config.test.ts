// Checks loadConfig: defaults for every limit, environment variables, overrides, MARI_API_KEYS parsing, errors naming the bad setting, and a frozen result.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BATCH_EVENTS_HARD_MAX, loadConfig } from '../../../src/config.js';

test('defaults', () => {
  const config = loadConfig({});
  assert.deepEqual({ ...config }, {
    data_dir: './data', port: 8080, host: '127.0.0.1', log_level: 'info', body_bytes_max: 4 * 1024 * 1024,
    batch_events_max: 8190, page_size_default: 50, page_size_max: 1000, commit_events_max: 8192, api_keys: [],
    sms_sender: 'log', sms_rate_per_second: 20, sms_attempts_max: 8, sms_backoff_ms: 2000, sms_from: 'mari', sms_dlr_base_url: '',
    kannel_sendsms_url: 'http://127.0.0.1:13013/cgi-bin/sendsms', kannel_username: 'mari', kannel_password: '', kannel_timeout_ms: 10000, ussd_session_timeout_s: 180,
    tariff_file: '', legacy_url: '',
  });
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.api_keys));
  assert.throws(() => { (config as { port: number }).port = 1; }, TypeError);
});

test('environment and overrides, overrides winning', () => {
  const config = loadConfig(
    { MARI_DATA_DIR: '/srv/mari', PORT: '9000', HOST: '0.0.0.0', MARI_LOG_LEVEL: 'debug', MARI_PAGE_SIZE_MAX: '200', MARI_API_KEYS: 'abcdefghijklmnop:operator, audit:key:with:colons:auditor' },
    { port: 0 },
  );
  assert.equal(config.data_dir, '/srv/mari');
  assert.equal(config.port, 0);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.log_level, 'debug');
  assert.equal(config.page_size_max, 200);
  assert.deepEqual(config.api_keys, [{ key: 'abcdefghijklmnop', role: 'operator' }, { key: 'audit:key:with:colons', role: 'auditor' }]);
});

test('a bad setting is an Error naming it, without echoing keys', () => {
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{ PORT: 'eighty' }, /port \(PORT\)/],
    [{ PORT: '70000' }, /port \(PORT\)/],
    [{ MARI_LOG_LEVEL: 'loud' }, /log_level \(MARI_LOG_LEVEL\)/],
    [{ MARI_BATCH_EVENTS_MAX: String(BATCH_EVENTS_HARD_MAX + 1) }, /batch_events_max/],
    [{ MARI_BODY_BYTES_MAX: '1.5' }, /body_bytes_max/],
    [{ MARI_PAGE_SIZE_DEFAULT: '500', MARI_PAGE_SIZE_MAX: '100' }, /page_size_default/],
    [{ MARI_COMMIT_EVENTS_MAX: '100' }, /commit_events_max/],
    [{ MARI_API_KEYS: 'abcdefghijklmnop:root' }, /api_keys \(MARI_API_KEYS\)/],
    [{ MARI_API_KEYS: 'short:operator' }, /api_keys/],
  ];
  for (const [env, pattern] of cases) {
    assert.throws(() => loadConfig(env), (error: Error) => pattern.test(error.message) && !error.message.includes('abcdefghijklmnop'), JSON.stringify(env));
  }
  assert.throws(() => loadConfig({}, { port: -1 }), /port/);
  assert.throws(() => loadConfig({}, { colour: 'red' } as object), /colour/);
});
