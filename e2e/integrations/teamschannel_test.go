package integrations_test

import (
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/api/enums/v1"

	teamschannelfake "github.com/aqio/connect/internal/fakes/teamschannel"
	"github.com/aqio/connect/internal/testenv"
)

// teamsChannelFake is Teams Workflows webhooks under /teams-workflows on the fakes' server.
var teamsChannelFake *teamschannelfake.Fake

// mountTeamsChannel mounts the fake; TestMain calls it.
func mountTeamsChannel() *teamschannelfake.Fake {
	return teamschannelfake.Mount(fake.Mux, "/teams-workflows", func() string { return fake.URL })
}

// TestTeamsChannel: a pasted Workflows webhook URL is checked (form,
// then one "connected" card; a wrong signature is a 422 naming it,
// nothing stored) → event created is posted once as an Adaptive Card, a
// repeat duplicates nothing → a refused card is listed as failed and re-run
// → a 429 waits Retry-After → a deleted flow stops the integration at the
// first 404 → a Teams channel connection coexists with a Teams meetings
// type → disconnect.
func TestTeamsChannel(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	settings := map[string]any{"notifications": map[string]any{"event_created": true}}
	connectTeams := func(u string) testenv.Response {
		return org.Do(t, "POST", "/api/integrations/teams_channel/connect", map[string]any{"name": "Events channel",
			"credentials": map[string]any{"webhook_url": u}, "settings": settings})
	}
	wf, hook := teamsChannelFake.AddWorkflow()
	for _, tc := range []struct{ name, url string }{
		{"not a Workflows URL", "https://example.com/workflows/x/triggers/manual/paths/invoke?sig=abc"},
		{"wrong signature", strings.Replace(hook, "sig=", "sig=x", 1)},
	} {
		if r := connectTeams(tc.url); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `"field":"credentials.webhook_url"`) {
			t.Fatalf("%s: %d %s", tc.name, r.Status, r.Body)
		}
	}
	if r := org.Do(t, "GET", "/api/integrations", nil); strings.Contains(string(r.Body), `"teams_channel"`) {
		t.Fatalf("refused connects stored an integration: %s", r.Body)
	}
	resp := connectTeams(hook)
	if resp.Status != http.StatusCreated || strings.Contains(string(resp.Body), "sig=") {
		t.Fatalf("connect: %d %s", resp.Status, resp.Body)
	}
	id := resp.Map(t)["id"].(string)
	if cards := teamsChannelFake.Cards(wf); len(cards) != 1 || !strings.Contains(cards[0].Text(), "Aqio is connected") {
		t.Fatalf("connection card: %+v", cards)
	}

	title := "Teams launch " + org.ID
	postEvent(t, org, "t0-"+org.ID, "event.created", event("tev_"+org.ID, title, "2031-10-01T09:00:00Z", "", "in_person", 0))
	pushEnded(t, env, id, "t0-"+org.ID, enums.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	postEvent(t, org, "t0b-"+org.ID, "event.created", event("tev_"+org.ID, title, "2031-10-01T09:00:00Z", "", "in_person", 0))
	pushEnded(t, env, id, "t0b-"+org.ID, enums.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	cards := teamsChannelFake.Cards(wf)
	if len(cards) != 2 || !strings.Contains(cards[1].Text(), "**"+title+"**") {
		t.Fatalf("cards after two deliveries of one event: %+v", cards)
	}
	if p := kitPush(t, org, id, "t0-"+org.ID, "succeeded"); p["action"] != "posted" || p["external_id"] != cards[1].RunID {
		t.Fatalf("push: %v", p)
	}

	// A card the flow refuses: failed, listed, re-run.
	teamsChannelFake.Fail(http.StatusBadRequest, `{"error":{"code":"TriggerInputSchemaMismatch","message":"The input body for trigger 'manual' of type 'Request' did not match its schema definition."}}`)
	title2 := "Teams second " + org.ID
	postEvent(t, org, "t1-"+org.ID, "event.created", event("tev2_"+org.ID, title2, "2031-11-01T09:00:00Z", "", "in_person", 0))
	pushEnded(t, env, id, "t1-"+org.ID, enums.WORKFLOW_EXECUTION_STATUS_FAILED)
	failed := kitPush(t, org, id, "t1-"+org.ID, "failed")
	if e, _ := failed["error"].(map[string]any); e["code"] != "TriggerInputSchemaMismatch" {
		t.Fatalf("failed push: %v", failed)
	}
	if r, _ := failed["response"].(map[string]any); r == nil || strings.Contains(r["request"].(string), "sig=") {
		t.Fatalf("failed push response: %v", failed)
	}
	resp = org.Do(t, "POST", "/api/integrations/"+id+"/pushes/"+failed["id"].(string)+"/retry", nil)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("retry: %d %s", resp.Status, resp.Body)
	}
	rerun := resp.Map(t)
	testenv.Eventually(t, wait, "re-run posted", func() bool {
		for _, a := range org.Do(t, "GET", "/api/integrations/"+id+"/activity?kind=push", nil).Map(t)["data"].([]any) {
			if m := a.(map[string]any); m["id"] == rerun["id"] {
				return m["status"] == "succeeded"
			}
		}
		return false
	})

	// Throttled: waits Retry-After, posts once.
	teamsChannelFake.ThrottleNext(1, 1)
	postEvent(t, org, "t2-"+org.ID, "event.created", event("tev3_"+org.ID, "Teams third "+org.ID, "2031-12-01T09:00:00Z", "", "in_person", 0))
	pushEnded(t, env, id, "t2-"+org.ID, enums.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	if n := len(teamsChannelFake.Cards(wf)); n != 4 {
		t.Fatalf("%d cards after the throttled post, want 4", n)
	}

	// A Teams meetings connection may exist beside it (distinct types).
	if r := org.Do(t, "GET", "/api/integrations/providers", nil); !strings.Contains(string(r.Body), `"type":"teams_channel"`) || !strings.Contains(string(r.Body), `"type":"teams"`) {
		t.Fatalf("providers: %s", r.Body)
	}

	// The flow is deleted: one refused request, the integration in error.
	teamsChannelFake.DeleteWorkflow(wf)
	before := len(teamsChannelFake.Requests())
	postEvent(t, org, "t3-"+org.ID, "event.created", event("tev4_"+org.ID, "Teams fourth "+org.ID, "2031-12-02T09:00:00Z", "", "in_person", 0))
	pushEnded(t, env, id, "t3-"+org.ID, enums.WORKFLOW_EXECUTION_STATUS_FAILED)
	testenv.Eventually(t, wait, "integration in error", func() bool { return integration(t, org, id)["status"] == "error" })
	if n := len(teamsChannelFake.Requests()) - before; n != 1 {
		t.Fatalf("%d requests to a deleted flow, want 1", n)
	}
	if resp := org.Do(t, "DELETE", "/api/integrations/"+id, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("disconnect: %d %s", resp.Status, resp.Body)
	}
}
