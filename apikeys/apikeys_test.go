package apikeys

import (
	"net/netip"
	"strings"
	"testing"
)

func TestKeyFormat(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		k, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		if len(k) != KeyLen || !strings.HasPrefix(k, "ak_") {
			t.Fatalf("bad key %q", k)
		}
		if err := CheckFormat(k); err != nil {
			t.Fatalf("generated key %q refused: %v", k, err)
		}
		if seen[k] {
			t.Fatal("duplicate key")
		}
		seen[k] = true
	}
	k, _ := Generate()
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	cases := []struct{ name, key string }{
		{"empty", ""},
		{"wrong prefix", "ak-" + k[3:]},
		{"too short", k[:len(k)-1]},
		{"too long", k + "a"},
		{"typo in random part", flip(k, 5)},
		{"typo in checksum", flip(k, len(k)-1)},
		{"bad alphabet", k[:10] + "_" + k[11:]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if CheckFormat(tc.key) == nil {
				t.Fatalf("%q accepted", tc.key)
			}
		})
	}
	if p := DisplayPrefix(k); len(p) != 11 || !strings.HasPrefix(k, p) {
		t.Fatalf("prefix %q", p)
	}
	if Hash(k) == Hash(flip(k, 5)) || len(Hash(k)) != 64 {
		t.Fatal("hash")
	}
}

func TestScopes(t *testing.T) {
	cases := []struct {
		held []string
		want string
		ok   bool
	}{
		{[]string{"webhooks:read"}, "webhooks:read", true},
		{[]string{"webhooks:read"}, "webhooks:write", false},
		{[]string{"webhooks:*"}, "webhooks:write", true},
		{[]string{"webhooks:*"}, "webhooks:*", true},
		{[]string{"webhooks:read", "webhooks:write"}, "webhooks:*", false},
		{[]string{"*"}, "integrations:write", true},
		{[]string{"*"}, "*", true},
		{[]string{"events:*"}, "*", false},
		{nil, "events:read", false},
	}
	for _, tc := range cases {
		if got := Covers(tc.held, tc.want); got != tc.ok {
			t.Errorf("Covers(%v, %q) = %v, want %v", tc.held, tc.want, got, tc.ok)
		}
	}
	for _, s := range []string{"webhooks:read", "webhooks:*", "*", "api_keys:own"} {
		if !ValidScope(s) {
			t.Errorf("%q should be valid", s)
		}
	}
	for _, s := range []string{"", "webhooks", "webhooks:admin", "nothing:*", "*:*", "webhooks:read "} {
		if ValidScope(s) {
			t.Errorf("%q should be invalid", s)
		}
	}
	got, err := NormalizeScopes([]string{"webhooks:read", "events:*", "webhooks:read"}, []string{"webhooks:*", "events:*"})
	if err != nil || strings.Join(got, ",") != "events:*,webhooks:read" {
		t.Fatalf("normalize: %v %v", got, err)
	}
	_, err = NormalizeScopes([]string{"webhooks:write"}, []string{"webhooks:read"})
	if se, ok := err.(*ScopeError); !ok || !se.Exceeds || se.Scope != "webhooks:write" {
		t.Fatalf("escalation not refused: %v", err)
	}
	_, err = NormalizeScopes([]string{"bogus:read"}, []string{"*"})
	if se, ok := err.(*ScopeError); !ok || se.Exceeds {
		t.Fatalf("unknown scope: %v", err)
	}
}

func TestAllowedIPs(t *testing.T) {
	ranges, err := ParseAllowedIPs([]string{"203.0.113.0/24", "2001:db8::/32", "198.51.100.7", "::ffff:192.0.2.0/120"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ip string
		ok bool
	}{
		{"203.0.113.1", true}, {"203.0.113.255", true}, {"203.0.114.1", false},
		{"2001:db8:1::5", true}, {"2001:db9::1", false},
		{"198.51.100.7", true}, {"198.51.100.8", false},
		{"::ffff:203.0.113.9", true}, // v4-mapped v6 client
		{"192.0.2.44", true},         // range given in v4-mapped form
	}
	for _, tc := range cases {
		if got := IPAllowed(ranges, netip.MustParseAddr(tc.ip)); got != tc.ok {
			t.Errorf("%s: got %v want %v", tc.ip, got, tc.ok)
		}
	}
	if !IPAllowed(nil, netip.MustParseAddr("10.0.0.1")) {
		t.Error("empty list must allow all")
	}
	_, err = ParseAllowedIPs([]string{"10.0.0.0/8", "10.0.0.300"})
	if ie, ok := err.(*IPError); !ok || ie.Index != 1 {
		t.Fatalf("got %v", err)
	}
}
