package integrations_test

import (
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/api/enums/v1"

	"github.com/aqio/connect/config"
	discordfake "github.com/aqio/connect/internal/fakes/discord"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/workflows"
)

const discordClient, discordSecret = "1190000000000000001", "discord-client-secret"

// discordFake is Discord (OAuth, revoke, webhooks) under /discord on the fakes' server.
var discordFake *discordfake.Mounted

// mountDiscord mounts the fake; TestMain calls it.
func mountDiscord() *discordfake.Mounted {
	return discordfake.Mount(fake.Mux, fake.Issuer, "/discord", map[string]string{discordClient: discordSecret}, func() string { return fake.URL })
}

// configureDiscord points the service at the fake.
func configureDiscord(c *config.Config) {
	c.Integrations.Providers["discord"] = config.ProviderConfig{
		ClientID: discordClient, ClientSecret: discordSecret,
		AuthURL: fake.URL + discordFake.AuthPath(), TokenURL: fake.URL + discordFake.TokenPath(),
		RevokeURL: fake.URL + discordFake.RevokePath(), APIBaseURL: fake.URL + discordFake.APIPath(),
	}
}

func pushEnded(t *testing.T, env *testenv.Env, integ, eventID string, want enums.WorkflowExecutionStatus) {
	t.Helper()
	if st := waitClosed(t, env, workflows.PushWorkflowID(integ, eventID)); st != want {
		t.Fatalf("push %s ended %v, want %v", eventID, st, want)
	}
}

// discordPosts counts webhook executions (POST …/webhooks/{id}/{token}) of one webhook.
func discordPosts(hookID string) (ok, refused int) {
	for _, r := range discordFake.Requests() {
		if r.Method == "POST" && strings.HasPrefix(r.Path, "/webhooks/"+hookID+"/") {
			if r.Status < 300 {
				ok++
			} else {
				refused++
			}
		}
	}
	return ok, refused
}

// TestDiscordOAuth: connect with webhook.incoming (the token response's
// webhook is kept) → event created is posted once as an embed with
// ?wait=true, a repeat duplicates nothing → a push Discord refuses is
// listed as failed and re-run → a 429 waits retry_after → disconnect
// deletes the webhook and revokes the grant.
func TestDiscordOAuth(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	settings := map[string]any{"notifications": map[string]any{"event_created": true, "registration_milestone": map[string]any{"at": []int{2}}}}
	id := connect(t, org, "discord", settings, "")
	if got := integration(t, org, id); got["status"] != "active" {
		t.Fatalf("after connect: %v", got)
	}

	title := "Discord launch " + org.ID
	evID := "dev_" + org.ID
	postEvent(t, org, "d0-"+org.ID, "event.created", event(evID, title, "2031-10-01T09:00:00Z", "2031-10-01T17:00:00Z", "virtual", 3))
	pushEnded(t, env, id, "d0-"+org.ID, enums.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	msgs := discordFake.MessagesTitled(title)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Embeds[0].Description, "**"+title+"**") || msgs[0].Embeds[0].Timestamp != "2031-10-01T09:00:00Z" {
		t.Fatalf("messages %+v", msgs)
	}
	hookID := msgs[0].WebhookID
	for _, r := range discordFake.Requests() {
		if r.Method == "POST" && strings.HasPrefix(r.Path, "/webhooks/"+hookID+"/") && (r.Query != "wait=true" || r.Authorization != "") {
			t.Fatalf("execute request %+v: want ?wait=true and no Authorization header", r)
		}
	}
	if p := kitPush(t, org, id, "d0-"+org.ID, "succeeded"); p["action"] != "posted" || p["external_id"] != msgs[0].ID {
		t.Fatalf("push: %v", p)
	}
	// The same event again (a redelivery): nothing new in the channel.
	postEvent(t, org, "d0b-"+org.ID, "event.created", event(evID, title, "2031-10-01T09:00:00Z", "2031-10-01T17:00:00Z", "virtual", 3))
	pushEnded(t, env, id, "d0b-"+org.ID, enums.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	if n := len(discordFake.MessagesTitled(title)); n != 1 {
		t.Fatalf("a repeat posted again: %d messages", n)
	}

	// Milestone 2: posted once, however many registrations follow.
	for i, r := range []string{"a", "b", "c"} {
		postEvent(t, org, "dr"+r+org.ID, "registration.confirmed", map[string]any{"id": "drg" + r + org.ID, "event_id": evID,
			"user_email": r + "@example.com", "status": "confirmed"})
		pushEnded(t, env, id, "dr"+r+org.ID, enums.WORKFLOW_EXECUTION_STATUS_COMPLETED)
		if want := min(i, 1) + 1; len(discordFake.MessagesTitled(title)) != want {
			t.Fatalf("after %d registrations: %d messages, want %d", i+1, len(discordFake.MessagesTitled(title)), want)
		}
	}

	// Discord refuses a post (form error): failed, listed with Discord's
	// answer, re-run by support.
	discordFake.Fail("POST", 1, http.StatusBadRequest, `{"code":50035,"message":"Invalid Form Body","errors":{"embeds":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH","message":"Must be 10 or fewer in length."}]}}}`)
	title2 := "Discord second " + org.ID
	postEvent(t, org, "d1-"+org.ID, "event.created", event("dev2_"+org.ID, title2, "2031-11-01T09:00:00Z", "", "in_person", 0))
	pushEnded(t, env, id, "d1-"+org.ID, enums.WORKFLOW_EXECUTION_STATUS_FAILED)
	failed := kitPush(t, org, id, "d1-"+org.ID, "failed")
	errObj, _ := failed["error"].(map[string]any)
	respObj, _ := failed["response"].(map[string]any)
	hk, _ := discordFake.Webhook(hookID)
	if errObj["code"] != "invalid_form_body" || respObj == nil || respObj["status"] != float64(400) ||
		strings.Contains(respObj["request"].(string), hk.Token) {
		t.Fatalf("failed push: %v", failed)
	}
	if integration(t, org, id)["status"] != "active" {
		t.Fatal("a form error marked the integration error")
	}
	resp := org.Do(t, "POST", "/api/integrations/"+id+"/pushes/"+failed["id"].(string)+"/retry", nil)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("retry: %d %s", resp.Status, resp.Body)
	}
	rerun := resp.Map(t)
	testenv.Eventually(t, wait, "re-run posted", func() bool {
		for _, a := range org.Do(t, "GET", "/api/integrations/"+id+"/activity?kind=push", nil).Map(t)["data"].([]any) {
			if m := a.(map[string]any); m["id"] == rerun["id"] {
				return m["status"] == "succeeded" && m["action"] == "posted"
			}
		}
		return false
	})
	if n := len(discordFake.MessagesTitled(title2)); n != 1 {
		t.Fatalf("re-run posted %d messages", n)
	}

	// A 429 with retry_after: the push waits and posts once.
	discordFake.RateLimitNext(1, 0.25, false)
	title3 := "Discord third " + org.ID
	postEvent(t, org, "d2-"+org.ID, "event.created", event("dev3_"+org.ID, title3, "2031-12-01T09:00:00Z", "", "in_person", 0))
	pushEnded(t, env, id, "d2-"+org.ID, enums.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	if n := len(discordFake.MessagesTitled(title3)); n != 1 {
		t.Fatalf("after a 429: %d messages", n)
	}

	// Disconnect: the webhook the app created is deleted, the grant revoked.
	before := len(discordFake.OAuth.Revoked())
	if resp := org.Do(t, "DELETE", "/api/integrations/"+id, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("disconnect: %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, wait, "webhook deleted and grant revoked", func() bool {
		h, _ := discordFake.Webhook(hookID)
		return h.Deleted && len(discordFake.OAuth.Revoked()) == before+1
	})
}

// TestDiscordWebhookURL: a pasted webhook URL is checked with one GET
// before it is saved (a malformed or dead URL is a 422 naming it, nothing
// stored) → posts go to it → a webhook deleted in Discord stops the
// integration at the first 404 (status error, no retry) → disconnect
// leaves the user's webhook alone.
func TestDiscordWebhookURL(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	settings := map[string]any{"notifications": map[string]any{"event_created": true}, "username": "Aqio Events"}
	connectHook := func(u string) testenv.Response {
		return org.Do(t, "POST", "/api/integrations/discord/connect", map[string]any{"name": "Events channel",
			"credentials": map[string]any{"webhook_url": u}, "settings": settings})
	}
	gone := discordFake.AddWebhook("gone")
	discordFake.DeleteWebhook(gone.ID)
	for _, tc := range []struct{ name, url string }{
		{"not a webhook URL", "https://example.com/api/webhooks/123456/abc"},
		{"deleted webhook", discordFake.URL(gone)},
	} {
		if r := connectHook(tc.url); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `"field":"credentials.webhook_url"`) {
			t.Fatalf("%s: %d %s", tc.name, r.Status, r.Body)
		}
	}
	if r := org.Do(t, "POST", "/api/integrations/discord/connect", map[string]any{"credentials": map[string]any{"webhook_url": discordFake.URL(gone)},
		"settings": map[string]any{"username": "discord bot"}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `"field":"settings.username"`) {
		t.Fatalf("bad username: %d %s", r.Status, r.Body)
	}
	if r := org.Do(t, "GET", "/api/integrations", nil); strings.Contains(string(r.Body), `"discord"`) {
		t.Fatalf("refused connects stored an integration: %s", r.Body)
	}

	hook := discordFake.AddWebhook("events")
	resp := connectHook(discordFake.URL(hook))
	if resp.Status != http.StatusCreated || strings.Contains(string(resp.Body), hook.Token) {
		t.Fatalf("connect: %d %s", resp.Status, resp.Body)
	}
	id := resp.Map(t)["id"].(string)

	title := "Pasted hook " + org.ID
	postEvent(t, org, "p0-"+org.ID, "event.created", event("pev_"+org.ID, title, "2031-10-01T09:00:00Z", "", "in_person", 0))
	pushEnded(t, env, id, "p0-"+org.ID, enums.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	if msgs := discordFake.Messages(hook.ID); len(msgs) != 1 || msgs[0].Username != "Aqio Events" || msgs[0].Embeds[0].Title != title {
		t.Fatalf("messages %+v", msgs)
	}

	// The user deletes the webhook in Discord: one refused request, then
	// the integration is in error and nothing is retried.
	discordFake.DeleteWebhook(hook.ID)
	postEvent(t, org, "p1-"+org.ID, "event.created", event("pev2_"+org.ID, title+" 2", "2031-10-02T09:00:00Z", "", "in_person", 0))
	pushEnded(t, env, id, "p1-"+org.ID, enums.WORKFLOW_EXECUTION_STATUS_FAILED)
	testenv.Eventually(t, wait, "integration in error", func() bool { return integration(t, org, id)["status"] == "error" })
	if _, refused := discordPosts(hook.ID); refused != 1 {
		t.Fatalf("%d refused posts to a deleted webhook, want exactly 1", refused)
	}
	if p := kitPush(t, org, id, "p1-"+org.ID, "failed"); p["error"].(map[string]any)["code"] != "unknown_webhook" {
		t.Fatalf("failed push: %v", p)
	}

	// Disconnect: a pasted webhook is the user's; nothing is sent to Discord.
	n := len(discordFake.Requests())
	if resp := org.Do(t, "DELETE", "/api/integrations/"+id, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("disconnect: %d %s", resp.Status, resp.Body)
	}
	if len(discordFake.Requests()) != n {
		t.Fatal("disconnecting a pasted webhook called Discord")
	}
}
