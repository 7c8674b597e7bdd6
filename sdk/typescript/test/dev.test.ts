// The SDK against a real `dev` (see harness.ts): create webhooks of both
// signature schemes, post an event twice with one Idempotency-Key, receive
// and verify the delivery, page through deliveries, get a typed 422, and
// run an API key into its rate limit and back off.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import {
  AqioAPIError,
  Verifier,
  WebhookVerificationError,
  TOLERANCE_SECONDS,
  createAqioClient,
  newIdempotencyKey,
  pages,
  unwrap,
  type Delivery,
  type EventIn,
} from '../src/index.js';
import { eventually, runID, serviceToken, startDev, startReceiver, type Dev } from './harness.js';

let dev: Dev;
before(async () => {
  dev = await startDev();
});
after(async () => {
  await dev?.stop();
});

// devTest is test() that prints the end of dev's log when the test fails.
function devTest(name: string, fn: () => Promise<void>) {
  test(name, async () => {
    try {
      await fn();
    } catch (err) {
      console.error(`--- dev log (end)\n${dev.log().slice(-8000)}`);
      throw err;
    }
  });
}

const service = (org: string) => createAqioClient(dev.url, { serviceToken, organization: org });

function event(id: string | undefined, type = 'registration.confirmed'): EventIn {
  return {
    ...(id ? { id } : {}),
    type,
    data: { object: { id: 'reg_' + (id ?? 'x'), event_id: 'evt_1', status: 'confirmed' } },
  };
}

describe('against dev', () => {
  for (const scheme of ['hmac-sha256', 'ed25519'] as const) {
    devTest(`webhook delivered and verified (${scheme})`, async () => {
      const aqio = service(`org_ts_verify_${scheme.replace('-', '_')}${runID}`);
      const rcv = await startReceiver();
      try {
        const wh = unwrap(
          await aqio.POST('/api/webhooks', {
            body: { name: 'ts receiver', url: rcv.url + '/hook', events: ['registration.*'], signature_scheme: scheme },
          }),
        );
        const key = scheme === 'hmac-sha256' ? wh.secret : wh.public_key;
        assert.ok(key, `created ${scheme} webhook carries its ${scheme === 'hmac-sha256' ? 'secret' : 'public key'}`);
        assert.equal(wh.signature_scheme, scheme);
        const verifier = new Verifier(key);
        rcv.setCheck((body, headers) => verifier.verify(body, headers));

        const idem = newIdempotencyKey();
        const first = await aqio.POST('/api/events', { params: { header: { 'Idempotency-Key': idem } }, body: event(undefined) });
        const accepted = unwrap(first);
        assert.equal(first.response.status, 202);
        assert.equal(accepted.deliveries.length, 1);
        const again = await aqio.POST('/api/events', { params: { header: { 'Idempotency-Key': idem } }, body: event(undefined) });
        const dup = unwrap(again);
        assert.equal(again.response.status, 200, 'a repeat with the same Idempotency-Key answers 200');
        assert.equal(dup.duplicate, true);
        assert.equal(dup.id, accepted.id);

        await eventually(60_000, 'the delivery', () => rcv.got.length > 0);
        const got = rcv.got[0]!;
        assert.equal(got.error, undefined, `delivery did not verify: ${got.error} (signature ${got.headers['webhook-signature']})`);
        const sigs = String(got.headers['webhook-signature']);
        assert.match(sigs, scheme === 'hmac-sha256' ? /^v1,/ : /^v1a,/);
        // The same verifier refuses a changed body.
        assert.throws(() => verifier.verify(Buffer.concat([got.body, Buffer.from(' ')]), got.headers), /No matching signature/);
        // A key of the other scheme does not verify it.
        const other = new Verifier(
          scheme === 'hmac-sha256' ? 'whpk_' + 'A'.repeat(43) + '=' : 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        );
        assert.throws(() => other.verify(got.body, got.headers), WebhookVerificationError);
        // Exactly one delivery: the duplicate post queued nothing.
        const list = unwrap(await aqio.GET('/api/webhooks/{id}/deliveries', { params: { path: { id: wh.id } } }));
        assert.equal(new Set(list.data.map((d) => d.event_id)).size, 1);

        // Rotate with a grace period: the next delivery carries the new and
        // the old signature, and a receiver holding either key verifies it.
        const rotated = unwrap(await aqio.POST('/api/webhooks/{id}/rotate-secret', { params: { path: { id: wh.id } }, body: { grace_seconds: 3600 } }));
        const newKey = scheme === 'hmac-sha256' ? rotated.secret : rotated.public_key;
        assert.ok(newKey && newKey !== key, 'rotation returns a new key');
        const both = new Verifier(newKey, key);
        rcv.setCheck((body, headers) => both.verify(body, headers));
        unwrap(await aqio.POST('/api/events', { body: event(`evt_ts_rotated_${scheme.replace('-', '_')}${runID}`) }));
        await eventually(60_000, 'the delivery after the rotation', () => rcv.got.length > 1);
        const after = rcv.got[1]!;
        assert.equal(after.error, undefined, `delivery after the rotation did not verify: ${after.error}`);
        assert.equal(String(after.headers['webhook-signature']).split(' ').length, 2, 'two signatures during the grace period');
        new Verifier(newKey).verify(after.body, after.headers);
        new Verifier(key).verify(after.body, after.headers);
      } finally {
        await rcv.close();
      }
    });
  }

  devTest('page through deliveries', async () => {
    const aqio = service('org_ts_pages' + runID);
    const rcv = await startReceiver();
    try {
      const wh = unwrap(await aqio.POST('/api/webhooks', { body: { name: 'pages', url: rcv.url, events: ['registration.confirmed'] } }));
      const verifier = new Verifier(wh.secret!);
      rcv.setCheck((b, h) => verifier.verify(b, h));
      const n = 5;
      const want = new Set<string>();
      for (let i = 0; i < n; i++) {
        const id = `evt_ts_page_${i}${runID}`;
        want.add(id);
        unwrap(await aqio.POST('/api/events', { body: event(id) }));
      }
      let fetched = 0;
      const page = async (cursor: string | undefined) => {
        fetched++;
        return unwrap(await aqio.GET('/api/webhooks/{id}/deliveries', { params: { path: { id: wh.id }, query: { limit: 1, cursor } } }));
      };
      let seen = new Set<string>();
      await eventually(60_000, 'five successful deliveries', async () => {
        seen = new Set();
        fetched = 0;
        for await (const d of pages<Delivery>(page)) {
          if (d.status === 'success' && d.event_id) seen.add(d.event_id);
        }
        return seen.size === n;
      });
      for (const id of want) assert.ok(seen.has(id), `event ${id} among the paged deliveries`);
      assert.ok(fetched >= n, `${fetched} pages of one for ${n} deliveries`);
      // Breaking out of the loop stops fetching.
      fetched = 0;
      for await (const _ of pages<Delivery>(page)) break;
      assert.equal(fetched, 1);
      assert.equal(rcv.got.filter((g) => g.error).length, 0, 'every delivery verified');
    } finally {
      await rcv.close();
    }
  });

  devTest('bad input is an AqioAPIError naming the field', async () => {
    const aqio = service('org_ts_errors' + runID);
    const res = await aqio.POST('/api/webhooks', { body: { name: 'bad', url: 'not a url', events: ['registration.confirmed'] } });
    assert.throws(
      () => unwrap(res),
      (e: unknown) => e instanceof AqioAPIError && Math.floor(e.status / 100) === 4 && e.field === 'url' && e.code !== '' && e.apiMessage !== '',
    );
  });

  devTest('rate limit: typed 429 with Retry-After, then back off and succeed', async () => {
    const org = 'org_ts_ratelimit' + runID;
    const svc = service(org);
    unwrap(await svc.PUT('/api/organizations/{id}', { params: { path: { id: org } }, body: { name: 'TS rate limit', plan: 'free' } }));
    const created = unwrap(await svc.POST('/api/api-keys', { body: { name: 'ts sdk', scopes: ['webhooks:read'] } }));
    const apiKey = created.key;

    const noRetry = createAqioClient(dev.url, { apiKey, retry: { maxRetries: 0 } });
    let limited: AqioAPIError | undefined;
    for (let i = 0; !limited; i++) {
      assert.ok(i < 1000, 'no 429 after 1000 calls on the free plan');
      try {
        unwrap(await noRetry.GET('/api/webhooks'));
      } catch (e) {
        assert.ok(e instanceof AqioAPIError && e.isRateLimited, `call ${i}: ${e}`);
        limited = e;
      }
    }
    assert.equal(limited.code, 'rate_limited');
    assert.ok((limited.retryAfterMs ?? 0) > 0, 'the 429 carries Retry-After');
    assert.ok(limited.policy === 'minute' || limited.policy === 'hour', `policy ${limited.policy}`);

    const statuses: number[] = [];
    const counting = async (r: Request) => {
      const resp = await fetch(r);
      statuses.push(resp.status);
      return resp;
    };
    const withRetry = createAqioClient(dev.url, { apiKey, fetch: counting, retry: { maxRetries: 3, maxWaitMs: 120_000 } });
    const started = Date.now();
    const list = unwrap(await withRetry.GET('/api/webhooks'));
    assert.ok(Array.isArray(list.data));
    assert.ok(statuses.filter((s) => s === 429).length >= 1 && statuses.at(-1) === 200, `answers seen: ${statuses}`);
    console.log(`backed off ${Math.round((Date.now() - started) / 1000)} s after ${statuses.length - 1} refusals (first Retry-After ${limited.retryAfterMs} ms)`);

    // A Retry-After beyond maxWaitMs is not waited for: the 429 comes back.
    const impatient = createAqioClient(dev.url, { apiKey, retry: { maxWaitMs: 1 } });
    for (let i = 0; ; i++) {
      assert.ok(i < 1000, 'no 429 through a client whose maxWaitMs is 1');
      const r = await impatient.GET('/api/webhooks');
      if (r.response.status === 429) {
        assert.throws(() => unwrap(r), (e: unknown) => e instanceof AqioAPIError && e.isRateLimited);
        break;
      }
    }
  });
});

// Deliveries signed here (the library's HMAC signer, a fresh Ed25519 key)
// exercise the timestamp tolerance and key rotation without waiting.
describe('verifier', () => {
  const secret = 'whsec_' + Buffer.alloc(24, 7).toString('base64');
  const body = '{"type":"registration.confirmed"}';
  const hmacHeaders = (ts: number, key = secret) => ({
    'webhook-id': 'msg_1',
    'webhook-timestamp': String(ts),
    'webhook-signature': new StandardWebhook(key).sign('msg_1', new Date(ts * 1000), body),
  });
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const whpk = 'whpk_' + Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
  const edHeaders = (ts: number) => ({
    'webhook-id': 'msg_2',
    'webhook-timestamp': String(ts),
    'webhook-signature': 'v1a,' + sign(null, Buffer.from(`msg_2.${ts}.${body}`), privateKey).toString('base64'),
  });
  const now = () => Math.floor(Date.now() / 1000);

  test('timestamps outside the tolerance are refused', () => {
    for (const [v, h] of [
      [new Verifier(secret), hmacHeaders],
      [new Verifier(whpk), edHeaders],
    ] as const) {
      v.verify(body, h(now()));
      assert.throws(() => v.verify(body, h(now() - TOLERANCE_SECONDS - 60)), /too old/);
      assert.throws(() => v.verify(body, h(now() + TOLERANCE_SECONDS + 60)), /too new/);
      assert.throws(() => v.verify(body, { ...h(now()), 'webhook-id': 'msg_other' }), /No matching signature/);
      assert.throws(() => v.verify(body, { 'webhook-id': 'x' }), /Missing required headers/);
    }
  });

  test('during a rotation either key verifies; Headers objects work', () => {
    const next = 'whsec_' + Buffer.alloc(24, 9).toString('base64');
    const v = new Verifier(secret, next, whpk);
    v.verify(body, hmacHeaders(now()));
    v.verify(Buffer.from(body), new Headers(hmacHeaders(now(), next)));
    v.verify(body, edHeaders(now()));
    assert.throws(() => new Verifier(next).verify(body, hmacHeaders(now())), /No matching signature/);
    assert.throws(() => new Verifier('sk_nope'), /whsec_ secret or a whpk_ public key/);
    assert.throws(() => new Verifier('whpk_AAAA'), /public key is 3 bytes/);
  });
});
