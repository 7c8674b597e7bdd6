// Package console_test drives the developer console's backend end to end:
// the API request log, usage series, the support role and the console's
// OpenID Connect sign-in against a local OIDC provider (real RS256
// tokens, discovery, PKCE), on a real database (Postgres with
// AQIO_TEST_DATABASE_URL, else SQLite) and the embedded Temporal server.
package console_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aqio/connect/config"
	"github.com/aqio/connect/internal/fakes/oidc"
	"github.com/aqio/connect/internal/testenv"
)

const (
	audience = "aqio-connect"
	clientID = "aqio-console"
	// The rate limit of the free plan is tiny so a test can exhaust it.
	freePerMinute = 4
)

var idp *oidc.Provider

func TestMain(m *testing.M) {
	idp = oidc.New(audience, clientID, "console-secret")
	defer idp.Close()
	testenv.Main(m, func(c *config.Config) {
		c.Auth.JWTIssuer = idp.Issuer
		c.Auth.JWTAudience = audience
		c.Auth.RateLimits = "free=4/1000,pro=300/10000,enterprise=100000/1000000"
		c.Auth.UsageFlushInterval = 50 * time.Millisecond
		c.Auth.Console.OIDCClientID = clientID
		c.Auth.Console.OIDCClientSecret = "console-secret"
	})
}

func errorOf(t *testing.T, r testenv.Response) (code, field string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Field string } `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code, e.Error.Field
}

type createdKey struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

func createKey(t *testing.T, org *testenv.Org, scopes ...string) createdKey {
	t.Helper()
	r := org.Do(t, "POST", "/api/api-keys", map[string]any{"name": "console test", "scopes": scopes})
	if r.Status != http.StatusCreated {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	var k createdKey
	r.JSON(t, &k)
	return k
}

func withKey(t *testing.T, env *testenv.Env, key, method, path string, body any) testenv.Response {
	t.Helper()
	return env.Do(t, method, path, body, "Authorization", "Bearer "+key)
}

func setPlan(t *testing.T, org *testenv.Org, plan string) {
	t.Helper()
	if r := org.Do(t, "PUT", "/api/organizations/"+org.ID, map[string]any{"name": "Console test", "plan": plan}); r.Status >= 300 {
		t.Fatalf("set plan: %d %s", r.Status, r.Body)
	}
}
