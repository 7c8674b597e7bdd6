-- +goose Up
-- One schema for Postgres and SQLite: TEXT ids, TIMESTAMP columns that always
-- hold UTC, JSON documents as TEXT (as in the product seed).

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    plan TEXT NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'pro', 'enterprise')),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT,
    display_name TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    key_hash TEXT UNIQUE NOT NULL,
    key_prefix TEXT NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    organization_id TEXT REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    scopes TEXT NOT NULL,
    allowed_ips TEXT,
    last_used_at TIMESTAMP,
    usage_count INTEGER NOT NULL DEFAULT 0,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX api_keys_org_idx ON api_keys (organization_id);

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT, -- AES-256-GCM ciphertext from the key ring, never the plaintext
    events TEXT NOT NULL,
    event_filters TEXT,
    content_type TEXT NOT NULL DEFAULT 'application/json'
        CHECK (content_type IN ('application/json', 'application/x-www-form-urlencoded')),
    timeout_seconds INTEGER NOT NULL DEFAULT 30,
    retry_count INTEGER NOT NULL DEFAULT 3,
    retry_delay_seconds INTEGER NOT NULL DEFAULT 60,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    last_triggered_at TIMESTAMP,
    total_deliveries INTEGER NOT NULL DEFAULT 0,
    failed_deliveries INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT,
    disabled_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX webhooks_org_idx ON webhooks (organization_id, created_at);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event_id TEXT,
    message_id TEXT NOT NULL, -- the webhook-id header, stable across retries and redeliveries
    workflow_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    request_headers TEXT,
    response_status_code INTEGER,
    response_headers TEXT,
    response_body TEXT,
    attempted_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    completed_at TIMESTAMP,
    duration_ms INTEGER,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'success', 'failed', 'cancelled')),
    error_message TEXT,
    is_retry BOOLEAN NOT NULL DEFAULT FALSE,
    retry_number INTEGER DEFAULT 0,
    next_retry_at TIMESTAMP,
    is_final BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX webhook_deliveries_list_idx ON webhook_deliveries (webhook_id, attempted_at, id);
CREATE INDEX webhook_deliveries_workflow_idx ON webhook_deliveries (workflow_id);
CREATE INDEX webhook_deliveries_attempted_idx ON webhook_deliveries (attempted_at);
-- One row per attempt of a run: an activity retried after a crash rewrites its row.
CREATE UNIQUE INDEX webhook_deliveries_attempt_uidx ON webhook_deliveries (run_id, retry_number);

CREATE TABLE integrations (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    integration_type TEXT NOT NULL CHECK (integration_type IN (
        'google_calendar', 'outlook_calendar', 'zoom', 'teams',
        'slack', 'discord', 'hubspot', 'salesforce', 'mailchimp')),
    name TEXT NOT NULL,
    access_token TEXT,
    refresh_token TEXT,
    token_expires_at TIMESTAMP,
    api_key TEXT,
    client_id TEXT,
    settings TEXT,
    sync_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'error', 'disabled')),
    last_sync_at TIMESTAMP,
    last_error_message TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (organization_id, user_id, integration_type)
);

CREATE TABLE integration_sync_logs (
    id TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    sync_type TEXT NOT NULL CHECK (sync_type IN ('full', 'incremental', 'manual')),
    direction TEXT NOT NULL CHECK (direction IN ('import', 'export', 'bidirectional')),
    records_processed INTEGER NOT NULL DEFAULT 0,
    records_created INTEGER NOT NULL DEFAULT 0,
    records_updated INTEGER NOT NULL DEFAULT 0,
    records_failed INTEGER NOT NULL DEFAULT 0,
    started_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    completed_at TIMESTAMP,
    duration_seconds INTEGER,
    status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
    error_details TEXT,
    sync_cursor TEXT,
    external_sync_id TEXT
);
CREATE INDEX integration_sync_logs_integration_idx ON integration_sync_logs (integration_id, started_at);

-- Domain events posted by the Aqio app. (organization_id, id) makes ingest idempotent.
CREATE TABLE events (
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    idempotency_key TEXT,
    payload TEXT NOT NULL,
    created_unix BIGINT NOT NULL,
    received_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    dispatched_at TIMESTAMP,
    dispatch TEXT, -- JSON list of the deliveries started for this event
    PRIMARY KEY (organization_id, id)
);
CREATE UNIQUE INDEX events_idempotency_uidx ON events (organization_id, idempotency_key);
CREATE INDEX events_received_idx ON events (organization_id, received_at);

-- +goose Down
DROP TABLE events;
DROP TABLE integration_sync_logs;
DROP TABLE integrations;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE api_keys;
DROP TABLE users;
DROP TABLE organizations;
