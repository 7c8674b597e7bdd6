package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fake "github.com/aqio/connect/internal/fakes/hubspot"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/providertest"
)

func runtime(t *testing.T, settings string) (*providers.Runtime, *fake.Fake) {
	t.Helper()
	f := fake.New(fake.Options{})
	f.AddToken("tok-1")
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	s, err := ParseSettings([]byte(settings))
	if err != nil {
		t.Fatal(err)
	}
	return &providers.Runtime{
		IntegrationID: "int_1", OrganizationID: "org_1", APIBaseURL: srv.URL, Settings: s,
		HTTP: BearerClient(srv.Client(), "tok-1"), Links: &providertest.MemLinks{},
		Objects: providertest.MemObjects{
			"event/evt_1":        {Type: "event", ID: "evt_1", Data: json.RawMessage(`{"id":"evt_1","title":"Launch party","starts_at":"2026-12-24T18:00:00Z","location_type":"hybrid","price":49.5,"currency":"NOK"}`)},
			"registration/reg_1": {Type: "registration", ID: "reg_1", Data: json.RawMessage(`{"id":"reg_1","event_id":"evt_1","user_email":"ada@example.com","user_name":"Ada Lovelace"}`)},
		},
		Now: func() time.Time { return time.Unix(1_800_000_000, 0) },
	}, f
}

func push(t *testing.T, rt *providers.Runtime, typ, obj string) providers.Result {
	t.Helper()
	res, err := New().Actions()[typ](context.Background(), rt, providers.Event{ID: "ev", Type: typ, Created: 1_800_000_000, Object: json.RawMessage(obj)})
	if err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	return res
}

func TestParseSettings(t *testing.T) {
	s, err := ParseSettings([]byte(`{"sync_contacts":true,"create_deals_for_paid_events":true,"sync_event_attendance":true,
		"contact_property_mapping":{"dietary_restrictions":"dietary_preferences","registration_source":"event_source"}}`))
	if err != nil {
		t.Fatalf("the seed's settings: %v", err)
	}
	if !s.Contacts() || s.DealPipeline != "default" || s.DealStage != "closedwon" {
		t.Fatalf("defaults %+v", s)
	}
	if d, _ := ParseSettings(nil); !d.Contacts() || d.CreateDealsForPaidEvents || d.SyncEventAttendance {
		t.Fatalf("empty settings %+v", d)
	}
	for _, tc := range []struct{ name, raw, field string }{
		{"unknown setting", `{"sync_deals":true}`, "settings.sync_deals"},
		{"wrong type", `{"sync_contacts":"yes"}`, "settings.sync_contacts"},
		{"unknown source", `{"contact_property_mapping":{"shoe_size":"x"}}`, "settings.contact_property_mapping.shoe_size"},
		{"reserved target", `{"contact_property_mapping":{"user_name":"firstname"}}`, "settings.contact_property_mapping.user_name"},
		{"bad stage", `{"deal_stage":"closed won"}`, "settings.deal_stage"},
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

func TestCheckSettingsAgainstPortal(t *testing.T) {
	rt, f := runtime(t, `{"contact_property_mapping":{"dietary_restrictions":"dietary_preferences","registration_source":"event_source"}}`)
	err := New().CheckSettings(context.Background(), rt)
	se, ok := err.(*providers.SettingsError)
	if !ok || se.Field != "settings.contact_property_mapping.dietary_restrictions" ||
		!strings.Contains(se.Message, `"dietary_preferences", "event_source"`) {
		t.Fatalf("err %v, want both unknown properties named", err)
	}
	f.AddProperty(fake.Property{Name: "dietary_preferences"})
	err = New().CheckSettings(context.Background(), rt)
	if se, ok := err.(*providers.SettingsError); !ok || se.Field != "settings.contact_property_mapping.registration_source" || !strings.Contains(se.Message, `"event_source"`) {
		t.Fatalf("err %v, want event_source named", err)
	}
	f.AddProperty(fake.Property{Name: "event_source"})
	if err := New().CheckSettings(context.Background(), rt); err != nil {
		t.Fatalf("all properties exist: %v", err)
	}
	rt.Settings, _ = ParseSettings([]byte(`{"contact_property_mapping":{"user_id":"hs_object_id"}}`))
	if se, ok := New().CheckSettings(context.Background(), rt).(*providers.SettingsError); !ok || !strings.Contains(se.Message, "read-only") {
		t.Fatalf("read-only target accepted: %v", se)
	}
}

func TestRegistrationPushes(t *testing.T) {
	rt, f := runtime(t, `{"sync_event_attendance":true,"contact_property_mapping":{"dietary_restrictions":"dietary_preferences","answers.company":"company"}}`)
	f.AddProperty(fake.Property{Name: "dietary_preferences"})
	reg := `{"id":"reg_1","event_id":"evt_1","user_email":"Ada@Example.com","user_name":"Ada Lovelace","status":"confirmed","dietary_restrictions":"vegan","answers":{"company":"Engines Ltd"}}`
	res := push(t, rt, "registration.confirmed", reg)
	c, ok := f.Contact("ada@example.com")
	if !ok || res.Action != "created" || res.ExternalID != c.ID {
		t.Fatalf("result %+v, contact %+v", res, c)
	}
	want := map[string]string{"email": "ada@example.com", "firstname": "Ada", "lastname": "Lovelace", "dietary_preferences": "vegan", "company": "Engines Ltd"}
	for k, v := range want {
		if c.Properties[k] != v {
			t.Fatalf("contact property %s = %q, want %q (%v)", k, c.Properties[k], v, c.Properties)
		}
	}
	me, ok := f.MarketingEvent("org_1", "evt_1")
	if !ok || me.Body["eventName"] != "Launch party" || me.Body["eventType"] != "Hybrid" || me.Body["startDateTime"] != "2026-12-24T18:00:00Z" {
		t.Fatalf("marketing event %+v", me)
	}
	// A retry of the same push changes nothing at HubSpot's side.
	if again := push(t, rt, "registration.confirmed", reg); again.ExternalID != c.ID || again.Action != "updated" {
		t.Fatalf("retry %+v", again)
	}
	attended := strings.Replace(reg, `"status":"confirmed"`, `"status":"confirmed","attended":true`, 1)
	push(t, rt, "registration.confirmed", attended)
	push(t, rt, "registration.cancelled", strings.Replace(reg, `"confirmed"`, `"cancelled"`, 1))
	var states []string
	for _, p := range f.Attendance("org_1", "evt_1") {
		states = append(states, p.State)
	}
	if strings.Join(states, ",") != "register,attend,cancel" {
		t.Fatalf("states %v, want register,attend,cancel once each", states)
	}
	push(t, rt, "event.cancelled", `{"id":"evt_1","status":"cancelled"}`)
	if me, _ := f.MarketingEvent("org_1", "evt_1"); !me.Cancelled {
		t.Fatal("marketing event not cancelled")
	}
}

func TestContactsOffAttendanceOff(t *testing.T) {
	rt, f := runtime(t, `{"sync_contacts":false}`)
	res := push(t, rt, "registration.confirmed", `{"id":"reg_1","event_id":"evt_1","user_email":"ada@example.com"}`)
	if res.Action != "skipped" || len(f.Requests()) != 0 {
		t.Fatalf("result %+v, %d requests", res, len(f.Requests()))
	}
}

func TestPaymentCreatesOneDeal(t *testing.T) {
	rt, f := runtime(t, `{"create_deals_for_paid_events":true}`)
	pay := `{"id":"pay_1","amount":49.5,"currency":"nok","status":"completed","event_id":"evt_1","registration_id":"reg_1","user_email":"ada@example.com","paid_at":"2026-12-01T10:00:00Z"}`
	res := push(t, rt, "payment.completed", pay)
	deals := f.Deals()
	c, _ := f.Contact("ada@example.com")
	if res.Action != "created" || len(deals) != 1 || res.ExternalID != deals[0].ID {
		t.Fatalf("result %+v, deals %+v", res, deals)
	}
	d := deals[0]
	if d.Properties["dealname"] != "Launch party — Ada Lovelace" || d.Properties["amount"] != "49.5" || d.Properties["deal_currency_code"] != "NOK" ||
		d.Properties["dealstage"] != "closedwon" || d.Properties["closedate"] != "2026-12-01T10:00:00Z" || len(d.Contacts) != 1 || d.Contacts[0] != c.ID {
		t.Fatalf("deal %+v, contact %s", d, c.ID)
	}
	if again := push(t, rt, "payment.completed", pay); again.Action != "skipped" || again.ExternalID != d.ID || len(f.Deals()) != 1 {
		t.Fatalf("repeat %+v, %d deals", again, len(f.Deals()))
	}
	if free := push(t, rt, "payment.completed", `{"id":"pay_2","amount":0,"currency":"NOK"}`); free.Action != "skipped" {
		t.Fatalf("free payment %+v", free)
	}
}

func TestPaymentDealRefusedIsPermanent(t *testing.T) {
	rt, f := runtime(t, `{"create_deals_for_paid_events":true,"deal_stage":"nonexistent"}`)
	f.Fail("POST", "/crm/v3/objects/deals", 1, 400, `{"status":"error","message":"Property values were not valid: [{\"isValid\":false,\"message\":\"nonexistent was not one of the allowed options\",\"error\":\"INVALID_OPTION\",\"name\":\"dealstage\"}]","correlationId":"c-1","category":"VALIDATION_ERROR"}`)
	_, err := New().Actions()["payment.completed"](context.Background(), rt, providers.Event{Type: "payment.completed", Object: json.RawMessage(`{"id":"pay_1","amount":10,"currency":"NOK","user_email":"x@example.com"}`)})
	pe, ok := providers.AsError(err)
	if !ok || pe.Kind != providers.KindPermanent || !strings.Contains(pe.Message, "INVALID_OPTION") || !strings.Contains(pe.Message, "c-1") {
		t.Fatalf("err %v", err)
	}
	if _, err := rt.Links.Get(context.Background(), "payment", "pay_1"); err == nil {
		t.Fatal("a refused deal left a link")
	}
}

func TestExportPage(t *testing.T) {
	rt, f := runtime(t, `{}`)
	var objs []providers.Object
	for i := 0; i < 120; i++ {
		objs = append(objs, providers.Object{Type: "registration", ID: fmt.Sprintf("reg_%d", i), Data: json.RawMessage(fmt.Sprintf(`{"id":"reg_%d","user_email":"p%d@example.com","user_name":"P %d"}`, i, i, i))})
	}
	objs = append(objs,
		providers.Object{Type: "registration", ID: "reg_bad", Data: json.RawMessage(`{"id":"reg_bad","user_email":"ada@localhost"}`)},
		providers.Object{Type: "registration", ID: "reg_none", Data: json.RawMessage(`{"id":"reg_none"}`)},
		providers.Object{Type: "registration", ID: "reg_gone", Status: "cancelled", Data: json.RawMessage(`{"id":"reg_gone","user_email":"g@example.com"}`)})
	res, err := New().ExportPage(context.Background(), rt, objs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 120 || res.Skipped != 1 || len(res.Errors) != 2 {
		t.Fatalf("page %+v", res)
	}
	codes := map[string]string{}
	for _, e := range res.Errors {
		codes[e.ObjectID] = e.Code
	}
	if codes["reg_bad"] != "VALIDATION_ERROR" || codes["reg_none"] != "no_email" {
		t.Fatalf("errors %+v", res.Errors)
	}
	if _, ok := f.Contact("p119@example.com"); !ok {
		t.Fatal("second batch not written")
	}
	if l, err := rt.Links.Get(context.Background(), "registration", "reg_7"); err != nil || l.ExternalID == "" {
		t.Fatalf("link %+v %v", l, err)
	}
	again, err := New().ExportPage(context.Background(), rt, objs[:120])
	if err != nil || again.Updated != 120 || again.Created != 0 {
		t.Fatalf("second run %+v %v", again, err)
	}
}

func TestRevoke(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got = append(got, r.URL.Path+" "+r.PostForm.Get("token")+" "+r.PostForm.Get("token_type_hint")+" "+r.PostForm.Get("client_id")+" "+r.PostForm.Get("client_secret"))
		if r.PostForm.Get("token") == "dead" {
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"status":"BAD_REFRESH_TOKEN","message":"missing or unknown refresh token","correlationId":"c"}`)
			return
		}
		if r.PostForm.Get("client_secret") != "secret" {
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"status":"error","message":"invalid client","category":"VALIDATION_ERROR"}`)
			return
		}
		w.WriteHeader(204)
	}))
	defer srv.Close()
	info := New().Info()
	o := *info.OAuth
	o.RevokeURL = srv.URL + "/oauth/v3/token/revoke"
	rt := &providers.Runtime{HTTP: srv.Client(), Provider: providers.Provider{Info: providers.Info{OAuth: &o}, ClientID: "cid", ClientSecret: "secret"},
		Credentials: providers.Credentials{RefreshToken: "rt-1"}}
	if err := New().Revoke(context.Background(), rt); err != nil {
		t.Fatal(err)
	}
	rt.Credentials.RefreshToken = "dead"
	if err := New().Revoke(context.Background(), rt); err != nil {
		t.Fatalf("already dead token: %v", err)
	}
	rt.Credentials.RefreshToken, rt.Provider.ClientSecret = "rt-2", "wrong"
	if err := New().Revoke(context.Background(), rt); err == nil {
		t.Fatal("a refused revocation passed")
	}
	if got[0] != "/oauth/v3/token/revoke rt-1 refresh_token cid secret" {
		t.Fatalf("revoke request %q", got[0])
	}
}

func TestTokenTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(400)
		if r.URL.Path == "/standard" {
			_, _ = io.WriteString(w, `{"error":"invalid_request"}`)
			return
		}
		_, _ = io.WriteString(w, `{"status":"BAD_REFRESH_TOKEN","message":"missing or unknown refresh token","correlationId":"c"}`)
	}))
	defer srv.Close()
	hc := &http.Client{Transport: New().TokenTransport(http.DefaultTransport)}
	for path, want := range map[string]string{"/hubspot": `"error":"invalid_grant"`, "/standard": `{"error":"invalid_request"}`} {
		resp, err := hc.Post(srv.URL+path, "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), want) {
			t.Fatalf("%s: body %s, want %s", path, b, want)
		}
	}
}
