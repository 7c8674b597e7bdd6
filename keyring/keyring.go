// Package keyring encrypts secrets at rest with AES-256-GCM under a ring of
// keys. The newest key encrypts; every key in the ring can decrypt, so keys
// rotate without re-encrypting existing rows at once. The key id is stored
// with each ciphertext: "v1:<key id>:<base64(nonce|ciphertext)>".
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownKey is returned when a ciphertext names a key the ring lacks.
var ErrUnknownKey = errors.New("keyring: unknown key id")

// Ring holds the encryption keys, newest first.
type Ring struct {
	primary string
	ids     []string // newest first
	aeads   map[string]cipher.AEAD
	macKeys map[string][]byte // per key id, derived for Fingerprint
}

// Parse reads a ring from "id:base64key,id:base64key" (newest first). Each
// key must decode to 32 bytes.
func Parse(spec string) (*Ring, error) {
	r := &Ring{aeads: map[string]cipher.AEAD{}, macKeys: map[string][]byte{}}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, b64, ok := strings.Cut(part, ":")
		if !ok || id == "" || strings.Contains(id, ":") {
			return nil, fmt.Errorf("keyring: entry %q is not id:base64key", redact(part))
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", id, err)
		}
		if len(key) != 32 {
			return nil, fmt.Errorf("keyring: key %q is %d bytes, want 32", id, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", id, err)
		}
		if _, dup := r.aeads[id]; dup {
			return nil, fmt.Errorf("keyring: duplicate key id %q", id)
		}
		r.aeads[id] = aead
		r.ids = append(r.ids, id)
		r.macKeys[id] = deriveMACKey(key)
		if r.primary == "" {
			r.primary = id
		}
	}
	if r.primary == "" {
		return nil, errors.New("keyring: no keys")
	}
	return r, nil
}

// Generate returns a new ring spec with one random key named id.
func Generate(id string) (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	return id + ":" + base64.StdEncoding.EncodeToString(key), nil
}

// PrimaryID is the id of the key new ciphertexts use.
func (r *Ring) PrimaryID() string { return r.primary }

// KeyIDs are the ids of the ring's keys, newest (primary) first.
func (r *Ring) KeyIDs() []string { return append([]string(nil), r.ids...) }

// Has reports whether the ring holds a key with this id.
func (r *Ring) Has(id string) bool {
	_, ok := r.aeads[id]
	return ok
}

// Reseal re-encrypts a ciphertext under the primary key (same additional
// data). A ciphertext already under the primary key is returned as is,
// with changed false.
func (r *Ring) Reseal(ciphertext string, additionalData []byte) (string, bool, error) {
	if KeyID(ciphertext) == r.primary {
		return ciphertext, false, nil
	}
	plain, err := r.Decrypt(ciphertext, additionalData)
	if err != nil {
		return "", false, err
	}
	next, err := r.Encrypt(plain, additionalData)
	if err != nil {
		return "", false, err
	}
	return next, true, nil
}

// Encrypt seals plaintext with the primary key. additionalData binds the
// ciphertext to its row (e.g. the webhook id) so it cannot be moved.
func (r *Ring) Encrypt(plaintext, additionalData []byte) (string, error) {
	aead := r.aeads[r.primary]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("keyring: nonce: %w", err)
	}
	sealed := aead.Seal(nonce, nonce, plaintext, additionalData)
	return "v1:" + r.primary + ":" + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// Decrypt opens a ciphertext produced by Encrypt with any key of the ring.
func (r *Ring) Decrypt(ciphertext string, additionalData []byte) ([]byte, error) {
	version, rest, ok := strings.Cut(ciphertext, ":")
	if !ok || version != "v1" {
		return nil, errors.New("keyring: malformed ciphertext")
	}
	id, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, errors.New("keyring: malformed ciphertext")
	}
	aead, ok := r.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, id)
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("keyring: decode: %w", err)
	}
	if len(raw) < aead.NonceSize() {
		return nil, errors.New("keyring: ciphertext too short")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], additionalData)
	if err != nil {
		return nil, fmt.Errorf("keyring: open: %w", err)
	}
	return plain, nil
}

// deriveMACKey derives the fingerprint key from an encryption key, so the
// encryption key itself is never used for two purposes.
func deriveMACKey(key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("aqio-connect keyring fingerprint v1"))
	return m.Sum(nil)
}

// Fingerprint is HMAC-SHA256 of data under a key derived from the primary
// key: equal data give equal fingerprints (under one primary key), and a
// fingerprint neither reveals data nor lets anyone without the key test a
// guess of it, so it can be shown where the secret itself must not be.
func (r *Ring) Fingerprint(data []byte) []byte {
	m := hmac.New(sha256.New, r.macKeys[r.primary])
	m.Write(data)
	return m.Sum(nil)
}

// KeyID reports which key sealed a ciphertext ("" if malformed).
func KeyID(ciphertext string) string {
	parts := strings.SplitN(ciphertext, ":", 3)
	if len(parts) != 3 {
		return ""
	}
	return parts[1]
}

func redact(s string) string {
	if id, _, ok := strings.Cut(s, ":"); ok {
		return id + ":…"
	}
	if len(s) > 4 {
		return s[:4] + "…"
	}
	return s
}
