package integrations_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	zoomfake "github.com/aqio/connect/internal/fakes/zoom"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/workflows"
)

// zoomLinks returns the integration's links by object type and id.
func zoomLinks(t *testing.T, org *testenv.Org, id string) map[string]map[string]any {
	t.Helper()
	resp := org.Do(t, "GET", "/api/integrations/"+id+"/links", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("links: %d %s", resp.Status, resp.Body)
	}
	out := map[string]map[string]any{}
	for _, l := range resp.Map(t)["data"].([]any) {
		m := l.(map[string]any)
		out[m["object_type"].(string)+"/"+m["object_id"].(string)] = m
	}
	return out
}

func zoomPushDone(t *testing.T, env *testenv.Env, integ, eventID string) {
	t.Helper()
	if st := waitClosed(t, env, workflows.PushWorkflowID(integ, eventID)); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("push %s ended %v", eventID, st)
	}
}

// lastToken is the access token of Zoom's last API request.
func zoomLastToken(t *testing.T) string {
	t.Helper()
	reqs := zoomFake.Requests()
	if len(reqs) == 0 {
		t.Fatal("Zoom got no request")
	}
	return reqs[len(reqs)-1].Token
}

// zoomFailedPush waits for the failed push of an Aqio event in the
// integration's activity list.
func zoomFailedPush(t *testing.T, org *testenv.Org, integ, eventID string) map[string]any {
	t.Helper()
	var got map[string]any
	testenv.Eventually(t, wait, "failed push "+eventID+" listed", func() bool {
		resp := org.Do(t, "GET", "/api/integrations/"+integ+"/activity?kind=push&status=failed", nil)
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

// TestZoom drives the Zoom connector through the real path: connect
// (OAuth with HTTP Basic client auth and PKCE) → a virtual event becomes
// a meeting → confirmed registrations become registrants, deduplicated →
// a push Zoom refuses is listed as failed and re-run → rate limits slow
// a push down → a token Zoom refuses is refreshed once (rotating refresh
// tokens kept) → cancel deletes the meeting → disconnect revokes.
func TestZoom(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	id := connect(t, org, "zoom", map[string]any{"require_registration": true, "waiting_room": true}, "user_zoom")
	if got := integration(t, org, id); got["status"] != "active" || got["token_expires_at"] == nil {
		t.Fatalf("after connect: %v", got)
	}

	// A virtual event becomes a meeting with registration.
	evID := "zev_" + org.ID
	ev := event(evID, "Zoom launch", "2031-09-01T15:00:00Z", "2031-09-01T16:30:00Z", "virtual", 100)
	postEvent(t, org, "z1-"+org.ID, "event.created", ev)
	zoomPushDone(t, env, id, "z1-"+org.ID)
	links := zoomLinks(t, org, id)
	el := links["event/"+evID]
	if el == nil || el["status"] != "active" {
		t.Fatalf("event link: %v", links)
	}
	meetingID := el["external_id"].(string)
	m, ok := zoomFake.Meeting(meetingID)
	if !ok || m.Topic != "Zoom launch" || m.StartTime != "2031-09-01T15:00:00Z" || m.Duration != 90 || m.Timezone != "Europe/Oslo" ||
		m.Settings.ApprovalType != 0 || !m.Settings.WaitingRoom || el["conference_url"] != m.JoinURL {
		t.Fatalf("meeting %+v, link %v", m, el)
	}

	// Confirmed registrations become registrants with their own join URL;
	// the same email again is not added twice.
	postEvent(t, org, "z2-"+org.ID, "registration.confirmed", map[string]any{"id": "zr1" + org.ID, "event_id": evID,
		"user_email": "ada@example.com", "user_name": "Ada Lovelace", "status": "confirmed"})
	zoomPushDone(t, env, id, "z2-"+org.ID)
	postEvent(t, org, "z3-"+org.ID, "registration.confirmed", map[string]any{"id": "zr2" + org.ID, "event_id": evID,
		"user_email": "Ada@Example.com", "status": "confirmed"})
	zoomPushDone(t, env, id, "z3-"+org.ID)
	regs := zoomFake.Registrants(meetingID)
	if len(regs) != 1 || regs[0].FirstName != "Ada" || regs[0].LastName != "Lovelace" || regs[0].Status != "approved" {
		t.Fatalf("registrants: %+v", regs)
	}
	links = zoomLinks(t, org, id)
	if rl := links["registration/zr1"+org.ID]; rl == nil || rl["conference_url"] != regs[0].JoinURL || rl["external_id"] != regs[0].ID {
		t.Fatalf("registration link: %v", links)
	}

	// Zoom refuses an update: the push fails, support sees it in the
	// activity list and re-runs it once Zoom accepts.
	zoomFake.FailNext(zoomfake.OpUpdateMeeting, 1, http.StatusBadRequest, 300, "Validation Failed.")
	ev["title"] = "Zoom launch (new title)"
	postEvent(t, org, "z4-"+org.ID, "event.updated", ev)
	if st := waitClosed(t, env, workflows.PushWorkflowID(id, "z4-"+org.ID)); st != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("refused push ended %v", st)
	}
	failed := zoomFailedPush(t, org, id, "z4-"+org.ID)
	ferr, _ := failed["error"].(map[string]any)
	fresp, _ := failed["response"].(map[string]any)
	if ferr == nil || !strings.Contains(ferr["message"].(string), "Validation Failed") ||
		fresp == nil || fresp["status"].(float64) != 400 || !strings.Contains(fresp["excerpt"].(string), `"code":300`) ||
		!strings.Contains(fresp["request"].(string), "/v2/meetings/"+meetingID) || failed["temporal_url"] == "" {
		t.Fatalf("failed push: %v", failed)
	}
	resp := org.Do(t, "POST", "/api/integrations/"+id+"/pushes/"+failed["id"].(string)+"/retry", nil)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("retry push: %d %s", resp.Status, resp.Body)
	}
	rerun := resp.Map(t)
	if rerun["retry_of"] != failed["id"] {
		t.Fatalf("re-run: %v", rerun)
	}
	testenv.Eventually(t, wait, "re-run push to succeed", func() bool {
		for _, a := range org.Do(t, "GET", "/api/integrations/"+id+"/activity?kind=push", nil).Map(t)["data"].([]any) {
			if m := a.(map[string]any); m["id"] == rerun["id"] {
				return m["status"] == "succeeded" && m["action"] == "updated"
			}
		}
		return false
	})
	if m, _ := zoomFake.Meeting(meetingID); m.Topic != "Zoom launch (new title)" {
		t.Fatalf("after the re-run: %+v", m)
	}
	if n := len(zoomFake.Meetings()); n != 1 {
		t.Fatalf("%d meetings after the re-run, want 1", n)
	}

	// Per-second rate limits: the push waits and goes through.
	limited := zoomFake.RateLimited()
	zoomFake.RateLimitNext(zoomfake.OpAddRegistrant, 2)
	postEvent(t, org, "z5-"+org.ID, "registration.confirmed", map[string]any{"id": "zr3" + org.ID, "event_id": evID,
		"user_email": "grace@example.com", "user_name": "Grace Hopper", "status": "confirmed"})
	zoomPushDone(t, env, id, "z5-"+org.ID)
	if got := zoomFake.RateLimited() - limited; got != 2 || len(zoomFake.Registrants(meetingID)) != 2 {
		t.Fatalf("rate limited %d times, %d registrants", got, len(zoomFake.Registrants(meetingID)))
	}
	var adds []zoomfake.Request
	for _, r := range zoomFake.Requests() {
		if r.Op == zoomfake.OpAddRegistrant && strings.Contains(r.Body, "grace@example.com") {
			adds = append(adds, r)
		}
	}
	if len(adds) != 3 || adds[0].Status != 429 || adds[1].Status != 429 || adds[2].Status != 201 {
		t.Fatalf("registrant adds: %+v", adds)
	}
	for i := 1; i < len(adds); i++ {
		// Zoom's per-second window: each retry waited for it.
		if gap := adds[i].At.Sub(adds[i-1].At); gap < 900*time.Millisecond {
			t.Fatalf("retry %d came %v after a 429", i, gap)
		}
	}

	// Zoom refuses the access token before its expiry: the push refreshes
	// once (the refresh token rotates) and goes through. Twice, so the
	// second refresh proves the rotated refresh token was kept.
	for i, eid := range []string{"z6-", "z7-"} {
		tok := zoomLastToken(t)
		refreshes := zoomFake.OAuth.Refreshes()
		zoomFake.ExpireAccessTokens(tok)
		ev["title"] = "Zoom launch " + strconv.Itoa(i)
		postEvent(t, org, eid+org.ID, "event.updated", ev)
		zoomPushDone(t, env, id, eid+org.ID)
		if m, _ := zoomFake.Meeting(meetingID); m.Topic != ev["title"] || zoomFake.OAuth.Refreshes() != refreshes+1 || zoomLastToken(t) == tok {
			t.Fatalf("refresh %d: topic %q, refreshes %d → %d", i, m.Topic, refreshes, zoomFake.OAuth.Refreshes())
		}
		if r := row(t, env, org.ID, id); r.Status != models.IntegrationActive {
			t.Fatalf("status after refresh %d: %s", i, r.Status)
		}
	}

	// Support sees both refreshes, triggered by the refused token, each
	// with a rotated refresh token.
	expired := 0
	for _, a := range org.Do(t, "GET", "/api/integrations/"+id+"/activity?kind=token_refresh", nil).Map(t)["data"].([]any) {
		if m := a.(map[string]any); m["trigger"] == "expired" && m["status"] == "succeeded" && m["rotated"] == true {
			expired++
		}
	}
	if expired != 2 {
		t.Fatalf("%d refreshes on 401 in the activity list, want 2", expired)
	}

	// Registration cancelled → registrant cancelled; event cancelled →
	// meeting deleted.
	postEvent(t, org, "z8-"+org.ID, "registration.cancelled", map[string]any{"id": "zr3" + org.ID, "event_id": evID,
		"user_email": "grace@example.com", "status": "cancelled"})
	zoomPushDone(t, env, id, "z8-"+org.ID)
	for _, r := range zoomFake.Registrants(meetingID) {
		if r.Email == "grace@example.com" && r.Status != "cancelled" {
			t.Fatalf("registrant after cancel: %+v", r)
		}
	}
	postEvent(t, org, "z9-"+org.ID, "event.cancelled", ev)
	zoomPushDone(t, env, id, "z9-"+org.ID)
	if _, ok := zoomFake.Meeting(meetingID); ok {
		t.Fatal("meeting not deleted")
	}
	if l := zoomLinks(t, org, id)["event/"+evID]; l["status"] != "deleted" {
		t.Fatalf("event link after cancel: %v", l)
	}

	// Disconnect revokes the token at Zoom (HTTP Basic client auth).
	tok := zoomLastToken(t)
	if resp := org.Do(t, "DELETE", "/api/integrations/"+id, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, wait, "token revoked at Zoom", func() bool {
		for _, r := range zoomFake.OAuth.Revoked() {
			if r == tok {
				return true
			}
		}
		return false
	})
}

// TestZoomInPersonEventsGetNoMeeting: settings decide which events get one.
func TestZoomInPersonEventsGetNoMeeting(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	id := connect(t, org, "zoom", map[string]any{}, "user_zoom2")
	before := len(zoomFake.Meetings())
	postEvent(t, org, "zp1-"+org.ID, "event.created", event("zp_"+org.ID, "Meetup", "2031-09-02T15:00:00Z", "2031-09-02T16:00:00Z", "in_person", 10))
	zoomPushDone(t, env, id, "zp1-"+org.ID)
	if len(zoomFake.Meetings()) != before {
		t.Fatal("an in-person event got a meeting")
	}
	// Bad settings are a 422 naming the field, nothing saved.
	resp := org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"settings": map[string]any{"location_types": []string{"online"}}})
	if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), "settings.location_types") {
		t.Fatalf("bad settings: %d %s", resp.Status, resp.Body)
	}
}

// TestZoomSync: a full sync gives events that predate the connection
// their meetings and registrants; an event Zoom cannot schedule is a
// per-record error and the others go on.
func TestZoomSync(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	good, bad := "zs1_"+org.ID, "zs2_"+org.ID
	postEvent(t, org, "zs1-"+org.ID, "event.created", event(good, "Before", "2031-10-01T15:00:00Z", "2031-10-01T16:00:00Z", "hybrid", 10))
	noStart := event(bad, "No start", "", "", "virtual", 10)
	postEvent(t, org, "zs2-"+org.ID, "event.created", noStart)
	postEvent(t, org, "zs3-"+org.ID, "registration.confirmed", map[string]any{"id": "zsr1" + org.ID, "event_id": good,
		"user_email": "linus@example.com", "user_name": "Linus", "status": "confirmed"})

	id := connect(t, org, "zoom", map[string]any{"require_registration": true}, "user_zoom_sync")
	resp := org.Do(t, "POST", "/api/integrations/"+id+"/sync", map[string]any{"sync_type": "full"})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("sync: %d %s", resp.Status, resp.Body)
	}
	run := syncRun(t, org, id, resp.Map(t)["id"].(string))
	errs, _ := run["error_details"].([]any)
	if run["records_failed"].(float64) != 1 || len(errs) != 1 || errs[0].(map[string]any)["object_id"] != bad ||
		errs[0].(map[string]any)["code"] != "invalid_starts_at" {
		t.Fatalf("sync run: %v", run)
	}
	links := zoomLinks(t, org, id)
	el, rl := links["event/"+good], links["registration/zsr1"+org.ID]
	if el == nil || rl == nil || el["status"] != "active" || rl["status"] != "active" {
		t.Fatalf("links after sync: %v", links)
	}
	regs := zoomFake.Registrants(el["external_id"].(string))
	if len(regs) != 1 || regs[0].Email != "linus@example.com" || rl["conference_url"] != regs[0].JoinURL {
		t.Fatalf("registrants after sync: %+v", regs)
	}
}
