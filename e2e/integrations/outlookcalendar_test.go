package integrations_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/aqio/connect/config"
	graphfake "github.com/aqio/connect/internal/fakes/msgraph"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/providers/outlookcalendar"
	"github.com/aqio/connect/workflows"
)

// graphFake is Microsoft Graph and its login endpoints under /msgraph.
var graphFake *graphfake.Mounted

const graphClient, graphSecret = "6731de76-14a6-49ae-97bc-6eba6914391e", "graph~client~secret"

func mountGraph() *graphfake.Mounted {
	return graphfake.Mount(fake.Mux, fake.Issuer, "/msgraph", map[string]string{graphClient: graphSecret})
}

func configureOutlook(c *config.Config) {
	c.Integrations.Providers["outlook_calendar"] = config.ProviderConfig{
		ClientID: graphClient, ClientSecret: graphSecret,
		AuthURL: fake.URL + graphFake.AuthPath(), TokenURL: fake.URL + graphFake.TokenPath(), APIBaseURL: fake.URL + graphFake.APIPath(),
	}
}

func graphBody(t *testing.T, r graphfake.Request) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("%s %s body: %v", r.Method, r.Path, err)
	}
	return m
}

func graphRequests(method, suffix string) []graphfake.Request {
	var out []graphfake.Request
	for _, r := range graphFake.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			out = append(out, r)
		}
	}
	return out
}

// TestOutlookCalendarWithTeams drives the Outlook connector through the
// real path: OAuth with PKCE against the v2.0 endpoints → a hybrid event
// becomes one Outlook event with a transactionId, the Aqio id in a
// single-value extended property and a Teams meeting whose join URL is
// kept → an update PATCHes and keeps the meeting, a repeat duplicates
// nothing → a lost link is found again by the extended property → Graph
// refusing a push lists it as failed and it is re-run → 429 Retry-After
// backs off → an expired token is refreshed once (rotating) → pushes in
// parallel never exceed 4 in flight for the mailbox → cancellation
// DELETEs → disconnect.
func TestOutlookCalendarWithTeams(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)

	// The authorize URL asked for offline access, calendars and PKCE.
	resp := org.Do(t, "POST", "/api/integrations/outlook_calendar/authorize", map[string]any{"name": "Outlook", "return_url": returnURL,
		"settings": map[string]any{"teams_meetings": true, "add_attendees": true}}, "X-Aqio-User-Id", "")
	au, _ := url.Parse(resp.Map(t)["authorization_url"].(string))
	if q := au.Query(); !strings.Contains(q.Get("scope"), "offline_access") || !strings.Contains(q.Get("scope"), "Calendars.ReadWrite") ||
		q.Get("code_challenge_method") != "S256" || !strings.HasSuffix(au.Path, "/common/oauth2/v2.0/authorize") {
		t.Fatalf("authorize URL %s", au)
	}
	id := connect(t, org, "outlook_calendar", map[string]any{"teams_meetings": true, "add_attendees": true}, "")
	if in := integration(t, org, id); in["status"] != "active" {
		t.Fatalf("after connect: %v", in)
	}
	done := func(eventID string) {
		t.Helper()
		if st := waitClosed(t, env, workflows.PushWorkflowID(id, eventID)); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			t.Fatalf("push %s ended %v", eventID, st)
		}
	}

	evID := "olev_" + org.ID
	ev := event(evID, "Outlook launch "+org.ID, "2031-09-01T17:00:00+02:00", "2031-09-01T18:30:00+02:00", "hybrid", 40)
	ev["location"] = "Oslo Spektrum"
	postEvent(t, org, "ol0-"+org.ID, "event.created", ev)
	done("ol0-" + org.ID)
	evs := graphFake.Events(evID)
	if len(evs) != 1 {
		t.Fatalf("%d Outlook events", len(evs))
	}
	o := evs[0]
	start, _ := o["start"].(map[string]any)
	meeting, _ := o["onlineMeeting"].(map[string]any)
	join, _ := meeting["joinUrl"].(string)
	if o["isOnlineMeeting"] != true || o["onlineMeetingProvider"] != "teamsForBusiness" || join == "" ||
		start["dateTime"] != "2031-09-01T17:00:00" || start["timeZone"] != "Europe/Oslo" || o["transactionId"] == "" ||
		o["subject"] != "Outlook launch "+org.ID {
		t.Fatalf("created event %v", o)
	}
	posts := graphRequests("POST", "/me/events")
	if len(posts) != 1 {
		t.Fatalf("%d creates", len(posts))
	}
	props, _ := graphBody(t, posts[0])["singleValueExtendedProperties"].([]any)
	if len(props) != 1 || props[0].(map[string]any)["id"] != outlookcalendar.AqioIDProperty || props[0].(map[string]any)["value"] != evID {
		t.Fatalf("extended property %v", props)
	}
	links := org.Do(t, "GET", "/api/integrations/"+id+"/links", nil)
	if !strings.Contains(string(links.Body), strings.ReplaceAll(join, "&", `\u0026`)) && !strings.Contains(string(links.Body), join) {
		t.Fatalf("join URL not kept: %s", links.Body)
	}

	// Update: PATCH keeps the Teams meeting; the repeat makes no second event.
	ev["title"] = "Outlook launch (moved) " + org.ID
	postEvent(t, org, "ol1-"+org.ID, "event.updated", ev)
	done("ol1-" + org.ID)
	patches := graphRequests("PATCH", "/me/events/"+o["id"].(string))
	if len(patches) != 1 || graphBody(t, patches[0])["isOnlineMeeting"] != true {
		t.Fatalf("PATCH %v", patches)
	}
	if _, has := graphBody(t, patches[0])["transactionId"]; has {
		t.Fatal("PATCH sent transactionId")
	}
	evs = graphFake.Events(evID)
	if m2, _ := evs[0]["onlineMeeting"].(map[string]any); len(evs) != 1 || m2["joinUrl"] != join || !strings.HasPrefix(evs[0]["subject"].(string), "Outlook launch (moved)") {
		t.Fatalf("after update %v", evs)
	}

	// A registrant becomes an attendee.
	postEvent(t, org, "ol2-"+org.ID, "registration.confirmed", map[string]any{"id": "olr1" + org.ID, "event_id": evID,
		"user_email": "grace@example.com", "user_name": "Grace Hopper", "status": "confirmed"})
	done("ol2-" + org.ID)
	att, _ := graphFake.Events(evID)[0]["attendees"].([]any)
	if len(att) != 1 || att[0].(map[string]any)["emailAddress"].(map[string]any)["address"] != "grace@example.com" {
		t.Fatalf("attendees %v", att)
	}

	// The link is lost (e.g. a save that never landed): the next update
	// finds the event by its extended property and patches it; no create.
	if err := env.App.Store.DB().Exec("DELETE FROM integration_links WHERE integration_id = ? AND object_id = ?", id, evID).Error; err != nil {
		t.Fatal(err)
	}
	creates := len(graphRequests("POST", "/me/events"))
	postEvent(t, org, "ol2b-"+org.ID, "event.updated", ev)
	done("ol2b-" + org.ID)
	if n := len(graphRequests("POST", "/me/events")); n != creates || len(graphFake.Events(evID)) != 1 ||
		len(graphRequests("PATCH", "/me/events/"+o["id"].(string))) != 3 {
		t.Fatalf("after a lost link: %d creates (was %d), %d events", n, creates, len(graphFake.Events(evID)))
	}
	if m3, _ := graphFake.Events(evID)[0]["onlineMeeting"].(map[string]any); m3["joinUrl"] != join {
		t.Fatal("the Teams meeting was lost after a lost link")
	}

	// Graph refuses a create: the push fails, is listed with Graph's
	// error, and is re-run.
	ev2ID := "olev2_" + org.ID
	ev2 := event(ev2ID, "Second "+org.ID, "2031-10-01T09:00:00Z", "2031-10-01T10:00:00Z", "in_person", 10)
	graphFake.Fail("POST", "/me/events", 1, http.StatusBadRequest, "ErrorInvalidRequest", "Your request can't be completed. The property 'subject' is invalid.", "")
	postEvent(t, org, "ol3-"+org.ID, "event.created", ev2)
	if st := waitClosed(t, env, workflows.PushWorkflowID(id, "ol3-"+org.ID)); st != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("refused push ended %v", st)
	}
	failed := kitPush(t, org, id, "ol3-"+org.ID, "failed")
	errObj, _ := failed["error"].(map[string]any)
	respObj, _ := failed["response"].(map[string]any)
	if errObj["code"] != "ErrorInvalidRequest" || respObj == nil || respObj["status"] != float64(400) || failed["temporal_url"] == "" {
		t.Fatalf("failed push %v", failed)
	}
	rr := org.Do(t, "POST", "/api/integrations/"+id+"/pushes/"+failed["id"].(string)+"/retry", nil)
	if rr.Status != http.StatusAccepted {
		t.Fatalf("retry: %d %s", rr.Status, rr.Body)
	}
	rerun := rr.Map(t)
	testenv.Eventually(t, wait, "re-run to succeed", func() bool {
		for _, a := range org.Do(t, "GET", "/api/integrations/"+id+"/activity?kind=push", nil).Map(t)["data"].([]any) {
			if m := a.(map[string]any); m["id"] == rerun["id"] {
				return m["status"] == "succeeded" && m["action"] == "created" && m["retry_of"] == failed["id"]
			}
		}
		return false
	})
	if n := len(graphFake.Events(ev2ID)); n != 1 {
		t.Fatalf("%d events after the re-run", n)
	}
	// In person: no Teams meeting.
	if graphFake.Events(ev2ID)[0]["isOnlineMeeting"] == true {
		t.Fatal("an in-person event got a Teams meeting")
	}

	// 429 with Retry-After: the push waits and goes through.
	graphFake.Fail("PATCH", "/me/events/"+o["id"].(string), 2, http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", "1")
	postEvent(t, org, "ol4-"+org.ID, "event.updated", ev)
	done("ol4-" + org.ID)
	ps := graphRequests("PATCH", "/me/events/"+o["id"].(string))
	last3 := ps[len(ps)-3:]
	if last3[0].Status != 429 || last3[1].Status != 429 || last3[2].Status != 200 || last3[2].At.Sub(last3[1].At) < time.Second {
		t.Fatalf("PATCHes around 429s: %+v", last3)
	}

	// An expired access token: refreshed once (the refresh token rotates), the push goes through.
	refreshes := graphFake.OAuth.Refreshes()
	graphFake.OAuth.ExpireAccessTokens()
	postEvent(t, org, "ol5-"+org.ID, "event.updated", ev)
	done("ol5-" + org.ID)
	if graphFake.OAuth.Refreshes() != refreshes+1 || row(t, env, org.ID, id).Status != models.IntegrationActive {
		t.Fatalf("refreshes %d → %d", refreshes, graphFake.OAuth.Refreshes())
	}

	// The event deleted in Outlook: the next update creates it again (once).
	graphFake.Delete(o["id"].(string))
	postEvent(t, org, "ol6-"+org.ID, "event.updated", ev)
	done("ol6-" + org.ID)
	evs = graphFake.Events(evID)
	if len(evs) != 1 || evs[0]["id"] == o["id"] || evs[0]["isOnlineMeeting"] != true {
		t.Fatalf("recreated %v", evs)
	}

	// Many pushes at once: never more than 4 requests in flight for the mailbox.
	graphFake.Delay = 30 * time.Millisecond
	for i := 0; i < 8; i++ {
		pid := "olp" + string(rune('a'+i)) + "-" + org.ID
		postEvent(t, org, pid, "event.created", event("olpev"+string(rune('a'+i))+org.ID, "Parallel "+org.ID, "2031-11-01T09:00:00Z", "2031-11-01T10:00:00Z", "in_person", 5))
	}
	for i := 0; i < 8; i++ {
		done("olp" + string(rune('a'+i)) + "-" + org.ID)
	}
	graphFake.Delay = 0
	if n := graphFake.MaxInFlight(); n > 4 || graphFake.Count("POST", "/me/events", 429) > 0 {
		t.Fatalf("max in flight %d (limit 4), %d throttled", n, graphFake.Count("POST", "/me/events", 429))
	}

	// Cancelled: DELETE.
	cur := graphFake.Events(evID)[0]["id"].(string)
	postEvent(t, org, "ol7-"+org.ID, "event.cancelled", ev)
	done("ol7-" + org.ID)
	if len(graphFake.Events(evID)) != 0 || len(graphRequests("DELETE", "/me/events/"+cur)) != 1 {
		t.Fatal("the cancelled event was not deleted")
	}

	if r := org.Do(t, "DELETE", "/api/integrations/"+id, nil); r.Status != http.StatusNoContent {
		t.Fatalf("disconnect: %d %s", r.Status, r.Body)
	}
}
