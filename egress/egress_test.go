package egress

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestAllowed(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"8.8.8.8", true},
		{"2606:4700::1111", true},
		{"127.0.0.1", false},
		{"10.1.2.3", false},
		{"172.20.0.1", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false},
		{"100.64.0.1", false},
		{"0.0.0.0", false},
		{"::1", false},
		{"fe80::1", false},
		{"fd00:ec2::254", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
	} {
		t.Run(tc.ip, func(t *testing.T) {
			if got := Allowed(netip.MustParseAddr(tc.ip)); got != tc.want {
				t.Fatalf("Allowed(%s) = %v, want %v", tc.ip, got, tc.want)
			}
		})
	}
}

func TestClientRefusesLoopbackAtDialTime(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()

	_, err := NewClient(Options{}).Get(srv.URL)
	if !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("want ErrBlockedAddress, got %v", err)
	}
	resp, err := NewClient(Options{AllowPrivate: true}).Get(srv.URL)
	if err != nil {
		t.Fatalf("allowed private: %v", err)
	}
	resp.Body.Close()
}

func TestClientFollowsNoRedirects(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("redirect was followed")
	}))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusFound)
	}))
	defer srv.Close()
	resp, err := NewClient(Options{AllowPrivate: true, UserAgent: "t"}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url   string
		priv  bool
		valid bool
	}{
		{"https://example.com/hook", false, true},
		{"http://example.com:8080/x?y=1", false, true},
		{"ftp://example.com", false, false},
		{"/relative", false, false},
		{"https://user:pw@example.com", false, false},
		{"http://127.0.0.1:9000/x", false, false},
		{"http://127.0.0.1:9000/x", true, true},
		{"http://localhost/x", false, false},
		{"http://[::1]/x", false, false},
		{"http://169.254.169.254/latest/meta-data", false, false},
		{"http://metadata.google.internal/", false, false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			err := CheckURL(context.Background(), tc.url, tc.priv, nil)
			if (err == nil) != tc.valid {
				t.Fatalf("CheckURL(%q, %v) = %v", tc.url, tc.priv, err)
			}
		})
	}
}
