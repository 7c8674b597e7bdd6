package apikeys_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testenv"
)

// Benchmarks of the key authority over real HTTP with rate limiting and
// usage tracking on (docs/BENCHMARKS.md, "API key verification"):
//
//	AQIO_TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' \
//	  go test ./e2e/apikeys/ -run '^$' -bench . -benchtime 10s
//
// Each reports verifications (or requests) per second and p50/p99 latency.
// BENCH_REQUEST_LOG=off runs them with the API request log off, to
// compare (every call made with a key is recorded otherwise). The log is
// written in batches at least 1 s apart, as in production (app/auth.go;
// the 50 ms of TestMain is usage's interval).

func benchKeys(b *testing.B, n int) (*testenv.Env, []string) {
	env := testenv.Get(b)
	org := env.NewOrg(b)
	setPlan(b, org, "enterprise")
	keys := make([]string, n)
	for i := range keys {
		r := org.Do(b, "POST", "/api/api-keys", map[string]any{"name": "bench", "scopes": []string{"webhooks:read", "events:read"}})
		if r.Status != http.StatusCreated {
			b.Fatalf("create: %d %s", r.Status, r.Body)
		}
		var k key
		r.JSON(b, &k)
		keys[i] = k.Key
	}
	return env, keys
}

// run issues b.N requests from 8 goroutines (4 per CPU) and reports
// throughput, latency and the process's CPU time per request (server and
// load generator together: less swayed than throughput by other work on
// a shared machine).
func run(b *testing.B, do func(client *http.Client, i int64) (int, error)) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 64}, Timeout: 30 * time.Second}
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	var seq atomic.Int64
	var failed atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	cpu0 := processCPU()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			t0 := time.Now()
			status, err := do(client, seq.Add(1))
			local = append(local, time.Since(t0))
			if err != nil || status != http.StatusOK {
				failed.Add(1)
			}
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed", f, b.N)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu_us/req")
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkVerifyEndpoint(b *testing.B) {
	env, keys := benchKeys(b, 20)
	run(b, func(c *http.Client, i int64) (int, error) {
		body, _ := json.Marshal(map[string]any{"key": keys[i%int64(len(keys))], "required_scopes": []string{"webhooks:read"}, "ip": "203.0.113.9"})
		req, _ := http.NewRequest("POST", env.BaseURL+"/api/api-keys/verify", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+env.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		var v struct{ Valid bool }
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err == nil && !v.Valid {
			return 0, io.ErrUnexpectedEOF
		}
		return resp.StatusCode, err
	})
}

func BenchmarkAuthenticatedRequest(b *testing.B) {
	env, keys := benchKeys(b, 20)
	run(b, func(c *http.Client, i int64) (int, error) {
		req, _ := http.NewRequest("GET", env.BaseURL+"/api/webhooks", nil)
		req.Header.Set("Authorization", "Bearer "+keys[i%int64(len(keys))])
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	})
}
