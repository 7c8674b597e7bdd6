-- +goose Up
-- Privacy (issue 13): erasure and access-export requests, and the
-- suppression list of erased subjects. Same SQL for Postgres and SQLite.
-- No column holds a subject's email or name in the clear: subject and
-- document are key-ring ciphertexts bound to the row id, email_hash is the
-- SHA-256 of the normalized address (lower-cased, trimmed).

CREATE TABLE privacy_erasures (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    request_id TEXT NOT NULL,
    email_hash TEXT,
    user_id_hash TEXT,
    subject TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    workflow_id TEXT NOT NULL,
    report TEXT,
    requested_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP
);
CREATE UNIQUE INDEX privacy_erasures_request_uidx ON privacy_erasures (organization_id, request_id);
CREATE INDEX privacy_erasures_subject_idx ON privacy_erasures (organization_id, email_hash);

CREATE TABLE privacy_exports (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    request_id TEXT NOT NULL,
    email_hash TEXT,
    user_id_hash TEXT,
    subject TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready', 'downloaded', 'failed')),
    workflow_id TEXT NOT NULL,
    document TEXT,
    size_bytes INTEGER,
    requested_by TEXT,
    created_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP,
    downloaded_at TIMESTAMP
);
CREATE UNIQUE INDEX privacy_exports_request_uidx ON privacy_exports (organization_id, request_id);

-- Erased subjects of an organization: pushes to integrations whose event
-- carries one of these addresses are skipped ("erased subject").
CREATE TABLE privacy_suppressions (
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email_hash TEXT NOT NULL,
    erasure_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (organization_id, email_hash)
);

-- +goose Down
DROP TABLE privacy_suppressions;
DROP TABLE privacy_exports;
DROP TABLE privacy_erasures;
