package salesforce_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/aqio/connect/internal/fakes/oauth"
	sffake "github.com/aqio/connect/internal/fakes/salesforce"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/providertest"
	"github.com/aqio/connect/providers/salesforce"
)

type harness struct {
	srv      *sffake.Server
	conn     *salesforce.Connector
	links    *providertest.MemLinks
	objects  providertest.MemObjects
	rt       *providers.Runtime
	refreshs int
}

// newHarness connects through the fake's OAuth server (PKCE + secret) and
// builds a runtime on the token answer's instance_url whose session
// refreshes with the refresh token.
func newHarness(t *testing.T, settings map[string]any) *harness {
	t.Helper()
	iss := oauth.NewIssuer()
	h := &harness{conn: salesforce.New(), links: &providertest.MemLinks{}, objects: providertest.MemObjects{}}
	h.srv = sffake.NewServer(iss, map[string]string{"cid": "sec"}, sffake.Options{})
	t.Cleanup(h.srv.Close)
	info := h.conn.Info()
	info.OAuth.AuthURL, info.OAuth.TokenURL, info.OAuth.RevokeURL = h.srv.AuthURL(), h.srv.TokenURL(), h.srv.RevokeURL()
	p := providers.Provider{Info: info, Connector: h.conn, ClientID: "cid", ClientSecret: "sec"}
	cfg := p.OAuth2Config("https://connect.aqio.test/cb")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := oauth2.GenerateVerifier()
	resp, err := noRedirect.Get(cfg.AuthCodeURL("st", p.AuthCodeOptions(verifier)...))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	tok, err := cfg.Exchange(context.Background(), loc.Query().Get("code"), p.ExchangeOptions(verifier)...)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if !tok.Expiry.IsZero() {
		t.Fatalf("Salesforce token answers have no expires_in; got expiry %v", tok.Expiry)
	}
	creds := providers.Credentials{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken,
		Extra: map[string]any{"instance_url": tok.Extra("instance_url")}}
	sess := providers.NewSession(h.conn, info, creds)
	sess.Refresh = func(ctx context.Context) (providers.Credentials, error) {
		h.refreshs++
		nt, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: creds.RefreshToken}).Token()
		if err != nil {
			return providers.Credentials{}, err
		}
		creds.AccessToken, creds.RefreshToken = nt.AccessToken, nt.RefreshToken
		return creds, nil
	}
	raw, _ := json.Marshal(settings)
	set, err := h.conn.ParseSettings(raw)
	if err != nil {
		t.Fatal(err)
	}
	h.rt = &providers.Runtime{IntegrationID: "int_1", OrganizationID: "org_1", Provider: p,
		APIBaseURL: h.conn.APIBase(creds), Settings: set, Credentials: creds,
		HTTP: sess.Client(h.srv.Client()), Objects: h.objects, Links: h.links}
	if h.rt.APIBaseURL != h.srv.InstanceURL() {
		t.Fatalf("API base %q, want the instance_url %q", h.rt.APIBaseURL, h.srv.InstanceURL())
	}
	return h
}

func (h *harness) push(t *testing.T, typ string, obj map[string]any) (providers.Result, error) {
	t.Helper()
	raw, _ := json.Marshal(obj)
	return h.conn.Actions()[typ](context.Background(), h.rt, providers.Event{ID: "evt_" + typ, Type: typ, Object: raw})
}

func TestSettings(t *testing.T) {
	for _, tc := range []struct{ name, raw, field string }{
		{"defaults", `{}`, ""},
		{"lead", `{"record_type":"Lead","lead_company":"Aqio guests","field_mapping":{"answers.company":"Company"}}`, ""},
		{"bad record type", `{"record_type":"Account"}`, "settings.record_type"},
		{"bad external id field", `{"external_id_field":"Aqio Email"}`, "settings.external_id_field"},
		{"mapping to Email", `{"field_mapping":{"user_name":"Email"}}`, "settings.field_mapping.user_name"},
		{"mapping to the external id", `{"field_mapping":{"user_id":"Aqio_Email__c"}}`, "settings.field_mapping.user_id"},
		{"unknown setting", `{"sync_deals":true}`, "settings.sync_deals"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := salesforce.ParseSettings([]byte(tc.raw))
			var se *providers.SettingsError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.field != "" && (!errors.As(err, &se) || se.Field != tc.field):
				t.Fatalf("error %v, want field %s", err, tc.field)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		kind   providers.Kind
		code   string
		msg    string
	}{
		{"session", 401, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`, providers.KindExpired, "INVALID_SESSION_ID", "Session expired"},
		{"limit", 403, `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`, providers.KindRateLimited, "REQUEST_LIMIT_EXCEEDED", "TotalRequests"},
		{"access", 403, `[{"message":"insufficient access rights on object id","errorCode":"INSUFFICIENT_ACCESS_OR_READONLY"}]`, providers.KindAuth, "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient"},
		{"required", 400, `[{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}]`, providers.KindPermanent, "REQUIRED_FIELD_MISSING", "(fields: LastName)"},
		{"several matches", 300, `["/services/data/v62.0/sobjects/Contact/0035g00000000001AAA","/services/data/v62.0/sobjects/Contact/0035g00000000002AAA"]`, providers.KindPermanent, "MULTIPLE_CHOICES", "0035g00000000002AAA"},
		{"lock", 400, `[{"message":"unable to obtain exclusive access to this record","errorCode":"UNABLE_TO_LOCK_ROW"}]`, providers.KindRetryable, "UNABLE_TO_LOCK_ROW", "exclusive"},
		{"unavailable", 503, `[{"message":"Server unavailable","errorCode":"SERVER_UNAVAILABLE"}]`, providers.KindRateLimited, "SERVER_UNAVAILABLE", "unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := salesforce.Classify(&http.Response{StatusCode: tc.status, Header: http.Header{}}, []byte(tc.body))
			if e == nil || e.Kind != tc.kind || e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("got %+v", e)
			}
		})
	}
	if e := salesforce.Classify(&http.Response{StatusCode: 403, Header: http.Header{}}, []byte(`[{"errorCode":"REQUEST_LIMIT_EXCEEDED","message":"x"}]`)); e.RetryAfter != salesforce.LimitWait {
		t.Fatalf("REQUEST_LIMIT_EXCEEDED waits %v", e.RetryAfter)
	}
}

// TestRegistrationCampaignAndOpportunity: a registration upserts the
// Contact by the email external id and joins the event's Campaign
// (member statuses created), attendance and cancellation move the
// member's status, repeats duplicate nothing, a payment is one
// Opportunity however often it is pushed.
func TestRegistrationCampaignAndOpportunity(t *testing.T) {
	h := newHarness(t, map[string]any{"sync_campaigns": true, "create_opportunities": true,
		"field_mapping": map[string]any{"answers.title": "Title"}})
	h.objects["event/ev_1"] = providers.Object{Type: "event", ID: "ev_1", Data: json.RawMessage(`{"id":"ev_1","title":"Dreamforce","starts_at":"2031-09-01T09:00:00Z","ends_at":"2031-09-03T17:00:00Z"}`)}
	reg := map[string]any{"id": "reg_1", "event_id": "ev_1", "user_email": "Ada@Example.com", "user_name": "Ada Lovelace", "status": "confirmed",
		"answers": map[string]any{"title": "Countess"}}
	res, err := h.push(t, "registration.confirmed", reg)
	if err != nil || res.Action != "created" {
		t.Fatalf("push: %+v %v", res, err)
	}
	contacts := h.srv.Find("Contact", "Aqio_Email__c", "ada@example.com")
	if len(contacts) != 1 || contacts[0].Fields["LastName"] != "Lovelace" || contacts[0].Fields["FirstName"] != "Ada" || contacts[0].Fields["Title"] != "Countess" {
		t.Fatalf("contacts %+v", contacts)
	}
	camps := h.srv.Find("Campaign", "Aqio_Event_Id__c", "ev_1")
	if len(camps) != 1 || camps[0].Fields["Name"] != "Dreamforce" || camps[0].Fields["StartDate"] != "2031-09-01" {
		t.Fatalf("campaigns %+v", camps)
	}
	member := func() sffake.Record {
		t.Helper()
		ms := h.srv.Find("CampaignMember", "ContactId", contacts[0].ID)
		if len(ms) != 1 || ms[0].Fields["CampaignId"] != camps[0].ID {
			t.Fatalf("members %+v", ms)
		}
		return ms[0]
	}
	if m := member(); m.Fields["Status"] != "Registered" {
		t.Fatalf("member %+v", m)
	}
	if _, err := h.push(t, "registration.confirmed", reg); err != nil || len(h.srv.Records("Contact")) != 1 {
		t.Fatalf("repeat: %v, %d contacts", err, len(h.srv.Records("Contact")))
	}
	member()
	// The member link is lost (a retry after an unsaved answer): the
	// DUPLICATE_VALUE answer is resolved by a query, not a second member.
	h.links.Delete("campaign_member", "reg_1")
	att := map[string]any{}
	for k, v := range reg {
		att[k] = v
	}
	att["attended"] = true
	if _, err := h.push(t, "registration.confirmed", att); err != nil {
		t.Fatal(err)
	}
	if m := member(); m.Fields["Status"] != "Attended" {
		t.Fatalf("after attendance %+v", m)
	}
	if _, err := h.push(t, "registration.cancelled", map[string]any{"id": "reg_1", "event_id": "ev_1", "status": "cancelled"}); err != nil {
		t.Fatal(err)
	}
	if m := member(); m.Fields["Status"] != "Cancelled" || len(h.srv.Records("Contact")) != 1 {
		t.Fatalf("after cancel %+v", m)
	}

	pay := map[string]any{"id": "pay_1", "amount": 499.5, "currency": "USD", "status": "completed", "event_id": "ev_1",
		"registration_id": "reg_1", "user_email": "ada@example.com", "paid_at": "2031-08-01T12:00:00Z"}
	h.objects["registration/reg_1"] = providers.Object{Type: "registration", ID: "reg_1", Data: mustJSON(reg)}
	for i := 0; i < 2; i++ {
		if _, err := h.push(t, "payment.completed", pay); err != nil {
			t.Fatal(err)
		}
	}
	opps := h.srv.Records("Opportunity")
	if len(opps) != 1 || opps[0].Fields["Amount"] != 499.5 || opps[0].Fields["ContactId"] != contacts[0].ID ||
		opps[0].Fields["CampaignId"] != camps[0].ID || opps[0].Fields["CloseDate"] != "2031-08-01" || opps[0].Fields["Aqio_Payment_Id__c"] != "pay_1" ||
		opps[0].Fields["StageName"] != "Closed Won" || opps[0].Fields["Name"] != "Dreamforce — Ada Lovelace" {
		t.Fatalf("opportunities %+v", opps)
	}
}

func mustJSON(v any) json.RawMessage { b, _ := json.Marshal(v); return b }

// TestSessionRefreshAndLimits: INVALID_SESSION_ID refreshes once;
// REQUEST_LIMIT_EXCEEDED and a nearly used allocation slow down.
func TestSessionRefreshAndLimits(t *testing.T) {
	h := newHarness(t, nil)
	h.srv.OAuth.ExpireAccessTokens()
	reg := map[string]any{"id": "reg_1", "user_email": "grace@example.com", "user_name": "Grace Hopper", "status": "confirmed"}
	if _, err := h.push(t, "registration.confirmed", reg); err != nil || h.refreshs != 1 {
		t.Fatalf("refresh-once: %v, %d refreshes", err, h.refreshs)
	}
	h.srv.SetAPIUsage(h.srv.APIAllocation())
	_, err := h.push(t, "registration.confirmed", reg)
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRateLimited || pe.Code != "REQUEST_LIMIT_EXCEEDED" || pe.RetryAfter != salesforce.LimitWait {
		t.Fatalf("limit exceeded: %v", err)
	}
	// The failed answer said the allocation is used up: nothing is sent
	// until LimitWait has passed.
	sent := len(h.srv.Requests())
	_, err = h.push(t, "registration.confirmed", reg)
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRateLimited || pe.Code != "API_USAGE_HIGH" || pe.RetryAfter <= 0 || pe.RetryAfter > salesforce.LimitWait {
		t.Fatalf("slow down: %v", err)
	}
	if len(h.srv.Requests()) != sent {
		t.Fatal("a request went out while the org's allocation was used up")
	}
	// LimitWait later one request goes and reads the header: still above
	// 95%, so the connector waits again.
	clock := time.Now().Add(salesforce.LimitWait + time.Second)
	h.conn.Usage.Now = func() time.Time { return clock }
	h.srv.SetAPIUsage(h.srv.APIAllocation() - 2)
	if _, err := h.push(t, "registration.confirmed", reg); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	if _, err = h.push(t, "registration.confirmed", reg); err == nil {
		t.Fatal("sent at 99.99% of the allocation")
	}
	clock = clock.Add(salesforce.LimitWait + time.Second)
	h.srv.SetAPIUsage(10)
	if _, err := h.push(t, "registration.confirmed", reg); err != nil {
		t.Fatalf("after the second wait: %v", err)
	}
	if used, max, ok := h.conn.Usage.Reading(h.srv.InstanceURL()); !ok || used != 11 || max != h.srv.APIAllocation() {
		t.Fatalf("reading %d/%d %v", used, max, ok)
	}
}

func TestSeveralMatchesAndCheckSettings(t *testing.T) {
	h := newHarness(t, map[string]any{"field_mapping": map[string]any{"dietary_restrictions": "Dietary__c"}})
	h.srv.Duplicate("Contact", "Aqio_Email__c", "twin@example.com")
	_, err := h.push(t, "registration.confirmed", map[string]any{"id": "reg_t", "user_email": "twin@example.com", "status": "confirmed"})
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindPermanent || pe.Code != "MULTIPLE_CHOICES" {
		t.Fatalf("300: %v", err)
	}
	var se *providers.SettingsError
	if err := h.conn.CheckSettings(context.Background(), h.rt); !errors.As(err, &se) || se.Field != "settings.field_mapping.dietary_restrictions" {
		t.Fatalf("unknown field: %v", err)
	}
	h.srv.AddField("Contact", sffake.Field{Name: "Dietary__c", Label: "Dietary"})
	if err := h.conn.CheckSettings(context.Background(), h.rt); err != nil {
		t.Fatalf("known field: %v", err)
	}
	raw, _ := json.Marshal(map[string]any{"external_id_field": "Email", "sync_campaigns": true})
	h.rt.Settings, _ = h.conn.ParseSettings(raw)
	if err := h.conn.CheckSettings(context.Background(), h.rt); !errors.As(err, &se) || se.Field != "settings.external_id_field" || !strings.Contains(se.Message, "not an External ID") {
		t.Fatalf("not an external id: %v", err)
	}
}

// TestExportPage: 250 registrations go in two collection calls (≤ 200);
// a refused record is a per-record error; shared addresses go once.
func TestExportPage(t *testing.T) {
	h := newHarness(t, nil)
	var objs []providers.Object
	for i := 0; i < 250; i++ {
		email := fmt.Sprintf("p%03d@example.com", i)
		if i == 7 {
			email = "nodomain@localhost"
		}
		if i == 9 {
			email = "p008@example.com" // same person registered twice
		}
		objs = append(objs, providers.Object{Type: "registration", ID: fmt.Sprintf("r%03d", i),
			Data: mustJSON(map[string]any{"id": fmt.Sprintf("r%03d", i), "user_email": email, "user_name": "P " + fmt.Sprint(i), "status": "confirmed"})})
	}
	objs = append(objs, providers.Object{Type: "registration", ID: "rc", Status: "cancelled", Data: mustJSON(map[string]any{"id": "rc", "user_email": "c@example.com"})})
	res, err := h.conn.ExportPage(context.Background(), h.rt, objs)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, r := range h.srv.Requests() {
		if r.Method == "PATCH" && strings.HasSuffix(r.Path, "/composite/sobjects/Contact/Aqio_Email__c") {
			calls++
		}
	}
	if calls != 2 || res.Created != 248 || res.Updated != 1 || res.Skipped != 1 || len(res.Errors) != 1 ||
		res.Errors[0].ObjectID != "r007" || res.Errors[0].Code != "INVALID_EMAIL_ADDRESS" {
		t.Fatalf("%d calls, %+v", calls, res)
	}
	if n := len(h.srv.Records("Contact")); n != 248 {
		t.Fatalf("%d contacts", n)
	}
}

func TestRevoke(t *testing.T) {
	h := newHarness(t, nil)
	if err := h.conn.Revoke(context.Background(), h.rt); err != nil {
		t.Fatal(err)
	}
	if r := h.srv.OAuth.Revoked(); len(r) != 1 || r[0] != h.rt.Credentials.RefreshToken {
		t.Fatalf("revoked %v", r)
	}
	if err := h.conn.Revoke(context.Background(), h.rt); err != nil {
		t.Fatalf("already revoked: %v", err)
	}
}
