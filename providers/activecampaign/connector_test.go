package activecampaign

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	fake "github.com/aqio/connect/internal/fakes/activecampaign"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/providertest"
)

// runtime builds what the activity would hand the connector: the
// session's authenticated client (Api-Token from the credential fields)
// and the API base derived from api_url.
func runtime(t *testing.T, c *Connector, srv *fake.Server, key, settings string) *providers.Runtime {
	t.Helper()
	set, err := c.ParseSettings([]byte(settings))
	if err != nil {
		t.Fatal(err)
	}
	creds := providers.Credentials{Fields: map[string]string{"api_url": srv.URL + "/", "api_key": key}}
	sess := providers.NewSession(c, c.Info(), creds)
	return &providers.Runtime{
		IntegrationID: "int_1", OrganizationID: "org_1", APIBaseURL: c.APIBase(creds), Settings: set, Credentials: creds,
		HTTP: sess.Client(srv.Client()), Links: &providertest.MemLinks{},
		Objects: providertest.MemObjects{"event/evt_1": {Type: "event", ID: "evt_1", Data: json.RawMessage(`{"id":"evt_1","title":"Launch"}`)}},
	}
}

func regEvent(typ string, consent *bool, email string) providers.Event {
	obj := map[string]any{"id": "reg_1", "event_id": "evt_1", "user_email": email, "user_name": "Ada Lovelace",
		"status": "confirmed", "dietary_restrictions": "vegan"}
	if consent != nil {
		obj["marketing_consent"] = *consent
	}
	b, _ := json.Marshal(obj)
	return providers.Event{ID: "ev_1", Type: typ, Object: b}
}

// unpaced is the connector without its 5-per-second pacing (the fakes
// here allow 1000 per second; TestPacerSpacesRequestsPerAccount covers it).
func unpaced() *Connector { c := New(); c.pace = nil; return c }

func ptr[T any](v T) *T { return &v }

func newFake(t *testing.T) *fake.Server {
	t.Helper()
	srv := fake.NewServer(fake.Options{RateLimit: 1000})
	t.Cleanup(srv.Close)
	srv.AddKey("key-1")
	return srv
}

func TestRegistrationWithConsent(t *testing.T) {
	srv := newFake(t)
	diet := srv.AddField("Dietary restrictions", "DIETARY")
	news := srv.AddList("Newsletter")
	c := unpaced()
	rt := runtime(t, c, srv, "key-1", `{"list_ids":["`+news+`"],"contact_field_mapping":{"dietary_restrictions":"%DIETARY%"},"tags":{"registration.confirmed":["Aqio attendee"]}}`)
	ctx := context.Background()
	if err := c.CheckSettings(ctx, rt); err != nil {
		t.Fatal(err)
	}
	if l, err := rt.Links.Get(ctx, linkField, "%DIETARY%"); err != nil || l.ExternalID != diet {
		t.Fatalf("field link %+v %v", l, err)
	}
	act := c.Actions()["registration.confirmed"]
	res, err := act(ctx, rt, regEvent("registration.confirmed", ptr(true), "Ada@Example.com"))
	if err != nil || res.Action != "created" {
		t.Fatalf("push: %+v %v", res, err)
	}
	// The same push again (a Temporal retry) and registration.created add nothing.
	for _, typ := range []string{"registration.confirmed", "registration.created"} {
		if res, err := c.Actions()[typ](ctx, rt, regEvent(typ, ptr(true), "ada@example.com")); err != nil || res.Action != "updated" {
			t.Fatalf("again %s: %+v %v", typ, res, err)
		}
	}
	got, ok := srv.Contact("ada@example.com")
	if !ok || srv.Contacts() != 1 || got.FirstName != "Ada" || got.LastName != "Lovelace" || got.Fields[diet] != "vegan" || got.Lists[news] != Subscribed {
		t.Fatalf("contact %+v", got)
	}
	if strings.Join(got.Tags, ",") != "Aqio attendee,Launch" || len(srv.Tags()) != 2 {
		t.Fatalf("tags %v, account tags %+v", got.Tags, srv.Tags())
	}
	if l, err := rt.Links.Get(ctx, linkContact, "reg_1"); err != nil || l.ExternalID != got.ID {
		t.Fatalf("contact link %+v %v", l, err)
	}
	// Tags are created once and remembered: later pushes search no more.
	if n := srv.Count("POST", "/api/3/tags"); n != 2 {
		t.Fatalf("%d tag creations, want 2", n)
	}

	// Cancelled: the event tag goes, the list membership stays.
	rt2 := runtime(t, c, srv, "key-1", `{"list_ids":["`+news+`"],"tags":{"registration.cancelled":["Aqio cancelled"]}}`)
	rt2.Links = rt.Links
	res, err = c.Actions()["registration.cancelled"](ctx, rt2, regEvent("registration.cancelled", ptr(true), "ada@example.com"))
	if err != nil || res.Action != "updated" || !strings.Contains(res.Detail, "removed tag Launch") {
		t.Fatalf("cancel: %+v %v", res, err)
	}
	got, _ = srv.Contact("ada@example.com")
	if strings.Join(got.Tags, ",") != "Aqio attendee,Aqio cancelled" || got.Lists[news] != Subscribed {
		t.Fatalf("after cancel %+v", got)
	}
	for _, r := range srv.Requests() {
		if r.Path == "/api/3/contactLists" && strings.Contains(string(r.Body), `"status":2`) {
			t.Fatalf("a cancellation unsubscribed: %s", r.Body)
		}
	}
}

func TestRegistrationWithoutConsent(t *testing.T) {
	ctx := context.Background()
	for _, consent := range []*bool{nil, ptr(false)} {
		srv := newFake(t)
		news := srv.AddList("Newsletter")
		c := unpaced()
		rt := runtime(t, c, srv, "key-1", `{"list_ids":["`+news+`"]}`)
		res, err := c.Actions()["registration.confirmed"](ctx, rt, regEvent("registration.confirmed", consent, "ada@example.com"))
		if err != nil || res.Action != "created" || !strings.Contains(res.Detail, "no marketing consent") {
			t.Fatalf("push: %+v %v", res, err)
		}
		got, _ := srv.Contact("ada@example.com")
		if len(got.Lists) != 0 || srv.Count("POST", "/api/3/contactLists") != 0 {
			t.Fatalf("subscribed without consent: %+v", got)
		}
		if strings.Join(got.Tags, ",") != "Launch" {
			t.Fatalf("tags %v", got.Tags)
		}

		skip := runtime(t, c, srv, "key-1", `{"list_ids":["`+news+`"],"without_consent":"skip","event_tag":""}`)
		before := len(srv.Requests())
		res, err = c.Actions()["registration.confirmed"](ctx, skip, regEvent("registration.confirmed", consent, "bob@example.com"))
		if err != nil || res.Action != "skipped" || len(srv.Requests()) != before {
			t.Fatalf("skip: %+v %v, %d requests", res, err, len(srv.Requests())-before)
		}
	}
}

func TestPushErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("a tag deleted in ActiveCampaign is created again", func(t *testing.T) {
		srv := newFake(t)
		c := unpaced()
		rt := runtime(t, c, srv, "key-1", `{}`)
		_ = rt.Links.Put(ctx, providers.Link{ObjectType: linkTag, ObjectID: "launch", ExternalID: "999", Status: "active"})
		if _, err := c.Actions()["registration.confirmed"](ctx, rt, regEvent("registration.confirmed", nil, "ada@example.com")); err != nil {
			t.Fatal(err)
		}
		if got, _ := srv.Contact("ada@example.com"); strings.Join(got.Tags, ",") != "Launch" {
			t.Fatalf("tags %v", got.Tags)
		}
	})
	t.Run("an unknown mapped field names the setting", func(t *testing.T) {
		srv := newFake(t)
		c := unpaced()
		rt := runtime(t, c, srv, "key-1", `{"contact_field_mapping":{"ticket_type":"TICKET"}}`)
		_, err := c.Actions()["registration.confirmed"](ctx, rt, regEvent("registration.confirmed", nil, "ada@example.com"))
		pe, ok := providers.AsError(err)
		if !ok || pe.Kind != providers.KindPermanent || pe.Field != "settings.contact_field_mapping.ticket_type" {
			t.Fatalf("err %+v", err)
		}
	})
	t.Run("a refused key is an auth failure", func(t *testing.T) {
		srv := newFake(t)
		c := unpaced()
		rt := runtime(t, c, srv, "revoked", `{}`)
		_, err := c.Actions()["registration.confirmed"](ctx, rt, regEvent("registration.confirmed", nil, "ada@example.com"))
		if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindAuth {
			t.Fatalf("err %+v", err)
		}
	})
	t.Run("429 waits Retry-After", func(t *testing.T) {
		srv := newFake(t)
		srv.RateLimitNext(1)
		c := unpaced()
		rt := runtime(t, c, srv, "key-1", `{}`)
		_, err := c.Actions()["registration.confirmed"](ctx, rt, regEvent("registration.confirmed", nil, "ada@example.com"))
		if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRateLimited || pe.RetryAfter.Seconds() != 1 {
			t.Fatalf("err %+v", err)
		}
	})
}

func TestCheckCredentials(t *testing.T) {
	srv := newFake(t)
	c := unpaced()
	ctx := context.Background()
	check := func(rt *providers.Runtime) string {
		err := c.CheckCredentials(ctx, rt)
		var se *providers.SettingsError
		if errors.As(err, &se) {
			return se.Field
		}
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return ""
	}
	if f := check(runtime(t, c, srv, "key-1", `{}`)); f != "" {
		t.Fatalf("good key refused: %s", f)
	}
	if f := check(runtime(t, c, srv, "wrong", `{}`)); f != "credentials.api_key" {
		t.Fatalf("wrong key: %q", f)
	}
	rt := runtime(t, c, srv, "key-1", `{}`)
	rt.Credentials.Fields["api_url"] = "youraccount.api-us1.com"
	if f := check(rt); f != "credentials.api_url" {
		t.Fatalf("bad url: %q", f)
	}
	rt = runtime(t, c, srv, "key-1", `{}`)
	rt.APIBaseURL = srv.URL + "/not-ac/api/3"
	if f := check(rt); f != "credentials.api_url" {
		t.Fatalf("not ActiveCampaign: %q", f)
	}
	rt = runtime(t, c, srv, "key-1", `{}`)
	rt.APIBaseURL = "http://127.0.0.1:1/api/3"
	if f := check(rt); f != "credentials.api_url" {
		t.Fatalf("unreachable: %q", f)
	}
}

func TestCheckSettings(t *testing.T) {
	srv := newFake(t)
	srv.AddField("Dietary restrictions", "DIETARY")
	srv.AddField("Guests", "GUEST_COUNT")
	news := srv.AddList("Newsletter")
	c := unpaced()
	ctx := context.Background()
	for _, tc := range []struct{ name, settings, field, msg string }{
		{"ok by title and tag", `{"list_ids":["` + news + `"],"contact_field_mapping":{"dietary_restrictions":"%DIETARY%","ticket_type":"DIETARY","guests":"Guests"}}`, "", ""},
		{"unknown list", `{"list_ids":["` + news + `","777"]}`, "settings.list_ids[1]", "no list with id 777"},
		{"unknown field", `{"contact_field_mapping":{"ticket_type":"TICKET","guests":"NOPE"}}`, "settings.contact_field_mapping.guests", `"NOPE", "TICKET"`},
		{"id", `{"contact_field_mapping":{"guests":"999"}}`, "settings.contact_field_mapping.guests", `"999"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.CheckSettings(ctx, runtime(t, c, srv, "key-1", tc.settings))
			var se *providers.SettingsError
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.As(err, &se) || se.Field != tc.field || !strings.Contains(se.Message, tc.msg) {
				t.Fatalf("err %v, want %s containing %s", err, tc.field, tc.msg)
			}
		})
	}
}

func TestParseSettings(t *testing.T) {
	for _, tc := range []struct{ name, raw, field string }{
		{"empty", `{}`, ""},
		{"full", `{"list_ids":["1","2"],"without_consent":"skip","event_tag":"Aqio {event_id}","tags":{"registration.cancelled":["x"]},"contact_field_mapping":{"answers.company":"COMPANY"}}`, ""},
		{"list id", `{"list_ids":["abc"]}`, "settings.list_ids[0]"},
		{"list twice", `{"list_ids":["1","1"]}`, "settings.list_ids[1]"},
		{"consent policy", `{"without_consent":"subscribe"}`, "settings.without_consent"},
		{"placeholder", `{"event_tag":"{event_name}"}`, "settings.event_tag"},
		{"tag event type", `{"tags":{"payment.completed":["x"]}}`, "settings.tags.payment.completed"},
		{"empty tag", `{"tags":{"registration.confirmed":[" "]}}`, "settings.tags.registration.confirmed[0]"},
		{"unknown source", `{"contact_field_mapping":{"shoe_size":"SHOES"}}`, "settings.contact_field_mapping.shoe_size"},
		{"reserved", `{"contact_field_mapping":{"user_name":"firstName"}}`, "settings.contact_field_mapping.user_name"},
		{"unknown setting", `{"audience_id":"x"}`, "settings.audience_id"},
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
				t.Fatalf("err %v, want field %s", err, tc.field)
			}
		})
	}
}

func TestExportPage(t *testing.T) {
	srv := newFake(t)
	c := unpaced()
	rt := runtime(t, c, srv, "key-1", `{}`)
	obj := func(id, email, status string) providers.Object {
		b, _ := json.Marshal(map[string]any{"id": id, "event_id": "evt_1", "user_email": email})
		return providers.Object{Type: "registration", ID: id, ParentID: "evt_1", Status: status, Data: b}
	}
	res, err := c.ExportPage(context.Background(), rt, []providers.Object{
		obj("r1", "a@example.com", ""), obj("r2", "", ""), obj("r3", "c@example.com", "cancelled"), obj("r4", "d@example.com", ""),
	})
	if err != nil || res.Created != 2 || res.Skipped != 1 || len(res.Errors) != 1 || res.Errors[0].ObjectID != "r2" {
		t.Fatalf("page %+v %v", res, err)
	}
	srv.Fail("POST", "/api/3/contact/sync", 1, 422, `{"errors":[{"title":"Contact Email Address is not valid.","detail":"","code":"email_invalid","source":{"pointer":"/data/attributes/email"}}]}`)
	res, err = c.ExportPage(context.Background(), rt, []providers.Object{obj("r1", "a@example.com", ""), obj("r4", "d@example.com", "")})
	if err != nil || res.Updated != 1 || len(res.Errors) != 1 || res.Errors[0].ObjectID != "r1" || res.Errors[0].Code != "email_invalid" {
		t.Fatalf("page with a refused record %+v %v", res, err)
	}
}
