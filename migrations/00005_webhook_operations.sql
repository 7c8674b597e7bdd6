-- +goose Up
-- Secret rotation: the previous secret keeps signing until its grace ends.
ALTER TABLE webhooks ADD COLUMN previous_secret TEXT;
ALTER TABLE webhooks ADD COLUMN previous_secret_expires_at TIMESTAMP;
-- Destination authentication: key-ring ciphertext of {"type","username","password","header","value"}.
ALTER TABLE webhooks ADD COLUMN destination_auth TEXT;
ALTER TABLE webhooks ADD COLUMN destination_auth_hint TEXT;
-- A redelivery run points at the run it repeats.
ALTER TABLE webhook_deliveries ADD COLUMN redelivery_of TEXT;
CREATE INDEX webhook_deliveries_status_idx ON webhook_deliveries (webhook_id, status, attempted_at);

-- +goose Down
DROP INDEX webhook_deliveries_status_idx;
ALTER TABLE webhook_deliveries DROP COLUMN redelivery_of;
ALTER TABLE webhooks DROP COLUMN destination_auth_hint;
ALTER TABLE webhooks DROP COLUMN destination_auth;
ALTER TABLE webhooks DROP COLUMN previous_secret_expires_at;
ALTER TABLE webhooks DROP COLUMN previous_secret;
