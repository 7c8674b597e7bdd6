package integrations_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/aqio/connect/config"
	sffake "github.com/aqio/connect/internal/fakes/salesforce"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/workflows"
)

// salesforceFake is one Salesforce org (External Client App OAuth and the
// REST API) under /salesforce on the fakes' server; its instance_url is
// fake.URL + "/salesforce".
var salesforceFake *sffake.Mounted

const sfClient, sfSecret = "3MVG9salesforce-consumer-key", "salesforce-consumer-secret"

func mountSalesforce() *sffake.Mounted {
	return sffake.Mount(fake.Mux, fake.Issuer, "/salesforce", map[string]string{sfClient: sfSecret}, func() string { return fake.URL }, sffake.Options{})
}

// configureSalesforce sets no API URL: calls go to the token answer's instance_url.
func configureSalesforce(c *config.Config) {
	c.Integrations.Providers["salesforce"] = config.ProviderConfig{
		ClientID: sfClient, ClientSecret: sfSecret,
		AuthURL: fake.URL + salesforceFake.AuthPath(), TokenURL: fake.URL + salesforceFake.TokenPath(), RevokeURL: fake.URL + salesforceFake.RevokePath(),
	}
}

func sfPushDone(t *testing.T, env *testenv.Env, integ, eventID string) {
	t.Helper()
	if st := waitClosed(t, env, workflows.PushWorkflowID(integ, eventID)); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("push %s ended %v", eventID, st)
	}
}

func sfOne(t *testing.T, object, field string, value any) sffake.Record {
	t.Helper()
	recs := salesforceFake.Find(object, field, value)
	if len(recs) != 1 {
		t.Fatalf("%d %s records with %s = %v, want 1: %+v", len(recs), object, field, value, recs)
	}
	return recs[0]
}

// TestSalesforce drives the Salesforce connector through the real path:
// connect as an External Client App (PKCE + secret; no expires_in, calls
// go to instance_url) → an event becomes a Campaign → a registration
// upserts the Contact by its email external id and joins the campaign →
// repeats and a twice-sent payment make one Contact, one member and one
// Opportunity → a push Salesforce refuses is listed as failed and re-run
// → INVALID_SESSION_ID refreshes once (twice, with rotating refresh
// tokens kept) → a cancellation moves the member to Cancelled and keeps
// the Contact → a full sync through sObject Collections reports a refused
// address per record and completes once it is fixed →
// REQUEST_LIMIT_EXCEEDED puts the push off by LimitWait → disconnect
// revokes the refresh token.
func TestSalesforce(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	low := strings.ToLower(org.ID)
	settings := map[string]any{"sync_campaigns": true, "create_opportunities": true, "field_mapping": map[string]any{"answers.title": "Title"}}
	id := connect(t, org, "salesforce", settings, "")
	if got := integration(t, org, id); got["status"] != "active" || got["token_expires_at"] != nil {
		t.Fatalf("after connect (Salesforce tokens report no expiry): %v", got)
	}

	// An event becomes a campaign with Aqio's member statuses.
	evID := "sev_" + org.ID
	ev := event(evID, "Salesforce summit", "2031-11-01T09:00:00Z", "2031-11-02T17:00:00Z", "in_person", 100)
	postEvent(t, org, "s1-"+org.ID, "event.created", ev)
	sfPushDone(t, env, id, "s1-"+org.ID)
	camp := sfOne(t, "Campaign", "Aqio_Event_Id__c", evID)
	if camp.Fields["Name"] != "Salesforce summit" || camp.Fields["StartDate"] != "2031-11-01" || camp.Fields["IsActive"] != true {
		t.Fatalf("campaign %+v", camp)
	}
	if n := len(salesforceFake.Find("CampaignMemberStatus", "CampaignId", camp.ID)); n != 3 {
		t.Fatalf("%d member statuses on the campaign", n)
	}

	// A registration: Contact by the email external id, member Registered.
	ada := "ada+" + low + "@example.com"
	reg := map[string]any{"id": "sr1" + org.ID, "event_id": evID, "user_email": ada, "user_name": "Ada Lovelace", "status": "confirmed",
		"answers": map[string]any{"title": "Countess"}}
	postEvent(t, org, "s2-"+org.ID, "registration.confirmed", reg)
	sfPushDone(t, env, id, "s2-"+org.ID)
	contact := sfOne(t, "Contact", "Aqio_Email__c", ada)
	if contact.Fields["FirstName"] != "Ada" || contact.Fields["LastName"] != "Lovelace" || contact.Fields["Email"] != ada || contact.Fields["Title"] != "Countess" {
		t.Fatalf("contact %+v", contact)
	}
	if m := sfOne(t, "CampaignMember", "ContactId", contact.ID); m.Fields["CampaignId"] != camp.ID || m.Fields["Status"] != "Registered" {
		t.Fatalf("member %+v", m)
	}
	for _, r := range salesforceFake.Requests() {
		if !strings.HasPrefix(r.Path, "/services/data/v62.0/") || !strings.Contains(r.Token, "!") {
			t.Fatalf("request %s %s with token %q", r.Method, r.Path, r.Token)
		}
	}

	// Repeats: one Contact, one member; a payment sent twice is one Opportunity.
	postEvent(t, org, "s3-"+org.ID, "registration.confirmed", reg)
	sfPushDone(t, env, id, "s3-"+org.ID)
	sfOne(t, "Contact", "Aqio_Email__c", ada)
	sfOne(t, "CampaignMember", "ContactId", contact.ID)
	pay := map[string]any{"id": "sp1" + org.ID, "amount": 1200, "currency": "USD", "status": "completed", "event_id": evID,
		"registration_id": "sr1" + org.ID, "user_email": ada, "paid_at": "2031-10-01T12:00:00Z"}
	for _, eid := range []string{"s4-", "s5-"} {
		postEvent(t, org, eid+org.ID, "payment.completed", pay)
		sfPushDone(t, env, id, eid+org.ID)
	}
	opp := sfOne(t, "Opportunity", "Aqio_Payment_Id__c", "sp1"+org.ID)
	if opp.Fields["Amount"] != int64(1200) || opp.Fields["ContactId"] != contact.ID || opp.Fields["CampaignId"] != camp.ID ||
		opp.Fields["StageName"] != "Closed Won" || opp.Fields["CloseDate"] != "2031-10-01" || opp.Fields["Name"] != "Salesforce summit — Ada Lovelace" {
		t.Fatalf("opportunity %+v", opp)
	}

	// Salesforce refuses the upsert: the push fails, support sees
	// Salesforce's error array in the activity list and re-runs it.
	salesforceFake.Fail("PATCH", "/sobjects/Contact/", 1, http.StatusBadRequest,
		`[{"message":"Title: data value too large: Countess of Lovelace and Analytical Engines (max length=128)","errorCode":"STRING_TOO_LONG","fields":["Title"]}]`)
	grace := "grace+" + low + "@example.com"
	postEvent(t, org, "s6-"+org.ID, "registration.confirmed", map[string]any{"id": "sr2" + org.ID, "event_id": evID,
		"user_email": grace, "user_name": "Grace Hopper", "status": "confirmed"})
	if st := waitClosed(t, env, workflows.PushWorkflowID(id, "s6-"+org.ID)); st != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("refused push ended %v", st)
	}
	failed := kitPush(t, org, id, "s6-"+org.ID, "failed")
	errObj, _ := failed["error"].(map[string]any)
	respObj, _ := failed["response"].(map[string]any)
	if errObj["code"] != "STRING_TOO_LONG" || !strings.Contains(errObj["message"].(string), "fields: Title") ||
		respObj == nil || respObj["status"] != float64(400) || !strings.Contains(respObj["excerpt"].(string), "STRING_TOO_LONG") {
		t.Fatalf("failed push: %v", failed)
	}
	resp := org.Do(t, "POST", "/api/integrations/"+id+"/pushes/"+failed["id"].(string)+"/retry", nil)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("retry push: %d %s", resp.Status, resp.Body)
	}
	rerun := resp.Map(t)
	testenv.Eventually(t, wait, "re-run push to succeed", func() bool {
		for _, a := range org.Do(t, "GET", "/api/integrations/"+id+"/activity?kind=push", nil).Map(t)["data"].([]any) {
			if m := a.(map[string]any); m["id"] == rerun["id"] {
				return m["status"] == "succeeded" && m["retry_of"] == failed["id"]
			}
		}
		return false
	})
	sfOne(t, "Contact", "Aqio_Email__c", grace)

	// The session ends (no expiry was ever reported): INVALID_SESSION_ID
	// refreshes once and the push goes through. Twice with rotation on,
	// so the second refresh proves the rotated refresh token was saved.
	salesforceFake.OAuth.SetRotate(true)
	defer salesforceFake.OAuth.SetRotate(false)
	for i, eid := range []string{"s7-", "s8-"} {
		refreshes := salesforceFake.OAuth.Refreshes()
		salesforceFake.OAuth.ExpireAccessTokens()
		again := map[string]any{}
		for k, v := range reg {
			again[k] = v
		}
		again["answers"] = map[string]any{"title": "Countess " + string(rune('A'+i))}
		postEvent(t, org, eid+org.ID, "registration.confirmed", again)
		sfPushDone(t, env, id, eid+org.ID)
		if c := sfOne(t, "Contact", "Aqio_Email__c", ada); c.Fields["Title"] != again["answers"].(map[string]any)["title"] || salesforceFake.OAuth.Refreshes() != refreshes+1 {
			t.Fatalf("refresh %d: %v, refreshes %d → %d", i, c.Fields, refreshes, salesforceFake.OAuth.Refreshes())
		}
		if r := row(t, env, org.ID, id); r.Status != models.IntegrationActive {
			t.Fatalf("status after refresh %d: %s", i, r.Status)
		}
	}

	// Cancelled: the member moves to Cancelled, the Contact stays.
	postEvent(t, org, "s9-"+org.ID, "registration.cancelled", map[string]any{"id": "sr1" + org.ID, "event_id": evID, "user_email": ada, "status": "cancelled"})
	sfPushDone(t, env, id, "s9-"+org.ID)
	if m := sfOne(t, "CampaignMember", "ContactId", contact.ID); m.Fields["Status"] != "Cancelled" {
		t.Fatalf("member after cancel %+v", m)
	}
	sfOne(t, "Contact", "Aqio_Email__c", ada)

	// A full sync through sObject Collections: a refused address is one
	// per-record error; fixed in Aqio, the re-run completes.
	postEvent(t, org, "s10-"+org.ID, "registration.confirmed", map[string]any{"id": "sr3" + org.ID, "event_id": evID,
		"user_email": "nodomain@localhost", "user_name": "No Domain", "status": "confirmed"})
	waitClosed(t, env, workflows.PushWorkflowID(id, "s10-"+org.ID))
	resp = org.Do(t, "POST", "/api/integrations/"+id+"/sync", map[string]any{"sync_type": "full"})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("sync: %d %s", resp.Status, resp.Body)
	}
	run := syncRun(t, org, id, resp.Map(t)["id"].(string))
	errs, _ := run["error_details"].([]any)
	if run["status"] != "failed" || run["records_failed"] != float64(1) || run["records_updated"] != float64(1) || len(errs) != 1 ||
		errs[0].(map[string]any)["object_id"] != "sr3"+org.ID || errs[0].(map[string]any)["code"] != "INVALID_EMAIL_ADDRESS" {
		t.Fatalf("sync %v", run)
	}
	collections := 0
	for _, r := range salesforceFake.Requests() {
		if r.Method == "PATCH" && r.Path == "/services/data/v62.0/composite/sobjects/Contact/Aqio_Email__c" && strings.Contains(string(r.Body), grace) {
			collections++
		}
	}
	if collections != 1 {
		t.Fatalf("%d collection calls for the sync", collections)
	}
	fixed := "nodomain+" + low + "@example.com"
	postEvent(t, org, "s10b-"+org.ID, "registration.confirmed", map[string]any{"id": "sr3" + org.ID, "event_id": evID,
		"user_email": fixed, "user_name": "No Domain", "status": "confirmed"})
	sfPushDone(t, env, id, "s10b-"+org.ID)
	resp = org.Do(t, "POST", "/api/integrations/"+id+"/syncs/"+run["id"].(string)+"/retry", nil)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("retry sync: %d %s", resp.Status, resp.Body)
	}
	if again := syncRun(t, org, id, resp.Map(t)["id"].(string)); again["status"] != "completed" || again["records_failed"] != float64(0) ||
		again["records_updated"] != float64(2) || again["retry_of"] != run["id"] {
		t.Fatalf("re-run sync %v", again)
	}

	// REQUEST_LIMIT_EXCEEDED: the push is put off by LimitWait (Temporal's
	// next attempt), not retried at once.
	salesforceFake.Fail("PATCH", "/sobjects/Contact/", 1, http.StatusForbidden, `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`)
	postEvent(t, org, "s11-"+org.ID, "registration.confirmed", map[string]any{"id": "sr4" + org.ID, "event_id": evID,
		"user_email": "linus+" + low + "@example.com", "status": "confirmed"})
	wfID := workflows.PushWorkflowID(id, "s11-"+org.ID)
	testenv.Eventually(t, wait, "the rate-limited push to wait", func() bool {
		d, err := env.App.Temporal.DescribeWorkflowExecution(context.Background(), wfID, "")
		if err != nil || len(d.GetPendingActivities()) == 0 {
			return false
		}
		pa := d.GetPendingActivities()[0]
		if pa.GetLastFailure() == nil || !strings.Contains(pa.GetLastFailure().GetMessage(), "REQUEST_LIMIT_EXCEEDED") || pa.GetNextAttemptScheduleTime() == nil {
			return false
		}
		if delay := time.Until(pa.GetNextAttemptScheduleTime().AsTime()); delay < 5*time.Minute {
			t.Fatalf("next attempt in %v after REQUEST_LIMIT_EXCEEDED", delay)
		}
		return true
	})
	if err := env.App.Temporal.TerminateWorkflow(context.Background(), wfID, "", "test done"); err != nil {
		t.Fatal(err)
	}

	// Disconnect revokes the refresh token at Salesforce.
	before := len(salesforceFake.OAuth.Revoked())
	if resp := org.Do(t, "DELETE", "/api/integrations/"+id, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, wait, "refresh token revoked at Salesforce", func() bool {
		r := salesforceFake.OAuth.Revoked()
		return len(r) == before+1 && strings.HasPrefix(r[len(r)-1], "5Aep861")
	})
}

// TestSalesforceSettings: settings are checked against the org's
// describe when saved: 422 naming the field, nothing saved.
func TestSalesforceSettings(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	id := connect(t, org, "salesforce", map[string]any{}, "")
	for _, tc := range []struct {
		name     string
		settings map[string]any
		field    string
		msg      string
	}{
		{"unknown field", map[string]any{"field_mapping": map[string]any{"dietary_restrictions": "Dietary__c"}}, "settings.field_mapping.dietary_restrictions", "Dietary__c"},
		{"read-only field", map[string]any{"field_mapping": map[string]any{"user_id": "CreatedDate"}}, "settings.field_mapping.user_id", "read-only"},
		{"not an external id", map[string]any{"external_id_field": "Email"}, "settings.external_id_field", "not an External ID"},
		{"no campaign external id", map[string]any{"sync_campaigns": true, "campaign_external_id_field": "Event_Key__c"}, "settings.campaign_external_id_field", "Event_Key__c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"settings": tc.settings})
			if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), `"field":"`+tc.field+`"`) || !strings.Contains(string(resp.Body), tc.msg) {
				t.Fatalf("%d %s", resp.Status, resp.Body)
			}
		})
	}
	if saved := integration(t, org, id)["settings"].(map[string]any); saved["field_mapping"] != nil || saved["sync_campaigns"] == true {
		t.Fatalf("refused settings were saved: %v", saved)
	}
	resp := org.Do(t, "POST", "/api/integrations/salesforce/authorize", map[string]any{"return_url": returnURL, "settings": map[string]any{"record_type": "Account"}})
	if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), `"field":"settings.record_type"`) {
		t.Fatalf("bad record type: %d %s", resp.Status, resp.Body)
	}
}
