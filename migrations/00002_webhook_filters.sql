-- +goose Up
-- Per-webhook filtering and payload customization (issue 3).
ALTER TABLE webhooks ADD COLUMN filter_expression TEXT;
ALTER TABLE webhooks ADD COLUMN payload_include TEXT;
ALTER TABLE webhooks ADD COLUMN payload_exclude TEXT;
ALTER TABLE webhooks ADD COLUMN custom_headers TEXT;

-- +goose Down
ALTER TABLE webhooks DROP COLUMN custom_headers;
ALTER TABLE webhooks DROP COLUMN payload_exclude;
ALTER TABLE webhooks DROP COLUMN payload_include;
ALTER TABLE webhooks DROP COLUMN filter_expression;
