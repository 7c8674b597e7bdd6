package integrations_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/aqio/connect/config"
	mailchimpfake "github.com/aqio/connect/internal/fakes/mailchimp"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/workflows"
)

// mailchimpFake is Mailchimp (OAuth, metadata, API and batch results)
// under /mailchimp on the fakes' server.
var mailchimpFake *mailchimpfake.Mounted

const mailchimpClient, mailchimpSecret = "412345678901", "mailchimp-client-secret"

// mountMailchimp mounts the fake; TestMain calls it.
func mountMailchimp() *mailchimpfake.Mounted {
	return mailchimpfake.Mount(fake.Mux, fake.Issuer, "/mailchimp", map[string]string{mailchimpClient: mailchimpSecret},
		func() string { return fake.URL }, mailchimpfake.Options{})
}

// configureMailchimp points the service at the fake. No API URL: the data
// center comes from the metadata endpoint beside the token endpoint.
func configureMailchimp(c *config.Config) {
	c.Integrations.Providers["mailchimp"] = config.ProviderConfig{
		ClientID: mailchimpClient, ClientSecret: mailchimpSecret,
		AuthURL: fake.URL + mailchimpFake.AuthPath(), TokenURL: fake.URL + mailchimpFake.TokenPath(),
	}
}

var notAlnum = regexp.MustCompile(`[^A-Za-z0-9]`)

// mailchimpAudience creates an audience of its own for an org.
func mailchimpAudience(org *testenv.Org) string {
	id := "l" + strings.ToLower(notAlnum.ReplaceAllString(org.ID, ""))
	if len(id) > 40 {
		id = id[:40]
	}
	mailchimpFake.AddList(mailchimpfake.List{ID: id, Name: "Aqio " + org.ID})
	return id
}

func mailchimpPushDone(t *testing.T, env *testenv.Env, integ, eventID string) {
	t.Helper()
	if st := waitClosed(t, env, workflows.PushWorkflowID(integ, eventID)); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("push %s ended %v", eventID, st)
	}
}

// mailchimpPuts are the member upserts of an address that reached the fake.
func mailchimpPuts(list, email string) []mailchimpfake.Request {
	var out []mailchimpfake.Request
	p := "/3.0/lists/" + list + "/members/" + mailchimpfake.SubscriberHash(email)
	for _, r := range mailchimpFake.Requests() {
		if r.Method == "PUT" && r.Path == p {
			out = append(out, r)
		}
	}
	return out
}

// TestMailchimp drives the Mailchimp connector through the real path:
// connect (OAuth; tokens without expiry or refresh token; the data center
// from the metadata endpoint) → settings checked against the audience on
// save → a confirmed registration with marketing consent is subscribed,
// one without becomes a transactional contact, both tagged with the event
// → a push Mailchimp refuses is listed as failed and re-run → Mailchimp's
// throttle (a bare 403, then 429) only slows a push down → a full sync
// exports every registration through the batch endpoint with a
// per-member error → a cancellation removes the event tag → disconnect
// deletes the token (Mailchimp has no revocation endpoint).
func TestMailchimp(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	list := mailchimpAudience(org)
	metadataBefore := mailchimpFake.Count("GET", "/oauth2/metadata")
	id := connect(t, org, "mailchimp", map[string]any{"audience_id": list, "tags": map[string]any{"registration.confirmed": []any{"Aqio"}}}, "")
	if n := mailchimpFake.Count("GET", "/oauth2/metadata") - metadataBefore; n != 1 {
		t.Fatalf("metadata endpoint asked %d times at connect, want once (AfterConnect; the data center is then stored)", n)
	}
	got := integration(t, org, id)
	if got["status"] != "active" || got["token_expires_at"] != nil {
		t.Fatalf("after connect (tokens never expire): %v", got)
	}

	// Settings are checked against the account when saved.
	resp := org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"settings": map[string]any{"audience_id": "nosuchlist1"}})
	if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), `"field":"settings.audience_id"`) {
		t.Fatalf("unknown audience: %d %s", resp.Status, resp.Body)
	}
	settings := map[string]any{"audience_id": list, "tags": map[string]any{"registration.confirmed": []any{"Aqio"}, "registration.cancelled": []any{"Cancelled"}},
		"merge_field_mapping": map[string]any{"first_name": "FNAME", "last_name": "LNAME", "answers.company": "COMPANY"}}
	resp = org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"settings": settings})
	if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), `"field":"settings.merge_field_mapping.answers.company"`) ||
		!strings.Contains(string(resp.Body), "COMPANY") {
		t.Fatalf("unknown merge field: %d %s", resp.Status, resp.Body)
	}
	if s := integration(t, org, id)["settings"].(map[string]any); s["merge_field_mapping"] != nil {
		t.Fatalf("refused settings were saved: %v", s)
	}
	mailchimpFake.AddMergeField(list, mailchimpfake.MergeField{Tag: "COMPANY", Name: "Company", Type: "text"})
	if resp := org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"settings": settings}); resp.Status != http.StatusOK {
		t.Fatalf("settings with an existing merge field: %d %s", resp.Status, resp.Body)
	}
	if n := mailchimpFake.Count("GET", "/oauth2/metadata") - metadataBefore; n != 1 {
		t.Fatalf("metadata endpoint asked %d times, want only the once at connect", n)
	}

	evID := "mev_" + org.ID
	postEvent(t, org, "m0-"+org.ID, "event.created", event(evID, "Chimp summit", "2031-10-01T09:00:00Z", "2031-10-01T17:00:00Z", "in_person", 100))
	lower := strings.ToLower(org.ID)
	regEvent := func(n, email string, consent any) map[string]any {
		return map[string]any{"id": "mr" + n + org.ID, "event_id": evID, "user_email": email, "user_name": "Ada Lovelace", "status": "confirmed",
			"marketing_consent": consent, "answers": map[string]any{"company": "Analytical Engines"}}
	}

	// With consent: subscribed, merge fields mapped, tagged with the event.
	ada := "ada+" + lower + "@example.com"
	postEvent(t, org, "m1-"+org.ID, "registration.confirmed", regEvent("1", ada, true))
	mailchimpPushDone(t, env, id, "m1-"+org.ID)
	m, ok := mailchimpFake.Member(list, ada)
	if !ok || m.Status != "subscribed" || m.MergeFields["FNAME"] != "Ada" || m.MergeFields["COMPANY"] != "Analytical Engines" ||
		strings.Join(m.Tags, ",") != "Aqio,Chimp summit" {
		t.Fatalf("member with consent: %+v", m)
	}
	// Without consent: a transactional contact, never subscribed.
	grace := "grace+" + lower + "@example.com"
	postEvent(t, org, "m2-"+org.ID, "registration.confirmed", regEvent("2", grace, nil))
	mailchimpPushDone(t, env, id, "m2-"+org.ID)
	if m, _ := mailchimpFake.Member(list, grace); m.Status != "transactional" || len(m.StatusIfNews) != 1 || m.StatusIfNews[0] != "transactional" {
		t.Fatalf("member without consent: %+v", m)
	}
	for _, r := range mailchimpFake.Requests() {
		if strings.HasPrefix(r.Path, "/3.0/") && !strings.HasPrefix(r.Authorization, "Bearer ") {
			t.Fatalf("%s %s authorization %q", r.Method, r.Path, r.Authorization)
		}
	}

	// Mailchimp refuses an upsert: the push fails, support sees it in the
	// activity list with Mailchimp's problem document, and re-runs it.
	linus := "linus+" + lower + "@example.com"
	mailchimpFake.Fail("PUT", "/3.0/lists/"+list+"/members/", 1, http.StatusBadRequest,
		`{"type":"https://mailchimp.com/developer/marketing/docs/errors/","title":"Invalid Resource","status":400,"detail":"Your merge fields were invalid.","instance":"7c1f0e2a-0001","errors":[{"field":"COMPANY","message":"Please enter a value"}]}`)
	postEvent(t, org, "m3-"+org.ID, "registration.confirmed", regEvent("3", linus, true))
	if st := waitClosed(t, env, workflows.PushWorkflowID(id, "m3-"+org.ID)); st != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("refused push ended %v", st)
	}
	var failed map[string]any
	testenv.Eventually(t, wait, "failed push listed", func() bool {
		for _, a := range activity(t, org, id, "?kind=push&status=failed") {
			if a["event_id"] == "m3-"+org.ID {
				failed = a
				return true
			}
		}
		return false
	})
	errObj, _ := failed["error"].(map[string]any)
	respObj, _ := failed["response"].(map[string]any)
	if errObj["code"] != "invalid_resource" || !strings.Contains(errObj["message"].(string), "COMPANY: Please enter a value") ||
		respObj == nil || respObj["status"] != float64(400) || !strings.Contains(respObj["excerpt"].(string), "7c1f0e2a-0001") || failed["temporal_url"] == "" {
		t.Fatalf("failed push: %v", failed)
	}
	if _, ok := mailchimpFake.Member(list, linus); ok {
		t.Fatal("a refused upsert created the member")
	}
	resp = org.Do(t, "POST", "/api/integrations/"+id+"/pushes/"+failed["id"].(string)+"/retry", nil)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("retry push: %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, wait, "re-run listed as succeeded", func() bool {
		for _, a := range activity(t, org, id, "?kind=push&status=succeeded") {
			if a["retry_of"] == failed["id"] {
				return true
			}
		}
		return false
	})
	if m, ok := mailchimpFake.Member(list, linus); !ok || m.Status != "subscribed" {
		t.Fatalf("re-run member %+v", m)
	}

	// Throttled (a bare 403, then a 429 "Too Many Requests"): the push
	// backs off and goes through; the credential is not treated as dead.
	for _, status := range []int{http.StatusForbidden, http.StatusTooManyRequests} {
		n := map[int]string{403: "4", 429: "5"}[status]
		email := "throttle" + n + "+" + lower + "@example.com"
		mailchimpFake.Throttle(2, status)
		postEvent(t, org, "m"+n+"-"+org.ID, "registration.confirmed", regEvent(n, email, true))
		mailchimpPushDone(t, env, id, "m"+n+"-"+org.ID)
		// Two throttled attempts, then the one that went through, each a
		// backoff (the retry policy's, Mailchimp sends no Retry-After) apart.
		puts := mailchimpPuts(list, email)
		if _, ok := mailchimpFake.Member(list, email); !ok || len(puts) != 3 {
			t.Fatalf("throttled %d: %d upsert attempts, want 3", status, len(puts))
		}
		for i := 1; i < len(puts); i++ {
			if gap := puts[i].At.Sub(puts[i-1].At); gap < time.Second {
				t.Fatalf("throttled %d: attempt %d came %v after the previous one", status, i+1, gap)
			}
		}
		if r := row(t, env, org.ID, id); r.Status != models.IntegrationActive {
			t.Fatalf("status after throttling (%d): %s", status, r.Status)
		}
	}

	// A sync exports every registration through the batch endpoint; an
	// address Mailchimp keeps out is one per-member error (and the run ends
	// failed, so support sees it and can re-run it).
	gone := "gone+" + lower + "@example.com"
	mailchimpFake.RefuseEmail(gone, "Member In Compliance State", gone+" is already a list member in compliance state due to unsubscribe, bounce, or compliance review.")
	postEvent(t, org, "m6-"+org.ID, "registration.confirmed", regEvent("6", gone, true))
	mailchimpPushDone(t, env, id, "m6-"+org.ID) // skipped: Mailchimp keeps the address out
	batches := len(mailchimpFake.Batches())
	resp = org.Do(t, "POST", "/api/integrations/"+id+"/sync", map[string]any{"sync_type": "full"})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("sync: %d %s", resp.Status, resp.Body)
	}
	s := syncRun(t, org, id, resp.Map(t)["id"].(string))
	errs, _ := s["error_details"].([]any)
	if s["status"] != "failed" || s["records_updated"] != float64(5) || s["records_failed"] != float64(1) || len(errs) != 1 ||
		errs[0].(map[string]any)["object_id"] != "mr6"+org.ID || errs[0].(map[string]any)["code"] != "member_in_compliance_state" {
		t.Fatalf("sync %v", s)
	}
	if n := len(mailchimpFake.Batches()) - batches; n != 2 {
		t.Fatalf("%d batches for one page (members, then tags)", n)
	}
	for _, r := range mailchimpFake.Requests() {
		if strings.HasPrefix(r.Path, "/mailchimp/batch-results/") || strings.HasPrefix(r.Path, "/batch-results/") {
			if r.Authorization != "" {
				t.Fatal("the token was sent to the batch results URL")
			}
		}
	}
	if m, _ := mailchimpFake.Member(list, grace); m.Status != "transactional" {
		t.Fatalf("the sync subscribed a registrant without consent: %+v", m)
	}

	// A cancelled registration loses the event tag and gets the
	// cancellation tag; it stays subscribed (consent is not withdrawn).
	cancelledReg := regEvent("1", ada, true)
	cancelledReg["status"] = "cancelled"
	postEvent(t, org, "m7-"+org.ID, "registration.cancelled", cancelledReg)
	mailchimpPushDone(t, env, id, "m7-"+org.ID)
	if m, _ := mailchimpFake.Member(list, ada); strings.Join(m.Tags, ",") != "Aqio,Cancelled" || m.Status != "subscribed" {
		t.Fatalf("after cancellation: %+v", m)
	}

	// Mailchimp has no revocation endpoint: disconnect deletes the token
	// and calls nothing at Mailchimp.
	for _, p := range org.Do(t, "GET", "/api/integrations/providers", nil).Map(t)["data"].([]any) {
		if p := p.(map[string]any); p["type"] == "mailchimp" && (p["revocable"] != false || p["available"] != true || p["tokens_expire"] != false) {
			t.Fatalf("catalog entry %v", p)
		}
	}
	before := len(mailchimpFake.Requests())
	if resp := org.Do(t, "DELETE", "/api/integrations/"+id, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}
	if r := org.Do(t, "GET", "/api/integrations/"+id, nil); r.Status != http.StatusNotFound {
		t.Fatalf("after delete: %d", r.Status)
	}
	if n := len(mailchimpFake.Requests()) - before; n != 0 {
		t.Fatalf("disconnect made %d calls to Mailchimp", n)
	}
}

// TestMailchimpAppRemoved: the user removed the app in Mailchimp (the
// token is dead; there is nothing to refresh): the push fails and the
// integration goes to status error.
func TestMailchimpAppRemoved(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	list := mailchimpAudience(org)
	id := connect(t, org, "mailchimp", map[string]any{"audience_id": list}, "")
	email := "ada+" + strings.ToLower(org.ID) + "@example.com"
	postEvent(t, org, "ma1-"+org.ID, "registration.confirmed", map[string]any{"id": "mar1" + org.ID, "event_id": "e", "user_email": email, "status": "confirmed"})
	mailchimpPushDone(t, env, id, "ma1-"+org.ID)
	tok := ""
	for _, r := range mailchimpFake.Requests() {
		if strings.HasPrefix(r.Path, "/3.0/lists/"+list+"/") {
			tok = strings.TrimPrefix(r.Authorization, "Bearer ")
		}
	}
	if tok == "" || !mailchimpFake.OAuth.Revoke(tok) {
		t.Fatal("no token to revoke")
	}
	postEvent(t, org, "ma2-"+org.ID, "registration.confirmed", map[string]any{"id": "mar2" + org.ID, "event_id": "e", "user_email": "b" + email, "status": "confirmed"})
	if st := waitClosed(t, env, workflows.PushWorkflowID(id, "ma2-"+org.ID)); st != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("push with a dead token ended %v", st)
	}
	testenv.Eventually(t, wait, "integration in status error", func() bool {
		return row(t, env, org.ID, id).Status == models.IntegrationError
	})
}
