package testenv

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Receiver is a webhook endpoint for tests: a real HTTP server that records
// every request and answers with the given statuses in order (then 200).
type Receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []Received
	statuses []int
}

// Received is one request a Receiver got.
type Received struct {
	Header http.Header
	Body   []byte
}

// NewReceiver starts a receiver, closed when the test ends.
func NewReceiver(t testing.TB, statuses ...int) *Receiver {
	r := &Receiver{statuses: statuses}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.requests)
		r.requests = append(r.requests, Received{Header: req.Header.Clone(), Body: body})
		status := http.StatusOK
		if n < len(r.statuses) {
			status = r.statuses[n]
		}
		r.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"received":true}`))
	}))
	t.Cleanup(r.Close)
	return r
}

// Got returns the requests so far, in arrival order.
func (r *Receiver) Got() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Received(nil), r.requests...)
}

// IDs returns the webhook-id header of every request, in arrival order.
func (r *Receiver) IDs() []string {
	var out []string
	for _, q := range r.Got() {
		out = append(out, q.Header.Get("webhook-id"))
	}
	return out
}
