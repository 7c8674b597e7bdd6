// The Aqio Connect TypeScript SDK: the generated types of api/openapi.yaml
// (schema.gen.ts, openapi-typescript), a typed openapi-fetch client with
// credentials and Retry-After retries, typed errors, cursor pagination,
// idempotency keys and Standard Webhooks verification (HMAC v1, Ed25519 v1a).
export type { paths, components, operations } from './schema.gen.js';
export { createAqioClient, newIdempotencyKey, type AqioClient, type AqioClientOptions } from './client.js';
export { AqioAPIError, unwrap, parseRetryAfter, type ErrorBody, type FetchResult } from './errors.js';
export { pages, type CursorPage } from './pages.js';
export { retryingFetch, type RetryPolicy } from './retry.js';
export {
  Verifier,
  WebhookVerificationError,
  TOLERANCE_SECONDS,
  HEADER_WEBHOOK_ID,
  HEADER_WEBHOOK_TIMESTAMP,
  HEADER_WEBHOOK_SIGNATURE,
  type HeadersLike,
} from './verify.js';

import type { components } from './schema.gen.js';
/** Shorthands for the document's schemas most callers use. */
export type Webhook = components['schemas']['Webhook'];
export type Delivery = components['schemas']['Delivery'];
export type EventIn = components['schemas']['EventIn'];
