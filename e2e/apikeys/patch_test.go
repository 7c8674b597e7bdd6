package apikeys_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testenv"
)

// PATCH /api/api-keys/{id} changes name, IP ranges and expiry: a new
// expiry applies at once, a past one or one of a rotated key is refused
// at the field, scopes never beyond the caller, and each change is audited.
func TestPatchKeyNameIPsExpiry(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	k := createKey(t, org, map[string]any{"name": "before", "scopes": []string{"webhooks:read"}})

	soon := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	r := org.Do(t, "PATCH", "/api/api-keys/"+k.ID, map[string]any{"name": "after", "allowed_ips": []string{"127.0.0.1/32"},
		"expires_at": soon.Format(time.RFC3339)})
	var got struct {
		Name       string    `json:"name"`
		AllowedIPs []string  `json:"allowed_ips"`
		ExpiresAt  time.Time `json:"expires_at"`
	}
	r.JSON(t, &got)
	if r.Status != http.StatusOK || got.Name != "after" || strings.Join(got.AllowedIPs, ",") != "127.0.0.1/32" || !got.ExpiresAt.Equal(soon) {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	if r := withKey(t, env, "GET", "/api/webhooks", k.Key, "127.0.0.1", nil); r.Status != http.StatusOK {
		t.Fatalf("the key after the patch: %d %s", r.Status, r.Body)
	}

	// Refused at the field, nothing changed.
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"past expiry", map[string]any{"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"},
		{"not a time", map[string]any{"expires_at": "next week"}, "expires_at"},
		{"bad range", map[string]any{"allowed_ips": []string{"10.0.0.0/33"}}, "allowed_ips[0]"},
		{"blank name", map[string]any{"name": " "}, "name"},
	} {
		r := org.Do(t, "PATCH", "/api/api-keys/"+k.ID, tc.body)
		var e struct {
			Error struct{ Field string } `json:"error"`
		}
		r.JSON(t, &e)
		if r.Status != http.StatusUnprocessableEntity || e.Error.Field != tc.field {
			t.Errorf("%s: %d %s, want 422 naming %s", tc.name, r.Status, r.Body, tc.field)
		}
	}
	r = org.Do(t, "GET", "/api/api-keys/"+k.ID, nil)
	r.JSON(t, &got)
	if got.Name != "after" || !got.ExpiresAt.Equal(soon) {
		t.Fatalf("after refused patches: %s", r.Body)
	}

	// No stronger than the caller: a key holding api_keys:write and
	// webhooks:read may not give another key webhooks:write.
	mgr := createKey(t, org, map[string]any{"name": "manager", "scopes": []string{"api_keys:write", "webhooks:read"}})
	if r := withKey(t, env, "PATCH", "/api/api-keys/"+k.ID, mgr.Key, "", map[string]any{"scopes": []string{"webhooks:write"}}); r.Status != http.StatusForbidden {
		t.Fatalf("scope beyond the caller: %d %s", r.Status, r.Body)
	}
	if r := withKey(t, env, "PATCH", "/api/api-keys/"+k.ID, mgr.Key, "", map[string]any{"name": "renamed by the manager"}); r.Status != http.StatusOK {
		t.Fatalf("rename by the manager: %d %s", r.Status, r.Body)
	}

	// A rotated key's expiry is the end of its grace period.
	if r := org.Do(t, "POST", "/api/api-keys/"+k.ID+"/rotate", map[string]any{"grace_seconds": 600}); r.Status != http.StatusCreated {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	later := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	if r := org.Do(t, "PATCH", "/api/api-keys/"+k.ID, map[string]any{"expires_at": later}); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(string(r.Body), `"field":"expires_at"`) {
		t.Fatalf("extend a rotated key: %d %s", r.Status, r.Body)
	}

	// Audited with the fields changed.
	r = org.Do(t, "GET", "/api/audit-log?action=api_key.updated&target_id="+k.ID, nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "expires_at") || !strings.Contains(string(r.Body), "allowed_ips") {
		t.Fatalf("audit: %d %s", r.Status, r.Body)
	}
}
