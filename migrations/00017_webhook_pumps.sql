-- +goose Up
-- Endpoint pumps (issue 15): a long-running, heartbeating activity of the
-- workflow webhook-pump:<webhook> delivers a webhook's outbox rows without
-- a Temporal call per message. Its lease keeps the dispatcher away from
-- the webhook's rows while it is alive (renewed with its heartbeat); the
-- rows themselves are claimed one by one with the outbox's atomic claim
-- (batch_id, claimed_at), so the lease is only a hint. owner names the
-- activity attempt holding the lease; a pump's batch ids start with
-- 'p|' || owner || '|', so rows claimed by a pump whose lease lapsed are
-- recognised as stale and restarted by the dispatcher. Same SQL for
-- Postgres and SQLite.
CREATE TABLE webhook_pumps (
    webhook_id TEXT PRIMARY KEY REFERENCES webhooks(id) ON DELETE CASCADE,
    owner TEXT NOT NULL,
    lease_until TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE webhook_pumps;
