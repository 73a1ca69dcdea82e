// Checks the API key store: keys are shown once and only hashed on disk, roles authenticate, list never shows keys, revoke by hash prefix, config keys, and changes made by another process.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { KEY_FILE_NAME, KEY_PREFIX, KeyStore } from '../../../src/auth/keys.js';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mari-'));
}

test('create returns a mari_ key whose hash alone is stored; authenticate answers its role', () => {
  const data_dir = tempDir();
  try {
    const keys = KeyStore.open({ data_dir, api_keys: [] });
    const operator = keys.create('operator', 'ops laptop');
    const auditor = keys.create('auditor');
    assert.match(operator, new RegExp(`^${KEY_PREFIX}[A-Za-z0-9_-]{43}$`));
    assert.notEqual(operator, auditor);
    assert.equal(keys.authenticate(operator), 'operator');
    assert.equal(keys.authenticate(auditor), 'auditor');
    assert.equal(keys.authenticate(operator + 'x'), undefined);
    assert.equal(keys.authenticate(''), undefined);
    const file = fs.readFileSync(path.join(data_dir, KEY_FILE_NAME), 'utf8');
    assert.ok(!file.includes(operator) && !file.includes(operator.slice(KEY_PREFIX.length)), 'the file holds no key');
    assert.equal(fs.statSync(path.join(data_dir, KEY_FILE_NAME)).mode & 0o077, 0, 'only the owner may read the key file');
  } finally {
    fs.rmSync(data_dir, { recursive: true, force: true });
  }
});

test('list shows labels, roles, created time and hash prefixes, never keys; revoke removes one key', () => {
  const data_dir = tempDir();
  try {
    const keys = KeyStore.open({ data_dir, api_keys: [] });
    const first = keys.create('operator', 'first');
    const second = keys.create('auditor', 'second');
    const listed = keys.list();
    assert.deepEqual(listed.map(({ role, label, source }) => ({ role, label, source })), [
      { role: 'operator', label: 'first', source: 'file' },
      { role: 'auditor', label: 'second', source: 'file' },
    ]);
    for (const info of listed) {
      assert.match(info.hash_prefix, /^[0-9a-f]{12}$/);
      assert.ok(info.created !== null && !Number.isNaN(Date.parse(info.created)));
      assert.ok(!JSON.stringify(info).includes(first) && !JSON.stringify(info).includes(second));
    }
    assert.throws(() => keys.revoke('zz'), /hex/);
    assert.equal(keys.revoke('00000000'.replace(/0/g, listed[0].hash_prefix[0] === '0' ? '1' : '0')), undefined);
    const revoked = keys.revoke(listed[0].hash_prefix);
    assert.equal(revoked?.label, 'first');
    assert.equal(keys.authenticate(first), undefined);
    assert.equal(keys.authenticate(second), 'auditor');
    assert.deepEqual(keys.list().map((info) => info.label), ['second']);
  } finally {
    fs.rmSync(data_dir, { recursive: true, force: true });
  }
});

test('keys from the configuration authenticate, are listed by hash only, and cannot be revoked from the file', () => {
  const data_dir = tempDir();
  try {
    const key = 'configured-operator-key-123';
    const keys = KeyStore.open({ data_dir, api_keys: [{ key, role: 'operator' }] });
    assert.equal(keys.authenticate(key), 'operator');
    const [info] = keys.list();
    assert.equal(info.source, 'config');
    assert.ok(!JSON.stringify(info).includes(key));
    assert.throws(() => keys.revoke(info.hash_prefix), /MARI_API_KEYS/);
    assert.equal(fs.existsSync(path.join(data_dir, KEY_FILE_NAME)), false, 'no file until a key is created');
  } finally {
    fs.rmSync(data_dir, { recursive: true, force: true });
  }
});

test('a key created or revoked by another process (another KeyStore on the same file) is seen', () => {
  const data_dir = tempDir();
  try {
    const server = KeyStore.open({ data_dir, api_keys: [] });
    const cli = KeyStore.open({ data_dir, api_keys: [] });
    const key = cli.create('auditor', 'from the cli');
    // authenticate rereads a changed file at most once a second; list rereads at once.
    assert.equal(server.list().length, 1);
    assert.equal(server.authenticate(key), 'auditor');
    assert.ok(cli.revoke(cli.list()[0].hash_prefix));
    assert.equal(server.list().length, 0);
    assert.equal(server.authenticate(key), undefined);
  } finally {
    fs.rmSync(data_dir, { recursive: true, force: true });
  }
});

test('a key file that is not one is refused rather than read as no keys', () => {
  const data_dir = tempDir();
  try {
    fs.writeFileSync(path.join(data_dir, KEY_FILE_NAME), JSON.stringify({ version: 1, keys: [{ hash: 'nope', role: 'root' }] }));
    assert.throws(() => KeyStore.open({ data_dir, api_keys: [] }), /not a mari key file/);
    assert.throws(() => KeyStore.open({ data_dir, api_keys: [] }).create('admin' as 'operator'));
  } finally {
    fs.rmSync(data_dir, { recursive: true, force: true });
  }
});
