// Checks the public status page (HTML and JSON, no key, cached body with an etag) and incidents:
// opened, updated, resolved, with the errors for unknown and resolved ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutoverOf } from '../../../src/cutover/kit/module.js';
import { EnquiryLimiter } from '../../../src/cutover/kit/surge.js';
import { openHttp, seedWallets } from '../../helpers/http.js';

test('the status page is public, HTML or JSON, and answers 304 to its etag', async () => {
  const http = await openHttp();
  try {
    const html = await http.app.inject({ url: '/status' });
    assert.equal(html.statusCode, 200);
    assert.match(String(html.headers['content-type']), /text\/html/);
    assert.match(html.body, /<h1>Service status: Working<\/h1>/);
    const json = await http.request({ url: '/status', key: null, headers: { accept: 'application/json' } });
    assert.equal(json.body.overall, 'up');
    assert.equal(json.body.window, null);
    const again = await http.request({ url: '/status.json', key: null, headers: { 'if-none-match': String(json.headers.etag) } });
    assert.equal(again.status, 304);
  } finally {
    await http.close();
  }
});

test('incidents show on the page with their updates until resolved', async () => {
  const http = await openHttp();
  try {
    const opened = await http.request({ url: '/incidents', body: { title: 'USSD slow', impact: 'degraded', services: ['ussd'], text: 'Menus take 10 s to answer.', by: 'ops' } });
    assert.equal(opened.status, 201);
    let page = (await http.request({ url: '/status.json', key: null })).body;
    assert.equal(page.overall, 'degraded');
    assert.equal(page.services.find((s: { service: string }) => s.service === 'ussd').state, 'degraded');
    const down = await http.request({ url: `/incidents/${opened.body.id}/updates`, body: { text: '<b>Gateway</b> down', impact: 'down', by: 'ops' } });
    assert.equal(down.status, 200);
    page = (await http.request({ url: '/status.json', key: null })).body;
    assert.equal(page.overall, 'down');
    const html = (await http.app.inject({ url: '/status' })).body;
    assert.match(html, /&#60;b&#62;Gateway&#60;\/b&#62; down/, 'update text is escaped');
    const resolved = await http.request({ url: `/incidents/${opened.body.id}/updates`, body: { text: 'Back.', resolve: true, by: 'ops' } });
    assert.equal(resolved.body.state, 'resolved');
    page = (await http.request({ url: '/status.json', key: null })).body;
    assert.equal(page.overall, 'up');
    assert.equal(page.incidents[0].updates.length, 3);
    const late = await http.request({ url: `/incidents/${opened.body.id}/updates`, body: { text: 'again', by: 'ops' } });
    assert.equal(late.body.code, 'incident_resolved');
    const unknown = await http.request({ url: '/incidents/inc-nope/updates', body: { text: 'x', by: 'ops' } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'incident_not_found');
    const badService = await http.request({ url: '/incidents', body: { title: 't', impact: 'down', services: ['warp'], text: 'x', by: 'ops' } });
    assert.equal(badService.body.code, 'service_unknown');
    assert.equal((await http.request({ url: '/incidents' })).body.incidents.length, 1);
  } finally {
    await http.close();
  }
});

test('balance enquiries are limited per customer with try_later; others still answer', async () => {
  const http = await openHttp();
  try {
    await seedWallets(http, { alice: 10n });
    const limiter = cutoverOf(http.platform.modules)!.limiter;
    const answers: number[] = [];
    for (let i = 0; i < 25; i++) answers.push((await http.request({ url: '/accounts/alice' })).status);
    assert.ok(answers.slice(0, 20).every((s) => s === 200), 'a burst of ten seconds\' worth passes');
    const refused = await http.request({ url: '/accounts/alice' });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.code, 'try_later');
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.equal((await http.request({ url: '/accounts/bob' })).status, 200);
    assert.ok(limiter.refused > 0);
  } finally {
    await http.close();
  }
});

test('the limiter refills over time, and the overall limit holds across customers', () => {
  let now = 0;
  const limiter = new EnquiryLimiter({ per_customer_per_s: 1, total_per_s: 100 }, () => now);
  for (let i = 0; i < 10; i++) limiter.admit('a');
  assert.throws(() => limiter.admit('a'), { code: 'try_later' });
  now += 1000;
  limiter.admit('a');
  assert.throws(() => limiter.admit('a'), { code: 'try_later' });
  for (let i = 0; i < 99; i++) limiter.admit(`c${i}`);
  assert.throws(() => limiter.admit('fresh'), (error: { code: string; details: { limit: string } }) => error.code === 'try_later' && error.details.limit === 'total');
});
