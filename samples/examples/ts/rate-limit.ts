// What a 429 carries and how to back off: the SDK client retries 429 and
// 503 after Retry-After by itself (bounded); a client with retries off gets
// an AqioAPIError whose retryAfterMs and policy say how long to wait and
// which window (minute or hour) is used up.
//
//   AQIO_URL=http://127.0.0.1:8080 AQIO_API_KEY=ak_… node .build/examples/ts/rate-limit.js
import { AqioAPIError, createAqioClient, unwrap } from '@aqio/connect';

const base = process.env.AQIO_URL!;
const apiKey = process.env.AQIO_API_KEY!;

// 1. Without the SDK's retries, call until the plan's limit answers 429.
const plain = createAqioClient(base, { apiKey, retry: { maxRetries: 0 } });
let limited: AqioAPIError | undefined;
for (let i = 1; i <= 2000 && !limited; i++) {
  try {
    unwrap(await plain.GET('/api/webhooks'));
  } catch (e) {
    if (!(e instanceof AqioAPIError) || !e.isRateLimited) throw e;
    limited = e;
    console.log(`call ${i}: 429 ${e.code}, policy ${e.policy}, Retry-After ${e.retryAfterMs} ms`);
  }
}
if (!limited) throw new Error('no 429 within 2000 calls');

// 2. Back off by hand: wait what Retry-After says (never hammer a 429), or
// give up when the wait is longer than the work can wait.
const waitMs = limited.retryAfterMs ?? 1000;
if (waitMs > 120_000) throw new Error(`the ${limited.policy} window is used up for ${waitMs} ms; try later`);
await new Promise((r) => setTimeout(r, waitMs));
unwrap(await plain.GET('/api/webhooks'));
console.log('after waiting Retry-After: 200');

// 3. Or let the client do it: it waits Retry-After (at most maxWaitMs at
// once) and re-sends, up to maxRetries times. The fetch below only shows the
// refusals the client absorbs.
let refusals = 0;
const auto = createAqioClient(base, {
  apiKey,
  retry: { maxRetries: 3, maxWaitMs: 120_000 },
  fetch: async (req) => {
    const res = await fetch(req);
    if (res.status === 429) {
      refusals++;
      console.log(`  429, Retry-After ${res.headers.get('Retry-After')}s: the client waits and re-sends`);
    }
    return res;
  },
});
const started = Date.now();
let calls = 0;
while (refusals === 0 && calls < 2000) {
  calls++;
  unwrap(await auto.GET('/api/webhooks')); // past the limit again
}
console.log(`${calls} calls through the retrying client: all 200, ${refusals} refusal(s) waited out (${Math.round((Date.now() - started) / 1000)}s)`);
