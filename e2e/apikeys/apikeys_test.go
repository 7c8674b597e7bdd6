package apikeys_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aqio/connect/app"
	"github.com/aqio/connect/internal/testenv"
)

// secondInstance starts another API instance on the same database, as a
// second replica behind a load balancer would be.
func secondInstance(t *testing.T, env *testenv.Env) *testenv.Env {
	t.Helper()
	cfg := env.App.Config
	cfg.HTTPAddr = "127.0.0.1:0"
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	addr, err := a.ServeAPI()
	if err != nil {
		t.Fatal(err)
	}
	other := *env
	other.App, other.BaseURL = a, "http://"+addr
	return &other
}

func TestKeyLifecycle(t *testing.T) {
	env := testenv.Get(t)
	env2 := secondInstance(t, env)
	org := env.NewOrg(t)
	setPlan(t, org, "enterprise")

	k := createKey(t, org, map[string]any{"name": "CI", "scopes": []string{"webhooks:read"}, "description": "deploys"})
	if !strings.HasPrefix(k.Key, "ak_") || len(k.Key) != 33 || !strings.HasPrefix(k.Key, k.Prefix) || k.Status != "active" {
		t.Fatalf("created %+v", k)
	}

	// Use: allowed with rate-limit headers; a scope it lacks is refused.
	r := withKey(t, env, "GET", "/api/webhooks", k.Key, "", nil)
	if r.Status != 200 {
		t.Fatalf("use key: %d %s", r.Status, r.Body)
	}
	for _, h := range []string{"RateLimit-Policy", "RateLimit", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		if r.Header.Get(h) == "" {
			t.Errorf("missing %s header", h)
		}
	}
	if got := r.Header.Get("RateLimit-Policy"); got != `"minute";q=100000;w=60, "hour";q=1000000;w=3600` {
		t.Errorf("RateLimit-Policy %q", got)
	}
	r = withKey(t, env, "POST", "/api/webhooks", k.Key, "", map[string]any{"name": "x", "url": "https://example.com/h", "events": []string{"*"}})
	if r.Status != 403 || errCode(t, r) != "insufficient_scope" {
		t.Fatalf("write with read key: %d %s", r.Status, r.Body)
	}

	// The listing never shows the secret.
	r = org.Do(t, "GET", "/api/api-keys", nil)
	if r.Status != 200 || strings.Contains(string(r.Body), k.Key) || !strings.Contains(string(r.Body), k.ID) {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}

	// Rotate with a grace period: both keys work during it.
	r = org.Do(t, "POST", "/api/api-keys/"+k.ID+"/rotate", map[string]any{"grace_seconds": 1})
	if r.Status != 201 {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	var next key
	r.JSON(t, &next)
	if next.ID == k.ID || next.Key == k.Key || strings.Join(next.Scopes, ",") != "webhooks:read" {
		t.Fatalf("replacement %+v", next)
	}
	if r := withKey(t, env, "GET", "/api/webhooks", next.Key, "", nil); r.Status != 200 {
		t.Fatalf("new key: %d %s", r.Status, r.Body)
	}
	// Rotating the old key again is refused.
	if r := org.Do(t, "POST", "/api/api-keys/"+k.ID+"/rotate", map[string]any{}); r.Status != 409 {
		t.Fatalf("second rotation: %d %s", r.Status, r.Body)
	}
	// After the grace the old key stops, with its own code.
	testenv.Eventually(t, 10*time.Second, "old key to stop after grace", func() bool {
		return withKey(t, env, "GET", "/api/webhooks", k.Key, "", nil).Status == 401
	})
	r = withKey(t, env2, "GET", "/api/webhooks", k.Key, "", nil)
	if r.Status != 401 || errCode(t, r) != "api_key_rotated" {
		t.Fatalf("old key after grace: %d %s", r.Status, r.Body)
	}

	// Revoke: refused on the very next request, on both instances.
	if r := withKey(t, env2, "GET", "/api/webhooks", next.Key, "", nil); r.Status != 200 {
		t.Fatalf("second instance before revoke: %d %s", r.Status, r.Body)
	}
	if r := org.Do(t, "POST", "/api/api-keys/"+next.ID+"/revoke", nil); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	for i, e := range []*testenv.Env{env, env2} {
		r := withKey(t, e, "GET", "/api/webhooks", next.Key, "", nil)
		if r.Status != 401 || errCode(t, r) != "api_key_revoked" {
			t.Fatalf("instance %d after revoke: %d %s", i+1, r.Status, r.Body)
		}
	}

	// Delete: the key is gone.
	if r := org.Do(t, "DELETE", "/api/api-keys/"+next.ID, nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := withKey(t, env, "GET", "/api/webhooks", next.Key, "", nil); r.Status != 401 || errCode(t, r) != "invalid_api_key" {
		t.Fatalf("deleted key: %d %s", r.Status, r.Body)
	}
	if r := org.Do(t, "GET", "/api/api-keys/"+next.ID, nil); r.Status != 404 {
		t.Fatalf("get deleted: %d", r.Status)
	}

	// The audit log has the story, newest first, paginated.
	var actions []string
	cursor := ""
	for page := 0; page < 10; page++ {
		r := org.Do(t, "GET", "/api/audit-log?limit=2&cursor="+cursor, nil)
		if r.Status != 200 {
			t.Fatalf("audit: %d %s", r.Status, r.Body)
		}
		var out struct {
			Data []struct {
				Action  string `json:"action"`
				Outcome string `json:"outcome"`
			} `json:"data"`
			Next *string `json:"next_cursor"`
		}
		r.JSON(t, &out)
		for _, e := range out.Data {
			if e.Outcome == "success" {
				actions = append(actions, e.Action)
			}
		}
		if out.Next == nil {
			break
		}
		cursor = *out.Next
	}
	want := "api_key.deleted,api_key.revoked,api_key.rotated,api_key.created"
	if got := strings.Join(actions, ","); got != want {
		t.Fatalf("audit actions %s, want %s", got, want)
	}
	r = org.Do(t, "GET", "/api/audit-log?action=api_key.rotated", nil)
	if !strings.Contains(string(r.Body), `"target_id":"`+k.ID+`"`) || !strings.Contains(string(r.Body), `"replaced_by":"`+next.ID+`"`) {
		t.Fatalf("filtered audit: %s", r.Body)
	}
}

func TestRateLimitAndUsage(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t) // free plan: 5 per minute in this test environment
	k := createKey(t, org, map[string]any{"name": "busy", "scopes": []string{"webhooks:*"}})

	admitted, refused := 0, 0
	var last testenv.Response
	for i := 0; i < 8; i++ {
		r := withKey(t, env, "GET", "/api/webhooks", k.Key, "", nil)
		switch r.Status {
		case 200:
			admitted++
		case 429:
			refused++
			last = r
		default:
			t.Fatalf("unexpected %d %s", r.Status, r.Body)
		}
	}
	// The fixed minute window may roll over during the loop; never more
	// than 5 are admitted per window.
	if admitted < 5 || admitted > 8 || (refused == 0 && admitted != 8) {
		t.Fatalf("admitted %d refused %d", admitted, refused)
	}
	if refused > 0 {
		var e struct {
			Error struct{ Code, Policy, Message string } `json:"error"`
		}
		last.JSON(t, &e)
		if e.Error.Code != "rate_limited" || e.Error.Policy != "minute" || !strings.Contains(e.Error.Message, "free plan") {
			t.Fatalf("429 body %s", last.Body)
		}
		ra, err := strconv.Atoi(last.Header.Get("Retry-After"))
		if err != nil || ra < 1 || ra > 60 {
			t.Fatalf("Retry-After %q", last.Header.Get("Retry-After"))
		}
		if last.Header.Get("X-RateLimit-Remaining") != "0" || !strings.Contains(last.Header.Get("RateLimit"), `"minute";r=0;`) {
			t.Fatalf("429 headers %v", last.Header)
		}
	}

	// Usage: the per-minute buckets and the key's counters catch up.
	var usage struct {
		Totals     struct{ Allowed, Denied int }   `json:"totals"`
		UsageCount int                             `json:"usage_count"`
		Data       []struct{ Allowed, Denied int } `json:"data"`
	}
	testenv.Eventually(t, 10*time.Second, "usage to be written", func() bool {
		r := org.Do(t, "GET", "/api/api-keys/"+k.ID+"/usage?granularity=minute", nil)
		if r.Status != 200 {
			t.Fatalf("usage: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &usage)
		return usage.Totals.Allowed == admitted && usage.Totals.Denied == refused && usage.UsageCount == admitted
	})
	r := org.Do(t, "GET", "/api/usage", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), fmt.Sprintf(`{"allowed":%d,"api_key_id":"%s","denied":%d}`, admitted, k.ID, refused)) &&
		!strings.Contains(string(r.Body), fmt.Sprintf(`{"api_key_id":"%s","allowed":%d,"denied":%d}`, k.ID, admitted, refused)) {
		t.Fatalf("org usage: %d %s", r.Status, r.Body)
	}
	r = org.Do(t, "GET", "/api/api-keys/"+k.ID+"/usage?granularity=day", nil)
	if r.Status != 200 {
		t.Fatalf("daily usage: %d %s", r.Status, r.Body)
	}
}

func TestAllowedIPs(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	setPlan(t, org, "enterprise")
	k := createKey(t, org, map[string]any{"name": "office", "scopes": []string{"webhooks:read"},
		"allowed_ips": []string{"203.0.113.0/24", "2001:db8::/32"}})
	cases := []struct {
		ip   string
		want int
	}{
		{"203.0.113.77", 200}, {"203.0.114.1", 403}, {"2001:db8:5::1", 200}, {"2001:db9::1", 403},
		{"198.51.100.1, 203.0.113.5", 200}, // the rightmost untrusted hop is the client
		{"203.0.113.5, 198.51.100.1", 403}, // a client cannot spoof its way in from the left
	}
	for _, tc := range cases {
		t.Run(tc.ip, func(t *testing.T) {
			r := withKey(t, env, "GET", "/api/webhooks", k.Key, tc.ip, nil)
			if r.Status != tc.want {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if tc.want == 403 && errCode(t, r) != "ip_not_allowed" {
				t.Fatalf("code %s", r.Body)
			}
		})
	}
	// Narrowing the ranges takes effect at once.
	if r := org.Do(t, "PATCH", "/api/api-keys/"+k.ID, map[string]any{"allowed_ips": []string{"2001:db8::/32"}}); r.Status != 200 {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	if r := withKey(t, env, "GET", "/api/webhooks", k.Key, "203.0.113.77", nil); r.Status != 403 {
		t.Fatalf("after narrowing: %d", r.Status)
	}
}

type verification struct {
	Valid     bool     `json:"valid"`
	Reason    *string  `json:"reason"`
	KeyID     *string  `json:"key_id"`
	OrgID     *string  `json:"organization_id"`
	Scopes    []string `json:"scopes"`
	RateLimit *struct {
		Policy           string
		Limit, Remaining int
	} `json:"rate_limit"`
}

func verify(t *testing.T, env *testenv.Env, body map[string]any) verification {
	t.Helper()
	// The Aqio backend verifies without naming an organization.
	r := env.Do(t, "POST", "/api/api-keys/verify", body, "Authorization", "Bearer "+env.Token)
	if r.Status != 200 {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	var v verification
	r.JSON(t, &v)
	return v
}

func TestVerifyEndpoint(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	setPlan(t, org, "pro")
	k := createKey(t, org, map[string]any{"name": "partner", "scopes": []string{"events:read", "registrations:*"},
		"allowed_ips": []string{"192.0.2.0/24"}})

	v := verify(t, env, map[string]any{"key": k.Key, "required_scopes": []string{"registrations:write"}, "ip": "192.0.2.10"})
	if !v.Valid || v.Reason != nil || *v.KeyID != k.ID || *v.OrgID != org.ID || v.RateLimit == nil || v.RateLimit.Limit != 300 {
		t.Fatalf("valid: %+v", v)
	}
	reason := func(body map[string]any) string {
		v := verify(t, env, body)
		if v.Valid || v.Reason == nil {
			t.Fatalf("%v: valid", body)
		}
		return *v.Reason
	}
	forged := k.Key[:10] + strings.Repeat("A", 17) + k.Key[27:]
	cases := []struct {
		name string
		body map[string]any
		want string
	}{
		{"wrong scope", map[string]any{"key": k.Key, "required_scopes": []string{"events:write"}, "ip": "192.0.2.10"}, "insufficient_scope"},
		{"wrong ip", map[string]any{"key": k.Key, "ip": "192.0.3.10"}, "ip_not_allowed"},
		{"no ip for an ip-restricted key", map[string]any{"key": k.Key}, "ip_not_allowed"},
		{"bad checksum", map[string]any{"key": forged}, "malformed_api_key"},
		{"not a key", map[string]any{"key": "hello"}, "malformed_api_key"},
	}
	unknown := createKey(t, org, map[string]any{"name": "tmp", "scopes": []string{"events:read"}})
	if r := org.Do(t, "DELETE", "/api/api-keys/"+unknown.ID, nil); r.Status != 204 {
		t.Fatal(r.Status)
	}
	cases = append(cases, struct {
		name string
		body map[string]any
		want string
	}{"well-formed but unknown", map[string]any{"key": unknown.Key}, "invalid_api_key"})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := reason(tc.body); got != tc.want {
				t.Fatalf("reason %s, want %s", got, tc.want)
			}
		})
	}

	// Expiry: a key that expires shortly is refused afterwards with its own code.
	exp := createKey(t, org, map[string]any{"name": "short", "scopes": []string{"events:read"},
		"expires_at": time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339)})
	testenv.Eventually(t, 10*time.Second, "key to expire", func() bool {
		return !verify(t, env, map[string]any{"key": exp.Key}).Valid
	})
	if got := reason(map[string]any{"key": exp.Key}); got != "api_key_expired" {
		t.Fatalf("expired: %s", got)
	}

	// Failed verifications are audited, sampled.
	r := org.Do(t, "GET", "/api/audit-log?action=api_key.verification_failed&outcome=failure", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"reason":"ip_not_allowed"`) {
		t.Fatalf("audit of failures: %d %s", r.Status, r.Body)
	}
}

func TestFailedVerificationAuditIsSampled(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	k := createKey(t, org, map[string]any{"name": "doomed", "scopes": []string{"events:read"}})
	if r := org.Do(t, "POST", "/api/api-keys/"+k.ID+"/revoke", nil); r.Status != 200 {
		t.Fatal(r.Status)
	}
	for i := 0; i < 40; i++ {
		if r := withKey(t, env, "GET", "/api/webhooks", k.Key, "", nil); r.Status != 401 {
			t.Fatalf("%d", r.Status)
		}
	}
	r := org.Do(t, "GET", "/api/audit-log?action=api_key.verification_failed&limit=200", nil)
	var out struct {
		Data []json.RawMessage `json:"data"`
	}
	r.JSON(t, &out)
	// At most 10 per key per minute (the 40 calls may straddle two minutes).
	if len(out.Data) < 1 || len(out.Data) > 20 {
		t.Fatalf("%d audit entries for 40 failures", len(out.Data))
	}
}

func TestScopesCannotEscalate(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	setPlan(t, org, "enterprise")
	admin := createKey(t, org, map[string]any{"name": "key-admin", "scopes": []string{"api_keys:write", "webhooks:read"}})
	r := withKey(t, env, "POST", "/api/api-keys", admin.Key, "", map[string]any{"name": "child", "scopes": []string{"webhooks:write"}})
	if r.Status != 403 || errCode(t, r) != "scope_exceeds_caller" {
		t.Fatalf("escalation: %d %s", r.Status, r.Body)
	}
	r = withKey(t, env, "POST", "/api/api-keys", admin.Key, "", map[string]any{"name": "child", "scopes": []string{"webhooks:*"}})
	if r.Status != 403 {
		t.Fatalf("wildcard escalation: %d %s", r.Status, r.Body)
	}
	r = withKey(t, env, "POST", "/api/api-keys", admin.Key, "", map[string]any{"name": "child", "scopes": []string{"webhooks:read"}})
	if r.Status != 201 {
		t.Fatalf("subset: %d %s", r.Status, r.Body)
	}
	var child key
	r.JSON(t, &child)
	// Nor by PATCH.
	r = withKey(t, env, "PATCH", "/api/api-keys/"+child.ID, admin.Key, "", map[string]any{"scopes": []string{"*"}})
	if r.Status != 403 {
		t.Fatalf("patch escalation: %d %s", r.Status, r.Body)
	}
	// A key without api_keys:read cannot list keys.
	if r := withKey(t, env, "GET", "/api/audit-log", admin.Key, "", nil); r.Status != 403 {
		t.Fatalf("audit with key: %d", r.Status)
	}
}

func TestUserTokens(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	other := env.NewOrg(t)
	exp := time.Now().Add(5 * time.Minute)
	member := userToken(t, "user-m", []string{"offline_access"}, []string{org.ID}, exp)
	organizer := userToken(t, "user-o", []string{"organizer"}, []string{org.ID}, exp)
	admin := userToken(t, "user-a", []string{"admin"}, []string{org.ID, other.ID}, exp)
	as := func(tok, method, path string, body any, hdr ...string) testenv.Response {
		return env.Do(t, method, path, body, append([]string{"Authorization", "Bearer " + tok}, hdr...)...)
	}

	// Members: own user keys only, no org keys, no audit log.
	if r := as(member, "POST", "/api/api-keys", map[string]any{"name": "org", "scopes": []string{"webhooks:read"}}); r.Status != 403 {
		t.Fatalf("member org key: %d %s", r.Status, r.Body)
	}
	r := as(member, "POST", "/api/api-keys", map[string]any{"owner": "user", "name": "mine", "scopes": []string{"webhooks:read"}})
	if r.Status != 201 {
		t.Fatalf("member user key: %d %s", r.Status, r.Body)
	}
	var mine key
	r.JSON(t, &mine)
	if r := as(member, "POST", "/api/api-keys", map[string]any{"owner": "user", "name": "more", "scopes": []string{"webhooks:write"}}); r.Status != 403 {
		t.Fatalf("member escalation: %d %s", r.Status, r.Body)
	}
	if r := as(member, "GET", "/api/audit-log", nil); r.Status != 403 {
		t.Fatalf("member audit: %d", r.Status)
	}

	// Organizers manage organization keys and see every key.
	r = as(organizer, "POST", "/api/api-keys", map[string]any{"name": "org key", "scopes": []string{"webhooks:*"}})
	if r.Status != 201 {
		t.Fatalf("organizer: %d %s", r.Status, r.Body)
	}
	var orgKey key
	r.JSON(t, &orgKey)
	r = as(member, "GET", "/api/api-keys", nil)
	if !strings.Contains(string(r.Body), mine.ID) || strings.Contains(string(r.Body), orgKey.ID) {
		t.Fatalf("member list: %s", r.Body)
	}
	if r := as(member, "GET", "/api/api-keys/"+orgKey.ID, nil); r.Status != 404 {
		t.Fatalf("member reads org key: %d", r.Status)
	}
	if r := as(member, "POST", "/api/api-keys/"+mine.ID+"/revoke", nil); r.Status != 200 {
		t.Fatalf("member revokes own: %d %s", r.Status, r.Body)
	}
	if r := as(organizer, "GET", "/api/api-keys", nil); !strings.Contains(string(r.Body), mine.ID) {
		t.Fatalf("organizer list: %s", r.Body)
	}

	// Several organizations: the header picks one of them, and only those.
	if r := as(admin, "GET", "/api/audit-log", nil); r.Status != 400 || errCode(t, r) != "organization_required" {
		t.Fatalf("admin without org: %d %s", r.Status, r.Body)
	}
	r = as(admin, "GET", "/api/audit-log?action=api_key.created", nil, "X-Aqio-Organization-Id", org.ID)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"actor_id":"user-o"`) || !strings.Contains(string(r.Body), `"actor_type":"user_jwt"`) {
		t.Fatalf("admin audit: %d %s", r.Status, r.Body)
	}
	stranger := env.NewOrg(t)
	if r := as(admin, "GET", "/api/webhooks", nil, "X-Aqio-Organization-Id", stranger.ID); r.Status != 403 || errCode(t, r) != "organization_not_allowed" {
		t.Fatalf("foreign org: %d %s", r.Status, r.Body)
	}

	// Expired and forged tokens.
	old := userToken(t, "user-a", []string{"admin"}, []string{org.ID}, time.Now().Add(-10*time.Minute))
	if r := as(old, "GET", "/api/webhooks", nil); r.Status != 401 || errCode(t, r) != "token_expired" {
		t.Fatalf("expired: %d %s", r.Status, r.Body)
	}
	parts := strings.Split(admin, ".")
	if r := as(parts[0]+"."+parts[1]+"."+strings.Repeat("A", 40), "GET", "/api/webhooks", nil); r.Status != 401 || errCode(t, r) != "invalid_token" {
		t.Fatalf("forged: %d %s", r.Status, r.Body)
	}
}

func TestBadInput(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	k := createKey(t, org, map[string]any{"name": "k", "scopes": []string{"events:read"}})
	cases := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"unknown scope", "POST", "/api/api-keys", map[string]any{"name": "x", "scopes": []string{"events:delete"}}, 422, "scopes"},
		{"no scopes", "POST", "/api/api-keys", map[string]any{"name": "x", "scopes": []string{}}, 422, "scopes"},
		{"bad cidr", "POST", "/api/api-keys", map[string]any{"name": "x", "scopes": []string{"events:read"}, "allowed_ips": []string{"10.0.0.0/8", "10.0.0.0/33"}}, 422, "allowed_ips[1]"},
		{"missing name", "POST", "/api/api-keys", map[string]any{"scopes": []string{"events:read"}}, 422, "name"},
		{"blank name", "POST", "/api/api-keys", map[string]any{"name": "  ", "scopes": []string{"events:read"}}, 422, "name"},
		{"unknown field", "POST", "/api/api-keys", map[string]any{"name": "x", "scopes": []string{"events:read"}, "admin": true}, 422, "body"}, // message names "admin",
		{"past expiry", "POST", "/api/api-keys", map[string]any{"name": "x", "scopes": []string{"events:read"}, "expires_at": "2001-01-01T00:00:00Z"}, 422, "expires_at"},
		{"bad expiry", "POST", "/api/api-keys", map[string]any{"name": "x", "scopes": []string{"events:read"}, "expires_at": "tomorrow"}, 422, "expires_at"},
		{"user key without user", "POST", "/api/api-keys", map[string]any{"owner": "user", "name": "x", "scopes": []string{"events:read"}}, 422, "owner"},
		{"grace too long", "POST", "/api/api-keys/" + k.ID + "/rotate", map[string]any{"grace_seconds": 10_000_000}, 422, "grace_seconds"},
		{"empty patch", "PATCH", "/api/api-keys/" + k.ID, map[string]any{}, 422, "body"},
		{"bad granularity", "GET", "/api/api-keys/" + k.ID + "/usage?granularity=week", nil, 400, "granularity"},
		{"range too long", "GET", "/api/api-keys/" + k.ID + "/usage?granularity=minute&from=2030-01-01T00:00:00Z&to=2030-01-03T00:00:00Z", nil, 422, "from"},
		{"bad cursor", "GET", "/api/audit-log?cursor=zzz", nil, 400, "cursor"},
		{"verify bad ip", "POST", "/api/api-keys/verify", map[string]any{"key": k.Key, "ip": "300.1.1.1"}, 422, "ip"},
		{"verify unknown scope", "POST", "/api/api-keys/verify", map[string]any{"key": k.Key, "required_scopes": []string{"x:y"}}, 422, "required_scopes[0]"},
		{"unknown key id", "GET", "/api/api-keys/key_nope", nil, 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := org.Do(t, tc.method, tc.path, tc.body)
			var e struct {
				Error struct{ Code, Field, Message string } `json:"error"`
			}
			r.JSON(t, &e)
			if r.Status != tc.status || e.Error.Field != tc.field || e.Error.Message == "" {
				t.Fatalf("got %d field %q: %s", r.Status, e.Error.Field, r.Body)
			}
		})
	}
	// Nothing half-written: the organization still has exactly one key.
	r := org.Do(t, "GET", "/api/api-keys", nil)
	var list struct {
		Data []key `json:"data"`
	}
	r.JSON(t, &list)
	if len(list.Data) != 1 {
		t.Fatalf("%d keys after bad input", len(list.Data))
	}
	// Requests with no or a nonsense credential.
	if r := env.Do(t, "GET", "/api/api-keys", nil); r.Status != 401 || errCode(t, r) != "unauthenticated" {
		t.Fatalf("no credential: %d %s", r.Status, r.Body)
	}
	if r := env.Do(t, "GET", "/api/webhooks", nil, "Authorization", "Bearer ak_short"); r.Status != 401 || errCode(t, r) != "malformed_api_key" {
		t.Fatalf("malformed key: %d %s", r.Status, r.Body)
	}
}

func TestListAPIKeysPaginates(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	for i := 0; i < 5; i++ {
		if r := org.Do(t, "POST", "/api/api-keys", map[string]any{"name": fmt.Sprintf("k%d", i), "scopes": []string{"webhooks:read"}}); r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
	}
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		q := "/api/api-keys?limit=2"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		var page struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
			NextCursor *string `json:"next_cursor"`
		}
		r := org.Do(t, "GET", q, nil)
		if r.Status != 200 {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &page)
		pages++
		for _, k := range page.Data {
			if seen[k.ID] {
				t.Fatalf("key %s on two pages", k.ID)
			}
			seen[k.ID] = true
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if len(seen) != 5 || pages != 3 {
		t.Fatalf("saw %d keys over %d pages", len(seen), pages)
	}
	if r := org.Do(t, "GET", "/api/api-keys?cursor=nope!", nil); r.Status != 400 {
		t.Fatalf("bad cursor: %d %s", r.Status, r.Body)
	}
}
