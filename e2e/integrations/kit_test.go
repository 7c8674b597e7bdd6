package integrations_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	kitfake "github.com/aqio/connect/internal/fakes/kit"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/workflows"
)

func kitPushDone(t *testing.T, env *testenv.Env, integ, eventID string) {
	t.Helper()
	if st := waitClosed(t, env, workflows.PushWorkflowID(integ, eventID)); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("push %s ended %v", eventID, st)
	}
}

// kitRequests are Kit API requests to path whose body mentions s.
func kitRequests(method, path, s string) []kitfake.Request {
	var out []kitfake.Request
	for _, r := range kitFake.Requests() {
		if r.Method == method && r.Path == path && strings.Contains(string(r.Body), s) {
			out = append(out, r)
		}
	}
	return out
}

// kitPush finds an Aqio event's push in the integration's activity list.
func kitPush(t *testing.T, org *testenv.Org, integ, eventID, status string) map[string]any {
	t.Helper()
	var got map[string]any
	testenv.Eventually(t, wait, "push "+eventID+" listed as "+status, func() bool {
		resp := org.Do(t, "GET", "/api/integrations/"+integ+"/activity?kind=push&status="+status, nil)
		if resp.Status != http.StatusOK {
			t.Fatalf("activity: %d %s", resp.Status, resp.Body)
		}
		for _, a := range resp.Map(t)["data"].([]any) {
			if m := a.(map[string]any); m["event_id"] == eventID {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// TestKit drives the Kit connector through the real path with OAuth:
// connect (settings checked against the account) → a registrant who
// opted in becomes a subscriber with the mapped custom field, the
// settings tag and a tag for the event; one who did not is never sent;
// a repeat duplicates nothing → a push Kit refuses is listed as failed
// and re-run → 429s back off → a token Kit refuses is refreshed once
// (twice, so the rotated refresh token is proven kept) → a cancellation
// removes only the event tag → a full sync reports a refused address per
// record and succeeds once it is fixed → disconnect revokes the grant.
func TestKit(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	low := strings.ToLower(org.ID)
	vipName := "Aqio VIP " + org.ID
	vip := kitFake.AddTag(vipName)
	settings := map[string]any{"tag_ids": []int{vip}, "field_mapping": map[string]any{"answers.company": "company"}}
	id := connect(t, org, "kit", settings, "")
	got := integration(t, org, id)
	exp, _ := time.Parse(time.RFC3339, got["token_expires_at"].(string))
	if got["status"] != "active" || time.Until(exp) < 47*time.Hour {
		t.Fatalf("after connect (48-hour tokens): %v", got)
	}

	evID := "kev_" + org.ID
	evTitle := "Kit launch " + org.ID
	postEvent(t, org, "k0-"+org.ID, "event.created", event(evID, evTitle, "2031-10-01T09:00:00Z", "2031-10-01T17:00:00Z", "in_person", 100))

	// A registrant who opted in: subscriber with first name and the mapped
	// custom field, tagged VIP and with the event's tag.
	ada := "ada+" + low + "@example.com"
	reg := map[string]any{"id": "kr1" + org.ID, "event_id": evID, "user_email": ada, "user_name": "Ada Lovelace", "status": "confirmed",
		"marketing_consent": true, "answers": map[string]any{"company": "Analytical Engines"}}
	postEvent(t, org, "k1-"+org.ID, "registration.confirmed", reg)
	kitPushDone(t, env, id, "k1-"+org.ID)
	s, ok := kitFake.Subscriber(ada)
	if !ok || s.FirstName != "Ada" || s.Fields["company"] != "Analytical Engines" || s.State != "active" {
		t.Fatalf("subscriber %+v", s)
	}
	if tags := kitFake.Tagged(ada); strings.Join(tags, "|") != strings.Join([]string{vipName, evTitle}, "|") {
		t.Fatalf("tags %v", tags)
	}
	for _, r := range kitRequests("POST", "/v4/subscribers", ada) {
		if r.Credential != "bearer" {
			t.Fatalf("subscriber upsert authenticated by %q", r.Credential)
		}
	}
	// The same registration again: still one subscriber, no second event tag.
	postEvent(t, org, "k1b-"+org.ID, "registration.confirmed", reg)
	kitPushDone(t, env, id, "k1b-"+org.ID)
	if n := len(kitRequests("POST", "/v4/tags", evTitle)); n != 1 {
		t.Fatalf("event tag created %d times", n)
	}
	if s2, _ := kitFake.Subscriber(ada); s2.ID != s.ID {
		t.Fatalf("a repeat made subscriber %d, was %d", s2.ID, s.ID)
	}

	// No marketing consent: nothing reaches Kit.
	bob := "bob+" + low + "@example.com"
	postEvent(t, org, "k2-"+org.ID, "registration.confirmed", map[string]any{"id": "kr2" + org.ID, "event_id": evID, "user_email": bob,
		"user_name": "Bob", "status": "confirmed", "marketing_consent": false})
	kitPushDone(t, env, id, "k2-"+org.ID)
	if _, ok := kitFake.Subscriber(bob); ok || len(kitRequests("POST", "/v4/subscribers", bob)) != 0 {
		t.Fatal("a registrant without marketing consent was sent to Kit")
	}
	if p := kitPush(t, org, id, "k2-"+org.ID, "skipped"); p["action"] != "skipped" || !strings.Contains(p["detail"].(string), "consent") {
		t.Fatalf("push without consent: %v", p)
	}

	// Kit refuses the upsert: the push fails, support sees Kit's error and
	// answer in the activity list and re-runs it.
	kitFake.Fail("POST", "/v4/subscribers", 1, http.StatusUnprocessableEntity, `{"errors":["Email address is invalid"]}`)
	grace := "grace+" + low + "@example.com"
	postEvent(t, org, "k3-"+org.ID, "registration.confirmed", map[string]any{"id": "kr3" + org.ID, "event_id": evID, "user_email": grace,
		"user_name": "Grace Hopper", "status": "confirmed", "marketing_consent": true})
	if st := waitClosed(t, env, workflows.PushWorkflowID(id, "k3-"+org.ID)); st != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("refused push ended %v", st)
	}
	failed := kitPush(t, org, id, "k3-"+org.ID, "failed")
	errObj, _ := failed["error"].(map[string]any)
	respObj, _ := failed["response"].(map[string]any)
	if errObj["code"] != "unprocessable_entity" || !strings.Contains(errObj["message"].(string), "Email address is invalid") ||
		respObj == nil || respObj["status"] != float64(422) || !strings.Contains(respObj["request"].(string), "/v4/subscribers") ||
		failed["temporal_url"] == "" {
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
				return m["status"] == "succeeded" && m["action"] == "created" && m["retry_of"] == failed["id"]
			}
		}
		return false
	})
	if _, ok := kitFake.Subscriber(grace); !ok {
		t.Fatal("the re-run did not add the subscriber")
	}

	// 429 "Retry later" without Retry-After: the push backs off and goes through.
	kitFake.RateLimitNext(2)
	linus := "linus+" + low + "@example.com"
	postEvent(t, org, "k4-"+org.ID, "registration.confirmed", map[string]any{"id": "kr4" + org.ID, "event_id": evID, "user_email": linus,
		"status": "confirmed", "marketing_consent": true})
	kitPushDone(t, env, id, "k4-"+org.ID)
	ups := kitRequests("POST", "/v4/subscribers", linus)
	if _, ok := kitFake.Subscriber(linus); !ok || len(ups) != 3 {
		t.Fatalf("%d upserts for a push rate limited twice", len(ups))
	}
	for i := 1; i < len(ups); i++ {
		if gap := ups[i].At.Sub(ups[i-1].At); gap < time.Second {
			t.Fatalf("retry %d came %v after a 429: no back-off", i, gap)
		}
	}

	// Kit refuses the access token before its expiry: the push refreshes
	// once and goes through; twice, so the rotated refresh token was kept.
	for i, eid := range []string{"k5-", "k6-"} {
		refreshes := kitFake.OAuth.Refreshes()
		kitFake.OAuth.ExpireAccessTokens()
		ada2 := map[string]any{}
		for k, v := range reg {
			ada2[k] = v
		}
		ada2["answers"] = map[string]any{"company": "Engines " + strconv.Itoa(i)}
		postEvent(t, org, eid+org.ID, "registration.confirmed", ada2)
		kitPushDone(t, env, id, eid+org.ID)
		if s, _ := kitFake.Subscriber(ada); s.Fields["company"] != "Engines "+strconv.Itoa(i) || kitFake.OAuth.Refreshes() != refreshes+1 {
			t.Fatalf("refresh %d: %v, refreshes %d → %d", i, s.Fields, refreshes, kitFake.OAuth.Refreshes())
		}
		if r := row(t, env, org.ID, id); r.Status != models.IntegrationActive {
			t.Fatalf("status after refresh %d: %s", i, r.Status)
		}
	}

	// Cancelled: the event tag goes; the subscriber stays subscribed and VIP.
	postEvent(t, org, "k7-"+org.ID, "registration.cancelled", map[string]any{"id": "kr1" + org.ID, "event_id": evID, "user_email": ada, "status": "cancelled"})
	kitPushDone(t, env, id, "k7-"+org.ID)
	if tags := kitFake.Tagged(ada); strings.Join(tags, "|") != vipName {
		t.Fatalf("tags after cancel %v", tags)
	}
	if s, _ := kitFake.Subscriber(ada); s.State != "active" {
		t.Fatalf("a cancellation changed the subscriber's state to %s", s.State)
	}

	// A full sync: the registrations who opted in are (re)sent, a refused
	// address is one per-record error; fixed, the re-run completes.
	postEvent(t, org, "k8-"+org.ID, "registration.confirmed", map[string]any{"id": "kr5" + org.ID, "event_id": evID,
		"user_email": "nodomain@localhost", "status": "confirmed", "marketing_consent": true})
	waitClosed(t, env, workflows.PushWorkflowID(id, "k8-"+org.ID))
	resp = org.Do(t, "POST", "/api/integrations/"+id+"/sync", map[string]any{"sync_type": "full"})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("sync: %d %s", resp.Status, resp.Body)
	}
	run := syncRun(t, org, id, resp.Map(t)["id"].(string))
	errs, _ := run["error_details"].([]any)
	if run["status"] != "failed" || run["records_failed"] != float64(1) || run["records_updated"] != float64(2) || len(errs) != 1 ||
		errs[0].(map[string]any)["object_id"] != "kr5"+org.ID || errs[0].(map[string]any)["code"] != "unprocessable_entity" ||
		!strings.Contains(errs[0].(map[string]any)["message"].(string), "Email address is invalid") {
		t.Fatalf("sync %v", run)
	}
	fixed := "nodomain+" + low + "@example.com"
	postEvent(t, org, "k8b-"+org.ID, "registration.confirmed", map[string]any{"id": "kr5" + org.ID, "event_id": evID,
		"user_email": fixed, "status": "confirmed", "marketing_consent": true})
	kitPushDone(t, env, id, "k8b-"+org.ID)
	resp = org.Do(t, "POST", "/api/integrations/"+id+"/syncs/"+run["id"].(string)+"/retry", nil)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("retry sync: %d %s", resp.Status, resp.Body)
	}
	if again := syncRun(t, org, id, resp.Map(t)["id"].(string)); again["status"] != "completed" || again["records_failed"] != float64(0) ||
		again["records_updated"] != float64(3) || again["retry_of"] != run["id"] {
		t.Fatalf("re-run sync %v", again)
	}
	if _, ok := kitFake.Subscriber(bob); ok {
		t.Fatal("the sync sent a registrant without marketing consent")
	}

	// Disconnect revokes the grant at Kit (RFC 7009, client credentials in the form).
	before := len(kitFake.OAuth.Revoked())
	if resp := org.Do(t, "DELETE", "/api/integrations/"+id, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, wait, "grant revoked at Kit", func() bool { return len(kitFake.OAuth.Revoked()) == before+1 })
}

// TestKitSettings: mapped custom fields and tags are checked against the
// account when saved (Kit would silently ignore unknown fields): 422
// naming the field, nothing saved.
func TestKitSettings(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	id := connect(t, org, "kit", map[string]any{"field_mapping": map[string]any{"answers.company": "company"}}, "")
	resp := org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"settings": map[string]any{"field_mapping": map[string]any{"answers.company": "company", "dietary_restrictions": "diet_" + org.ID}}})
	if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), `"field":"settings.field_mapping.dietary_restrictions"`) {
		t.Fatalf("unknown custom field: %d %s", resp.Status, resp.Body)
	}
	if saved := integration(t, org, id)["settings"].(map[string]any)["field_mapping"].(map[string]any); len(saved) != 1 {
		t.Fatalf("refused settings were saved: %v", saved)
	}
	kitFake.AddCustomField("diet_"+org.ID, "Diet")
	resp = org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"settings": map[string]any{"field_mapping": map[string]any{"dietary_restrictions": "diet_" + org.ID}}})
	if resp.Status != http.StatusOK {
		t.Fatalf("existing custom field: %d %s", resp.Status, resp.Body)
	}
	resp = org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"settings": map[string]any{"tag_ids": []int{987654321}}})
	if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), `"field":"settings.tag_ids[0]"`) {
		t.Fatalf("unknown tag: %d %s", resp.Status, resp.Body)
	}
	for _, tc := range []struct {
		name     string
		settings map[string]any
		field    string
	}{
		{"unknown setting", map[string]any{"audience_id": "x"}, "settings.audience_id"},
		{"unknown placeholder", map[string]any{"event_tag": "{event_date}"}, "settings.event_tag"},
		{"bad tag id", map[string]any{"tag_ids": []int{-1}}, "settings.tag_ids[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := org.Do(t, "POST", "/api/integrations/kit/authorize", map[string]any{"return_url": returnURL, "settings": tc.settings})
			if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), `"field":"`+tc.field+`"`) {
				t.Fatalf("%d %s", resp.Status, resp.Body)
			}
		})
	}
}

// TestKitAPIKey: Kit also connects with an account's V4 API key through
// POST /api/integrations/kit/connect: a key Kit refuses (GET /v4/account)
// is a 422 naming credentials.api_key and nothing is stored; settings are
// checked against the account in the same call; once connected every
// call carries X-Kit-Api-Key (no OAuth token, no refresh loop) and
// disconnecting revokes nothing (the key belongs to the Kit account).
func TestKitAPIKey(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	key := "kit_" + strings.ToLower(org.ID) + "_0123456789abcdef"
	connectKit := func(k string, settings map[string]any) testenv.Response {
		body := map[string]any{"name": "Newsletter", "credentials": map[string]any{"api_key": k}}
		if settings != nil {
			body["settings"] = settings
		}
		return org.Do(t, "POST", "/api/integrations/kit/connect", body)
	}
	kitIntegrations := func() int {
		n := 0
		for _, in := range org.Do(t, "GET", "/api/integrations", nil).Map(t)["data"].([]any) {
			if in.(map[string]any)["integration_type"] == "kit" {
				n++
			}
		}
		return n
	}
	if r := connectKit(key, nil); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `"field":"credentials.api_key"`) {
		t.Fatalf("unknown key: %d %s", r.Status, r.Body)
	}
	kitFake.AddAPIKey(key)
	if r := connectKit(key, map[string]any{"field_mapping": map[string]any{"guests": "party_" + org.ID}}); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(string(r.Body), `"field":"settings.field_mapping.guests"`) {
		t.Fatalf("unknown custom field at connect: %d %s", r.Status, r.Body)
	}
	if n := kitIntegrations(); n != 0 {
		t.Fatalf("%d integrations stored by refused connects", n)
	}
	resp := connectKit(key, map[string]any{"event_tag": "Aqio {event_id}"})
	if resp.Status != http.StatusCreated || strings.Contains(string(resp.Body), key) {
		t.Fatalf("connect: %d %s", resp.Status, resp.Body)
	}
	in := resp.Map(t)
	id := in["id"].(string)
	if in["status"] != "active" || in["token_expires_at"] != nil {
		t.Fatalf("connected: %v", in)
	}
	if r := row(t, env, org.ID, id); r.APIKey == nil || strings.Contains(*r.APIKey, key) || r.AccessToken != nil {
		t.Fatalf("credential not stored encrypted (or a token stored): %+v", r)
	}

	evID := "kkev_" + org.ID
	email := "keyed+" + strings.ToLower(org.ID) + "@example.com"
	postEvent(t, org, "kk1-"+org.ID, "registration.confirmed", map[string]any{"id": "kkr1" + org.ID, "event_id": evID, "user_email": email,
		"user_name": "Keyed Subscriber", "status": "confirmed", "marketing_consent": true})
	kitPushDone(t, env, id, "kk1-"+org.ID)
	if tags := kitFake.Tagged(email); strings.Join(tags, "|") != "Aqio "+evID {
		t.Fatalf("tags %v", tags)
	}
	for _, r := range kitRequests("POST", "/v4/subscribers", email) {
		if r.Credential != "api_key" {
			t.Fatalf("subscriber upsert authenticated by %q", r.Credential)
		}
	}

	// The key is deleted in Kit: the push fails and the integration needs reconnecting.
	kitFake.RemoveAPIKey(key)
	postEvent(t, org, "kk2-"+org.ID, "registration.confirmed", map[string]any{"id": "kkr2" + org.ID, "event_id": evID,
		"user_email": "second+" + strings.ToLower(org.ID) + "@example.com", "status": "confirmed", "marketing_consent": true})
	if st := waitClosed(t, env, workflows.PushWorkflowID(id, "kk2-"+org.ID)); st != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("push with a deleted key ended %v", st)
	}
	testenv.Eventually(t, wait, "integration marked error", func() bool { return row(t, env, org.ID, id).Status == models.IntegrationError })

	revoked := len(kitFake.OAuth.Revoked())
	if resp := org.Do(t, "DELETE", "/api/integrations/"+id, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, wait, "integration deleted", func() bool { return kitIntegrations() == 0 })
	if len(kitFake.OAuth.Revoked()) != revoked {
		t.Fatal("disconnecting an API-key connection called Kit's revoke")
	}
}
