package apikeys_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testenv"
)

// serviceRole is the token role configured in AQIO_JWT_SERVICE_ROLES
// (TestMain): it carries the service-level scopes.
const serviceRole = "aqio-service"

// keyView is what GET /api/api-keys/{id} says about a key.
type keyView struct {
	ID           string   `json:"id"`
	Status       string   `json:"status"`
	Scopes       []string `json:"scopes"`
	AllowedIPs   []string `json:"allowed_ips"`
	ReplacedByID *string  `json:"replaced_by_id"`
	ExpiresAt    *string  `json:"expires_at"`
}

func getKey(t *testing.T, org *testenv.Org, id string) keyView {
	t.Helper()
	r := org.Do(t, "GET", "/api/api-keys/"+id, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("get key %s: %d %s", id, r.Status, r.Body)
	}
	var k keyView
	r.JSON(t, &k)
	return k
}

// unchanged fails unless the key is still active, not rotated, with the
// same scopes and allowed IPs as before.
func unchanged(t *testing.T, org *testenv.Org, before keyView) {
	t.Helper()
	after := getKey(t, org, before.ID)
	if after.Status != "active" || after.ReplacedByID != nil || after.ExpiresAt != nil ||
		strings.Join(after.Scopes, ",") != strings.Join(before.Scopes, ",") ||
		strings.Join(after.AllowedIPs, ",") != strings.Join(before.AllowedIPs, ",") {
		t.Fatalf("key changed by a refused call: before %+v after %+v", before, after)
	}
}

func auditCount(t *testing.T, org *testenv.Org, action, target string) int {
	t.Helper()
	r := org.Do(t, "GET", "/api/audit-log?action="+action+"&target_id="+target, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("audit: %d %s", r.Status, r.Body)
	}
	var out struct {
		Data []struct{} `json:"data"`
	}
	r.JSON(t, &out)
	return len(out.Data)
}

func TestRotateCannotEscalate(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	setPlan(t, org, "enterprise")
	exp := time.Now().Add(5 * time.Minute)
	as := func(tok, method, path string, body any) testenv.Response {
		return env.Do(t, method, path, body, "Authorization", "Bearer "+tok)
	}
	// Keys the service token mints: an all-powerful organization key, a
	// weak one, user-b's user key and user-m's user key holding more than a
	// member's role gives.
	star := createKey(t, org, map[string]any{"name": "root", "scopes": []string{"*"}})
	weak := createKey(t, org, map[string]any{"name": "weak", "scopes": []string{"webhooks:read"}})
	userB := func() key {
		r := org.Do(t, "POST", "/api/api-keys", map[string]any{"owner": "user", "name": "b's", "scopes": []string{"webhooks:read", "integrations:read"}},
			"X-Aqio-User-Id", "user-b")
		if r.Status != http.StatusCreated {
			t.Fatalf("user key: %d %s", r.Status, r.Body)
		}
		var k key
		r.JSON(t, &k)
		return k
	}
	bKey := userB()
	r := org.Do(t, "POST", "/api/api-keys", map[string]any{"owner": "user", "name": "m's strong", "scopes": []string{"webhooks:write"}},
		"X-Aqio-User-Id", "user-m")
	if r.Status != http.StatusCreated {
		t.Fatalf("member's strong key: %d %s", r.Status, r.Body)
	}
	var mStrong key
	r.JSON(t, &mStrong)
	r = org.Do(t, "POST", "/api/api-keys", map[string]any{"owner": "user", "name": "m's", "scopes": []string{"webhooks:read"}},
		"X-Aqio-User-Id", "user-m")
	var mWeak key
	r.JSON(t, &mWeak)

	keyAdmin := createKey(t, org, map[string]any{"name": "key-admin", "scopes": []string{"api_keys:write", "webhooks:read", "integrations:read"}})
	member := userToken(t, "user-m", []string{"offline_access"}, []string{org.ID}, exp)
	organizer := userToken(t, "user-o", []string{"organizer"}, []string{org.ID}, exp)
	admin := userToken(t, "user-a", []string{"admin"}, []string{org.ID}, exp)

	refused := []struct {
		name   string
		call   func() testenv.Response
		target key
		status int
		code   string
	}{
		{"api key rotates a stronger key", func() testenv.Response {
			return withKey(t, env, "POST", "/api/api-keys/"+star.ID+"/rotate", keyAdmin.Key, "", map[string]any{"grace_seconds": 0})
		}, star, 403, "scope_exceeds_caller"},
		{"api key patches a stronger key", func() testenv.Response {
			return withKey(t, env, "PATCH", "/api/api-keys/"+star.ID, keyAdmin.Key, "", map[string]any{"allowed_ips": []string{"0.0.0.0/0"}})
		}, star, 403, "scope_exceeds_caller"},
		{"api key rotates another user's key without integrations:all_users", func() testenv.Response {
			return withKey(t, env, "POST", "/api/api-keys/"+bKey.ID+"/rotate", keyAdmin.Key, "", map[string]any{})
		}, bKey, 403, "insufficient_scope"},
		{"organizer rotates a stronger key", func() testenv.Response {
			return as(organizer, "POST", "/api/api-keys/"+star.ID+"/rotate", map[string]any{})
		}, star, 403, "scope_exceeds_caller"},
		{"member rotates another user's key", func() testenv.Response {
			return as(member, "POST", "/api/api-keys/"+bKey.ID+"/rotate", map[string]any{})
		}, bKey, 404, "not_found"},
		{"member revokes another user's key", func() testenv.Response {
			return as(member, "POST", "/api/api-keys/"+bKey.ID+"/revoke", nil)
		}, bKey, 404, "not_found"},
		{"member deletes another user's key", func() testenv.Response {
			return as(member, "DELETE", "/api/api-keys/"+bKey.ID, nil)
		}, bKey, 404, "not_found"},
		{"member reads another user's key", func() testenv.Response {
			return as(member, "GET", "/api/api-keys/"+bKey.ID, nil)
		}, bKey, 404, "not_found"},
		{"member rotates its own key holding more than its role", func() testenv.Response {
			return as(member, "POST", "/api/api-keys/"+mStrong.ID+"/rotate", map[string]any{})
		}, mStrong, 403, "scope_exceeds_caller"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before := getKey(t, org, tc.target.ID)
			r := tc.call()
			if r.Status != tc.status || errCode(t, r) != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
			if strings.Contains(string(r.Body), `"key":"ak_`) {
				t.Fatalf("a refused call returned a secret: %s", r.Body)
			}
			unchanged(t, org, before)
			if n := auditCount(t, org, "api_key.rotated", tc.target.ID); n != 0 {
				t.Fatalf("%d rotations audited", n)
			}
			// The target still works as before.
			if v := verify(t, env, map[string]any{"key": tc.target.Key}); !v.Valid {
				t.Fatalf("target after refusal: %+v", v)
			}
		})
	}

	// Allowed: rotating what the caller could have created.
	allowed := []struct {
		name   string
		call   func(id string) testenv.Response
		target key
	}{
		{"api key rotates a weaker organization key", func(id string) testenv.Response {
			return withKey(t, env, "POST", "/api/api-keys/"+id+"/rotate", keyAdmin.Key, "", map[string]any{})
		}, weak},
		{"member rotates its own key", func(id string) testenv.Response {
			return as(member, "POST", "/api/api-keys/"+id+"/rotate", map[string]any{})
		}, mWeak},
		{"organizer (org-wide) rotates another user's key", func(id string) testenv.Response {
			return as(organizer, "POST", "/api/api-keys/"+id+"/rotate", map[string]any{})
		}, bKey},
		{"admin rotates the * key", func(id string) testenv.Response {
			return as(admin, "POST", "/api/api-keys/"+id+"/rotate", map[string]any{})
		}, star},
		{"service token rotates another user's key", func(id string) testenv.Response {
			return org.Do(t, "POST", "/api/api-keys/"+id+"/rotate", map[string]any{})
		}, userB()},
	}
	for _, tc := range allowed {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.call(tc.target.ID)
			if r.Status != http.StatusCreated {
				t.Fatalf("rotate: %d %s", r.Status, r.Body)
			}
			var next key
			r.JSON(t, &next)
			if strings.Join(next.Scopes, ",") != strings.Join(tc.target.Scopes, ",") || next.Key == "" {
				t.Fatalf("replacement %+v of %+v", next, tc.target)
			}
		})
	}
}

func TestServiceLevelScopes(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	other := env.NewOrg(t)
	setPlan(t, org, "pro")
	foreign := createKey(t, other, map[string]any{"name": "theirs", "scopes": []string{"events:read"}})
	star := createKey(t, org, map[string]any{"name": "root", "scopes": []string{"*"}})
	keysStar := createKey(t, org, map[string]any{"name": "keys", "scopes": []string{"api_keys:*"}})
	orgsStar := createKey(t, org, map[string]any{"name": "orgs", "scopes": []string{"organizations:*"}})
	exp := time.Now().Add(5 * time.Minute)
	admin := userToken(t, "user-a", []string{"admin"}, []string{org.ID}, exp)
	service := userToken(t, "svc", []string{serviceRole}, []string{org.ID}, exp)
	as := func(tok, method, path string, body any) testenv.Response {
		return env.Do(t, method, path, body, "Authorization", "Bearer "+tok)
	}
	verifyBody := map[string]any{"key": foreign.Key}
	planBody := map[string]any{"name": "Test", "plan": "enterprise"}

	// A key stored with a service scope before they were refused (written
	// directly, as an old row would be) does not act with it.
	legacy := createKey(t, org, map[string]any{"name": "legacy", "scopes": []string{"webhooks:read"}})
	if err := env.App.Store.DB().WithContext(context.Background()).
		Exec("UPDATE api_keys SET scopes = ? WHERE id = ?", `["api_keys:verify","organizations:write","webhooks:read"]`, legacy.ID).Error; err != nil {
		t.Fatal(err)
	}

	refused := []struct {
		name string
		call func() testenv.Response
	}{
		{"* key verifies", func() testenv.Response {
			return withKey(t, env, "POST", "/api/api-keys/verify", star.Key, "", verifyBody)
		}},
		{"api_keys:* key verifies", func() testenv.Response {
			return withKey(t, env, "POST", "/api/api-keys/verify", keysStar.Key, "", verifyBody)
		}},
		{"legacy key verifies", func() testenv.Response {
			return withKey(t, env, "POST", "/api/api-keys/verify", legacy.Key, "", verifyBody)
		}},
		{"admin verifies", func() testenv.Response { return as(admin, "POST", "/api/api-keys/verify", verifyBody) }},
		{"* key sets its plan", func() testenv.Response {
			return withKey(t, env, "PUT", "/api/organizations/"+org.ID, star.Key, "", planBody)
		}},
		{"organizations:* key sets its plan", func() testenv.Response {
			return withKey(t, env, "PUT", "/api/organizations/"+org.ID, orgsStar.Key, "", planBody)
		}},
		{"legacy key sets its plan", func() testenv.Response {
			return withKey(t, env, "PUT", "/api/organizations/"+org.ID, legacy.Key, "", planBody)
		}},
		{"admin sets its plan", func() testenv.Response { return as(admin, "PUT", "/api/organizations/"+org.ID, planBody) }},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.call()
			if r.Status != http.StatusForbidden || errCode(t, r) != "insufficient_scope" {
				t.Fatalf("got %d %s", r.Status, r.Body)
			}
			if plan := org.Do(t, "GET", "/api/organizations/"+org.ID, nil).Map(t)["plan"]; plan != "pro" {
				t.Fatalf("plan is %v", plan)
			}
		})
	}

	// No key can be given a service scope, whoever asks.
	for _, s := range []string{"api_keys:verify", "organizations:write"} {
		r := org.Do(t, "POST", "/api/api-keys", map[string]any{"name": "svc", "scopes": []string{"webhooks:read", s}})
		var e struct {
			Error struct{ Code, Field, Message string } `json:"error"`
		}
		r.JSON(t, &e)
		if r.Status != http.StatusUnprocessableEntity || e.Error.Field != "scopes" || !strings.Contains(e.Error.Message, s) {
			t.Fatalf("grant %s: %d %s", s, r.Status, r.Body)
		}
		r = org.Do(t, "PATCH", "/api/api-keys/"+star.ID, map[string]any{"scopes": []string{s}})
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("patch to %s: %d %s", s, r.Status, r.Body)
		}
	}
	if k := getKey(t, org, legacy.ID); strings.Join(k.Scopes, ",") != "webhooks:read" {
		t.Fatalf("legacy key shows scopes %v", k.Scopes)
	}

	// The service token and a configured service role hold them.
	if v := verify(t, env, verifyBody); !v.Valid || *v.OrgID != other.ID {
		t.Fatalf("service token verify: %+v", v)
	}
	if r := as(service, "POST", "/api/api-keys/verify", verifyBody); r.Status != http.StatusOK {
		t.Fatalf("service role verify: %d %s", r.Status, r.Body)
	}
	r := as(service, "PUT", "/api/organizations/"+org.ID, planBody)
	if r.Status != http.StatusOK || r.Map(t)["plan"] != "enterprise" {
		t.Fatalf("service role sets plan: %d %s", r.Status, r.Body)
	}
	// Verify reports a legacy key's effective scopes.
	if v := verify(t, env, map[string]any{"key": legacy.Key, "required_scopes": []string{"api_keys:verify"}}); v.Valid ||
		strings.Join(v.Scopes, ",") != "webhooks:read" {
		t.Fatalf("legacy key verification: %+v", v)
	}
}
