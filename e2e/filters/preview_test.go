package filters_test

import (
	"net/http"
	"testing"

	"github.com/aqio/connect/internal/testenv"
)

// TestFilterPreviewAgreesWithDelivery: POST /api/webhooks/filter-preview
// answers, for a sample event, what the delivery pipeline decides for a
// webhook with the same filters (the console's "would this event match?").
func TestFilterPreviewAgreesWithDelivery(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rules := map[string]any{"event_type": []string{"conference"}, "min_attendees": 100}
	expr := `data.object.location_type == "virtual"`
	w := createWebhook(t, org, map[string]any{
		"name": "preview", "url": "https://example.com/hook", "events": []string{"event.*"},
		"event_filters": rules, "filter_expression": expr,
	})
	type part struct {
		Matches bool    `json:"matches"`
		Error   *string `json:"error"`
	}
	type preview struct {
		Matches          bool  `json:"matches"`
		EventFilters     *part `json:"event_filters"`
		FilterExpression *part `json:"filter_expression"`
	}
	for _, c := range []struct {
		id                  string
		attendees           int
		location            string
		wantRules, wantExpr bool
	}{
		{"evt_pv_both", 150, "virtual", true, true},
		{"evt_pv_rules", 150, "in_person", true, false},
		{"evt_pv_expr", 20, "virtual", false, true},
		{"evt_pv_none", 20, "in_person", false, false},
	} {
		ev := conference(c.id, c.attendees, c.location)
		resp := org.Do(t, "POST", "/api/webhooks/filter-preview", map[string]any{
			"event": ev, "event_filters": rules, "filter_expression": expr,
		})
		if resp.Status != http.StatusOK {
			t.Fatalf("%s: preview %d %s", c.id, resp.Status, resp.Body)
		}
		var p preview
		resp.JSON(t, &p)
		if p.EventFilters == nil || p.FilterExpression == nil {
			t.Fatalf("%s: parts missing: %s", c.id, resp.Body)
		}
		if p.EventFilters.Matches != c.wantRules || p.FilterExpression.Matches != c.wantExpr || p.Matches != (c.wantRules && c.wantExpr) {
			t.Fatalf("%s: preview %s, want event_filters=%v filter_expression=%v", c.id, resp.Body, c.wantRules, c.wantExpr)
		}
		// The pipeline decides the same for the real event.
		if got := postEvent(t, org, ev).startedFor(w.ID); got != p.Matches {
			t.Fatalf("%s: preview says %v, delivery started %v", c.id, p.Matches, got)
		}
	}

	// No filters: everything matches, both parts null.
	resp := org.Do(t, "POST", "/api/webhooks/filter-preview", map[string]any{"event": conference("x", 1, "x")})
	if m := resp.Map(t); resp.Status != http.StatusOK || m["matches"] != true || m["event_filters"] != nil || m["filter_expression"] != nil {
		t.Fatalf("no filters: %d %s", resp.Status, resp.Body)
	}
	// An expression failing at evaluation (no such key) does not match and says why.
	resp = org.Do(t, "POST", "/api/webhooks/filter-preview", map[string]any{
		"event": event("e", "event.created", map[string]any{"id": "ev"}), "filter_expression": `data.object.max_attendees > 3`,
	})
	var p preview
	resp.JSON(t, &p)
	if resp.Status != http.StatusOK || p.Matches || p.FilterExpression == nil || p.FilterExpression.Error == nil || *p.FilterExpression.Error == "" {
		t.Fatalf("evaluation error: %d %s", resp.Status, resp.Body)
	}
	// The organization defaults to the caller's.
	resp = org.Do(t, "POST", "/api/webhooks/filter-preview", map[string]any{
		"event": conference("o", 1, "x"), "filter_expression": `organization_id == "` + org.ID + `"`,
	})
	if m := resp.Map(t); resp.Status != http.StatusOK || m["matches"] != true {
		t.Fatalf("organization default: %d %s", resp.Status, resp.Body)
	}
}

func TestFilterPreviewRefusesBadInputAtTheField(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	ev := conference("x", 1, "x")
	for _, tc := range []struct {
		name      string
		body      map[string]any
		wantField string
	}{
		{"no event", map[string]any{"filter_expression": "true"}, "event"},
		{"event not an object", map[string]any{"event": []int{1}}, "event"},
		{"data not an object", map[string]any{"event": map[string]any{"type": "event.created", "data": 3}}, "event.data"},
		{"bad bound", map[string]any{"event": ev, "event_filters": map[string]any{"min_attendees": "ten"}}, "event_filters.min_attendees"},
		{"CEL syntax", map[string]any{"event": ev, "filter_expression": "data.object.title =="}, "filter_expression"},
		{"CEL not boolean", map[string]any{"event": ev, "filter_expression": "data.object.title"}, "filter_expression"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := org.Do(t, "POST", "/api/webhooks/filter-preview", tc.body)
			if resp.Status != http.StatusUnprocessableEntity && resp.Status != http.StatusBadRequest {
				t.Fatalf("status %d %s", resp.Status, resp.Body)
			}
			if field, _ := errorOf(t, resp); field != tc.wantField {
				t.Fatalf("field %q, want %q (%s)", field, tc.wantField, resp.Body)
			}
		})
	}
}
