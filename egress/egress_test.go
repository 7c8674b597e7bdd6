package egress

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

func TestAllowed(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		// Public addresses stay allowed.
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"2606:4700::1111", true},
		{"2a00:1450:4001:80b::200e", true},
		{"::ffff:8.8.8.8", true},       // IPv4-mapped public
		{"64:ff9b::808:808", true},     // NAT64 of 8.8.8.8
		{"64:ff9b::1.1.1.1", true},     // NAT64 of 1.1.1.1
		{"2001:4860:4860::8888", true}, // 2001:4860:: is not Teredo
		{"2001:2000::1", true},         // outside 2001::/23 assignments
		// Private and local IPv4.
		{"127.0.0.1", false},
		{"10.1.2.3", false},
		{"172.20.0.1", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false},
		{"100.64.0.1", false},
		{"0.0.0.0", false},
		{"255.255.255.255", false},
		{"192.88.99.1", false},
		// Private and local IPv6.
		{"::", false},
		{"::1", false},
		{"fe80::1", false},
		{"fd00:ec2::254", false},
		{"fec0::1", false},     // site-local
		{"ff02::1", false},     // multicast
		{"2001:db8::1", false}, // documentation
		{"3fff::1", false},     // documentation
		// Zoned addresses: the zone is stripped before the checks, and
		// any zone is refused.
		{"::1%lo", false},
		{"::1%1", false},
		{"fe80::1%eth0", false},
		{"fd00:ec2::254%eth0", false},
		{"2606:4700::1111%eth0", false},
		{"::ffff:127.0.0.1%lo", false},
		// IPv4-mapped and IPv4-compatible forms.
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::127.0.0.1", false},        // IPv4-compatible loopback
		{"::8.8.8.8", false},          // IPv4-compatible is refused whatever it embeds
		{"::ffff:0:127.0.0.1", false}, // SIIT
		// NAT64: allowed only with a public embedded address.
		{"64:ff9b::7f00:1", false}, // 127.0.0.1
		{"64:ff9b::10.0.0.1", false},
		{"64:ff9b::169.254.169.254", false},
		{"64:ff9b:1::808:808", false}, // local-use NAT64 refused whatever it embeds
		// 6to4 and Teredo: refused whatever they embed.
		{"2002:7f00:1::", false},                        // 6to4 of 127.0.0.1
		{"2002:a00:1::1", false},                        // 6to4 of 10.0.0.1
		{"2002:808:808::1", false},                      // 6to4 of 8.8.8.8
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", false}, // Teredo of 127.0.0.1
		{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", false}, // Teredo of 8.8.8.8
	} {
		t.Run(tc.ip, func(t *testing.T) {
			err := Check(netip.MustParseAddr(tc.ip))
			if got := err == nil; got != tc.want {
				t.Fatalf("Check(%s) = %v, want allowed=%v", tc.ip, err, tc.want)
			}
			if got := Allowed(netip.MustParseAddr(tc.ip)); got != tc.want {
				t.Fatalf("Allowed(%s) = %v, want %v", tc.ip, got, tc.want)
			}
		})
	}
}

func TestEmbeddedIPv4(t *testing.T) {
	for _, tc := range []struct{ ip, want string }{
		{"::ffff:10.1.2.3", "10.1.2.3"},
		{"::127.0.0.1", "127.0.0.1"},
		{"64:ff9b::a01:203", "10.1.2.3"},
		{"2002:c0a8:101::1", "192.168.1.1"},
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.2.45"}, // RFC 4380 example
		{"2606:4700::1111", ""},
	} {
		t.Run(tc.ip, func(t *testing.T) {
			got, ok := EmbeddedIPv4(netip.MustParseAddr(tc.ip))
			if tc.want == "" {
				if ok {
					t.Fatalf("EmbeddedIPv4(%s) = %s, want none", tc.ip, got)
				}
				return
			}
			if !ok || got.String() != tc.want {
				t.Fatalf("EmbeddedIPv4(%s) = %s %v, want %s", tc.ip, got, ok, tc.want)
			}
		})
	}
}

func TestNumericHost(t *testing.T) {
	for _, tc := range []struct {
		host string
		want string // "" for a name, "error" for a refused numeric host
	}{
		{"127.0.0.1", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"0X7F000001", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"0x7f.1", "127.0.0.1"},
		{"0x7f.0.01", "127.0.0.1"},    // mixed hex, decimal, octal
		{"0177.0x0.0.1", "127.0.0.1"}, // mixed octal and hex
		{"00000177.0x00000.0.0001", "127.0.0.1"},
		{"127.0.0.1.", "127.0.0.1"}, // trailing dot
		{"0", "0.0.0.0"},
		{"0x", "0.0.0.0"},
		{"0xa9fea9fe", "169.254.169.254"},
		{"10.0xffffff", "10.255.255.255"},
		{"134744072", "8.8.8.8"},
		{"１２７.０.０.１", "127.0.0.1"}, // full-width digits and dots
		{"::1", "::1"},
		{"::1%lo", "::1%lo"},
		{"example.com", ""},
		{"example.com.", ""},
		{"1.example", ""},
		{"0xg.example", ""},
		{"foo.0xg", ""},
		{"09.com", ""},
		{"256.0.0.1", "error"},
		{"1.2.3.4.5", "error"},
		{"4294967296", "error"},
		{"1.16777216", "error"},
		{"08", "error"},
		{"0x100000000", "error"},
		{"0x10000000000000000000000", "error"},
		{"example.123", "error"},
		{"foo.0x", "error"},
		{"1..1", "error"},
	} {
		t.Run(tc.host, func(t *testing.T) {
			ip, numeric, err := NumericHost(tc.host)
			switch tc.want {
			case "":
				if numeric || err != nil {
					t.Fatalf("NumericHost(%q) = %s %v %v, want a name", tc.host, ip, numeric, err)
				}
			case "error":
				if err == nil {
					t.Fatalf("NumericHost(%q) = %s %v, want an error", tc.host, ip, numeric)
				}
			default:
				if err != nil || !numeric || ip.String() != tc.want {
					t.Fatalf("NumericHost(%q) = %s %v %v, want %s", tc.host, ip, numeric, err, tc.want)
				}
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

// hostile are URLs that must be refused when private targets are, both on
// save (CheckURL) and when dialled; PORT is replaced by a listener's port.
var hostile = []string{
	"http://127.0.0.1:PORT/x",
	"http://[::1]:PORT/x",
	"http://[::1%25lo]:PORT/x",
	"http://[::1%251]:PORT/x",
	"http://[fe80::1%25eth0]:PORT/x",
	"http://[fd00:ec2::254%25eth0]:PORT/x",
	"http://[::127.0.0.1]:PORT/x",
	"http://[::ffff:127.0.0.1]:PORT/x",
	"http://[::ffff:7f00:1]:PORT/x",
	"http://[64:ff9b::127.0.0.1]:PORT/x",
	"http://[2002:7f00:1::]:PORT/x",
	"http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:PORT/x",
	"http://[fec0::1]:PORT/x",
	"http://127.1:PORT/x",
	"http://127.0.1:PORT/x",
	"http://2130706433:PORT/x",
	"http://0x7f000001:PORT/x",
	"http://0177.0.0.1:PORT/x",
	"http://0x7f.1:PORT/x",
	"http://0x7f.0.01:PORT/x",
	"http://0:PORT/x",
	"http://127.0.0.1.:PORT/x",
	"http://%EF%BC%91%EF%BC%92%EF%BC%97.%EF%BC%90.%EF%BC%90.%EF%BC%91:PORT/x", // full-width 127.0.0.1
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url   string
		priv  bool
		valid bool
	}{
		{"https://example.com/hook", false, true},
		{"http://example.com:8080/x?y=1", false, true},
		{"http://8.8.8.8/x", false, true},
		{"http://134744072/x", false, true}, // 8.8.8.8
		{"http://[2606:4700::1111]/x", false, true},
		{"http://[64:ff9b::8.8.8.8]/x", false, true},
		{"http://[::ffff:8.8.8.8]/x", false, true},
		{"ftp://example.com", false, false},
		{"/relative", false, false},
		{"https://user:pw@example.com", false, false},
		{"http://127.0.0.1:9000/x", false, false},
		{"http://127.0.0.1:9000/x", true, true},
		{"http://localhost/x", false, false},
		{"http://LOCALHOST./x", false, false},
		{"http://[::1]/x", false, false},
		{"http://169.254.169.254/latest/meta-data", false, false},
		{"http://0xa9fea9fe/latest/meta-data", false, false},
		{"http://metadata.google.internal/", false, false},
		// Hosts that end in a number but are no address: refused even
		// with private targets allowed, as browsers refuse them.
		{"http://256.0.0.1/x", true, false},
		{"http://1.2.3.4.5/x", true, false},
		{"http://example.123/x", true, false},
		{"http://08/x", true, false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			err := CheckURL(context.Background(), tc.url, tc.priv, nil)
			if (err == nil) != tc.valid {
				t.Fatalf("CheckURL(%q, %v) = %v", tc.url, tc.priv, err)
			}
		})
	}
	for _, raw := range hostile {
		u := strings.ReplaceAll(raw, "PORT", "9000")
		t.Run(u, func(t *testing.T) {
			err := CheckURL(context.Background(), u, false, net.DefaultResolver)
			if err == nil || !strings.Contains(err.Error(), "private or local") {
				t.Fatalf("CheckURL(%q) = %v, want a private-address refusal", u, err)
			}
			if err := CheckURL(context.Background(), u, true, nil); err != nil {
				t.Fatalf("CheckURL(%q) with private targets allowed = %v", u, err)
			}
		})
	}
}

// TestClientRefusesHostileSpellingsAtDialTime dials every hostile URL at a
// real listener on 127.0.0.1 and ::1: none may reach it. With private
// targets allowed, the loopback spellings reach it.
func TestClientRefusesHostileSpellingsAtDialTime(t *testing.T) {
	var hits atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	srv := httptest.NewServer(h)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	l6, err := net.Listen("tcp", "[::1]:"+port)
	if err != nil {
		t.Fatalf("listen on [::1]:%s: %v", port, err)
	}
	srv6 := &http.Server{Handler: h}
	go srv6.Serve(l6)
	defer srv6.Close()

	refusing := NewClient(Options{})
	for _, raw := range hostile {
		u := strings.ReplaceAll(raw, "PORT", port)
		t.Run(u, func(t *testing.T) {
			resp, err := refusing.Get(u)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET %s: status %d, want a refusal", u, resp.StatusCode)
			}
			if !errors.Is(err, ErrBlockedAddress) {
				t.Fatalf("GET %s: %v, want ErrBlockedAddress", u, err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the listener got %d requests", n)
	}

	allowing := NewClient(Options{AllowPrivate: true})
	for _, raw := range []string{"http://127.1:PORT/", "http://2130706433:PORT/", "http://0x7f.1:PORT/", "http://0177.0.0.1:PORT/", "http://[::1%25lo]:PORT/", "http://[::ffff:127.0.0.1]:PORT/"} {
		u := strings.ReplaceAll(raw, "PORT", port)
		resp, err := allowing.Get(u)
		if err != nil {
			t.Fatalf("GET %s with private targets allowed: %v", u, err)
		}
		resp.Body.Close()
	}
	if _, err := allowing.Get("http://256.0.0.1:" + port + "/"); !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("invalid numeric host: %v, want ErrBlockedAddress", err)
	}
}
