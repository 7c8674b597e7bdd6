-- +goose Up
-- The API request log in its own SQLite file (requestlog/store.go): the
-- table of the app database's migration 00012, which Postgres keeps.

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

-- +goose Down
DROP TABLE api_request_logs;
