package integrations_test

import (
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/api/enums/v1"

	zoomfake "github.com/aqio/connect/internal/fakes/zoom"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/workflows"
)

// TestAfterConnectStoresExtras: the connector's AfterConnect runs once
// after the code exchange (Mailchimp: the metadata endpoint, with the
// new token) and its extras are kept with the credentials, so pushes use
// the stored API base and never ask the metadata endpoint again.
func TestAfterConnectStoresExtras(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	list := mailchimpAudience(org)
	before := mailchimpFake.Count("GET", "/oauth2/metadata")
	id := connect(t, org, "mailchimp", map[string]any{"audience_id": list}, "")
	if n := mailchimpFake.Count("GET", "/oauth2/metadata") - before; n != 1 {
		t.Fatalf("metadata endpoint asked %d times at connect, want 1 (AfterConnect)", n)
	}
	if got := integration(t, org, id); got["status"] != "active" {
		t.Fatalf("after connect: %v", got)
	}
	evID := "aev_" + org.ID
	postEvent(t, org, "ac1-"+org.ID, "event.created", event(evID, "After connect", "2031-10-01T09:00:00Z", "2031-10-01T17:00:00Z", "in_person", 10))
	email := "ada+" + strings.ToLower(org.ID) + "@example.com"
	postEvent(t, org, "ac2-"+org.ID, "registration.confirmed", map[string]any{"id": "acr" + org.ID, "event_id": evID,
		"user_email": email, "user_name": "Ada Lovelace", "status": "confirmed", "marketing_consent": true})
	mailchimpPushDone(t, env, id, "ac2-"+org.ID)
	if m, ok := mailchimpFake.Member(list, email); !ok || m.Status != "subscribed" {
		t.Fatalf("member %+v %v", m, ok)
	}
	if n := mailchimpFake.Count("GET", "/oauth2/metadata") - before; n != 1 {
		t.Fatalf("metadata endpoint asked %d times in all, want 1: the push did not use the stored data center", n)
	}
}

// TestSettingsRefusedAfterCallback: settings given at /authorize are
// checked with the provider once the callback has a token. A refused
// setting keeps the connection (the user went through OAuth) in status
// error naming the field; the browser is sent back with
// integration_status=error and the field; a PATCH the provider accepts
// makes the integration active again.
func TestSettingsRefusedAfterCallback(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	list := mailchimpAudience(org)
	cb := authorize(t, org, "mailchimp", map[string]any{"name": "refused", "return_url": returnURL,
		"settings": map[string]any{"audience_id": "nosuchlist9"}}, "")
	back := testenv.Location(t, cb.String())
	q := back.Query()
	id := q.Get("integration_id")
	if q.Get("integration_status") != "error" || q.Get("error") != "invalid_settings" || q.Get("field") != "settings.audience_id" ||
		id == "" || !strings.HasPrefix(back.String(), returnURL) {
		t.Fatalf("callback redirected to %s", back)
	}
	got := integration(t, org, id)
	msg, _ := got["last_error_message"].(string)
	if got["status"] != "error" || !strings.HasPrefix(msg, "settings.audience_id: ") {
		t.Fatalf("integration after refused settings: %v", got)
	}

	// Still refused: 422 naming the field, status unchanged.
	resp := org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"settings": map[string]any{"audience_id": "nosuchlist8"}})
	if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), `"field":"settings.audience_id"`) {
		t.Fatalf("PATCH with another unknown audience: %d %s", resp.Status, resp.Body)
	}
	if got := integration(t, org, id); got["status"] != "error" {
		t.Fatalf("after a refused PATCH: %v", got)
	}
	resp = org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"settings": map[string]any{"audience_id": list}})
	if resp.Status != http.StatusOK {
		t.Fatalf("PATCH with the account's audience: %d %s", resp.Status, resp.Body)
	}
	if got := integration(t, org, id); got["status"] != "active" || got["last_error_message"] != nil {
		t.Fatalf("after corrected settings: %v", got)
	}
}

// TestFailedPushRecordsProviderError: a push the provider refuses is
// listed with the provider's own error code and message (no Temporal
// wrapper text), and the request excerpt keeps the API host the token
// answer gave (Zoom api_url is not a secret).
func TestFailedPushRecordsProviderError(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	id := connect(t, org, "zoom", map[string]any{}, "user_zoom_rt")
	evID := "zrt_" + org.ID
	ev := event(evID, "Runtime meeting", "2031-09-01T15:00:00Z", "2031-09-01T16:00:00Z", "virtual", 10)
	postEvent(t, org, "zrt1-"+org.ID, "event.created", ev)
	zoomPushDone(t, env, id, "zrt1-"+org.ID)
	zoomFake.FailNext(zoomfake.OpUpdateMeeting, 1, http.StatusBadRequest, 300, "Validation Failed.")
	ev["title"] = "Runtime meeting (moved)"
	postEvent(t, org, "zrt2-"+org.ID, "event.updated", ev)
	if st := waitClosed(t, env, workflows.PushWorkflowID(id, "zrt2-"+org.ID)); st != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("push ended %v, want failed", st)
	}
	failed := zoomFailedPush(t, org, id, "zrt2-"+org.ID)
	ferr, _ := failed["error"].(map[string]any)
	fresp, _ := failed["response"].(map[string]any)
	if ferr == nil || ferr["code"] != "300" {
		t.Fatalf("error code: %v, want Zoom's 300", failed)
	}
	if m, _ := ferr["message"].(string); !strings.Contains(m, "Validation Failed.") || strings.Contains(m, "type:") || strings.Contains(m, "retryable") {
		t.Fatalf("error message %q: want Zoom's message without Temporal's wrapper", m)
	}
	req, _ := fresp["request"].(string)
	if !strings.HasPrefix(req, "PATCH "+fake.URL) || strings.Contains(req, "[redacted]") {
		t.Fatalf("request %q: want the API host, not redacted", req)
	}
	// Leave the Zoom fake without a live meeting (TestZoom counts them).
	meetingID, _ := zoomLinks(t, org, id)["event/"+evID]["external_id"].(string)
	postEvent(t, org, "zrt3-"+org.ID, "event.cancelled", ev)
	zoomPushDone(t, env, id, "zrt3-"+org.ID)
	if _, live := zoomFake.Meeting(meetingID); live || meetingID == "" {
		t.Fatal("the meeting was not deleted on cancel")
	}
}
