import { parseRetryAfter } from './errors.js';

/**
 * Bounds the retries of 429 and 503 answers. The defaults retry up to 3
 * times, waiting what Retry-After says (1 s when absent), at most 60 s per
 * wait: an answer asking for longer (an exhausted hourly window) comes back
 * to the caller, as an AqioAPIError with `retryAfterMs` once unwrapped.
 */
export interface RetryPolicy {
  /** How many times one request is re-sent; 0 turns retries off. Default 3. */
  maxRetries?: number;
  /** The longest single wait in milliseconds. Default 60000. */
  maxWaitMs?: number;
  /** The wait when the answer has no Retry-After, in milliseconds. Default 1000. */
  defaultWaitMs?: number;
  /** Waits ms or until signal aborts; a timer when absent. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Wraps a fetch function so that a request answered 429 Too Many Requests
 * or 503 Service Unavailable is sent again after the answer's Retry-After,
 * a bounded number of times. Each attempt sends a clone of the request,
 * headers and body unchanged, so an event post keeps its Idempotency-Key
 * and is never stored twice.
 */
export function retryingFetch(
  base: (input: Request) => Promise<Response> = (r) => globalThis.fetch(r),
  policy: RetryPolicy = {},
): (input: Request) => Promise<Response> {
  const maxRetries = policy.maxRetries ?? 3;
  const maxWaitMs = policy.maxWaitMs ?? 60_000;
  const defaultWaitMs = policy.defaultWaitMs ?? 1000;
  const wait = policy.sleep ?? sleep;
  return async (request: Request) => {
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= maxRetries;
      const response = await base(last ? request : request.clone());
      if (last || (response.status !== 429 && response.status !== 503)) return response;
      const ms = parseRetryAfter(response.headers.get('Retry-After')) ?? defaultWaitMs;
      if (ms > maxWaitMs) return response;
      await response.body?.cancel();
      await wait(ms, request.signal);
    }
  };
}
