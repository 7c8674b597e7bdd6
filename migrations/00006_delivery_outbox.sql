-- +goose Up
-- The delivery outbox: one row per (webhook, event) that still has to be
-- handed to Temporal. Ingest writes it in the event's transaction, so a
-- 202 never depends on process memory; the dispatcher claims rows into
-- batches (batch_id), starts one DeliveryBatch workflow per batch and then
-- deletes them. A claimed row whose workflow start was lost (crash) is
-- started again under the same batch id, which Temporal deduplicates.
CREATE TABLE webhook_outbox (
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    batch_id TEXT,
    claimed_at TIMESTAMP,
    PRIMARY KEY (webhook_id, event_id)
);
CREATE INDEX webhook_outbox_pending_idx ON webhook_outbox (batch_id, created_at);

-- A batch run makes the first attempt of many messages, so an attempt is
-- identified by run, message and retry number (was: run and retry number).
DROP INDEX webhook_deliveries_attempt_uidx;
CREATE UNIQUE INDEX webhook_deliveries_attempt_uidx ON webhook_deliveries (run_id, message_id, retry_number);

-- +goose Down
DROP INDEX webhook_deliveries_attempt_uidx;
CREATE UNIQUE INDEX webhook_deliveries_attempt_uidx ON webhook_deliveries (run_id, retry_number);
DROP TABLE webhook_outbox;
