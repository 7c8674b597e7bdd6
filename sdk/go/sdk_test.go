package aqio_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	aqio "github.com/aqio/connect/sdk/go"
)

// receiver is a local webhook endpoint that verifies every delivery with
// the SDK's Verifier and keeps what it got.
type receiver struct {
	srv         *httptest.Server
	setVerifier func(*aqio.Verifier)
	mu          sync.Mutex
	got         []delivery
}

type delivery struct {
	header http.Header
	body   []byte
	err    error // the Verifier's verdict
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	var v atomic.Pointer[aqio.Verifier]
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		verr := errors.New("no verifier yet")
		if vv := v.Load(); vv != nil {
			verr = vv.Verify(body, req.Header)
		}
		r.mu.Lock()
		r.got = append(r.got, delivery{req.Header.Clone(), body, verr})
		r.mu.Unlock()
		if verr != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	r.setVerifier = func(vv *aqio.Verifier) { v.Store(vv) }
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

func serviceClient(t *testing.T, org string) *aqio.ClientWithResponses {
	t.Helper()
	c, err := aqio.New(devURL, aqio.Options{ServiceToken: serviceToken, Organization: org})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func event(id, typ string) aqio.EventIn {
	ev := aqio.EventIn{Type: typ}
	if id != "" {
		ev.Id = &id
	}
	ev.Data.Object = map[string]any{"id": "reg_" + id, "event_id": "evt_1", "status": "confirmed"}
	return ev
}

// Create a webhook, post an event with an Idempotency-Key (twice), receive
// it on a local endpoint and verify its signature, for both schemes.
func TestWebhookDeliveredAndVerified(t *testing.T) {
	for _, scheme := range []aqio.WebhookCreateSignatureScheme{"hmac-sha256", "ed25519"} {
		t.Run(string(scheme), func(t *testing.T) {
			ctx := context.Background()
			org := "org_sdk_verify_" + string(scheme) + runID
			c := serviceClient(t, org)
			rcv := newReceiver(t)
			s := scheme
			res, err := c.CreateWebhookWithResponse(ctx, nil, aqio.WebhookCreate{
				Name: "sdk receiver", Url: rcv.srv.URL + "/hook",
				Events: []string{"registration.*"}, SignatureScheme: &s,
			})
			if err := aqio.Check(res, err); err != nil {
				t.Fatal(err)
			}
			wh := res.JSON201
			var key string
			switch {
			case wh.Secret != nil:
				key = *wh.Secret
			case wh.PublicKey != nil:
				key = *wh.PublicKey
			}
			v, err := aqio.NewVerifier(key)
			if err != nil {
				t.Fatalf("NewVerifier(%q): %v", key, err)
			}
			rcv.setVerifier(v)

			idem := aqio.NewIdempotencyKey()
			first, err := c.PostEventWithResponse(ctx, nil, event("", "registration.confirmed"), aqio.WithIdempotencyKey(idem))
			if err := aqio.Check(first, err); err != nil {
				t.Fatal(err)
			}
			if first.StatusCode() != http.StatusAccepted || len(first.JSON202.Deliveries) != 1 {
				t.Fatalf("first post: %d %s", first.StatusCode(), first.Body)
			}
			again, err := c.PostEventWithResponse(ctx, nil, event("", "registration.confirmed"), aqio.WithIdempotencyKey(idem))
			if err := aqio.Check(again, err); err != nil {
				t.Fatal(err)
			}
			if again.StatusCode() != http.StatusOK || !again.JSON200.Duplicate || again.JSON200.Id != first.JSON202.Id {
				t.Fatalf("repeated post with the same Idempotency-Key: %d %s; want 200 duplicate of %s", again.StatusCode(), again.Body, first.JSON202.Id)
			}

			eventually(t, time.Minute, "the delivery", func() bool { return len(rcv.deliveries()) > 0 })
			got := rcv.deliveries()[0]
			if got.err != nil {
				t.Fatalf("delivery did not verify: %v (signature %q)", got.err, got.header.Get("webhook-signature"))
			}
			// The same verifier refuses a changed body and an old timestamp.
			if err := v.Verify(append([]byte(nil), append(got.body, ' ')...), got.header); !errors.Is(err, aqio.ErrNoMatchingSignature) {
				t.Fatalf("tampered body: %v, want ErrNoMatchingSignature", err)
			}
			late := *v
			late.Now = func() time.Time { return time.Now().Add(aqio.Tolerance + time.Minute) }
			if err := late.Verify(got.body, got.header); !errors.Is(err, aqio.ErrMessageTooOld) {
				t.Fatalf("delivery verified %v after it was sent: %v, want ErrMessageTooOld", aqio.Tolerance+time.Minute, err)
			}
			// The other scheme's key does not verify it.
			other := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
			if scheme == "hmac-sha256" {
				other = "whpk_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
			}
			ov, err := aqio.NewVerifier(other)
			if err != nil {
				t.Fatal(err)
			}
			if err := ov.Verify(got.body, got.header); !errors.Is(err, aqio.ErrNoMatchingSignature) {
				t.Fatalf("verified under an unrelated key: %v", err)
			}
		})
	}
}

// Post several events and page through the webhook's deliveries one at a
// time with Pages.
func TestPageThroughDeliveries(t *testing.T) {
	ctx := context.Background()
	c := serviceClient(t, "org_sdk_pages"+runID)
	rcv := newReceiver(t)
	res, err := c.CreateWebhookWithResponse(ctx, nil, aqio.WebhookCreate{
		Name: "pages", Url: rcv.srv.URL, Events: []string{"registration.confirmed"},
	})
	if err := aqio.Check(res, err); err != nil {
		t.Fatal(err)
	}
	v, err := aqio.NewVerifier(*res.JSON201.Secret)
	if err != nil {
		t.Fatal(err)
	}
	rcv.setVerifier(v)
	whID := res.JSON201.Id
	const n = 5
	want := map[string]bool{}
	for i := range n {
		id := "evt_sdk_page_" + string(rune('a'+i)) + runID
		want[id] = true
		r, err := c.PostEventWithResponse(ctx, nil, event(id, "registration.confirmed"))
		if err := aqio.Check(r, err); err != nil {
			t.Fatal(err)
		}
	}
	one := 1
	pages := 0
	list := func(ctx context.Context, cursor *string) ([]aqio.Delivery, *string, error) {
		pages++
		r, err := c.ListDeliveriesWithResponse(ctx, whID, &aqio.ListDeliveriesParams{Limit: &one, Cursor: cursor})
		if err := aqio.Check(r, err); err != nil {
			return nil, nil, err
		}
		return r.JSON200.Data, r.JSON200.NextCursor, nil
	}
	var seen map[string]bool
	eventually(t, time.Minute, "five successful deliveries", func() bool {
		seen, pages = map[string]bool{}, 0
		for d, err := range aqio.Pages(ctx, list) {
			if err != nil {
				t.Fatal(err)
			}
			if d.Status == "success" && d.EventId != nil {
				seen[*d.EventId] = true
			}
		}
		return len(seen) == n
	})
	for id := range want {
		if !seen[id] {
			t.Fatalf("event %s not among the paged deliveries %v", id, seen)
		}
	}
	if pages < n {
		t.Fatalf("%d pages of one for %d deliveries", pages, n)
	}
	// Breaking out of the loop stops fetching.
	pages = 0
	for range aqio.Pages(ctx, list) {
		break
	}
	if pages != 1 {
		t.Fatalf("fetched %d pages for one item", pages)
	}
}

// Bad input comes back as an *APIError naming the field.
func TestTypedError(t *testing.T) {
	ctx := context.Background()
	c := serviceClient(t, "org_sdk_errors"+runID)
	res, err := c.CreateWebhookWithResponse(ctx, nil, aqio.WebhookCreate{
		Name: "bad", Url: "not a url", Events: []string{"registration.confirmed"},
	})
	err = aqio.Check(res, err)
	var apiErr *aqio.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("Check: %v (%T), want *aqio.APIError", err, err)
	}
	if apiErr.StatusCode/100 != 4 || apiErr.Field != "url" || apiErr.Code == "" || apiErr.Message == "" {
		t.Fatalf("APIError %+v; want a 4xx naming field url", *apiErr)
	}
}

// countingTransport counts the answers of each status it passes on.
type countingTransport struct {
	mu     sync.Mutex
	status map[int]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		c.mu.Lock()
		c.status[resp.StatusCode]++
		c.mu.Unlock()
	}
	return resp, err
}

// An API key of a free-plan organization runs into its per-minute limit:
// without retries the SDK returns a typed rate_limited error carrying
// Retry-After; with retries it waits that long and the call succeeds.
func TestRateLimitBackoff(t *testing.T) {
	ctx := context.Background()
	org := "org_sdk_ratelimit" + runID
	svc := serviceClient(t, org)
	name := "SDK rate limit"
	po, err := svc.PutOrganizationWithResponse(ctx, org, nil, aqio.PutOrganizationJSONRequestBody{Name: &name, Plan: "free"})
	if err := aqio.Check(po, err); err != nil {
		t.Fatal(err)
	}
	k, err := svc.CreateAPIKeyWithResponse(ctx, nil, aqio.APIKeyCreate{Name: "sdk", Scopes: []string{"webhooks:read"}})
	if err := aqio.Check(k, err); err != nil {
		t.Fatal(err)
	}
	apiKey := k.JSON201.Key

	noRetry, err := aqio.New(devURL, aqio.Options{APIKey: apiKey, Retry: aqio.RetryPolicy{MaxRetries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	var limited *aqio.APIError
	for i := 0; limited == nil; i++ {
		if i > 1000 {
			t.Fatal("no 429 after 1000 calls on the free plan")
		}
		res, err := noRetry.ListWebhooksWithResponse(ctx, nil)
		err = aqio.Check(res, err)
		if err == nil {
			continue
		}
		if !errors.As(err, &limited) || !limited.IsRateLimited() {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if limited.Code != "rate_limited" || limited.RetryAfter <= 0 || limited.Policy == "" {
		t.Fatalf("429 as %+v; want code rate_limited with Retry-After and the policy", *limited)
	}

	counter := &countingTransport{status: map[int]int{}}
	withRetry, err := aqio.New(devURL, aqio.Options{
		APIKey:     apiKey,
		HTTPClient: &http.Client{Transport: counter},
		Retry:      aqio.RetryPolicy{MaxRetries: 3, MaxWait: 2 * time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := withRetry.ListWebhooksWithResponse(ctx, nil)
	if err := aqio.Check(res, err); err != nil {
		t.Fatalf("with retries: %v", err)
	}
	counter.mu.Lock()
	defer counter.mu.Unlock()
	if counter.status[http.StatusTooManyRequests] < 1 || counter.status[http.StatusOK] != 1 {
		t.Fatalf("answers seen by the transport: %v; want at least one 429, then one 200", counter.status)
	}
	t.Logf("backed off %v after %d refusals (first Retry-After %v)", time.Since(start).Round(time.Second), counter.status[http.StatusTooManyRequests], limited.RetryAfter)

	// A Retry-After beyond MaxWait is not waited for: the 429 comes back.
	impatient, err := aqio.New(devURL, aqio.Options{APIKey: apiKey, Retry: aqio.RetryPolicy{MaxWait: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatal("no 429 through a client whose MaxWait is 1ms")
		}
		res, err := impatient.ListWebhooksWithResponse(ctx, nil)
		if err := aqio.Check(res, err); err != nil {
			if !errors.As(err, &limited) || !limited.IsRateLimited() {
				t.Fatal(err)
			}
			break
		}
	}
}
