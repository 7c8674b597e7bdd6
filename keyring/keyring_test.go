package keyring

import (
	"bytes"
	"crypto/sha256"
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

func TestFingerprint(t *testing.T) {
	k1, _ := Generate("k1")
	k2, _ := Generate("k2")
	r1, _ := Parse(k1)
	again, _ := Parse(k1)
	other, _ := Parse(k2)
	a := r1.Fingerprint([]byte("Bearer tok"))
	if len(a) != 32 || !bytes.Equal(a, again.Fingerprint([]byte("Bearer tok"))) {
		t.Fatalf("fingerprint is not a stable 32-byte HMAC: %x", a)
	}
	if bytes.Equal(a, r1.Fingerprint([]byte("Bearer tok2"))) {
		t.Fatal("different data, same fingerprint")
	}
	if bytes.Equal(a, other.Fingerprint([]byte("Bearer tok"))) {
		t.Fatal("a different key gives the same fingerprint")
	}
	plain := sha256.Sum256([]byte("Bearer tok"))
	if bytes.Equal(a, plain[:]) {
		t.Fatal("fingerprint is an unkeyed hash")
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

func TestResealMovesToThePrimaryKey(t *testing.T) {
	k1, _ := Generate("k1")
	k2, _ := Generate("k2")
	old, _ := Parse(k1)
	ct, err := old.Encrypt([]byte("refresh-token"), []byte("int_1"))
	if err != nil {
		t.Fatal(err)
	}
	rotated, _ := Parse(k2 + "," + k1)
	if got := rotated.KeyIDs(); len(got) != 2 || got[0] != "k2" || got[1] != "k1" {
		t.Fatalf("KeyIDs = %v", got)
	}
	next, changed, err := rotated.Reseal(ct, []byte("int_1"))
	if err != nil || !changed || KeyID(next) != "k2" {
		t.Fatalf("Reseal = %q %v %v", next, changed, err)
	}
	again, changed, err := rotated.Reseal(next, []byte("int_1"))
	if err != nil || changed || again != next {
		t.Fatalf("Reseal of a primary-key ciphertext = %q %v %v", again, changed, err)
	}
	if _, _, err := rotated.Reseal(ct, []byte("int_2")); err == nil {
		t.Fatal("Reseal with other additional data succeeded")
	}
	onlyNew, _ := Parse(k2)
	plain, err := onlyNew.Decrypt(next, []byte("int_1"))
	if err != nil || string(plain) != "refresh-token" {
		t.Fatalf("decrypt with only the new key: %q %v", plain, err)
	}
	if onlyNew.Has("k1") || !onlyNew.Has("k2") {
		t.Fatal("Has")
	}
}
