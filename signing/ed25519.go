package signing

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Signature schemes a webhook can sign with.
const (
	// SchemeHMAC signs "v1,<base64 HMAC-SHA256>" with a shared whsec_ secret.
	SchemeHMAC = "hmac-sha256"
	// SchemeEd25519 signs "v1a,<base64 Ed25519 signature>" with a whsk_
	// private key; receivers verify with the whpk_ public key alone.
	SchemeEd25519 = "ed25519"
)

// Standard Webhooks asymmetric key prefixes.
const (
	PrivateKeyPrefix = "whsk_"
	PublicKeyPrefix  = "whpk_"
)

// NewEd25519Key returns a new key pair: the private key written
// "whsk_" + base64 of the 32-byte seed and the public key written
// "whpk_" + base64 of the 32-byte public key (the Standard Webhooks forms).
func NewEd25519Key() (private, public string, err error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return "", "", err
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return PrivateKeyPrefix + base64.StdEncoding.EncodeToString(seed), encodePublic(priv.Public().(ed25519.PublicKey)), nil
}

// PublicKeyOf returns the whpk_ public key of a whsk_ private key.
func PublicKeyOf(private string) (string, error) {
	priv, err := privateKey(private)
	if err != nil {
		return "", err
	}
	return encodePublic(priv.Public().(ed25519.PublicKey)), nil
}

func encodePublic(pub ed25519.PublicKey) string {
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub)
}

// privateKey decodes a whsk_ key (the prefix is optional, as in the
// Standard Webhooks libraries): base64 of a 32-byte seed.
func privateKey(private string) (ed25519.PrivateKey, error) {
	raw := strings.TrimPrefix(private, PrivateKeyPrefix)
	seed, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("decode private key: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("private key is %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// PublicKey decodes a whpk_ public key (prefix optional).
func PublicKey(public string) (ed25519.PublicKey, error) {
	raw := strings.TrimPrefix(public, PublicKeyPrefix)
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("decode public key: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key is %d bytes, want %d", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

func signEd25519(private, msgID string, timestamp int64, body []byte) (string, error) {
	priv, err := privateKey(private)
	if err != nil {
		return "", err
	}
	sig := ed25519.Sign(priv, signedContent(msgID, timestamp, body))
	return "v1a," + base64.StdEncoding.EncodeToString(sig), nil
}

// signedContent is what both schemes sign: "<id>.<timestamp>.<body>".
func signedContent(msgID string, timestamp int64, body []byte) []byte {
	prefix := fmt.Sprintf("%s.%d.", msgID, timestamp)
	out := make([]byte, 0, len(prefix)+len(body))
	return append(append(out, prefix...), body...)
}

// ErrNoMatch is returned by Verify when no signature in the header
// verifies under the key.
var ErrNoMatch = errors.New("no matching signature")

// Verify checks a webhook-signature header value against one key: a
// whsec_ secret checks the v1 entries, a whpk_ public key the v1a
// entries; entries of other versions are ignored. It does not check the
// timestamp's age (receivers should: see docs/WEBHOOKS.md).
func Verify(key, msgID string, timestamp int64, body []byte, header string) error {
	content := signedContent(msgID, timestamp, body)
	var check func(sig []byte) bool
	version := "v1"
	switch {
	case strings.HasPrefix(key, SecretPrefix):
		mac, err := hmacSum(key, content)
		if err != nil {
			return err
		}
		check = func(sig []byte) bool { return hmacEqual(mac, sig) }
	case strings.HasPrefix(key, PublicKeyPrefix):
		pub, err := PublicKey(key)
		if err != nil {
			return err
		}
		version = "v1a"
		check = func(sig []byte) bool { return ed25519.Verify(pub, content, sig) }
	default:
		return errors.New("key must start with whsec_ or whpk_")
	}
	for _, entry := range strings.Fields(header) {
		v, b64, ok := strings.Cut(entry, ",")
		if !ok || v != version {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		if check(sig) {
			return nil
		}
	}
	return ErrNoMatch
}
