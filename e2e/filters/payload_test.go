package filters_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/aqio/connect/internal/testenv"
)

func registration(id string) map[string]any {
	return event(id, "registration.confirmed", map[string]any{
		"id": "reg_789", "event_id": "evt_456", "user_email": "user@example.com",
		"registered_at": "2024-09-15T10:00:00Z", "dietary_restrictions": "Vegetarian",
		"answers": map[string]any{"company": "Acme AS", "phone": "+47 555 01 234"},
	})
}

// verify checks the Standard Webhooks signature over the exact bytes received.
func verify(t *testing.T, secret string, r testenv.Received) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(r.Body, r.Header); err != nil {
		t.Fatalf("signature does not verify over the bytes received: %v\nbody: %s", err, r.Body)
	}
}

func TestPayloadCustomization(t *testing.T) {
	env := testenv.Get(t)

	// Each case has its own organization, so no webhook sees another case's events.
	t.Run("exclude with custom headers, JSON", func(t *testing.T) {
		org := env.NewOrg(t)
		rcv := testenv.NewReceiver(t)
		wh := createWebhook(t, org, map[string]any{
			"name": "no pii", "url": rcv.URL, "events": []string{"registration.*"},
			"payload_exclude": []string{"data.object.user_email", "data.object.answers.phone"},
			"custom_headers":  map[string]string{"x-tenant": "acme", "X-Source": "aqio-connect"},
		})
		if wh.CustomHeaders["X-Tenant"] != "acme" || len(wh.PayloadExclude) != 2 {
			t.Fatalf("settings not returned: %+v", wh)
		}
		postEvent(t, org, registration("evt_excl"))
		testenv.Eventually(t, waitFor, "delivery", func() bool { return len(rcv.Got()) == 1 })
		r := rcv.Got()[0]
		verify(t, wh.Secret, r)
		if r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("content type %q", r.Header.Get("Content-Type"))
		}
		if r.Header.Get("X-Tenant") != "acme" || r.Header.Get("X-Source") != "aqio-connect" {
			t.Fatalf("custom headers missing: %v", r.Header)
		}
		want := `{"id":"evt_excl","type":"registration.confirmed","created":` + jsonField(t, r.Body, "created") +
			`,"data":{"object":{"answers":{"company":"Acme AS"},"dietary_restrictions":"Vegetarian","event_id":"evt_456","id":"reg_789","registered_at":"2024-09-15T10:00:00Z"}},"organization_id":"` + org.ID + `"}`
		if string(r.Body) != want {
			t.Fatalf("body\n got %s\nwant %s", r.Body, want)
		}
		// The delivery log keeps exactly the bytes sent: no excluded field.
		var page struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		testenv.Eventually(t, waitFor, "the attempt row", func() bool {
			org.Do(t, "GET", "/api/webhooks/"+wh.ID+"/deliveries", nil).JSON(t, &page)
			return len(page.Data) == 1
		})
		logged := org.Do(t, "GET", "/api/webhooks/"+wh.ID+"/deliveries/"+page.Data[0].ID, nil).Map(t)["payload"]
		if logged != string(r.Body) {
			t.Fatalf("delivery log payload\n got %v\nwant %s", logged, r.Body)
		}
	})

	t.Run("include only, form encoded", func(t *testing.T) {
		org := env.NewOrg(t)
		rcv := testenv.NewReceiver(t)
		wh := createWebhook(t, org, map[string]any{
			"name": "ids only", "url": rcv.URL, "events": []string{"registration.confirmed"},
			"content_type":    "application/x-www-form-urlencoded",
			"payload_include": []string{"data.object.id", "data.object.event_id"},
		})
		postEvent(t, org, registration("evt_incl"))
		testenv.Eventually(t, waitFor, "delivery", func() bool { return len(rcv.Got()) == 1 })
		r := rcv.Got()[0]
		verify(t, wh.Secret, r)
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Fatalf("content type %q", r.Header.Get("Content-Type"))
		}
		form, err := url.ParseQuery(string(r.Body))
		if err != nil || len(form) != 1 {
			t.Fatalf("form body %q: %v", r.Body, err)
		}
		var p struct {
			ID   string `json:"id"`
			Type string `json:"type"`
			Data struct {
				Object map[string]any `json:"object"`
			} `json:"data"`
			OrganizationID string `json:"organization_id"`
		}
		if err := json.Unmarshal([]byte(form.Get("payload")), &p); err != nil {
			t.Fatal(err)
		}
		if p.ID != "evt_incl" || p.Type != "registration.confirmed" || p.OrganizationID != org.ID {
			t.Fatalf("envelope fields lost: %+v", p)
		}
		if len(p.Data.Object) != 2 || p.Data.Object["id"] != "reg_789" || p.Data.Object["event_id"] != "evt_456" {
			t.Fatalf("include list not applied: %v", p.Data.Object)
		}
	})

	t.Run("switching to include clears exclude", func(t *testing.T) {
		org := env.NewOrg(t)
		wh := createWebhook(t, org, map[string]any{
			"name": "switch", "url": "https://example.com/hook", "events": []string{"registration.*"},
			"payload_exclude": []string{"data.object.user_email"},
		})
		resp := org.Do(t, "PATCH", "/api/webhooks/"+wh.ID, map[string]any{"payload_include": []string{"data.object.id"}})
		m := resp.Map(t)
		if resp.Status != http.StatusOK || m["payload_exclude"] != nil || len(m["payload_include"].([]any)) != 1 {
			t.Fatalf("%d %s", resp.Status, resp.Body)
		}
	})
}

func jsonField(t *testing.T, body []byte, key string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(m[key]))
}
