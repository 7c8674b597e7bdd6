// A webhook receiver for Aqio Connect deliveries on Node's http module and
// the TypeScript SDK (@aqio/connect): it verifies each request's Standard
// Webhooks signature (HMAC whsec_ secrets through the standardwebhooks
// package, Ed25519 whpk_ public keys through Node's crypto; the timestamp
// within 5 minutes), answers at once, deduplicates on webhook-id, and
// processes each message once, after the answer.
//
//   AQIO_WEBHOOK_SECRET=whsec_… PORT=3000 node node-receiver/server.mjs
//
// AQIO_WEBHOOK_SECRET may hold several keys, comma-separated: the old and
// the new one during a rotation's grace period. Every request is logged as
// one JSON line on stdout ({"outcome":"accepted"|"duplicate"|"rejected",…}).
import { createServer } from 'node:http';
import { Verifier } from '@aqio/connect';

const verifier = new Verifier(...(process.env.AQIO_WEBHOOK_SECRET ?? '').split(','));
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 3000);
const path = process.env.WEBHOOK_PATH ?? '/webhook';
const maxBytes = 1 << 20;

// The webhook-ids already accepted. A redelivery or a retry after a lost
// answer carries the same webhook-id. Keep them in your database in
// production (a unique key on the id); in memory they are lost on restart.
const seen = new Map(); // webhook-id -> when
const DAY = 24 * 60 * 60 * 1000;
function firstTime(id) {
  const now = Date.now();
  for (const [k, t] of seen) if (now - t > DAY) seen.delete(k);
  if (seen.has(id)) return false;
  seen.set(id, now);
  return true;
}

const log = (record) => process.stdout.write(JSON.stringify(record) + '\n');

// Work happens after the answer: a slow handler makes Aqio time out and
// retry. setImmediate stands in for your job queue.
function handle(event) {
  void event; // handle the event here
}

createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== path) {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > maxBytes) req.destroy();
    else chunks.push(c);
  });
  req.on('end', () => {
    const body = Buffer.concat(chunks); // the raw bytes: verify before parsing
    const id = req.headers['webhook-id'];
    try {
      verifier.verify(body, req.headers);
    } catch (err) {
      log({ outcome: 'rejected', webhook_id: id, reason: String(err.message ?? err) });
      res.writeHead(401, { 'content-type': 'text/plain' }).end('invalid signature');
      return;
    }
    const event = JSON.parse(body.toString('utf8'));
    if (!firstTime(id)) {
      log({ outcome: 'duplicate', webhook_id: id, type: event.type });
      res.writeHead(204).end(); // 2xx: Aqio stops retrying it
      return;
    }
    log({ outcome: 'accepted', webhook_id: id, type: event.type });
    res.writeHead(204).end();
    setImmediate(() => handle(event));
  });
}).listen(port, host, () => {
  process.stderr.write(`node-receiver listening on http://${host}:${port}${path}\n`);
});
