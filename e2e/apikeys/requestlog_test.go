package apikeys_test

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/requestlog"
)

// Under concurrent load every call made with a key lands in the request
// log (on SQLite in its own file, on Postgres in the app database), none
// dropped, and the API lists each of them once.
func TestRequestLogCompleteUnderLoad(t *testing.T) {
	env := testenv.Get(t)
	rec := env.App.RequestLog
	if rec == nil {
		t.Fatal("the request log is off (BENCH_REQUEST_LOG=off is for the benchmarks)")
	}
	org := env.NewOrg(t)
	setPlan(t, org, "enterprise")
	k := createKey(t, org, map[string]any{"name": "load", "scopes": []string{"webhooks:read"}})
	reader := createKey(t, org, map[string]any{"name": "reader", "scopes": []string{"request_logs:read"}})
	dropped := rec.Dropped()

	const clients, each = 8, 150
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				req, _ := http.NewRequest("GET", env.BaseURL+"/api/webhooks", nil)
				req.Header.Set("Authorization", "Bearer "+k.Key)
				resp, err := env.HTTP.Do(req)
				if err != nil {
					errs <- err
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("status %d", resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a call failed: %v", err)
	}

	stored := func() int64 {
		var n int64
		if err := requestlog.For(env.App.Store.DB()).Model(&models.RequestLog{}).
			Where("organization_id = ? AND api_key_id = ?", org.ID, k.ID).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	testenv.Eventually(t, 60*time.Second, "every call in the request log", func() bool { return stored() >= clients*each })
	if n := stored(); n != clients*each {
		t.Fatalf("%d entries stored, want %d", n, clients*each)
	}
	if d := rec.Dropped() - dropped; d != 0 {
		t.Fatalf("%d calls dropped", d)
	}

	// The API lists each once, in pages.
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; pages < 20; pages++ {
		q := "/api/request-logs?limit=200&key_id=" + k.ID
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		r := withKey(t, env, "GET", q, reader.Key, "", nil)
		var page struct {
			Data []struct {
				ID     string `json:"id"`
				Status int    `json:"status"`
			} `json:"data"`
			NextCursor *string `json:"next_cursor"`
		}
		if r.Status != http.StatusOK {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &page)
		for _, e := range page.Data {
			if seen[e.ID] || e.Status != http.StatusOK {
				t.Fatalf("entry %s listed twice or with status %d", e.ID, e.Status)
			}
			seen[e.ID] = true
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if len(seen) != clients*each {
		t.Fatalf("the API lists %d entries, want %d", len(seen), clients*each)
	}
}
