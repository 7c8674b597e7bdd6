// Creates an API key that can do one thing: post events. Least privilege: a
// key leaked from one integration then cannot read or change webhooks, keys
// or integrations. The key is printed once; store it in your secret manager.
//
//   AQIO_URL=http://127.0.0.1:8080 AQIO_SERVICE_TOKEN=… AQIO_ORGANIZATION=org_demo node .build/examples/ts/scoped-key.js
import { AqioAPIError, createAqioClient, unwrap } from '@aqio/connect';

const base = process.env.AQIO_URL!;
// The Aqio backend (service token) acting for one organization; a user's or
// another key's credential works too (a key is never stronger than its creator).
const backend = createAqioClient(base, { serviceToken: process.env.AQIO_SERVICE_TOKEN, organization: process.env.AQIO_ORGANIZATION });

const created = unwrap(
  await backend.POST('/api/api-keys', {
    body: {
      name: 'ticketing bridge',
      description: 'posts registration events from the ticketing bridge',
      scopes: ['events:write'],
      // allowed_ips: ['203.0.113.0/24'], // and only from there
    },
  }),
); // a bad scope throws AqioAPIError 422 invalid_field, field scopes.0
console.log('id:', created.id);
console.log('scopes:', created.scopes.join(','));
console.log('key:', created.key); // shown once

// The key can post events …
const key = createAqioClient(base, { apiKey: created.key });
unwrap(await key.POST('/api/events', { body: { type: 'registration.confirmed', data: { object: { id: 'reg_scoped_key_example', event_id: 'evt_1' } } } }));
console.log('events:write: allowed');

// … and nothing else: listing webhooks is refused with 403 insufficient_scope.
try {
  unwrap(await key.GET('/api/webhooks'));
  throw new Error('listing webhooks with an events:write key succeeded; want 403');
} catch (e) {
  if (!(e instanceof AqioAPIError) || e.status !== 403) throw e;
  console.log('webhooks:read: refused,', e.code);
}
