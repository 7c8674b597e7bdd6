import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import { randomBytes } from 'node:crypto';
import type { paths } from './schema.gen.js';
import { retryingFetch, type RetryPolicy } from './retry.js';

/** The typed client: `GET`, `POST`, `PUT`, `PATCH`, `DELETE` on the document's paths. */
export type AqioClient = Client<paths>;

export interface AqioClientOptions {
  /** An API key (`ak_…`) of an external developer: `Authorization: Bearer <key>`. */
  apiKey?: string;
  /**
   * The Aqio backend's service token; `organization` names the organization
   * it acts for (`X-Aqio-Organization-Id`) and `user`, optionally, the user
   * (`X-Aqio-User-Id`).
   */
  serviceToken?: string;
  /** A Keycloak access token of an Aqio user. */
  accessToken?: string;
  organization?: string;
  user?: string;
  /** Retries of 429 and 503 answers; `{ maxRetries: 0 }` turns them off. */
  retry?: RetryPolicy;
  /** The fetch that sends requests (globalThis.fetch when absent); wrapped for retries. */
  fetch?: (input: Request) => Promise<Response>;
  /** Passed on to openapi-fetch's createClient. */
  clientOptions?: Omit<ClientOptions, 'baseUrl' | 'fetch' | 'headers'>;
}

/**
 * Returns a typed client of the Aqio Connect API at baseUrl (for example
 * `http://127.0.0.1:8080`) that sends the credentials of opts and retries
 * 429 and 503 answers after their Retry-After.
 *
 *     const aqio = createAqioClient('https://connect.example.com', { apiKey: process.env.AQIO_API_KEY });
 *     const hooks = unwrap(await aqio.GET('/api/webhooks'));
 */
export function createAqioClient(baseUrl: string, opts: AqioClientOptions = {}): AqioClient {
  const headers: Record<string, string> = {};
  const bearer = opts.apiKey ?? opts.serviceToken ?? opts.accessToken;
  if (bearer) headers['Authorization'] = `Bearer ${bearer}`;
  if (opts.organization) headers['X-Aqio-Organization-Id'] = opts.organization;
  if (opts.user) headers['X-Aqio-User-Id'] = opts.user;
  const base = opts.fetch ?? ((r: Request) => globalThis.fetch(r));
  return createClient<paths>({
    ...opts.clientOptions,
    baseUrl: baseUrl.replace(/\/+$/, ''),
    headers,
    fetch: retryingFetch(base, opts.retry),
  });
}

/**
 * A random key for the Idempotency-Key header of an event post: keep it
 * with the event until the post is accepted, so a repeat after a timeout or
 * a lost answer stores nothing new (it answers 200 with `duplicate: true`).
 *
 *     const key = newIdempotencyKey();
 *     await aqio.POST('/api/events', { params: { header: { 'Idempotency-Key': key } }, body: event });
 */
export function newIdempotencyKey(): string {
  return 'idem_' + randomBytes(16).toString('hex');
}
