// Posts a domain event so that retrying the post can never deliver it
// twice: the Idempotency-Key is chosen once, before the first try, and sent
// again with every retry. The repeat answers 200 with duplicate: true and
// the deliveries of the first post.
//
//   AQIO_URL=http://127.0.0.1:8080 AQIO_SERVICE_TOKEN=… AQIO_ORGANIZATION=org_demo node .build/examples/ts/idempotent-event.js
import { AqioAPIError, createAqioClient, newIdempotencyKey, unwrap, type EventIn } from '@aqio/connect';

const aqio = createAqioClient(process.env.AQIO_URL!, {
  serviceToken: process.env.AQIO_SERVICE_TOKEN,
  organization: process.env.AQIO_ORGANIZATION,
});

// Keep the key with the event (e.g. in your outbox row) until the post is
// accepted; a process restart reuses it.
const key = newIdempotencyKey();
const event: EventIn = {
  type: 'registration.confirmed',
  data: { object: { id: 'reg_idempotent_example', event_id: 'evt_1', status: 'confirmed' } },
};

async function post() {
  const res = await aqio.POST('/api/events', {
    params: { header: { 'Idempotency-Key': key } },
    body: event,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.response.status, accepted: unwrap(res) };
}

let first: Awaited<ReturnType<typeof post>> | undefined;
for (let attempt = 1; !first; attempt++) {
  try {
    first = await post();
  } catch (e) {
    // A timeout, a network error or a 5xx: same key, try again. A 4xx is
    // an error a retry cannot fix.
    if ((e instanceof AqioAPIError && e.status < 500) || attempt === 5) throw e;
    await new Promise((r) => setTimeout(r, attempt * 1000));
  }
}
console.log(`accepted ${first.accepted.id} (status ${first.status}), queued for ${first.accepted.deliveries.length} webhook(s)`);

// Had the answer been lost, the retry would have looked like this:
const again = await post();
console.log(`repeat: status ${again.status}, duplicate ${again.accepted.duplicate}, same event ${again.accepted.id === first.accepted.id}`);
