-- +goose Up
-- API keys as a key authority (issue 4): lifecycle columns on api_keys,
-- rate-limit counters, per-minute usage buckets and the audit log.
-- Portable SQL: runs unchanged on Postgres and SQLite.

ALTER TABLE api_keys ADD COLUMN created_by_user_id TEXT;
ALTER TABLE api_keys ADD COLUMN revoked_at TIMESTAMP;
ALTER TABLE api_keys ADD COLUMN rotated_at TIMESTAMP;
ALTER TABLE api_keys ADD COLUMN replaced_by_id TEXT;
CREATE INDEX api_keys_org_created_idx ON api_keys (organization_id, created_at, id);

-- One row per rate-limited subject (an API key) holding both fixed windows,
-- so one conditional UPSERT checks and consumes both atomically.
CREATE TABLE rate_limit_counters (
    subject TEXT PRIMARY KEY,
    minute_start BIGINT NOT NULL,
    minute_count INTEGER NOT NULL,
    hour_start BIGINT NOT NULL,
    hour_count INTEGER NOT NULL
);

-- Per-key, per-minute usage: requests admitted and refused.
CREATE TABLE api_key_usage (
    api_key_id TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL,
    bucket_start TIMESTAMP NOT NULL,
    allowed INTEGER NOT NULL DEFAULT 0,
    denied INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (api_key_id, bucket_start)
);
CREATE INDEX api_key_usage_org_idx ON api_key_usage (organization_id, bucket_start);

-- Append-only: the service only ever INSERTs here. ids are UUIDv7, so they
-- sort by time and serve as the pagination cursor.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    organization_id TEXT,
    occurred_at TIMESTAMP NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL DEFAULT 'success',
    actor_type TEXT NOT NULL,
    actor_id TEXT,
    target_type TEXT,
    target_id TEXT,
    source_ip TEXT,
    request_id TEXT,
    details TEXT
);
CREATE INDEX audit_log_org_idx ON audit_log (organization_id, id);
CREATE INDEX audit_log_org_action_idx ON audit_log (organization_id, action, id);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE api_key_usage;
DROP TABLE rate_limit_counters;
DROP INDEX api_keys_org_created_idx;
ALTER TABLE api_keys DROP COLUMN replaced_by_id;
ALTER TABLE api_keys DROP COLUMN rotated_at;
ALTER TABLE api_keys DROP COLUMN revoked_at;
ALTER TABLE api_keys DROP COLUMN created_by_user_id;
