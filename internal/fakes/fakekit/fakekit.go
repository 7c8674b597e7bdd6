// Package fakekit is the test plumbing the provider fakes share: a log of
// the requests a fake received, failures a test injects, and forced 429s.
// A fake embeds the pieces it uses (Recorder bundles all three), so its
// Fail, FailFor, RateLimitNext, Requests and Count keep one meaning across
// providers; the answers themselves (error bodies, rate-limit headers)
// stay in each fake, in its provider's wire format.
package fakekit

import (
	"bytes"
	"strings"
	"sync"
	"time"
)

// Recorder bundles the request log, injected failures and forced rate
// limits of a fake whose requests are recorded as R.
type Recorder[R any] struct {
	RequestLog[R]
	Failures
	RateLimits
}

// Request is the record most bearer-token fakes keep of a request (the
// fakes that record more, or other headers, declare their own).
type Request struct {
	Method, Path, Query string
	Authorization       string
	Body                []byte
	At                  time.Time
}

// RequestLog records the requests a fake received, oldest first.
type RequestLog[R any] struct {
	mu      sync.Mutex
	entries []entry[R]
}

type entry[R any] struct {
	method, path string
	req          R
}

// Record appends a request; method and path are what Count matches.
func (l *RequestLog[R]) Record(method, path string, req R) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, entry[R]{method: method, path: path, req: req})
}

// Requests returns the requests received so far.
func (l *RequestLog[R]) Requests() []R {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]R, 0, len(l.entries))
	for _, e := range l.entries {
		out = append(out, e.req)
	}
	return out
}

// Count counts received requests by method ("" any) and path prefix.
func (l *RequestLog[R]) Count(method, pathPrefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.entries {
		if (method == "" || e.method == method) && strings.HasPrefix(e.path, pathPrefix) {
			n++
		}
	}
	return n
}

// Failure is an injected answer: the next Remaining requests matching
// Method ("" any), the Path prefix and (when set) a body containing Match
// answer Status with Body ("" lets the fake pick its provider's body).
type Failure struct {
	Method, Path, Match string
	Status              int
	Body                string
	Remaining           int
}

// Failures holds the injected failures of a fake, first injected first.
type Failures struct {
	mu   sync.Mutex
	list []*Failure
}

// Fail makes the next n requests matching method ("" any) and path prefix
// answer status with body ("" picks the provider's body for the status).
func (f *Failures) Fail(method, pathPrefix string, n, status int, body string) {
	f.FailFor(method, pathPrefix, "", n, status, body)
}

// FailFor is Fail for requests whose body contains match.
func (f *Failures) FailFor(method, pathPrefix, match string, n, status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = append(f.list, &Failure{Method: method, Path: pathPrefix, Match: match, Status: status, Body: body, Remaining: n})
}

// TakeFailure returns the first injected failure matching the request and
// uses up one of its answers, or nil when none matches.
func (f *Failures) TakeFailure(method, path string, body []byte) *Failure {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fl := range f.list {
		if fl.Remaining > 0 && (fl.Method == "" || fl.Method == method) && strings.HasPrefix(path, fl.Path) &&
			(fl.Match == "" || bytes.Contains(body, []byte(fl.Match))) {
			fl.Remaining--
			c := *fl
			return &c
		}
	}
	return nil
}

// RateLimits counts forced 429 answers.
type RateLimits struct {
	mu     sync.Mutex
	forced int
}

// RateLimitNext answers the next n API requests 429.
func (r *RateLimits) RateLimitNext(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forced += n
}

// TakeRateLimit reports whether this request is one of the forced 429s
// (and uses it up).
func (r *RateLimits) TakeRateLimit() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.forced == 0 {
		return false
	}
	r.forced--
	return true
}
