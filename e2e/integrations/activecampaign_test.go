package integrations_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	activecampaignfake "github.com/aqio/connect/internal/fakes/activecampaign"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/workflows"
)

func acPushDone(t *testing.T, env *testenv.Env, integ, eventID string) {
	t.Helper()
	if st := waitClosed(t, env, workflows.PushWorkflowID(integ, eventID)); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("push %s ended %v", eventID, st)
	}
}

// acRequests are the ActiveCampaign requests to path whose body mentions s.
func acRequests(method, path, s string) []activecampaignfake.Request {
	var out []activecampaignfake.Request
	for _, r := range activecampaignFake.Requests() {
		if r.Method == method && r.Path == path && strings.Contains(string(r.Body), s) {
			out = append(out, r)
		}
	}
	return out
}

// acIntegrations lists the organization's ActiveCampaign integrations.
func acIntegrations(t *testing.T, org *testenv.Org) int {
	t.Helper()
	resp := org.Do(t, "GET", "/api/integrations", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("list: %d %s", resp.Status, resp.Body)
	}
	n := 0
	for _, in := range resp.Map(t)["data"].([]any) {
		if in.(map[string]any)["integration_type"] == "activecampaign" {
			n++
		}
	}
	return n
}

var nonTag = regexp.MustCompile(`[^A-Z0-9_]`)

// TestActiveCampaign drives the ActiveCampaign connector through the real
// path: connect with the account's API URL and key (each checked with one
// call before anything is saved; refusals name the field) → a confirmed
// registration with marketing consent becomes a contact with the mapped
// custom field, the event tag and the list; without consent, no list → a
// repeated push duplicates nothing → a push ActiveCampaign refuses is
// listed as failed and re-run → a 429 waits Retry-After → a cancellation
// untags and never unsubscribes → a full sync reports a bad record and is
// re-run after the fix → a key deleted at ActiveCampaign puts the
// integration in error → disconnect.
func TestActiveCampaign(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	sfx := strings.ToLower(org.ID)
	key := "ac-key-" + org.ID
	activecampaignFake.AddKey(key)
	persTag := "DIET_" + nonTag.ReplaceAllString(strings.ToUpper(org.ID), "_")
	diet := activecampaignFake.AddField("Dietary restrictions "+org.ID, persTag)
	list := activecampaignFake.AddList("Aqio newsletter " + org.ID)
	apiURL := fake.URL + activecampaignFake.APIPath()
	settings := map[string]any{
		"list_ids":              []string{list},
		"contact_field_mapping": map[string]any{"dietary_restrictions": "%" + persTag + "%"},
		"tags":                  map[string]any{"registration.cancelled": []string{"Aqio cancelled " + org.ID}},
	}
	connectAC := func(creds map[string]any, set map[string]any) testenv.Response {
		return org.Do(t, "POST", "/api/integrations/activecampaign/connect", map[string]any{"name": "Marketing", "credentials": creds, "settings": set})
	}

	// The catalog says how to connect.
	resp := org.Do(t, "GET", "/api/integrations/providers", nil)
	if !strings.Contains(string(resp.Body), `"type":"activecampaign"`) || !strings.Contains(string(resp.Body), `"auth_mode":"api_key"`) ||
		!strings.Contains(string(resp.Body), `"name":"api_url"`) {
		t.Fatalf("providers: %s", resp.Body)
	}

	// Refused credentials and settings: 422 naming the field, nothing stored.
	for _, tc := range []struct {
		name  string
		creds map[string]any
		set   map[string]any
		field string
	}{
		{"wrong key", map[string]any{"api_url": apiURL, "api_key": "not-the-key"}, settings, "credentials.api_key"},
		{"not an ActiveCampaign URL", map[string]any{"api_url": fake.URL + "/nothing-here", "api_key": key}, settings, "credentials.api_url"},
		{"not a URL", map[string]any{"api_url": "youraccount.api-us1.com", "api_key": key}, settings, "credentials.api_url"},
		{"missing key", map[string]any{"api_url": apiURL}, settings, "credentials.api_key"},
		{"unknown field", map[string]any{"api_url": apiURL, "api_key": key, "token": "x"}, settings, "credentials.token"},
		{"unknown list", map[string]any{"api_url": apiURL, "api_key": key}, map[string]any{"list_ids": []string{"987654"}}, "settings.list_ids[0]"},
		{"unknown custom field", map[string]any{"api_url": apiURL, "api_key": key}, map[string]any{"contact_field_mapping": map[string]any{"guests": "NO_SUCH_FIELD"}}, "settings.contact_field_mapping.guests"},
	} {
		r := connectAC(tc.creds, tc.set)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `"field":"`+tc.field+`"`) {
			t.Fatalf("%s: %d %s, want 422 naming %s", tc.name, r.Status, r.Body, tc.field)
		}
	}
	if r := org.Do(t, "POST", "/api/integrations/hubspot/connect", map[string]any{"credentials": map[string]any{"api_key": "x"}}); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(string(r.Body), `"field":"type"`) {
		t.Fatalf("OAuth provider through connect: %d %s", r.Status, r.Body)
	}
	if n := acIntegrations(t, org); n != 0 {
		t.Fatalf("%d integrations stored by refused connects", n)
	}

	// Connect: the key and URL are checked, stored encrypted, never shown.
	resp = connectAC(map[string]any{"api_url": apiURL + "/api/3/", "api_key": key}, settings)
	if resp.Status != http.StatusCreated || strings.Contains(string(resp.Body), key) {
		t.Fatalf("connect: %d %s", resp.Status, resp.Body)
	}
	in := resp.Map(t)
	id := in["id"].(string)
	if in["status"] != "active" || in["has_credentials"] != true || in["integration_type"] != "activecampaign" {
		t.Fatalf("connected: %v", in)
	}
	if r := row(t, env, org.ID, id); r.APIKey == nil || strings.Contains(*r.APIKey, key) {
		t.Fatalf("credential not stored encrypted: %+v", r.APIKey)
	}
	recordConnectCredentials(t, env, org.ID, "connect_credentials.json")

	// A confirmed registration with consent: contact, mapped field, event
	// tag, list.
	evID := "acev_" + org.ID
	postEvent(t, org, "ac0-"+org.ID, "event.created", event(evID, "Marketing summit "+org.ID, "2031-10-01T09:00:00Z", "2031-10-01T17:00:00Z", "in_person", 100))
	ada := "ada+" + sfx + "@example.com"
	reg := map[string]any{"id": "acr1" + org.ID, "event_id": evID, "user_email": ada, "user_name": "Ada Lovelace", "status": "confirmed",
		"dietary_restrictions": "vegan", "marketing_consent": true}
	postEvent(t, org, "ac1-"+org.ID, "registration.confirmed", reg)
	acPushDone(t, env, id, "ac1-"+org.ID)
	c, ok := activecampaignFake.Contact(ada)
	eventTag := "Marketing summit " + org.ID
	if !ok || c.FirstName != "Ada" || c.LastName != "Lovelace" || c.Fields[diet] != "vegan" || c.Lists[list] != 1 ||
		strings.Join(c.Tags, "|") != eventTag {
		t.Fatalf("contact %+v", c)
	}
	for _, r := range acRequests("POST", "/api/3/contact/sync", ada) {
		if r.APIToken != key {
			t.Fatalf("Api-Token %q", r.APIToken)
		}
	}

	// The same registration again (created after confirmed, a resend):
	// one contact, one tag, one membership.
	tagsBefore := len(activecampaignFake.Tags())
	reg2 := map[string]any{}
	for k, v := range reg {
		reg2[k] = v
	}
	postEvent(t, org, "ac2-"+org.ID, "registration.created", reg2)
	acPushDone(t, env, id, "ac2-"+org.ID)
	c2, _ := activecampaignFake.Contact(ada)
	if c2.ID != c.ID || strings.Join(c2.Tags, "|") != eventTag || len(c2.Lists) != 1 || len(activecampaignFake.Tags()) != tagsBefore {
		t.Fatalf("after a repeated push: %+v, %d tags (was %d)", c2, len(activecampaignFake.Tags()), tagsBefore)
	}

	// Without marketing consent: a contact, tagged, on no list.
	bob := "bob+" + sfx + "@example.com"
	postEvent(t, org, "ac3-"+org.ID, "registration.confirmed", map[string]any{"id": "acr2" + org.ID, "event_id": evID,
		"user_email": bob, "user_name": "Bob Noconsent", "status": "confirmed"})
	acPushDone(t, env, id, "ac3-"+org.ID)
	if b, ok := activecampaignFake.Contact(bob); !ok || len(b.Lists) != 0 || strings.Join(b.Tags, "|") != eventTag {
		t.Fatalf("contact without consent %+v", b)
	}

	// ActiveCampaign refuses a sync: the push fails, support sees it in
	// the activity list with ActiveCampaign's error, and re-runs it.
	activecampaignFake.Fail("POST", "/api/3/contact/sync", 1, http.StatusUnprocessableEntity,
		`{"errors":[{"title":"Contact Email Address is not valid.","detail":"","code":"email_invalid","source":{"pointer":"/data/attributes/email"}}]}`)
	grace := "grace+" + sfx + "@example.com"
	postEvent(t, org, "ac4-"+org.ID, "registration.confirmed", map[string]any{"id": "acr3" + org.ID, "event_id": evID,
		"user_email": grace, "user_name": "Grace Hopper", "status": "confirmed", "marketing_consent": true})
	if st := waitClosed(t, env, workflows.PushWorkflowID(id, "ac4-"+org.ID)); st != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("refused push ended %v", st)
	}
	var failed map[string]any
	testenv.Eventually(t, wait, "failed push listed", func() bool {
		for _, a := range hubspotActivity(t, org, id, "kind=push&status=failed") {
			if a["event_id"] == "ac4-"+org.ID {
				failed = a
				return true
			}
		}
		return false
	})
	errObj, _ := failed["error"].(map[string]any)
	respObj, _ := failed["response"].(map[string]any)
	msg, _ := errObj["message"].(string)
	if errObj["code"] != "email_invalid" || !strings.Contains(msg, "Email Address is not valid") ||
		respObj == nil || respObj["status"] != float64(422) || failed["temporal_url"] == "" || strings.Contains(string(resp.Body), key) {
		t.Fatalf("failed push: %v", failed)
	}
	if _, ok := activecampaignFake.Contact(grace); ok {
		t.Fatal("a refused sync created the contact")
	}
	resp = org.Do(t, "POST", "/api/integrations/"+id+"/pushes/"+failed["id"].(string)+"/retry", nil)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("retry push: %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, wait, "re-run listed as succeeded", func() bool {
		for _, a := range hubspotActivity(t, org, id, "kind=push&status=succeeded") {
			if a["retry_of"] == failed["id"] {
				return true
			}
		}
		return false
	})
	if g, ok := activecampaignFake.Contact(grace); !ok || g.Lists[list] != 1 {
		t.Fatalf("re-run push: %+v", g)
	}

	// 429: the push waits Retry-After (1 s) each time and goes through.
	activecampaignFake.RateLimitNext(2)
	linus := "linus+" + sfx + "@example.com"
	postEvent(t, org, "ac5-"+org.ID, "registration.confirmed", map[string]any{"id": "acr4" + org.ID, "event_id": evID,
		"user_email": linus, "user_name": "Linus T", "status": "confirmed"})
	acPushDone(t, env, id, "ac5-"+org.ID)
	if _, ok := activecampaignFake.Contact(linus); !ok {
		t.Fatal("rate-limited push did not create the contact")
	}
	syncs := acRequests("POST", "/api/3/contact/sync", linus)
	if len(syncs) != 3 {
		t.Fatalf("%d contact syncs for a push rate limited twice", len(syncs))
	}
	for i := 1; i < len(syncs); i++ {
		if gap := syncs[i].At.Sub(syncs[i-1].At); gap < time.Second {
			t.Fatalf("retry %d came %v after a 429 with Retry-After: 1", i, gap)
		}
	}

	// A cancellation removes the event tag and adds the cancellation tag;
	// the list membership stays (nobody is unsubscribed by Aqio).
	postEvent(t, org, "ac6-"+org.ID, "registration.cancelled", map[string]any{"id": "acr1" + org.ID, "event_id": evID,
		"user_email": ada, "status": "cancelled", "marketing_consent": true})
	acPushDone(t, env, id, "ac6-"+org.ID)
	c, _ = activecampaignFake.Contact(ada)
	if strings.Join(c.Tags, "|") != "Aqio cancelled "+org.ID || c.Lists[list] != 1 {
		t.Fatalf("after cancel %+v", c)
	}
	for _, r := range activecampaignFake.Requests() {
		if r.Path == "/api/3/contactLists" && strings.Contains(string(r.Body), `"status":2`) {
			t.Fatalf("Aqio unsubscribed someone: %s", r.Body)
		}
	}

	// A full sync exports the registrations; one ActiveCampaign refuses
	// is a per-record error, the others go through. Fixed in Aqio, the
	// re-run completes.
	bad := "nodomain+" + sfx + "@localhost"
	postEvent(t, org, "ac7-"+org.ID, "registration.confirmed", map[string]any{"id": "acr5" + org.ID, "event_id": evID,
		"user_email": bad, "status": "confirmed"})
	waitClosed(t, env, workflows.PushWorkflowID(id, "ac7-"+org.ID))
	resp = org.Do(t, "POST", "/api/integrations/"+id+"/sync", map[string]any{"sync_type": "full"})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("sync: %d %s", resp.Status, resp.Body)
	}
	s := syncRun(t, org, id, resp.Map(t)["id"].(string))
	errs, _ := s["error_details"].([]any)
	if s["status"] != "failed" || s["records_failed"] != float64(1) || s["records_updated"] != float64(3) ||
		len(errs) != 1 || errs[0].(map[string]any)["object_id"] != "acr5"+org.ID || errs[0].(map[string]any)["code"] != "email_invalid" {
		t.Fatalf("sync %v", s)
	}
	fixed := "nodomain+" + sfx + "@example.com"
	postEvent(t, org, "ac8-"+org.ID, "registration.confirmed", map[string]any{"id": "acr5" + org.ID, "event_id": evID,
		"user_email": fixed, "status": "confirmed"})
	acPushDone(t, env, id, "ac8-"+org.ID)
	resp = org.Do(t, "POST", "/api/integrations/"+id+"/syncs/"+s["id"].(string)+"/retry", nil)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("retry sync: %d %s", resp.Status, resp.Body)
	}
	if again := syncRun(t, org, id, resp.Map(t)["id"].(string)); again["status"] != "completed" || again["records_failed"] != float64(0) ||
		again["retry_of"] != s["id"] {
		t.Fatalf("re-run sync %v", again)
	}

	// The key is deleted at ActiveCampaign: the next push fails and the
	// integration goes to error (the user reconnects with a new key).
	activecampaignFake.RemoveKey(key)
	postEvent(t, org, "ac9-"+org.ID, "registration.confirmed", map[string]any{"id": "acr6" + org.ID, "event_id": evID,
		"user_email": "zoe+" + sfx + "@example.com", "status": "confirmed"})
	if st := waitClosed(t, env, workflows.PushWorkflowID(id, "ac9-"+org.ID)); st != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("push with a deleted key ended %v", st)
	}
	testenv.Eventually(t, wait, "integration in error", func() bool { return row(t, env, org.ID, id).Status == models.IntegrationError })

	// Reconnecting with a new key replaces the credential of the same integration.
	key2 := key + "-2"
	activecampaignFake.AddKey(key2)
	resp = connectAC(map[string]any{"api_url": apiURL, "api_key": key2}, settings)
	if resp.Status != http.StatusCreated || resp.Map(t)["id"] != id || resp.Map(t)["status"] != "active" {
		t.Fatalf("reconnect: %d %s", resp.Status, resp.Body)
	}

	// Disconnect: ActiveCampaign has no revocation endpoint (the key is
	// deleted in its settings); the integration and its credential go.
	before := len(activecampaignFake.Requests())
	if resp := org.Do(t, "DELETE", "/api/integrations/"+id, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, wait, "integration deleted", func() bool { return acIntegrations(t, org) == 0 })
	if n := len(activecampaignFake.Requests()) - before; n != 0 {
		t.Fatalf("disconnect sent %d requests to ActiveCampaign", n)
	}
}

// recordConnectCredentials writes the organization's last successful
// ConnectCredentials run's history to $AQIO_RECORD_HISTORIES (for
// workflows/testdata).
func recordConnectCredentials(t *testing.T, env *testenv.Env, orgID, name string) {
	if !testenv.RecordingHistories() {
		return
	}
	var id string
	testenv.Eventually(t, wait, "ConnectCredentials run listed", func() bool {
		res, err := env.App.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: "WorkflowType = 'ConnectCredentials' AND ExecutionStatus = 'Completed' AND AqioOrganizationId = '" + orgID + "'"})
		if err != nil || len(res.Executions) == 0 {
			return false
		}
		id = res.Executions[0].GetExecution().GetWorkflowId()
		return true
	})
	testenv.RecordHistory(t, env, id, "", name)
}
