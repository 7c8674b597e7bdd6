// Package egress is the one HTTP client for user-supplied URLs (webhook
// endpoints, provider base URLs). It checks every resolved address at dial
// time, so DNS rebinding cannot slip a private address past a check made
// earlier; it follows no redirects and caps how much of a response is read.
package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrBlockedAddress is returned when a URL resolves to a refused address.
var ErrBlockedAddress = errors.New("egress: destination address is not allowed")

// Options configure a Client.
type Options struct {
	// AllowPrivate lets requests reach private, loopback and link-local addresses.
	AllowPrivate bool
	// UserAgent is sent with every request.
	UserAgent string
}

// NewClient returns an *http.Client whose transport refuses blocked
// addresses at dial time and which never follows redirects. Per-request
// timeouts come from the request context.
func NewClient(opts Options) *http.Client {
	dialer := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			if opts.AllowPrivate {
				return nil
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrBlockedAddress, address)
			}
			if err := Check(ap.Addr()); err != nil {
				return fmt.Errorf("%w: %v", ErrBlockedAddress, err)
			}
			return nil
		},
	}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial on our behalf and bypass the check
		DialContext:           numericDial(dialer.DialContext),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 0, // bounded by the request context
	}
	return &http.Client{
		Transport: &uaTransport{next: transport, ua: opts.UserAgent},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// numericDial dials a numeric host ("127.1", "0x7f000001", …) as the
// address it means, the way browsers and curl read it, instead of letting
// the resolver look it up as a name; a host that ends in a number but is no
// valid address is refused. The dialer's Control check then sees the real
// address, as it does for every resolved name.
func numericDial(dial func(ctx context.Context, network, address string) (net.Conn, error)) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, fmt.Errorf("%w: %s", ErrBlockedAddress, address)
		}
		ip, numeric, err := NumericHost(host)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBlockedAddress, err)
		}
		if numeric {
			address = net.JoinHostPort(ip.String(), port)
		}
		return dial(ctx, network, address)
	}
}

type uaTransport struct {
	next http.RoundTripper
	ua   string
}

func (t *uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.ua != "" && r.Header.Get("User-Agent") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("User-Agent", t.ua)
	}
	return t.next.RoundTrip(r)
}

// ReadLimited reads at most limit bytes of r and reports whether more remained.
func ReadLimited(r io.Reader, limit int) ([]byte, bool, error) {
	buf, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if len(buf) > limit {
		return buf[:limit], true, err
	}
	return buf, false, err
}

// CheckURL validates a user-supplied endpoint URL statically: absolute
// http(s), a host, no credentials, no fragment, a numeric host only if it
// is a valid address in the spellings browsers accept, and (when private
// targets are refused) no blocked IP in any of those spellings, no
// obviously local host name, and no name that resolves to a blocked
// address now. The dial check is what really enforces the rule; this gives
// a clear 4xx on save.
func CheckURL(ctx context.Context, raw string, allowPrivate bool, resolver *net.Resolver) error {
	if len(raw) > 2048 {
		return errors.New("must be at most 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("must be an absolute http or https URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("must include a host")
	}
	if u.User != nil {
		return errors.New("must not contain credentials; use destination authentication instead")
	}
	if u.Fragment != "" {
		return errors.New("must not contain a fragment")
	}
	ip, numeric, err := NumericHost(u.Hostname())
	if err != nil {
		return fmt.Errorf("has an invalid host: %v", err)
	}
	if allowPrivate {
		return nil
	}
	if numeric {
		if err := Check(ip); err != nil {
			return fmt.Errorf("points to a private or local address (%v)", err)
		}
		return nil
	}
	host, err := asciiHost(u.Hostname())
	if err != nil {
		return fmt.Errorf("has an invalid host: %v", err)
	}
	host = strings.TrimSuffix(host, ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".internal") || strings.HasSuffix(host, ".local") {
		return errors.New("points to a private or local address")
	}
	if resolver == nil {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := resolver.LookupNetIP(rctx, "ip", host)
	if err != nil {
		return nil // unresolvable now; the dial check decides at delivery time
	}
	for _, a := range addrs {
		if err := Check(a); err != nil {
			return fmt.Errorf("resolves to a private or local address (%v)", err)
		}
	}
	return nil
}
