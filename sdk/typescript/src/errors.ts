import type { components } from './schema.gen.js';

/** The API's error body: `{"error":{"code","message","field"?,"policy"?}}`. */
export type ErrorBody = components['schemas']['Error'];

/**
 * An answer other than 2xx, decoded from the API's error body. `code` is
 * machine-readable (`invalid_field`, `not_found`, `rate_limited`,
 * `insufficient_scope`, …; `http_<status>` when the body was not an error
 * document), `field` the dotted path of the offending input when one is to
 * blame.
 */
export class AqioAPIError extends Error {
  override readonly name = 'AqioAPIError';
  /** The HTTP status. */
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  /** The exhausted rate-limit window on 429 (`minute` or `hour`). */
  readonly policy: string | undefined;
  /** The Retry-After of a 429 or 503 in milliseconds, undefined if absent. */
  readonly retryAfterMs: number | undefined;
  /** The answer's X-Request-Id, for support. */
  readonly requestId: string | undefined;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    field?: string | undefined;
    policy?: string | undefined;
    retryAfterMs?: number | undefined;
    requestId?: string | undefined;
  }) {
    super(`aqio: ${init.status} ${init.code}: ${init.message}${init.field ? ` (field ${init.field})` : ''}`);
    this.status = init.status;
    this.code = init.code;
    this.field = init.field;
    this.policy = init.policy;
    this.retryAfterMs = init.retryAfterMs;
    this.requestId = init.requestId ?? undefined;
  }

  /** The message the API gave, without the status and code prefix. */
  get apiMessage(): string {
    return this.message.replace(/^aqio: \d+ \S+: /, '').replace(/ \(field [^)]*\)$/, '');
  }

  /** Whether the call was refused by a rate limit (429). */
  get isRateLimited(): boolean {
    return this.status === 429;
  }

  /**
   * Builds the error of a non-2xx answer from its response and its body,
   * parsed (openapi-fetch's `error`) or raw text.
   */
  static from(response: Response, body: unknown): AqioAPIError {
    let doc: unknown = body;
    if (typeof body === 'string') {
      try {
        doc = JSON.parse(body);
      } catch {
        doc = undefined;
      }
    }
    const e = (doc as Partial<ErrorBody> | undefined)?.error;
    const ok = e !== undefined && e !== null && typeof e === 'object' && typeof e.code === 'string' && e.code !== '';
    return new AqioAPIError({
      status: response.status,
      code: ok ? e.code : `http_${response.status}`,
      message: ok ? String(e.message ?? '') : response.statusText || `HTTP ${response.status}`,
      field: ok ? e.field : undefined,
      policy: ok ? e.policy : undefined,
      retryAfterMs: parseRetryAfter(response.headers.get('Retry-After')),
      requestId: response.headers.get('X-Request-Id') ?? undefined,
    });
  }
}

/** What every openapi-fetch call resolves to. */
export interface FetchResult {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/**
 * Returns the decoded body of a 2xx answer and throws an AqioAPIError for
 * any other: one line per call instead of checking `error` by hand.
 *
 *     const webhook = unwrap(await client.POST('/api/webhooks', { body }));
 *
 * Operations that answer 204 give `undefined`.
 */
export function unwrap<R extends FetchResult>(result: R): Exclude<R['data'], undefined> {
  if (!result.response.ok || result.error !== undefined) {
    throw AqioAPIError.from(result.response, result.error);
  }
  return result.data as Exclude<R['data'], undefined>;
}

/**
 * Parses a Retry-After value (delay seconds or an HTTP date) into
 * milliseconds; undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}
