// retryingFetch against a real local HTTP server that refuses with 429 and
// 503 before it answers: the retries honour Retry-After (seconds and HTTP
// dates), re-send the body and headers unchanged, stop at maxRetries, and
// hand back an answer whose Retry-After exceeds maxWaitMs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AqioAPIError, createAqioClient, parseRetryAfter, retryingFetch, unwrap } from '../src/index.js';

interface Seen {
  body: string;
  idem: string | undefined;
}

async function refusing(answers: Array<{ status: number; retryAfter?: string }>) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ body, idem: req.headers['idempotency-key'] as string | undefined });
      const a = answers[seen.length - 1] ?? { status: 202 };
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': 'req_' + seen.length };
      if (a.retryAfter !== undefined) headers['retry-after'] = a.retryAfter;
      const doc =
        a.status === 202
          ? { id: 'wh_evt_1', type: 'registration.confirmed', duplicate: false, deliveries: [] }
          : { error: { code: a.status === 429 ? 'rate_limited' : 'unavailable', message: 'slow down', ...(a.status === 429 ? { policy: 'minute' } : {}) } };
      res.writeHead(a.status, headers).end(JSON.stringify(doc));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('429 and 503 are retried after Retry-After with the same body and Idempotency-Key', async () => {
  const srv = await refusing([{ status: 429, retryAfter: '2' }, { status: 503 }, { status: 429, retryAfter: new Date(Date.now() + 3000).toUTCString() }]);
  const waits: number[] = [];
  try {
    const aqio = createAqioClient(srv.url, {
      serviceToken: 't',
      organization: 'org_1',
      retry: { sleep: async (ms) => void waits.push(ms) },
    });
    const res = await aqio.POST('/api/events', {
      params: { header: { 'Idempotency-Key': 'idem_1' } },
      body: { type: 'registration.confirmed', data: { object: { id: 'reg_1' } } },
    });
    assert.equal(res.response.status, 202);
    assert.equal(unwrap(res).id, 'wh_evt_1');
    assert.equal(srv.seen.length, 4);
    assert.ok(srv.seen.every((s) => s.idem === 'idem_1' && s.body === srv.seen[0]!.body && s.body.includes('reg_1')));
    assert.equal(waits[0], 2000);
    assert.equal(waits[1], 1000, 'no Retry-After: the default wait');
    assert.ok(waits[2]! > 0 && waits[2]! <= 3000, `an HTTP-date Retry-After: ${waits[2]}`);
  } finally {
    await srv.close();
  }
});

test('retries stop at maxRetries and the last 429 comes back typed', async () => {
  const srv = await refusing(Array.from({ length: 10 }, () => ({ status: 429, retryAfter: '1' })));
  try {
    const aqio = createAqioClient(srv.url, { apiKey: 'ak_x', retry: { maxRetries: 2, sleep: async () => {} } });
    const res = await aqio.GET('/api/webhooks');
    assert.equal(srv.seen.length, 3);
    assert.throws(
      () => unwrap(res),
      (e: unknown) =>
        e instanceof AqioAPIError && e.status === 429 && e.code === 'rate_limited' && e.policy === 'minute' && e.retryAfterMs === 1000 && e.requestId === 'req_3',
    );
  } finally {
    await srv.close();
  }
});

test('a Retry-After beyond maxWaitMs is not waited for', async () => {
  const srv = await refusing([{ status: 429, retryAfter: '3600' }]);
  try {
    const f = retryingFetch(undefined, { maxWaitMs: 60_000, sleep: async () => assert.fail('waited') });
    const resp = await f(new Request(srv.url + '/api/webhooks'));
    assert.equal(resp.status, 429);
    assert.equal(srv.seen.length, 1);
  } finally {
    await srv.close();
  }
});

test('parseRetryAfter', () => {
  assert.equal(parseRetryAfter('7'), 7000);
  assert.equal(parseRetryAfter(null), undefined);
  assert.equal(parseRetryAfter('soon'), undefined);
  assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6000);
});
