package activecampaign

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	fake "github.com/aqio/connect/internal/fakes/activecampaign"
	"github.com/aqio/connect/providers"
)

func newClient(t *testing.T, opts fake.Options) (*Client, *fake.Server) {
	t.Helper()
	srv := fake.NewServer(opts)
	t.Cleanup(srv.Close)
	srv.AddKey("key-1")
	return &Client{BaseURL: srv.URL + APIPath, HTTP: KeyClient(srv.Client(), "key-1")}, srv
}

func TestNormalizeAPIURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://acct.api-us1.com":         "https://acct.api-us1.com",
		" https://acct.api-us1.com/ ":      "https://acct.api-us1.com",
		"https://acct.api-us1.com/api/3":   "https://acct.api-us1.com",
		"https://acct.api-us1.com/api/3/":  "https://acct.api-us1.com",
		"http://127.0.0.1:8080/ac/api/3/":  "http://127.0.0.1:8080/ac",
		"https://acct.api-us1.com/?x=1":    "",
		"acct.api-us1.com":                 "",
		"ftp://acct.api-us1.com":           "",
		"https://user:pw@acct.api-us1.com": "",
		"":                                 "",
	} {
		got, err := NormalizeAPIURL(in)
		if want == "" {
			if err == nil {
				t.Errorf("%q: got %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestClientContactsListsTags(t *testing.T) {
	c, f := newClient(t, fake.Options{RateLimit: 1000})
	ctx := context.Background()
	diet := f.AddField("Dietary restrictions", "DIETARY")
	news := f.AddList("Newsletter")

	if u, err := c.Me(ctx); err != nil || u.ID == "" {
		t.Fatalf("me: %+v %v", u, err)
	}
	fields, err := c.Fields(ctx)
	if err != nil || len(fields) != 1 || fields[0].ID != diet || fields[0].PersTag != "DIETARY" {
		t.Fatalf("fields %+v %v", fields, err)
	}
	if l, err := c.List(ctx, news); err != nil || l.Name != "Newsletter" {
		t.Fatalf("list %+v %v", l, err)
	}

	ct, err := c.SyncContact(ctx, ContactInput{Email: "ada@example.com", FirstName: "Ada", FieldValues: map[string]string{diet: "vegan"}})
	if err != nil || !ct.New || ct.Email != "ada@example.com" {
		t.Fatalf("sync %+v %v", ct, err)
	}
	again, err := c.SyncContact(ctx, ContactInput{Email: "ada@example.com", LastName: "Lovelace"})
	if err != nil || again.New || again.ID != ct.ID {
		t.Fatalf("second sync %+v %v, want the same contact updated", again, err)
	}
	// The wire format: {"contact":{"email",…,"fieldValues":[{"field","value"}]}} with the key in Api-Token.
	var sent map[string]map[string]any
	for _, r := range f.Requests() {
		if r.Path == "/api/3/contact/sync" {
			if r.APIToken != "key-1" {
				t.Fatalf("Api-Token %q", r.APIToken)
			}
			_ = json.Unmarshal(r.Body, &sent)
			break
		}
	}
	if fv := sent["contact"]["fieldValues"].([]any); len(fv) != 1 || fv[0].(map[string]any)["field"] != diet || fv[0].(map[string]any)["value"] != "vegan" {
		t.Fatalf("sync body %v", sent)
	}

	if err := c.Subscribe(ctx, ct.ID, news); err != nil {
		t.Fatal(err)
	}
	tag, err := c.EnsureTag(ctx, "Aqio: Launch", "registrants of an Aqio event")
	if err != nil || tag.ID == "" {
		t.Fatalf("tag %+v %v", tag, err)
	}
	// A second EnsureTag finds it; a longer name containing it is not a match.
	if _, err := c.CreateTag(ctx, "Aqio: Launch party", ""); err != nil {
		t.Fatal(err)
	}
	if again, err := c.EnsureTag(ctx, "aqio: launch", ""); err != nil || again.ID != tag.ID {
		t.Fatalf("ensure again %+v %v, want %s", again, err, tag.ID)
	}
	for i := 0; i < 2; i++ {
		if err := c.TagContact(ctx, ct.ID, tag.ID); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := f.Contact("ada@example.com")
	if got.FirstName != "Ada" || got.LastName != "Lovelace" || got.Fields[diet] != "vegan" || got.Lists[news] != Subscribed ||
		len(got.Tags) != 1 || got.Tags[0] != "Aqio: Launch" {
		t.Fatalf("contact %+v", got)
	}
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("bad email is a 422 with the errors array", func(t *testing.T) {
		c, _ := newClient(t, fake.Options{})
		_, err := c.SyncContact(ctx, ContactInput{Email: "not-an-email"})
		pe, ok := providers.AsError(err)
		if !ok || pe.Kind != providers.KindPermanent || pe.Code != "email_invalid" || pe.Status != 422 || !strings.Contains(pe.Message, "Email Address is not valid") {
			t.Fatalf("err %+v", err)
		}
	})
	t.Run("unknown list is not found", func(t *testing.T) {
		c, _ := newClient(t, fake.Options{})
		_, err := c.List(ctx, "999")
		if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindPermanent || pe.Code != "not_found" || !strings.Contains(pe.Message, "List with id 999") {
			t.Fatalf("err %+v", err)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		c, f := newClient(t, fake.Options{})
		c.HTTP = KeyClient(f.Client(), "other")
		_, err := c.Me(ctx)
		if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindAuth || pe.Status != 403 || pe.Field != "credentials.api_key" {
			t.Fatalf("err %+v", err)
		}
	})
	t.Run("not ActiveCampaign", func(t *testing.T) {
		c, f := newClient(t, fake.Options{})
		c.BaseURL = f.URL + "/elsewhere/api/3"
		_, err := c.Me(ctx)
		if pe, ok := providers.AsError(err); !ok || pe.Kind == providers.KindRateLimited || pe.Kind == providers.KindRetryable {
			t.Fatalf("err %+v", err)
		}
	})
	t.Run("rate limit per second", func(t *testing.T) {
		now := time.Unix(1_800_000_000, 0)
		c, _ := newClient(t, fake.Options{RateLimit: 2, RetryAfter: 3, Now: func() time.Time { return now }})
		for i := 0; i < 2; i++ {
			if _, err := c.Me(ctx); err != nil {
				t.Fatal(err)
			}
		}
		_, err := c.Me(ctx)
		pe, ok := providers.AsError(err)
		if !ok || pe.Kind != providers.KindRateLimited || pe.Status != 429 || pe.RetryAfter != 3*time.Second {
			t.Fatalf("err %+v", err)
		}
		now = now.Add(1100 * time.Millisecond)
		if _, err := c.Me(ctx); err != nil {
			t.Fatalf("after the second: %v", err)
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
		{"created", 201, nil, `{}`, "", "", 0},
		{"429 retry-after", 429, map[string]string{"Retry-After": "30", "RateLimit-Limit": "5", "RateLimit-Remaining": "0"}, `{"message":"Too Many Requests"}`, providers.KindRateLimited, "rate_limited", 30 * time.Second},
		{"429 bare", 429, nil, ``, providers.KindRateLimited, "rate_limited", time.Second},
		{"503 throttle", 503, nil, `<html>Service Unavailable</html>`, providers.KindRateLimited, "rate_limited", time.Second},
		{"forbidden", 403, nil, `{"message":"You are not authorized to access this resource"}`, providers.KindAuth, "forbidden", 0},
		{"payment", 402, nil, `{"message":"Payment required"}`, providers.KindAuth, "payment_required", 0},
		{"not found", 404, nil, `{"message":"No Result found for Subscriber with id 9"}`, providers.KindPermanent, "not_found", 0},
		{"validation", 422, nil, `{"errors":[{"title":"Contact Email Address is not valid.","detail":"","code":"email_invalid","source":{"pointer":"/data/attributes/email"}}]}`, providers.KindPermanent, "email_invalid", 0},
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

func TestPacerSpacesRequestsPerAccount(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var slept []time.Duration
	p := newPacer()
	p.now = func() time.Time { return now }
	p.sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		_ = p.wait(ctx, "https://a.api-us1.com")
	}
	_ = p.wait(ctx, "https://b.api-us1.com") // another account has its own budget
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}
	if len(slept) != 2 || slept[0] != want[0] || slept[1] != want[1] {
		t.Fatalf("slept %v, want %v", slept, want)
	}
	now = now.Add(time.Second)
	slept = nil
	_ = p.wait(ctx, "https://a.api-us1.com")
	if len(slept) != 0 {
		t.Fatalf("after a quiet second slept %v", slept)
	}
}
