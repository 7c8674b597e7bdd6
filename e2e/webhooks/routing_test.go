package webhooks_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testenv"
)

// Ingest keeps the organization's webhooks in memory between events; every
// change made through the API must still route the very next event.
func TestWebhookChangesRouteTheNextEvent(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	first := createWebhook(t, org, map[string]any{"name": "first", "url": testenv.NewReceiver(t).URL, "events": []string{"registration.*"}})
	n := 0
	post := func(typ string) (string, []string) {
		t.Helper()
		n++
		ev := registration("evt_routing_" + string(rune('a'+n)))
		ev["type"] = typ
		resp := postEvent(t, org, ev)
		if resp.Status != http.StatusAccepted {
			t.Fatalf("post: %d %s", resp.Status, resp.Body)
		}
		var out struct {
			ID         string `json:"id"`
			Deliveries []struct {
				WebhookID string `json:"webhook_id"`
			} `json:"deliveries"`
		}
		resp.JSON(t, &out)
		var ids []string
		for _, d := range out.Deliveries {
			ids = append(ids, d.WebhookID)
		}
		slices.Sort(ids)
		return out.ID, ids
	}
	expect := func(step string, got, want []string) {
		t.Helper()
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: queued for %v, want %v", step, got, want)
		}
	}

	_, got := post("registration.confirmed") // fills the cache
	expect("one webhook", got, []string{first.ID})

	rcv := testenv.NewReceiver(t)
	second := createWebhook(t, org, map[string]any{"name": "second", "url": rcv.URL, "events": []string{"registration.*"}})
	id, got := post("registration.confirmed")
	expect("webhook just created", got, []string{first.ID, second.ID})
	testenv.Eventually(t, 30*time.Second, "the new webhook's delivery", func() bool { return slices.Contains(rcv.IDs(), id) })

	patch := func(body map[string]any) {
		t.Helper()
		if resp := org.Do(t, "PATCH", "/api/webhooks/"+second.ID, body); resp.Status != http.StatusOK {
			t.Fatalf("patch %v: %d %s", body, resp.Status, resp.Body)
		}
	}
	patch(map[string]any{"events": []string{"registration.cancelled"}})
	_, got = post("registration.confirmed")
	expect("subscription narrowed", got, []string{first.ID})
	_, got = post("registration.cancelled")
	expect("subscription narrowed, matching type", got, []string{first.ID, second.ID})

	patch(map[string]any{"is_active": false})
	_, got = post("registration.cancelled")
	expect("webhook disabled", got, []string{first.ID})

	patch(map[string]any{"is_active": true})
	_, got = post("registration.cancelled")
	expect("webhook enabled again", got, []string{first.ID, second.ID})

	patch(map[string]any{"filter_expression": `data.object.user_email == "nobody@example.com"`})
	_, got = post("registration.cancelled")
	expect("filter added", got, []string{first.ID})

	if resp := org.Do(t, "DELETE", "/api/webhooks/"+first.ID, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}
	_, got = post("registration.cancelled")
	expect("webhook deleted", got, nil)
}
