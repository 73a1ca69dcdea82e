// The enquiry lane answers GET /accounts/:id on the raw request, ahead of fastify. These tests go
// over a real socket (app.inject bypasses the server, and so the lane) and check that the lane
// answers exactly as fastify's route does, and hands fastify everything it cannot answer that way.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { cutoverOf } from '../../../src/cutover/kit/module.js';
import { openHttp, seedWallets, type HttpFixture } from '../../helpers/http.js';

interface LogLine { msg: string; lane?: string; res?: { statusCode: number }; req?: { url: string } }

interface Served {
  http: HttpFixture;
  base: string;
  lines: LogLine[];
  /** Requests fastify's own pipeline took since the last call (its 'incoming request' lines): the lane's answers do not count. */
  fastify: () => number;
}

/** The fixture with its log at info, listening on a free port. */
async function serve(): Promise<Served> {
  const lines: LogLine[] = [];
  const stream = new Writable({ write(chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  const http = await openHttp({ logger: { stream } });
  const base = await http.app.listen({ port: 0, host: '127.0.0.1' });
  let counted = 0;
  const fastify = () => {
    const incoming = lines.filter((line) => line.msg === 'incoming request').length;
    const since = incoming - counted;
    counted = incoming;
    return since;
  };
  return { http, base, lines, fastify };
}

async function get(base: string, path: string, key: string | null, method = 'GET') {
  const response = await fetch(base + path, { method, headers: key === null ? {} : { authorization: `Bearer ${key}` } });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

test('the lane answers an enquiry byte for byte as the route does, without fastify', async () => {
  const served = await serve();
  const { http } = served;
  try {
    await seedWallets(http, { alice: 1234n });
    served.fastify();
    const lane = await get(served.base, '/accounts/alice', http.operator);
    assert.equal(served.fastify(), 0, 'the lane answered');
    const route = await http.request({ url: '/accounts/alice' });
    served.fastify();
    assert.equal(lane.status, 200);
    assert.equal(lane.text, route.text);
    assert.equal(lane.headers.get('content-type'), route.headers['content-type']);
    assert.equal(JSON.parse(lane.text).credits_posted, '1234');
    const auditor = await get(served.base, '/accounts/alice', http.auditor);
    assert.equal(auditor.text, route.text, 'any role reads');
    assert.equal(served.fastify(), 0);
  } finally {
    await http.close();
  }
});

test('what the lane cannot answer exactly as the route, fastify answers', async () => {
  const served = await serve();
  const { http } = served;
  try {
    await seedWallets(http, { alice: 5n });
    served.fastify();
    const cases: { path: string; key: string | null; method?: string; status: number; code?: string }[] = [
      { path: '/accounts/alice', key: null, status: 401, code: 'unauthorized' },
      { path: '/accounts/alice', key: 'mari_not_a_key', status: 401, code: 'unauthorized' },
      { path: '/accounts/nobody', key: http.operator, status: 404, code: 'account_not_found' },
      { path: '/accounts/al%69ce', key: http.operator, status: 200 },
      { path: '/accounts/alice?x=1', key: http.operator, status: 200 },
      { path: '/accounts/alice/', key: http.operator, status: 404, code: 'route_not_found' },
      { path: '/accounts/alice', key: http.operator, method: 'HEAD', status: 200 },
      { path: '/accounts/alice', key: http.operator, method: 'DELETE', status: 405, code: 'method_not_allowed' },
    ];
    for (const [index, expected] of cases.entries()) {
      const answer = await get(served.base, expected.path, expected.key, expected.method);
      assert.equal(answer.status, expected.status, `${expected.method ?? 'GET'} ${expected.path}`);
      if (expected.code !== undefined) assert.equal(JSON.parse(answer.text).code, expected.code);
      if (expected.status === 401) assert.equal(answer.headers.get('www-authenticate'), 'Bearer');
      assert.equal(served.fastify(), 1, `fastify answered ${expected.method ?? 'GET'} ${expected.path}`);
    }
  } finally {
    await http.close();
  }
});

test('the surge guard refuses in the lane as in fastify, from one count per customer', async () => {
  const served = await serve();
  const { http } = served;
  try {
    await seedWallets(http, { alice: 5n, bob: 5n });
    served.fastify();
    const limiter = cutoverOf(http.platform.modules)!.limiter;
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await get(served.base, '/accounts/alice', http.operator)).status);
    assert.deepEqual(new Set(statuses), new Set([200]), 'a burst of ten seconds\' worth passes');
    const refused = await get(served.base, '/accounts/alice', http.operator);
    assert.equal(refused.status, 429);
    assert.equal(JSON.parse(refused.text).code, 'try_later');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(served.fastify(), 0, 'the lane counted and refused');
    assert.equal(limiter.refused, 1);
    // fastify's route shares the count: the customer is refused there too, and others still answer.
    const throughFastify = await http.request({ url: '/accounts/alice' });
    assert.equal(throughFastify.status, 429);
    assert.equal(throughFastify.text, refused.text.replace(/"retry_after_s":\d+/, `"retry_after_s":${throughFastify.body.details.retry_after_s}`));
    assert.equal((await get(served.base, '/accounts/bob', http.operator)).status, 200);
  } finally {
    await http.close();
  }
});

test('the lane logs each answer at info, as fastify logs its requests', async () => {
  const served = await serve();
  const { http } = served;
  try {
    await seedWallets(http, { alice: 5n });
    await get(served.base, '/accounts/alice', http.operator);
    const logged = served.lines.filter((line) => line.lane === 'enquiry');
    assert.equal(logged.length, 1);
    assert.equal(logged[0].msg, 'request completed');
    assert.equal(logged[0].res?.statusCode, 200);
    assert.equal(logged[0].req?.url, '/accounts/alice');
  } finally {
    await http.close();
  }
});
