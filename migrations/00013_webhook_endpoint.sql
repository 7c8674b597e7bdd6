-- +goose Up
-- Messages an endpoint's workflow (Endpoint, webhook-endpoint:<webhook>)
-- owes a retry: a first attempt failed retryably, or the message arrived
-- while the endpoint's circuit was open. The row lives until the message
-- reaches its final state; the workflow reads it by webhook (ids and
-- counters only, no payload). attempts counts the requests made for the
-- message so far; since is its first attempt (or when it was parked
-- without one), from which its retry deadline is computed.
CREATE TABLE webhook_parked (
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    since TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    PRIMARY KEY (webhook_id, event_id)
);
CREATE INDEX webhook_parked_due_idx ON webhook_parked (webhook_id, next_attempt_at);

-- An open circuit: the endpoint is failing. While the row exists the
-- dispatcher parks the webhook's new messages instead of sending them and
-- the Endpoint workflow probes the endpoint with one message at a time.
CREATE TABLE webhook_circuits (
    webhook_id TEXT PRIMARY KEY REFERENCES webhooks(id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    next_probe_at TIMESTAMP NOT NULL
);

-- Pacing, enforced by the Endpoint workflow (the one sender of a paced
-- webhook's messages): ordered delivery and a throttle (NULL: none).
ALTER TABLE webhooks ADD COLUMN ordered BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE webhooks ADD COLUMN max_deliveries_per_second INTEGER;

-- +goose Down
ALTER TABLE webhooks DROP COLUMN max_deliveries_per_second;
ALTER TABLE webhooks DROP COLUMN ordered;
DROP TABLE webhook_circuits;
DROP TABLE webhook_parked;
