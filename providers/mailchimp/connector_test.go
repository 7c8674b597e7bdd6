package mailchimp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	fake "github.com/aqio/connect/internal/fakes/mailchimp"
	"github.com/aqio/connect/internal/fakes/oauth"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/providertest"
)

type env struct {
	rt   *providers.Runtime
	conn *Connector
	f    *fake.Fake
	srv  *httptest.Server
}

// newEnv is a runtime whose API base comes from the fake's metadata call
// (as a connection without a stored data center).
func newEnv(t *testing.T, settings string, opts fake.Options) *env {
	t.Helper()
	e := &env{conn: New()}
	e.conn.PollInterval = time.Millisecond
	opts.APIEndpoint = func() string { return e.srv.URL }
	e.f = fake.New(opts)
	e.f.AddToken("tok-1")
	e.f.AddList(fake.List{ID: listID, Name: "Aqio attendees"})
	e.srv = httptest.NewServer(e.f)
	t.Cleanup(e.srv.Close)
	s, err := ParseSettings([]byte(settings))
	if err != nil {
		t.Fatal(err)
	}
	info := e.conn.Info()
	info.OAuth.TokenURL = e.srv.URL + "/oauth2/token"
	e.rt = &providers.Runtime{
		IntegrationID: "int_1", OrganizationID: "org_1", Settings: s,
		Provider:    providers.Provider{Info: info, Connector: e.conn},
		Credentials: providers.Credentials{AccessToken: "tok-1"},
		HTTP:        TokenClient(e.srv.Client(), "tok-1"), Links: &providertest.MemLinks{},
		Objects: providertest.MemObjects{
			"event/evt_1": {Type: "event", ID: "evt_1", Data: json.RawMessage(`{"id":"evt_1","title":"Launch party"}`)},
		},
		Now: time.Now,
	}
	return e
}

func (e *env) push(t *testing.T, typ, obj string) (providers.Result, error) {
	t.Helper()
	return e.conn.Actions()[typ](context.Background(), e.rt, providers.Event{ID: "ev", Type: typ, Created: 1_800_000_000, Object: json.RawMessage(obj)})
}

func reg(id, email string, consent *bool, extra string) string {
	c := "null"
	if consent != nil {
		c = fmt.Sprint(*consent)
	}
	return fmt.Sprintf(`{"id":%q,"event_id":"evt_1","user_email":%q,"user_name":"Ada Lovelace","status":"confirmed","marketing_consent":%s%s}`, id, email, c, extra)
}

var yes, no = func() *bool { b := true; return &b }(), func() *bool { b := false; return &b }()

func TestParseSettings(t *testing.T) {
	s, err := ParseSettings(nil)
	if err != nil || s.StatusIfNew != StatusSubscribed || s.WithoutConsent != StatusTransactional || s.EventTagTemplate() != DefaultEventTag ||
		s.Mapping()["first_name"] != "FNAME" || s.Mapping()["last_name"] != "LNAME" {
		t.Fatalf("defaults %+v, %v", s, err)
	}
	if s, _ := ParseSettings([]byte(`{"merge_field_mapping":{}}`)); len(s.Mapping()) != 0 {
		t.Fatalf("an empty mapping maps nothing: %v", s.Mapping())
	}
	if s, _ := ParseSettings([]byte(`{"event_tag":""}`)); s.EventTagTemplate() != "" {
		t.Fatal("an empty event tag tags nothing")
	}
	for _, tc := range []struct{ name, raw, field string }{
		{"unknown setting", `{"list":"x"}`, "settings.list"},
		{"bad audience", `{"audience_id":"a b"}`, "settings.audience_id"},
		{"subscribe without consent", `{"without_consent":"subscribed"}`, "settings.without_consent"},
		{"bad status", `{"status_if_new":"transactional"}`, "settings.status_if_new"},
		{"tags for an unknown event", `{"tags":{"event.created":["x"]}}`, "settings.tags.event.created"},
		{"empty tag", `{"tags":{"registration.confirmed":[" "]}}`, "settings.tags.registration.confirmed[0]"},
		{"unknown placeholder", `{"event_tag":"{event_date}"}`, "settings.event_tag"},
		{"unknown Aqio field", `{"merge_field_mapping":{"shoe_size":"SHOE"}}`, "settings.merge_field_mapping.shoe_size"},
		{"lower-case tag", `{"merge_field_mapping":{"answers.company":"company"}}`, "settings.merge_field_mapping.answers.company"},
		{"email tag", `{"merge_field_mapping":{"user_name":"EMAIL"}}`, "settings.merge_field_mapping.user_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSettings([]byte(tc.raw))
			se, ok := err.(*providers.SettingsError)
			if !ok || se.Field != tc.field {
				t.Fatalf("err %v, want a SettingsError on %s", err, tc.field)
			}
		})
	}
}

func TestCheckSettings(t *testing.T) {
	e := newEnv(t, `{"audience_id":"zzzzzzzzzz"}`, fake.Options{})
	check := func(settings string) error {
		s, err := ParseSettings([]byte(settings))
		if err != nil {
			t.Fatal(err)
		}
		e.rt.Settings = s
		return e.conn.CheckSettings(context.Background(), e.rt)
	}
	if se, ok := check(`{"audience_id":"zzzzzzzzzz"}`).(*providers.SettingsError); !ok || se.Field != "settings.audience_id" {
		t.Fatalf("unknown audience: %v", se)
	}
	err := check(`{"audience_id":"` + listID + `","merge_field_mapping":{"first_name":"FNAME","answers.company":"COMPANY"}}`)
	if se, ok := err.(*providers.SettingsError); !ok || se.Field != "settings.merge_field_mapping.answers.company" || !strings.Contains(se.Message, `"COMPANY"`) {
		t.Fatalf("unknown merge tag: %v", err)
	}
	e.f.AddMergeField(listID, fake.MergeField{Tag: "COMPANY", Name: "Company", Type: "text"})
	if err := check(`{"audience_id":"` + listID + `","merge_field_mapping":{"first_name":"FNAME","answers.company":"COMPANY"}}`); err != nil {
		t.Fatal(err)
	}
	if se, ok := check(`{"audience_id":"` + listID + `","merge_field_mapping":{"answers.street":"ADDRESS"}}`).(*providers.SettingsError); !ok || !strings.Contains(se.Message, "address") {
		t.Fatalf("address field: %v", se)
	}
	e.f.AddMergeField(listID, fake.MergeField{Tag: "TICKET", Name: "Ticket", Type: "text", Required: true})
	if se, ok := check(`{"audience_id":"` + listID + `"}`).(*providers.SettingsError); !ok || se.Field != "settings.merge_field_mapping" || !strings.Contains(se.Message, "TICKET") {
		t.Fatalf("required merge field not mapped: %v", se)
	}
	if err := check(`{"audience_id":"` + listID + `","merge_field_mapping":{"first_name":"FNAME","ticket_type":"TICKET"}}`); err != nil {
		t.Fatal(err)
	}
}

func TestConfirmedRespectsConsent(t *testing.T) {
	e := newEnv(t, `{"audience_id":"`+listID+`","tags":{"registration.confirmed":["Aqio"]}}`, fake.Options{})
	res, err := e.push(t, "registration.confirmed", reg("reg_1", "Ada@Example.com", yes, ""))
	m, _ := e.f.Member(listID, "ada@example.com")
	if err != nil || res.Action != "created" || res.ExternalID != SubscriberHash("ada@example.com") || m.Status != "subscribed" ||
		m.MergeFields["FNAME"] != "Ada" || m.MergeFields["LNAME"] != "Lovelace" || strings.Join(m.Tags, ",") != "Aqio,Launch party" {
		t.Fatalf("consented: %+v %v, member %+v", res, err, m)
	}
	// No consent (absent or false): a transactional contact, never subscribed.
	for i, c := range []*bool{nil, no} {
		email := fmt.Sprintf("grace%d@example.com", i)
		if _, err := e.push(t, "registration.confirmed", reg(fmt.Sprint("reg_g", i), email, c, "")); err != nil {
			t.Fatal(err)
		}
		if m, _ := e.f.Member(listID, email); m.Status != "transactional" || m.StatusIfNews[0] != "transactional" {
			t.Fatalf("without consent (%v): %+v", c, m)
		}
	}
	// The same person opts in later: the transactional contact is subscribed.
	if _, err := e.push(t, "registration.confirmed", reg("reg_g0b", "grace0@example.com", yes, "")); err != nil {
		t.Fatal(err)
	}
	if m, _ := e.f.Member(listID, "grace0@example.com"); m.Status != "subscribed" {
		t.Fatalf("opted in later: %+v", m)
	}
	// A member who unsubscribed in Mailchimp stays unsubscribed.
	e.f.SetMemberStatus(listID, "ada@example.com", "unsubscribed")
	res, err = e.push(t, "registration.confirmed", reg("reg_1", "ada@example.com", yes, ""))
	if m, _ := e.f.Member(listID, "ada@example.com"); err != nil || m.Status != "unsubscribed" || res.Action != "updated" {
		t.Fatalf("unsubscribed member: %+v %v %+v", res, err, m)
	}
	// without_consent skip: nothing is sent.
	e.rt.Settings, _ = ParseSettings([]byte(`{"audience_id":"` + listID + `","without_consent":"skip"}`))
	before := len(e.f.Requests())
	res, err = e.push(t, "registration.confirmed", reg("reg_x", "linus@example.com", nil, ""))
	if err != nil || res.Action != "skipped" || len(e.f.Requests()) != before {
		t.Fatalf("skip: %+v %v", res, err)
	}
	// A refused address (compliance state) is skipped, not a failure.
	e.f.RefuseEmail("gone@example.com", "Member In Compliance State", "gone@example.com is already a list member in compliance state due to unsubscribe, bounce, or compliance review.")
	if res, err := e.push(t, "registration.confirmed", reg("reg_y", "gone@example.com", yes, "")); err != nil || res.Action != "skipped" {
		t.Fatalf("compliance state: %+v %v", res, err)
	}
	// The metadata endpoint was asked once (then the base is cached).
	if n := e.f.Count("GET", "/oauth2/metadata"); n != 1 {
		t.Fatalf("%d metadata calls", n)
	}
}

func TestConfirmedDoubleOptInAndNoAudience(t *testing.T) {
	e := newEnv(t, `{"status_if_new":"pending"}`, fake.Options{})
	_, err := e.push(t, "registration.confirmed", reg("reg_1", "ada@example.com", yes, ""))
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindPermanent || pe.Field != "settings.audience_id" {
		t.Fatalf("no audience: %v", err)
	}
	e.rt.Settings, _ = ParseSettings([]byte(`{"audience_id":"` + listID + `","status_if_new":"pending"}`))
	if _, err := e.push(t, "registration.confirmed", reg("reg_1", "ada@example.com", yes, "")); err != nil {
		t.Fatal(err)
	}
	if m, _ := e.f.Member(listID, "ada@example.com"); m.Status != "pending" {
		t.Fatalf("double opt-in: %+v", m)
	}
}

func TestCancelled(t *testing.T) {
	e := newEnv(t, `{"audience_id":"`+listID+`","tags":{"registration.cancelled":["Cancelled {event_title}"]}}`, fake.Options{})
	if _, err := e.push(t, "registration.confirmed", reg("reg_1", "ada@example.com", yes, "")); err != nil {
		t.Fatal(err)
	}
	res, err := e.push(t, "registration.cancelled", strings.Replace(reg("reg_1", "ada@example.com", yes, ""), `"confirmed"`, `"cancelled"`, 1))
	m, _ := e.f.Member(listID, "ada@example.com")
	if err != nil || res.Action != "updated" || strings.Join(m.Tags, ",") != "Cancelled Launch party" || m.Status != "subscribed" {
		t.Fatalf("cancelled: %+v %v, member %+v", res, err, m)
	}
	if res, err := e.push(t, "registration.cancelled", reg("reg_2", "nobody@example.com", nil, "")); err != nil || res.Action != "skipped" {
		t.Fatalf("cancel of a non-member: %+v %v", res, err)
	}
}

func TestRateLimitedPush(t *testing.T) {
	e := newEnv(t, `{"audience_id":"`+listID+`"}`, fake.Options{})
	e.f.Throttle(1, http.StatusForbidden)
	_, err := e.push(t, "registration.confirmed", reg("reg_1", "ada@example.com", yes, ""))
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRateLimited {
		t.Fatalf("bare 403: %v", err)
	}
	e.f.Fail("PUT", "/3.0/lists/", 1, 401, `{"type":"`+fake.ErrorType+`","title":"API Key Invalid","status":401,"detail":"Your API key may be invalid.","instance":"x"}`)
	_, err = e.push(t, "registration.confirmed", reg("reg_1", "ada@example.com", yes, ""))
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindAuth {
		t.Fatalf("401: %v", err)
	}
}

// TestConcurrencyCap: the runtime's session caps a connection at Info's
// 10 requests in flight; the fake answers 429 to an 11th.
func TestConcurrencyCap(t *testing.T) {
	e := newEnv(t, `{"audience_id":"`+listID+`"}`, fake.Options{})
	e.f.SetLatency(20 * time.Millisecond)
	info := e.conn.Info()
	sess := providers.NewSession(e.conn, info, providers.Credentials{AccessToken: "tok-1"})
	sess.Limit = (&providers.Limits{}).For("int_1", info.Concurrency)
	cl := &Client{BaseURL: e.srv.URL + "/3.0", HTTP: sess.Client(e.srv.Client())}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- cl.Ping(context.Background()) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("capped pings: %v", err)
		}
	}
	if n := e.f.MaxInFlight(); n > fake.MaxConnections || n < 2 {
		t.Fatalf("max in flight %d", n)
	}
	// Uncapped, the same burst trips Mailchimp's limit.
	raw := &Client{BaseURL: e.srv.URL + "/3.0", HTTP: TokenClient(e.srv.Client(), "tok-1")}
	var limited sync.Once
	hit := false
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if pe, ok := providers.AsError(raw.Ping(context.Background())); ok && pe.Code == CodeTooManyRequests {
				limited.Do(func() { hit = true })
			}
		}()
	}
	wg.Wait()
	if !hit {
		t.Fatal("40 uncapped requests never hit the 10-connection limit")
	}
}

func TestExportPage(t *testing.T) {
	e := newEnv(t, `{"audience_id":"`+listID+`","without_consent":"skip"}`, fake.Options{BatchPolls: 2})
	e.f.RefuseEmail("gone@example.com", "Member In Compliance State", "gone@example.com is already a list member in compliance state due to unsubscribe, bounce, or compliance review.")
	// Grace is already a transactional contact and has opted in since.
	e.f.AddToken("tok-1")
	if _, err := (&Client{BaseURL: e.srv.URL + "/3.0", HTTP: e.rt.HTTP}).UpsertMember(context.Background(), listID, MemberInput{Email: "grace@example.com", StatusIfNew: "transactional"}); err != nil {
		t.Fatal(err)
	}
	obj := func(id, data, status string) providers.Object {
		return providers.Object{Type: "registration", ID: id, ParentID: "evt_1", Status: status, Data: json.RawMessage(data), UpdatedAt: time.Unix(1_800_000_000, 0)}
	}
	objs := []providers.Object{
		obj("reg_1", reg("reg_1", "ada@example.com", yes, ""), ""),
		obj("reg_2", reg("reg_2", "grace@example.com", yes, ""), ""),
		obj("reg_3", reg("reg_3", "gone@example.com", yes, ""), ""),
		obj("reg_4", reg("reg_4", "nobody@localhost", yes, ""), ""),
		obj("reg_5", reg("reg_5", "quiet@example.com", nil, ""), ""),
		obj("reg_6", reg("reg_6", "left@example.com", yes, ""), "cancelled"),
		obj("reg_7", `{"id":"reg_7","event_id":"evt_1"}`, ""),
	}
	res, err := e.conn.ExportPage(context.Background(), e.rt, objs)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{}
	for _, re := range res.Errors {
		codes[re.ObjectID] = re.Code
	}
	if res.Created != 2 || res.Skipped != 2 || len(res.Errors) != 3 || codes["reg_3"] != CodeComplianceState || codes["reg_4"] != "invalid_resource" || codes["reg_7"] != "no_email" {
		t.Fatalf("page %+v", res)
	}
	ada, _ := e.f.Member(listID, "ada@example.com")
	grace, _ := e.f.Member(listID, "grace@example.com")
	if ada.Status != "subscribed" || strings.Join(ada.Tags, ",") != "Launch party" || grace.Status != "subscribed" || grace.MergeFields["FNAME"] != "Ada" {
		t.Fatalf("members %+v %+v", ada, grace)
	}
	if _, ok := e.f.Member(listID, "quiet@example.com"); ok {
		t.Fatal("a registrant without consent was exported with without_consent skip")
	}
	if b := e.f.Batches(); len(b) != 2 || b[0].Operations != 4 || b[1].Operations != 3 {
		t.Fatalf("batches %+v", b)
	}
	// The page again: the same members are updated, not created.
	res, err = e.conn.ExportPage(context.Background(), e.rt, objs)
	if err != nil || res.Updated != 2 || res.Created != 0 {
		t.Fatalf("second run %+v, %v", res, err)
	}
}

// TestExportPageResumesBatch: a batch still running when the page gives
// up is found again by the retried page, not submitted twice.
func TestExportPageResumesBatch(t *testing.T) {
	e := newEnv(t, `{"audience_id":"`+listID+`","event_tag":""}`, fake.Options{BatchPolls: 1000})
	e.conn.MaxWait = 5 * time.Millisecond
	objs := []providers.Object{{Type: "registration", ID: "reg_1", Data: json.RawMessage(reg("reg_1", "ada@example.com", yes, "")), UpdatedAt: time.Unix(1_800_000_000, 0)}}
	_, err := e.conn.ExportPage(context.Background(), e.rt, objs)
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRateLimited || pe.Code != "batch_pending" || pe.RetryAfter != batchPendingDelay {
		t.Fatalf("pending batch: %v", err)
	}
	// Mailchimp finishes the batch meanwhile; the retried page polls it.
	e.conn.MaxWait = time.Minute
	e.f.FinishBatches()
	res, err := e.conn.ExportPage(context.Background(), e.rt, objs)
	if err != nil || res.Created != 1 || len(e.f.Batches()) != 1 {
		t.Fatalf("resumed: %+v %v, %d batches", res, err, len(e.f.Batches()))
	}
}

// TestOAuthAndAfterConnect: the fake's token endpoint answers as
// Mailchimp's (no refresh token, expires_in 0) and AfterConnect learns
// the data center, which APIBase then uses.
func TestOAuthAndAfterConnect(t *testing.T) {
	iss := oauth.NewIssuer()
	srv := fake.NewServer(iss, map[string]string{"cid": "secret"}, fake.Options{DC: "us21"})
	defer srv.Close()
	srv.AddList(fake.List{ID: listID})
	conn := New()
	info := conn.Info()
	info.OAuth.AuthURL, info.OAuth.TokenURL = srv.AuthURL(), srv.TokenURL()
	p := providers.Provider{Info: info, Connector: conn, ClientID: "cid", ClientSecret: "secret"}
	cfg := p.OAuth2Config("https://connect.aqio.test/api/integrations/oauth/callback")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(cfg.AuthCodeURL("st", p.AuthCodeOptions("verifier")...))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	tok, err := cfg.Exchange(context.Background(), loc.Query().Get("code"), p.ExchangeOptions("verifier")...)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" || !tok.Expiry.IsZero() || tok.AccessToken == "" {
		t.Fatalf("token %+v: want no refresh token and no expiry", tok)
	}
	rt := &providers.Runtime{Provider: p, HTTP: TokenClient(srv.Client(), tok.AccessToken)}
	extras, err := conn.AfterConnect(context.Background(), rt)
	if err != nil || extras["dc"] != "us21" || extras["api_endpoint"] != srv.URL {
		t.Fatalf("extras %v, %v", extras, err)
	}
	base := conn.APIBase(providers.Credentials{Extra: extras})
	if base != srv.URL+"/3.0" {
		t.Fatalf("base %s", base)
	}
	if _, err := (&Client{BaseURL: base, HTTP: rt.HTTP}).GetList(context.Background(), listID); err != nil {
		t.Fatal(err)
	}
}
