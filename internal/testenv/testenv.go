// Package testenv starts the whole service for end-to-end tests: an
// in-memory embedded Temporal server, a real database (a fresh Postgres
// database per test binary when AQIO_TEST_DATABASE_URL is set, otherwise
// a temporary SQLite file), the workers and the API on a loopback port.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// and in tests: env := testenv.Get(t); org := env.NewOrg(t).
package testenv

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // admin connection that creates the per-binary database

	"github.com/aqio/connect/api"
	"github.com/aqio/connect/app"
	"github.com/aqio/connect/config"
	"github.com/aqio/connect/devtemporal"
	"github.com/aqio/connect/keyring"
	"github.com/aqio/connect/workflows"
)

// Env is the running service.
type Env struct {
	App      *app.App
	BaseURL  string
	Token    string
	Temporal *devtemporal.Server
	Dialect  string
	HTTP     *http.Client
	spec     *api.Spec
}

var current *Env

// Main starts the environment, runs the tests and tears everything down.
// Set AQIO_TEST_DATABASE_URL=postgres://… to run against Postgres; with it
// set, a database problem fails the run instead of skipping anything.
func Main(m *testing.M, opts ...Option) {
	os.Exit(run(m, opts...))
}

// Option adjusts the configuration before the app is built.
type Option func(*config.Config)

func run(m *testing.M, opts ...Option) int {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "aqio-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	dbURL, dropDB, err := database(ctx, tmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv: database:", err)
		return 1
	}
	defer dropDB()

	ts, err := devtemporal.Start(ctx, devtemporal.Options{
		Namespace:        "default",
		SearchAttributes: workflows.SearchAttributes(),
		UIPort:           -1,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv: temporal:", err)
		return 1
	}
	defer ts.Stop()

	keys, _ := keyring.Generate("test1")
	cfg, _ := config.Load(func(string) (string, bool) { return "", false })
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DatabaseURL = dbURL
	cfg.TemporalAddress = ts.FrontendAddress()
	cfg.TemporalNamespace = ts.Namespace()
	cfg.TemporalUIURL = "http://temporal-ui.test"
	cfg.ServiceToken = "test-token-" + uuid.NewString()
	cfg.EncryptionKeys = keys
	cfg.AllowPrivateTargets = true
	for _, o := range opts {
		o(&cfg)
	}
	level := slog.LevelWarn
	if os.Getenv("AQIO_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv: app:", err)
		return 1
	}
	defer a.Close()
	if err := a.DB.Migrate(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "testenv: migrate:", err)
		return 1
	}
	if err := a.StartWorkers(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv: workers:", err)
		return 1
	}
	addr, err := a.ServeAPI()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv: api:", err)
		return 1
	}
	spec, err := api.LoadSpec()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv: openapi:", err)
		return 1
	}
	current = &Env{
		App: a, BaseURL: "http://" + addr, Token: cfg.ServiceToken, Temporal: ts,
		Dialect: a.DB.Dialect, HTTP: &http.Client{Timeout: 60 * time.Second}, spec: spec,
	}
	fmt.Fprintf(os.Stderr, "testenv: database=%s temporal=%s api=%s\n", a.DB.Dialect, ts.FrontendAddress(), current.BaseURL)
	return m.Run()
}

// database returns the URL tests use: a new Postgres database created
// from AQIO_TEST_DATABASE_URL (dropped afterwards), or a SQLite file.
func database(ctx context.Context, tmp string) (string, func(), error) {
	base := os.Getenv("AQIO_TEST_DATABASE_URL")
	if base == "" {
		return "sqlite://" + filepath.Join(tmp, "aqio.db"), func() {}, nil
	}
	if !strings.HasPrefix(base, "postgres://") && !strings.HasPrefix(base, "postgresql://") {
		return "", nil, fmt.Errorf("AQIO_TEST_DATABASE_URL must be a postgres:// URL")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("connect %s: %w", redact(base), err)
	}
	name := "aqio_t_" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, _ := url.Parse(base)
	u.Path = "/" + name
	drop := func() {
		if current != nil {
			current.App.Close()
		}
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	}
	return u.String(), drop, nil
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = url.User(u.User.Username())
	return u.String()
}

// Get returns the running environment.
func Get(t testing.TB) *Env {
	t.Helper()
	if current == nil {
		t.Fatal("testenv: not started; call testenv.Main from TestMain")
	}
	return current
}

var orgSeq atomic.Int64

// Org is a test organization with an authenticated API client.
type Org struct {
	ID  string
	env *Env
}

// NewOrg returns a fresh organization id, so tests never see each other's rows.
func (e *Env) NewOrg(t testing.TB) *Org {
	t.Helper()
	return &Org{ID: fmt.Sprintf("org_%s_%d", strings.ReplaceAll(uuid.NewString()[:8], "-", ""), orgSeq.Add(1)), env: e}
}

// Response is a decoded API response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v (failing the test on error).
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Map decodes the body as an object.
func (r Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Do calls the API as this organization with the service token. body may
// be nil, a []byte/string (sent as is) or any value (JSON-encoded).
func (o *Org) Do(t testing.TB, method, path string, body any, headers ...string) Response {
	t.Helper()
	h := []string{"Authorization", "Bearer " + o.env.Token, "X-Aqio-Organization-Id", o.ID}
	return o.env.Do(t, method, path, body, append(h, headers...)...)
}

// Do calls the API with the given header pairs and no implicit credential.
func (e *Env) Do(t testing.TB, method, path string, body any, headers ...string) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, e.BaseURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	// Every response must match the OpenAPI document: code and document
	// cannot drift apart without a test failing.
	if e.spec != nil && resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
		check, _ := http.NewRequest(method, e.BaseURL+path, nil)
		check.Header = req.Header.Clone()
		if err := e.spec.ValidateResponse(context.Background(), check, resp.StatusCode, resp.Header, b); err != nil {
			t.Errorf("contract: %v\nbody: %.500s", err, b)
		}
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Eventually polls cond until it returns true or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}
