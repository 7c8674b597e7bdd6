package integrations_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aqio/connect/internal/testenv"
)

// apiKey mints a key with the service token; user "" makes an
// organization key, otherwise a user key of that user.
func apiKey(t *testing.T, org *testenv.Org, user string, scopes ...string) string {
	t.Helper()
	body := map[string]any{"name": "k", "scopes": scopes}
	var hdr []string
	if user != "" {
		body["owner"] = "user"
		hdr = []string{"X-Aqio-User-Id", user}
	}
	r := org.Do(t, "POST", "/api/api-keys", body, hdr...)
	if r.Status != http.StatusCreated {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	return r.Map(t)["key"].(string)
}

func listIDs(t *testing.T, env *testenv.Env, key string) string {
	t.Helper()
	r := env.Do(t, "GET", "/api/integrations", nil, "Authorization", "Bearer "+key)
	if r.Status != http.StatusOK {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	var out struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	r.JSON(t, &out)
	var ids []string
	for _, in := range out.Data {
		ids = append(ids, in.ID)
	}
	return strings.Join(ids, ",")
}

// TestUserIntegrationsFollowTheOwnerRule: a user's integration is its
// owner's; another user of the organization gets 404 on every operation
// and does not see it listed, unless it holds integrations:all_users.
func TestUserIntegrationsFollowTheOwnerRule(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	settings := map[string]any{"calendar_id": "owner@aqio.test", "create_meet_links": false}
	private := connect(t, org, "google_calendar", settings, "user_1")
	shared := connect(t, org, "google_calendar", map[string]any{"calendar_id": "team@aqio.test", "create_meet_links": false}, "")

	rw := []string{"integrations:read", "integrations:write"}
	owner := apiKey(t, org, "user_1", rw...)
	otherUser := apiKey(t, org, "user_2", rw...)
	orgKey := apiKey(t, org, "", rw...)
	orgWide := apiKey(t, org, "", append(rw, "integrations:all_users")...)
	as := func(key, method, path string, body any) testenv.Response {
		return env.Do(t, method, path, body, "Authorization", "Bearer "+key)
	}

	// Another user (and an organization key without the org-wide scope):
	// 404 everywhere, nothing changes, nothing starts.
	base := "/api/integrations/" + private
	calls := []struct {
		method, path string
		body         any
	}{
		{"GET", base, nil},
		{"PATCH", base, map[string]any{"name": "taken over"}},
		{"POST", base + "/sync", map[string]any{"sync_type": "full"}},
		{"GET", base + "/syncs", nil},
		{"GET", base + "/links", nil},
		{"POST", base + "/refresh", nil},
		{"DELETE", base, nil},
	}
	for _, who := range []struct{ name, key string }{{"another user", otherUser}, {"organization key", orgKey}} {
		for _, c := range calls {
			t.Run(who.name+" "+c.method+" "+strings.TrimPrefix(c.path, base), func(t *testing.T) {
				r := as(who.key, c.method, c.path, c.body)
				if r.Status != http.StatusNotFound {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
			})
		}
	}
	got := integration(t, org, private)
	if got["name"] != "google_calendar test" || got["status"] != "active" {
		t.Fatalf("integration changed by refused calls: %v", got)
	}
	if n := len(org.Do(t, "GET", base+"/syncs", nil).Map(t)["data"].([]any)); n != 0 {
		t.Fatalf("%d syncs started by refused calls", n)
	}

	// Listing hides another user's integration; the shared one stays visible.
	if ids := listIDs(t, env, otherUser); ids != shared {
		t.Fatalf("another user lists %q, want %q", ids, shared)
	}
	if ids := listIDs(t, env, orgKey); ids != shared {
		t.Fatalf("organization key lists %q, want %q", ids, shared)
	}
	if r := as(otherUser, "GET", "/api/integrations/"+shared, nil); r.Status != http.StatusOK {
		t.Fatalf("another user reads the organization's integration: %d %s", r.Status, r.Body)
	}

	// The owner reads, changes and syncs it.
	if ids := listIDs(t, env, owner); ids != private+","+shared && ids != shared+","+private {
		t.Fatalf("owner lists %q", ids)
	}
	if r := as(owner, "PATCH", base, map[string]any{"name": "mine"}); r.Status != http.StatusOK || r.Map(t)["name"] != "mine" {
		t.Fatalf("owner patch: %d %s", r.Status, r.Body)
	}
	r := as(owner, "POST", base+"/sync", map[string]any{"sync_type": "full"})
	if r.Status != http.StatusAccepted {
		t.Fatalf("owner sync: %d %s", r.Status, r.Body)
	}
	syncID := r.Map(t)["id"].(string)
	syncRun(t, org, private, syncID)
	if r := as(owner, "GET", base+"/syncs/"+syncID, nil); r.Status != http.StatusOK {
		t.Fatalf("owner reads its sync: %d %s", r.Status, r.Body)
	}
	if r := as(otherUser, "GET", base+"/syncs/"+syncID, nil); r.Status != http.StatusNotFound {
		t.Fatalf("another user reads the sync: %d %s", r.Status, r.Body)
	}
	if r := as(otherUser, "POST", base+"/syncs/"+syncID+"/retry", nil); r.Status != http.StatusNotFound {
		t.Fatalf("another user retries the sync: %d %s", r.Status, r.Body)
	}

	// An org-wide caller reaches every user's integration: reads, lists, deletes.
	if r := as(orgWide, "GET", base, nil); r.Status != http.StatusOK || r.Map(t)["user_id"] != "user_1" {
		t.Fatalf("org-wide read: %d %s", r.Status, r.Body)
	}
	if ids := listIDs(t, env, orgWide); !strings.Contains(ids, private) || !strings.Contains(ids, shared) {
		t.Fatalf("org-wide lists %q", ids)
	}
	if r := as(orgWide, "DELETE", base, nil); r.Status != http.StatusNoContent {
		t.Fatalf("org-wide delete: %d %s", r.Status, r.Body)
	}
	if r := org.Do(t, "GET", base, nil); r.Status != http.StatusNotFound {
		t.Fatalf("after delete: %d", r.Status)
	}
}
