package aqio_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	aqio "github.com/aqio/connect/sdk/go"
)

// A 503 with Retry-After is retried after that delay with the same body and
// Idempotency-Key; the retries stop at MaxRetries and hand back the answer.
func TestRetryTransport503(t *testing.T) {
	var mu sync.Mutex
	var bodies, keys []string
	failures := 2
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, string(b))
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		if len(bodies) <= failures {
			w.Header().Set("Retry-After", "7")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":{"code":"unavailable","message":"try later"}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"id":"evt_1","type":"registration.confirmed","duplicate":false,"deliveries":[]}`)
	}))
	defer srv.Close()

	var waits []time.Duration
	rt := &aqio.RetryTransport{Policy: aqio.RetryPolicy{MaxRetries: 3}, Sleep: func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	}}
	c, err := aqio.NewClientWithResponses(srv.URL, aqio.WithHTTPClient(&http.Client{Transport: rt}))
	if err != nil {
		t.Fatal(err)
	}
	ev := aqio.EventIn{Type: "registration.confirmed"}
	ev.Data.Object = map[string]any{"id": "reg_1"}
	res, err := c.PostEventWithResponse(context.Background(), nil, ev, aqio.WithIdempotencyKey("idem_fixed"))
	if err := aqio.Check(res, err); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 3 || bodies[0] == "" || bodies[1] != bodies[0] || bodies[2] != bodies[0] {
		t.Fatalf("bodies sent: %q; want the same body three times", bodies)
	}
	for _, k := range keys {
		if k != "idem_fixed" {
			t.Fatalf("Idempotency-Key of the attempts: %q", keys)
		}
	}
	if len(waits) != 2 || waits[0] != 7*time.Second || waits[1] != 7*time.Second {
		t.Fatalf("waits %v; want Retry-After (7s) twice", waits)
	}

	// More failures than MaxRetries: the last 503 comes back as an APIError.
	mu.Lock()
	bodies, keys, failures, waits = nil, nil, 10, nil
	mu.Unlock()
	res, err = c.PostEventWithResponse(context.Background(), nil, ev)
	err = aqio.Check(res, err)
	apiErr, ok := err.(*aqio.APIError)
	if !ok || apiErr.StatusCode != http.StatusServiceUnavailable || apiErr.Code != "unavailable" || apiErr.RetryAfter != 7*time.Second {
		t.Fatalf("after MaxRetries: %v; want the 503 as *APIError with Retry-After 7s", err)
	}
	if len(bodies) != 4 {
		t.Fatalf("%d attempts, want 1 + MaxRetries (3)", len(bodies))
	}
}
