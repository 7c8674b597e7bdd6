-- +goose Up
-- Integrations (issue 5): OAuth connect states, the latest state of the Aqio
-- objects seen in domain events, links between Aqio objects and provider
-- objects, and Slack milestones posted. Same SQL for Postgres and SQLite.

-- Columns the OAuth flow and the refresh loop need on the seed tables.
ALTER TABLE integrations ADD COLUMN token_extra TEXT;          -- key-ring ciphertext of provider extras (e.g. Slack incoming_webhook)
ALTER TABLE integrations ADD COLUMN granted_scopes TEXT;
ALTER TABLE integrations ADD COLUMN token_obtained_at TIMESTAMP;
ALTER TABLE integrations ADD COLUMN connected_at TIMESTAMP;
ALTER TABLE integration_sync_logs ADD COLUMN organization_id TEXT;
ALTER TABLE integration_sync_logs ADD COLUMN workflow_id TEXT;
ALTER TABLE integration_sync_logs ADD COLUMN retry_of TEXT;
ALTER TABLE integration_sync_logs ADD COLUMN from_cursor TEXT;

-- The seed's UNIQUE (organization_id, user_id, integration_type) lets two
-- organization-level rows (user_id NULL) coexist; this closes that gap.
CREATE UNIQUE INDEX integrations_owner_type_uidx
    ON integrations (organization_id, COALESCE(user_id, ''), integration_type);

-- One row per authorize call. The state itself is never stored, only its
-- SHA-256; the PKCE verifier and, once the provider answers, the code are
-- key-ring ciphertexts. Single use: used_at is set atomically.
CREATE TABLE integration_oauth_states (
    id TEXT PRIMARY KEY,
    state_hash TEXT NOT NULL UNIQUE,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id TEXT,
    integration_type TEXT NOT NULL,
    name TEXT NOT NULL,
    settings TEXT,
    return_url TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    code TEXT,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX integration_oauth_states_expires_idx ON integration_oauth_states (expires_at);

-- Latest state of each Aqio object (event, registration, invitation, …)
-- seen in ingested domain events, so syncs export without calling Aqio.
CREATE TABLE integration_objects (
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    parent_id TEXT,
    status TEXT,
    data TEXT NOT NULL,
    last_event_id TEXT NOT NULL,
    last_event_type TEXT NOT NULL,
    last_event_created BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (organization_id, object_type, object_id)
);
CREATE INDEX integration_objects_updated_idx ON integration_objects (organization_id, updated_at, object_type, object_id);
CREATE INDEX integration_objects_parent_idx ON integration_objects (organization_id, object_type, parent_id);

-- Which provider object an Aqio object became (e.g. a Google Calendar
-- event and its Meet link), so pushes and syncs patch instead of duplicate.
CREATE TABLE integration_links (
    integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    conference_url TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (integration_id, object_type, object_id)
);

-- Registration milestones claimed per integration and Aqio event: the
-- primary key is what makes "post once, never twice" hold.
CREATE TABLE integration_milestones (
    integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    threshold INTEGER NOT NULL,
    claimed_by TEXT NOT NULL,
    posted_at TIMESTAMP,
    message_ts TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (integration_id, event_id, threshold)
);

-- +goose Down
DROP TABLE integration_milestones;
DROP TABLE integration_links;
DROP TABLE integration_objects;
DROP TABLE integration_oauth_states;
DROP INDEX integrations_owner_type_uidx;
ALTER TABLE integration_sync_logs DROP COLUMN from_cursor;
ALTER TABLE integration_sync_logs DROP COLUMN retry_of;
ALTER TABLE integration_sync_logs DROP COLUMN workflow_id;
ALTER TABLE integration_sync_logs DROP COLUMN organization_id;
ALTER TABLE integrations DROP COLUMN connected_at;
ALTER TABLE integrations DROP COLUMN token_obtained_at;
ALTER TABLE integrations DROP COLUMN granted_scopes;
ALTER TABLE integrations DROP COLUMN token_extra;
