package integrations_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/api/enums/v1"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/providers/googlecalendar"
	"github.com/aqio/connect/workflows"
)

// activity lists an integration's activity entries (one page).
func activity(t *testing.T, org *testenv.Org, id, query string) []map[string]any {
	t.Helper()
	resp := org.Do(t, "GET", "/api/integrations/"+id+"/activity"+query, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("activity: %d %s", resp.Status, resp.Body)
	}
	var out []map[string]any
	for _, v := range resp.Map(t)["data"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// TestSlackFailedPushIsListedAndRerun: the bot is not in the channel
// (no_permission): the push fails for good (not a dead credential — the
// integration stays active), the activity list shows it with Slack's
// answer and its run, support fixes the channel and re-runs it, then the
// integration is disconnected and the token revoked at Slack.
func TestSlackFailedPushIsListedAndRerun(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	id := connect(t, org, "slack", map[string]any{"channel": "#nobot", "notifications": map[string]any{"event_created": true}}, "")
	title := "Rerun talk " + org.ID
	evID := "rr1-" + org.ID
	postEvent(t, org, evID, "event.created", event("evt_rr_"+org.ID, title, "2031-10-01T17:00:00Z", "2031-10-01T19:00:00Z", "in_person", 20))
	if st := waitClosed(t, env, workflows.PushWorkflowID(id, evID)); st != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("push ended %v, want failed", st)
	}
	if got := integration(t, org, id); got["status"] != "active" {
		t.Fatalf("no_permission must not mark the credential dead: %v", got["status"])
	}
	failed := activity(t, org, id, "?kind=push&status=failed")
	if len(failed) != 1 {
		t.Fatalf("failed pushes: %v", failed)
	}
	p := failed[0]
	errObj, _ := p["error"].(map[string]any)
	resp, _ := p["response"].(map[string]any)
	if errObj["code"] != "no_permission" || resp == nil || !strings.Contains(resp["excerpt"].(string), "no_permission") ||
		!strings.HasSuffix(resp["request"].(string), "/chat.postMessage") || p["event_id"] != evID || p["temporal_url"] == "" {
		t.Fatalf("failed push entry: %v", p)
	}
	if strings.Contains(resp["excerpt"].(string), "xoxe") || strings.Contains(resp["request"].(string), "xoxe") {
		t.Fatal("a token leaked into the activity list")
	}
	// Re-running a push that did not fail is refused.
	if r := org.Do(t, "POST", "/api/integrations/"+id+"/pushes/push_nope/retry", nil); r.Status != http.StatusNotFound {
		t.Fatalf("retry unknown push: %d %s", r.Status, r.Body)
	}
	// Support fixes the channel and re-runs the push.
	if r := org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"settings": map[string]any{"channel": "#events", "notifications": map[string]any{"event_created": true}}}); r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	r := org.Do(t, "POST", "/api/integrations/"+id+"/pushes/"+p["id"].(string)+"/retry", nil)
	if r.Status != http.StatusAccepted {
		t.Fatalf("retry: %d %s", r.Status, r.Body)
	}
	rerun := r.Map(t)
	if rerun["retry_of"] != p["id"] {
		t.Fatalf("re-run not linked: %v", rerun)
	}
	if st := waitClosed(t, env, rerun["workflow_id"].(string)); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("re-run ended %v", st)
	}
	if msgs := slackMessages(title); len(msgs) != 1 || msgs[0].Channel != "#events" {
		t.Fatalf("messages after re-run: %+v", msgs)
	}
	all := activity(t, org, id, "?kind=push")
	if len(all) != 2 || all[0]["id"] != rerun["id"] || all[0]["status"] != "succeeded" || all[0]["action"] != "posted" {
		t.Fatalf("activity after re-run (newest first): %v", all)
	}
	// Pagination: one per page, the cursor leads to the older entry.
	page := org.Do(t, "GET", "/api/integrations/"+id+"/activity?kind=push&limit=1", nil).Map(t)
	cur, _ := page["next_cursor"].(string)
	if cur == "" {
		t.Fatalf("no next_cursor: %v", page)
	}
	older := activity(t, org, id, "?kind=push&limit=1&cursor="+cur)
	if len(older) != 1 || older[0]["id"] != p["id"] {
		t.Fatalf("second page: %v", older)
	}
	if r := org.Do(t, "GET", "/api/integrations/"+id+"/activity?cursor=garbage", nil); r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusBadRequest {
		t.Fatalf("bad cursor: %d %s", r.Status, r.Body)
	}
	// Disconnect revokes the bot token at Slack.
	before := len(fake.Slack.Revoked())
	if r := org.Do(t, "DELETE", "/api/integrations/"+id, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if len(fake.Slack.Revoked()) != before+1 {
		t.Fatal("the Slack token was not revoked")
	}
}

// TestSlackTokenExpiredRefreshesAndRetries: Slack answers token_expired;
// the push refreshes the (rotating) token once, saves it, and posts —
// the integration is not marked error; the refresh is in the activity list.
func TestSlackTokenExpiredRefreshesAndRetries(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	fake.SetRotateRefreshTokens(true) // Slack rotates with token rotation on
	defer fake.SetRotateRefreshTokens(false)
	id := connect(t, org, "slack", map[string]any{"channel": "#events", "notifications": map[string]any{"event_created": true}}, "")
	before := row(t, env, org.ID, id)
	fake.Slack.OAuth.ExpireAccessTokens()
	title := "Expired talk " + org.ID
	evID := "exp1-" + org.ID
	postEvent(t, org, evID, "event.created", event("evt_exp_"+org.ID, title, "2031-10-02T17:00:00Z", "2031-10-02T19:00:00Z", "in_person", 20))
	if st := waitClosed(t, env, workflows.PushWorkflowID(id, evID)); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("push ended %v", st)
	}
	if len(slackMessages(title)) != 1 {
		t.Fatal("message not posted after the refresh")
	}
	after := row(t, env, org.ID, id)
	if after.Status != "active" || *after.AccessToken == *before.AccessToken || *after.RefreshToken == *before.RefreshToken {
		t.Fatal("the refreshed (rotated) tokens were not saved")
	}
	refs := activity(t, org, id, "?kind=token_refresh")
	if len(refs) == 0 || refs[0]["trigger"] != "expired" || refs[0]["status"] != "succeeded" || refs[0]["rotated"] != true {
		t.Fatalf("token refreshes: %v", refs)
	}
}

// TestGoogleRefreshOn401RateLimitsMeetAndSendUpdates: Google answers 401
// (refresh, retry), then 403 userRateLimitExceeded (back off, retry); the
// Meet conference comes back pending and is polled to success;
// send_invitations reaches the API as sendUpdates=all.
func TestGoogleRefreshOn401RateLimitsMeetAndSendUpdates(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	cal := "cal401" + strings.ToLower(strings.ReplaceAll(org.ID, "_", ""))
	id := connect(t, org, "google_calendar", map[string]any{"calendar_id": cal, "send_invitations": true}, "")
	fake.Calendar.OAuth.ExpireAccessTokens()
	fake.Calendar.RateLimit403("/calendars/"+cal+"/events", "userRateLimitExceeded", 1)
	fake.Calendar.SetConferencePending(2)
	defer fake.Calendar.SetConferencePending(0)
	aqioID := "evt_g401_" + org.ID
	evID := "g401-" + org.ID
	postEvent(t, org, evID, "event.created", event(aqioID, "Online "+org.ID, "2031-11-01T17:00:00Z", "2031-11-01T19:00:00Z", "virtual", 50))
	if st := waitClosed(t, env, workflows.PushWorkflowID(id, evID)); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("push ended %v", st)
	}
	gid := googlecalendar.EventID(aqioID)
	if ev := fake.CalendarEvent(cal, gid); ev == nil || ev["hangoutLink"] == nil {
		t.Fatalf("calendar event: %v", ev)
	}
	if su := fake.Calendar.SendUpdates(cal, gid); len(su) == 0 || su[0] != "all" {
		t.Fatalf("sendUpdates seen by Google: %v", su)
	}
	links := org.Do(t, "GET", "/api/integrations/"+id+"/links", nil).Map(t)["data"].([]any)
	if len(links) != 1 || links[0].(map[string]any)["conference_url"] == nil {
		t.Fatalf("link keeps no Meet URL after the pending conference: %v", links)
	}
	pushes := activity(t, org, id, "?kind=push")
	if len(pushes) != 1 || pushes[0]["status"] != "succeeded" || pushes[0]["attempts"].(float64) < 2 {
		t.Fatalf("push entry (the rate limit costs an attempt): %v", pushes)
	}
	if refs := activity(t, org, id, "?kind=token_refresh&status=succeeded"); len(refs) == 0 {
		t.Fatal("the refresh on 401 is not in the activity list")
	}
	if got := integration(t, org, id); got["status"] != "active" {
		t.Fatalf("status after 401: %v", got["status"])
	}
}

// TestRotatedRefreshTokenSurvivesFailedSave: the provider rotates the
// refresh token; the database refuses the write of the new tokens (a
// trigger), so the refresh loop keeps the new tokens and retries the
// write (SaveTokens) — it never refreshes again with the spent token.
// Once the database accepts writes, the new tokens are saved and work.
func TestRotatedRefreshTokenSurvivesFailedSave(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	fake.SetRotateRefreshTokens(true)
	defer fake.SetRotateRefreshTokens(false)
	id := connect(t, org, "slack", map[string]any{"channel": "#events", "notifications": map[string]any{"event_created": true}}, "")
	before := row(t, env, org.ID, id)
	db := env.App.Store.DB()
	var create, drop string
	if env.Dialect == "postgres" {
		create = `CREATE OR REPLACE FUNCTION aqio_refuse_token_save() RETURNS trigger AS $$
BEGIN IF NEW.id = '` + id + `' AND NEW.access_token IS DISTINCT FROM OLD.access_token THEN RAISE EXCEPTION 'disk full (test)'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER aqio_refuse_token_save BEFORE UPDATE ON integrations FOR EACH ROW EXECUTE FUNCTION aqio_refuse_token_save();`
		drop = `DROP TRIGGER aqio_refuse_token_save ON integrations; DROP FUNCTION aqio_refuse_token_save();`
	} else {
		create = `CREATE TRIGGER aqio_refuse_token_save BEFORE UPDATE OF access_token ON integrations
FOR EACH ROW WHEN NEW.id = '` + id + `' BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END;`
		drop = `DROP TRIGGER aqio_refuse_token_save`
	}
	if err := db.Exec(create).Error; err != nil {
		t.Fatal(err)
	}
	dropped := false
	defer func() {
		if !dropped {
			_ = db.Exec(drop).Error
		}
	}()
	refreshes := fake.Slack.OAuth.Refreshes()
	if r := org.Do(t, "POST", "/api/integrations/"+id+"/refresh", nil); r.Status != http.StatusAccepted {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	testenv.Eventually(t, wait, "the provider to rotate the token", func() bool { return fake.Slack.OAuth.Refreshes() == refreshes+1 })
	// The loop retries the write, not the refresh.
	testenv.Eventually(t, wait, "SaveTokens to be retrying", func() bool {
		d, err := env.App.Temporal.DescribeWorkflowExecution(context.Background(), workflows.TokenRefreshWorkflowID(id), "")
		if err != nil {
			return false
		}
		for _, pa := range d.GetPendingActivities() {
			if pa.GetActivityType().GetName() == "SaveTokens" && pa.GetAttempt() >= 2 {
				return true
			}
		}
		return false
	})
	if got := fake.Slack.OAuth.Refreshes(); got != refreshes+1 {
		t.Fatalf("refreshed %d times while the save failed", got-refreshes)
	}
	if err := db.Exec(drop).Error; err != nil {
		t.Fatal(err)
	}
	dropped = true
	testenv.Eventually(t, wait, "the new tokens to be saved", func() bool {
		r := row(t, env, org.ID, id)
		return *r.RefreshToken != *before.RefreshToken && *r.AccessToken != *before.AccessToken
	})
	// The saved tokens are the live ones: a push posts with them.
	title := "After save " + org.ID
	evID := "sv1-" + org.ID
	postEvent(t, org, evID, "event.created", event("evt_sv_"+org.ID, title, "2031-10-03T17:00:00Z", "2031-10-03T19:00:00Z", "in_person", 20))
	if st := waitClosed(t, env, workflows.PushWorkflowID(id, evID)); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("push ended %v", st)
	}
	if integration(t, org, id)["status"] != "active" {
		t.Fatal("integration not active after the delayed save")
	}
}
