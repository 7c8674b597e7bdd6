package zoom_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	zoomfake "github.com/aqio/connect/internal/fakes/zoom"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/providertest"
	"github.com/aqio/connect/providers/zoom"
)

type harness struct {
	fake    *zoomfake.Fake
	conn    *zoom.Connector
	links   *providertest.MemLinks
	objects providertest.MemObjects
	session *providers.Session
	rt      *providers.Runtime
	valid   map[string]bool
	mu      sync.Mutex
}

// newHarness runs the connector against the fake with a session whose
// refresh issues the next token of a sequence.
func newHarness(t *testing.T, settings map[string]any) *harness {
	t.Helper()
	h := &harness{conn: zoom.New(), links: &providertest.MemLinks{}, objects: providertest.MemObjects{},
		valid: map[string]bool{"at-1": true}}
	h.fake = zoomfake.New(zoomfake.Options{ValidToken: func(tok string) bool { h.mu.Lock(); defer h.mu.Unlock(); return h.valid[tok] }})
	srv := httptest.NewServer(h.fake)
	t.Cleanup(srv.Close)
	raw, _ := json.Marshal(settings)
	set, err := h.conn.ParseSettings(raw)
	if err != nil {
		t.Fatal(err)
	}
	info := h.conn.Info()
	h.session = providers.NewSession(h.conn, info, providers.Credentials{AccessToken: "at-1", RefreshToken: "rt-1"})
	n := 1
	h.session.Refresh = func(context.Context) (providers.Credentials, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		n++
		at := "at-" + string(rune('0'+n))
		h.valid[at] = true
		return providers.Credentials{AccessToken: at, RefreshToken: "rt-" + string(rune('0'+n))}, nil
	}
	h.rt = &providers.Runtime{IntegrationID: "int_1", OrganizationID: "org_1",
		Provider:   providers.Provider{Info: info, Connector: h.conn, ClientID: "cid", ClientSecret: "sec"},
		APIBaseURL: srv.URL + "/v2", Settings: set, Credentials: h.session.Credentials(),
		HTTP: h.session.Client(srv.Client()), Objects: h.objects, Links: h.links}
	return h
}

func (h *harness) push(t *testing.T, typ string, obj map[string]any) (providers.Result, error) {
	t.Helper()
	raw, _ := json.Marshal(obj)
	act, ok := h.conn.Actions()[typ]
	if !ok {
		t.Fatalf("no action for %s", typ)
	}
	return act(context.Background(), h.rt, providers.Event{ID: "evt_" + typ, Type: typ, Object: raw})
}

func (h *harness) link(t *testing.T, typ, id string) providers.Link {
	t.Helper()
	l, err := h.links.Get(context.Background(), typ, id)
	if err != nil {
		t.Fatalf("link %s/%s: %v", typ, id, err)
	}
	return l
}

var virtual = map[string]any{"id": "ev_1", "title": "Webinar", "description": "All about it", "starts_at": "2026-05-04T16:00:00+02:00",
	"ends_at": "2026-05-04T17:30:00+02:00", "timezone": "Europe/Berlin", "location_type": "virtual", "url": "https://aqio.test/e/ev_1"}

func TestSettings(t *testing.T) {
	cases := []struct {
		name, raw, field string
	}{
		{"defaults", `{}`, ""},
		{"unknown field", `{"meeting_type":2}`, "settings.meeting_type"},
		{"bad location type", `{"location_types":["online"]}`, "settings.location_types"},
		{"empty location types", `{"location_types":[]}`, "settings.location_types"},
		{"bad recording", `{"auto_recording":"tape"}`, "settings.auto_recording"},
		{"wrong type", `{"require_registration":"yes"}`, "settings.require_registration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := zoom.ParseSettings([]byte(tc.raw))
			if tc.field == "" {
				if err != nil || len(s.LocationTypes) != 2 || s.AutoRecording != "none" {
					t.Fatalf("%+v %v", s, err)
				}
				return
			}
			var se *providers.SettingsError
			if !asSettingsError(err, &se) || se.Field != tc.field {
				t.Fatalf("error %v, want field %s", err, tc.field)
			}
		})
	}
}

func asSettingsError(err error, se **providers.SettingsError) bool {
	e, ok := err.(*providers.SettingsError)
	*se = e
	return ok
}

func TestEventLifecycle(t *testing.T) {
	h := newHarness(t, map[string]any{"require_registration": true, "notify_on_cancel": true})

	res, err := h.push(t, "event.created", virtual)
	if err != nil || res.Action != "created" {
		t.Fatalf("create: %+v %v", res, err)
	}
	l := h.link(t, "event", "ev_1")
	m, ok := h.fake.Meeting(l.ExternalID)
	if !ok || l.Status != "active" || l.URL != m.JoinURL || m.Topic != "Webinar" || m.StartTime != "2026-05-04T14:00:00Z" ||
		m.Duration != 90 || m.Timezone != "Europe/Berlin" || m.Settings.ApprovalType != 0 || !strings.Contains(m.Agenda, "https://aqio.test/e/ev_1") {
		t.Fatalf("meeting %+v link %+v", m, l)
	}
	// A retried create patches, never duplicates.
	if res, err := h.push(t, "event.created", virtual); err != nil || res.Action != "updated" || len(h.fake.Meetings()) != 1 {
		t.Fatalf("retry: %+v %v (%d meetings)", res, err, len(h.fake.Meetings()))
	}
	upd := clone(virtual)
	upd["title"] = "Webinar (new time)"
	upd["starts_at"] = "2026-05-05T16:00:00+02:00"
	upd["ends_at"] = "2026-05-05T17:00:00+02:00"
	if res, err := h.push(t, "event.updated", upd); err != nil || res.Action != "updated" {
		t.Fatalf("update: %+v %v", res, err)
	}
	if m, _ := h.fake.Meeting(l.ExternalID); m.Topic != "Webinar (new time)" || m.StartTime != "2026-05-05T14:00:00Z" || m.Duration != 60 {
		t.Fatalf("after update: %+v", m)
	}
	if res, err := h.push(t, "event.cancelled", virtual); err != nil || res.Action != "deleted" {
		t.Fatalf("cancel: %+v %v", res, err)
	}
	if d := h.fake.DeletedMeetings(); len(d) != 1 || !d[0].Notified || h.link(t, "event", "ev_1").Status != "deleted" {
		t.Fatalf("deleted: %+v", d)
	}
	if res, err := h.push(t, "event.cancelled", virtual); err != nil || res.Action != "skipped" {
		t.Fatalf("second cancel: %+v %v", res, err)
	}
}

func clone(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestInPersonEventsGetNoMeeting(t *testing.T) {
	h := newHarness(t, map[string]any{})
	ev := clone(virtual)
	ev["location_type"] = "in_person"
	if res, err := h.push(t, "event.created", ev); err != nil || res.Action != "skipped" || len(h.fake.Meetings()) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	// A virtual event that moves in person loses its meeting.
	if _, err := h.push(t, "event.created", virtual); err != nil {
		t.Fatal(err)
	}
	if res, err := h.push(t, "event.updated", ev); err != nil || res.Action != "deleted" || len(h.fake.Meetings()) != 0 {
		t.Fatalf("moved in person: %+v %v", res, err)
	}
}

func TestLostCreateAnswerFindsTheMeeting(t *testing.T) {
	h := newHarness(t, map[string]any{})
	h.fake.DropResponses(zoomfake.OpCreateMeeting, 1)
	_, err := h.push(t, "event.created", virtual)
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRetryable {
		t.Fatalf("lost answer: %v", err)
	}
	res, err := h.push(t, "event.created", virtual)
	if err != nil || res.Action != "created" || len(h.fake.Meetings()) != 1 || h.fake.Count(zoomfake.OpCreateMeeting, 0) != 1 {
		t.Fatalf("retry: %+v %v, %d meetings", res, err, len(h.fake.Meetings()))
	}
	if l := h.link(t, "event", "ev_1"); l.Status != "active" || l.ExternalID != strconv.FormatInt(h.fake.Meetings()[0].ID, 10) {
		t.Fatalf("link %+v", l)
	}
}

func TestRegistrants(t *testing.T) {
	h := newHarness(t, map[string]any{"require_registration": true})
	evRaw, _ := json.Marshal(virtual)
	h.objects["event/ev_1"] = providers.Object{Type: "event", ID: "ev_1", Data: evRaw}
	name := "Ada Lovelace"
	reg := map[string]any{"id": "reg_1", "event_id": "ev_1", "user_email": "ada@example.com", "user_name": name, "status": "confirmed"}

	// The registration arrives before any event push: the meeting is made.
	res, err := h.push(t, "registration.confirmed", reg)
	if err != nil || res.Action != "created" {
		t.Fatalf("add: %+v %v", res, err)
	}
	mid := h.link(t, "event", "ev_1").ExternalID
	rl := h.link(t, "registration", "reg_1")
	rs := h.fake.Registrants(mid)
	if len(rs) != 1 || rs[0].FirstName != "Ada" || rs[0].LastName != "Lovelace" || rl.URL != rs[0].JoinURL || rl.ExternalID != rs[0].ID || rl.Data["meeting_id"] != mid {
		t.Fatalf("registrants %+v link %+v", rs, rl)
	}
	// Retried: no second registrant.
	if res, err := h.push(t, "registration.confirmed", reg); err != nil || res.Action != "skipped" || len(h.fake.Registrants(mid)) != 1 {
		t.Fatalf("retry: %+v %v", res, err)
	}
	// Another registration with the same email (case differs) is the same registrant.
	reg2 := map[string]any{"id": "reg_2", "event_id": "ev_1", "user_email": "ADA@example.com", "status": "confirmed"}
	if res, err := h.push(t, "registration.confirmed", reg2); err != nil || res.ExternalID != rs[0].ID || len(h.fake.Registrants(mid)) != 1 {
		t.Fatalf("same email: %+v %v", res, err)
	}
	// A lost add answer: the retry finds the registrant by email.
	reg3 := map[string]any{"id": "reg_3", "event_id": "ev_1", "user_email": "grace@example.com", "status": "confirmed"}
	h.fake.DropResponses(zoomfake.OpAddRegistrant, 1)
	if _, err := h.push(t, "registration.confirmed", reg3); err == nil {
		t.Fatal("lost answer did not fail")
	}
	if res, err := h.push(t, "registration.confirmed", reg3); err != nil || len(h.fake.Registrants(mid)) != 2 || res.ExternalID == "" {
		t.Fatalf("after lost answer: %+v %v, %d registrants", res, err, len(h.fake.Registrants(mid)))
	}
	// Cancel, then confirm again: approved again, same registrant.
	if res, err := h.push(t, "registration.cancelled", reg); err != nil || res.Action != "deleted" {
		t.Fatalf("cancel: %+v %v", res, err)
	}
	if rs := h.fake.Registrants(mid); rs[0].Status != "cancelled" {
		t.Fatalf("after cancel: %+v", rs)
	}
	if res, err := h.push(t, "registration.confirmed", reg); err != nil || res.Action != "updated" || h.fake.Registrants(mid)[0].Status != "approved" {
		t.Fatalf("confirm again: %+v %v", res, err)
	}
}

func TestRegistrationOffSkips(t *testing.T) {
	h := newHarness(t, map[string]any{})
	if _, err := h.push(t, "event.created", virtual); err != nil {
		t.Fatal(err)
	}
	res, err := h.push(t, "registration.confirmed", map[string]any{"id": "reg_1", "event_id": "ev_1", "user_email": "a@example.com"})
	if err != nil || res.Action != "skipped" || h.fake.Count(zoomfake.OpAddRegistrant, 0) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestRefreshOnceOn401(t *testing.T) {
	h := newHarness(t, map[string]any{})
	// Zoom refuses the token before its expiry: the session refreshes
	// once and the create goes through with the new token.
	h.fake.ExpireAccessTokens("at-1")
	res, err := h.push(t, "event.created", virtual)
	if err != nil || res.Action != "created" || !h.session.Refreshed() || h.session.Credentials().AccessToken != "at-2" {
		t.Fatalf("%+v %v refreshed=%v", res, err, h.session.Refreshed())
	}
	reqs := h.fake.Requests()
	if last := reqs[len(reqs)-1]; last.Token != "at-2" || last.Status != http.StatusCreated {
		t.Fatalf("last request %+v", last)
	}
}

func TestRateLimitIsClassified(t *testing.T) {
	h := newHarness(t, map[string]any{})
	h.fake.RateLimitNext(zoomfake.OpCreateMeeting, 1)
	_, err := h.push(t, "event.created", virtual)
	pe, ok := providers.AsError(err)
	if !ok || pe.Kind != providers.KindRateLimited || pe.RetryAfter <= 0 {
		t.Fatalf("%v", err)
	}
	if last := h.session.Last(); last.Status != 429 || !strings.Contains(last.Excerpt, "per-second rate limit") {
		t.Fatalf("excerpt %+v", last)
	}
}

func TestExportPage(t *testing.T) {
	h := newHarness(t, map[string]any{"require_registration": true})
	evRaw, _ := json.Marshal(virtual)
	bad := clone(virtual)
	bad["id"], bad["starts_at"] = "ev_bad", "soon"
	badRaw, _ := json.Marshal(bad)
	regRaw, _ := json.Marshal(map[string]any{"id": "reg_1", "event_id": "ev_1", "user_email": "ada@example.com", "status": "confirmed"})
	h.objects["event/ev_1"] = providers.Object{Type: "event", ID: "ev_1", Data: evRaw}
	res, err := h.conn.ExportPage(context.Background(), h.rt, []providers.Object{
		{Type: "event", ID: "ev_1", Data: evRaw},
		{Type: "event", ID: "ev_bad", Data: badRaw},
		{Type: "registration", ID: "reg_1", ParentID: "ev_1", Data: regRaw},
	})
	if err != nil || res.Created != 2 || len(res.Errors) != 1 || res.Errors[0].ObjectID != "ev_bad" || res.Errors[0].Code != "invalid_starts_at" {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestRevokeUsesBasicAuth(t *testing.T) {
	h := newHarness(t, map[string]any{})
	var user, pass, tok, authz string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ = r.BasicAuth()
		authz = r.Header.Get("Authorization")
		_ = r.ParseForm()
		tok = r.PostForm.Get("token")
		_, _ = w.Write([]byte(`{"status":"success"}`))
	}))
	defer srv.Close()
	o := *h.rt.Provider.OAuth
	o.RevokeURL = srv.URL + "/oauth/revoke"
	h.rt.Provider.OAuth = &o
	if err := h.conn.Revoke(context.Background(), h.rt); err != nil {
		t.Fatal(err)
	}
	if user != "cid" || pass != "sec" || tok != "at-1" || !strings.HasPrefix(authz, "Basic ") {
		t.Fatalf("revoke: user=%q pass=%q token=%q authz=%q", user, pass, tok, authz)
	}
}
