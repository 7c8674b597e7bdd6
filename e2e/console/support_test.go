package console_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aqio/connect/internal/fakes/oidc"
	"github.com/aqio/connect/internal/testenv"
)

// orgWithDelivery makes an organization with a webhook and one finished attempt.
func orgWithDelivery(t *testing.T, env *testenv.Env, rcv *testenv.Receiver) (org *testenv.Org, webhookID, deliveryID string) {
	t.Helper()
	org = env.NewOrg(t)
	r := org.Do(t, "POST", "/api/webhooks", map[string]any{"name": "support", "url": rcv.URL, "events": []string{"*"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", r.Status, r.Body)
	}
	webhookID = r.Map(t)["id"].(string)
	r = org.Do(t, "POST", "/api/events", map[string]any{"id": "evt_support", "type": "event.created",
		"data": map[string]any{"object": map[string]any{"id": "obj_1", "title": "Launch"}}})
	if r.Status != http.StatusAccepted {
		t.Fatalf("post event: %d %s", r.Status, r.Body)
	}
	testenv.Eventually(t, 20*time.Second, "the first attempt", func() bool {
		var page struct {
			Data []struct {
				ID      string `json:"id"`
				IsFinal bool   `json:"is_final"`
			} `json:"data"`
		}
		org.Do(t, "GET", "/api/webhooks/"+webhookID+"/deliveries", nil).JSON(t, &page)
		if len(page.Data) == 1 && page.Data[0].IsFinal {
			deliveryID = page.Data[0].ID
			return true
		}
		return false
	})
	return org, webhookID, deliveryID
}

func TestSupportRoleRerunsButCannotChange(t *testing.T) {
	env := testenv.Get(t)
	rcv := testenv.NewReceiver(t)
	a, whA, dA := orgWithDelivery(t, env, rcv)
	b, whB, dB := orgWithDelivery(t, env, rcv)
	c := env.NewOrg(t)
	staff := oidc.User{Sub: "support-ann", Roles: []string{"support"},
		Extra: map[string]any{"support_organizations": []string{a.ID, b.ID}}}
	tok := idp.AccessToken(staff, time.Now().Add(5*time.Minute))
	as := func(org, method, path string, body any) testenv.Response {
		return env.Do(t, method, path, body, "Authorization", "Bearer "+tok, "X-Aqio-Organization-Id", org)
	}

	for _, o := range []struct {
		org           *testenv.Org
		webhook, dlvr string
	}{{a, whA, dA}, {b, whB, dB}} {
		if r := as(o.org.ID, "GET", "/api/webhooks/"+o.webhook+"/deliveries/"+o.dlvr, nil); r.Status != http.StatusOK {
			t.Fatalf("support reads a delivery in %s: %d %s", o.org.ID, r.Status, r.Body)
		}
		if r := as(o.org.ID, "GET", "/api/integrations", nil); r.Status != http.StatusOK {
			t.Fatalf("support lists integrations in %s: %d %s", o.org.ID, r.Status, r.Body)
		}
		if r := as(o.org.ID, "POST", "/api/webhooks/"+o.webhook+"/deliveries/"+o.dlvr+"/redeliver", nil); r.Status != http.StatusAccepted {
			t.Fatalf("support redelivers in %s: %d %s", o.org.ID, r.Status, r.Body)
		}
		since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		if r := as(o.org.ID, "POST", "/api/webhooks/"+o.webhook+"/recover", map[string]any{"since": since}); r.Status != http.StatusAccepted {
			t.Fatalf("support recovers in %s: %d %s", o.org.ID, r.Status, r.Body)
		}
		// Each re-run is in the organization's audit log with who did it.
		var log struct {
			Data []struct {
				Action    string  `json:"action"`
				ActorType string  `json:"actor_type"`
				ActorID   *string `json:"actor_id"`
				TargetID  *string `json:"target_id"`
			} `json:"data"`
		}
		o.org.Do(t, "GET", "/api/audit-log?target_id="+o.webhook, nil).JSON(t, &log)
		got := map[string]bool{}
		for _, e := range log.Data {
			if e.ActorType == "user_jwt" && e.ActorID != nil && *e.ActorID == staff.Sub {
				got[e.Action] = true
			}
		}
		if !got["webhook.redelivered"] || !got["webhook.recovery_started"] {
			t.Fatalf("audit log of %s: %+v", o.org.ID, log.Data)
		}

		// No secrets, no keys, no configuration changes.
		for _, call := range []struct{ method, path string }{
			{"GET", "/api/webhooks/" + o.webhook + "/secret"},
			{"POST", "/api/webhooks/" + o.webhook + "/rotate-secret"},
			{"PATCH", "/api/webhooks/" + o.webhook},
			{"DELETE", "/api/webhooks/" + o.webhook},
			{"POST", "/api/api-keys"},
			{"GET", "/api/api-keys"},
			{"GET", "/api/audit-log"},
			{"GET", "/api/request-logs"},
		} {
			var body any
			switch call.method {
			case "PATCH":
				body = map[string]any{"name": "changed by support"}
			case "POST":
				body = map[string]any{"name": "support key", "scopes": []string{"webhooks:read"}}
			}
			r := as(o.org.ID, call.method, call.path, body)
			if code, _ := errorOf(t, r); r.Status != http.StatusForbidden || code != "insufficient_scope" {
				t.Errorf("support %s %s in %s: %d %s, want 403 insufficient_scope", call.method, call.path, o.org.ID, r.Status, r.Body)
			}
		}
	}

	// Integration re-runs pass the scope gate for support (nothing to
	// re-run here: 404), not for a member; changing an integration does not.
	member := idp.AccessToken(oidc.User{Sub: "max", Roles: []string{"member"}, Organizations: []string{a.ID}}, time.Now().Add(5*time.Minute))
	for _, path := range []string{"/api/integrations/int_none/syncs/sync_none/retry", "/api/integrations/int_none/pushes/push_none/retry"} {
		if r := as(a.ID, "POST", path, nil); r.Status != http.StatusNotFound {
			t.Errorf("support POST %s: %d %s, want 404 (past the scope gate)", path, r.Status, r.Body)
		}
		r := env.Do(t, "POST", path, nil, "Authorization", "Bearer "+member)
		if code, _ := errorOf(t, r); r.Status != http.StatusForbidden || code != "insufficient_scope" {
			t.Errorf("member POST %s: %d %s, want 403", path, r.Status, r.Body)
		}
	}
	if r := as(a.ID, "PATCH", "/api/integrations/int_none", map[string]any{"name": "x"}); r.Status != http.StatusForbidden {
		t.Errorf("support PATCH an integration: %d %s", r.Status, r.Body)
	}
	if r := as(a.ID, "POST", "/api/integrations/kit/connect", map[string]any{"credentials": map[string]any{"api_key": "x"}}); r.Status != http.StatusForbidden {
		t.Errorf("support connects an integration: %d %s", r.Status, r.Body)
	}

	// An organization not granted, and no organization named.
	if r := as(c.ID, "GET", "/api/webhooks", nil); r.Status != http.StatusForbidden {
		t.Errorf("support in an organization not granted: %d %s", r.Status, r.Body)
	}
	r := env.Do(t, "GET", "/api/webhooks", nil, "Authorization", "Bearer "+tok)
	if code, field := errorOf(t, r); r.Status != http.StatusBadRequest || code != "organization_required" || field != "X-Aqio-Organization-Id" {
		t.Errorf("support without an organization: %d %s", r.Status, r.Body)
	}
	// "*" grants every organization.
	everywhere := idp.AccessToken(oidc.User{Sub: "support-bo", Roles: []string{"support"},
		Extra: map[string]any{"support_organizations": "*"}}, time.Now().Add(5*time.Minute))
	if r := env.Do(t, "GET", "/api/webhooks", nil, "Authorization", "Bearer "+everywhere, "X-Aqio-Organization-Id", c.ID); r.Status != http.StatusOK {
		t.Errorf("support with *: %d %s", r.Status, r.Body)
	}
	// A user without the support role stays in their own organization.
	organizer := idp.AccessToken(oidc.User{Sub: "mia", Roles: []string{"organizer"}, Organizations: []string{c.ID},
		Extra: map[string]any{"support_organizations": "*"}}, time.Now().Add(5*time.Minute))
	if r := env.Do(t, "GET", "/api/webhooks", nil, "Authorization", "Bearer "+organizer, "X-Aqio-Organization-Id", a.ID); r.Status != http.StatusForbidden {
		t.Errorf("non-support user with the claim in another organization: %d %s", r.Status, r.Body)
	}
}

// Support staff sign in to the console: the organization picker offers
// the organizations they are granted (none is a membership), whoami says
// support with the support scopes only, which the pages show buttons by.
func TestConsoleSupportSignIn(t *testing.T) {
	env := testenv.Get(t)
	a, b, c := env.NewOrg(t), env.NewOrg(t), env.NewOrg(t)
	idp.SetAccessTTL(5 * time.Minute)
	idp.SetUser(oidc.User{Sub: "support-cleo", Roles: []string{"support"},
		Extra: map[string]any{"support_organizations": []string{a.ID, b.ID}}})
	br := newBrowser(t, env)
	br.login(t)
	status, s := br.session()
	if status != 200 || s.OrganizationID != a.ID || len(s.Organizations) != 2 || s.Organizations[0] != a.ID || s.Organizations[1] != b.ID {
		t.Fatalf("support session: %d %+v", status, s)
	}
	var me struct {
		Support bool     `json:"support"`
		Scopes  []string `json:"scopes"`
		UserID  string   `json:"user_id"`
	}
	p := br.do("GET", "/console/api/whoami", nil)
	if err := json.Unmarshal(p.body, &me); err != nil || p.status != 200 || !me.Support || me.UserID != "support-cleo" {
		t.Fatalf("whoami: %d %s", p.status, p.body)
	}
	want := []string{"integrations:all_users", "integrations:read", "integrations:rerun", "organizations:read", "webhooks:read", "webhooks:rerun"}
	if strings.Join(me.Scopes, ",") != strings.Join(want, ",") {
		t.Fatalf("support scopes %v, want %v", me.Scopes, want)
	}
	if p := br.do("PATCH", "/console/session", map[string]any{"organization_id": b.ID}, "X-CSRF-Token", s.CSRFToken); p.status != 200 {
		t.Fatalf("switch to the second granted organization: %d %s", p.status, p.body)
	}
	if p := br.do("GET", "/console/api/webhooks", nil); p.status != 200 {
		t.Fatalf("webhooks of the second granted organization: %d %s", p.status, p.body)
	}
	if p := br.do("PATCH", "/console/session", map[string]any{"organization_id": c.ID}, "X-CSRF-Token", s.CSRFToken); p.status != http.StatusForbidden {
		t.Fatalf("switch to an organization not granted: %d %s", p.status, p.body)
	}

	// Not support: whoami says so, and the claim adds nothing to the picker.
	idp.SetUser(oidc.User{Sub: "olaf", Roles: []string{"organizer"}, Organizations: []string{c.ID},
		Extra: map[string]any{"support_organizations": []string{a.ID}}})
	other := newBrowser(t, env)
	other.login(t)
	if _, s := other.session(); len(s.Organizations) != 1 || s.Organizations[0] != c.ID {
		t.Fatalf("organizer's session: %+v", s)
	}
	p = other.do("GET", "/console/api/whoami", nil)
	if p.status != 200 || !strings.Contains(string(p.body), `"support":false`) {
		t.Fatalf("organizer's whoami: %d %s", p.status, p.body)
	}
}
