// Package signing implements Standard Webhooks signatures
// (https://www.standardwebhooks.com): webhook-id, webhook-timestamp and
// webhook-signature "v1,<base64 HMAC-SHA256(id.timestamp.body)>" under a
// shared whsec_ secret, or "v1a,<base64 Ed25519(id.timestamp.body)>" under
// a whsk_ private key whose whpk_ public key receivers verify with.
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
// entry per key, space-separated (used during rotation): "v1,<sig>" for a
// whsec_ secret, "v1a,<sig>" for a whsk_ Ed25519 private key.
func Sign(secrets []string, msgID string, timestamp int64, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", errors.New("no signing secret")
	}
	parts := make([]string, 0, len(secrets))
	for _, s := range secrets {
		if strings.HasPrefix(s, PrivateKeyPrefix) {
			sig, err := signEd25519(s, msgID, timestamp, body)
			if err != nil {
				return "", err
			}
			parts = append(parts, sig)
			continue
		}
		mac, err := hmacSum(s, signedContent(msgID, timestamp, body))
		if err != nil {
			return "", err
		}
		parts = append(parts, "v1,"+base64.StdEncoding.EncodeToString(mac))
	}
	return strings.Join(parts, " "), nil
}

func hmacSum(secret string, content []byte) ([]byte, error) {
	key, err := KeyBytes(secret)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(content)
	return mac.Sum(nil), nil
}

func hmacEqual(a, b []byte) bool { return hmac.Equal(a, b) }
