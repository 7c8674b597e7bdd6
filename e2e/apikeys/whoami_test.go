package apikeys_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aqio/connect/apikeys"
	"github.com/aqio/connect/internal/testenv"
)

type whoami struct {
	OrganizationID  string   `json:"organization_id"`
	Auth            string   `json:"auth"`
	Scopes          []string `json:"scopes"`
	GrantableScopes []string `json:"grantable_scopes"`
	CredentialID    *string  `json:"credential_id"`
}

// TestWhoamiGrantableScopes: GET /api/whoami names the caller and the
// scopes it may grant, and those are exactly what key creation accepts
// (the console's scopes picker offers nothing more).
func TestWhoamiGrantableScopes(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	setPlan(t, org, "enterprise") // the free plan allows 5 requests a minute per key

	r := org.Do(t, "GET", "/api/whoami", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("whoami (service token): %d %s", r.Status, r.Body)
	}
	var svc whoami
	r.JSON(t, &svc)
	if svc.OrganizationID != org.ID || svc.Auth != "service_token" || svc.CredentialID != nil {
		t.Fatalf("service token: %s", r.Body)
	}
	for _, want := range []string{"*", "webhooks:*", "webhooks:read", "api_keys:write", "audit_log:read"} {
		if !slices.Contains(svc.GrantableScopes, want) {
			t.Fatalf("service token cannot grant %s: %v", want, svc.GrantableScopes)
		}
	}
	for _, never := range []string{"api_keys:verify", "organizations:write"} {
		if slices.Contains(svc.GrantableScopes, never) {
			t.Fatalf("service-level %s offered: %v", never, svc.GrantableScopes)
		}
		if !slices.Contains(svc.Scopes, never) {
			t.Fatalf("service token scopes lack %s: %v", never, svc.Scopes)
		}
	}

	// A key holding webhooks:* and api_keys:write.
	k := createKey(t, org, map[string]any{"name": "manager", "scopes": []string{"webhooks:*", "api_keys:write"}})
	r = withKey(t, env, "GET", "/api/whoami", k.Key, "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("whoami (key): %d %s", r.Status, r.Body)
	}
	var me whoami
	r.JSON(t, &me)
	if me.Auth != "api_key" || me.CredentialID == nil || *me.CredentialID != k.ID || me.OrganizationID != org.ID {
		t.Fatalf("key: %s", r.Body)
	}
	want := []string{"api_keys:write", "webhooks:*"}
	for _, s := range apikeys.CatalogNames() {
		if strings.HasPrefix(s, "webhooks:") {
			want = append(want, s)
		}
	}
	slices.Sort(want)
	if !slices.Equal(me.GrantableScopes, want) {
		t.Fatalf("grantable %v, want %v", me.GrantableScopes, want)
	}
	// Every offered scope is accepted for a new key; one more is refused.
	for _, s := range me.GrantableScopes {
		r = withKey(t, env, "POST", "/api/api-keys", k.Key, "", map[string]any{"name": "child " + s, "scopes": []string{s}})
		if r.Status != http.StatusCreated {
			t.Fatalf("grant offered %s: %d %s", s, r.Status, r.Body)
		}
	}
	r = withKey(t, env, "POST", "/api/api-keys", k.Key, "", map[string]any{"name": "too much", "scopes": []string{"audit_log:read"}})
	if r.Status != http.StatusForbidden {
		t.Fatalf("grant not offered: %d %s", r.Status, r.Body)
	}

	// Without a credential: 401.
	if r := env.Do(t, "GET", "/api/whoami", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("no credential: %d %s", r.Status, r.Body)
	}
}
