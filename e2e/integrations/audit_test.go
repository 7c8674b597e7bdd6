package integrations_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/api/enums/v1"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/workflows"
)

// auditEntries lists the organization's audit entries about one target.
func auditEntries(t *testing.T, org *testenv.Org, target string) []map[string]any {
	t.Helper()
	resp := org.Do(t, "GET", "/api/audit-log?limit=200&target_id="+target, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("audit log: %d %s", resp.Status, resp.Body)
	}
	var out []map[string]any
	for _, e := range resp.Map(t)["data"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

// onlyNew checks that exactly one entry was added since before (the
// previous listing) and that it is action, and returns it.
func onlyNew(t *testing.T, org *testenv.Org, target string, before int, action string) map[string]any {
	t.Helper()
	got := auditEntries(t, org, target)
	if len(got) != before+1 {
		var actions []string
		for _, e := range got {
			actions = append(actions, e["action"].(string))
		}
		t.Fatalf("want one new audit entry (%s), have %d after %d: %v", action, len(got), before, actions)
	}
	e := got[0] // newest first
	if e["action"] != action || e["target_type"] != "integration" || e["outcome"] != "success" {
		t.Fatalf("entry %v, want %s", e, action)
	}
	if rid, _ := e["request_id"].(string); rid == "" {
		t.Fatalf("entry without request id: %v", e)
	}
	if e["source_ip"] != "127.0.0.1" {
		t.Fatalf("entry source_ip %v", e["source_ip"])
	}
	return e
}

func details(e map[string]any) map[string]any {
	d, _ := e["details"].(map[string]any)
	return d
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestIntegrationPermissionAudit: an OAuth connect (with the scopes the
// provider granted), a reconnect, a settings change by an API key, a
// connect by credential, a re-run of a failed push and of a failed sync,
// and disconnects each leave exactly one audit entry with the actor,
// address and request id, and no secret in any entry.
func TestIntegrationPermissionAudit(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	settings := map[string]any{"calendar_id": "primary"}

	// OAuth connect: the actor is the user who consented, at the callback.
	calID := connect(t, org, "google_calendar", settings, "user_audit")
	in := integration(t, org, calID)
	granted := strs(in["granted_scope_list"])
	if len(granted) == 0 || !strings.Contains(in["granted_scopes"].(string), granted[0]) {
		t.Fatalf("granted scopes %v / %v", in["granted_scope_list"], in["granted_scopes"])
	}
	if ds := strs(in["data_sent"]); len(ds) == 0 || !strings.Contains(strings.Join(ds, "|"), "attendees") {
		t.Fatalf("data_sent %v", in["data_sent"])
	}
	e := onlyNew(t, org, calID, 0, "integration.connected")
	d := details(e)
	if e["actor_type"] != "oauth_callback" || e["actor_id"] != "user_audit" || d["via"] != "oauth" ||
		d["integration_type"] != "google_calendar" || !slices.Equal(strs(d["granted_scopes"]), granted) {
		t.Fatalf("connect entry %v", e)
	}
	// Both ends of the handshake: the authorize call's caller, address and
	// request id, beside the callback's.
	if az, _ := d["authorize"].(map[string]any); az["ip"] != "127.0.0.1" || az["actor_type"] != "service_token" || az["actor_id"] != "user_audit" ||
		az["request_id"] == nil || az["request_id"] == e["request_id"] {
		t.Fatalf("connect entry's authorize %v (entry %v)", d["authorize"], e)
	}

	// Reconnect over the same row.
	if again := connect(t, org, "google_calendar", settings, "user_audit"); again != calID {
		t.Fatalf("reconnect made %s", again)
	}
	onlyNew(t, org, calID, 1, "integration.reconnected")

	// Connect by credential (ActiveCampaign): the service token acting
	// for a user; field names recorded, never their values.
	key := "ac-audit-key-" + org.ID
	activecampaignFake.AddKey(key)
	resp := org.Do(t, "POST", "/api/integrations/activecampaign/connect", map[string]any{"name": "Marketing",
		"credentials": map[string]any{"api_url": fake.URL + activecampaignFake.APIPath(), "api_key": key}, "settings": map[string]any{}},
		"X-Aqio-User-Id", "user_ops")
	if resp.Status != http.StatusCreated {
		t.Fatalf("connect activecampaign: %d %s", resp.Status, resp.Body)
	}
	acID := resp.Map(t)["id"].(string)
	e = onlyNew(t, org, acID, 0, "integration.connected")
	d = details(e)
	if e["actor_type"] != "service_token" || e["actor_id"] != "user_ops" || d["via"] != "credentials" ||
		strings.Join(strs(d["credential_fields"]), ",") != "api_key,api_url" {
		t.Fatalf("credential connect entry %v", e)
	}

	// A settings change by an API key: the key is the actor; the changed
	// setting names, not their values.
	resp = org.Do(t, "POST", "/api/api-keys", map[string]any{"name": "support",
		"scopes": []string{"integrations:read", "integrations:write", "integrations:all_users"}})
	if resp.Status != http.StatusCreated {
		t.Fatalf("create key: %d %s", resp.Status, resp.Body)
	}
	apiKey := resp.Map(t)
	asKey := func(method, path string, body any) testenv.Response {
		return env.Do(t, method, path, body, "Authorization", "Bearer "+apiKey["key"].(string))
	}
	tag := "Aqio cancelled " + org.ID
	if r := asKey("PATCH", "/api/integrations/"+acID, map[string]any{"name": "Marketing (EU)",
		"settings": map[string]any{"tags": map[string]any{"registration.cancelled": []string{tag}}}}); r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	e = onlyNew(t, org, acID, 1, "integration.settings_changed")
	d = details(e)
	if e["actor_type"] != "api_key" || e["actor_id"] != apiKey["id"] || strings.Join(strs(d["changed"]), ",") != "name,settings" ||
		strings.Join(strs(d["settings_keys"]), ",") != "tags" {
		t.Fatalf("settings entry %v", e)
	}

	// Support re-runs a failed push.
	evID := "audev_" + org.ID
	postEvent(t, org, "au0-"+org.ID, "event.created", event(evID, "Audit summit "+org.ID, "2031-10-01T09:00:00Z", "2031-10-01T17:00:00Z", "in_person", 100))
	activecampaignFake.Fail("POST", "/api/3/contact/sync", 1, http.StatusUnprocessableEntity,
		`{"errors":[{"title":"Contact Email Address is not valid.","detail":"","code":"email_invalid","source":{"pointer":"/data/attributes/email"}}]}`)
	postEvent(t, org, "au1-"+org.ID, "registration.confirmed", map[string]any{"id": "aur1" + org.ID, "event_id": evID,
		"user_email": "grace+" + strings.ToLower(org.ID) + "@example.com", "user_name": "Grace Hopper", "status": "confirmed"})
	if st := waitClosed(t, env, workflows.PushWorkflowID(acID, "au1-"+org.ID)); st != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("refused push ended %v", st)
	}
	var failed map[string]any
	testenv.Eventually(t, wait, "failed push listed", func() bool {
		for _, a := range hubspotActivity(t, org, acID, "kind=push&status=failed") {
			if a["event_id"] == "au1-"+org.ID {
				failed = a
				return true
			}
		}
		return false
	})
	if r := org.Do(t, "POST", "/api/integrations/"+acID+"/pushes/"+failed["id"].(string)+"/retry", nil, "X-Aqio-User-Id", "support_1"); r.Status != http.StatusAccepted {
		t.Fatalf("retry push: %d %s", r.Status, r.Body)
	}
	e = onlyNew(t, org, acID, 2, "integration.push_retried")
	if d = details(e); e["actor_id"] != "support_1" || d["retry_of"] != failed["id"] || d["push_id"] == "" || d["event_type"] != "registration.confirmed" {
		t.Fatalf("push retry entry %v", e)
	}

	// Support re-runs a failed sync (one record ActiveCampaign refuses).
	postEvent(t, org, "au2-"+org.ID, "registration.confirmed", map[string]any{"id": "aur2" + org.ID, "event_id": evID,
		"user_email": "nodomain+" + strings.ToLower(org.ID) + "@localhost", "status": "confirmed"})
	waitClosed(t, env, workflows.PushWorkflowID(acID, "au2-"+org.ID))
	resp = org.Do(t, "POST", "/api/integrations/"+acID+"/sync", map[string]any{"sync_type": "full"})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("sync: %d %s", resp.Status, resp.Body)
	}
	s := syncRun(t, org, acID, resp.Map(t)["id"].(string))
	if s["status"] != "failed" {
		t.Fatalf("sync %v", s)
	}
	resp = org.Do(t, "POST", "/api/integrations/"+acID+"/syncs/"+s["id"].(string)+"/retry", nil, "X-Aqio-User-Id", "support_1")
	if resp.Status != http.StatusAccepted {
		t.Fatalf("retry sync: %d %s", resp.Status, resp.Body)
	}
	rerun := resp.Map(t)
	syncRun(t, org, acID, rerun["id"].(string))
	e = onlyNew(t, org, acID, 3, "integration.sync_retried")
	if d = details(e); e["actor_id"] != "support_1" || d["retry_of"] != s["id"] || d["sync_id"] != rerun["id"] || d["sync_type"] != "full" {
		t.Fatalf("sync retry entry %v", e)
	}

	// Disconnects: the revocation outcome with the scopes that were held.
	revoked := len(fake.Revoked())
	if r := org.Do(t, "DELETE", "/api/integrations/"+calID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if len(fake.Revoked()) != revoked+1 {
		t.Fatal("not revoked at the provider")
	}
	e = onlyNew(t, org, calID, 2, "integration.disconnected")
	if d = details(e); d["revocation"] != "revoked" || !slices.Equal(strs(d["granted_scopes"]), granted) || e["actor_type"] != "service_token" {
		t.Fatalf("disconnect entry %v", e)
	}
	if r := asKey("DELETE", "/api/integrations/"+acID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete activecampaign: %d %s", r.Status, r.Body)
	}
	e = onlyNew(t, org, acID, 4, "integration.disconnected")
	if e["actor_type"] != "api_key" || details(e)["revocation"] != "not_offered" {
		t.Fatalf("activecampaign disconnect entry %v", e)
	}

	// No secret in any entry: no credential, no token, no ciphertext.
	all := org.Do(t, "GET", "/api/audit-log?limit=200", nil)
	body := string(all.Body)
	for _, secret := range []string{key, apiKey["key"].(string), "v1:", "access_token", "refresh_token", "Bearer", "eyJ", "grace+", "@localhost"} {
		if strings.Contains(body, secret) {
			t.Fatalf("audit log holds %q: %s", secret, body)
		}
	}
}
