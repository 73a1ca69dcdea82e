// Checks failures past the request: a stopped writer answers 503 writer_unavailable (even for work it took and never answered), a bug answers 500 internal_error with the stack in the log and never in the body, and the HTTP parser's refusals keep the common shape.
import assert from 'node:assert/strict';
import net from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { assertJournalOk, openHttp, seedWallets, USD } from '../../helpers/http.js';
import { pino } from 'pino';

function logSink(): { stream: Writable; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk, _encoding, done) { chunks.push(String(chunk)); done(); } });
  const text = () => chunks.join('');
  return { stream, text, lines: () => text().split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>) };
}

test('a failed commit stops the writer: writes and /health answer 503 writer_unavailable', async () => {
  const http = await openHttp();
  try {
    await seedWallets(http, { alice: 100n });
    http.handle.store.commit = async () => { throw new Error('disk full'); };
    const move = { id: 'w1', debit_account_id: 'alice', credit_account_id: 'bob', amount: '1', ...USD };
    const failed = await http.request({ url: '/transfers', body: move });
    assert.equal(failed.status, 503);
    assert.equal(failed.body.code, 'writer_unavailable');
    assert.equal(failed.headers['retry-after'], '1');
    const after = await http.request({ url: '/transfers', body: { ...move, id: 'w2' } });
    assert.equal(after.body.code, 'writer_unavailable');
    const health = await http.request({ url: '/health', key: null });
    assert.equal(health.status, 503);
    assert.equal(health.body.code, 'writer_unavailable');
    assert.equal((await http.request({ url: '/accounts/alice' })).status, 200, 'reads go on');
    assertJournalOk(http.handle);
  } finally {
    await http.close();
  }
});

test('work the writer took but never answered (it stopped before committing) gets 503, not a hang', async () => {
  const http = await openHttp();
  try {
    await seedWallets(http, { alice: 100n });
    http.handle.store.lookups = async () => { throw new Error('store unreachable'); };
    const answer = await http.request({ url: '/accounts', body: { id: 'late', ...USD } });
    assert.equal(answer.status, 503);
    assert.equal(answer.body.code, 'writer_unavailable');
  } finally {
    await http.close();
  }
});

test('an unexpected error is 500 internal_error without a stack; the log has it, and never the Authorization header', async () => {
  const sink = logSink();
  const http = await openHttp({ logger: { stream: sink.stream } });
  try {
    await seedWallets(http, { alice: 100n });
    http.handle.store.getTransfer = async () => { throw new Error('boom at the store'); };
    const answer = await http.request({ url: '/transfers/fund-alice' });
    assert.equal(answer.status, 500);
    assert.deepEqual(Object.keys(answer.body).sort(), ['code', 'message']);
    assert.equal(answer.body.code, 'internal_error');
    assert.ok(!answer.text.includes('boom') && !answer.text.includes('.js:'), 'no error text or stack in the body');
    await http.request({ url: '/accounts/alice', key: 'mari_not-a-real-key' });
    await http.request({ url: '/accounts/alice', headers: { 'x-trace': 'y' } });

    const lines = sink.lines();
    assert.ok(lines.length > 0 && lines.every((line) => typeof line.level === 'number' && typeof line.msg === 'string'), 'pino JSON lines');
    const logged = lines.find((line) => (line.err as { message?: string } | undefined)?.message === 'boom at the store');
    assert.ok(logged, 'the error is logged');
    assert.match(String((logged.err as { stack?: string }).stack), /boom at the store/);
    for (const secret of [http.operator, http.auditor, 'mari_not-a-real-key']) assert.ok(!sink.text().includes(secret), 'no key in the log');
  } finally {
    await http.close();
  }
});

test('a pino logger passed in (as mari serve does) gets the request lines', async () => {
  const sink = logSink();
  const http = await openHttp({ logger: pino({ level: 'info' }, sink.stream) });
  try {
    await http.request({ url: '/accounts/nobody' });
    const lines = sink.lines();
    assert.ok(lines.some((line) => line.msg === 'request completed' && (line.res as { statusCode?: number }).statusCode === 404));
    assert.ok(!sink.text().includes(http.operator));
  } finally {
    await http.close();
  }
});

test('the Authorization header is redacted when a request logger includes headers', async () => {
  const sink = logSink();
  const http = await openHttp({ logger: { stream: sink.stream, serializers: { req: (req: { headers: unknown }) => ({ headers: req.headers }) } } });
  try {
    await http.request({ url: '/assets' });
    assert.ok(sink.text().includes('[redacted]'));
    assert.ok(!sink.text().includes(http.operator));
  } finally {
    await http.close();
  }
});

/** Sends raw bytes to the listening app and returns what comes back before the server closes. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

test('requests the HTTP parser refuses get the common error shape on the socket', async () => {
  const http = await openHttp();
  try {
    await http.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (http.app.server.address() as net.AddressInfo).port;
    const garbage = await rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400 /);
    assert.equal(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4)).code, 'invalid_request');
    const huge = await rawExchange(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(huge, /^HTTP\/1\.1 431 /);
    assert.equal(JSON.parse(huge.slice(huge.indexOf('\r\n\r\n') + 4)).code, 'headers_too_large');
  } finally {
    await http.close();
  }
});
