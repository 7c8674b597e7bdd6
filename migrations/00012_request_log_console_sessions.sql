-- +goose Up
-- The API request log (diagnostic, written in batches off the request
-- path; see docs/AUTH.md "API request log") and the developer console's
-- server-side sessions (docs/console.md). Portable SQL: Postgres and SQLite.

-- ids are rql_<UUIDv7>, made when the request arrived, so they sort by time
-- and serve as the pagination cursor.
CREATE TABLE api_request_logs (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    duration_us BIGINT NOT NULL,
    auth TEXT NOT NULL,
    api_key_id TEXT,
    user_id TEXT,
    client_ip TEXT,
    request_id TEXT,
    error_code TEXT,
    request_body TEXT,
    request_body_truncated BOOLEAN NOT NULL DEFAULT FALSE,
    response_body TEXT,
    response_body_truncated BOOLEAN NOT NULL DEFAULT FALSE,
    body_omitted TEXT,
    links TEXT
);
CREATE INDEX api_request_logs_org_idx ON api_request_logs (organization_id, id);
CREATE INDEX api_request_logs_org_key_idx ON api_request_logs (organization_id, api_key_id, id);
CREATE INDEX api_request_logs_org_request_idx ON api_request_logs (organization_id, request_id);
CREATE INDEX api_request_logs_occurred_idx ON api_request_logs (occurred_at);

-- A console session: the cookie holds a random value, this table its
-- SHA-256. The credential (a pasted token or the user's OIDC tokens) is
-- key-ring encrypted, never stored in the clear.
CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY,
    auth TEXT NOT NULL,
    organization_id TEXT NOT NULL DEFAULT '',
    user_id TEXT NOT NULL DEFAULT '',
    csrf_token TEXT NOT NULL,
    credential TEXT NOT NULL,
    refresh_token TEXT,
    token_expires_at TIMESTAMP,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);

-- +goose Down
DROP TABLE console_sessions;
DROP TABLE api_request_logs;
