// Package apikeys_test drives the key authority end to end: real HTTP,
// real database (Postgres with AQIO_TEST_DATABASE_URL, else SQLite), a
// local identity provider for user tokens.
package apikeys_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/aqio/connect/config"
	"github.com/aqio/connect/internal/testenv"
)

var (
	idpKey *rsa.PrivateKey
	idpURL string
)

const audience = "aqio-connect"

func TestMain(m *testing.M) {
	var err error
	if idpKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/certs", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &idpKey.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	srv := httptest.NewServer(mux)
	idpURL = srv.URL
	testenv.Main(m, func(c *config.Config) {
		c.Auth.JWTIssuer = idpURL + "/realms/aqio"
		c.Auth.JWTAudience = audience
		c.Auth.JWTJWKSURL = idpURL + "/certs"
		c.Auth.ServiceRoles = []string{serviceRole}
		// free is tiny so a test can exhaust it; the others are roomy.
		c.Auth.RateLimits = "free=5/1000,pro=300/10000,enterprise=100000/1000000"
		c.Auth.UsageFlushInterval = 50 * time.Millisecond
		c.Auth.RequestLog = os.Getenv("BENCH_REQUEST_LOG") != "off" // bench_test.go
		// Tests speak through loopback, which is trusted, so they choose
		// the client address with X-Forwarded-For.
		c.Auth.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
}

// userToken signs an access token as the local Keycloak would.
func userToken(t *testing.T, sub string, roles []string, orgs []string, exp time.Time) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: idpKey, KeyID: "k1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{
		"iss": idpURL + "/realms/aqio", "aud": audience, "sub": sub, "exp": exp.Unix(), "iat": time.Now().Unix(),
		"email": sub + "@example.com", "realm_access": map[string]any{"roles": roles}, "organization": orgs,
	})
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := obj.CompactSerialize()
	return tok
}

// key is a created key.
type key struct {
	ID     string   `json:"id"`
	Key    string   `json:"key"`
	Prefix string   `json:"key_prefix"`
	Status string   `json:"status"`
	Scopes []string `json:"scopes"`
}

func createKey(t testing.TB, org *testenv.Org, body map[string]any) key {
	t.Helper()
	r := org.Do(t, "POST", "/api/api-keys", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	var k key
	r.JSON(t, &k)
	return k
}

func setPlan(t testing.TB, org *testenv.Org, plan string) {
	t.Helper()
	if r := org.Do(t, "PUT", "/api/organizations/"+org.ID, map[string]any{"name": "Test", "plan": plan}); r.Status >= 300 {
		t.Fatalf("set plan: %d %s", r.Status, r.Body)
	}
}

// withKey calls the API with an API key from a given client address.
func withKey(t *testing.T, env *testenv.Env, method, path, apiKey, ip string, body any) testenv.Response {
	t.Helper()
	h := []string{"Authorization", "Bearer " + apiKey}
	if ip != "" {
		h = append(h, "X-Forwarded-For", ip)
	}
	return env.Do(t, method, path, body, h...)
}

func errCode(t *testing.T, r testenv.Response) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Field, Policy string } `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}
