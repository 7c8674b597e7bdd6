package pipedrive

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	fake "github.com/aqio/connect/internal/fakes/pipedrive"
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

func TestClientPersonsAndDeals(t *testing.T) {
	c, f := newClient(t, fake.Options{})
	ctx := context.Background()
	diet := f.AddField("Dietary", "varchar")

	fields, err := c.PersonFields(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, fl := range fields {
		found = found || (fl.Key == diet && fl.EditFlag && fl.Name == "Dietary")
	}
	if !found {
		t.Fatalf("fields %+v", fields)
	}
	if _, ok, err := c.FindPersonByEmail(ctx, "ada@example.com"); ok || err != nil {
		t.Fatalf("found a person before any: %v %v", ok, err)
	}
	p, err := c.CreatePerson(ctx, PersonInput{Name: "Ada Lovelace", Email: "ada@example.com", CustomFields: map[string]string{diet: "vegan"}})
	if err != nil || p.ID == 0 {
		t.Fatalf("create %+v %v", p, err)
	}
	got, ok, err := c.FindPersonByEmail(ctx, "ADA@example.com")
	if err != nil || !ok || got.ID != p.ID {
		t.Fatalf("search %+v %v %v", got, ok, err)
	}
	if _, err := c.UpdatePerson(ctx, p.ID, PersonInput{Name: "Ada King", CustomFields: map[string]string{diet: "vegetarian"}}); err != nil {
		t.Fatal(err)
	}
	fp, _ := f.Person("ada@example.com")
	if fp.Name != "Ada King" || fp.CustomFields[diet] != "vegetarian" || len(fp.Emails) != 1 {
		t.Fatalf("person %+v", fp)
	}
	// The wire format: v2 emails objects, custom_fields by key, Bearer token.
	var sent map[string]any
	for _, r := range f.Requests() {
		if r.Method == "POST" && r.Path == "/api/v2/persons" {
			_ = json.Unmarshal(r.Body, &sent)
			if r.Authorization != "Bearer tok-1" {
				t.Fatalf("authorization %q", r.Authorization)
			}
		}
	}
	if em := sent["emails"].([]any)[0].(map[string]any); em["value"] != "ada@example.com" || em["primary"] != true {
		t.Fatalf("create body %v", sent)
	}
	d, err := c.CreateDeal(ctx, DealInput{Title: "Summit — Ada", Value: 49.5, Currency: "NOK", PersonID: p.ID, Status: "won"})
	if err != nil {
		t.Fatal(err)
	}
	deals, err := c.DealsOfPerson(ctx, p.ID)
	if err != nil || len(deals) != 1 || deals[0].ID != d.ID || deals[0].Value != 49.5 || deals[0].Status != "won" {
		t.Fatalf("deals %+v %v", deals, err)
	}
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("unknown person", func(t *testing.T) {
		c, _ := newClient(t, fake.Options{})
		_, err := c.UpdatePerson(ctx, 4242, PersonInput{Name: "x"})
		if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindPermanent || pe.Code != "not_found" || pe.Message != "Person not found" {
			t.Fatalf("err %+v", err)
		}
	})
	t.Run("unknown custom field", func(t *testing.T) {
		c, _ := newClient(t, fake.Options{})
		_, err := c.CreatePerson(ctx, PersonInput{Name: "x", CustomFields: map[string]string{"0000": "y"}})
		if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindPermanent || pe.Status != 400 {
			t.Fatalf("err %+v", err)
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		c, _ := newClient(t, fake.Options{})
		c.HTTP = BearerClient(nil, "other")
		_, err := c.PersonFields(ctx)
		if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindExpired {
			t.Fatalf("err %+v", err)
		}
	})
	t.Run("burst window", func(t *testing.T) {
		now := time.Unix(1_800_000_000, 0)
		c, _ := newClient(t, fake.Options{BurstLimit: 2, BurstWindow: 2 * time.Second, Now: func() time.Time { return now }})
		for i := 0; i < 2; i++ {
			if _, err := c.PersonFields(ctx); err != nil {
				t.Fatal(err)
			}
		}
		_, err := c.PersonFields(ctx)
		if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRateLimited || pe.RetryAfter != 2*time.Second {
			t.Fatalf("err %+v", err)
		}
		now = now.Add(2100 * time.Millisecond)
		if _, err := c.PersonFields(ctx); err != nil {
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
		{"ok", 200, nil, `{"success":true,"data":{}}`, "", "", 0},
		{"200 unsuccessful", 200, nil, `{"success":false,"error":"odd"}`, providers.KindPermanent, "unsuccessful", 0},
		{"burst", 429, map[string]string{"x-ratelimit-remaining": "0", "x-ratelimit-reset": "2"}, `{"success":false,"error":"Request over limit","errorCode":429}`, providers.KindRateLimited, "rate_limited", 2 * time.Second},
		{"retry-after wins", 429, map[string]string{"Retry-After": "5", "x-ratelimit-reset": "2"}, `{"success":false}`, providers.KindRateLimited, "rate_limited", 5 * time.Second},
		{"bare 429", 429, nil, ``, providers.KindRateLimited, "rate_limited", 2 * time.Second},
		{"expired", 401, nil, `{"success":false,"error":"unauthorized access","errorCode":401}`, providers.KindExpired, "unauthorized", 0},
		{"scope", 403, nil, `{"success":false,"error":"Scope and URL mismatch"}`, providers.KindAuth, "forbidden", 0},
		{"payment", 402, nil, `{"success":false,"error":"Payment required"}`, providers.KindAuth, "payment_required", 0},
		{"not found", 404, nil, `{"success":false,"error":"Person not found"}`, providers.KindPermanent, "not_found", 0},
		{"bad input", 400, nil, `{"success":false,"error":"Name must be given."}`, providers.KindPermanent, "http_400", 0},
		{"server", 502, nil, `bad gateway`, providers.KindRetryable, "http_502", 0},
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
