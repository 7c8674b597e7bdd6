package zoom_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	zoomfake "github.com/aqio/connect/internal/fakes/zoom"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/zoom"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock               { return &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }
func tokens(valid ...string) func(string) bool {
	set := map[string]bool{}
	for _, v := range valid {
		set[v] = true
	}
	return func(t string) bool { return set[t] }
}

func start(t *testing.T, clk *clock) (*zoomfake.Fake, *zoom.Client) {
	t.Helper()
	f := zoomfake.New(zoomfake.Options{ValidToken: tokens("good-token", "other-token"), Now: clk.Now})
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, &zoom.Client{BaseURL: srv.URL + "/v2", HTTP: srv.Client(), Token: "good-token", Now: clk.Now}
}

func approval(n int) *int { return &n }

func TestMeetingLifecycle(t *testing.T) {
	ctx := context.Background()
	f, c := start(t, newClock())

	me, err := c.Me(ctx)
	if err != nil || me.ID == "" || me.AccountID == "" {
		t.Fatalf("me: %+v %v", me, err)
	}
	m, err := c.CreateMeeting(ctx, "me", zoom.MeetingRequest{
		Topic: "Launch party", Type: 2, StartTime: "2026-04-01T17:00:00Z", Duration: 90, Timezone: "Europe/Berlin",
		Settings: &zoom.MeetingSettings{ApprovalType: approval(zoom.ApprovalAutomatic), RegistrationType: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID == 0 || !strings.Contains(m.JoinURL, m.IDString()) || m.RegistrationURL == "" || m.Settings.ApprovalType != 0 {
		t.Fatalf("created meeting: %+v", m)
	}
	if err := c.UpdateMeeting(ctx, m.IDString(), zoom.MeetingRequest{Topic: "Launch party (moved)", StartTime: "2026-04-02T17:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetMeeting(ctx, m.IDString())
	if err != nil || got.Topic != "Launch party (moved)" || got.StartTime != "2026-04-02T17:00:00Z" || got.Duration != 90 {
		t.Fatalf("after update: %+v %v", got, err)
	}

	reg, err := c.AddRegistrant(ctx, m.IDString(), zoom.RegistrantRequest{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace"})
	if err != nil || reg.RegistrantID == "" || reg.JoinURL == "" || reg.JoinURL == m.JoinURL {
		t.Fatalf("registrant: %+v %v", reg, err)
	}
	found, ok, err := c.FindRegistrant(ctx, m.IDString(), "approved", "ADA@example.com")
	if err != nil || !ok || found.ID != reg.RegistrantID || found.JoinURL != reg.JoinURL {
		t.Fatalf("find: %+v %v %v", found, ok, err)
	}
	if err := c.UpdateRegistrantStatus(ctx, m.IDString(), zoom.ActionCancel, zoom.RegistrantRef{ID: reg.RegistrantID, Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.FindRegistrant(ctx, m.IDString(), "approved", "ada@example.com"); ok {
		t.Fatal("cancelled registrant is still approved")
	}
	if rs := f.Registrants(m.IDString()); len(rs) != 1 || rs[0].Status != "cancelled" {
		t.Fatalf("fake registrants: %+v", rs)
	}

	if err := c.DeleteMeeting(ctx, m.IDString(), true); err != nil {
		t.Fatal(err)
	}
	if d := f.DeletedMeetings(); len(d) != 1 || !d[0].Notified {
		t.Fatalf("deleted: %+v", d)
	}
	// Deleting again is success (already gone).
	if err := c.DeleteMeeting(ctx, m.IDString(), false); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	// Reading it is a permanent 404 with Zoom's code.
	_, err = c.GetMeeting(ctx, m.IDString())
	pe, ok := providers.AsError(err)
	if !ok || pe.Kind != providers.KindPermanent || pe.Status != 404 || pe.Code != "3001" {
		t.Fatalf("get deleted: %v", err)
	}
}

func TestFindRegistrantPages(t *testing.T) {
	ctx := context.Background()
	_, c := start(t, newClock())
	m, err := c.CreateMeeting(ctx, "me", zoom.MeetingRequest{Topic: "Big", Type: 2, StartTime: "2026-04-01T17:00:00Z",
		Settings: &zoom.MeetingSettings{ApprovalType: approval(0)}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 305 {
		if _, err := c.AddRegistrant(ctx, m.IDString(), zoom.RegistrantRequest{Email: fmt.Sprintf("p%d@example.com", i), FirstName: "P"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.AddRegistrant(ctx, m.IDString(), zoom.RegistrantRequest{Email: "last@example.com", FirstName: "L"}); err != nil {
		t.Fatal(err)
	}
	if r, ok, err := c.FindRegistrant(ctx, m.IDString(), "approved", "last@example.com"); err != nil || !ok || r.Email != "last@example.com" {
		t.Fatalf("find on page 2: %+v %v %v", r, ok, err)
	}
}

func TestClassify(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	f, c := start(t, clk)
	m, err := c.CreateMeeting(ctx, "me", zoom.MeetingRequest{Topic: "T", Type: 2, StartTime: "2026-04-01T17:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	id := m.IDString()

	cases := []struct {
		name       string
		setup      func()
		call       func() error
		kind       providers.Kind
		status     int
		code       string
		retryAfter time.Duration
		message    string
	}{
		{
			name:  "invalid token",
			setup: func() { c.Token = "bad-token" },
			call:  func() error { _, err := c.GetMeeting(ctx, id); return err },
			kind:  providers.KindExpired, status: 401, code: "124", message: "Invalid access token.",
		},
		{
			name:  "expired token",
			setup: func() { c.Token = "other-token"; f.ExpireAccessTokens("other-token") },
			call:  func() error { _, err := c.GetMeeting(ctx, id); return err },
			kind:  providers.KindExpired, status: 401, code: "124", message: "Access token is expired.",
		},
		{
			name:  "per-second limit",
			setup: func() { f.RateLimitNext(zoomfake.OpAddRegistrant, 1) },
			call: func() error {
				_, err := c.AddRegistrant(ctx, id, zoom.RegistrantRequest{Email: "a@example.com", FirstName: "A"})
				return err
			},
			kind: providers.KindRateLimited, status: 429, code: "429", retryAfter: time.Second,
		},
		{
			name:  "daily limit waits until the reset",
			setup: func() { f.ExhaustDaily(zoomfake.Medium, clk.Now().Add(3*time.Hour)) },
			call: func() error {
				_, err := c.CreateMeeting(ctx, "me", zoom.MeetingRequest{Topic: "T", Type: 2, StartTime: "2026-04-01T17:00:00Z"})
				return err
			},
			kind: providers.KindRateLimited, status: 429, code: "429", retryAfter: 3 * time.Hour,
		},
		{
			name: "validation",
			call: func() error {
				_, err := c.CreateMeeting(ctx, "me", zoom.MeetingRequest{Topic: strings.Repeat("x", 201), Type: 2, StartTime: "2026-04-01T17:00:00Z"})
				return err
			},
			kind: providers.KindPermanent, status: 400, code: "300", message: "topic: Invalid field.",
		},
		{
			name: "registration not enabled",
			call: func() error {
				_, err := c.AddRegistrant(ctx, id, zoom.RegistrantRequest{Email: "a@example.com", FirstName: "A"})
				return err
			},
			kind: providers.KindPermanent, status: 400, code: "3000",
		},
		{
			name:  "server error",
			setup: func() { f.FailNext(zoomfake.OpUpdateMeeting, 1, 503, 503, "Service Unavailable") },
			call:  func() error { return c.UpdateMeeting(ctx, id, zoom.MeetingRequest{Topic: "x"}) },
			kind:  providers.KindRetryable, status: 503,
		},
		{
			name: "missing scope",
			setup: func() {
				f.FailNext(zoomfake.OpGetMeeting, 1, 403, 4711, "Invalid access token, does not contain scopes:[meeting:read]")
			},
			call: func() error { _, err := c.GetMeeting(ctx, id); return err },
			kind: providers.KindAuth, status: 403, code: "4711",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.Token = "good-token"
			f.ExhaustDaily(zoomfake.Medium, time.Time{}) // lift a previous case's daily limit
			if tc.setup != nil {
				tc.setup()
			}
			err := tc.call()
			pe, ok := providers.AsError(err)
			if !ok {
				t.Fatalf("error %v is not classified", err)
			}
			if pe.Kind != tc.kind || pe.Status != tc.status || (tc.code != "" && pe.Code != tc.code) || pe.RetryAfter != tc.retryAfter {
				t.Fatalf("got %+v", pe)
			}
			if tc.message != "" && !strings.Contains(pe.Message, tc.message) {
				t.Fatalf("message %q does not contain %q", pe.Message, tc.message)
			}
		})
	}
}

func TestMeasuredRateLimit(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	f, c := start(t, clk)
	f.SetRateLimit(zoomfake.Light, 2)
	m, err := c.CreateMeeting(ctx, "me", zoom.MeetingRequest{Topic: "T", Type: 2, StartTime: "2026-04-01T17:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.GetMeeting(ctx, m.IDString()); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.GetMeeting(ctx, m.IDString())
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRateLimited {
		t.Fatalf("third request in one second: %v", err)
	}
	clk.Add(time.Second)
	if _, err := c.GetMeeting(ctx, m.IDString()); err != nil {
		t.Fatalf("after a second: %v", err)
	}
	if f.RateLimited() != 1 {
		t.Fatalf("rate limited %d times", f.RateLimited())
	}
}

func TestRevoke(t *testing.T) {
	var got struct {
		user, pass, token, ctype string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.user, got.pass, _ = r.BasicAuth()
		_ = r.ParseForm()
		got.token, got.ctype = r.PostForm.Get("token"), r.Header.Get("Content-Type")
		switch got.token {
		case "gone":
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"reason":"Invalid Token!","error":"invalid_request"}`))
		case "bad-client":
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"reason":"Invalid client_id or client_secret","error":"invalid_client"}`))
		default:
			_, _ = w.Write([]byte(`{"status":"success"}`))
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	if err := zoom.Revoke(ctx, srv.Client(), srv.URL, "cid", "sec", "tok"); err != nil {
		t.Fatal(err)
	}
	if got.user != "cid" || got.pass != "sec" || got.token != "tok" || got.ctype != "application/x-www-form-urlencoded" {
		t.Fatalf("revoke request: %+v", got)
	}
	if err := zoom.Revoke(ctx, srv.Client(), srv.URL, "cid", "sec", "gone"); err != nil {
		t.Fatalf("already revoked: %v", err)
	}
	err := zoom.Revoke(ctx, srv.Client(), srv.URL, "cid", "sec", "bad-client")
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindPermanent || pe.Code != "invalid_client" {
		t.Fatalf("bad client: %v", err)
	}
}
