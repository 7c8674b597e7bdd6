package webhookops_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// receiver is a webhook endpoint that records what it gets and answers
// with the statuses it is told to, in order (then 200).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
	statuses []int
}

type received struct {
	Header http.Header
	Body   []byte
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.requests)
		r.requests = append(r.requests, received{Header: req.Header.Clone(), Body: body})
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

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.requests...)
}
