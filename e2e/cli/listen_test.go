package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/listen/cli"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/workflows"
)

// syncBuffer is the CLI's output, read while it writes.
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

// apiKey creates an organization key with the scopes.
func apiKey(t *testing.T, org *testenv.Org, scopes ...string) string {
	t.Helper()
	r := org.Do(t, "POST", "/api/api-keys", map[string]any{"name": "cli test", "scopes": scopes})
	if r.Status != http.StatusCreated {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	return r.Map(t)["key"].(string)
}

// listening is a running `listen`.
type listening struct {
	session cli.Session
	out     *syncBuffer
	stop    context.CancelFunc
	done    chan error
}

// startListen runs cli.Listen in the background until stop, and waits for
// its session and for its stream to be open.
func startListen(t *testing.T, env *testenv.Env, api cli.API, opts cli.ListenOptions) *listening {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &listening{out: &syncBuffer{}, stop: cancel, done: make(chan error, 1)}
	sessions := make(chan cli.Session, 1)
	opts.API, opts.Out = api, l.out
	opts.OnSession = func(s cli.Session) { sessions <- s }
	go func() { l.done <- cli.Listen(ctx, opts) }()
	select {
	case l.session = <-sessions:
	case err := <-l.done:
		t.Fatalf("listen: %v\n%s", err, l.out)
	case <-time.After(30 * time.Second):
		t.Fatalf("listen opened no session:\n%s", l.out)
	}
	t.Cleanup(func() {
		cancel()
		<-l.done
	})
	testenv.Eventually(t, 20*time.Second, "the listen stream to be connected", func() bool {
		var ls models.ListenSession
		err := env.App.Store.DB().Where("id = ?", l.session.ID).Take(&ls).Error
		return err == nil && ls.Connected
	})
	return l
}

type deliveryRow struct {
	ID                 string  `json:"id"`
	Status             string  `json:"status"`
	ResponseStatusCode *int    `json:"response_status_code"`
	ResponseBody       *string `json:"response_body"`
	ErrorMessage       *string `json:"error_message"`
	IsRetry            bool    `json:"is_retry"`
	RetryNumber        int     `json:"retry_number"`
	MessageID          string  `json:"message_id"`
	WorkflowID         string  `json:"workflow_id"`
	TemporalURL        *string `json:"temporal_url"`
}

func deliveries(t *testing.T, org *testenv.Org, webhookID string) []deliveryRow {
	t.Helper()
	r := org.Do(t, "GET", "/api/webhooks/"+webhookID+"/deliveries", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list deliveries: %d %s", r.Status, r.Body)
	}
	var page struct {
		Data []deliveryRow `json:"data"`
	}
	r.JSON(t, &page)
	return page.Data
}

// TestListenForwardsSignedDeliveries: a listen session receives a
// triggered event through the ordinary delivery path, forwards it to the
// local receiver signed under the secret it printed, the attempt log shows
// it with its run, and ending the CLI deletes the endpoint.
func TestListenForwardsSignedDeliveries(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	key := apiKey(t, org, "webhooks:write", "webhooks:read", "events:write")
	api := cli.API{BaseURL: env.BaseURL, Key: key}
	recv := testenv.NewReceiver(t)
	l := startListen(t, env, api, cli.ListenOptions{ForwardTo: recv.URL + "/hook", Events: []string{"registration.*"}})

	if !strings.Contains(l.out.String(), l.session.Secret) || !strings.HasPrefix(l.session.Secret, "whsec_") {
		t.Fatalf("the banner does not print the signing secret %q:\n%s", l.session.Secret, l.out)
	}
	wh := org.Do(t, "GET", "/api/webhooks/"+l.session.WebhookID, nil).Map(t)
	if wh["url"] != "aqio-listen://"+l.session.ID {
		t.Fatalf("session webhook url = %v", wh["url"])
	}

	res, err := cli.Trigger(context.Background(), cli.TriggerOptions{API: api, Type: "registration.confirmed",
		Sets: []string{"data.object.user_email=dev@example.com", "data.object.ticket_count=3"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deliveries) != 1 || res.Deliveries[0].WebhookID != l.session.WebhookID {
		t.Fatalf("event %s queued for %+v, want the session's webhook %s", res.ID, res.Deliveries, l.session.WebhookID)
	}
	// Not subscribed: never forwarded.
	if _, err := cli.Trigger(context.Background(), cli.TriggerOptions{API: api, Type: "event.created"}); err != nil {
		t.Fatal(err)
	}

	testenv.Eventually(t, 30*time.Second, "the local receiver to get the delivery", func() bool { return len(recv.Got()) >= 1 })
	got := recv.Got()[0]
	verifier, err := standardwebhooks.NewWebhook(l.session.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifier.Verify(got.Body, got.Header); err != nil {
		t.Fatalf("forwarded request does not verify with the printed secret: %v\nheaders %v", err, got.Header)
	}
	var payload struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			Object map[string]any `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(got.Body, &payload); err != nil {
		t.Fatal(err)
	}
	if payload.ID != res.ID || payload.Type != "registration.confirmed" || payload.Data.Object["user_email"] != "dev@example.com" || payload.Data.Object["ticket_count"] != float64(3) {
		t.Fatalf("forwarded payload = %s", got.Body)
	}
	if got.Header.Get("webhook-id") != res.ID {
		t.Fatalf("webhook-id = %q, want the event id %s", got.Header.Get("webhook-id"), res.ID)
	}

	var ok deliveryRow
	testenv.Eventually(t, 20*time.Second, "the attempt to be recorded as success", func() bool {
		ds := deliveries(t, org, l.session.WebhookID)
		if len(ds) == 1 && ds[0].Status == models.DeliverySuccess {
			ok = ds[0]
			return true
		}
		return false
	})
	detail := org.Do(t, "GET", "/api/webhooks/"+l.session.WebhookID+"/deliveries/"+ok.ID, nil)
	var d deliveryRow
	detail.JSON(t, &d)
	if d.ResponseStatusCode == nil || *d.ResponseStatusCode != 200 || d.ResponseBody == nil || *d.ResponseBody != `{"received":true}` {
		t.Fatalf("attempt does not carry the local answer: %s", detail.Body)
	}
	if d.TemporalURL == nil || !strings.Contains(*d.TemporalURL, d.WorkflowID) {
		t.Fatalf("attempt has no temporal_url of its run: %s", detail.Body)
	}
	testenv.Eventually(t, 10*time.Second, "the CLI to print the delivery", func() bool {
		out := l.out.String()
		return strings.Contains(out, "registration.confirmed") && strings.Contains(out, res.ID) && strings.Contains(out, "200 OK")
	})
	if len(recv.Got()) != 1 {
		t.Fatalf("the receiver got %d requests, want 1 (event.created is not subscribed)", len(recv.Got()))
	}

	// Exit (Ctrl-C): the endpoint is deleted.
	l.stop()
	if err := <-l.done; err != nil {
		t.Fatalf("listen ended with %v", err)
	}
	l.done <- nil // for the cleanup
	if r := org.Do(t, "GET", "/api/webhooks/"+l.session.WebhookID, nil); r.Status != http.StatusNotFound {
		t.Fatalf("after exit the session webhook answers %d, want 404", r.Status)
	}
	var n int64
	env.App.Store.DB().Model(&models.ListenSession{}).Where("id = ?", l.session.ID).Count(&n)
	if n != 0 {
		t.Fatal("after exit the session row is still there")
	}
	if !strings.Contains(l.out.String(), "was deleted") {
		t.Fatalf("the CLI did not say the endpoint was deleted:\n%s", l.out)
	}
}

// TestListenRetriesFailingLocalReceiver: a 500 from the local receiver is
// a failed attempt that the delivery's retry policy retries.
func TestListenRetriesFailingLocalReceiver(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	key := apiKey(t, org, "webhooks:write", "webhooks:read", "events:write")
	api := cli.API{BaseURL: env.BaseURL, Key: key}
	recv := testenv.NewReceiver(t, http.StatusInternalServerError)
	l := startListen(t, env, api, cli.ListenOptions{ForwardTo: recv.URL})
	res, err := cli.Trigger(context.Background(), cli.TriggerOptions{API: api, Type: "payment.completed"})
	if err != nil {
		t.Fatal(err)
	}
	var rows []deliveryRow
	testenv.Eventually(t, 60*time.Second, "a failed attempt and a successful retry", func() bool {
		rows = deliveries(t, org, l.session.WebhookID)
		return len(rows) == 2 && rows[0].Status != models.DeliveryPending && rows[1].Status != models.DeliveryPending
	})
	var failed, retried *deliveryRow
	for i := range rows {
		switch {
		case rows[i].RetryNumber == 0:
			failed = &rows[i]
		case rows[i].RetryNumber == 1:
			retried = &rows[i]
		}
	}
	if failed == nil || retried == nil {
		t.Fatalf("attempts: %+v", rows)
	}
	if failed.Status != models.DeliveryFailed || failed.ResponseStatusCode == nil || *failed.ResponseStatusCode != 500 {
		t.Fatalf("first attempt: %+v", *failed)
	}
	if retried.Status != models.DeliverySuccess || !retried.IsRetry || retried.MessageID != res.ID {
		t.Fatalf("retry: %+v", *retried)
	}
	if n := len(recv.Got()); n != 2 {
		t.Fatalf("the local receiver got %d requests, want 2", n)
	}
	testenv.Eventually(t, 10*time.Second, "the CLI to print both answers", func() bool {
		out := l.out.String()
		return strings.Contains(out, "500 Internal Server Error") && strings.Contains(out, "200 OK")
	})
}

// TestVanishedListenExpires: without a connected CLI an attempt fails
// retryably; a session whose CLI vanished (stream closed, never ended) is
// deleted by its ListenSession run once its TTL passes.
func TestVanishedListenExpires(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	key := apiKey(t, org, "webhooks:write", "webhooks:read", "events:write")
	auth := []string{"Authorization", "Bearer " + key}
	r := env.Do(t, "POST", "/api/listen/sessions", map[string]any{"forward_to": "http://localhost:3000/hook", "ttl_seconds": 5}, auth...)
	if r.Status != http.StatusCreated {
		t.Fatalf("create session: %d %s", r.Status, r.Body)
	}
	var s cli.Session
	r.JSON(t, &s)

	// No CLI yet: the attempt fails and is retried (not given up).
	body, err := cli.TriggerBody("user.joined_organization", nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := env.Do(t, "POST", "/api/events", body, auth...)
	if ev.Status != http.StatusAccepted {
		t.Fatalf("post event: %d %s", ev.Status, ev.Body)
	}
	testenv.Eventually(t, 30*time.Second, "a failed attempt without a CLI", func() bool {
		ds := deliveries(t, org, s.WebhookID)
		return len(ds) >= 1 && ds[0].Status == models.DeliveryFailed
	})
	first := deliveries(t, org, s.WebhookID)[0]
	if first.ErrorMessage == nil || !strings.Contains(*first.ErrorMessage, "no aqio-connect listen client is connected") {
		t.Fatalf("attempt without a CLI: %+v", first)
	}

	// A CLI connects and vanishes: its stream closes, nobody ends the session.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", env.BaseURL+"/api/listen/sessions/"+s.ID+"/stream", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	buf := make([]byte, 256)
	n, _ := resp.Body.Read(buf)
	if !strings.Contains(string(buf[:n]), "event: session") {
		t.Fatalf("stream began with %q", buf[:n])
	}
	cancel()
	resp.Body.Close()

	run := env.App.Temporal.GetWorkflow(context.Background(), workflows.ListenSessionWorkflowID(s.ID), "")
	wctx, wcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer wcancel()
	var out workflows.ListenSessionResult
	if err := run.Get(wctx, &out); err != nil {
		t.Fatalf("ListenSession run: %v", err)
	}
	if !out.Expired {
		t.Fatalf("ListenSession ended with %+v, want expired", out)
	}
	recordHistory(t, env, workflows.ListenSessionWorkflowID(s.ID), "listen_session_expired.json")
	if r := org.Do(t, "GET", "/api/webhooks/"+s.WebhookID, nil); r.Status != http.StatusNotFound {
		t.Fatalf("the expired session's webhook answers %d, want 404", r.Status)
	}
	if r := env.Do(t, "DELETE", "/api/listen/sessions/"+s.ID, nil, auth...); r.Status != http.StatusNotFound {
		t.Fatalf("ending an expired session: %d, want 404", r.Status)
	}
}

// TestListenNeedsWebhooksWrite: a key without webhooks:write cannot open
// a session (nor stream or answer one).
func TestListenNeedsWebhooksWrite(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	key := apiKey(t, org, "events:write", "webhooks:read")
	auth := []string{"Authorization", "Bearer " + key}
	for _, c := range []struct{ method, path string }{
		{"POST", "/api/listen/sessions"},
		{"GET", "/api/listen/sessions/ls_x/stream"},
		{"DELETE", "/api/listen/sessions/ls_x"},
		{"POST", "/api/listen/sessions/ls_x/messages/lsm_x/response"},
	} {
		var body any
		if c.method == "POST" {
			body = map[string]any{}
		}
		r := env.Do(t, c.method, c.path, body, auth...)
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		r.JSON(t, &e)
		if r.Status != http.StatusForbidden || e.Error.Code != "insufficient_scope" {
			t.Errorf("%s %s without webhooks:write: %d %s", c.method, c.path, r.Status, r.Body)
		}
	}
	err := cli.Listen(context.Background(), cli.ListenOptions{API: cli.API{BaseURL: env.BaseURL, Key: key}, ForwardTo: "http://localhost:3000/hook"})
	var ae *cli.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
		t.Fatalf("listen with a key lacking webhooks:write: %v", err)
	}
}

// TestOrdinaryWebhooksStillRefuseLocalTargets: the listen path opens no
// way around the outbound-request policy.
func TestOrdinaryWebhooksStillRefuseLocalTargets(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	recv := testenv.NewReceiver(t)
	for _, u := range []string{recv.URL + "/hook", "http://localhost:3000/hook", "aqio-listen://ls_0190abcd"} {
		r := org.Do(t, "POST", "/api/webhooks", map[string]any{"name": "local", "url": u, "events": []string{"*"}})
		var e struct {
			Error struct{ Field string } `json:"error"`
		}
		r.JSON(t, &e)
		if r.Status != http.StatusUnprocessableEntity || e.Error.Field != "url" {
			t.Errorf("webhook to %s: %d %s, want 422 naming url", u, r.Status, r.Body)
		}
	}
	if len(recv.Got()) != 0 {
		t.Fatalf("the local receiver was reached")
	}
}

// TestListenBadInput: field-level 4xx for what the CLI or a caller gets wrong.
func TestListenBadInput(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	cases := []struct {
		name   string
		body   map[string]any
		status int
		field  string
	}{
		{"no forward_to", map[string]any{}, 422, "forward_to"},
		{"forward_to not http", map[string]any{"forward_to": "ftp://x"}, 422, "forward_to"},
		{"unknown event type", map[string]any{"forward_to": "http://localhost:1/h", "events": []string{"registration.nope"}}, 422, "events.0"},
		{"ttl too short", map[string]any{"forward_to": "http://localhost:1/h", "ttl_seconds": 1}, 422, "ttl_seconds"},
		{"unknown field", map[string]any{"forward_to": "http://localhost:1/h", "url": "x"}, 422, "url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := org.Do(t, "POST", "/api/listen/sessions", tc.body)
			var e struct {
				Error struct{ Field, Message string } `json:"error"`
			}
			r.JSON(t, &e)
			if r.Status != tc.status || !strings.Contains(e.Error.Field+" "+e.Error.Message, tc.field) {
				t.Fatalf("%d %s, want %d naming %s", r.Status, r.Body, tc.status, tc.field)
			}
		})
	}
	r := org.Do(t, "POST", "/api/listen/sessions/ls_missing/messages/lsm_x/response", map[string]any{"status": 200})
	if r.Status != http.StatusNotFound {
		t.Fatalf("answer to an unknown session: %d %s", r.Status, r.Body)
	}
	r = org.Do(t, "GET", "/api/listen/sessions/ls_missing/stream", nil)
	if r.Status != http.StatusNotFound {
		t.Fatalf("stream of an unknown session: %d %s", r.Status, r.Body)
	}
}

// TestListenUnreachableLocalReceiver: a local receiver that refuses the
// connection is an attempt failure with the CLI's reason, retried.
func TestListenUnreachableLocalReceiver(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	key := apiKey(t, org, "webhooks:write", "webhooks:read", "events:write")
	api := cli.API{BaseURL: env.BaseURL, Key: key}
	closed := testenv.NewReceiver(t)
	closed.Close() // nothing listens there any more
	l := startListen(t, env, api, cli.ListenOptions{ForwardTo: closed.URL + "/hook"})
	if _, err := cli.Trigger(context.Background(), cli.TriggerOptions{API: api, Type: "event.cancelled"}); err != nil {
		t.Fatal(err)
	}
	var rows []deliveryRow
	testenv.Eventually(t, 60*time.Second, "two failed attempts", func() bool {
		rows = deliveries(t, org, l.session.WebhookID)
		n := 0
		for _, r := range rows {
			if r.Status == models.DeliveryFailed {
				n++
			}
		}
		return n >= 2
	})
	for _, r := range rows {
		if r.Status != models.DeliveryFailed {
			continue
		}
		if r.ErrorMessage == nil || !strings.Contains(*r.ErrorMessage, "could not reach its local receiver") || r.ResponseStatusCode != nil {
			t.Fatalf("attempt to an unreachable local receiver: %+v", r)
		}
	}
	if !strings.Contains(l.out.String(), "failed: ") {
		t.Fatalf("the CLI did not print the failure:\n%s", l.out)
	}
}

// TestListenSecretStaysOutOfTheRequestLog: the session's creation answer
// carries its webhook's secret, so the request log keeps no body of it.
func TestListenSecretStaysOutOfTheRequestLog(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	key := apiKey(t, org, "webhooks:write")
	r := env.Do(t, "POST", "/api/listen/sessions", map[string]any{"forward_to": "http://localhost:3000/hook"}, "Authorization", "Bearer "+key)
	if r.Status != http.StatusCreated {
		t.Fatalf("create session: %d %s", r.Status, r.Body)
	}
	var s cli.Session
	r.JSON(t, &s)
	t.Cleanup(func() { env.Do(t, "DELETE", "/api/listen/sessions/"+s.ID, nil, "Authorization", "Bearer "+key) })
	var logs struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	testenv.Eventually(t, 20*time.Second, "the call in the request log", func() bool {
		org.Do(t, "GET", "/api/request-logs?method=POST&path=/api/listen/sessions", nil).JSON(t, &logs)
		return len(logs.Data) == 1
	})
	entry := org.Do(t, "GET", "/api/request-logs/"+logs.Data[0].ID, nil)
	if strings.Contains(string(entry.Body), s.Secret) {
		t.Fatalf("the request log holds the session's secret: %s", entry.Body)
	}
	if m := entry.Map(t); m["body_omitted"] != "secret_route" || m["response_body"] != nil {
		t.Fatalf("request log entry of the session's creation: %s", entry.Body)
	}
}
