package auth

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"time"
)

// DefaultJWKSMinRefetch is the least time between two key-set fetches.
const DefaultJWKSMinRefetch = 30 * time.Second

// throttledFetch is the key set's HTTP transport. go-oidc refetches the
// JWKS whenever a token's key id is unknown or its signature does not
// verify, so a flood of forged tokens would become a flood of requests to
// Keycloak. Within minInterval of the last fetch it answers from the last
// successful response instead; a genuinely rotated key is picked up at the
// next fetch after the interval.
type throttledFetch struct {
	next        http.RoundTripper
	minInterval time.Duration
	now         func() time.Time

	mu      sync.Mutex
	last    time.Time
	status  int
	header  http.Header
	body    []byte
	fetches int
}

func (t *throttledFetch) RoundTrip(r *http.Request) (*http.Response, error) {
	t.mu.Lock()
	defer t.mu.Unlock() // one fetch at a time; waiters get its result
	if t.body != nil && t.now().Sub(t.last) < t.minInterval {
		return t.cached(r), nil
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	t.fetches++
	if resp.StatusCode == http.StatusOK {
		t.last, t.status, t.header, t.body = t.now(), resp.StatusCode, resp.Header.Clone(), body
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func (t *throttledFetch) cached(r *http.Request) *http.Response {
	return &http.Response{
		Status: http.StatusText(t.status), StatusCode: t.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: t.header.Clone(), Body: io.NopCloser(bytes.NewReader(t.body)), ContentLength: int64(len(t.body)), Request: r,
	}
}

// Fetches counts real key-set fetches (for tests and metrics).
func (t *throttledFetch) Fetches() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.fetches
}
