// Package aqio is the Go client of the Aqio Connect API.
//
// The operations and models in client.gen.go are generated from
// api/openapi.yaml by oapi-codegen (see generate.sh); do not edit them.
// The hand-written helpers around them are:
//
//   - New: a ClientWithResponses with credentials and bounded retries that
//     honour Retry-After on 429 and 503 (RetryTransport);
//   - Check and *APIError: typed errors from the {"error":{code,message,field}} body;
//   - Pages: iterate a cursor-paginated list;
//   - WithIdempotencyKey / NewIdempotencyKey: safe retries of event posts;
//   - Verifier: Standard Webhooks signature verification, HMAC (v1, whsec_)
//     and Ed25519 (v1a, whpk_).
package aqio

//go:generate ./generate.sh
