package aqio

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Options configure New.
type Options struct {
	// APIKey authenticates as an API key (ak_…): Authorization: Bearer <key>.
	APIKey string
	// ServiceToken authenticates as the Aqio backend; Organization names the
	// organization it acts for (X-Aqio-Organization-Id) and User, optionally,
	// the user (X-Aqio-User-Id).
	ServiceToken string
	Organization string
	User         string
	// HTTPClient sends the requests; http.DefaultClient's transport when nil.
	// Its Transport is wrapped in a RetryTransport unless Retry.MaxRetries < 0.
	HTTPClient *http.Client
	// Retry bounds the retries of 429 and 503 answers.
	Retry RetryPolicy
}

// New returns a generated client for the API at server (e.g.
// "http://127.0.0.1:8080") that sends the credentials of opts and retries
// 429 and 503 answers as opts.Retry says.
func New(server string, opts Options, more ...ClientOption) (*ClientWithResponses, error) {
	hc := &http.Client{}
	if opts.HTTPClient != nil {
		*hc = *opts.HTTPClient
	}
	if opts.Retry.MaxRetries >= 0 {
		hc.Transport = &RetryTransport{Base: hc.Transport, Policy: opts.Retry}
	}
	all := []ClientOption{WithHTTPClient(hc), WithRequestEditorFn(credentials(opts))}
	return NewClientWithResponses(server, append(all, more...)...)
}

func credentials(opts Options) RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		switch {
		case opts.APIKey != "":
			req.Header.Set("Authorization", "Bearer "+opts.APIKey)
		case opts.ServiceToken != "":
			req.Header.Set("Authorization", "Bearer "+opts.ServiceToken)
		}
		if opts.Organization != "" && req.Header.Get("X-Aqio-Organization-Id") == "" {
			req.Header.Set("X-Aqio-Organization-Id", opts.Organization)
		}
		if opts.User != "" && req.Header.Get("X-Aqio-User-Id") == "" {
			req.Header.Set("X-Aqio-User-Id", opts.User)
		}
		return nil
	}
}

// RetryPolicy bounds RetryTransport. The zero value retries up to 3 times,
// waiting what Retry-After says (1 s when absent), at most 60 s per wait.
type RetryPolicy struct {
	// MaxRetries is how many times one request is re-sent; 0 means 3, a
	// negative value turns retries off.
	MaxRetries int
	// MaxWait caps one wait; 0 means 60 s. An answer whose Retry-After
	// exceeds it is returned to the caller instead of waited for.
	MaxWait time.Duration
	// DefaultWait is the wait when the answer has no Retry-After; 0 means 1 s.
	DefaultWait time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxRetries == 0 {
		p.MaxRetries = 3
	}
	if p.MaxWait == 0 {
		p.MaxWait = 60 * time.Second
	}
	if p.DefaultWait == 0 {
		p.DefaultWait = time.Second
	}
	return p
}

// RetryTransport re-sends a request answered 429 Too Many Requests or 503
// Service Unavailable after the answer's Retry-After, a bounded number of
// times. Requests are re-sent unchanged, headers included, so an event post
// keeps its Idempotency-Key and is never stored twice.
type RetryTransport struct {
	Base   http.RoundTripper
	Policy RetryPolicy
	// Sleep waits d or until ctx is done; a timer when nil.
	Sleep func(ctx context.Context, d time.Duration) error
}

// RoundTrip implements http.RoundTripper.
func (t *RetryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	p := t.Policy.withDefaults()
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 {
			r = req.Clone(req.Context())
			if req.Body != nil && req.Body != http.NoBody {
				if req.GetBody == nil {
					return nil, fmt.Errorf("aqio: cannot retry a request whose body cannot be re-read")
				}
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		resp, err := base.RoundTrip(r)
		if err != nil || attempt >= p.MaxRetries ||
			(resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
			return resp, err
		}
		wait := retryAfter(resp.Header.Get("Retry-After"), time.Now())
		if wait == 0 {
			wait = p.DefaultWait
		}
		if wait > p.MaxWait {
			return resp, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		if err := t.sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

func (t *RetryTransport) sleep(ctx context.Context, d time.Duration) error {
	if t.Sleep != nil {
		return t.Sleep(ctx, d)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// NewIdempotencyKey returns a random key for the Idempotency-Key header.
func NewIdempotencyKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "idem_" + hex.EncodeToString(b)
}

// WithIdempotencyKey sets the Idempotency-Key header: pass it to
// PostEventWithResponse so that a post repeated after a timeout or a lost
// answer is stored once (the repeat answers 200 with duplicate: true).
//
//	key := aqio.NewIdempotencyKey() // keep it with the event until it is accepted
//	res, err := c.PostEventWithResponse(ctx, nil, ev, aqio.WithIdempotencyKey(key))
func WithIdempotencyKey(key string) RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Idempotency-Key", key)
		return nil
	}
}
