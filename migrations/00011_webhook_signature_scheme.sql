-- +goose Up
-- Asymmetric signatures (Standard Webhooks v1a, Ed25519). A webhook signs
-- with one scheme, chosen on create. For ed25519 the secret and
-- previous_secret columns hold the key-ring ciphertext of the whsk_
-- private key (so key-ring rotation re-encrypts it like an HMAC secret);
-- the whpk_ public keys are not secret and are stored in the clear.
ALTER TABLE webhooks ADD COLUMN signature_scheme TEXT NOT NULL DEFAULT 'hmac-sha256';
ALTER TABLE webhooks ADD COLUMN public_key TEXT;
ALTER TABLE webhooks ADD COLUMN previous_public_key TEXT;

-- +goose Down
ALTER TABLE webhooks DROP COLUMN previous_public_key;
ALTER TABLE webhooks DROP COLUMN public_key;
ALTER TABLE webhooks DROP COLUMN signature_scheme;
