// Package crash_test runs the production shape — the Temporal server,
// api and worker as processes of their own (bench.StartProduction) — and
// kills a worker, then the api, with SIGKILL in the middle of a burst.
// Every event the API accepted must be delivered, and a message the
// receiver sees twice must carry the same webhook-id both times (so a
// Standard Webhooks receiver can drop the repeat). On Postgres when
// AQIO_TEST_DATABASE_URL is set (app database and Temporal's stores, each
// created for the test and dropped after it), else on SQLite files
// shared by the processes. The binary is built once (go build).
package crash_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/aqio/connect/bench"
)

var binary string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "aqio-e2e-crash-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	binary = filepath.Join(tmp, "aqio-connect")
	build := exec.Command("go", "build", "-o", binary, "github.com/aqio/connect/cmd/aqio-connect")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build aqio-connect:", err)
		return 1
	}
	return m.Run()
}

// receiver records, per event id (the body's "id"), every webhook-id it
// was delivered under and how many times.
type receiver struct {
	mu       sync.Mutex
	ids      map[string]map[string]int // event id → webhook-id → requests
	requests int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var ev struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &ev)
	r.mu.Lock()
	if r.ids[ev.ID] == nil {
		r.ids[ev.ID] = map[string]int{}
	}
	r.ids[ev.ID][req.Header.Get("webhook-id")]++
	r.requests++
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) delivered(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids[id]) > 0
}

// shape is the production shape's options for this run's database.
func shape(t *testing.T, dir string) bench.ProductionOptions {
	t.Helper()
	o := bench.ProductionOptions{Binary: binary, Dir: dir}
	base := os.Getenv("AQIO_TEST_DATABASE_URL")
	if base == "" {
		o.AppDatabaseURL = "sqlite://" + filepath.Join(dir, "aqio.db")
		o.TemporalSQLite = filepath.Join(dir, "temporal.db")
		t.Log("database: sqlite files shared by the api and worker processes; temporal-server on sqlite")
		return o
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	suffix := strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	app, temporal := "aqio_crash_"+suffix, "aqio_crash_t_"+suffix
	if _, err := admin.Exec("CREATE DATABASE " + app); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		for _, db := range []string{app, temporal, temporal + "_visibility"} {
			if _, err := admin.Exec("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)"); err != nil {
				t.Errorf("drop database %s: %v", db, err)
			}
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	appURL := *u
	appURL.Path = "/" + app
	o.AppDatabaseURL = appURL.String()
	o.TemporalPostgres = u
	o.TemporalDatabase = temporal
	t.Log("database: postgres (app database and temporal-server's stores)")
	return o
}

func TestKillWorkerThenAPIMidBurst(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	dir := t.TempDir()
	opts := shape(t, dir)
	p, err := bench.StartProduction(ctx, opts)
	if err != nil {
		t.Fatalf("start the production shape: %v", err)
	}
	defer p.Stop()
	defer func() {
		if t.Failed() {
			for _, c := range []*bench.Proc{p.Temporal, p.API, p.Worker} {
				t.Logf("end of %s's log:\n%s", c.Name(), c.Tail())
			}
		}
	}()

	rcv := &receiver{ids: map[string]map[string]int{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	httpc := &http.Client{Timeout: 30 * time.Second}
	call := func(method, path string, body any) (int, []byte, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, method, p.BaseURL+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+p.Token)
		req.Header.Set("X-Aqio-Organization-Id", "org_crash")
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
		"name": "crash", "url": srv.URL, "events": []string{"registration.*"}, "retry_delay_seconds": 1, "retry_count": 10,
	}); err != nil || code != http.StatusCreated {
		t.Fatalf("create webhook: %d %s %v", code, body, err)
	}

	// The burst: senders post until each event is accepted (202, or 200
	// for a repeat whose first answer was lost with the api); an event
	// whose every attempt failed is not accepted and owed nothing.
	const events, senders = 600, 8
	var next, accepted atomic.Int64
	acceptedIDs := make([]bool, events)
	var wg sync.WaitGroup
	// Paced (event i not before start+i×5 ms: a 3 s burst) so that both
	// kills land in its middle on any machine.
	start := time.Now()
	sendDeadline := start.Add(3 * time.Minute)
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= events {
					return
				}
				ev := map[string]any{"id": fmt.Sprintf("crash_%d", i), "type": "registration.created",
					"data": map[string]any{"object": map[string]any{"id": fmt.Sprintf("reg_%d", i), "event_id": "evt_crash",
						"user_email": "crash@example.com", "registered_at": "2026-12-01T10:00:00Z"}}}
				time.Sleep(time.Until(start.Add(time.Duration(i) * 5 * time.Millisecond)))
				for time.Now().Before(sendDeadline) && ctx.Err() == nil {
					code, _, err := call("POST", "/api/events", ev)
					if err == nil && (code == http.StatusAccepted || code == http.StatusOK) {
						acceptedIDs[i] = true
						accepted.Add(1)
						break
					}
					if err == nil && code < 500 {
						t.Errorf("event %d: %d", i, code)
						break
					}
					time.Sleep(50 * time.Millisecond) // the api is restarting
				}
			}
		}()
	}
	waitAccepted := func(n int64) {
		for accepted.Load() < n {
			if ctx.Err() != nil {
				t.Fatalf("only %d events accepted", accepted.Load())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitAccepted(events / 3)
	p.Worker.Kill()
	t.Logf("worker killed after %d accepted events", accepted.Load())
	// The new worker starts while the api keeps accepting (ingest needs no worker).
	workerUp := make(chan error, 1)
	go func() { workerUp <- p.StartWorker(ctx) }()
	waitAccepted(2 * events / 3)
	p.API.Kill()
	atKill := accepted.Load()
	t.Logf("api killed after %d accepted events", atKill)
	if atKill >= events {
		t.Fatalf("the burst was over before the api was killed")
	}
	if err := <-workerUp; err != nil {
		t.Fatalf("restart worker: %v", err)
	}
	if err := p.StartAPI(ctx); err != nil {
		t.Fatalf("restart api: %v", err)
	}
	wg.Wait()
	if accepted.Load() < events*9/10 {
		t.Fatalf("only %d of %d events accepted", accepted.Load(), events)
	}

	// Every accepted event arrives (poll with a deadline).
	deadline := time.Now().Add(3 * time.Minute)
	missing := 0
	for {
		missing = 0
		for i, ok := range acceptedIDs {
			if ok && !rcv.delivered(fmt.Sprintf("crash_%d", i)) {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if missing > 0 {
		var ids []string
		for i, ok := range acceptedIDs {
			if id := fmt.Sprintf("crash_%d", i); ok && !rcv.delivered(id) {
				ids = append(ids, id)
			}
		}
		diagnose(t, opts.AppDatabaseURL, ids)
		t.Fatalf("%d of %d accepted events were not delivered within 3 minutes", missing, accepted.Load())
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	repeats := 0
	for id, byMsg := range rcv.ids {
		if len(byMsg) != 1 {
			t.Errorf("event %s arrived under %d webhook-ids: %v", id, len(byMsg), byMsg)
		}
		for _, n := range byMsg {
			repeats += n - 1
		}
	}
	t.Logf("%d events accepted, all delivered; %d requests, %d repeats (each under its message's one webhook-id)",
		accepted.Load(), rcv.requests, repeats)
}

// diagnose logs where the app database says undelivered events are: their
// outbox rows, attempt rows and parked rows (the first few events).
func diagnose(t *testing.T, appURL string, ids []string) {
	t.Helper()
	driver, dsn := "pgx", appURL
	if path, ok := strings.CutPrefix(appURL, "sqlite://"); ok {
		driver, dsn = "sqlite", "file:"+path+"?mode=ro"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Logf("diagnose: %v", err)
		return
	}
	defer db.Close()
	if len(ids) > 5 {
		ids = ids[:5]
	}
	queries := map[string]string{
		"outbox":   `SELECT batch_id, claimed_at FROM webhook_outbox WHERE event_id = $1`,
		"attempts": `SELECT run_id, status, retry_number, is_final, COALESCE(error_message, '') FROM webhook_deliveries WHERE message_id = $1`,
		"parked":   `SELECT attempts, next_attempt_at FROM webhook_parked WHERE event_id = $1`,
	}
	for _, id := range ids {
		for name, q := range queries {
			if driver == "sqlite" {
				q = strings.ReplaceAll(q, "$1", "?")
			}
			rows, err := db.Query(q, id)
			if err != nil {
				t.Logf("diagnose %s %s: %v", id, name, err)
				continue
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				_ = rows.Scan(ptrs...)
				t.Logf("diagnose %s %s: %v", id, name, vals)
			}
			rows.Close()
		}
	}
}
