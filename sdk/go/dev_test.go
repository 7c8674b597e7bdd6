package aqio_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests in this package run against a real `dev` process: the
// aqio-connect binary built from this checkout (../../cmd/aqio-connect),
// started once on its own data directory and free ports. With
// AQIO_TEST_DATABASE_URL set, dev uses that Postgres database instead of
// SQLite.

const serviceToken = "sdk-test-service-token"

var devURL string

// runID keeps organizations and event ids of one run apart from those of
// earlier runs on the same database.
var runID = fmt.Sprintf("_%x", time.Now().UnixNano())

func TestMain(m *testing.M) {
	code, err := runWithDev(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sdk tests:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runWithDev(m *testing.M) (int, error) {
	tmp, err := os.MkdirTemp("", "aqio-sdk-go-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "aqio-connect")
	build := exec.Command("go", "build", "-o", bin, "./cmd/aqio-connect")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build ./cmd/aqio-connect: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	logPath := filepath.Join(tmp, "dev.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return 0, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "dev")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AQIO_") || strings.HasPrefix(k, "TEMPORAL_") || k == "DATABASE_URL" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env,
		"AQIO_DATA_DIR="+filepath.Join(tmp, "data"),
		"AQIO_HTTP_ADDR="+addr,
		"AQIO_DEV_TEMPORAL_PORT=0",
		"AQIO_DEV_TEMPORAL_UI_PORT=-1",
		"AQIO_SERVICE_TOKEN="+serviceToken,
		"AQIO_ALLOW_PRIVATE_TARGETS=true",
		// The free plan with a small per-minute quota, so the rate-limit
		// test needs a handful of calls.
		"AQIO_RATE_LIMITS=free=5/1000,pro=300/10000,enterprise=1000/50000",
	)
	if db := os.Getenv("AQIO_TEST_DATABASE_URL"); db != "" {
		cmd.Env = append(cmd.Env, "DATABASE_URL="+db)
		fmt.Println("sdk tests: dev on postgres")
	} else {
		fmt.Println("sdk tests: dev on sqlite")
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	devURL = "http://" + addr
	deadline := time.Now().Add(3 * time.Minute)
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logPath)
			return 0, fmt.Errorf("dev exited: %v\n%s", err, log)
		default:
		}
		if ready(devURL) {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			return 0, fmt.Errorf("dev not ready at %s within 3 minutes\n%s", devURL, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	code := m.Run()
	if code != 0 {
		log, _ := os.ReadFile(logPath)
		fmt.Fprintf(os.Stderr, "--- dev log\n%s\n", tail(log, 8000))
	}
	return code, nil
}

func ready(base string) bool {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`"status":"ok"`))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
