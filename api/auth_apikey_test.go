package api

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	cases := []struct {
		name, remote, xff, want string
	}{
		{"direct, header ignored", "198.51.100.1:5000", "203.0.113.9", "198.51.100.1"},
		{"via trusted proxy", "10.1.2.3:5000", "203.0.113.9", "203.0.113.9"},
		{"spoofed left entry ignored", "10.1.2.3:5000", "1.2.3.4, 203.0.113.9", "203.0.113.9"},
		{"two trusted hops", "10.1.2.3:5000", "203.0.113.9, 10.9.9.9", "203.0.113.9"},
		{"ipv6 via trusted proxy", "[fd00::1]:443", "2001:db8::7", "2001:db8::7"},
		{"garbage stops at last good hop", "10.1.2.3:5000", "nonsense", "10.1.2.3"},
		{"no header from trusted proxy", "10.1.2.3:5000", "", "10.1.2.3"},
		{"v4-mapped peer", "[::ffff:198.51.100.2]:80", "", "198.51.100.2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := clientIP(r, trusted).String(); got != tc.want {
				t.Fatalf("got %s want %s", got, tc.want)
			}
		})
	}
}
