package webhooks

import (
	"strings"
	"testing"

	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/keyring"
)

func TestAuthHintShowsNoPartOfTheCredential(t *testing.T) {
	spec, _ := keyring.Generate("k1")
	ring, _ := keyring.Parse(spec)
	for _, tc := range []struct {
		auth   activities.DestinationAuth
		prefix string
		secret []string
	}{
		{activities.DestinationAuth{Type: "basic", Username: "aqio-user", Password: "pw123456"}, "basic hmac-sha256:", []string{"aqio-user", "pw123456"}},
		{activities.DestinationAuth{Type: "bearer", Token: "s3cr3t-token-f00d"}, "bearer hmac-sha256:", []string{"s3cr3t-token-f00d"}},
		{activities.DestinationAuth{Type: "header", Header: "X-Api-Key", Value: "key-abcd1234"}, "header X-Api-Key hmac-sha256:", []string{"key-abcd1234"}},
	} {
		t.Run(tc.auth.Type, func(t *testing.T) {
			h := authHint(ring, tc.auth)
			if !strings.HasPrefix(h, tc.prefix) || len(h) != len(tc.prefix)+8 {
				t.Fatalf("hint %q, want %q + 8 hex", h, tc.prefix)
			}
			for _, s := range tc.secret {
				for i := 0; i+4 <= len(s); i++ {
					if strings.Contains(h, s[i:i+4]) {
						t.Fatalf("hint %q contains %q of the credential", h, s[i:i+4])
					}
				}
			}
			if got := AuthHint(&h); got == nil || *got != h {
				t.Fatalf("AuthHint(%q) = %v, want it unchanged", h, got)
			}
			again := authHint(ring, tc.auth)
			if again != h {
				t.Fatalf("same credential, different hints %q %q", h, again)
			}
		})
	}
	if authHint(ring, activities.DestinationAuth{Type: "bearer", Token: "a"}) == authHint(ring, activities.DestinationAuth{Type: "bearer", Token: "b"}) {
		t.Fatal("different tokens, same fingerprint")
	}
}

func TestAuthHintHidesLegacyHints(t *testing.T) {
	for stored, want := range map[string]string{
		"basic aqio:****3456":               "basic",
		"basic my user:****3456":            "basic",
		"bearer ****f00d":                   "bearer",
		"bearer ****":                       "bearer",
		"header X-Api-Key: ****abcd":        "header X-Api-Key",
		"bearer hmac-sha256:0a1b2c3d":       "bearer hmac-sha256:0a1b2c3d",
		"header X-Key hmac-sha256:0a1b2c3d": "header X-Key hmac-sha256:0a1b2c3d",
		"bearer hmac-sha256:f00d":           "bearer",
	} {
		got := AuthHint(&stored)
		if got == nil || *got != want {
			t.Fatalf("AuthHint(%q) = %v, want %q", stored, got, want)
		}
	}
	if AuthHint(nil) != nil {
		t.Fatal("no credential must stay null")
	}
}
