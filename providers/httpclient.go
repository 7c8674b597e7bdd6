package providers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxBody is the most of a provider response body read.
const MaxBody = 1 << 20

// ExcerptLimit is how much of a provider response is kept for support staff.
const ExcerptLimit = 2048

// IdempotencyKey is the stable key of one Aqio object in one integration:
// the same integration and object always give the same key, so a retried
// action can be recognised (and passed to providers that accept one).
func IdempotencyKey(integrationID, objectType, objectID string) string {
	sum := sha256.Sum256([]byte(integrationID + "\x00" + objectType + "\x00" + objectID))
	return "aqio-" + hex.EncodeToString(sum[:16])
}

// Do sends req with hc and classifies the answer with classify: a nil
// error means success, with the body (at most MaxBody bytes). Transport
// errors are KindRetryable.
func Do(hc *http.Client, classify func(*http.Response, []byte) *Error, req *http.Request) (*http.Response, []byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			return nil, nil, pe
		}
		if req.Context().Err() != nil {
			return nil, nil, req.Context().Err()
		}
		return nil, nil, &Error{Kind: KindRetryable, Code: "transport", Message: err.Error()}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if err != nil {
		return resp, nil, &Error{Kind: KindRetryable, Code: "transport", Message: "read response: " + err.Error(), Status: resp.StatusCode}
	}
	if pe := classify(resp, body); pe != nil {
		return resp, body, pe
	}
	return resp, body, nil
}

// JSONRequest builds a request with a JSON body (replayable, so the
// refresh-once path can resend it).
func JSONRequest(ctx context.Context, method, url string, body any) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, &Error{Kind: KindPermanent, Code: "invalid_url", Message: err.Error()}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// ClassifyHTTP is the shared classification of an HTTP answer by status:
// 2xx success (nil); 429 and 503 rate limited with RetryDelay; 401
// KindExpired (refresh once, then it is an auth failure); 403 auth; 408,
// 409, 425 and other 5xx retryable; other 4xx permanent. Connectors call
// it after looking at their own error codes.
func ClassifyHTTP(provider string, h RateLimitHeaders, resp *http.Response, body []byte) *Error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &Error{Provider: provider, Status: resp.StatusCode, Code: "http_" + strconv.Itoa(resp.StatusCode), Message: excerpt(body, 300)}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable:
		e.Kind = KindRateLimited
		e.RetryAfter = RetryDelay(resp.Header, h, time.Now())
	case s == http.StatusUnauthorized:
		e.Kind = KindExpired
	case s == http.StatusForbidden:
		e.Kind = KindAuth
	case s == http.StatusRequestTimeout || s == http.StatusConflict || s == http.StatusTooEarly || s >= 500:
		e.Kind = KindRetryable
	default:
		e.Kind = KindPermanent
	}
	return e
}

// RetryDelay reads how long to wait from Retry-After (seconds or an HTTP
// date) and the provider's rate-limit headers; 0 when they say nothing
// (the retry policy's backoff applies). The activity turns it into
// Temporal's NextRetryDelay.
func RetryDelay(hdr http.Header, h RateLimitHeaders, now time.Time) time.Duration {
	if v := strings.TrimSpace(hdr.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return seconds(s)
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	if h.ResetAfter != "" {
		if s, err := strconv.ParseFloat(strings.TrimSpace(hdr.Get(h.ResetAfter)), 64); err == nil && s >= 0 {
			return seconds(s)
		}
	}
	if h.ResetAt != "" {
		if s, err := strconv.ParseFloat(strings.TrimSpace(hdr.Get(h.ResetAt)), 64); err == nil && s > 0 {
			sec, frac := math.Modf(s)
			return max(time.Unix(int64(sec), int64(frac*1e9)).Sub(now), 0)
		}
	}
	if h.IntervalMillis != "" && h.Remaining != "" && strings.TrimSpace(hdr.Get(h.Remaining)) == "0" {
		if ms, err := strconv.Atoi(strings.TrimSpace(hdr.Get(h.IntervalMillis))); err == nil && ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	return 0
}

func seconds(s float64) time.Duration { return time.Duration(math.Ceil(s*1000)) * time.Millisecond }

func excerpt(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// Exchange is the last provider request and answer of a session, kept for
// the activity list (no headers, so no credential).
type Exchange struct {
	Method  string `json:"method"`
	URL     string `json:"url"`
	Status  int    `json:"status"`
	Excerpt string `json:"excerpt"`
}

// Session authenticates one integration's requests (see Runtime.HTTP).
type Session struct {
	Connector Connector
	Info      Info
	// Refresh obtains (and durably saves) new OAuth credentials; nil
	// disables the refresh-once path.
	Refresh func(ctx context.Context) (Credentials, error)
	// Limit is the connection's concurrency semaphore (nil: none).
	Limit chan struct{}

	mu        sync.Mutex
	creds     Credentials
	last      Exchange
	refreshed bool
}

// NewSession starts a session with the integration's credentials.
func NewSession(c Connector, info Info, creds Credentials) *Session {
	return &Session{Connector: c, Info: info, creds: creds}
}

// Credentials are the session's current credentials (after a refresh,
// the new ones).
func (s *Session) Credentials() Credentials { s.mu.Lock(); defer s.mu.Unlock(); return s.creds }

// Last is the last exchange with the provider.
func (s *Session) Last() Exchange { s.mu.Lock(); defer s.mu.Unlock(); return s.last }

// Refreshed reports whether the session refreshed the token.
func (s *Session) Refreshed() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.refreshed }

// Client wraps base (the SSRF-safe egress client) with the session.
func (s *Session) Client(base *http.Client) *http.Client {
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c := *base
	c.Transport = &sessionTransport{s: s, next: next}
	return &c
}

// redact hides credential values (webhook URLs carry their secret in
// the path) from what is kept for support staff: the tokens, credential
// fields declared Secret (and fields the catalog does not declare), and
// the extras named in Info.SecretExtras. Callers hold s.mu.
func (s *Session) redact(v string) string {
	var walk func(x any)
	var secrets []string
	walk = func(x any) {
		switch x := x.(type) {
		case string:
			if len(x) >= 8 {
				secrets = append(secrets, x)
			}
		case map[string]any:
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	public := map[string]bool{}
	for _, f := range s.Info.CredentialFields {
		public[f.Name] = !f.Secret
	}
	for k, f := range s.creds.Fields {
		if !public[k] {
			walk(f)
		}
	}
	for _, k := range append([]string{FeedTokenExtra}, s.Info.SecretExtras...) {
		walk(s.creds.Extra[k])
	}
	walk(s.creds.AccessToken)
	walk(s.creds.RefreshToken)
	for _, sec := range secrets {
		v = strings.ReplaceAll(v, sec, "[redacted]")
	}
	return v
}

func (s *Session) authorize(req *http.Request) {
	c := s.Credentials()
	if a, ok := s.Connector.(Authorizer); ok {
		a.Authorize(req, c)
		return
	}
	switch s.Info.Auth {
	case AuthOAuth2:
		if c.AccessToken != "" {
			req.Header.Set("Authorization", "Bearer "+c.AccessToken)
		}
	case AuthAPIKey:
		if h := s.Info.APIKeyHeader; h != "" {
			req.Header.Set(h, c.Fields["api_key"])
		} else {
			req.Header.Set("Authorization", "Bearer "+c.Fields["api_key"])
		}
	case AuthBasic:
		req.SetBasicAuth(c.Fields["username"], c.Fields["password"])
	}
}

type sessionTransport struct {
	s    *Session
	next http.RoundTripper
}

func (t *sessionTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.s.Limit != nil {
		select {
		case t.s.Limit <- struct{}{}:
			defer func() { <-t.s.Limit }()
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	resp, body, err := t.send(req)
	if err != nil {
		return nil, err
	}
	if t.s.Refresh == nil || t.s.Info.Auth != AuthOAuth2 || !t.expired(resp, body) {
		return t.finish(resp, body), nil
	}
	if req.Body != nil && req.GetBody == nil {
		return t.finish(resp, body), nil // cannot resend
	}
	creds, err := t.s.Refresh(req.Context())
	if err != nil {
		return nil, err
	}
	t.s.mu.Lock()
	t.s.creds, t.s.refreshed = creds, true
	t.s.mu.Unlock()
	retry := req.Clone(req.Context())
	if req.GetBody != nil {
		if retry.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	resp, body, err = t.send(retry)
	if err != nil {
		return nil, err
	}
	return t.finish(resp, body), nil
}

// expired reports whether the answer asks for a fresh access token: a
// KindExpired classification, or a 401 the connector does not call a dead
// credential. A connector whose 401 means the credential itself is gone
// (Discord's invalid webhook token) classifies it KindAuth, and no refresh
// or resend follows: some providers ban clients that repeat invalid
// requests.
func (t *sessionTransport) expired(resp *http.Response, body []byte) bool {
	pe := t.s.Connector.Classify(resp, body)
	if pe != nil && pe.Kind == KindExpired {
		return true
	}
	return resp.StatusCode == http.StatusUnauthorized && (pe == nil || pe.Kind != KindAuth)
}

// send authorizes and sends one request and buffers its body.
func (t *sessionTransport) send(req *http.Request) (*http.Response, []byte, error) {
	r := req.Clone(req.Context())
	t.s.authorize(r)
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	resp.Body.Close()
	if err != nil {
		return nil, nil, err
	}
	t.s.mu.Lock()
	u := *req.URL
	u.RawQuery = "" // query strings may carry keys
	t.s.last = Exchange{Method: req.Method, URL: t.s.redact(u.String()), Status: resp.StatusCode, Excerpt: t.s.redact(excerpt(body, ExcerptLimit))}
	t.s.mu.Unlock()
	return resp, body, nil
}

func (t *sessionTransport) finish(resp *http.Response, body []byte) *http.Response {
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp
}

// Limits hands out one concurrency semaphore per connection (per worker process).
type Limits struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

// For returns the semaphore of a connection, nil when n <= 0.
func (l *Limits) For(integrationID string, n int) chan struct{} {
	if n <= 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]chan struct{}{}
	}
	ch, ok := l.m[integrationID]
	if !ok || cap(ch) != n {
		ch = make(chan struct{}, n)
		l.m[integrationID] = ch
	}
	return ch
}

// FixedAuthClient wraps base so that authorize sets every request's
// credentials (a fixed token or key, for tools and connector tests; the
// runtime's Session refreshes tokens itself).
func FixedAuthClient(base *http.Client, authorize func(*http.Request)) *http.Client {
	if base == nil {
		base = http.DefaultClient
	}
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c := *base
	c.Transport = fixedAuth{authorize: authorize, next: next}
	return &c
}

type fixedAuth struct {
	authorize func(*http.Request)
	next      http.RoundTripper
}

func (f fixedAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	f.authorize(r)
	return f.next.RoundTrip(r)
}
