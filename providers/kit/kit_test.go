package kit_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	kitfake "github.com/aqio/connect/internal/fakes/kit"
	"github.com/aqio/connect/internal/fakes/oauth"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/kit"
	"github.com/aqio/connect/providers/providertest"
)

type harness struct {
	srv     *kitfake.Server
	conn    *kit.Connector
	links   *providertest.MemLinks
	objects providertest.MemObjects
	session *providers.Session
	rt      *providers.Runtime
}

const apiKey = "kit_3f9a0c1d2b7e4f5a8c6d"

// newHarness runs the connector against the Kit fake with an API-key
// credential (creds nil) or the given OAuth credentials.
func newHarness(t *testing.T, settings map[string]any, creds *providers.Credentials) *harness {
	t.Helper()
	iss := oauth.NewIssuer()
	h := &harness{conn: kit.New(), links: &providertest.MemLinks{}, objects: providertest.MemObjects{}}
	h.srv = kitfake.NewServer(iss, map[string]string{"cid": "sec"}, kitfake.Options{})
	t.Cleanup(h.srv.Close)
	h.srv.AddAPIKey(apiKey)
	raw, _ := json.Marshal(settings)
	set, err := h.conn.ParseSettings(raw)
	if err != nil {
		t.Fatal(err)
	}
	c := providers.Credentials{Fields: map[string]string{"api_key": apiKey}}
	if creds != nil {
		c = *creds
	}
	info := h.conn.Info()
	info.OAuth.RevokeURL = h.srv.RevokeURL()
	h.session = providers.NewSession(h.conn, info, c)
	h.rt = &providers.Runtime{IntegrationID: "int_1", OrganizationID: "org_1",
		Provider:   providers.Provider{Info: info, Connector: h.conn, ClientID: "cid", ClientSecret: "sec"},
		APIBaseURL: h.srv.APIBaseURL(), Settings: set, Credentials: c,
		HTTP: h.session.Client(h.srv.Client()), Objects: h.objects, Links: h.links}
	return h
}

func (h *harness) settings(t *testing.T, settings map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(settings)
	set, err := h.conn.ParseSettings(raw)
	if err != nil {
		t.Fatal(err)
	}
	h.rt.Settings = set
}

func (h *harness) push(t *testing.T, typ string, obj map[string]any) (providers.Result, error) {
	t.Helper()
	raw, _ := json.Marshal(obj)
	return h.conn.Actions()[typ](context.Background(), h.rt, providers.Event{ID: "evt_" + typ, Type: typ, Object: raw})
}

func TestSettings(t *testing.T) {
	for _, tc := range []struct {
		name, raw, field string
	}{
		{"defaults", `{}`, ""},
		{"all", `{"event_tag":"Aqio: {event_title} ({event_id})","tag_ids":[1,2],"field_mapping":{"last_name":"last_name","answers.company":"company"}}`, ""},
		{"no event tag", `{"event_tag":""}`, ""},
		{"unknown setting", `{"audience_id":"x"}`, "settings.audience_id"},
		{"unknown placeholder", `{"event_tag":"{event_date}"}`, "settings.event_tag"},
		{"blank tag", `{"event_tag":"   "}`, "settings.event_tag"},
		{"bad tag id", `{"tag_ids":[0]}`, "settings.tag_ids[0]"},
		{"duplicate tag id", `{"tag_ids":[3,3]}`, "settings.tag_ids[1]"},
		{"tag ids not integers", `{"tag_ids":["a"]}`, "settings.tag_ids"},
		{"unknown Aqio field", `{"field_mapping":{"shoe_size":"shoe"}}`, "settings.field_mapping.shoe_size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kit.ParseSettings([]byte(tc.raw))
			var se *providers.SettingsError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.field != "" && (!errors.As(err, &se) || se.Field != tc.field):
				t.Fatalf("error %v, want field %s", err, tc.field)
			}
		})
	}
	if s, _ := kit.ParseSettings([]byte(`{}`)); s.Tag() != kit.DefaultEventTag {
		t.Fatalf("default event tag %q", s.Tag())
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		hdr    http.Header
		body   string
		kind   providers.Kind
		code   string
		msg    string
		after  time.Duration
	}{
		{"429 plain text, no Retry-After: backoff", 429, nil, "Retry later", providers.KindRateLimited, "rate_limited", "Retry later", 0},
		{"429 with Retry-After", 429, http.Header{"Retry-After": {"7"}}, "Retry later", providers.KindRateLimited, "rate_limited", "", 7 * time.Second},
		{"401 token", 401, nil, `{"errors":["The access token expired"]}`, providers.KindExpired, "unauthorized", "The access token expired", 0},
		{"403 plan", 403, nil, `{"errors":["Your plan does not include API access"]}`, providers.KindPermanent, "forbidden", "plan", 0},
		{"404", 404, nil, `{"errors":["Not Found"]}`, providers.KindPermanent, "not_found", "Not Found", 0},
		{"422 two messages", 422, nil, `{"errors":["Email address is invalid","State is not included in the list"]}`, providers.KindPermanent, "unprocessable_entity", "Email address is invalid; State", 0},
		{"500", 500, nil, `{"errors":["Something went wrong"]}`, providers.KindRetryable, "http_500", "Something went wrong", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: tc.hdr}
			if resp.Header == nil {
				resp.Header = http.Header{}
			}
			e := kit.Classify(resp, []byte(tc.body))
			if e == nil || e.Kind != tc.kind || e.Code != tc.code || !strings.Contains(e.Message, tc.msg) || e.RetryAfter != tc.after {
				t.Fatalf("got %+v", e)
			}
		})
	}
	if kit.Classify(&http.Response{StatusCode: 201, Header: http.Header{}}, nil) != nil {
		t.Fatal("201 is a success")
	}
}

// TestConfirmedWithConsent: a consenting registrant is upserted with the
// mapped custom field, tagged with the settings tag and a created event
// tag; a repeat changes nothing twice.
func TestConfirmedWithConsent(t *testing.T) {
	h2 := newHarness(t, nil, nil)
	vip := h2.srv.AddTag("VIP")
	h2.settings(t, map[string]any{"tag_ids": []int{vip}, "field_mapping": map[string]any{"answers.company": "company", "last_name": "last_name"}})
	h2.objects["event/ev_1"] = providers.Object{Type: "event", ID: "ev_1", Data: json.RawMessage(`{"id":"ev_1","title":"Spring Gala"}`)}
	reg := map[string]any{"id": "reg_1", "event_id": "ev_1", "user_email": "Ada@Example.com", "user_name": "Ada King Lovelace",
		"status": "confirmed", "marketing_consent": true, "answers": map[string]any{"company": "Analytical Engines"}}
	res, err := h2.push(t, "registration.confirmed", reg)
	if err != nil || res.Action != "created" {
		t.Fatalf("first push: %+v %v", res, err)
	}
	s, ok := h2.srv.Subscriber("ada@example.com")
	if !ok || s.FirstName != "Ada" || s.Fields["company"] != "Analytical Engines" || s.Fields["last_name"] != "King Lovelace" || s.State != "active" {
		t.Fatalf("subscriber %+v", s)
	}
	if tags := h2.srv.Tagged("ada@example.com"); strings.Join(tags, ",") != "Spring Gala,VIP" {
		t.Fatalf("tags %v", tags)
	}
	res, err = h2.push(t, "registration.confirmed", reg)
	if err != nil || res.Action != "updated" || h2.srv.Subscribers() != 1 {
		t.Fatalf("repeat: %+v %v, %d subscribers", res, err, h2.srv.Subscribers())
	}
	if n := h2.srv.Count("POST", "/v4/tags"); n != 1+2*2 { // one event-tag create (then linked), two taggings per push
		t.Fatalf("%d tag calls", n)
	}
	for _, r := range h2.srv.Requests() {
		if r.Credential != "api_key" {
			t.Fatalf("request %s %s authenticated by %q", r.Method, r.Path, r.Credential)
		}
	}
	// Cancelled: the event tag goes, the subscriber and VIP stay.
	res, err = h2.push(t, "registration.cancelled", map[string]any{"id": "reg_1", "event_id": "ev_1", "user_email": "ada@example.com", "status": "cancelled"})
	if err != nil || res.Action != "updated" {
		t.Fatalf("cancel: %+v %v", res, err)
	}
	if tags := h2.srv.Tagged("ada@example.com"); strings.Join(tags, ",") != "VIP" {
		t.Fatalf("tags after cancel %v", tags)
	}
	if s, _ := h2.srv.Subscriber("ada@example.com"); s.State != "active" {
		t.Fatalf("cancel changed the subscriber state: %s", s.State)
	}
	res, err = h2.push(t, "registration.cancelled", map[string]any{"id": "reg_1", "event_id": "ev_1", "user_email": "ada@example.com", "status": "cancelled"})
	if err != nil || res.Action != "skipped" {
		t.Fatalf("second cancel: %+v %v", res, err)
	}
}

// TestNoConsent: a registrant without marketing consent is never sent.
func TestNoConsent(t *testing.T) {
	h := newHarness(t, nil, nil)
	for _, consent := range []any{nil, false} {
		reg := map[string]any{"id": "reg_2", "event_id": "ev_1", "user_email": "bob@example.com", "status": "confirmed"}
		if consent != nil {
			reg["marketing_consent"] = consent
		}
		res, err := h.push(t, "registration.confirmed", reg)
		if err != nil || res.Action != "skipped" {
			t.Fatalf("consent %v: %+v %v", consent, res, err)
		}
	}
	if len(h.srv.Requests()) != 0 {
		t.Fatalf("%d requests for registrants without consent", len(h.srv.Requests()))
	}
	res, err := h.push(t, "registration.cancelled", map[string]any{"id": "reg_2", "status": "cancelled"})
	if err != nil || res.Action != "skipped" || len(h.srv.Requests()) != 0 {
		t.Fatalf("cancel of a registration never sent: %+v %v", res, err)
	}
}

func TestCheckSettings(t *testing.T) {
	h := newHarness(t, map[string]any{"field_mapping": map[string]any{"answers.company": "company", "dietary_restrictions": "diet"}}, nil)
	err := h.conn.CheckSettings(context.Background(), h.rt)
	var se *providers.SettingsError
	if !errors.As(err, &se) || se.Field != "settings.field_mapping.dietary_restrictions" || !strings.Contains(se.Message, `"diet"`) {
		t.Fatalf("unknown custom field: %v", err)
	}
	h.srv.AddCustomField("diet", "Diet")
	if err := h.conn.CheckSettings(context.Background(), h.rt); err != nil {
		t.Fatalf("known fields: %v", err)
	}
	h = newHarness(t, map[string]any{"tag_ids": []int64{999}}, nil)
	if err := h.conn.CheckSettings(context.Background(), h.rt); !errors.As(err, &se) || se.Field != "settings.tag_ids[0]" {
		t.Fatalf("unknown tag: %v", err)
	}
}

func TestCheckCredentials(t *testing.T) {
	h := newHarness(t, nil, nil)
	if err := h.conn.CheckCredentials(context.Background(), h.rt); err != nil {
		t.Fatalf("good key: %v", err)
	}
	bad := providers.Credentials{Fields: map[string]string{"api_key": "kit_not_a_key_00000000"}}
	h = newHarness(t, nil, &bad)
	var se *providers.SettingsError
	if err := h.conn.CheckCredentials(context.Background(), h.rt); !errors.As(err, &se) || se.Field != "credentials.api_key" {
		t.Fatalf("bad key: %v", err)
	}
}

// TestExportPage: per-record errors for addresses Kit refuses; the rest
// go through; cancelled and non-consenting registrations are skipped.
func TestExportPage(t *testing.T) {
	h := newHarness(t, map[string]any{"event_tag": ""}, nil)
	obj := func(id, email string, consent bool, status string) providers.Object {
		b, _ := json.Marshal(map[string]any{"id": id, "event_id": "ev_1", "user_email": email, "marketing_consent": consent, "status": status})
		return providers.Object{Type: "registration", ID: id, ParentID: "ev_1", Data: b, Status: status}
	}
	res, err := h.conn.ExportPage(context.Background(), h.rt, []providers.Object{
		obj("r1", "one@example.com", true, "confirmed"),
		obj("r2", "nodomain@localhost", true, "confirmed"),
		obj("r3", "three@example.com", false, "confirmed"),
		obj("r4", "four@example.com", true, "cancelled"),
	})
	if err != nil || res.Created != 1 || res.Skipped != 2 || len(res.Errors) != 1 || res.Errors[0].ObjectID != "r2" ||
		res.Errors[0].Code != "unprocessable_entity" || !strings.Contains(res.Errors[0].Message, "Email address is invalid") {
		t.Fatalf("page %+v %v", res, err)
	}
	// A 429 fails the page (Temporal retries it).
	h.srv.RateLimitNext(1)
	if _, err := h.conn.ExportPage(context.Background(), h.rt, []providers.Object{obj("r1", "one@example.com", true, "confirmed")}); err == nil {
		t.Fatal("a rate-limited page succeeded")
	} else if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRateLimited {
		t.Fatalf("rate-limited page: %v", err)
	}
}

// TestOAuthAndRevoke: with OAuth the access token goes as Bearer; an
// expired one is refreshed once; disconnect revokes the refresh token.
func TestOAuthAndRevoke(t *testing.T) {
	iss := oauth.NewIssuer()
	srv := kitfake.NewServer(iss, map[string]string{"cid": "sec"}, kitfake.Options{})
	defer srv.Close()
	conn := kit.New()
	info := conn.Info()
	info.OAuth.AuthURL, info.OAuth.TokenURL, info.OAuth.RevokeURL = srv.AuthURL(), srv.TokenURL(), srv.RevokeURL()
	p := providers.Provider{Info: info, Connector: conn, ClientID: "cid", ClientSecret: "sec"}
	cfg := p.OAuth2Config("https://connect.aqio.test/cb")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := "v-0123456789abcdefghijklmnopqrstuvwxyz0123456789"
	resp, err := noRedirect.Get(cfg.AuthCodeURL("st", p.AuthCodeOptions(verifier)...))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	tok, err := cfg.Exchange(context.Background(), loc.Query().Get("code"), p.ExchangeOptions(verifier)...)
	if err != nil || tok.RefreshToken == "" || time.Until(tok.Expiry) < 47*time.Hour {
		t.Fatalf("exchange: %+v %v", tok, err)
	}
	creds := providers.Credentials{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}
	sess := providers.NewSession(conn, info, creds)
	refreshed := 0
	sess.Refresh = func(ctx context.Context) (providers.Credentials, error) {
		refreshed++
		nt, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: creds.RefreshToken}).Token()
		if err != nil {
			return providers.Credentials{}, err
		}
		creds = providers.Credentials{AccessToken: nt.AccessToken, RefreshToken: nt.RefreshToken}
		return creds, nil
	}
	rt := &providers.Runtime{Provider: p, APIBaseURL: srv.APIBaseURL(), HTTP: sess.Client(srv.Client()), Credentials: creds}
	srv.OAuth.ExpireAccessTokens()
	if _, err := (&kit.Client{BaseURL: rt.APIBaseURL, HTTP: rt.HTTP}).Account(context.Background()); err != nil || refreshed != 1 {
		t.Fatalf("refresh-once: %v (refreshes %d)", err, refreshed)
	}
	if creds.RefreshToken == tok.RefreshToken {
		t.Fatal("Kit refresh tokens rotate in the fake")
	}
	rt.Credentials = creds
	if err := conn.Revoke(context.Background(), rt); err != nil {
		t.Fatal(err)
	}
	if r := srv.OAuth.Revoked(); len(r) != 1 || r[0] != creds.RefreshToken {
		t.Fatalf("revoked %v", r)
	}
	// Already revoked: Kit answers 200 again; still success.
	if err := conn.Revoke(context.Background(), rt); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
}
