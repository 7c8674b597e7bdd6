package integrations_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/providers/googlecalendar"
	"github.com/aqio/connect/workflows"
)

const wait = 60 * time.Second

func postEvent(t *testing.T, org *testenv.Org, id, typ string, object map[string]any) {
	t.Helper()
	resp := org.Do(t, "POST", "/api/events", map[string]any{"id": id, "type": typ, "data": map[string]any{"object": object}})
	if resp.Status != http.StatusAccepted && resp.Status != http.StatusOK {
		t.Fatalf("post %s: %d %s", typ, resp.Status, resp.Body)
	}
}

// waitClosed waits until a workflow run has finished and returns its status.
func waitClosed(t *testing.T, env *testenv.Env, workflowID string) enums.WorkflowExecutionStatus {
	t.Helper()
	var status enums.WorkflowExecutionStatus
	testenv.Eventually(t, wait, "workflow "+workflowID+" to close", func() bool {
		d, err := env.App.Temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
		if err != nil {
			return false
		}
		status = d.GetWorkflowExecutionInfo().GetStatus()
		return status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING
	})
	return status
}

func integration(t *testing.T, org *testenv.Org, id string) map[string]any {
	t.Helper()
	resp := org.Do(t, "GET", "/api/integrations/"+id, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("get integration: %d %s", resp.Status, resp.Body)
	}
	return resp.Map(t)
}

func row(t *testing.T, env *testenv.Env, orgID, id string) models.Integration {
	t.Helper()
	in, err := env.App.Store.GetIntegration(context.Background(), orgID, id)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestConnectFlow(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	settings := map[string]any{"calendar_id": "primary", "sync_interval_minutes": 60}
	id := connect(t, org, "google_calendar", settings, "user_1")

	got := integration(t, org, id)
	if got["status"] != "active" || got["has_credentials"] != true || got["user_id"] != "user_1" || got["token_expires_at"] == nil {
		t.Fatalf("integration after connect: %v", got)
	}
	if _, leaked := got["access_token"]; leaked {
		t.Fatal("the API returned a token")
	}
	sched, _ := got["sync_schedule"].(map[string]any)
	if sched == nil || sched["interval_minutes"].(float64) != 60 || sched["paused"] != false {
		t.Fatalf("sync_schedule = %v", got["sync_schedule"])
	}
	// Tokens are key-ring ciphertexts bound to the row.
	r := row(t, env, org.ID, id)
	if r.AccessToken == nil || !strings.HasPrefix(*r.AccessToken, "v1:") || r.RefreshToken == nil || !strings.HasPrefix(*r.RefreshToken, "v1:") {
		t.Fatalf("tokens are not encrypted: %v %v", r.AccessToken, r.RefreshToken)
	}
	if _, err := env.App.Ring.Decrypt(*r.AccessToken, []byte("another-row")); err == nil {
		t.Fatal("ciphertext opens with another row's id")
	}
	// The refresh loop runs for this integration.
	if d, err := env.App.Temporal.DescribeWorkflowExecution(context.Background(), workflows.TokenRefreshWorkflowID(id), ""); err != nil ||
		d.GetWorkflowExecutionInfo().GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("token refresh workflow not running: %v", err)
	}

	// Pausing sync pauses the schedule; resuming resumes it.
	resp := org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"sync_enabled": false})
	if resp.Status != http.StatusOK || resp.Map(t)["sync_schedule"].(map[string]any)["paused"] != true {
		t.Fatalf("pause: %d %s", resp.Status, resp.Body)
	}
	resp = org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"sync_enabled": true})
	if resp.Status != http.StatusOK || resp.Map(t)["sync_schedule"].(map[string]any)["paused"] != false {
		t.Fatalf("resume: %d %s", resp.Status, resp.Body)
	}
	// Settings are validated per provider.
	resp = org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"settings": map[string]any{"sync_direction": "import"}})
	if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), "settings.sync_direction") {
		t.Fatalf("bad settings: %d %s", resp.Status, resp.Body)
	}

	// Reconnecting the same organization, user and type updates the row.
	if again := connect(t, org, "google_calendar", settings, "user_1"); again != id {
		t.Fatalf("reconnect created %s, want %s", again, id)
	}

	// Disconnect: revoked at the provider, workflows stopped, row gone.
	before := len(fake.Revoked())
	if resp := org.Do(t, "DELETE", "/api/integrations/"+id, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}
	if len(fake.Revoked()) != before+1 {
		t.Fatal("token was not revoked at the provider")
	}
	if resp := org.Do(t, "GET", "/api/integrations/"+id, nil); resp.Status != http.StatusNotFound {
		t.Fatalf("after delete: %d", resp.Status)
	}
	if st := waitClosed(t, env, workflows.TokenRefreshWorkflowID(id)); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("refresh loop ended %v", st)
	}
}

func TestCallbackFailures(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	body := map[string]any{"settings": map[string]any{}, "return_url": returnURL}

	t.Run("replayed state", func(t *testing.T) {
		cb := authorize(t, org, "google_calendar", body, "")
		if q := testenv.Location(t, cb.String()).Query(); q.Get("integration_status") != "connected" {
			t.Fatalf("first use: %v", q)
		}
		q := testenv.Location(t, cb.String()).Query()
		if q.Get("integration_status") != "error" || q.Get("error") != "state_already_used" {
			t.Fatalf("replay: %v", q)
		}
	})
	t.Run("unknown state", func(t *testing.T) {
		resp := env.Do(t, "GET", "/api/integrations/oauth/callback?state=nope&code=x", nil)
		if resp.Status != http.StatusBadRequest || !strings.Contains(string(resp.Body), "unknown_state") {
			t.Fatalf("unknown state: %d %s", resp.Status, resp.Body)
		}
	})
	t.Run("denied consent creates nothing", func(t *testing.T) {
		org := env.NewOrg(t)
		fake.SetDenyConsent(true)
		cb := authorize(t, org, "slack", body, "")
		fake.SetDenyConsent(false)
		q := testenv.Location(t, cb.String()).Query()
		if q.Get("integration_status") != "error" || q.Get("error") != "access_denied" {
			t.Fatalf("denied: %v", q)
		}
		if list := org.Do(t, "GET", "/api/integrations", nil).Map(t)["data"].([]any); len(list) != 0 {
			t.Fatalf("integrations after denied consent: %v", list)
		}
	})
	t.Run("provider refuses the code", func(t *testing.T) {
		org := env.NewOrg(t)
		cb := authorize(t, org, "google_calendar", body, "")
		q := cb.Query()
		q.Set("code", "forged")
		cb.RawQuery = q.Encode()
		back := testenv.Location(t, cb.String()).Query()
		if back.Get("integration_status") != "error" || back.Get("error") != "invalid_grant" {
			t.Fatalf("forged code: %v", back)
		}
		if list := org.Do(t, "GET", "/api/integrations", nil).Map(t)["data"].([]any); len(list) != 0 {
			t.Fatalf("integrations after a refused code: %v", list)
		}
	})
	t.Run("validation", func(t *testing.T) {
		for _, tc := range []struct {
			name, typ string
			body      map[string]any
			field     string
		}{
			{"unknown type", "myspace", body, "type"},
			{"not available", "teams", body, "type"},
			{"bad return url", "slack", map[string]any{"return_url": "javascript:alert(1)"}, "return_url"},
			{"return url on a foreign origin", "slack", map[string]any{"return_url": "https://evil.example/steal"}, "return_url"},
			{"unknown setting", "slack", map[string]any{"return_url": returnURL, "settings": map[string]any{"chanel": "#x"}}, "settings.chanel"},
			{"unknown template variable", "slack", map[string]any{"return_url": returnURL, "settings": map[string]any{"message_template": "{{event.nope}}"}}, "settings.message_template"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp := org.Do(t, "POST", "/api/integrations/"+tc.typ+"/authorize", tc.body)
				if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), `"field":"`+tc.field+`"`) {
					t.Fatalf("%d %s", resp.Status, resp.Body)
				}
			})
		}
	})
}

// TestTokenRefresh: refresh before expiry with rotating refresh tokens,
// then invalid_grant → status error + integration.error webhook.
func TestTokenRefresh(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)

	var mu sync.Mutex
	var received []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		received = append(received, m)
		mu.Unlock()
	}))
	defer hook.Close()
	if resp := org.Do(t, "POST", "/api/webhooks", map[string]any{"name": "ops", "url": hook.URL, "events": []string{"integration.error"}}); resp.Status != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", resp.Status, resp.Body)
	}

	fake.SetRotateRefreshTokens(true)
	fake.SetAccessTokenLifetime(3 * time.Second)
	defer func() {
		fake.SetAccessTokenLifetime(time.Hour)
		fake.SetRotateRefreshTokens(false)
	}()
	id := connect(t, org, "slack", map[string]any{"channel": "#events"}, "")
	first := row(t, env, org.ID, id)
	start := fake.Refreshes()
	// Each refresh spends the previous (rotated) refresh token, so two in
	// a row prove the rotated one was saved.
	testenv.Eventually(t, wait, "two refreshes", func() bool { return fake.Refreshes() >= start+2 })
	testenv.Eventually(t, wait, "rotated refresh token saved", func() bool {
		r := row(t, env, org.ID, id)
		return r.RefreshToken != nil && *r.RefreshToken != *first.RefreshToken && r.Status == models.IntegrationActive
	})

	fake.RevokeAllRefreshTokens()
	testenv.Eventually(t, wait, "status error", func() bool {
		r := row(t, env, org.ID, id)
		return r.Status == models.IntegrationError && r.LastErrorMessage != nil && strings.Contains(*r.LastErrorMessage, "invalid_refresh_token")
	})
	testenv.Eventually(t, wait, "integration.error webhook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range received {
			if m["type"] == "integration.error" {
				obj := m["data"].(map[string]any)["object"].(map[string]any)
				return obj["id"] == id
			}
		}
		return false
	})
	// The loop now waits for a reconnect instead of hammering the provider.
	d, err := env.App.Temporal.DescribeWorkflowExecution(context.Background(), workflows.TokenRefreshWorkflowID(id), "")
	if err != nil || d.GetWorkflowExecutionInfo().GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("refresh loop: %v %v", err, d.GetWorkflowExecutionInfo().GetStatus())
	}
	n := fake.Refreshes()
	// Reconnecting wakes the loop and the integration is active again.
	fake.SetAccessTokenLifetime(time.Hour)
	if again := connect(t, org, "slack", map[string]any{"channel": "#events"}, ""); again != id {
		t.Fatalf("reconnect: %s", again)
	}
	if r := row(t, env, org.ID, id); r.Status != models.IntegrationActive || r.LastErrorMessage != nil {
		t.Fatalf("after reconnect: %s %v", r.Status, r.LastErrorMessage)
	}
	if fake.Refreshes() != n {
		t.Fatal("the loop refreshed while waiting for a reconnect")
	}
}

func event(id, title, start, end, locationType string, max int) map[string]any {
	return map[string]any{"id": id, "title": title, "starts_at": start, "ends_at": end, "timezone": "Europe/Oslo",
		"location_type": locationType, "max_attendees": max, "url": "https://aqio.test/e/" + id, "status": "published"}
}

func TestSlackMilestoneOnce(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	id := connect(t, org, "slack", map[string]any{
		"channel": "#events",
		"notifications": map[string]any{
			"event_created":          false,
			"registration_milestone": map[string]any{"at": []int{3}},
		},
		"message_template": "🎉 New registration for {{event.title}}! {{registration_count}}/{{max_attendees}} spots filled.",
	}, "")
	evID := "evt_" + org.ID
	postEvent(t, org, "e1-"+org.ID, "event.created", event(evID, "Go meetup", "2031-05-01T17:00:00Z", "2031-05-01T19:00:00Z", "in_person", 10))
	waitClosed(t, env, workflows.PushWorkflowID(id, "e1-"+org.ID))
	before := len(fake.Messages())
	for i := 1; i <= 5; i++ {
		if i == 3 {
			fake.RateLimit("chat.postMessage", 1) // the milestone post is rate limited once
		}
		eid := "r" + string(rune('0'+i)) + "-" + org.ID
		postEvent(t, org, eid, "registration.created", map[string]any{
			"id": "reg" + string(rune('0'+i)) + org.ID, "event_id": evID, "user_email": "p" + string(rune('0'+i)) + "@example.com", "status": "confirmed"})
		if st := waitClosed(t, env, workflows.PushWorkflowID(id, eid)); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			t.Fatalf("push %d ended %v", i, st)
		}
	}
	// The same registration posted again starts nothing new.
	postEvent(t, org, "r3-"+org.ID, "registration.created", map[string]any{
		"id": "reg3" + org.ID, "event_id": evID, "user_email": "p3@example.com", "status": "confirmed"})

	msgs := fake.Messages()[before:]
	var milestone []string
	for _, m := range msgs {
		if strings.Contains(m.Text, "Go meetup") {
			milestone = append(milestone, m.Text)
		}
	}
	if len(milestone) != 1 || milestone[0] != "🎉 New registration for Go meetup! 3/10 spots filled." {
		t.Fatalf("milestone messages: %q", milestone)
	}
	if m := msgs[0]; m.Channel != "#events" || len(m.Blocks) == 0 {
		t.Fatalf("message: %+v", m)
	}
}

func TestCalendarCreateCancelWithMeet(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	id := connect(t, org, "google_calendar", map[string]any{"calendar_id": "team@aqio.test", "add_attendees": true}, "user_cal")
	evID := "evt_cal_" + org.ID
	calID := googlecalendar.EventID(evID)
	ev := event(evID, "Launch webinar", "2031-06-01T10:00:00Z", "2031-06-01T11:00:00Z", "virtual", 100)
	postEvent(t, org, "c1-"+org.ID, "event.created", ev)
	waitClosed(t, env, workflows.PushWorkflowID(id, "c1-"+org.ID))
	got := fake.CalendarEvent("team@aqio.test", calID)
	if got == nil || got["summary"] != "Launch webinar" {
		t.Fatalf("calendar event: %v", got)
	}
	meet, _ := got["hangoutLink"].(string)
	if !strings.HasPrefix(meet, "https://meet.google.com/") {
		t.Fatalf("no Meet link: %v", got)
	}
	links := org.Do(t, "GET", "/api/integrations/"+id+"/links", nil).Map(t)["data"].([]any)
	if len(links) != 1 || links[0].(map[string]any)["conference_url"] != meet || links[0].(map[string]any)["external_id"] != calID {
		t.Fatalf("links: %v", links)
	}

	// Registrations become attendees; an update patches, never duplicates.
	postEvent(t, org, "c2-"+org.ID, "registration.created", map[string]any{"id": "rc1" + org.ID, "event_id": evID, "user_email": "ada@example.com"})
	waitClosed(t, env, workflows.PushWorkflowID(id, "c2-"+org.ID))
	ev["title"] = "Launch webinar (updated)"
	postEvent(t, org, "c3-"+org.ID, "event.updated", ev)
	waitClosed(t, env, workflows.PushWorkflowID(id, "c3-"+org.ID))
	got = fake.CalendarEvent("team@aqio.test", calID)
	att, _ := got["attendees"].([]any)
	if got["summary"] != "Launch webinar (updated)" || len(att) != 1 || att[0].(map[string]any)["email"] != "ada@example.com" || got["hangoutLink"] != meet {
		t.Fatalf("after update: %v", got)
	}
	if n := fake.CalendarEventCount("team@aqio.test"); n != 1 {
		t.Fatalf("%d calendar events, want 1", n)
	}

	postEvent(t, org, "c4-"+org.ID, "event.cancelled", ev)
	waitClosed(t, env, workflows.PushWorkflowID(id, "c4-"+org.ID))
	if got := fake.CalendarEvent("team@aqio.test", calID); got["status"] != "cancelled" {
		t.Fatalf("after cancel: %v", got)
	}
	links = org.Do(t, "GET", "/api/integrations/"+id+"/links", nil).Map(t)["data"].([]any)
	if links[0].(map[string]any)["status"] != "deleted" {
		t.Fatalf("link after cancel: %v", links)
	}
}

func syncRun(t *testing.T, org *testenv.Org, integ, syncID string) map[string]any {
	t.Helper()
	var got map[string]any
	testenv.Eventually(t, wait, "sync "+syncID+" to finish", func() bool {
		got = org.Do(t, "GET", "/api/integrations/"+integ+"/syncs/"+syncID, nil).Map(t)
		return got["status"] != "running"
	})
	return got
}

func TestSyncFailureAndRetry(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	id := connect(t, org, "google_calendar", map[string]any{"calendar_id": "sync@aqio.test", "create_meet_links": false}, "")
	good1, bad, good2 := "s1_"+org.ID, "s2_"+org.ID, "s3_"+org.ID
	postEvent(t, org, "x1-"+org.ID, "event.created", event(good1, "One", "2031-07-01T10:00:00Z", "2031-07-01T11:00:00Z", "in_person", 5))
	// Ends before it starts: Google answers 400 timeRangeEmpty for this record.
	postEvent(t, org, "x2-"+org.ID, "event.created", event(bad, "Two", "2031-07-02T10:00:00Z", "2031-07-02T09:00:00Z", "in_person", 5))
	postEvent(t, org, "x3-"+org.ID, "event.created", event(good2, "Three", "2031-07-03T10:00:00Z", "2031-07-03T11:00:00Z", "hybrid", 5))
	for _, e := range []string{"x1-", "x2-", "x3-"} {
		waitClosed(t, env, workflows.PushWorkflowID(id, e+org.ID))
	}

	resp := org.Do(t, "POST", "/api/integrations/"+id+"/sync", map[string]any{"sync_type": "full"})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("sync: %d %s", resp.Status, resp.Body)
	}
	first := syncRun(t, org, id, resp.Map(t)["id"].(string))
	if first["status"] != "failed" || first["records_processed"].(float64) != 3 || first["records_failed"].(float64) != 1 ||
		first["records_created"].(float64)+first["records_updated"].(float64) != 2 || first["duration_seconds"] == nil {
		t.Fatalf("first sync: %v", first)
	}
	errs := first["error_details"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["object_id"] != bad || errs[0].(map[string]any)["code"] != "timeRangeEmpty" {
		t.Fatalf("error_details: %v", errs)
	}
	if resp := org.Do(t, "POST", "/api/integrations/"+id+"/syncs/nope/retry", nil); resp.Status != http.StatusNotFound {
		t.Fatalf("retry unknown: %d", resp.Status)
	}

	// Support fixes the data in Aqio, then re-runs the failed sync; a rate
	// limit on the way only slows it down.
	postEvent(t, org, "x4-"+org.ID, "event.updated", event(bad, "Two", "2031-07-02T10:00:00Z", "2031-07-02T12:00:00Z", "in_person", 5))
	waitClosed(t, env, workflows.PushWorkflowID(id, "x4-"+org.ID))
	fake.RateLimit("/events", 1)
	resp = org.Do(t, "POST", "/api/integrations/"+id+"/syncs/"+first["id"].(string)+"/retry", nil)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("retry: %d %s", resp.Status, resp.Body)
	}
	second := syncRun(t, org, id, resp.Map(t)["id"].(string))
	if second["status"] != "completed" || second["retry_of"] != first["id"] || second["records_failed"].(float64) != 0 || second["records_processed"].(float64) != 3 {
		t.Fatalf("retried sync: %v", second)
	}
	if resp := org.Do(t, "POST", "/api/integrations/"+id+"/syncs/"+second["id"].(string)+"/retry", nil); resp.Status != http.StatusConflict {
		t.Fatalf("retry of a completed sync: %d", resp.Status)
	}
	list := org.Do(t, "GET", "/api/integrations/"+id+"/syncs", nil).Map(t)["data"].([]any)
	if len(list) != 2 {
		t.Fatalf("syncs: %v", list)
	}
	// An incremental run after the completed one exports only what changed.
	resp = org.Do(t, "POST", "/api/integrations/"+id+"/sync", map[string]any{"sync_type": "incremental"})
	third := syncRun(t, org, id, resp.Map(t)["id"].(string))
	if third["status"] != "completed" || third["records_processed"].(float64) != 0 {
		t.Fatalf("incremental sync: %v", third)
	}
	if n := fake.CalendarEventCount("sync@aqio.test"); n != 3 {
		t.Fatalf("%d calendar events, want 3", n)
	}
}
