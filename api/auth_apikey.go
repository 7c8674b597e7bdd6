package api

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/aqio/connect/apikeys"
	"github.com/aqio/connect/ratelimit"
	"github.com/aqio/connect/store"
)

// APIKeyAuth authenticates "Authorization: Bearer ak_…" API keys: it
// verifies the key (status, expiry, allowed IPs) and consumes one request
// of its rate limit; the scope middleware (authorize, openapi.go) checks
// the operation's declared scope.
type APIKeyAuth struct {
	Keys           *apikeys.Service
	TrustedProxies []netip.Prefix
}

// Authenticate implements Authenticator.
func (a APIKeyAuth) Authenticate(ctx context.Context, r *http.Request) (*Principal, error) {
	tok, ok := bearer(r)
	if !ok || !apikeys.LooksLikeKey(tok) {
		return nil, nil
	}
	v, err := a.Keys.Verify(ctx, apikeys.VerifyInput{
		Key: tok, IP: clientIP(r, a.TrustedProxies), Source: "http",
		RequestID: r.Header.Get("X-Request-Id"),
	})
	if err != nil {
		return nil, err
	}
	var hdr http.Header
	if v.RateLimit != nil {
		hdr = rateLimitHeaders(*v.RateLimit, time.Now())
	}
	if !v.Valid {
		return nil, &headerError{err: keyRefusal(v), headers: hdr, key: v.Key}
	}
	p := &Principal{
		OrganizationID: deref(v.Key.OrganizationID), Scopes: v.Scopes, Method: AuthAPIKey,
		CredentialID: v.Key.ID, ResponseHeaders: hdr,
	}
	if v.Key.UserID != nil {
		p.UserID = *v.Key.UserID
	}
	return p, nil
}

// keyRefusal is the error for a refused key; each reason has its own code.
func keyRefusal(v apikeys.Verification) *Error {
	switch v.Reason {
	case apikeys.ReasonExpired:
		return Errorf(http.StatusUnauthorized, v.Reason, "the API key has expired")
	case apikeys.ReasonRevoked:
		return Errorf(http.StatusUnauthorized, v.Reason, "the API key has been revoked")
	case apikeys.ReasonRotated:
		return Errorf(http.StatusUnauthorized, v.Reason, "the API key was rotated and its grace period has ended; use its replacement")
	case apikeys.ReasonIPNotAllowed:
		return Errorf(http.StatusForbidden, v.Reason, "the API key may not be used from this IP address")
	case apikeys.ReasonInsufficientScope:
		return Errorf(http.StatusForbidden, v.Reason, "the API key lacks a required scope")
	case apikeys.ReasonRateLimited:
		d := v.RateLimit
		w := d.Tightest()
		e := Errorf(http.StatusTooManyRequests, v.Reason,
			"rate limit exceeded: the %s plan allows %d requests per %s", d.Policy.Name, w.Limit, w.Name)
		e.Policy = w.Name
		return e
	case apikeys.ReasonMalformed:
		return Errorf(http.StatusUnauthorized, v.Reason, "the API key is malformed (wrong length, characters or checksum)")
	}
	return Errorf(http.StatusUnauthorized, apikeys.ReasonUnknown, "the API key is not valid")
}

// headerError is an *Error whose response carries headers (rate limits).
type headerError struct {
	err     *Error
	headers http.Header
	key     *store.KeyForVerification // the refused key, when it was found (for the request log)
}

func (e *headerError) Error() string                { return e.err.Error() }
func (e *headerError) Unwrap() error                { return e.err }
func (e *headerError) ResponseHeaders() http.Header { return e.headers }

// rateLimitHeaders are the IETF draft fields (RateLimit-Policy, RateLimit)
// for both windows plus the X-RateLimit-* fields of the tightest window
// (X-RateLimit-Reset in Unix seconds), and Retry-After when refused.
func rateLimitHeaders(d ratelimit.Decision, now time.Time) http.Header {
	h := http.Header{}
	secs := func(t time.Time) int {
		s := int(t.Sub(now).Round(time.Second).Seconds())
		return max(s, 0)
	}
	var pol, cur []string
	for _, w := range []ratelimit.Window{d.Minute, d.Hour} {
		pol = append(pol, fmt.Sprintf(`"%s";q=%d;w=%d`, w.Name, w.Limit, w.Seconds))
		cur = append(cur, fmt.Sprintf(`"%s";r=%d;t=%d`, w.Name, w.Remaining, secs(w.ResetAt)))
	}
	h.Set("RateLimit-Policy", strings.Join(pol, ", "))
	h.Set("RateLimit", strings.Join(cur, ", "))
	t := d.Tightest()
	h.Set("X-RateLimit-Limit", strconv.Itoa(t.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(t.Remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(t.ResetAt.Unix(), 10))
	if !d.Allowed {
		h.Set("Retry-After", strconv.Itoa(d.RetryAfterSeconds(now)))
	}
	return h
}

// clientIP is the connection's address or, only when the connection comes
// from a trusted proxy, the rightmost X-Forwarded-For address that is not
// itself a trusted proxy.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	if !inPrefixes(trusted, addr) {
		return addr
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr // garbage: trust nothing beyond the last good hop
		}
		addr = a.Unmap()
		if !inPrefixes(trusted, addr) {
			return addr
		}
	}
	return addr
}

func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
