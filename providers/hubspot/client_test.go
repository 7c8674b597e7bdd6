package hubspot

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fake "github.com/aqio/connect/internal/fakes/hubspot"
	"github.com/aqio/connect/providers"
)

func newClient(t *testing.T, opts fake.Options) (*Client, *fake.Fake) {
	t.Helper()
	f := fake.New(opts)
	f.AddToken("tok-1")
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return &Client{BaseURL: srv.URL, HTTP: BearerClient(srv.Client(), "tok-1")}, f
}

func TestClientContactsAndDeals(t *testing.T) {
	c, f := newClient(t, fake.Options{})
	f.AddProperty(fake.Property{Name: "dietary_preferences", Label: "Dietary preferences"})
	ctx := context.Background()

	props, err := c.ContactProperties(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found, readOnly := false, false
	for _, p := range props {
		found = found || p.Name == "dietary_preferences"
		readOnly = readOnly || (p.Name == "hs_object_id" && p.ReadOnly)
	}
	if !found || !readOnly {
		t.Fatalf("properties %+v: want dietary_preferences and read-only hs_object_id", props)
	}

	up, err := c.UpsertContacts(ctx, []ContactInput{{Email: "Ada@Example.com", Properties: map[string]string{"firstname": "Ada", "dietary_preferences": "vegan"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(up) != 1 || !up[0].New || up[0].Email != "ada@example.com" {
		t.Fatalf("upsert %+v", up)
	}
	again, err := c.UpsertContacts(ctx, []ContactInput{{Email: "ada@example.com", Properties: map[string]string{"lastname": "Lovelace"}}})
	if err != nil {
		t.Fatal(err)
	}
	if again[0].ID != up[0].ID || again[0].New {
		t.Fatalf("second upsert %+v, want the same contact", again)
	}
	got, _ := f.Contact("ada@example.com")
	if got.Properties["firstname"] != "Ada" || got.Properties["lastname"] != "Lovelace" || got.Properties["dietary_preferences"] != "vegan" {
		t.Fatalf("contact %+v", got.Properties)
	}
	// The wire format: idProperty email, the email as id.
	var sent struct {
		Inputs []map[string]any `json:"inputs"`
	}
	for _, r := range f.Requests() {
		if r.Path == "/crm/v3/objects/contacts/batch/upsert" {
			_ = json.Unmarshal(r.Body, &sent)
			if r.Authorization != "Bearer tok-1" {
				t.Fatalf("authorization %q", r.Authorization)
			}
		}
	}
	if sent.Inputs[0]["idProperty"] != "email" || sent.Inputs[0]["id"] != "ada@example.com" {
		t.Fatalf("upsert body %v", sent)
	}

	id, err := c.CreateDeal(ctx, DealInput{Properties: map[string]string{"dealname": "Ticket", "amount": "49.5", "pipeline": "default", "dealstage": "closedwon"}, ContactID: up[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	deals := f.Deals()
	if len(deals) != 1 || deals[0].ID != id || len(deals[0].Contacts) != 1 || deals[0].Contacts[0] != up[0].ID {
		t.Fatalf("deals %+v", deals)
	}
}

func TestClientMarketingEvents(t *testing.T) {
	c, f := newClient(t, fake.Options{})
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	err := c.RecordParticipation(ctx, "org_1", "evt_1", StateRegister, "a@b.co", at)
	if pe, ok := providers.AsError(err); !ok || pe.Status != 404 || pe.Kind != providers.KindPermanent || pe.Code != "OBJECT_NOT_FOUND" {
		t.Fatalf("attendance before the event exists: %v", err)
	}
	if err := c.UpsertMarketingEvent(ctx, MarketingEvent{ExternalAccountID: "org_1", ExternalEventID: "evt_1", EventName: "Launch", EventOrganizer: "Aqio"}); err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{StateRegister, StateAttend} {
		if err := c.RecordParticipation(ctx, "org_1", "evt_1", st, "a@b.co", at); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CancelMarketingEvent(ctx, "org_1", "evt_1"); err != nil {
		t.Fatal(err)
	}
	att := f.Attendance("org_1", "evt_1")
	if len(att) != 2 || att[0].State != "register" || att[1].State != "attend" || att[1].At != at.UnixMilli() {
		t.Fatalf("attendance %+v", att)
	}
	if e, _ := f.MarketingEvent("org_1", "evt_1"); !e.Cancelled {
		t.Fatal("event not cancelled")
	}
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("unknown property refuses the batch", func(t *testing.T) {
		c, _ := newClient(t, fake.Options{})
		_, err := c.UpsertContacts(ctx, []ContactInput{{Email: "a@b.co", Properties: map[string]string{"shoe_size": "42"}}})
		pe, ok := providers.AsError(err)
		if !ok || pe.Kind != providers.KindPermanent || pe.Code != "VALIDATION_ERROR" || !strings.Contains(pe.Message, `Property \"shoe_size\" does not exist`) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		c, _ := newClient(t, fake.Options{})
		c.HTTP = BearerClient(nil, "other")
		_, err := c.ContactProperties(ctx)
		if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindExpired || pe.Code != "INVALID_AUTHENTICATION" {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("rate limit window", func(t *testing.T) {
		now := time.Unix(1_800_000_000, 0)
		c, _ := newClient(t, fake.Options{RateLimitMax: 2, RateLimitInterval: 1500 * time.Millisecond, Now: func() time.Time { return now }})
		for i := 0; i < 2; i++ {
			if _, err := c.ContactProperties(ctx); err != nil {
				t.Fatal(err)
			}
		}
		_, err := c.ContactProperties(ctx)
		pe, ok := providers.AsError(err)
		if !ok || pe.Kind != providers.KindRateLimited || pe.Code != "TEN_SECONDLY_ROLLING" || pe.RetryAfter != 1500*time.Millisecond {
			t.Fatalf("err %+v", err)
		}
		now = now.Add(1600 * time.Millisecond)
		if _, err := c.ContactProperties(ctx); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		hdr    map[string]string
		body   string
		kind   providers.Kind
		code   string
		delay  time.Duration
	}{
		{"ok", 200, nil, `{}`, "", "", 0},
		{"ten secondly", 429, map[string]string{"X-HubSpot-RateLimit-Remaining": "0", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"},
			`{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId":"c","policyName":"TEN_SECONDLY_ROLLING"}`,
			providers.KindRateLimited, "TEN_SECONDLY_ROLLING", 10 * time.Second},
		{"retry-after wins", 429, map[string]string{"Retry-After": "3", "X-HubSpot-RateLimit-Remaining": "0", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"},
			`{"status":"error","policyName":"TEN_SECONDLY_ROLLING"}`, providers.KindRateLimited, "TEN_SECONDLY_ROLLING", 3 * time.Second},
		{"daily", 429, nil, `{"status":"error","errorType":"RATE_LIMIT","policyName":"DAILY"}`, providers.KindRateLimited, "DAILY", time.Hour},
		{"locked", 423, nil, `{"status":"error","category":"LOCKED"}`, providers.KindRateLimited, "LOCKED", 2 * time.Second},
		{"expired", 401, nil, `{"status":"error","message":"The OAuth token used to make this call expired 1 minute(s) ago.","category":"EXPIRED_AUTHENTICATION"}`, providers.KindExpired, "EXPIRED_AUTHENTICATION", 0},
		{"missing scopes", 403, nil, `{"status":"error","category":"MISSING_SCOPES"}`, providers.KindAuth, "MISSING_SCOPES", 0},
		{"other 403", 403, nil, `{"status":"error","category":"FORBIDDEN"}`, providers.KindPermanent, "FORBIDDEN", 0},
		{"validation", 400, nil, `{"status":"error","category":"VALIDATION_ERROR","message":"bad"}`, providers.KindPermanent, "VALIDATION_ERROR", 0},
		{"conflict", 409, nil, `{"status":"error","category":"CONFLICT","message":"Contact already exists"}`, providers.KindPermanent, "CONFLICT", 0},
		{"server", 502, nil, `<html>bad gateway</html>`, providers.KindRetryable, "http_502", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}}
			for k, v := range tc.hdr {
				resp.Header.Set(k, v)
			}
			pe := Classify(resp, []byte(tc.body))
			if tc.kind == "" {
				if pe != nil {
					t.Fatalf("got %v, want success", pe)
				}
				return
			}
			if pe == nil || pe.Kind != tc.kind || pe.Code != tc.code || pe.RetryAfter != tc.delay {
				t.Fatalf("got %+v, want %s %s %s", pe, tc.kind, tc.code, tc.delay)
			}
		})
	}
}
