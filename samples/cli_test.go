package samples_test

// The CLI for local development (docs/CLI.md) against the same real dev:
// `aqio-connect listen` forwards to the Go sample receiver, configured with
// the secret listen prints; `aqio-connect trigger` posts the catalog's
// example with an override; the receiver verifies and accepts the
// delivery once; SIGTERM ends the session and its webhook is gone.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	aqio "github.com/aqio/connect/sdk/go"
)

func TestCLIListenAndTrigger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	org := "org_samples_cli" + runID
	c := serviceClient(t, org)
	kr, err := c.CreateAPIKeyWithResponse(ctx, nil, aqio.APIKeyCreate{Name: "laptop", Scopes: []string{"webhooks:write", "webhooks:read", "events:write"}})
	if err := aqio.Check(kr, err); err != nil {
		t.Fatal(err)
	}
	cliEnv := []string{"AQIO_API_URL=" + devURL, "AQIO_API_KEY=" + kr.JSON201.Key}

	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	listen := start(t, cliEnv, devBin, "listen", "--forward-to", fmt.Sprintf("http://127.0.0.1:%d/webhook", port), "--events", "registration.*")
	banner := regexp.MustCompile(`Session\s+(ls_\S+) \(webhook (wh_\S+)\)\n\s+Signing secret\s+(whsec_\S+)`)
	var m []string
	eventually(t, 30*time.Second, "the listen banner", func() bool {
		m = banner.FindStringSubmatch(strings.Join(listen.output(), "\n"))
		return m != nil
	})
	webhookID, secret := m[2], m[3]

	goReceiver := filepath.Join(tmpDir, "go-receiver-cli")
	if err := goBuild(goReceiver, "./go-receiver", "."); err != nil {
		t.Fatal(err)
	}
	rcv := start(t, []string{"AQIO_WEBHOOK_SECRET=" + secret}, goReceiver, "-addr", fmt.Sprintf("127.0.0.1:%d", port))
	eventually(t, 30*time.Second, "the receiver listening", func() bool {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			conn.Close()
		}
		return err == nil
	})

	trigger := exec.Command(devBin, "trigger", "registration.confirmed", "--set", "data.object.user_email=cli@example.com")
	trigger.Env = cleanEnv(cliEnv...)
	out, err := trigger.CombinedOutput()
	if err != nil {
		t.Fatalf("trigger: %v\n%s", err, out)
	}
	idm := regexp.MustCompile(`Triggered registration\.confirmed: event (evt_\S+) accepted`).FindSubmatch(out)
	if idm == nil {
		t.Fatalf("trigger printed:\n%s", out)
	}
	eventID := string(idm[1])
	// The stream may connect after the trigger: the first attempt then
	// fails ("no CLI connected") and the retry delivers it.
	eventually(t, 2*time.Minute, "the receiver accepting the forwarded delivery", func() bool {
		return rcv.count(t, "accepted", eventID) == 1
	})
	if n := rcv.count(t, "rejected", ""); n != 0 {
		t.Fatalf("the receiver refused %d forwarded requests", n)
	}
	eventually(t, 30*time.Second, "listen's delivery line", func() bool {
		return regexp.MustCompile(`registration\.confirmed\s+` + regexp.QuoteMeta(eventID) + `\s+→ 2\d\d`).MatchString(strings.Join(listen.output(), "\n"))
	})

	if err := listen.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-listen.done:
	case <-time.After(30 * time.Second):
		t.Fatal("listen still running 30 s after SIGTERM")
	}
	res, err := c.GetWebhookWithResponse(ctx, webhookID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != http.StatusNotFound {
		t.Fatalf("after SIGTERM the session's webhook answers %d", res.StatusCode())
	}
}
