// Package apikeys is the key authority: it mints API keys, checks their
// format offline, verifies them (status, expiry, allowed IPs, scopes, rate
// limit) and manages their lifecycle. Only SHA-256 hashes are stored.
package apikeys

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"strings"
)

// Key format: "ak_" + 24 random base62 characters (~142.9 bits) + 6 base62
// characters of the CRC32 of the random part. The checksum lets a mistyped
// or fabricated key be refused without a database lookup and lets secret
// scanners recognise a real key (the same scheme as GitHub's tokens).
const (
	Prefix         = "ak_"
	randomLen      = 24
	checksumLen    = 6
	KeyLen         = len(Prefix) + randomLen + checksumLen
	displayPrefLen = len(Prefix) + 8
	alphabet       = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// ErrMalformed is a string that cannot be an API key (wrong prefix, length,
// alphabet or checksum).
var ErrMalformed = errors.New("malformed api key")

// Generate returns a new random key.
func Generate() (string, error) {
	var b strings.Builder
	b.Grow(KeyLen)
	b.WriteString(Prefix)
	buf := make([]byte, 64)
	for n := 0; n < randomLen; {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, c := range buf {
			// Rejection sampling keeps every character uniform: 248 = 4*62.
			if c >= 248 {
				continue
			}
			b.WriteByte(alphabet[int(c)%62])
			n++
			if n == randomLen {
				break
			}
		}
	}
	random := b.String()[len(Prefix):]
	b.WriteString(checksum(random))
	return b.String(), nil
}

// CheckFormat reports whether key is well formed with a valid checksum.
func CheckFormat(key string) error {
	if len(key) != KeyLen || !strings.HasPrefix(key, Prefix) {
		return ErrMalformed
	}
	body := key[len(Prefix):]
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(alphabet, body[i]) < 0 {
			return ErrMalformed
		}
	}
	if checksum(body[:randomLen]) != body[randomLen:] {
		return ErrMalformed
	}
	return nil
}

// LooksLikeKey reports whether a bearer credential is meant as an API key
// (so the API-key authenticator, not the JWT one, answers for it).
func LooksLikeKey(s string) bool { return strings.HasPrefix(s, Prefix) }

// Hash is the stored form of a key: hex SHA-256. Keys carry ~143 bits of
// entropy, so a fast unsalted hash is safe and allows an indexed lookup.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// DisplayPrefix is what lists show: "ak_" and the first 8 characters.
func DisplayPrefix(key string) string {
	if len(key) < displayPrefLen {
		return key
	}
	return key[:displayPrefLen]
}

func checksum(s string) string {
	v := crc32.ChecksumIEEE([]byte(s))
	out := make([]byte, checksumLen)
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = alphabet[v%62]
		v /= 62
	}
	return string(out)
}
