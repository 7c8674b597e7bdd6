package webhooks

import (
	"encoding/hex"
	"strings"

	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/keyring"
)

// fingerprintLabel names how the fingerprint in a destination-auth hint is
// made: the first 8 hex digits of HMAC-SHA256, under a key derived from the
// service's encryption key, of the header the credential becomes
// ("Authorization:Bearer …", "Authorization:Basic …", "X-Api-Key:…").
const fingerprintLabel = "hmac-sha256:"

// authHint is what may be shown of a destination credential: its type
// (and, for a custom header, the header's name) and a keyed fingerprint.
// No part of the user name, password, token or value appears, and the
// fingerprint cannot be checked against a guess without the service's key.
// Two credentials with the same fingerprint on one deployment are the same.
func authHint(ring *keyring.Ring, a activities.DestinationAuth) string {
	name, value := a.HeaderPair()
	fp := fingerprintLabel + hex.EncodeToString(ring.Fingerprint([]byte(name + ":" + value)))[:8]
	if a.Type == "header" {
		return "header " + a.Header + " " + fp
	}
	return a.Type + " " + fp
}

// AuthHint is the destination_auth value the API shows for a stored hint.
// Hints stored before fingerprints existed ("basic aqio:****3456",
// "bearer ****f00d") carried the user name and the credential's last four
// characters; for those only the type (and header name) is shown, until
// the credential is set again.
func AuthHint(stored *string) *string {
	if stored == nil {
		return nil
	}
	f := strings.Fields(*stored)
	if len(f) == 0 {
		return nil
	}
	var out string
	switch f[0] {
	case "basic", "bearer":
		out = f[0]
		if len(f) == 2 && isFingerprint(f[1]) {
			out += " " + f[1]
		}
	case "header":
		out = "header"
		if len(f) >= 2 {
			name := strings.TrimSuffix(f[1], ":")
			if validHeaderName(name) {
				out += " " + name
			}
			if len(f) == 3 && isFingerprint(f[2]) {
				out += " " + f[2]
			}
		}
	default:
		return nil
	}
	return &out
}

func isFingerprint(s string) bool {
	h, ok := strings.CutPrefix(s, fingerprintLabel)
	if !ok || len(h) != 8 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}
