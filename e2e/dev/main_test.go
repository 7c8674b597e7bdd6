// Package dev_test runs the aqio-connect binary the way a user or a
// supervisor does: `dev` killed with SIGKILL and restarted at once on the
// same data directory, `dev` started on taken ports, `api` started while
// Temporal is down. The binary is built once per test run (go build) and
// run as a subprocess. The application database is SQLite, or a fresh
// Postgres database per test when AQIO_TEST_DATABASE_URL is set.
package dev_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testdb"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/aqio/connect/api"
)

var (
	binary string
	spec   *api.Spec
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "aqio-e2e-dev-")
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
	if spec, err = api.LoadSpec(); err != nil {
		fmt.Fprintln(os.Stderr, "openapi:", err)
		return 1
	}
	return m.Run()
}

// databaseURL is the application database of one test: a new Postgres
// database (dropped afterwards) when AQIO_TEST_DATABASE_URL is set, else
// "" (dev then uses SQLite in its data directory) or, with sqliteFile, a
// SQLite file.
func databaseURL(t *testing.T, sqliteFile string) string {
	t.Helper()
	base := os.Getenv("AQIO_TEST_DATABASE_URL")
	if base == "" {
		if sqliteFile == "" {
			return ""
		}
		return "sqlite://" + sqliteFile
	}
	return testdb.Postgres(t, base, "aqio_dev")
}

// freePort returns a port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a running aqio-connect subprocess.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error // set when done is closed
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs `aqio-connect <args>` with only the given variables of the
// service (none inherited from the test's environment).
func start(t *testing.T, name string, env map[string]string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AQIO_") || strings.HasPrefix(k, "TEMPORAL_") || k == "DATABASE_URL" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &proc{t: t, name: name, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if t.Failed() && !p.exited() {
			// A goroutine dump in the log shows where a hung start waits.
			_ = p.cmd.Process.Signal(syscall.SIGQUIT)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
			}
		}
		p.kill()
		if t.Failed() || os.Getenv("AQIO_TEST_LOG") != "" {
			t.Logf("output of %s:\n%s", name, p.out.String())
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// stop sends SIGTERM (a clean stop) and waits for the exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not stop within 60 s of SIGTERM", p.name)
	}
	if p.err != nil {
		t.Fatalf("%s exited with %v after SIGTERM", p.name, p.err)
	}
}

// waitExit waits for the process to end by itself and returns its output.
func (p *proc) waitExit(t *testing.T, timeout time.Duration) string {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("%s still running after %s", p.name, timeout)
	}
	return p.out.String()
}

// waitFor polls cond until it holds, failing if the process exits first.
func (p *proc) waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		if p.exited() {
			t.Fatalf("%s exited (%v) while waiting for %s", p.name, p.err, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: timed out after %s waiting for %s", p.name, timeout, what)
}

// readiness is GET /readyz (0 while nothing answers), checked against
// the OpenAPI document.
func readiness(t *testing.T, base string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	check, _ := http.NewRequest("GET", base+"/readyz", nil)
	if err := spec.ValidateResponse(context.Background(), check, resp.StatusCode, resp.Header, b); err != nil {
		t.Errorf("contract: %v\nbody: %.500s", err, b)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

// waitReady waits until /readyz reports everything ok.
func (p *proc) waitReady(t *testing.T, base string, timeout time.Duration) {
	t.Helper()
	p.waitFor(t, timeout, base+"/readyz to report ok", func() bool {
		code, m := readiness(t, base)
		return code == http.StatusOK && m["status"] == "ok"
	})
}

// client calls the API as one organization with the service token and
// checks every response against the OpenAPI document.
type client struct {
	base, token, org string
}

func newClient(base, token string) client {
	return client{base: base, token: token, org: "org_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")}
}

func (c client) do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		js, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("X-Aqio-Organization-Id", c.org)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	check, _ := http.NewRequest(method, c.base+path, nil)
	check.Header = req.Header.Clone()
	if err := spec.ValidateResponse(context.Background(), check, resp.StatusCode, resp.Header, b); err != nil {
		t.Errorf("contract: %v\nbody: %.500s", err, b)
	}
	return resp.StatusCode, b
}

// createWebhook registers a webhook for registration.* events at url.
func (c client) createWebhook(t *testing.T, url string) string {
	t.Helper()
	code, b := c.do(t, "POST", "/api/webhooks", map[string]any{"name": "dev-e2e", "url": url, "events": []string{"registration.*"}})
	if code != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", code, b)
	}
	var w struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(b, &w)
	return w.ID
}

// postEvent posts a registration.confirmed event and returns its id.
func (c client) postEvent(t *testing.T) string {
	t.Helper()
	id := "wh_evt_" + strings.ReplaceAll(uuid.NewString()[:12], "-", "")
	code, b := c.do(t, "POST", "/api/events", map[string]any{
		"id": id, "type": "registration.confirmed",
		"data": map[string]any{"object": map[string]any{"id": "reg_1", "event_id": "evt_1"}},
	})
	if code != http.StatusAccepted {
		t.Fatalf("post event: %d %s", code, b)
	}
	return id
}

// received reports whether the receiver got a delivery of event id.
func received(got [][]byte, id string) bool {
	for _, b := range got {
		if bytes.Contains(b, []byte(strconv.Quote(id))) {
			return true
		}
	}
	return false
}
