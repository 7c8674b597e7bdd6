package dev_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testenv"
)

// devEnv is the environment of a `dev` on its own data directory and ports.
func devEnv(t *testing.T, dataDir string) (map[string]string, string) {
	t.Helper()
	httpPort := freePort(t)
	env := map[string]string{
		"AQIO_DATA_DIR":             dataDir,
		"AQIO_HTTP_ADDR":            fmt.Sprintf("127.0.0.1:%d", httpPort),
		"AQIO_DEV_TEMPORAL_PORT":    fmt.Sprint(freePort(t)),
		"AQIO_DEV_TEMPORAL_UI_PORT": fmt.Sprint(freePort(t)),
	}
	if u := databaseURL(t, ""); u != "" {
		env["DATABASE_URL"] = u
	}
	return env, fmt.Sprintf("http://127.0.0.1:%d", httpPort)
}

func bodies(r *testenv.Receiver) [][]byte {
	var out [][]byte
	for _, q := range r.Got() {
		out = append(out, q.Body)
	}
	return out
}

// TestDevRestartsAtOnce kills `dev` with SIGKILL and starts it again at
// once on the same data directory and ports, then stops it cleanly and
// starts it again at once: every start is ready and delivers. (The
// embedded server used to wait for its previous process's membership rows
// to age out: "Not enough hosts to serve the request", exit after 30 s.)
func TestDevRestartsAtOnce(t *testing.T) {
	dataDir := t.TempDir()
	env, base := devEnv(t, dataDir)
	rcv := testenv.NewReceiver(t)
	const startTimeout = 90 * time.Second

	first := start(t, "dev (first start)", env, "dev")
	first.waitReady(t, base, startTimeout)
	tokenFile := filepath.Join(dataDir, "service-token")
	first.waitFor(t, 10*time.Second, "the banner", func() bool {
		return strings.Contains(first.out.String(), "(generated now; kept in "+tokenFile+")")
	})
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(base, strings.TrimSpace(string(token)))
	webhookID := c.createWebhook(t, rcv.URL+"/hook")
	ev1 := c.postEvent(t)
	first.waitFor(t, 60*time.Second, "delivery of "+ev1, func() bool { return received(bodies(rcv), ev1) })

	// A second dev on the same data directory (other ports) is refused
	// while the first runs: two servers must never share the store.
	other := map[string]string{}
	for k, v := range env {
		other[k] = v
	}
	other["AQIO_HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	other["AQIO_DEV_TEMPORAL_PORT"] = fmt.Sprint(freePort(t))
	other["AQIO_DEV_TEMPORAL_UI_PORT"] = fmt.Sprint(freePort(t))
	second := start(t, "dev (same data dir)", other, "dev")
	out := second.waitExit(t, 60*time.Second)
	if second.err == nil || !strings.Contains(out, "is in use by another aqio-connect dev") {
		t.Fatalf("second dev on the same data dir: exit %v, output:\n%s", second.err, out)
	}

	first.kill()
	afterKill := start(t, "dev (restart after SIGKILL)", env, "dev")
	afterKill.waitReady(t, base, startTimeout)
	ev2 := c.postEvent(t)
	afterKill.waitFor(t, 60*time.Second, "delivery of "+ev2+" after the restart", func() bool { return received(bodies(rcv), ev2) })
	afterKill.waitFor(t, 10*time.Second, "the banner", func() bool {
		return strings.Contains(afterKill.out.String(), "Service token  "+c.token+" (kept in "+tokenFile+")")
	})

	afterKill.stop(t)
	afterStop := start(t, "dev (restart after SIGTERM)", env, "dev")
	afterStop.waitReady(t, base, startTimeout)
	ev3 := c.postEvent(t)
	afterStop.waitFor(t, 60*time.Second, "delivery of "+ev3+" after the clean restart", func() bool { return received(bodies(rcv), ev3) })

	// The delivery log has one successful attempt per event, across the
	// three processes. The outcome is recorded after the receiver answered,
	// so the last one may still read pending for a moment: wait for it.
	var last []byte
	afterStop.waitFor(t, 30*time.Second, "three successful attempts in the delivery log", func() bool {
		code, b := c.do(t, "GET", "/api/webhooks/"+webhookID+"/deliveries", nil)
		if code != http.StatusOK {
			t.Fatalf("list deliveries: %d %s", code, b)
		}
		last = b
		var page struct {
			Data []struct {
				Status string `json:"status"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatal(err)
		}
		succeeded, other := 0, 0
		for _, d := range page.Data {
			switch d.Status {
			case "success":
				succeeded++
			case "pending":
			default:
				other++
			}
		}
		if succeeded > 3 || other > 0 {
			t.Fatalf("deliveries: %s; want 3 successful, nothing else", b)
		}
		return succeeded == 3
	})
	t.Logf("deliveries: %s", last)
	afterStop.stop(t)
}

// TestDevBannerTokenFromEnvironment: with AQIO_SERVICE_TOKEN set, dev
// writes no token file and the banner says where the token came from.
func TestDevBannerTokenFromEnvironment(t *testing.T) {
	dataDir := t.TempDir()
	env, base := devEnv(t, dataDir)
	env["AQIO_SERVICE_TOKEN"] = "tok_from_env_" + strings.Repeat("x", 20)
	p := start(t, "dev (token from env)", env, "dev")
	p.waitReady(t, base, 90*time.Second)
	p.waitFor(t, 10*time.Second, "the banner", func() bool {
		return strings.Contains(p.out.String(), "Service token  "+env["AQIO_SERVICE_TOKEN"]+" (from AQIO_SERVICE_TOKEN)")
	})
	if strings.Contains(p.out.String(), "service-token") {
		t.Errorf("banner mentions a service-token file:\n%s", p.out.String())
	}
	if _, err := os.Stat(filepath.Join(dataDir, "service-token")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("service-token file: %v, want none", err)
	}
	c := newClient(base, env["AQIO_SERVICE_TOKEN"])
	if code, b := c.do(t, "GET", "/api/webhooks", nil); code != http.StatusOK {
		t.Fatalf("GET /api/webhooks with the env token: %d %s", code, b)
	}
	p.stop(t)
}
