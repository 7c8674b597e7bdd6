// Package filters decides whether a webhook wants an event, beyond its
// event-type subscription. Two optional mechanisms, both checked before a
// delivery workflow starts:
//
//   - event_filters, the product seed's JSON form: every key must match.
//     A key is a dot-path into data.object; an array value means any-of; a
//     scalar value means equality; a key prefixed min_ or max_ is an
//     inclusive numeric bound on the path after the prefix. A missing field,
//     or a non-numeric one under a bound, does not match.
//   - filter_expression, a CEL expression over the event envelope (id,
//     type, created, organization_id, data) that must be boolean. It runs
//     under a cost limit; an evaluation error (a missing key, a type
//     mismatch, the cost limit) means the event does not match.
package filters
