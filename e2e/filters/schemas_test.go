package filters_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aqio/connect/internal/testenv"
)

func TestEventTypesPublishSchemasAndExamples(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	resp := org.Do(t, "GET", "/api/event-types", nil)
	var out struct {
		Data []struct {
			Name        string         `json:"name"`
			Schema      map[string]any `json:"schema"`
			Example     map[string]any `json:"example"`
			Operational bool           `json:"operational"`
		} `json:"data"`
	}
	resp.JSON(t, &out)
	domain := out.Data[:0]
	for _, typ := range out.Data {
		if !typ.Operational { // operational types are emitted, never posted
			domain = append(domain, typ)
		}
	}
	if resp.Status != http.StatusOK || len(domain) != 13 {
		t.Fatalf("%d: %d domain types", resp.Status, len(domain))
	}
	for _, typ := range domain {
		if typ.Schema["type"] != "object" || typ.Schema["properties"] == nil || typ.Example["id"] == nil {
			t.Fatalf("%s: schema or example missing: %v %v", typ.Name, typ.Schema, typ.Example)
		}
		// Every published example is accepted by POST /api/events.
		resp := org.Do(t, "POST", "/api/events", map[string]any{"type": typ.Name, "data": map[string]any{"object": typ.Example}})
		if resp.Status != http.StatusAccepted {
			t.Fatalf("%s: example refused: %d %s", typ.Name, resp.Status, resp.Body)
		}
	}
}

func TestSchemaViolatingEventsAreRefused(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	createWebhook(t, org, map[string]any{"name": "all", "url": rcv.URL, "events": []string{"*"}})
	for _, tc := range []struct {
		name      string
		typ       string
		object    map[string]any
		wantField string
		wantText  string
	}{
		{"missing event_id", "registration.confirmed", map[string]any{"id": "reg_1", "user_email": "a@example.com"}, "data.object.event_id", "is required"},
		{"missing id", "event.created", map[string]any{"title": "Launch"}, "data.object.id", "is required"},
		{"wrong type", "event.updated", map[string]any{"id": "ev_1", "max_attendees": "fifty"}, "data.object.max_attendees", "integer"},
		{"bad location type", "event.published", map[string]any{"id": "ev_1", "location_type": "moon"}, "data.object.location_type", "virtual"},
		{"amount as string", "payment.completed", map[string]any{"id": "pay_1", "amount": "49.50", "currency": "NOK"}, "data.object.amount", "number"},
		{"nested list element", "event.created", map[string]any{"id": "ev_1", "tags": []any{"go", 7}}, "data.object.tags.1", "string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "evt_bad_" + strings.ReplaceAll(tc.name, " ", "_")
			resp := org.Do(t, "POST", "/api/events", event(id, tc.typ, tc.object))
			if resp.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", resp.Status, resp.Body)
			}
			field, msg := errorOf(t, resp)
			if field != tc.wantField || !strings.Contains(msg, tc.wantText) {
				t.Fatalf("field %q message %q; want %q containing %q", field, msg, tc.wantField, tc.wantText)
			}
			// Nothing was stored: the same id with a valid object is new (202, not a duplicate).
			fixed := map[string]any{"id": "ok_1", "event_id": "evt_456", "amount": 1, "currency": "NOK"}
			if got := postEvent(t, org, event(id, tc.typ, fixed)); got.ID != id {
				t.Fatalf("posted %s, got %s", id, got.ID)
			}
		})
	}
	// Additional properties are allowed.
	postEvent(t, org, event("evt_extra", "registration.created", map[string]any{"id": "reg_2", "event_id": "evt_456", "seat": "A12"}))
	testenv.Eventually(t, waitFor, "7 deliveries (6 fixed events and one with extra fields)", func() bool { return len(rcv.Got()) == 7 })
}
