// The party directory's number rule: one holder resolves, several resolve to none, closing frees
// a number for a registration made in mari, and a number two migrated registrations share is
// held by neither whatever their status (a legacy double registration waits for an operator).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartyDirectory, type Party } from '../../src/products/parties.js';
import type { Msisdn } from '../../src/products/msisdn.js';

const NUMBER = '+263772000001' as Msisdn;

function subscriber(id: string, status: Party['status'], legacy: string | null): Party {
  return {
    id, kind: 'subscriber', name: id, status, msisdn: NUMBER, kyc_tier: 1, language: 'en', code: null,
    legacy: legacy === null ? null : { table: 'subscriber', id: legacy }, created_at: '2026-01-01T00:00:00.000Z',
  };
}

function directory(...parties: Party[]): PartyDirectory {
  const d = new PartyDirectory();
  for (const p of parties) d.set(p);
  return d;
}

test('a number registered twice in legacy is held by neither registration, even when one of them is closed', () => {
  assert.equal(directory(subscriber('sub.32', 'active', '32'), subscriber('sub.1630', 'active', '1630')).byNumber(NUMBER), undefined);
  // Legacy let the closed registration transact on the number: the active one is not its owner either.
  assert.equal(directory(subscriber('sub.215', 'closed', '215'), subscriber('sub.457', 'active', '457')).byNumber(NUMBER), undefined);
  assert.equal(directory(subscriber('sub.457', 'active', '457'), subscriber('sub.215', 'closed', '215')).byNumber(NUMBER), undefined);
  assert.equal(directory(subscriber('sub.215', 'closed', '215'), subscriber('sub.457', 'active', '457')).allByNumber(NUMBER).length, 2, 'both kept for support');
});

test('closing frees a number for a registration made in mari; a single holder resolves; a closed one alone does not', () => {
  assert.equal(directory(subscriber('sub.1', 'suspended', '1')).byNumber(NUMBER)?.id, 'sub.1');
  assert.equal(directory(subscriber('sub.1', 'closed', '1')).byNumber(NUMBER), undefined);
  assert.equal(directory(subscriber('sub.1', 'closed', '1'), subscriber('sub-new', 'active', null)).byNumber(NUMBER)?.id, 'sub-new');
  assert.equal(directory(subscriber('sub-old', 'closed', null), subscriber('sub-new', 'active', null)).byNumber(NUMBER)?.id, 'sub-new');
  assert.equal(directory(subscriber('sub-a', 'active', null), subscriber('sub-b', 'active', null)).byNumber(NUMBER), undefined);
  assert.equal(directory(subscriber('sub.1', 'closed', '1')).byNumber(NUMBER, 'agent'), undefined);
});
