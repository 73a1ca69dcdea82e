import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestError } from '../../src/errors/registry.js';
import { maskMsisdn, normalizeMsisdn, requireMsisdn } from '../../src/products/msisdn.js';

test('every way of writing one Zimbabwean number is the same E.164 number', () => {
  for (const written of ['0772123456', '263772123456', '+263772123456', '+263 77 212 3456', '00263772123456', '772123456', ' 077-212-3456 ', '+263 (77) 212.3456']) {
    assert.equal(normalizeMsisdn(written), '+263772123456', written);
  }
  for (const prefix of ['71', '73', '77', '78']) assert.equal(normalizeMsisdn(`0${prefix}1234567`), `+263${prefix}1234567`);
});

test('landlines, short and long numbers, letters and junk are refused', () => {
  for (const bad of ['', '0242123456', '+263242123456', '077212345', '07721234567', '+2637721234567', '0772l23456', '+0772123456', '++263772123456', 'abc', '+1', '+12345', '263 77 212 345x', '1'.repeat(40)]) {
    assert.equal(normalizeMsisdn(bad), undefined, bad);
  }
});

test('international mobile numbers are accepted in E.164 shape', () => {
  assert.equal(normalizeMsisdn('+27 82 123 4567'), '+27821234567');
  assert.equal(normalizeMsisdn('0027821234567'), '+27821234567');
  assert.equal(normalizeMsisdn('+4479460000000000'), undefined); // 16 digits: longer than E.164 allows
});

test('requireMsisdn refuses with msisdn_invalid and masking keeps the ends', () => {
  assert.throws(() => requireMsisdn('0242123456'), (e: unknown) => e instanceof RequestError && e.code === 'msisdn_invalid' && e.status === 400);
  assert.equal(maskMsisdn(requireMsisdn('0772123456')), '+263772…456');
});
