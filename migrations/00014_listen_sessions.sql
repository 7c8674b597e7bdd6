-- +goose Up
-- `aqio-connect listen`: a temporary endpoint of an organization whose
-- destination is a CLI session instead of a URL. The session owns an
-- ordinary webhook row (url aqio-listen://<session id>, a scheme no user
-- can give a webhook), so its deliveries run through the same workflows,
-- retries and attempt log. expires_at moves forward while the CLI's stream
-- is open; the ListenSession workflow deletes the webhook (and with it the
-- session) once it has passed.
CREATE TABLE listen_sessions (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    forward_to TEXT NOT NULL,
    ttl_seconds INTEGER NOT NULL,
    connected BOOLEAN NOT NULL DEFAULT FALSE,
    last_seen_at TIMESTAMP,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX listen_sessions_org_idx ON listen_sessions (organization_id);
CREATE UNIQUE INDEX listen_sessions_webhook_uidx ON listen_sessions (webhook_id);

-- One signed request handed from a delivery attempt to the session's
-- stream, and the CLI's answer (the local receiver's response). Rows live
-- only while the attempt waits: the attempt deletes its row when it ends.
CREATE TABLE listen_messages (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES listen_sessions(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    request_headers TEXT NOT NULL,
    request_body TEXT NOT NULL,
    response_status INTEGER,
    response_headers TEXT,
    response_body TEXT,
    response_error TEXT,
    created_at TIMESTAMP NOT NULL,
    answered_at TIMESTAMP
);
CREATE INDEX listen_messages_pending_idx ON listen_messages (session_id, state, created_at);

-- +goose Down
DROP TABLE listen_messages;
DROP TABLE listen_sessions;
