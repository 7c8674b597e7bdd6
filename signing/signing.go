// Package signing implements Standard Webhooks signatures
// (https://www.standardwebhooks.com): webhook-id, webhook-timestamp and
// webhook-signature "v1,<base64 HMAC-SHA256(id.timestamp.body)>".
package signing

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// NewSecret returns "whsec_" + base64 of n random bytes (24 ≤ n ≤ 64).
func NewSecret(n int) (string, error) {
	if n < 24 || n > 64 {
		return "", fmt.Errorf("secret length %d out of range 24..64", n)
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// KeyBytes decodes a whsec_ secret into the HMAC key.
func KeyBytes(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, errors.New("secret lacks whsec_ prefix")
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("decode secret: %w", err)
	}
	return key, nil
}

// Sign returns the webhook-signature header value for body, with one
// "v1,<sig>" entry per secret, space-separated (used during rotation).
func Sign(secrets []string, msgID string, timestamp int64, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", errors.New("no signing secret")
	}
	parts := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := KeyBytes(s)
		if err != nil {
			return "", err
		}
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%d.", msgID, timestamp)
		mac.Write(body)
		parts = append(parts, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(parts, " "), nil
}
