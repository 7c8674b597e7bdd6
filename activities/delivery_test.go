package activities

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/aqio/connect/database"
	"github.com/aqio/connect/egress"
	"github.com/aqio/connect/keyring"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/signing"
	"github.com/aqio/connect/store"
)

type fixture struct {
	st     *store.Store
	ring   *keyring.Ring
	secret string
	hook   models.Webhook
	event  models.Event
	acts   *Deliveries
}

func newFixture(t *testing.T, url, contentType string) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	spec, _ := keyring.Generate("k1")
	ring, _ := keyring.Parse(spec)
	st := store.New(db, nil)
	if _, err := st.EnsureOrganization(ctx, "org_1"); err != nil {
		t.Fatal(err)
	}
	secret, _ := signing.NewSecret(32)
	hook := models.Webhook{ID: "wh_1", OrganizationID: "org_1", Name: "t", URL: url, Events: `["*"]`,
		ContentType: contentType, TimeoutSeconds: 5, RetryCount: 3, RetryDelaySeconds: 1, IsActive: true}
	hook.Secret, _ = ring.Encrypt([]byte(secret), []byte(hook.ID))
	if err := st.CreateWebhook(ctx, &hook); err != nil {
		t.Fatal(err)
	}
	ev := models.Event{OrganizationID: "org_1", ID: "evt_1", Type: "registration.confirmed",
		Payload: `{"id":"evt_1","type":"registration.confirmed","created":1,"data":{"object":{"id":"reg_1"}},"organization_id":"org_1"}`, CreatedUnix: 1}
	if _, _, err := st.IngestEvent(ctx, &ev, nil, "[]", nil); err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, ring: ring, secret: secret, hook: hook, event: ev, acts: &Deliveries{
		Store: st, Ring: ring, HTTP: egress.NewClient(egress.Options{AllowPrivate: true, UserAgent: UserAgent}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ResponseBodyLimit: 16,
	}}
}

func (f *fixture) run(t *testing.T, attempt int32) (AttemptResult, error) {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(f.acts)
	env.SetTestTimeout(30 * time.Second)
	val, err := env.ExecuteActivity(f.acts.Deliver, AttemptInput{
		OrganizationID: "org_1", WebhookID: f.hook.ID, EventID: f.event.ID, MessageID: "msg_1",
		TimeoutSeconds: 5, RetryCount: 3, RetryDelaySeconds: 1,
	})
	if err != nil {
		return AttemptResult{}, err
	}
	var res AttemptResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

func (f *fixture) rows(t *testing.T) []models.WebhookDelivery {
	t.Helper()
	rows, _, err := f.st.ListDeliveries(context.Background(), "org_1", f.hook.ID, store.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestDeliverSignsWithStandardWebhooks(t *testing.T) {
	var mu sync.Mutex
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = r.Clone(context.Background())
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	f := newFixture(t, srv.URL, "application/json")

	res, err := f.run(t, 1)
	if err != nil {
		t.Fatalf("deliver: %v", err)
	}
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", res.StatusCode)
	}
	wh, err := standardwebhooks.NewWebhook(f.secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(body, got.Header); err != nil {
		t.Fatalf("independent verifier rejected our signature: %v", err)
	}
	if string(body) != f.event.Payload {
		t.Fatalf("body %s", body)
	}
	if got.Header.Get("webhook-id") != "msg_1" || !strings.HasPrefix(got.Header.Get("User-Agent"), "Aqio-Connect") {
		t.Fatalf("headers %v", got.Header)
	}
	rows := f.rows(t)
	if len(rows) != 1 || rows[0].Status != models.DeliverySuccess || !rows[0].IsFinal {
		t.Fatalf("rows %+v", rows)
	}
	if strings.Contains(*rows[0].RequestHeaders, "v1,") {
		t.Fatal("recorded request headers must not include the signature")
	}
	w, _ := f.st.GetWebhook(context.Background(), "org_1", f.hook.ID)
	if w.TotalDeliveries != 1 || w.FailedDeliveries != 0 || w.LastTriggeredAt == nil {
		t.Fatalf("counters %+v", w)
	}
}

func TestDeliverFormEncodedSignsExactBytes(t *testing.T) {
	var body []byte
	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		hdr = r.Header.Clone()
	}))
	defer srv.Close()
	f := newFixture(t, srv.URL, "application/x-www-form-urlencoded")
	if _, err := f.run(t, 1); err != nil {
		t.Fatal(err)
	}
	if hdr.Get("Content-Type") != "application/x-www-form-urlencoded" || !strings.HasPrefix(string(body), "payload=") {
		t.Fatalf("form body %q (%s)", body, hdr.Get("Content-Type"))
	}
	wh, _ := standardwebhooks.NewWebhook(f.secret)
	if err := wh.Verify(body, hdr); err != nil {
		t.Fatalf("verify form body: %v", err)
	}
}

func TestDeliverClassifiesResponses(t *testing.T) {
	for _, tc := range []struct {
		name          string
		status        int
		header        map[string]string
		wantType      string
		nonRetryable  bool
		wantNextDelay time.Duration
		wantInactive  bool
	}{
		{name: "500 retries", status: 500, wantType: ErrTypeRetryable},
		{name: "503 with Retry-After", status: 503, header: map[string]string{"Retry-After": "7"}, wantType: ErrTypeRetryable, wantNextDelay: 7 * time.Second},
		{name: "429 retries", status: 429, wantType: ErrTypeRetryable},
		{name: "408 retries", status: 408, wantType: ErrTypeRetryable},
		{name: "400 gives up", status: 400, wantType: ErrTypeHTTPClientError, nonRetryable: true},
		{name: "404 gives up", status: 404, wantType: ErrTypeHTTPClientError, nonRetryable: true},
		{name: "410 deactivates", status: 410, wantType: ErrTypeGone, nonRetryable: true, wantInactive: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(strings.Repeat("x", 100)))
			}))
			defer srv.Close()
			f := newFixture(t, srv.URL, "application/json")
			_, err := f.run(t, 1)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) {
				t.Fatalf("want application error, got %v", err)
			}
			if appErr.Type() != tc.wantType || appErr.NonRetryable() != tc.nonRetryable {
				t.Fatalf("type %q nonRetryable %v", appErr.Type(), appErr.NonRetryable())
			}
			if appErr.NextRetryDelay() != tc.wantNextDelay {
				t.Fatalf("next retry delay %s, want %s", appErr.NextRetryDelay(), tc.wantNextDelay)
			}
			rows := f.rows(t)
			if len(rows) != 1 || rows[0].Status != models.DeliveryFailed || *rows[0].ResponseStatusCode != tc.status {
				t.Fatalf("rows %+v", rows)
			}
			if got := *rows[0].ResponseBody; got != strings.Repeat("x", 16)+"…[truncated]" {
				t.Fatalf("response body not truncated to the limit: %q", got)
			}
			if rows[0].IsFinal != tc.nonRetryable {
				t.Fatalf("is_final %v", rows[0].IsFinal)
			}
			if !tc.nonRetryable && rows[0].NextRetryAt == nil {
				t.Fatal("a retried attempt must record next_retry_at")
			}
			w, _ := f.st.GetWebhook(context.Background(), "org_1", f.hook.ID)
			if w.IsActive == tc.wantInactive {
				t.Fatalf("is_active %v", w.IsActive)
			}
			if tc.wantInactive && (w.DisabledReason == nil || !strings.Contains(*w.DisabledReason, "410")) {
				t.Fatalf("disabled reason %v", w.DisabledReason)
			}
		})
	}
}

func TestDeliverRefusesPrivateTargetsWhenNotAllowed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("request reached a loopback receiver")
	}))
	defer srv.Close()
	f := newFixture(t, srv.URL, "application/json")
	f.acts.HTTP = egress.NewClient(egress.Options{})
	_, err := f.run(t, 1)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() {
		t.Fatalf("want non-retryable error, got %v", err)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"12", 12 * time.Second}, {"-3", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
	} {
		h := http.Header{}
		h.Set("Retry-After", tc.v)
		if got := retryAfter(h, now); got != tc.want {
			t.Errorf("Retry-After %q: %s, want %s", tc.v, got, tc.want)
		}
	}
}
