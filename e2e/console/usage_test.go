package console_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testenv"
)

type usagePoint struct {
	Start   time.Time `json:"start"`
	Allowed int64     `json:"allowed"`
	Denied  int64     `json:"denied"`
}

type usageSeries struct {
	From, To    time.Time
	Granularity string `json:"granularity"`
	Plan        struct {
		Name      string `json:"name"`
		PerMinute int    `json:"per_minute"`
	} `json:"plan"`
	LimitPerInterval int64                           `json:"limit_per_interval"`
	Totals           struct{ Allowed, Denied int64 } `json:"totals"`
	Data             []usagePoint                    `json:"data"`
	Keys             []struct {
		APIKeyID    string       `json:"api_key_id"`
		Name        string       `json:"name"`
		Allowed     int64        `json:"allowed"`
		Denied      int64        `json:"denied"`
		PeakAllowed int64        `json:"peak_allowed"`
		Headroom    int64        `json:"headroom"`
		Data        []usagePoint `json:"data"`
	} `json:"keys"`
}

func TestUsageSeriesForCharts(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t) // the free plan: 4 requests per minute per key
	busy := createKey(t, org, "webhooks:read")
	quiet := createKey(t, org, "webhooks:read")
	denied := 0
	for i := 0; i < 7; i++ {
		if r := withKey(t, env, busy.Key, "GET", "/api/webhooks", nil); r.Status == http.StatusTooManyRequests {
			denied++
		}
	}
	withKey(t, env, quiet.Key, "GET", "/api/webhooks", nil)
	if denied == 0 {
		t.Fatalf("7 requests on a %d/min plan: none refused", freePerMinute)
	}

	var s usageSeries
	testenv.Eventually(t, 10*time.Second, "8 requests counted", func() bool {
		r := org.Do(t, "GET", "/api/usage/series?granularity=minute&group_by=key", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("usage series: %d %s", r.Status, r.Body)
		}
		s = usageSeries{}
		r.JSON(t, &s)
		return s.Totals.Allowed+s.Totals.Denied == 8
	})
	if s.Totals.Denied != int64(denied) || s.Plan.Name != "free" || s.Plan.PerMinute != freePerMinute || s.LimitPerInterval != freePerMinute {
		t.Fatalf("totals/plan: %+v (denied %d)", s, denied)
	}
	// One point per minute of [from, to), zero-filled, oldest first.
	want := int(s.To.Sub(s.From.Truncate(time.Minute)) / time.Minute)
	if s.To.Sub(s.From.Truncate(time.Minute))%time.Minute != 0 {
		want++
	}
	if len(s.Data) != want {
		t.Fatalf("%d points, want %d", len(s.Data), want)
	}
	var sum int64
	for i, p := range s.Data {
		sum += p.Allowed + p.Denied
		if i > 0 && !p.Start.Equal(s.Data[i-1].Start.Add(time.Minute)) {
			t.Fatalf("point %d starts at %s after %s", i, p.Start, s.Data[i-1].Start)
		}
	}
	if sum != 8 {
		t.Fatalf("points sum to %d, want 8", sum)
	}
	if len(s.Keys) != 2 || s.Keys[0].APIKeyID != busy.ID || s.Keys[1].APIKeyID != quiet.ID {
		t.Fatalf("top keys: %+v", s.Keys)
	}
	top := s.Keys[0]
	if top.Allowed+top.Denied != 7 || top.PeakAllowed > freePerMinute || top.Headroom != freePerMinute-top.PeakAllowed ||
		len(top.Data) != len(s.Data) || top.Name != "console test" {
		t.Fatalf("busiest key: %+v", top)
	}
	if s.Keys[1].Headroom != freePerMinute-1 {
		t.Fatalf("quiet key headroom: %+v", s.Keys[1])
	}

	// One key, by hour, top 1; without group_by no per-key series.
	r := org.Do(t, "GET", "/api/usage/series?granularity=hour&api_key_id="+quiet.ID+"&top=1", nil)
	var one usageSeries
	r.JSON(t, &one)
	if r.Status != http.StatusOK || one.Totals.Allowed != 1 || len(one.Keys) != 1 || one.Keys[0].Data != nil || one.LimitPerInterval != 1000 {
		t.Fatalf("one key's series: %d %s", r.Status, r.Body)
	}

	for _, tc := range []struct {
		query, field string
		status       int
	}{
		{"granularity=week", "granularity", 400},
		{"group_by=user", "group_by", 400},
		{"top=0", "top", 400},
		{"api_key_id=key_nope", "api_key_id", 404},
		{"granularity=minute&from=2026-01-01T00:00:00Z&to=2026-01-03T00:00:00Z", "from", 422},
	} {
		r := org.Do(t, "GET", "/api/usage/series?"+tc.query, nil)
		if _, field := errorOf(t, r); r.Status != tc.status || field != tc.field {
			t.Errorf("?%s: %d %s, want %d naming %s", tc.query, r.Status, r.Body, tc.status, tc.field)
		}
	}
	// Another organization's key is not found.
	if r := env.NewOrg(t).Do(t, "GET", "/api/usage/series?api_key_id="+busy.ID, nil); r.Status != http.StatusNotFound {
		t.Errorf("another organization's key: %d %s", r.Status, r.Body)
	}
}
