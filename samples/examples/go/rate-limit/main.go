// Command rate-limit shows what a 429 carries and how to back off: the SDK
// client retries 429 and 503 after Retry-After by itself (bounded); a
// client with retries off gets a typed *aqio.APIError whose RetryAfter and
// Policy say how long to wait and which window (minute or hour) is used up.
//
//	AQIO_URL=http://127.0.0.1:8080 AQIO_API_KEY=ak_… go run ./examples/go/rate-limit
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	aqio "github.com/aqio/connect/sdk/go"
)

func main() {
	ctx := context.Background()
	base, key := os.Getenv("AQIO_URL"), os.Getenv("AQIO_API_KEY")

	// 1. Without the SDK's retries, call until the plan's limit answers 429.
	plain, err := aqio.New(base, aqio.Options{APIKey: key, Retry: aqio.RetryPolicy{MaxRetries: -1}})
	if err != nil {
		log.Fatal(err)
	}
	var limited *aqio.APIError
	for i := 1; i <= 2000; i++ {
		err := aqio.Check(plain.ListWebhooksWithResponse(ctx, nil))
		if errors.As(err, &limited) && limited.IsRateLimited() {
			fmt.Printf("call %d: 429 %s, policy %s, Retry-After %v\n", i, limited.Code, limited.Policy, limited.RetryAfter)
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		limited = nil
	}
	if limited == nil {
		log.Fatal("no 429 within 2000 calls")
	}

	// 2. Back off by hand: wait what Retry-After says (never hammer a 429),
	// or give up when the wait is longer than the work can wait.
	if limited.RetryAfter > 2*time.Minute {
		log.Fatalf("the %s window is used up for %v; try later", limited.Policy, limited.RetryAfter)
	}
	time.Sleep(limited.RetryAfter)
	if err := aqio.Check(plain.ListWebhooksWithResponse(ctx, nil)); err != nil {
		log.Fatal(err)
	}
	fmt.Println("after waiting Retry-After: 200")

	// 3. Or let the client do it: it waits Retry-After (at most MaxWait at
	// once) and re-sends, up to MaxRetries times. The transport below only
	// shows the refusals the client absorbs.
	seen := &refusals{base: http.DefaultTransport}
	auto, err := aqio.New(base, aqio.Options{
		APIKey:     key,
		HTTPClient: &http.Client{Transport: seen},
		Retry:      aqio.RetryPolicy{MaxRetries: 3, MaxWait: 2 * time.Minute},
	})
	if err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	calls := 0
	for seen.n.Load() == 0 && calls < 2000 { // past the limit again
		calls++
		if err := aqio.Check(auto.ListWebhooksWithResponse(ctx, nil)); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("%d calls through the retrying client: all 200, %d refusal(s) waited out (%v)\n",
		calls, seen.n.Load(), time.Since(start).Round(time.Second))
}

// refusals counts the 429 answers passing through.
type refusals struct {
	base http.RoundTripper
	n    atomic.Int32
}

func (r *refusals) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		r.n.Add(1)
		fmt.Printf("  429, Retry-After %ss: the client waits and re-sends\n", resp.Header.Get("Retry-After"))
	}
	return resp, err
}
