package integrations_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	hubspotfake "github.com/aqio/connect/internal/fakes/hubspot"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/workflows"
)

func hubspotPushDone(t *testing.T, env *testenv.Env, integ, eventID string) {
	t.Helper()
	if st := waitClosed(t, env, workflows.PushWorkflowID(integ, eventID)); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("push %s ended %v", eventID, st)
	}
}

// hubspotActivity lists the integration's activity (query: kind, status).
func hubspotActivity(t *testing.T, org *testenv.Org, integ, query string) []map[string]any {
	t.Helper()
	resp := org.Do(t, "GET", "/api/integrations/"+integ+"/activity?"+query, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("activity: %d %s", resp.Status, resp.Body)
	}
	var out []map[string]any
	for _, a := range resp.Map(t)["data"].([]any) {
		out = append(out, a.(map[string]any))
	}
	return out
}

// hubspotRequests are HubSpot API requests to path whose body mentions s.
func hubspotRequests(method, path, s string) []hubspotfake.Request {
	var out []hubspotfake.Request
	for _, r := range hubspotFake.Requests() {
		if r.Method == method && r.Path == path && strings.Contains(string(r.Body), s) {
			out = append(out, r)
		}
	}
	return out
}

func hubspotDeals(contactID string) []hubspotfake.Deal {
	var out []hubspotfake.Deal
	for _, d := range hubspotFake.Deals() {
		for _, c := range d.Contacts {
			if c == contactID {
				out = append(out, d)
			}
		}
	}
	return out
}

const hubspotUpsert = "/crm/v3/objects/contacts/batch/upsert"

// TestHubSpot drives the HubSpot connector through the real path: connect
// (OAuth on the v3 token endpoint) → an event becomes a marketing event →
// a confirmed registration upserts the contact with the mapped property
// and records "register" → a payment creates one deal, associated with
// the contact, however often it is pushed → a push HubSpot refuses is
// listed as failed and re-run → a 429 waits out HubSpot's window → an
// access token HubSpot refuses is refreshed once → a sync exports the
// registrations with per-record errors → disconnect revokes the refresh
// token.
func TestHubSpot(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	settings := map[string]any{
		"sync_contacts": true, "create_deals_for_paid_events": true, "sync_event_attendance": true,
		"contact_property_mapping": map[string]any{"dietary_restrictions": "dietary_preferences", "answers.company": "company"},
	}
	id := connect(t, org, "hubspot", settings, "")
	got := integration(t, org, id)
	exp, _ := time.Parse(time.RFC3339, got["token_expires_at"].(string))
	if got["status"] != "active" || time.Until(exp) > 30*time.Minute || time.Until(exp) < 20*time.Minute {
		t.Fatalf("after connect (30-minute tokens): %v", got)
	}
	email := "ada+" + strings.ToLower(org.ID) + "@example.com"

	// An event becomes a marketing event.
	evID := "hev_" + org.ID
	ev := event(evID, "HubSpot summit", "2031-10-01T09:00:00Z", "2031-10-01T17:00:00Z", "hybrid", 100)
	postEvent(t, org, "h1-"+org.ID, "event.created", ev)
	hubspotPushDone(t, env, id, "h1-"+org.ID)
	if me, ok := hubspotFake.MarketingEvent(org.ID, evID); !ok || me.Body["eventName"] != "HubSpot summit" || me.Body["eventType"] != "Hybrid" {
		t.Fatalf("marketing event %+v", me)
	}

	// A confirmed registration: contact upserted by email with the mapped
	// properties, "register" recorded.
	regID := "hr1" + org.ID
	reg := map[string]any{"id": regID, "event_id": evID, "user_email": email, "user_name": "Ada Lovelace", "status": "confirmed",
		"dietary_restrictions": "vegan", "answers": map[string]any{"company": "Analytical Engines"}}
	postEvent(t, org, "h2-"+org.ID, "registration.confirmed", reg)
	hubspotPushDone(t, env, id, "h2-"+org.ID)
	c, ok := hubspotFake.Contact(email)
	if !ok || c.Properties["firstname"] != "Ada" || c.Properties["lastname"] != "Lovelace" ||
		c.Properties["dietary_preferences"] != "vegan" || c.Properties["company"] != "Analytical Engines" {
		t.Fatalf("contact %+v", c)
	}
	if att := hubspotFake.Attendance(org.ID, evID); len(att) != 1 || att[0].State != "register" || att[0].Email != email {
		t.Fatalf("attendance %+v", att)
	}

	// payment.completed: one deal, associated with the contact, even when
	// Aqio sends the payment twice.
	pay := map[string]any{"id": "hp1" + org.ID, "amount": 250, "currency": "NOK", "status": "completed", "event_id": evID,
		"registration_id": regID, "user_email": email, "paid_at": "2031-09-01T12:00:00Z"}
	postEvent(t, org, "h3-"+org.ID, "payment.completed", pay)
	hubspotPushDone(t, env, id, "h3-"+org.ID)
	postEvent(t, org, "h4-"+org.ID, "payment.completed", pay)
	hubspotPushDone(t, env, id, "h4-"+org.ID)
	deals := hubspotDeals(c.ID)
	if len(deals) != 1 || deals[0].Properties["amount"] != "250" || deals[0].Properties["deal_currency_code"] != "NOK" ||
		deals[0].Properties["dealname"] != "HubSpot summit — Ada Lovelace" {
		t.Fatalf("deals of the contact: %+v", deals)
	}

	// HubSpot refuses an upsert: the push fails, support sees it in the
	// activity list with HubSpot's error and answer, and re-runs it.
	hubspotFake.Fail("POST", hubspotUpsert, 1, http.StatusBadRequest,
		`{"status":"error","message":"Property values were not valid: [{\"isValid\":false,\"message\":\"Property \\\"dietary_preferences\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"dietary_preferences\"}]","correlationId":"5f0c5c3e-0001","category":"VALIDATION_ERROR"}`)
	grace := "grace+" + strings.ToLower(org.ID) + "@example.com"
	postEvent(t, org, "h5-"+org.ID, "registration.confirmed", map[string]any{"id": "hr2" + org.ID, "event_id": evID,
		"user_email": grace, "user_name": "Grace Hopper", "status": "confirmed"})
	if st := waitClosed(t, env, workflows.PushWorkflowID(id, "h5-"+org.ID)); st != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("refused push ended %v", st)
	}
	var failed map[string]any
	testenv.Eventually(t, wait, "failed push listed", func() bool {
		for _, a := range hubspotActivity(t, org, id, "kind=push&status=failed") {
			if a["event_id"] == "h5-"+org.ID {
				failed = a
				return true
			}
		}
		return false
	})
	errObj, _ := failed["error"].(map[string]any)
	respObj, _ := failed["response"].(map[string]any)
	if errObj["code"] != "VALIDATION_ERROR" || !strings.Contains(errObj["message"].(string), "PROPERTY_DOESNT_EXIST") ||
		respObj == nil || respObj["status"] != float64(400) || !strings.Contains(respObj["excerpt"].(string), "5f0c5c3e-0001") ||
		failed["temporal_url"] == "" || failed["workflow_id"] == nil {
		t.Fatalf("failed push: %v", failed)
	}
	if _, ok := hubspotFake.Contact(grace); ok {
		t.Fatal("a refused upsert created the contact")
	}
	resp := org.Do(t, "POST", "/api/integrations/"+id+"/pushes/"+failed["id"].(string)+"/retry", nil)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("retry push: %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, wait, "re-run push to upsert the contact", func() bool {
		_, ok := hubspotFake.Contact(grace)
		return ok
	})
	testenv.Eventually(t, wait, "re-run listed as succeeded", func() bool {
		for _, a := range hubspotActivity(t, org, id, "kind=push&status=succeeded") {
			if a["retry_of"] == failed["id"] {
				return true
			}
		}
		return false
	})

	// HubSpot's rolling window is full: the push waits the window out
	// (X-HubSpot-RateLimit-Interval-Milliseconds) and goes through.
	hubspotFake.RateLimitNext(2)
	linus := "linus+" + strings.ToLower(org.ID) + "@example.com"
	postEvent(t, org, "h6-"+org.ID, "registration.confirmed", map[string]any{"id": "hr3" + org.ID, "event_id": evID,
		"user_email": linus, "user_name": "Linus T", "status": "confirmed"})
	hubspotPushDone(t, env, id, "h6-"+org.ID)
	ups := hubspotRequests("POST", hubspotUpsert, linus)
	if _, ok := hubspotFake.Contact(linus); !ok || len(ups) != 3 {
		t.Fatalf("%d upserts for a push rate limited twice", len(ups))
	}
	for i := 1; i < len(ups); i++ {
		if gap := ups[i].At.Sub(ups[i-1].At); gap < hubspotWindow {
			t.Fatalf("retry %d came %v after a 429, within HubSpot's %v window", i, gap, hubspotWindow)
		}
	}

	// HubSpot refuses the access token before its expiry: the push
	// refreshes once and goes through; the integration stays active.
	refreshes := hubspotFake.OAuth.Refreshes()
	hubspotFake.OAuth.ExpireAccessTokens()
	ada2 := map[string]any{}
	for k, v := range reg {
		ada2[k] = v
	}
	ada2["dietary_restrictions"] = "vegetarian"
	postEvent(t, org, "h7-"+org.ID, "registration.confirmed", ada2)
	hubspotPushDone(t, env, id, "h7-"+org.ID)
	if c, _ := hubspotFake.Contact(email); c.Properties["dietary_preferences"] != "vegetarian" || hubspotFake.OAuth.Refreshes() != refreshes+1 {
		t.Fatalf("after refresh-on-401: %v, refreshes %d → %d", c.Properties, refreshes, hubspotFake.OAuth.Refreshes())
	}
	if r := row(t, env, org.ID, id); r.Status != models.IntegrationActive {
		t.Fatalf("status after refresh: %s", r.Status)
	}
	// The same registration again records no second "register".
	if att := hubspotFake.Attendance(org.ID, evID); len(att) != 3 {
		t.Fatalf("attendance %+v, want register for ada, grace, linus once each", att)
	}

	// A sync exports every registration as a contact; a registrant HubSpot
	// refuses is one per-record error, the rest go through.
	postEvent(t, org, "h8-"+org.ID, "registration.confirmed", map[string]any{"id": "hr4" + org.ID, "event_id": evID,
		"user_email": "nodomain@localhost", "status": "confirmed"})
	waitClosed(t, env, workflows.PushWorkflowID(id, "h8-"+org.ID))
	resp = org.Do(t, "POST", "/api/integrations/"+id+"/sync", map[string]any{"sync_type": "full"})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("sync: %d %s", resp.Status, resp.Body)
	}
	s := syncRun(t, org, id, resp.Map(t)["id"].(string))
	errs, _ := s["error_details"].([]any)
	if s["status"] != "failed" || s["records_processed"] != float64(4) || s["records_updated"] != float64(3) || s["records_failed"] != float64(1) ||
		len(errs) != 1 || errs[0].(map[string]any)["object_id"] != "hr4"+org.ID || errs[0].(map[string]any)["code"] != "VALIDATION_ERROR" ||
		!strings.Contains(errs[0].(map[string]any)["message"].(string), "INVALID_EMAIL") {
		t.Fatalf("sync %v", s)
	}
	// Support fixes the address in Aqio and re-runs the failed sync.
	fixed := "nodomain+" + strings.ToLower(org.ID) + "@example.com"
	postEvent(t, org, "h8b-"+org.ID, "registration.confirmed", map[string]any{"id": "hr4" + org.ID, "event_id": evID,
		"user_email": fixed, "status": "confirmed"})
	hubspotPushDone(t, env, id, "h8b-"+org.ID)
	resp = org.Do(t, "POST", "/api/integrations/"+id+"/syncs/"+s["id"].(string)+"/retry", nil)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("retry sync: %d %s", resp.Status, resp.Body)
	}
	if again := syncRun(t, org, id, resp.Map(t)["id"].(string)); again["status"] != "completed" || again["records_failed"] != float64(0) ||
		again["records_updated"] != float64(4) || again["retry_of"] != s["id"] {
		t.Fatalf("re-run sync %v", again)
	}

	// Cancelled registration → "cancel"; cancelled event → marketing event cancelled.
	cancelled := map[string]any{"id": "hr3" + org.ID, "event_id": evID, "user_email": linus, "status": "cancelled"}
	postEvent(t, org, "h9-"+org.ID, "registration.cancelled", cancelled)
	hubspotPushDone(t, env, id, "h9-"+org.ID)
	att := hubspotFake.Attendance(org.ID, evID)
	if last := att[len(att)-1]; last.State != "cancel" || last.Email != linus {
		t.Fatalf("attendance after cancel %+v", att)
	}
	ev["status"] = "cancelled"
	postEvent(t, org, "h10-"+org.ID, "event.cancelled", ev)
	hubspotPushDone(t, env, id, "h10-"+org.ID)
	if me, _ := hubspotFake.MarketingEvent(org.ID, evID); !me.Cancelled {
		t.Fatal("marketing event not cancelled")
	}

	// Disconnect revokes the refresh token at HubSpot (v3 revoke).
	before := len(hubspotFake.OAuth.Revoked())
	if resp := org.Do(t, "DELETE", "/api/integrations/"+id, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, wait, "refresh token revoked at HubSpot", func() bool {
		revoked := hubspotFake.OAuth.Revoked()
		return len(revoked) == before+1 && strings.HasPrefix(revoked[len(revoked)-1], "na1-")
	})
}

// TestHubSpotSettings: settings are validated (422 naming the field,
// nothing saved), mapped properties against the portal's when saved.
func TestHubSpotSettings(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	id := connect(t, org, "hubspot", map[string]any{"contact_property_mapping": map[string]any{"dietary_restrictions": "dietary_preferences"}}, "")
	mapping := map[string]any{"dietary_restrictions": "dietary_preferences", "registration_source": "event_source", "guests": "party_size"}
	resp := org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"settings": map[string]any{"contact_property_mapping": mapping}})
	if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), `"field":"settings.contact_property_mapping.guests"`) ||
		!strings.Contains(string(resp.Body), `\"party_size\", \"event_source\"`) {
		t.Fatalf("unknown HubSpot properties: %d %s", resp.Status, resp.Body)
	}
	saved := integration(t, org, id)["settings"].(map[string]any)["contact_property_mapping"].(map[string]any)
	if len(saved) != 1 {
		t.Fatalf("refused settings were saved: %v", saved)
	}
	checks := hubspotRequests("GET", "/crm/v3/properties/contacts", "")
	if len(checks) == 0 {
		t.Fatal("the portal's properties were not read")
	}
	recordCheckSettings(t, env, id, "check_settings_refused.json")
	// Once the portal has them, the same settings are saved.
	hubspotFake.AddProperty(hubspotfake.Property{Name: "event_source", Label: "Event source"})
	hubspotFake.AddProperty(hubspotfake.Property{Name: "party_size", Label: "Party size", Type: "number"})
	resp = org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"settings": map[string]any{"contact_property_mapping": mapping}})
	if resp.Status != http.StatusOK {
		t.Fatalf("settings with existing properties: %d %s", resp.Status, resp.Body)
	}
	// A read-only property cannot be written.
	resp = org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"settings": map[string]any{"contact_property_mapping": map[string]any{"user_id": "hs_object_id"}}})
	if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), "read-only") {
		t.Fatalf("read-only property: %d %s", resp.Status, resp.Body)
	}
	for _, tc := range []struct {
		name     string
		settings map[string]any
		field    string
	}{
		{"unknown setting", map[string]any{"sync_deals": true}, "settings.sync_deals"},
		{"unknown Aqio field", map[string]any{"contact_property_mapping": map[string]any{"shoe_size": "shoe"}}, "settings.contact_property_mapping.shoe_size"},
		{"reserved property", map[string]any{"contact_property_mapping": map[string]any{"user_name": "email"}}, "settings.contact_property_mapping.user_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := org.Do(t, "POST", "/api/integrations/hubspot/authorize", map[string]any{"return_url": returnURL, "settings": tc.settings})
			if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), `"field":"`+tc.field+`"`) {
				t.Fatalf("%d %s", resp.Status, resp.Body)
			}
		})
	}
}

// recordCheckSettings writes the integration's last CheckSettings run's
// history to $AQIO_RECORD_HISTORIES (for workflows/testdata).
func recordCheckSettings(t *testing.T, env *testenv.Env, integ, name string) {
	if !testenv.RecordingHistories() {
		return
	}
	var id string
	testenv.Eventually(t, wait, "CheckSettings run listed", func() bool {
		res, err := env.App.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: "WorkflowType = 'CheckSettings' AND AqioIntegrationId = '" + integ + "'"})
		if err != nil || len(res.Executions) == 0 {
			return false
		}
		id = res.Executions[0].GetExecution().GetWorkflowId()
		return true
	})
	testenv.RecordHistory(t, env, id, "", name)
}
