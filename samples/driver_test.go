package samples_test

// The samples driver: against a real `dev` built from this checkout it
// starts every sample receiver (Go, Node, Python; HMAC and Ed25519 where the
// sample supports it), points a webhook of its own organization at each,
// posts events, redelivers one (same webhook-id: the receiver must report a
// duplicate), sends forged and stale requests (the receiver must refuse
// them), and reads what each receiver recorded. Then it runs the Go and
// TypeScript examples (scoped key, idempotent event, 429 with Retry-After)
// against the same dev.
//
// Needs go, node and python3 on PATH and `npm ci` done in samples/ (and so
// in sdk/typescript). AQIO_BIN names a prebuilt aqio-connect binary;
// AQIO_TEST_DATABASE_URL makes dev use that Postgres database.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	aqio "github.com/aqio/connect/sdk/go"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const serviceToken = "samples-driver-service-token"

var (
	devURL string
	devBin string // the aqio-connect binary dev runs (the CLI test runs it too)
	tmpDir string
	runID  = fmt.Sprintf("_%x", time.Now().UnixNano())
)

func TestMain(m *testing.M) {
	code, err := runWithDev(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "samples driver:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runWithDev(m *testing.M) (int, error) {
	for _, tool := range []string{"node", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			return 0, fmt.Errorf("%s is not on PATH; the samples need it", tool)
		}
	}
	if _, err := os.Stat(filepath.Join("node_modules", "@aqio", "connect", "dist", "index.js")); err != nil {
		return 0, fmt.Errorf("samples/node_modules lacks the TypeScript SDK: run `npm ci` in sdk/typescript, then in samples/ (%v)", err)
	}
	var err error
	tmpDir, err = os.MkdirTemp("", "aqio-samples-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmpDir)
	bin := os.Getenv("AQIO_BIN")
	if bin == "" {
		bin = filepath.Join(tmpDir, "aqio-connect")
		if err := goBuild(bin, "./cmd/aqio-connect", ".."); err != nil {
			return 0, err
		}
	}
	devBin = bin
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	logPath := filepath.Join(tmpDir, "dev.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return 0, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "dev")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = cleanEnv(
		"AQIO_DATA_DIR="+filepath.Join(tmpDir, "data"),
		"AQIO_HTTP_ADDR="+addr,
		"AQIO_DEV_TEMPORAL_PORT=0",
		"AQIO_DEV_TEMPORAL_UI_PORT=-1",
		"AQIO_SERVICE_TOKEN="+serviceToken,
		"AQIO_ALLOW_PRIVATE_TARGETS=true",
		// A small free plan, so the rate-limit examples reach a 429 in a
		// handful of calls.
		"AQIO_RATE_LIMITS=free=5/1000,pro=300/10000,enterprise=1000/50000",
	)
	if db := os.Getenv("AQIO_TEST_DATABASE_URL"); db != "" {
		cmd.Env = append(cmd.Env, "DATABASE_URL="+db)
		fmt.Println("samples driver: dev on postgres")
	} else {
		fmt.Println("samples driver: dev on sqlite")
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
	for !ready(devURL) {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logPath)
			return 0, fmt.Errorf("dev exited: %v\n%s", err, log)
		default:
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
		if len(log) > 8000 {
			log = log[len(log)-8000:]
		}
		fmt.Fprintf(os.Stderr, "--- dev log\n%s\n", log)
	}
	return code, nil
}

// cleanEnv is this process's environment without Aqio and Temporal
// settings, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AQIO_") || strings.HasPrefix(k, "TEMPORAL_") || k == "DATABASE_URL" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func goBuild(out, pkg, dir string) error {
	build := exec.Command("go", "build", "-o", out, pkg)
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
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

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func serviceClient(t *testing.T, org string) *aqio.ClientWithResponses {
	t.Helper()
	c, err := aqio.New(devURL, aqio.Options{ServiceToken: serviceToken, Organization: org})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// record is one JSON line a receiver writes per request.
type record struct {
	Outcome   string `json:"outcome"`
	WebhookID string `json:"webhook_id"`
	Type      string `json:"type"`
	Reason    string `json:"reason"`
}

// process is a started sample (receiver or example) and its output.
type process struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string
	stderr bytes.Buffer
	done   chan struct{}
}

func start(t *testing.T, env []string, name string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(name, args...), done: make(chan struct{})}
	p.cmd.Env = cleanEnv(env...)
	p.cmd.Stderr = &syncWriter{mu: &p.mu, w: &p.stderr}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		_ = p.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s\nstderr:\n%s", name, strings.Join(p.output(), "\n"), p.errText())
		}
	})
	return p
}

type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

func (p *process) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

func (p *process) errText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func (p *process) records(t *testing.T) []record {
	var out []record
	for _, l := range p.output() {
		var r record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("receiver wrote a line that is not a JSON record: %q", l)
		}
		out = append(out, r)
	}
	return out
}

func (p *process) count(t *testing.T, outcome, webhookID string) int {
	n := 0
	for _, r := range p.records(t) {
		if r.Outcome == outcome && (webhookID == "" || r.WebhookID == webhookID) {
			n++
		}
	}
	return n
}

// receiverCase is one receiver sample under one signature scheme.
type receiverCase struct {
	name   string
	scheme aqio.WebhookCreateSignatureScheme
	// command starts the receiver on port with its verification key.
	command func(port int, key string) (env []string, name string, args []string)
}

func TestReceivers(t *testing.T) {
	t.Parallel() // with TestExamples, whose rate-limit examples mostly wait
	goReceiver := filepath.Join(tmpDir, "go-receiver")
	if err := goBuild(goReceiver, "./go-receiver", "."); err != nil {
		t.Fatal(err)
	}
	goCmd := func(port int, key string) ([]string, string, []string) {
		return []string{"AQIO_WEBHOOK_SECRET=" + key}, goReceiver, []string{"-addr", fmt.Sprintf("127.0.0.1:%d", port)}
	}
	nodeCmd := func(port int, key string) ([]string, string, []string) {
		return []string{"AQIO_WEBHOOK_SECRET=" + key, fmt.Sprintf("PORT=%d", port)}, "node", []string{"node-receiver/server.mjs"}
	}
	pyCmd := func(port int, key string) ([]string, string, []string) {
		return []string{"AQIO_WEBHOOK_SECRET=" + key, fmt.Sprintf("PORT=%d", port)}, "python3", []string{"python-receiver/receiver.py"}
	}
	cases := []receiverCase{
		{"go_hmac", "hmac-sha256", goCmd},
		{"go_ed25519", "ed25519", goCmd},
		{"node_hmac", "hmac-sha256", nodeCmd},
		{"node_ed25519", "ed25519", nodeCmd},
		{"python_hmac", "hmac-sha256", pyCmd},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			exerciseReceiver(t, tc)
		})
	}
}

func exerciseReceiver(t *testing.T, tc receiverCase) {
	ctx := context.Background()
	org := "org_samples_" + tc.name + runID
	c := serviceClient(t, org)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/webhook", port)
	scheme := tc.scheme
	res, err := c.CreateWebhookWithResponse(ctx, nil, aqio.WebhookCreate{
		Name: "sample " + tc.name, Url: url, Events: []string{"registration.*"}, SignatureScheme: &scheme,
	})
	if err := aqio.Check(res, err); err != nil {
		t.Fatal(err)
	}
	wh := res.JSON201
	key := ""
	if wh.Secret != nil {
		key = *wh.Secret
	} else if wh.PublicKey != nil {
		key = *wh.PublicKey
	}
	env, name, args := tc.command(port, key)
	rcv := start(t, env, name, args...)
	eventually(t, 30*time.Second, tc.name+" listening", func() bool {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			conn.Close()
		}
		return err == nil
	})

	// Two events, each delivered (and accepted) once.
	events := []string{"evt_samples_a_" + tc.name + runID, "evt_samples_b_" + tc.name + runID}
	for _, id := range events {
		ev := aqio.EventIn{Id: &id, Type: "registration.confirmed"}
		ev.Data.Object = map[string]any{"id": "reg_" + id, "event_id": "evt_1", "user_email": "someone@example.com"}
		if err := aqio.Check(c.PostEventWithResponse(ctx, nil, ev, aqio.WithIdempotencyKey(aqio.NewIdempotencyKey()))); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range events {
		eventually(t, time.Minute, tc.name+" accepting "+id, func() bool { return rcv.count(t, "accepted", id) == 1 })
	}

	// A redelivery of the first message keeps its webhook-id: the receiver
	// answers 2xx and reports a duplicate, processing nothing twice.
	var first aqio.Delivery
	eventually(t, time.Minute, "the first message's successful attempt", func() bool {
		list, err := c.ListDeliveriesWithResponse(ctx, wh.Id, &aqio.ListDeliveriesParams{EventId: &events[0]})
		if err := aqio.Check(list, err); err != nil {
			t.Fatal(err)
		}
		for _, d := range list.JSON200.Data {
			if d.Status == "success" {
				first = d
				return true
			}
		}
		return false
	})
	if err := aqio.Check(c.RedeliverDeliveryWithResponse(ctx, wh.Id, first.Id, nil)); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, tc.name+" reporting the redelivery as a duplicate", func() bool {
		return rcv.count(t, "duplicate", events[0]) == 1
	})
	eventually(t, time.Minute, "the redelivery's attempt recorded as a success", func() bool {
		list, err := c.ListDeliveriesWithResponse(ctx, wh.Id, &aqio.ListDeliveriesParams{EventId: &events[0]})
		if err := aqio.Check(list, err); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, d := range list.JSON200.Data {
			if d.Status == "success" {
				n++
			}
		}
		return n == 2
	})

	// Forged and stale requests are refused with 401 and recorded as such.
	body := []byte(`{"type":"registration.confirmed","data":{"object":{"id":"reg_forged"}}}`)
	forged := make([]byte, 64)
	_, _ = rand.Read(forged)
	prefix := "v1,"
	if tc.scheme == "ed25519" {
		prefix = "v1a,"
	} else {
		forged = forged[:32]
	}
	now := time.Now()
	attempts := []struct {
		what      string
		id, ts    string
		signature string
	}{
		{"a forged signature", "msg_forged_" + tc.name, fmt.Sprint(now.Unix()), prefix + base64.StdEncoding.EncodeToString(forged)},
		{"no signature", "msg_unsigned_" + tc.name, fmt.Sprint(now.Unix()), ""},
	}
	if tc.scheme == "hmac-sha256" {
		// Correctly signed, but 10 minutes old: a replay.
		wl, err := standardwebhooks.NewWebhook(key)
		if err != nil {
			t.Fatal(err)
		}
		old := now.Add(-10 * time.Minute)
		sig, err := wl.Sign("msg_stale_"+tc.name, old, body)
		if err != nil {
			t.Fatal(err)
		}
		attempts = append(attempts, struct {
			what      string
			id, ts    string
			signature string
		}{"a stale timestamp", "msg_stale_" + tc.name, fmt.Sprint(old.Unix()), sig})
	}
	for _, a := range attempts {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("webhook-id", a.id)
		req.Header.Set("webhook-timestamp", a.ts)
		if a.signature != "" {
			req.Header.Set("webhook-signature", a.signature)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %s answered %d, want 401", tc.name, a.what, resp.StatusCode)
		}
		eventually(t, 10*time.Second, tc.name+" recording "+a.what+" as rejected", func() bool {
			return rcv.count(t, "rejected", a.id) == 1
		})
		if rcv.count(t, "accepted", a.id)+rcv.count(t, "duplicate", a.id) != 0 {
			t.Errorf("%s: %s was processed", tc.name, a.what)
		}
	}

	// In all: each real message accepted once, the redelivery a duplicate,
	// every fake refused, and nothing else.
	recs := rcv.records(t)
	if want := len(events) + 1 + len(attempts); len(recs) != want {
		t.Fatalf("%s recorded %d requests, want %d: %+v", tc.name, len(recs), want, recs)
	}
	for _, r := range recs {
		if r.Outcome == "accepted" && r.Type != "registration.confirmed" {
			t.Errorf("%s accepted %+v: type not parsed", tc.name, r)
		}
	}
	t.Logf("%s: %d accepted, %d duplicate, %d rejected", tc.name, rcv.count(t, "accepted", ""), rcv.count(t, "duplicate", ""), rcv.count(t, "rejected", ""))

	// A rotation with a grace period: the receiver is redeployed with the
	// new and the old key (AQIO_WEBHOOK_SECRET=new,old) and accepts the next
	// delivery, which carries both signatures.
	grace := 3600
	rot, err := c.RotateWebhookSecretWithResponse(ctx, wh.Id, nil, aqio.RotateWebhookSecretJSONRequestBody{GraceSeconds: &grace})
	if err := aqio.Check(rot, err); err != nil {
		t.Fatal(err)
	}
	newKey := ""
	if rot.JSON200.Secret != nil {
		newKey = *rot.JSON200.Secret
	} else if rot.JSON200.PublicKey != nil {
		newKey = *rot.JSON200.PublicKey
	}
	if newKey == "" || newKey == key {
		t.Fatalf("rotation returned no new key: %s", rot.Body)
	}
	_ = rcv.cmd.Process.Signal(syscall.SIGTERM)
	<-rcv.done
	env, name, args = tc.command(port, newKey+","+key)
	rotated := start(t, env, name, args...)
	eventually(t, 30*time.Second, tc.name+" listening again", func() bool {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	after := "evt_samples_rotated_" + tc.name + runID
	ev := aqio.EventIn{Id: &after, Type: "registration.confirmed"}
	ev.Data.Object = map[string]any{"id": "reg_" + after, "event_id": "evt_1"}
	if err := aqio.Check(c.PostEventWithResponse(ctx, nil, ev)); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, tc.name+" accepting the delivery after the rotation", func() bool {
		return rotated.count(t, "accepted", after) == 1
	})
	if n := rotated.count(t, "rejected", ""); n != 0 {
		t.Fatalf("%s rejected %d deliveries after the rotation: %+v", tc.name, n, rotated.records(t))
	}
}

// example is one example program run against dev.
type example struct {
	name    string
	command func(dir string) (name string, args []string)
}

func TestExamples(t *testing.T) {
	t.Parallel()
	goExamples := map[string]string{}
	for _, name := range []string{"scoped-key", "idempotent-event", "rate-limit"} {
		out := filepath.Join(tmpDir, "example-"+name)
		if err := goBuild(out, "./examples/go/"+name, "."); err != nil {
			t.Fatal(err)
		}
		goExamples[name] = out
	}
	tsc := exec.Command("npx", "tsc", "-p", "tsconfig.json")
	if out, err := tsc.CombinedOutput(); err != nil {
		t.Fatalf("tsc (examples/ts): %v\n%s", err, out)
	}
	run := func(t *testing.T, lang, name string, env []string, want ...string) {
		var p *process
		if lang == "go" {
			p = start(t, env, goExamples[name])
		} else {
			p = start(t, env, "node", filepath.Join(".build", "examples", "ts", name+".js"))
		}
		select {
		case <-p.done:
		case <-time.After(3 * time.Minute):
			t.Fatalf("%s %s did not finish in 3 minutes", lang, name)
		}
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("%s %s exited %d:\n%s\n%s", lang, name, code, strings.Join(p.output(), "\n"), p.errText())
		}
		out := strings.Join(p.output(), "\n")
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Fatalf("%s %s printed no %q:\n%s", lang, name, w, out)
			}
		}
		t.Logf("%s %s:\n%s", lang, name, out)
	}
	for _, lang := range []string{"go", "ts"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			org := "org_samples_examples_" + lang + runID
			env := []string{"AQIO_URL=" + devURL, "AQIO_SERVICE_TOKEN=" + serviceToken, "AQIO_ORGANIZATION=" + org}
			run(t, lang, "scoped-key", env, "scopes: events:write", "events:write: allowed", "webhooks:read: refused, insufficient_scope")
			run(t, lang, "idempotent-event", env, "(status 202)", "repeat: status 200, duplicate true, same event true")

			// The rate-limit example with a key of a free-plan organization.
			svc := serviceClient(t, org)
			plan := "free"
			if err := aqio.Check(svc.PutOrganizationWithResponse(ctx, org, nil, aqio.PutOrganizationJSONRequestBody{Plan: aqio.PutOrganizationJSONBodyPlan(plan)})); err != nil {
				t.Fatal(err)
			}
			k, err := svc.CreateAPIKeyWithResponse(ctx, nil, aqio.APIKeyCreate{Name: "rate limit example", Scopes: []string{"webhooks:read"}})
			if err := aqio.Check(k, err); err != nil {
				t.Fatal(err)
			}
			run(t, lang, "rate-limit", []string{"AQIO_URL=" + devURL, "AQIO_API_KEY=" + k.JSON201.Key},
				"429 rate_limited, policy minute", "after waiting Retry-After: 200", "refusal(s) waited out")
		})
	}
}
