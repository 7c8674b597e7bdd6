package console_test

import (
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aqio/connect/api"
	"github.com/aqio/connect/console"
	"github.com/aqio/connect/metrics"
)

const token = "aqio_dev_console_test"

// server is the real API (its middleware, request validator and routes)
// with the service-token authenticator; the console is mounted by api.New.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	spec, err := api.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Deps{
		Spec: spec, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New(),
		Authenticators: []api.Authenticator{api.ServiceTokenAuth{Token: token}},
	})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

type response struct {
	status int
	header http.Header
	body   string
	err    struct {
		Code, Message, Field string
	}
}

func do(t *testing.T, ts *httptest.Server, method, path string, body string, hdr map[string]string, cookie *http.Cookie) response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, body: string(b)}
	var e struct {
		Error struct{ Code, Message, Field string } `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil {
		out.err = e.Error
	}
	return out
}

func signIn(t *testing.T, ts *httptest.Server) (*http.Cookie, console.SessionInfo) {
	t.Helper()
	req, _ := http.NewRequest("POST", ts.URL+console.SessionPath, strings.NewReader(`{"token":"`+token+`","organization_id":"org_console"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", ts.URL)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("sign in: %d %s", resp.StatusCode, b)
	}
	if strings.Contains(string(b), token) {
		t.Fatalf("the session response carries the credential: %s", b)
	}
	var info console.SessionInfo
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == console.CookieName {
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/console" || c.Secure {
				t.Fatalf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/console, not Secure over plain HTTP", c)
			}
			if strings.Contains(c.Value, token) {
				t.Fatal("the cookie carries the credential")
			}
			return c, info
		}
	}
	t.Fatalf("no session cookie in %v", resp.Header)
	return nil, info
}

func TestPagesAndAssets(t *testing.T) {
	ts := server(t)
	var script string
	_ = fs.WalkDir(console.Assets(), "assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".js") && script == "" {
			script = "/console/" + p
		}
		return err
	})
	if script == "" {
		t.Fatal("the embedded build has no script")
	}
	cases := []struct {
		name, method, path string
		status             int
		cache, typ         string
	}{
		{"entry", "GET", "/console", 200, "no-cache", "text/html"},
		{"entry with slash", "GET", "/console/", 200, "no-cache", "text/html"},
		{"client-side route (SPA fallback)", "GET", "/console/webhooks/wh_1/deliveries/dl_1", 200, "no-cache", "text/html"},
		{"query string is the page's business", "GET", "/console/webhooks?anything=1", 200, "no-cache", "text/html"},
		{"hashed asset", "GET", script, 200, "public, max-age=31536000, immutable", "text/javascript"},
		{"missing asset is not the page", "GET", "/console/assets/gone-123.js", 404, "", "application/json"},
		{"missing file is not the page", "GET", "/console/favicon.png", 404, "", "application/json"},
		{"no writes to pages", "POST", "/console/webhooks", 405, "", "application/json"},
		{"root sends browsers to the console", "GET", "/", 302, "", ""},
		{"the API reference is the explorer", "GET", "/api/docs", 302, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, ts, tc.method, tc.path, "", nil, nil)
			if r.status != tc.status {
				t.Fatalf("%s %s: %d %s", tc.method, tc.path, r.status, r.body)
			}
			if got := r.header.Get("Cache-Control"); tc.cache != "" && got != tc.cache {
				t.Fatalf("Cache-Control %q, want %q", got, tc.cache)
			}
			if got := r.header.Get("Content-Type"); !strings.HasPrefix(got, tc.typ) {
				t.Fatalf("Content-Type %q, want %q", got, tc.typ)
			}
			if tc.status == 200 && !strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'self'") {
				t.Fatalf("CSP %q", r.header.Get("Content-Security-Policy"))
			}
			if tc.typ == "text/html" && !strings.Contains(r.body, `<div id="app">`) {
				t.Fatalf("not the console page: %.200s", r.body)
			}
			if tc.status >= 400 && r.err.Code == "" {
				t.Fatalf("error without the API error shape: %s", r.body)
			}
		})
	}
	if r := do(t, ts, "GET", "/", "", nil, nil); r.header.Get("Location") != "/console" {
		t.Fatalf("GET / Location %q", r.header.Get("Location"))
	}
	if r := do(t, ts, "GET", "/api/docs", "", nil, nil); r.header.Get("Location") != "/console/explorer" {
		t.Fatalf("GET /api/docs Location %q", r.header.Get("Location"))
	}
}

func TestSignInRefusals(t *testing.T) {
	ts := server(t)
	json := map[string]string{"Origin": ts.URL}
	cases := []struct {
		name, body string
		hdr        map[string]string
		status     int
		code       string
		field      string
	}{
		{"no token", `{"token":"","organization_id":"org_a"}`, json, 422, "invalid_field", "token"},
		{"service token without organization", `{"token":"` + token + `"}`, json, 422, "invalid_field", "organization_id"},
		{"wrong token", `{"token":"nope","organization_id":"org_a"}`, json, 401, "invalid_credential", ""},
		{"bad organization id (the API's own check)", `{"token":"` + token + `","organization_id":"org a"}`, json, 400, "invalid_organization", "X-Aqio-Organization-Id"},
		{"not JSON", `token=x`, json, 400, "malformed_json", "body"},
		{"unknown field", `{"token":"x","password":"y"}`, json, 400, "malformed_json", "body"},
		{"another site's page", `{"token":"` + token + `","organization_id":"org_a"}`, map[string]string{"Origin": "https://evil.example"}, 403, "cross_origin", "Origin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, ts, "POST", console.SessionPath, tc.body, tc.hdr, nil)
			if r.status != tc.status || r.err.Code != tc.code || r.err.Field != tc.field {
				t.Fatalf("%d %s, want %d %s field %q", r.status, r.body, tc.status, tc.code, tc.field)
			}
			if len(r.header.Values("Set-Cookie")) != 0 {
				t.Fatalf("a refused sign-in set a cookie: %v", r.header.Values("Set-Cookie"))
			}
		})
	}
	if r := do(t, ts, "POST", console.SessionPath, "x", map[string]string{"Content-Type": "text/plain"}, nil); r.status != 415 {
		t.Fatalf("text/plain sign-in: %d %s", r.status, r.body)
	}
}

func TestSessionForwardsToTheAPI(t *testing.T) {
	ts := server(t)
	cookie, info := signIn(t, ts)
	if info.OrganizationID != "org_console" || info.Auth != "service_token" || info.CSRFToken == "" {
		t.Fatalf("session %+v", info)
	}

	// The page asks for its session (and CSRF token) after a reload.
	r := do(t, ts, "GET", console.SessionPath, "", nil, cookie)
	var again console.SessionInfo
	_ = json.Unmarshal([]byte(r.body), &again)
	if r.status != 200 || again.CSRFToken != info.CSRFToken {
		t.Fatalf("GET session: %d %s", r.status, r.body)
	}

	// Reads go through with the session's credential, whatever the page sends.
	r = do(t, ts, "GET", "/console/api/event-types", "", map[string]string{"Authorization": "Bearer forged"}, cookie)
	if r.status != 200 || !strings.Contains(r.body, "registration.confirmed") {
		t.Fatalf("GET via the session: %d %.300s", r.status, r.body)
	}
	// The request is the API's: validated against the document.
	r = do(t, ts, "GET", "/console/api/event-types?bogus=1", "", nil, cookie)
	if r.status != 400 || r.err.Code != "unknown_parameter" {
		t.Fatalf("unknown parameter via the session: %d %s", r.status, r.body)
	}
	r = do(t, ts, "GET", "/console/api/nothing-here", "", nil, cookie)
	if r.status != 404 || r.err.Code != "not_found" {
		t.Fatalf("unknown route via the session: %d %s", r.status, r.body)
	}

	post := `{"name":"","url":"http://127.0.0.1:1/x","events":["*"]}`
	cases := []struct {
		name   string
		hdr    map[string]string
		cookie *http.Cookie
		status int
		code   string
	}{
		{"no session", map[string]string{console.CSRFHeader: info.CSRFToken}, nil, 401, "no_session"},
		{"no CSRF token", nil, cookie, 403, "csrf_token_invalid"},
		{"wrong CSRF token", map[string]string{console.CSRFHeader: "x" + info.CSRFToken}, cookie, 403, "csrf_token_invalid"},
		{"another site", map[string]string{console.CSRFHeader: info.CSRFToken, "Origin": "https://evil.example"}, cookie, 403, "cross_origin"},
		// With the token the request reaches the API, authenticated, whose
		// validator names the bad field.
		{"with the CSRF token", map[string]string{console.CSRFHeader: info.CSRFToken, "Origin": ts.URL}, cookie, 422, "invalid_field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, ts, "POST", "/console/api/webhooks", post, tc.hdr, tc.cookie)
			if r.status != tc.status || r.err.Code != tc.code {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}

	// Signing out needs the CSRF token too, then the session is gone.
	if r := do(t, ts, "DELETE", console.SessionPath, "", nil, cookie); r.status != 403 {
		t.Fatalf("sign out without CSRF: %d %s", r.status, r.body)
	}
	if r := do(t, ts, "DELETE", console.SessionPath, "", map[string]string{console.CSRFHeader: info.CSRFToken}, cookie); r.status != 204 {
		t.Fatalf("sign out: %d %s", r.status, r.body)
	}
	for _, p := range []string{console.SessionPath, "/console/api/event-types"} {
		if r := do(t, ts, "GET", p, "", nil, cookie); r.status != 401 || r.err.Code != "no_session" {
			t.Fatalf("GET %s after sign-out: %d %s", p, r.status, r.body)
		}
	}
}

func TestAPIWithoutCredentialIsStillRefused(t *testing.T) {
	// The console's routes skip the API's authentication; the API's do not.
	ts := server(t)
	if r := do(t, ts, "GET", "/api/event-types", "", nil, nil); r.status != 401 {
		t.Fatalf("GET /api/event-types without a credential: %d %s", r.status, r.body)
	}
}

// standalone mounts console.New on its own with a clock, in front of the
// real API, recording the requests the API receives.
func standalone(t *testing.T, now func() time.Time) (*httptest.Server, *[]*http.Request) {
	t.Helper()
	apiSrv := server(t)
	var seen []*http.Request
	h := console.New(console.Options{
		API: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = append(seen, r.Clone(r.Context()))
			r.URL.Scheme, r.URL.Host = "", ""
			apiSrv.Config.Handler.ServeHTTP(w, r)
		}),
		Now: now, SessionTTL: time.Hour,
	})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts, &seen
}

func TestSessionExpires(t *testing.T) {
	clock := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ts, _ := standalone(t, func() time.Time { return clock })
	cookie, info := signIn(t, ts)
	if !info.ExpiresAt.Equal(clock.Add(time.Hour)) {
		t.Fatalf("expires_at %s", info.ExpiresAt)
	}
	clock = clock.Add(59 * time.Minute)
	if r := do(t, ts, "GET", "/console/api/event-types", "", nil, cookie); r.status != 200 {
		t.Fatalf("before expiry: %d %s", r.status, r.body)
	}
	clock = clock.Add(time.Minute)
	if r := do(t, ts, "GET", "/console/api/event-types", "", nil, cookie); r.status != 401 || r.err.Code != "no_session" {
		t.Fatalf("after expiry: %d %s", r.status, r.body)
	}
}

func TestForwardedRequestCarriesOnlyTheSessionCredential(t *testing.T) {
	ts, seen := standalone(t, nil)
	cookie, info := signIn(t, ts)
	*seen = nil
	r := do(t, ts, "GET", "/console/api/event-types?x=%2F", "", map[string]string{
		"Authorization": "Bearer forged", "X-Aqio-Organization-Id": "org_other", console.CSRFHeader: info.CSRFToken,
	}, cookie)
	if len(*seen) != 1 {
		t.Fatalf("the API got %d requests", len(*seen))
	}
	got := (*seen)[0]
	if got.URL.Path != "/api/event-types" || got.URL.RawQuery != "x=%2F" || got.RequestURI != "/api/event-types?x=%2F" {
		t.Fatalf("forwarded as %q %q %q", got.URL.Path, got.URL.RawQuery, got.RequestURI)
	}
	if got.Header.Get("Authorization") != "Bearer "+token || got.Header.Get("X-Aqio-Organization-Id") != "org_console" {
		t.Fatalf("forwarded headers %v", got.Header)
	}
	if got.Header.Get("Cookie") != "" || got.Header.Get(console.CSRFHeader) != "" {
		t.Fatalf("the session cookie or CSRF token reached the API: %v", got.Header)
	}
	// The API answered (its validator refused the unknown parameter).
	if r.status != 400 || r.err.Field != "x" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}
