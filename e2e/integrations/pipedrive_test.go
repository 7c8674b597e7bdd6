package integrations_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/aqio/connect/config"
	pipedrivefake "github.com/aqio/connect/internal/fakes/pipedrive"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/workflows"
)

// pipedriveFake is Pipedrive (OAuth, revoke and API) under /pipedrive on
// the fakes' server; its token answers carry api_domain.
var pipedriveFake *pipedrivefake.Mounted

const pipedriveClient, pipedriveSecret = "pipedrive-client-id", "pipedrive-client-secret"

func mountPipedrive() *pipedrivefake.Mounted {
	return pipedrivefake.Mount(fake.Mux, fake.Issuer, "/pipedrive", map[string]string{pipedriveClient: pipedriveSecret},
		func() string { return fake.URL }, pipedrivefake.Options{})
}

// configurePipedrive sets no API URL: calls go to the token answer's api_domain.
func configurePipedrive(c *config.Config) {
	c.Integrations.Providers["pipedrive"] = config.ProviderConfig{
		ClientID: pipedriveClient, ClientSecret: pipedriveSecret,
		AuthURL: fake.URL + pipedriveFake.AuthPath(), TokenURL: fake.URL + pipedriveFake.TokenPath(), RevokeURL: fake.URL + pipedriveFake.RevokePath(),
	}
}

func pipedrivePushDone(t *testing.T, env *testenv.Env, integ, eventID string) {
	t.Helper()
	if st := waitClosed(t, env, workflows.PushWorkflowID(integ, eventID)); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("push %s ended %v", eventID, st)
	}
}

// pipedriveRequests are the API requests whose path starts with path and
// whose query or body mentions s.
func pipedriveRequests(method, path, s string) []pipedrivefake.Request {
	var out []pipedrivefake.Request
	for _, r := range pipedriveFake.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, path) && (strings.Contains(r.Query, s) || strings.Contains(string(r.Body), s)) {
			out = append(out, r)
		}
	}
	return out
}

// TestPipedrive drives the Pipedrive connector through the real path:
// connect (OAuth, HTTP Basic client auth at the token endpoint, API base
// from api_domain) → a confirmed registration becomes a person with the
// mapped field, found again by link or email search so repeats create no
// second person → payments create one deal each, linked to the person →
// a push Pipedrive refuses is listed as failed and re-run → a 429 waits
// out the burst window → an access token Pipedrive refuses is refreshed
// once → a full sync reports a refused record and is re-run → disconnect
// revokes the refresh token.
func TestPipedrive(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	sfx := strings.ToLower(org.ID)
	fieldName := "Diet_" + sfx
	diet := pipedriveFake.AddField(fieldName, "varchar")

	// A mapped field Pipedrive does not have: 422 at save time, naming it.
	resp := org.Do(t, "POST", "/api/integrations/pipedrive/authorize", map[string]any{"return_url": returnURL,
		"settings": map[string]any{"deal_status": "lost"}})
	if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), `"field":"settings.deal_status"`) {
		t.Fatalf("bad settings: %d %s", resp.Status, resp.Body)
	}
	id := connect(t, org, "pipedrive", map[string]any{"create_deals_for_paid_events": true,
		"person_field_mapping": map[string]any{"dietary_restrictions": fieldName}}, "")
	if got := integration(t, org, id); got["status"] != "active" || got["token_expires_at"] == nil {
		t.Fatalf("after connect: %v", got)
	}
	resp = org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"settings": map[string]any{"person_field_mapping": map[string]any{"guests": "No_such_field"}}})
	if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), `"field":"settings.person_field_mapping.guests"`) {
		t.Fatalf("unknown person field: %d %s", resp.Status, resp.Body)
	}

	evID := "pev_" + org.ID
	postEvent(t, org, "p0-"+org.ID, "event.created", event(evID, "Pipedrive summit", "2031-10-01T09:00:00Z", "2031-10-01T17:00:00Z", "in_person", 100))
	ada := "ada." + sfx + "@example.com"
	reg := map[string]any{"id": "pr1" + org.ID, "event_id": evID, "user_email": ada, "user_name": "Ada Lovelace", "status": "confirmed", "dietary_restrictions": "vegan"}
	postEvent(t, org, "p1-"+org.ID, "registration.confirmed", reg)
	pipedrivePushDone(t, env, id, "p1-"+org.ID)
	postEvent(t, org, "p2-"+org.ID, "registration.created", reg)
	pipedrivePushDone(t, env, id, "p2-"+org.ID)
	ps := pipedriveFake.Persons(ada)
	if len(ps) != 1 || ps[0].Name != "Ada Lovelace" || ps[0].CustomFields[diet] != "vegan" {
		t.Fatalf("persons %+v", ps)
	}
	if n := len(pipedriveRequests("POST", "/api/v2/persons", ada)); n != 1 {
		t.Fatalf("%d person creates for one registrant", n)
	}
	for _, r := range pipedriveRequests("GET", "/api/v2/persons/search", "") {
		if !strings.HasPrefix(r.Authorization, "Bearer 13310544:") {
			t.Fatalf("authorization %q", r.Authorization)
		}
	}

	// Two pushes of one payment: one deal, linked to the person.
	pay := map[string]any{"id": "pp1" + org.ID, "amount": 250, "currency": "NOK", "status": "completed", "event_id": evID,
		"registration_id": "pr1" + org.ID, "user_email": ada}
	postEvent(t, org, "p3-"+org.ID, "payment.completed", pay)
	pipedrivePushDone(t, env, id, "p3-"+org.ID)
	postEvent(t, org, "p4-"+org.ID, "payment.completed", pay)
	pipedrivePushDone(t, env, id, "p4-"+org.ID)
	deals := pipedriveFake.Deals(ps[0].ID)
	if len(deals) != 1 || deals[0].Title != "Pipedrive summit — Ada Lovelace" || deals[0].Value != 250 || deals[0].Currency != "NOK" || deals[0].Status != "won" {
		t.Fatalf("deals %+v", deals)
	}

	// Pipedrive refuses a create: the push fails, support sees it in the
	// activity list with Pipedrive's error, and re-runs it.
	grace := "grace." + sfx + "@example.com"
	pipedriveFake.FailFor("POST", "/api/v2/persons", grace, 1, http.StatusBadRequest,
		`{"success":false,"error":"Validation failed: name too long","error_info":"Please check developers.pipedrive.com for more information about Pipedrive API.","data":null,"additional_data":null}`)
	postEvent(t, org, "p5-"+org.ID, "registration.confirmed", map[string]any{"id": "pr2" + org.ID, "event_id": evID,
		"user_email": grace, "user_name": "Grace Hopper", "status": "confirmed"})
	if st := waitClosed(t, env, workflows.PushWorkflowID(id, "p5-"+org.ID)); st != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("refused push ended %v", st)
	}
	var failed map[string]any
	testenv.Eventually(t, wait, "failed push listed", func() bool {
		for _, a := range hubspotActivity(t, org, id, "kind=push&status=failed") {
			if a["event_id"] == "p5-"+org.ID {
				failed = a
				return true
			}
		}
		return false
	})
	errObj, _ := failed["error"].(map[string]any)
	respObj, _ := failed["response"].(map[string]any)
	msg, _ := errObj["message"].(string)
	if !strings.Contains(msg, "Validation failed: name too long") || respObj == nil || respObj["status"] != float64(400) || failed["temporal_url"] == "" {
		t.Fatalf("failed push: %v", failed)
	}
	resp = org.Do(t, "POST", "/api/integrations/"+id+"/pushes/"+failed["id"].(string)+"/retry", nil)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("retry push: %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, wait, "re-run push to create the person", func() bool { _, ok := pipedriveFake.Person(grace); return ok })

	// The burst window is full: the push waits x-ratelimit-reset out.
	pipedriveFake.RateLimitNext(2)
	linus := "linus." + sfx + "@example.com"
	postEvent(t, org, "p6-"+org.ID, "registration.confirmed", map[string]any{"id": "pr3" + org.ID, "event_id": evID,
		"user_email": linus, "user_name": "Linus T", "status": "confirmed"})
	pipedrivePushDone(t, env, id, "p6-"+org.ID)
	searches := pipedriveRequests("GET", "/api/v2/persons/search", strings.ReplaceAll(linus, "@", "%40"))
	if _, ok := pipedriveFake.Person(linus); !ok || len(searches) != 3 {
		t.Fatalf("%d searches for a push rate limited twice", len(searches))
	}
	for i := 1; i < len(searches); i++ {
		if gap := searches[i].At.Sub(searches[i-1].At); gap < time.Second {
			t.Fatalf("retry %d came %v after a 429 (x-ratelimit-reset ≥ 1 s)", i, gap)
		}
	}

	// Pipedrive refuses the access token before its expiry: the push
	// refreshes once (HTTP Basic at the token endpoint) and goes through.
	refreshes := pipedriveFake.OAuth.Refreshes()
	pipedriveFake.OAuth.ExpireAccessTokens()
	reg["dietary_restrictions"] = "vegetarian"
	postEvent(t, org, "p7-"+org.ID, "registration.confirmed", reg)
	pipedrivePushDone(t, env, id, "p7-"+org.ID)
	if p, _ := pipedriveFake.Person(ada); p.CustomFields[diet] != "vegetarian" || pipedriveFake.OAuth.Refreshes() != refreshes+1 {
		t.Fatalf("after refresh-on-401: %+v, refreshes %d → %d", p, refreshes, pipedriveFake.OAuth.Refreshes())
	}
	if r := row(t, env, org.ID, id); r.Status != models.IntegrationActive {
		t.Fatalf("status after refresh: %s", r.Status)
	}

	// A full sync patches every registrant's person; one Pipedrive refuses
	// is a per-record error; the re-run completes.
	postEvent(t, org, "p8-"+org.ID, "registration.confirmed", map[string]any{"id": "pr4" + org.ID, "event_id": evID,
		"user_email": "bad." + sfx + "@example.com", "user_name": "Bad Record", "status": "confirmed"})
	pipedrivePushDone(t, env, id, "p8-"+org.ID)
	pipedriveFake.FailFor("PATCH", "/api/v2/persons/", "Bad Record", 1, http.StatusBadRequest,
		`{"success":false,"error":"Validation failed: custom field value","error_info":"…","data":null}`)
	resp = org.Do(t, "POST", "/api/integrations/"+id+"/sync", map[string]any{"sync_type": "full"})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("sync: %d %s", resp.Status, resp.Body)
	}
	s := syncRun(t, org, id, resp.Map(t)["id"].(string))
	errs, _ := s["error_details"].([]any)
	if s["status"] != "failed" || s["records_failed"] != float64(1) || s["records_updated"] != float64(3) ||
		len(errs) != 1 || errs[0].(map[string]any)["object_id"] != "pr4"+org.ID {
		t.Fatalf("sync %v", s)
	}
	if n := len(pipedriveFake.Persons("bad." + sfx + "@example.com")); n != 1 {
		t.Fatalf("%d persons for the refused record", n)
	}
	resp = org.Do(t, "POST", "/api/integrations/"+id+"/syncs/"+s["id"].(string)+"/retry", nil)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("retry sync: %d %s", resp.Status, resp.Body)
	}
	if again := syncRun(t, org, id, resp.Map(t)["id"].(string)); again["status"] != "completed" || again["records_failed"] != float64(0) ||
		again["records_updated"] != float64(4) || again["retry_of"] != s["id"] {
		t.Fatalf("re-run sync %v", again)
	}
	// Still one person per registrant after pushes, retries and syncs.
	for _, e := range []string{ada, grace, linus} {
		if n := len(pipedriveFake.Persons(e)); n != 1 {
			t.Fatalf("%d persons for %s", n, e)
		}
	}

	// Disconnect revokes the refresh token at Pipedrive.
	before := len(pipedriveFake.OAuth.Revoked())
	if resp := org.Do(t, "DELETE", "/api/integrations/"+id, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, wait, "refresh token revoked at Pipedrive", func() bool {
		revoked := pipedriveFake.OAuth.Revoked()
		return len(revoked) == before+1 && strings.HasPrefix(revoked[len(revoked)-1], "13310544:13310544:r")
	})
}
