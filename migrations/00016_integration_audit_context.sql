-- +goose Up
-- Integration permission auditing in the same transaction as the change
-- (issue 13). A connection's audit entry is written by the activity that
-- saves the integration row, in that transaction, so the state row keeps
-- who started the connection and from where (the authorize or
-- connect-by-credential call: actor, address, request id) and where the
-- browser came back from (the OAuth callback: address, request id). A
-- disconnect's requester and the revocation outcome are kept on the
-- integration row (disconnect_request, JSON, no secret) until the
-- disconnect run deletes the row together with its audit entry.
-- Same SQL for Postgres and SQLite.
ALTER TABLE integration_oauth_states ADD COLUMN actor_type TEXT;
ALTER TABLE integration_oauth_states ADD COLUMN actor_id TEXT;
ALTER TABLE integration_oauth_states ADD COLUMN source_ip TEXT;
ALTER TABLE integration_oauth_states ADD COLUMN request_id TEXT;
ALTER TABLE integration_oauth_states ADD COLUMN callback_ip TEXT;
ALTER TABLE integration_oauth_states ADD COLUMN callback_request_id TEXT;
ALTER TABLE integrations ADD COLUMN disconnect_request TEXT;

-- +goose Down
ALTER TABLE integrations DROP COLUMN disconnect_request;
ALTER TABLE integration_oauth_states DROP COLUMN callback_request_id;
ALTER TABLE integration_oauth_states DROP COLUMN callback_ip;
ALTER TABLE integration_oauth_states DROP COLUMN request_id;
ALTER TABLE integration_oauth_states DROP COLUMN source_ip;
ALTER TABLE integration_oauth_states DROP COLUMN actor_id;
ALTER TABLE integration_oauth_states DROP COLUMN actor_type;
