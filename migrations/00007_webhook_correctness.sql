-- +goose Up
-- Events that matched a webhook while it was disabled: never queued, kept
-- so that re-enabling can count them and recover can deliver them
-- (status skipped_disabled). Written in the ingest transaction, only for
-- disabled webhooks whose subscription and filters match; purged with the
-- delivery log.
CREATE TABLE webhook_skipped (
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    skipped_at TIMESTAMP NOT NULL,
    PRIMARY KEY (webhook_id, event_id)
);
CREATE INDEX webhook_skipped_window_idx ON webhook_skipped (webhook_id, skipped_at);
CREATE INDEX webhook_skipped_event_idx ON webhook_skipped (organization_id, event_id);
CREATE INDEX webhook_skipped_purge_idx ON webhook_skipped (skipped_at);

-- Every send is recorded: an attempt row is written (status pending)
-- before the request goes out. A row still pending when its activity runs
-- again was interrupted (worker crash, timeout, lost recording): it is
-- marked interrupted and the resend gets a row of its own, so one
-- (run, message, retry number) may have several rows.
ALTER TABLE webhook_deliveries ADD COLUMN interrupted BOOLEAN NOT NULL DEFAULT FALSE;
DROP INDEX webhook_deliveries_attempt_uidx;
CREATE INDEX webhook_deliveries_attempt_idx ON webhook_deliveries (run_id, message_id, retry_number);

-- GET /api/events/{id} lists the attempts an event caused.
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (organization_id, event_id);

-- +goose Down
DROP INDEX webhook_deliveries_event_idx;
DROP INDEX webhook_deliveries_attempt_idx;
CREATE UNIQUE INDEX webhook_deliveries_attempt_uidx ON webhook_deliveries (run_id, message_id, retry_number);
ALTER TABLE webhook_deliveries DROP COLUMN interrupted;
DROP TABLE webhook_skipped;
