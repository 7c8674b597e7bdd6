package signing

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// The Standard Webhooks reference libraries' test vectors
// (libraries/go/webhook_symmetric_test.go and webhook_asymmetric_test.go).
const (
	vectorMsgID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS    = int64(1614265330)
	vectorBody  = `{"test": 2432232314}`
)

func TestSignMatchesStandardWebhooksVectors(t *testing.T) {
	cases := []struct {
		name string
		key  string
		want string
	}{
		{"hmac v1", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
		{"ed25519 v1a", "whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=",
			"v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag=="},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Sign([]string{tc.key}, vectorMsgID, vectorTS, []byte(vectorBody))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("Sign = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEd25519VerifiesWithPublicKeyOnly(t *testing.T) {
	priv, pub, err := NewEd25519Key()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(priv, "whsk_") || !strings.HasPrefix(pub, "whpk_") {
		t.Fatalf("key forms: %q %q", priv, pub)
	}
	if derived, err := PublicKeyOf(priv); err != nil || derived != pub {
		t.Fatalf("PublicKeyOf = %q, %v; want %q", derived, err, pub)
	}
	body := []byte(`{"type":"registration.confirmed"}`)
	header, err := Sign([]string{priv}, "msg_1", 1700000000, body)
	if err != nil {
		t.Fatal(err)
	}
	// An independent check with crypto/ed25519 and nothing from this package.
	rawPub, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(pub, "whpk_"))
	v, b64, _ := strings.Cut(header, ",")
	sig, _ := base64.StdEncoding.DecodeString(b64)
	if v != "v1a" || !ed25519.Verify(rawPub, []byte("msg_1.1700000000."+string(body)), sig) {
		t.Fatalf("header %q does not verify with crypto/ed25519", header)
	}
	if err := Verify(pub, "msg_1", 1700000000, body, header); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	tampered := []struct {
		name  string
		id    string
		ts    int64
		body  string
		other bool
	}{
		{"body", "msg_1", 1700000000, `{"type":"registration.cancelled"}`, false},
		{"id", "msg_2", 1700000000, string(body), false},
		{"timestamp", "msg_1", 1700000001, string(body), false},
		{"another key", "msg_1", 1700000000, string(body), true},
	}
	for _, tc := range tampered {
		t.Run(tc.name, func(t *testing.T) {
			key := pub
			if tc.other {
				_, key, _ = NewEd25519Key()
			}
			if err := Verify(key, tc.id, tc.ts, []byte(tc.body), header); !errors.Is(err, ErrNoMatch) {
				t.Fatalf("Verify = %v, want ErrNoMatch", err)
			}
		})
	}
}

func TestRotationHeaderCarriesBothSchemesEntries(t *testing.T) {
	newPriv, newPub, _ := NewEd25519Key()
	oldPriv, oldPub, _ := NewEd25519Key()
	secret, _ := NewSecret(32)
	body := []byte(`{}`)
	header, err := Sign([]string{newPriv, oldPriv}, "msg_r", 42, body)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(header)); n != 2 {
		t.Fatalf("header has %d entries, want 2: %q", n, header)
	}
	for _, pub := range []string{newPub, oldPub} {
		if err := Verify(pub, "msg_r", 42, body, header); err != nil {
			t.Fatalf("Verify(%s): %v", pub, err)
		}
	}
	// A v1a entry never satisfies an HMAC receiver, and the reverse.
	if err := Verify(secret, "msg_r", 42, body, header); !errors.Is(err, ErrNoMatch) {
		t.Fatalf("HMAC Verify of v1a header = %v", err)
	}
	hmacHeader, _ := Sign([]string{secret}, "msg_r", 42, body)
	if err := Verify(newPub, "msg_r", 42, body, hmacHeader); !errors.Is(err, ErrNoMatch) {
		t.Fatalf("Ed25519 Verify of v1 header = %v", err)
	}
	if err := Verify(secret, "msg_r", 42, body, hmacHeader); err != nil {
		t.Fatalf("HMAC Verify: %v", err)
	}
}

func TestBadKeys(t *testing.T) {
	for _, key := range []string{"whsk_", "whsk_!!!", "whsk_" + base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := Sign([]string{key}, "m", 1, nil); err == nil {
			t.Errorf("Sign(%q) succeeded", key)
		}
	}
	if err := Verify("whpk_AAAA", "m", 1, nil, "v1a,AAAA"); err == nil {
		t.Error("Verify accepted a 3-byte public key")
	}
	if err := Verify("plain", "m", 1, nil, "v1,AAAA"); err == nil {
		t.Error("Verify accepted an unprefixed key")
	}
}
