package aqio

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Standard Webhooks headers every delivery carries.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// ErrNoMatchingSignature is returned when no signature in the
// webhook-signature header verifies under any of the verifier's keys.
var ErrNoMatchingSignature = standardwebhooks.ErrNoMatchingSignature

// Timestamp errors: the webhook-timestamp is outside the tolerance.
var (
	ErrMessageTooOld = standardwebhooks.ErrMessageTooOld
	ErrMessageTooNew = standardwebhooks.ErrMessageTooNew
)

// Tolerance is how far webhook-timestamp may be from now (the Standard
// Webhooks default): older or newer deliveries are refused as replays.
const Tolerance = 5 * time.Minute

// Verifier checks deliveries of one webhook. Keys are the webhook's signing
// secret (whsec_…, "v1," HMAC-SHA256 signatures, checked by the Standard
// Webhooks library) or its public key (whpk_…, "v1a," Ed25519 signatures).
// Give two keys during a rotation's grace period: a delivery passes when a
// signature verifies under any of them.
type Verifier struct {
	hmac []*standardwebhooks.Webhook
	pub  []ed25519.PublicKey
	// Now is the clock the timestamp is checked against; time.Now when nil.
	Now func() time.Time
}

// NewVerifier returns a Verifier for the given whsec_ secrets and whpk_
// public keys.
func NewVerifier(keys ...string) (*Verifier, error) {
	if len(keys) == 0 {
		return nil, errors.New("aqio: no verification key")
	}
	v := &Verifier{}
	for _, k := range keys {
		switch {
		case strings.HasPrefix(k, "whsec_"):
			wh, err := standardwebhooks.NewWebhook(k)
			if err != nil {
				return nil, fmt.Errorf("aqio: secret: %w", err)
			}
			v.hmac = append(v.hmac, wh)
		case strings.HasPrefix(k, "whpk_"):
			b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(k, "whpk_"))
			if err != nil {
				return nil, fmt.Errorf("aqio: public key: %w", err)
			}
			if len(b) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("aqio: public key is %d bytes, want %d", len(b), ed25519.PublicKeySize)
			}
			v.pub = append(v.pub, ed25519.PublicKey(b))
		default:
			return nil, errors.New("aqio: a key is a whsec_ secret or a whpk_ public key")
		}
	}
	return v, nil
}

// Verify checks the Standard Webhooks headers of a delivery against its raw
// body (read it unparsed: re-encoded JSON does not verify). It returns nil
// when a signature verifies and the timestamp is within Tolerance.
func (v *Verifier) Verify(body []byte, headers http.Header) error {
	id := headers.Get(HeaderWebhookID)
	ts := headers.Get(HeaderWebhookTimestamp)
	sigs := headers.Get(HeaderWebhookSignature)
	if id == "" || ts == "" || sigs == "" {
		return standardwebhooks.ErrRequiredHeaders
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return standardwebhooks.ErrInvalidHeaders
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := time.Unix(sec, 0)
	if now().Sub(t) > Tolerance {
		return ErrMessageTooOld
	}
	if t.Sub(now()) > Tolerance {
		return ErrMessageTooNew
	}
	// The timestamp is checked above against v.Now; the library checks the
	// HMAC signatures.
	for _, wh := range v.hmac {
		if wh.VerifyIgnoringTimestamp(body, headers) == nil {
			return nil
		}
	}
	if len(v.pub) > 0 {
		content := []byte(id + "." + ts + ".")
		content = append(content, body...)
		for _, entry := range strings.Split(sigs, " ") {
			sig, ok := strings.CutPrefix(entry, "v1a,")
			if !ok {
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(sig)
			if err != nil {
				continue
			}
			for _, pub := range v.pub {
				if ed25519.Verify(pub, content, raw) {
					return nil
				}
			}
		}
	}
	return ErrNoMatchingSignature
}

// VerifyRequest reads r's body and verifies it; it returns the body.
func (v *Verifier) VerifyRequest(r *http.Request, maxBytes int64) ([]byte, error) {
	body, err := readAll(r, maxBytes)
	if err != nil {
		return nil, err
	}
	return body, v.Verify(body, r.Header)
}

func readAll(r *http.Request, maxBytes int64) ([]byte, error) {
	if maxBytes <= 0 {
		maxBytes = 1 << 20
	}
	var buf strings.Builder
	n, err := io.Copy(&buf, io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if n > maxBytes {
		return nil, fmt.Errorf("aqio: body exceeds %d bytes", maxBytes)
	}
	return []byte(buf.String()), nil
}
