package dev_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aqio/connect/app"
	"github.com/aqio/connect/config"
	"github.com/aqio/connect/database"
	"github.com/aqio/connect/devtemporal"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/keyring"
	"github.com/aqio/connect/worker"
	"github.com/aqio/connect/workflows"
)

// TestAPIStartsWithoutTemporal starts `api` with TEMPORAL_ADDRESS on a
// closed port: it serves, accepts an event into the outbox (202) and
// /readyz says Temporal is down while the database is up. Then a Temporal
// server starts on that address, with a worker that has no dispatcher of
// its own: the api process connects and hands the waiting event to
// Temporal, and the receiver gets it. (api used to exit at start.)
func TestAPIStartsWithoutTemporal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbURL := migratedDatabase(t, filepath.Join(dir, "aqio.db"))

	keys, _ := keyring.Generate("lazy1")
	temporalAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t)) // nothing listens there yet
	httpPort := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	token := "lazy-token-0123456789abcdef"
	env := lazyEnv(dbURL, temporalAddr, keys, token)
	env["AQIO_HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", httpPort)
	p := start(t, "api (temporal down)", env, "api")

	p.waitFor(t, 60*time.Second, "/readyz to answer", func() bool {
		code, _ := readiness(t, base)
		return code != 0
	})
	code, ready := readiness(t, base)
	checks, _ := ready["checks"].(map[string]any)
	if code != http.StatusOK || ready["status"] != "degraded" || checks["temporal"] != "unavailable" || checks["database"] != "ok" {
		t.Fatalf("readyz with temporal down: %d %v; want 200 degraded, temporal unavailable, database ok", code, ready)
	}

	rcv := testenv.NewReceiver(t)
	c := newClient(base, token)
	c.createWebhook(t, rcv.URL+"/hook")
	ev := c.postEvent(t) // 202: in the outbox
	if got := len(rcv.Got()); got != 0 {
		t.Fatalf("receiver got %d requests with no Temporal running", got)
	}

	// Temporal comes up on the address the api was given.
	var port int
	fmt.Sscanf(temporalAddr, "127.0.0.1:%d", &port)
	ts, err := devtemporal.Start(ctx, devtemporal.Options{
		FrontendPort: port, UIPort: -1, Namespace: "default", SearchAttributes: workflows.SearchAttributes(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Stop()
	// A worker only (app.StartWorkers would add a dispatcher here): the
	// event must reach Temporal through the api process's dispatcher.
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL, cfg.TemporalAddress, cfg.EncryptionKeys, cfg.AllowPrivateTargets = dbURL, temporalAddr, keys, true
	cfg.DBPool.MaxOpenConns, cfg.DBPool.MaxIdleConns = 4, 2
	w, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	wantOpen := 4 // the configured pool (AQIO_DB_MAX_OPEN_CONNS) on Postgres
	if w.DB.Dialect == "sqlite" {
		wantOpen = 1 // SQLite keeps its single writer
	}
	if got := w.DB.SQL().Stats().MaxOpenConnections; got != wantOpen {
		t.Fatalf("worker pool: MaxOpenConnections = %d, want %d", got, wantOpen)
	}
	if err := worker.Start(w.Workers); err != nil {
		t.Fatal(err)
	}
	defer worker.Stop(w.Workers)

	p.waitFor(t, 120*time.Second, "delivery of "+ev+" once Temporal is up", func() bool { return received(bodies(rcv), ev) })
	p.waitReady(t, base, 60*time.Second)
	// And the next event goes straight through.
	ev2 := c.postEvent(t)
	p.waitFor(t, 60*time.Second, "delivery of "+ev2, func() bool { return received(bodies(rcv), ev2) })
	p.stop(t)
}

// TestWorkerWaitsForTemporal starts `worker` (and `api`) with
// TEMPORAL_ADDRESS on a closed port: the worker says it waits for
// Temporal and keeps running instead of exiting; once a Temporal server
// starts on that address it starts its workers, and an event accepted
// meanwhile is delivered. (worker used to exit at start.)
func TestWorkerWaitsForTemporal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbURL := migratedDatabase(t, filepath.Join(dir, "aqio.db"))

	keys, _ := keyring.Generate("wait1")
	temporalAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t)) // nothing listens there yet
	httpPort := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	token := "wait-token-0123456789abcdef"
	env := lazyEnv(dbURL, temporalAddr, keys, token)
	w := start(t, "worker (temporal down)", env, "worker")
	w.waitFor(t, 60*time.Second, "the worker to say it waits for Temporal", func() bool {
		return strings.Count(w.out.String(), `"msg":"waiting for Temporal"`) >= 2 // it retries, still running
	})

	env["AQIO_HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", httpPort)
	api := start(t, "api", env, "api")
	api.waitFor(t, 60*time.Second, "/readyz to answer", func() bool {
		code, _ := readiness(t, base)
		return code != 0
	})
	rcv := testenv.NewReceiver(t)
	c := newClient(base, token)
	c.createWebhook(t, rcv.URL+"/hook")
	ev := c.postEvent(t) // 202: in the outbox

	var port int
	fmt.Sscanf(temporalAddr, "127.0.0.1:%d", &port)
	ts, err := devtemporal.Start(ctx, devtemporal.Options{
		FrontendPort: port, UIPort: -1, Namespace: "default", SearchAttributes: workflows.SearchAttributes(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Stop()
	w.waitFor(t, 120*time.Second, "the worker to start once Temporal is up", func() bool {
		return strings.Contains(w.out.String(), `"msg":"worker started"`)
	})
	w.waitFor(t, 120*time.Second, "delivery of "+ev, func() bool { return received(bodies(rcv), ev) })
	api.stop(t)
	w.stop(t)
}

// lazyEnv is the environment of `api` and `worker` in these tests: the
// database, a Temporal address nothing may listen on yet, keys and token
// (no AQIO_HTTP_ADDR: callers add it where they need the API).
func lazyEnv(dbURL, temporalAddr, keys, token string) map[string]string {
	return map[string]string{
		"DATABASE_URL":               dbURL,
		"TEMPORAL_ADDRESS":           temporalAddr,
		"AQIO_ENCRYPTION_KEYS":       keys,
		"AQIO_SERVICE_TOKEN":         token,
		"AQIO_ALLOW_PRIVATE_TARGETS": "true",
		"AQIO_DB_MAX_OPEN_CONNS":     "5",
	}
}

// migratedDatabase is databaseURL's database, migrated (as `migrate`
// leaves it before `api` and `worker` start).
func migratedDatabase(t *testing.T, sqliteFile string) string {
	t.Helper()
	ctx := context.Background()
	dbURL := databaseURL(t, sqliteFile)
	db, err := database.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return dbURL
}
