// Package bench measures webhook delivery end to end with the full stack
// in one process (API + embedded Temporal + worker, on the same SQLite
// databases `dev` uses) and a local receiver. Run it with
// `go run ./cmd/aqio-connect bench`.
package bench

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aqio/connect/app"
	"github.com/aqio/connect/config"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/aqio/connect/devtemporal"
	"github.com/aqio/connect/keyring"
	"github.com/aqio/connect/workflows"
)

// Options size the run.
type Options struct {
	Burst        int           // events in the burst (default 2000)
	Senders      int           // concurrent senders in the burst (default 32)
	SteadyRate   int           // events per second in the steady phase (default 50)
	SteadyFor    time.Duration // length of the steady phase (default 20s)
	DataDir      string        // where the databases live (default: a temp dir)
	TemporalSync bool          // keep the embedded server's SQLite synchronous (default off, as in dev)
	// TemporalPostgres persists the embedded Temporal server to Postgres
	// (the production shape) instead of SQLite; nil keeps dev's SQLite.
	TemporalPostgres *devtemporal.Postgres
	// AppPostgres is a Postgres URL (to its maintenance database, e.g.
	// postgres://postgres@127.0.0.1:5432/postgres) on which the app
	// database aqio_bench_app is dropped and recreated; "" keeps dev's
	// SQLite.
	AppPostgres string
}

// Result is what a run measured.
type Result struct {
	IngestPerSec       float64 `json:"ingest_per_sec"`
	IngestNoSubsPerSec float64 `json:"ingest_unsubscribed_per_sec"`
	BurstEvents        int     `json:"burst_events"`
	BurstDeliveries    float64 `json:"burst_deliveries_per_sec"`
	BurstSeconds       float64 `json:"burst_seconds"`
	SteadyEvents       int     `json:"steady_events"`
	P50MS              float64 `json:"steady_p50_ms"`
	P95MS              float64 `json:"steady_p95_ms"`
	P99MS              float64 `json:"steady_p99_ms"`
	MaxMS              float64 `json:"steady_max_ms"`
	Received           int     `json:"received_unique"`
	Duplicates         int     `json:"received_duplicates"`
	Lost               int     `json:"lost"`
	IngestErrors       int64   `json:"ingest_errors"`
	WorkerConcurrency  int     `json:"worker_concurrency"`
}

type receiver struct {
	mu    sync.Mutex
	first map[string]time.Time
	dups  int
	done  chan struct{}
	want  atomic.Int64
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.Copy(io.Discard, req.Body)
	now := time.Now()
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	if _, seen := r.first[id]; seen {
		r.dups++
	} else {
		r.first[id] = now
		if int64(len(r.first)) == r.want.Load() {
			close(r.done)
		}
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) expect(n int) {
	r.mu.Lock()
	r.done = make(chan struct{})
	r.want.Store(int64(len(r.first) + n))
	r.mu.Unlock()
}

func (r *receiver) at(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.first[id]
	return t, ok
}

// Run starts the stack, runs the burst and the steady phase, and reports.
func Run(ctx context.Context, opts Options, progress io.Writer) (Result, error) {
	if opts.Burst == 0 {
		opts.Burst = 2000
	}
	if opts.Senders == 0 {
		opts.Senders = 32
	}
	if opts.SteadyRate == 0 {
		opts.SteadyRate = 50
	}
	if opts.SteadyFor == 0 {
		opts.SteadyFor = 20 * time.Second
	}
	dir := opts.DataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "aqio-bench-")
		if err != nil {
			return Result{}, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	ts, err := devtemporal.Start(ctx, devtemporal.Options{
		DatabaseFile: filepath.Join(dir, "temporal.db"), Namespace: "default",
		SearchAttributes: workflows.SearchAttributes(), UIPort: -1, SyncWrites: opts.TemporalSync,
		Postgres: opts.TemporalPostgres,
	})
	if err != nil {
		return Result{}, err
	}
	defer ts.Stop()

	keys, _ := keyring.Generate("bench")
	cfg, err := config.Load(nil)
	if err != nil {
		return Result{}, err
	}
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DatabaseURL = "sqlite://" + filepath.Join(dir, "aqio.db")
	if opts.AppPostgres != "" {
		if cfg.DatabaseURL, err = freshPostgres(ctx, opts.AppPostgres, "aqio_bench_app"); err != nil {
			return Result{}, err
		}
	}
	cfg.TemporalAddress = ts.FrontendAddress()
	cfg.TemporalNamespace = ts.Namespace()
	cfg.ServiceToken = "bench-token"
	cfg.EncryptionKeys = keys
	cfg.AllowPrivateTargets = true
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		return Result{}, err
	}
	defer a.Close()
	if err := a.DB.Migrate(ctx); err != nil {
		return Result{}, err
	}
	if err := a.StartWorkers(); err != nil {
		return Result{}, err
	}
	addr, err := a.ServeAPI()
	if err != nil {
		return Result{}, err
	}
	base := "http://" + addr
	rcv := &receiver{first: map[string]time.Time{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()

	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 60 * time.Second}
	call := func(method, path string, body any) (int, []byte, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer bench-token")
		req.Header.Set("X-Aqio-Organization-Id", "org_bench")
		req.Header.Set("Content-Type", "application/json")
		resp, err := httpc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out, nil
	}
	if code, body, err := call("POST", "/api/webhooks", map[string]any{
		"name": "bench", "url": srv.URL, "events": []string{"registration.*"}, "retry_delay_seconds": 1,
	}); err != nil || code != http.StatusCreated {
		return Result{}, fmt.Errorf("create webhook: %d %s %v", code, body, err)
	}
	event := func(id string) map[string]any {
		return map[string]any{"id": id, "type": "registration.created", "data": map[string]any{"object": map[string]any{
			"id": "reg_" + id, "event_id": "evt_bench", "user_email": "bench@example.com", "registered_at": "2026-11-29T10:00:00Z",
		}}}
	}
	// Warm up connections and caches.
	rcv.expect(20)
	for i := 0; i < 20; i++ {
		if code, body, err := call("POST", "/api/events", event(fmt.Sprintf("warm_%d", i))); err != nil || code != http.StatusAccepted {
			return Result{}, fmt.Errorf("warm-up: %d %s %v", code, body, err)
		}
	}
	<-rcv.done

	res := Result{BurstEvents: opts.Burst, WorkerConcurrency: cfg.WorkerConcurrency}
	var ingestErrors atomic.Int64

	// Ingest alone: events no webhook subscribes to (stored, nothing started).
	send := func(n int, mk func(i int) map[string]any) time.Duration {
		next := atomic.Int64{}
		start := time.Now()
		var wg sync.WaitGroup
		for s := 0; s < opts.Senders; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= int64(n) {
						return
					}
					code, _, err := call("POST", "/api/events", mk(int(i)))
					if err != nil || code != http.StatusAccepted {
						ingestErrors.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	took := send(opts.Burst, func(i int) map[string]any {
		return map[string]any{"id": fmt.Sprintf("quiet_%d", i), "type": "invitation.sent",
			"data": map[string]any{"object": map[string]any{"id": fmt.Sprintf("inv_%d", i)}}}
	})
	res.IngestNoSubsPerSec = float64(opts.Burst) / took.Seconds()
	fmt.Fprintf(progress, "ingest without subscribers: %.0f/s\n", res.IngestNoSubsPerSec)

	// Burst: opts.Burst events from opts.Senders senders.
	fmt.Fprintf(progress, "burst: %d events, %d senders\n", opts.Burst, opts.Senders)
	rcv.expect(opts.Burst)
	start := time.Now()
	send(opts.Burst, func(i int) map[string]any { return event(fmt.Sprintf("burst_%d", i)) })
	ingested := time.Since(start)
	res.IngestPerSec = float64(opts.Burst) / ingested.Seconds()
	select {
	case <-rcv.done:
	case <-time.After(5 * time.Minute):
		return res, fmt.Errorf("burst: not every event arrived within 5 minutes")
	}
	burst := time.Since(start)
	res.BurstSeconds = burst.Seconds()
	res.BurstDeliveries = float64(opts.Burst) / burst.Seconds()
	fmt.Fprintf(progress, "burst: ingest %.0f/s, delivered in %.2fs (%.0f/s)\n", res.IngestPerSec, burst.Seconds(), res.BurstDeliveries)

	// Steady: opts.SteadyRate events/s for opts.SteadyFor, latency send → receipt.
	n := int(float64(opts.SteadyRate) * opts.SteadyFor.Seconds())
	res.SteadyEvents = n
	fmt.Fprintf(progress, "steady: %d events/s for %s\n", opts.SteadyRate, opts.SteadyFor)
	rcv.expect(n)
	sent := make([]time.Time, n)
	interval := time.Second / time.Duration(opts.SteadyRate)
	t0 := time.Now()
	var sw sync.WaitGroup
	for i := 0; i < n; i++ {
		time.Sleep(time.Until(t0.Add(time.Duration(i) * interval)))
		sent[i] = time.Now()
		sw.Add(1)
		go func(i int) {
			defer sw.Done()
			code, _, err := call("POST", "/api/events", event(fmt.Sprintf("steady_%d", i)))
			if err != nil || code != http.StatusAccepted {
				ingestErrors.Add(1)
			}
		}(i)
	}
	sw.Wait()
	select {
	case <-rcv.done:
	case <-time.After(2 * time.Minute):
		return res, fmt.Errorf("steady: not every event arrived within 2 minutes")
	}
	lat := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		if at, ok := rcv.at(fmt.Sprintf("steady_%d", i)); ok {
			lat = append(lat, float64(at.Sub(sent[i]).Microseconds())/1000)
		}
	}
	sort.Float64s(lat)
	pct := func(p float64) float64 { return lat[int(p*float64(len(lat)-1))] }
	res.P50MS, res.P95MS, res.P99MS, res.MaxMS = pct(0.50), pct(0.95), pct(0.99), lat[len(lat)-1]

	rcv.mu.Lock()
	res.Received = len(rcv.first) - 20
	res.Duplicates = rcv.dups
	rcv.mu.Unlock()
	res.Lost = opts.Burst + n - res.Received
	res.IngestErrors = ingestErrors.Load()
	return res, nil
}

// freshPostgres drops and recreates database name on the server of
// maintenanceURL and returns its URL.
func freshPostgres(ctx context.Context, maintenanceURL, name string) (string, error) {
	db, err := sql.Open("pgx", maintenanceURL)
	if err != nil {
		return "", err
	}
	defer db.Close()
	for _, q := range []string{"DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", "CREATE DATABASE " + name} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return "", fmt.Errorf("%s: %w", q, err)
		}
	}
	u, err := url.Parse(maintenanceURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}
