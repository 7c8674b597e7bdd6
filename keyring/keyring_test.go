package keyring

import (
	"errors"
	"strings"
	"testing"
)

func TestRoundTripAndRotation(t *testing.T) {
	oldSpec, err := Generate("k1")
	if err != nil {
		t.Fatal(err)
	}
	newSpec, err := Generate("k2")
	if err != nil {
		t.Fatal(err)
	}
	oldRing, err := Parse(oldSpec)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := oldRing.Encrypt([]byte("whsec_abc"), []byte("wh_1"))
	if err != nil {
		t.Fatal(err)
	}
	if KeyID(ct) != "k1" || strings.Contains(ct, "whsec_abc") {
		t.Fatalf("ciphertext %q", ct)
	}

	rotated, err := Parse(newSpec + "," + oldSpec)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := rotated.Decrypt(ct, []byte("wh_1"))
	if err != nil || string(plain) != "whsec_abc" {
		t.Fatalf("decrypt after rotation: %q %v", plain, err)
	}
	ct2, _ := rotated.Encrypt([]byte("x"), nil)
	if KeyID(ct2) != "k2" {
		t.Fatalf("new ciphertexts must use the newest key, got %q", KeyID(ct2))
	}
	if _, err := rotated.Decrypt(ct, []byte("wh_2")); err == nil {
		t.Fatal("ciphertext moved to another row must not open")
	}
	if _, err := oldRing.Decrypt(ct2, nil); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("want ErrUnknownKey, got %v", err)
	}
}

func TestParseRejectsBadSpecs(t *testing.T) {
	for _, tc := range []struct{ name, spec string }{
		{"empty", ""},
		{"no id", "c2VjcmV0"},
		{"short key", "k1:c2hvcnQ="},
		{"bad base64", "k1:!!!"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.spec); err == nil {
				t.Fatalf("Parse(%q) accepted", tc.spec)
			}
		})
	}
}
