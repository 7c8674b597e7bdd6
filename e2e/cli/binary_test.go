package cli_test

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
)

// command runs the built binary with the API's address and a key in the
// environment (and nothing else of the service's configuration).
func command(binary, baseURL, key string, args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AQIO_") || strings.HasPrefix(k, "TEMPORAL_") || k == "DATABASE_URL" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, "AQIO_API_URL="+baseURL, "AQIO_API_KEY="+key)
	return cmd
}

// TestBinaryListenAndTrigger drives the real `aqio-connect` binary: listen
// prints its secret, trigger prints the accepted event id, the forwarded
// delivery verifies with the printed secret, mistakes exit 1 with a clear
// message, and SIGTERM ends the session and deletes its endpoint.
func TestBinaryListenAndTrigger(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	binary := filepath.Join(t.TempDir(), "aqio-connect")
	build := exec.Command("go", "build", "-o", binary, "github.com/aqio/connect/cmd/aqio-connect")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	key := apiKey(t, org, "webhooks:write", "webhooks:read", "events:write")
	recv := testenv.NewReceiver(t)

	out := &syncBuffer{}
	listen := command(binary, env.BaseURL, key, "listen", "--forward-to", recv.URL+"/hook", "--events", "registration.*")
	listen.Stdout, listen.Stderr = out, out
	if err := listen.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- listen.Wait() }()
	t.Cleanup(func() {
		_ = listen.Process.Kill()
		<-done
	})
	banner := regexp.MustCompile(`Session\s+(ls_\S+) \(webhook (wh_\S+)\)\n\s+Signing secret\s+(whsec_\S+)`)
	var m []string
	testenv.Eventually(t, 30*time.Second, "the listen banner", func() bool {
		m = banner.FindStringSubmatch(out.String())
		return m != nil
	})
	sessionID, webhookID, secret := m[1], m[2], m[3]
	testenv.Eventually(t, 20*time.Second, "the stream to be connected", func() bool {
		var ls models.ListenSession
		return env.App.Store.DB().Where("id = ?", sessionID).Take(&ls).Error == nil && ls.Connected
	})

	trig, err := command(binary, env.BaseURL, key, "trigger", "registration.created", "--set", "data.object.user_email=bin@example.com").CombinedOutput()
	if err != nil {
		t.Fatalf("trigger: %v\n%s", err, trig)
	}
	idm := regexp.MustCompile(`Triggered registration\.created: event (evt_\S+) accepted, queued for 1 webhook\(s\)\n\s+` + regexp.QuoteMeta(webhookID)).FindSubmatch(trig)
	if idm == nil {
		t.Fatalf("trigger printed:\n%s", trig)
	}
	eventID := string(idm[1])
	testenv.Eventually(t, 30*time.Second, "the forwarded delivery", func() bool { return len(recv.Got()) == 1 })
	got := recv.Got()[0]
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(got.Body, got.Header); err != nil || got.Header.Get("webhook-id") != eventID || !bytes.Contains(got.Body, []byte("bin@example.com")) {
		t.Fatalf("forwarded %v %s (verify: %v)", got.Header, got.Body, err)
	}
	testenv.Eventually(t, 10*time.Second, "the delivery line", func() bool {
		return regexp.MustCompile(`registration\.created\s+` + regexp.QuoteMeta(eventID) + `\s+→ 200 OK`).MatchString(out.String())
	})

	mistakes := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"trigger", "registration.confirmd"}, 1, "did you mean registration.confirmed"},
		{[]string{"trigger"}, 1, "give the event type"},
		{[]string{"trigger", "registration.created", "--set", "nopath"}, 1, "give path=value"},
		{[]string{"listen"}, 1, "--forward-to is required"},
		{[]string{"listen", "--forward-to", "localhost:3000"}, 1, "must be an absolute http or https URL"},
		{[]string{"listen", "--help"}, 0, "Usage: aqio-connect listen"},
		{[]string{"trigger", "--help"}, 0, "Usage: aqio-connect trigger"},
	}
	for _, c := range mistakes {
		b, err := command(binary, env.BaseURL, key, c.args...).CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(string(b), c.want) {
			t.Errorf("aqio-connect %s: exit %d, want %d with %q:\n%s", strings.Join(c.args, " "), code, c.code, c.want, b)
		}
	}

	// SIGTERM: the CLI ends its session, the endpoint is gone.
	if err := listen.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("listen exited with %v after SIGTERM:\n%s", err, out)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("listen still running 30 s after SIGTERM:\n%s", out)
	}
	if !strings.Contains(out.String(), "Session "+sessionID+" ended; its webhook "+webhookID+" was deleted.") {
		t.Fatalf("listen output:\n%s", out)
	}
	if r := org.Do(t, "GET", "/api/webhooks/"+webhookID, nil); r.Status != http.StatusNotFound {
		t.Fatalf("after SIGTERM the session webhook answers %d", r.Status)
	}
}
