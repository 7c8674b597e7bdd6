package pipedrive

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	fake "github.com/aqio/connect/internal/fakes/pipedrive"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/providertest"
)

func setup(t *testing.T, settings string) (*Connector, *providers.Runtime, *fake.Fake) {
	t.Helper()
	f := fake.New(fake.Options{})
	f.AddToken("tok-1")
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := New()
	set, err := c.ParseSettings([]byte(settings))
	if err != nil {
		t.Fatal(err)
	}
	creds := providers.Credentials{AccessToken: "tok-1", Extra: map[string]any{"api_domain": srv.URL + "/"}}
	sess := providers.NewSession(c, c.Info(), creds)
	rt := &providers.Runtime{IntegrationID: "int_1", OrganizationID: "org_1", APIBaseURL: c.APIBase(creds), Settings: set, Credentials: creds,
		HTTP: sess.Client(srv.Client()), Links: &providertest.MemLinks{},
		Objects: providertest.MemObjects{
			"event/evt_1":        {Type: "event", ID: "evt_1", Data: json.RawMessage(`{"id":"evt_1","title":"Summit"}`)},
			"registration/reg_1": {Type: "registration", ID: "reg_1", Data: json.RawMessage(`{"id":"reg_1","event_id":"evt_1","user_email":"ada@example.com","user_name":"Ada Lovelace"}`)},
		}}
	return c, rt, f
}

func ev(typ string, obj map[string]any) providers.Event {
	b, _ := json.Marshal(obj)
	return providers.Event{ID: "e1", Type: typ, Object: b}
}

func reg(email string) map[string]any {
	return map[string]any{"id": "reg_1", "event_id": "evt_1", "user_email": email, "user_name": "Ada Lovelace", "dietary_restrictions": "vegan"}
}

func TestRegistrationUpsertsOnePerson(t *testing.T) {
	c, rt, f := setup(t, `{}`)
	diet := f.AddField("Dietary", "varchar")
	rt.Settings, _ = ParseSettings([]byte(`{"person_field_mapping":{"dietary_restrictions":"Dietary"}}`))
	ctx := context.Background()
	if err := c.CheckSettings(ctx, rt); err != nil {
		t.Fatal(err)
	}
	res, err := c.Actions()["registration.confirmed"](ctx, rt, ev("registration.confirmed", reg("Ada@Example.com")))
	if err != nil || res.Action != "created" {
		t.Fatalf("push %+v %v", res, err)
	}
	// Retried, and as registration.created: the same person, patched.
	for _, typ := range []string{"registration.confirmed", "registration.created"} {
		if res, err := c.Actions()[typ](ctx, rt, ev(typ, reg("ada@example.com"))); err != nil || res.Action != "updated" {
			t.Fatalf("again %s: %+v %v", typ, res, err)
		}
	}
	ps := f.Persons("ada@example.com")
	if len(ps) != 1 || ps[0].Name != "Ada Lovelace" || ps[0].CustomFields[diet] != "vegan" {
		t.Fatalf("persons %+v", ps)
	}
	if f.Count("POST", "/api/v2/persons") != 1 || f.Count("GET", "/api/v2/persons/search") != 1 {
		t.Fatalf("%d creates and %d searches, want 1 and 1 (the link spares later searches)", f.Count("POST", "/api/v2/persons"), f.Count("GET", "/api/v2/persons/search"))
	}
	// Deleted in Pipedrive: found no more through the link, created again.
	f.DeletePerson(ps[0].ID)
	if res, err := c.Actions()["registration.confirmed"](ctx, rt, ev("registration.confirmed", reg("ada@example.com"))); err != nil || res.Action != "created" {
		t.Fatalf("after delete %+v %v", res, err)
	}
	if len(f.Persons("ada@example.com")) != 1 {
		t.Fatalf("persons %+v", f.Persons("ada@example.com"))
	}
}

func TestExistingPersonIsFoundBySearch(t *testing.T) {
	c, rt, f := setup(t, `{}`)
	ctx := context.Background()
	// Someone already in Pipedrive (added by hand) is patched, not duplicated.
	cl := &Client{BaseURL: rt.APIBaseURL, HTTP: rt.HTTP}
	existing, err := cl.CreatePerson(ctx, PersonInput{Name: "Ada L.", Email: "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Actions()["registration.confirmed"](ctx, rt, ev("registration.confirmed", reg("ada@example.com")))
	if err != nil || res.Action != "updated" || res.ExternalID != strconv.Itoa(existing.ID) {
		t.Fatalf("push %+v %v", res, err)
	}
	if ps := f.Persons("ada@example.com"); len(ps) != 1 || ps[0].Name != "Ada Lovelace" {
		t.Fatalf("persons %+v", ps)
	}
}

func TestPaymentCreatesOneDeal(t *testing.T) {
	c, rt, f := setup(t, `{"create_deals_for_paid_events":true}`)
	ctx := context.Background()
	pay := map[string]any{"id": "pay_1", "amount": 250, "currency": "nok", "status": "completed", "event_id": "evt_1",
		"registration_id": "reg_1", "user_email": "ada@example.com"}
	for i := 0; i < 2; i++ {
		if _, err := c.Actions()["payment.completed"](ctx, rt, ev("payment.completed", pay)); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := f.Person("ada@example.com")
	deals := f.Deals(p.ID)
	if len(deals) != 1 || deals[0].Title != "Summit — Ada Lovelace" || deals[0].Value != 250 || deals[0].Currency != "NOK" || deals[0].Status != "won" {
		t.Fatalf("deals %+v", deals)
	}
	// A create whose answer was lost (link left pending): the retry finds
	// the deal on the person instead of creating a second.
	pay2 := map[string]any{"id": "pay_2", "amount": 100, "currency": "NOK", "event_id": "evt_1", "user_email": "ada@example.com", "registration_id": "reg_1"}
	cl := &Client{BaseURL: rt.APIBaseURL, HTTP: rt.HTTP}
	lost, err := cl.CreateDeal(ctx, DealInput{Title: "Summit — Ada Lovelace", Value: 100, Currency: "NOK", PersonID: p.ID, Status: "won"})
	if err != nil {
		t.Fatal(err)
	}
	_ = rt.Links.Put(ctx, providers.Link{ObjectType: linkDeal, ObjectID: "pay_2", Status: "pending"})
	res, err := c.Actions()["payment.completed"](ctx, rt, ev("payment.completed", pay2))
	if err != nil || res.ExternalID != strconv.Itoa(lost.ID) || len(f.Deals(p.ID)) != 2 {
		t.Fatalf("recovered %+v %v, deals %+v", res, err, f.Deals(p.ID))
	}
	// Free events create no deal.
	if res, err := c.Actions()["payment.completed"](ctx, rt, ev("payment.completed", map[string]any{"id": "pay_3", "amount": 0, "currency": "NOK"})); err != nil || res.Action != "skipped" {
		t.Fatalf("free %+v %v", res, err)
	}
}

func TestCheckSettings(t *testing.T) {
	c, rt, f := setup(t, `{}`)
	f.AddField("Dietary", "varchar")
	ctx := context.Background()
	for _, tc := range []struct{ name, settings, field, msg string }{
		{"by name", `{"person_field_mapping":{"dietary_restrictions":"dietary"}}`, "", ""},
		{"unknown", `{"person_field_mapping":{"dietary_restrictions":"Diet","guests":"Party"}}`, "settings.person_field_mapping.dietary_restrictions", `"Diet", "Party"`},
		{"read-only", `{"person_field_mapping":{"guests":"phone"}}`, "settings.person_field_mapping.guests", "read-only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt.Settings, _ = ParseSettings([]byte(tc.settings))
			err := c.CheckSettings(ctx, rt)
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *providers.SettingsError
			if !errors.As(err, &se) || se.Field != tc.field || !strings.Contains(se.Message, tc.msg) {
				t.Fatalf("err %v", err)
			}
		})
	}
}

func TestParseSettings(t *testing.T) {
	for _, tc := range []struct{ name, raw, field string }{
		{"empty", `{}`, ""},
		{"full", `{"sync_contacts":false,"create_deals_for_paid_events":true,"person_field_mapping":{"answers.company":"Company"},"deal_pipeline_id":2,"deal_stage_id":7,"deal_status":"open"}`, ""},
		{"status", `{"deal_status":"lost"}`, "settings.deal_status"},
		{"pipeline", `{"deal_pipeline_id":-1}`, "settings.deal_pipeline_id"},
		{"pipeline type", `{"deal_pipeline_id":"two"}`, "settings.deal_pipeline_id"},
		{"reserved", `{"person_field_mapping":{"user_name":"name"}}`, "settings.person_field_mapping.user_name"},
		{"unknown", `{"contact_property_mapping":{}}`, "settings.contact_property_mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSettings([]byte(tc.raw))
			var se *providers.SettingsError
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.As(err, &se) || se.Field != tc.field {
				t.Fatalf("err %v, want %s", err, tc.field)
			}
		})
	}
}

func TestExportPage(t *testing.T) {
	c, rt, f := setup(t, `{}`)
	obj := func(id, email, status string) providers.Object {
		b, _ := json.Marshal(map[string]any{"id": id, "event_id": "evt_1", "user_email": email})
		return providers.Object{Type: "registration", ID: id, Status: status, Data: b}
	}
	f.FailFor("POST", "/api/v2/persons", "bad@example.com", 1, 400, `{"success":false,"error":"Invalid email","error_info":"…"}`)
	res, err := c.ExportPage(context.Background(), rt, []providers.Object{
		obj("r1", "a@example.com", ""), obj("r2", "bad@example.com", ""), obj("r3", "c@example.com", "cancelled"), obj("r4", "", ""),
	})
	if err != nil || res.Created != 1 || res.Skipped != 1 || len(res.Errors) != 2 || res.Errors[0].ObjectID != "r2" || res.Errors[0].Message != "Invalid email" {
		t.Fatalf("page %+v %v", res, err)
	}
}
