package filters_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testenv"
)

const waitFor = 30 * time.Second

func conference(id string, attendees int, location string) map[string]any {
	return event(id, "event.published", map[string]any{
		"id": "ev_" + id, "title": "Go Days", "event_type": "conference",
		"attendees": attendees, "max_attendees": 200, "location_type": location,
		"starts_at": "2024-10-10T08:00:00Z",
	})
}

// TestOnlyMatchingEventsAreDelivered: events that fail a webhook's
// event_filters or filter_expression start no workflow and reach no
// receiver; a later matching event does.
func TestOnlyMatchingEventsAreDelivered(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	seedRcv, celRcv, allRcv := testenv.NewReceiver(t), testenv.NewReceiver(t), testenv.NewReceiver(t)
	seed := createWebhook(t, org, map[string]any{
		"name": "big conferences", "url": seedRcv.URL, "events": []string{"event.*"},
		"event_filters": map[string]any{"event_type": []string{"conference", "summit"}, "min_attendees": 10},
	})
	if seed.EventFilters["min_attendees"] != float64(10) {
		t.Fatalf("event_filters not returned: %+v", seed.EventFilters)
	}
	expr := `data.object.location_type == "virtual" && data.object.max_attendees >= 50`
	cel := createWebhook(t, org, map[string]any{
		"name": "virtual", "url": celRcv.URL, "events": []string{"*"}, "filter_expression": expr,
	})
	if cel.FilterExpression == nil || *cel.FilterExpression != expr {
		t.Fatalf("filter_expression not returned: %v", cel.FilterExpression)
	}
	all := createWebhook(t, org, map[string]any{"name": "all", "url": allRcv.URL, "events": []string{"*"}})

	// Neither filter matches: too few attendees, in person.
	small := postEvent(t, org, conference("evt_small", 5, "in_person"))
	// The seed filter matches; the expression does not (in person).
	big := postEvent(t, org, conference("evt_big", 120, "in_person"))
	// Only the expression matches (a meetup, virtual).
	meetup := event("evt_meetup", "event.created", map[string]any{"id": "ev_m", "event_type": "meetup", "attendees": 3, "max_attendees": 80, "location_type": "virtual"})
	virt := postEvent(t, org, meetup)
	// The expression errors (no max_attendees key): no match, not a failure.
	noCap := postEvent(t, org, event("evt_nocap", "event.created", map[string]any{"id": "ev_n", "location_type": "virtual"}))
	// Both match.
	both := postEvent(t, org, conference("evt_both", 150, "virtual"))

	for _, c := range []struct {
		name     string
		ev       accepted
		seed, cl bool
	}{
		{"small", small, false, false}, {"big", big, true, false}, {"meetup", virt, false, true},
		{"no capacity", noCap, false, false}, {"both", both, true, true},
	} {
		if c.ev.startedFor(seed.ID) != c.seed || c.ev.startedFor(cel.ID) != c.cl || !c.ev.startedFor(all.ID) {
			t.Fatalf("%s: deliveries %+v, want seed=%v expression=%v all=true", c.name, c.ev.Deliveries, c.seed, c.cl)
		}
	}

	// The unfiltered webhook gets all five; by then every earlier event has
	// been dispatched, and the filtered receivers must hold exactly theirs.
	testenv.Eventually(t, waitFor, "unfiltered receiver gets 5 events", func() bool { return len(allRcv.Got()) == 5 })
	testenv.Eventually(t, waitFor, "seed-filter receiver gets its 2 events", func() bool { return len(seedRcv.Got()) >= 2 })
	testenv.Eventually(t, waitFor, "expression receiver gets its 2 events", func() bool { return len(celRcv.Got()) >= 2 })
	assertIDs(t, "event_filters", seedRcv, "evt_big", "evt_both")
	assertIDs(t, "filter_expression", celRcv, "evt_meetup", "evt_both")

	// Clearing the filters lets the next event through.
	resp := org.Do(t, "PATCH", "/api/webhooks/"+cel.ID, map[string]any{"filter_expression": nil})
	if resp.Status != http.StatusOK || resp.Map(t)["filter_expression"] != nil {
		t.Fatalf("clear filter_expression: %d %s", resp.Status, resp.Body)
	}
	postEvent(t, org, conference("evt_after_clear", 1, "in_person"))
	testenv.Eventually(t, waitFor, "cleared webhook gets the next event", func() bool { return len(celRcv.Got()) == 3 })
	assertIDs(t, "after clearing", celRcv, "evt_meetup", "evt_both", "evt_after_clear")
	assertIDs(t, "seed filter still applies", seedRcv, "evt_big", "evt_both")

	resp = org.Do(t, "PATCH", "/api/webhooks/"+seed.ID, map[string]any{"event_filters": nil})
	if resp.Status != http.StatusOK || resp.Map(t)["event_filters"] != nil {
		t.Fatalf("clear event_filters: %d %s", resp.Status, resp.Body)
	}
	if ev := postEvent(t, org, conference("evt_after_clear2", 1, "in_person")); !ev.startedFor(seed.ID) {
		t.Fatalf("cleared event_filters still filter: %+v", ev.Deliveries)
	}
}

func assertIDs(t *testing.T, what string, r *testenv.Receiver, want ...string) {
	t.Helper()
	got := r.IDs()
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: receiver got %v, want %v", what, got, want)
	}
}

func TestBadFiltersAndCustomizationAreRefused(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	valid := func(k string, v any) map[string]any {
		return map[string]any{"name": "x", "url": "https://example.com/hook", "events": []string{"event.created"}, k: v}
	}
	for _, tc := range []struct {
		name      string
		body      map[string]any
		wantField string
		wantText  string
	}{
		{"filters not an object", valid("event_filters", []int{1}), "event_filters", "must be"},
		{"bound not a number", valid("event_filters", map[string]any{"min_attendees": "ten"}), "event_filters.min_attendees", "number"},
		{"empty any-of", valid("event_filters", map[string]any{"event_type": []string{}}), "event_filters.event_type", "at least one"},
		{"object value", valid("event_filters", map[string]any{"venue": map[string]any{"city": "Oslo"}}), "event_filters.venue", "string, number, boolean"},
		{"bad path", valid("event_filters", map[string]any{"venue..city": "Oslo"}), "event_filters.venue..city", "dot-path"},
		{"CEL syntax", valid("filter_expression", `data.object.title ==`), "filter_expression", "invalid CEL"},
		{"CEL unknown variable", valid("filter_expression", `payload.title == "x"`), "filter_expression", "undeclared reference"},
		{"CEL not boolean", valid("filter_expression", `data.object.title`), "filter_expression", "bool"},
		{"CEL type error", valid("filter_expression", `created == "yesterday"`), "filter_expression", "invalid CEL"},
		{"reserved signature header", valid("custom_headers", map[string]string{"webhook-signature": "v1,x"}), "custom_headers.webhook-signature", "reserved"},
		{"reserved content type", valid("custom_headers", map[string]string{"Content-Type": "text/plain"}), "custom_headers.Content-Type", "reserved"},
		{"reserved authorization", valid("custom_headers", map[string]string{"authorization": "Bearer x"}), "custom_headers.authorization", "reserved"},
		{"any webhook- header", valid("custom_headers", map[string]string{"Webhook-Extra": "1"}), "custom_headers.Webhook-Extra", "reserved"},
		{"invalid header name", valid("custom_headers", map[string]string{"X Bad": "1"}), "custom_headers.X Bad", "valid HTTP header name"},
		{"header injection", valid("custom_headers", map[string]string{"X-Ok": "a\r\nX-Evil: 1"}), "custom_headers.X-Ok", "control characters"},
		{"include outside data", valid("payload_include", []string{"data.object.id", "type"}), "payload_include.1", "under data"},
		{"exclude bad path", valid("payload_exclude", []string{"data.object..x"}), "payload_exclude.0", "dot-path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := org.Do(t, "POST", "/api/webhooks", tc.body)
			if resp.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", resp.Status, resp.Body)
			}
			field, msg := errorOf(t, resp)
			if field != tc.wantField || !strings.Contains(msg, tc.wantText) {
				t.Fatalf("error field %q message %q; want field %q containing %q", field, msg, tc.wantField, tc.wantText)
			}
		})
	}
	t.Run("include and exclude together", func(t *testing.T) {
		body := valid("payload_include", []string{"data.object.id"})
		body["payload_exclude"] = []string{"data.object.user_email"}
		resp := org.Do(t, "POST", "/api/webhooks", body)
		if field, _ := errorOf(t, resp); resp.Status != http.StatusUnprocessableEntity || field != "payload_exclude" {
			t.Fatalf("%d %s", resp.Status, resp.Body)
		}
	})
	// Nothing was stored.
	list := org.Do(t, "GET", "/api/webhooks", nil)
	var out struct {
		Data []webhook `json:"data"`
	}
	list.JSON(t, &out)
	if len(out.Data) != 0 {
		t.Fatalf("refused webhooks were stored: %s", list.Body)
	}

	// A bad PATCH leaves the webhook as it was.
	wh := createWebhook(t, org, valid("filter_expression", `data.object.attendees > 10`))
	resp := org.Do(t, "PATCH", "/api/webhooks/"+wh.ID, map[string]any{"filter_expression": `data.object.attendees >`, "name": "renamed"})
	if field, _ := errorOf(t, resp); resp.Status != http.StatusUnprocessableEntity || field != "filter_expression" {
		t.Fatalf("bad patch: %d %s", resp.Status, resp.Body)
	}
	got := org.Do(t, "GET", "/api/webhooks/"+wh.ID, nil).Map(t)
	if got["filter_expression"] != `data.object.attendees > 10` || got["name"] != "x" {
		t.Fatalf("a refused patch changed the webhook: %v", got)
	}
}
