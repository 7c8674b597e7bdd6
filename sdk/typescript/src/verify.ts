import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

export { WebhookVerificationError };

/** The Standard Webhooks headers every delivery carries. */
export const HEADER_WEBHOOK_ID = 'webhook-id';
export const HEADER_WEBHOOK_TIMESTAMP = 'webhook-timestamp';
export const HEADER_WEBHOOK_SIGNATURE = 'webhook-signature';

/**
 * How far webhook-timestamp may be from now, in seconds (the Standard
 * Webhooks default, the same the standardwebhooks library applies to HMAC
 * signatures): older or newer deliveries are refused as replays.
 */
export const TOLERANCE_SECONDS = 5 * 60;

/** Headers as Node (IncomingHttpHeaders), fetch (Headers) or a plain object give them. */
export type HeadersLike = Headers | Record<string, string | string[] | undefined>;

function normalize(headers: HeadersLike): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof (headers as Headers).forEach === 'function' && typeof (headers as Headers).get === 'function') {
    (headers as Headers).forEach((v, k) => {
      out[k.toLowerCase()] = v;
    });
    return out;
  }
  for (const [k, v] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/**
 * Checks the deliveries of one webhook. Keys are the webhook's signing
 * secret (`whsec_…`: `v1,` HMAC-SHA256 signatures, verified by the
 * standardwebhooks library) or its public key (`whpk_…`: `v1a,` Ed25519
 * signatures, verified with Node's crypto, i.e. OpenSSL). Give two keys
 * during a rotation's grace period: a delivery passes when a signature
 * verifies under any of them.
 *
 *     const verifier = new Verifier(process.env.AQIO_WEBHOOK_SECRET!); // whsec_… or whpk_…
 *     verifier.verify(rawBody, req.headers); // throws WebhookVerificationError
 */
export class Verifier {
  readonly #hmac: Webhook[] = [];
  readonly #ed25519: KeyObject[] = [];

  constructor(...keys: string[]) {
    if (keys.length === 0) throw new Error('aqio: no verification key');
    for (const k of keys) {
      if (k.startsWith('whsec_')) {
        this.#hmac.push(new Webhook(k));
      } else if (k.startsWith('whpk_')) {
        const raw = Buffer.from(k.slice('whpk_'.length), 'base64');
        if (raw.length !== 32) throw new Error(`aqio: public key is ${raw.length} bytes, want 32`);
        this.#ed25519.push(createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' }));
      } else {
        throw new Error('aqio: a key is a whsec_ secret or a whpk_ public key');
      }
    }
  }

  /**
   * Checks a delivery's headers against its raw body (read it unparsed:
   * re-encoded JSON does not verify). Returns normally when a signature
   * verifies and the timestamp is within TOLERANCE_SECONDS; throws a
   * WebhookVerificationError otherwise ("Missing required headers",
   * "Message timestamp too old", "No matching signature found", …).
   */
  verify(payload: string | Buffer | Uint8Array, headers: HeadersLike): void {
    const h = normalize(headers);
    const id = h[HEADER_WEBHOOK_ID];
    const ts = h[HEADER_WEBHOOK_TIMESTAMP];
    const sigs = h[HEADER_WEBHOOK_SIGNATURE];
    if (!id || !ts || !sigs) throw new WebhookVerificationError('Missing required headers');
    if (!/^\d+$/.test(ts)) throw new WebhookVerificationError('Invalid Signature Headers');
    const now = Math.floor(Date.now() / 1000);
    const sent = Number(ts);
    if (now - sent > TOLERANCE_SECONDS) throw new WebhookVerificationError('Message timestamp too old');
    if (sent - now > TOLERANCE_SECONDS) throw new WebhookVerificationError('Message timestamp too new');
    const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
    for (const wh of this.#hmac) {
      try {
        // The library takes a string or a Buffer; a Buffer is read as UTF-8.
        wh.verify(body, h, { jsonParse: false });
        return;
      } catch (err) {
        if (!(err instanceof WebhookVerificationError)) throw err;
      }
    }
    if (this.#ed25519.length > 0) {
      const content = Buffer.concat([Buffer.from(`${id}.${ts}.`, 'utf8'), body]);
      for (const entry of sigs.split(' ')) {
        if (!entry.startsWith('v1a,')) continue;
        const sig = Buffer.from(entry.slice(4), 'base64');
        if (sig.length !== 64) continue;
        for (const key of this.#ed25519) {
          if (cryptoVerify(null, content, key, sig)) return;
        }
      }
    }
    throw new WebhookVerificationError('No matching signature found');
  }
}
