package console_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aqio/connect/internal/fakes/oidc"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
)

// browser keeps cookies by name, as a browser does for one site (the
// test server is plain HTTP, so Secure cookies are handled here, not by
// a cookie jar), and never follows redirects on its own.
type browser struct {
	t       *testing.T
	env     *testenv.Env
	cookies map[string]*http.Cookie
	client  *http.Client
}

func newBrowser(t *testing.T, env *testenv.Env) *browser {
	return &browser{t: t, env: env, cookies: map[string]*http.Cookie{},
		client: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status   int
	location string
	body     []byte
	set      map[string]*http.Cookie
}

func (b *browser) do(method, rawURL string, body any, headers ...string) page {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		js, _ := json.Marshal(body)
		rd = strings.NewReader(string(js))
	}
	if strings.HasPrefix(rawURL, "/") {
		rawURL = b.env.BaseURL + rawURL
	}
	req, _ := http.NewRequest(method, rawURL, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if strings.HasPrefix(rawURL, b.env.BaseURL) {
		for _, c := range b.cookies {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	p := page{status: resp.StatusCode, location: resp.Header.Get("Location"), set: map[string]*http.Cookie{}}
	p.body, _ = io.ReadAll(resp.Body)
	if strings.HasPrefix(rawURL, b.env.BaseURL) {
		for _, c := range resp.Cookies() {
			p.set[c.Name] = c
			if c.MaxAge < 0 || c.Value == "" {
				delete(b.cookies, c.Name)
			} else {
				b.cookies[c.Name] = c
			}
		}
	}
	return p
}

// startLogin goes to /console/login and returns the provider's authorization URL.
func (b *browser) startLogin(query string) *url.URL {
	b.t.Helper()
	p := b.do("GET", "/console/login"+query, nil)
	if p.status != http.StatusFound {
		b.t.Fatalf("login: %d %s", p.status, p.body)
	}
	u, _ := url.Parse(p.location)
	if !strings.HasPrefix(p.location, idp.Issuer) || u.Query().Get("code_challenge_method") != "S256" ||
		u.Query().Get("code_challenge") == "" || u.Query().Get("nonce") == "" || u.Query().Get("state") == "" {
		b.t.Fatalf("authorization URL: %s", p.location)
	}
	c := p.set["aqio_console_login"]
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		b.t.Fatalf("login cookie: %+v", c)
	}
	return u
}

// atProvider follows the authorization URL and returns the callback URL.
func (b *browser) atProvider(auth *url.URL) string {
	b.t.Helper()
	p := b.do("GET", auth.String(), nil)
	if p.status != http.StatusFound || !strings.Contains(p.location, "/console/callback") {
		b.t.Fatalf("provider: %d %s %s", p.status, p.location, p.body)
	}
	return p.location
}

func (b *browser) login(t *testing.T) page {
	t.Helper()
	p := b.do("GET", b.atProvider(b.startLogin("")), nil)
	if p.status != http.StatusFound || p.location != "/console/" {
		t.Fatalf("callback: %d %s %s", p.status, p.location, p.body)
	}
	return p
}

type sessionInfo struct {
	OrganizationID string   `json:"organization_id"`
	Auth           string   `json:"auth"`
	Login          string   `json:"login"`
	UserID         string   `json:"user_id"`
	Organizations  []string `json:"organizations"`
	CSRFToken      string   `json:"csrf_token"`
}

func (b *browser) session() (int, sessionInfo) {
	p := b.do("GET", "/console/session", nil)
	var s sessionInfo
	_ = json.Unmarshal(p.body, &s)
	return p.status, s
}

func TestConsoleOIDCSignIn(t *testing.T) {
	env := testenv.Get(t)
	org, second := env.NewOrg(t), env.NewOrg(t)
	idp.SetAccessTTL(5 * time.Minute)
	idp.SetUser(oidc.User{Sub: "olga", Roles: []string{"organizer"}, Organizations: []string{org.ID, second.ID}})
	b := newBrowser(t, env)

	if p := b.do("GET", "/console/sign-in-options", nil); p.status != 200 || !strings.Contains(string(p.body), `"oidc":true`) {
		t.Fatalf("sign-in options: %d %s", p.status, p.body)
	}
	cb := b.login(t)
	sc := cb.set["aqio_console_session"]
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || !sc.Secure || sc.Path != "/console" {
		t.Fatalf("session cookie: %+v", sc)
	}
	if _, gone := cb.set["aqio_console_login"]; !gone {
		t.Fatal("the login cookie was not cleared")
	}
	status, s := b.session()
	if status != 200 || s.Auth != "user_jwt" || s.Login != "oidc" || s.UserID != "olga" || s.OrganizationID != org.ID ||
		len(s.Organizations) != 2 || s.CSRFToken == "" {
		t.Fatalf("session: %d %+v", status, s)
	}
	if p := b.do("GET", "/console/session", nil); strings.Contains(string(p.body), "eyJ") {
		t.Fatalf("the session answer carries a token: %s", p.body)
	}

	// API calls go with the user's token, as the user.
	if p := b.do("GET", "/console/api/webhooks", nil); p.status != 200 {
		t.Fatalf("list webhooks: %d %s", p.status, p.body)
	}
	body := map[string]any{"name": "from the console", "url": "https://example.com/hook", "events": []string{"*"}}
	if p := b.do("POST", "/console/api/webhooks", body); p.status != http.StatusForbidden || !strings.Contains(string(p.body), "csrf_token_invalid") {
		t.Fatalf("state change without the CSRF token: %d %s", p.status, p.body)
	}
	if p := b.do("POST", "/console/api/webhooks", body, "X-CSRF-Token", s.CSRFToken); p.status != http.StatusCreated {
		t.Fatalf("create webhook with the CSRF token: %d %s", p.status, p.body)
	}
	// Switch to the user's other organization; a foreign one is refused by the API.
	if p := b.do("PATCH", "/console/session", map[string]any{"organization_id": second.ID}, "X-CSRF-Token", s.CSRFToken); p.status != 200 {
		t.Fatalf("switch organization: %d %s", p.status, p.body)
	}
	if p := b.do("PATCH", "/console/session", map[string]any{"organization_id": "org_not_mine"}, "X-CSRF-Token", s.CSRFToken); p.status != http.StatusForbidden {
		t.Fatalf("switch to a foreign organization: %d %s", p.status, p.body)
	}
	var list struct{ Data []any }
	p := b.do("GET", "/console/api/webhooks", nil)
	_ = json.Unmarshal(p.body, &list)
	if p.status != 200 || len(list.Data) != 0 {
		t.Fatalf("webhooks of the second organization: %d %s", p.status, p.body)
	}
	// The user's calls are in the request log as the user.
	testenv.Eventually(t, 10*time.Second, "the user's call in the request log", func() bool {
		r := org.Do(t, "GET", "/api/request-logs?user_id=olga&method=POST", nil)
		return r.Status == 200 && strings.Contains(string(r.Body), `"auth":"user_jwt"`)
	})

	// Sign out: the session is gone, its cookie no longer works.
	old := *b.cookies["aqio_console_session"]
	if p := b.do("DELETE", "/console/session", nil, "X-CSRF-Token", s.CSRFToken); p.status != http.StatusOK || !strings.Contains(string(p.body), "logout_url") {
		t.Fatalf("sign out: %d %s", p.status, p.body)
	}
	b.cookies["aqio_console_session"] = &old
	if p := b.do("GET", "/console/api/webhooks", nil); p.status != http.StatusUnauthorized {
		t.Fatalf("after sign-out: %d %s", p.status, p.body)
	}
}

func TestConsoleOIDCRefusals(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	idp.SetAccessTTL(5 * time.Minute)
	idp.SetUser(oidc.User{Sub: "rita", Roles: []string{"member"}, Organizations: []string{org.ID}})

	t.Run("state mismatch", func(t *testing.T) {
		b := newBrowser(t, env)
		cb, _ := url.Parse(b.atProvider(b.startLogin("")))
		q := cb.Query()
		q.Set("state", "forged")
		cb.RawQuery = q.Encode()
		p := b.do("GET", cb.String(), nil)
		if p.status != http.StatusBadRequest || !strings.Contains(string(p.body), "state_mismatch") || p.set["aqio_console_session"] != nil {
			t.Fatalf("forged state: %d %s", p.status, p.body)
		}
	})
	t.Run("another browser's callback", func(t *testing.T) {
		b := newBrowser(t, env)
		cb := b.atProvider(b.startLogin(""))
		other := newBrowser(t, env) // no login cookie: a login CSRF attempt
		if p := other.do("GET", cb, nil); p.status != http.StatusBadRequest || !strings.Contains(string(p.body), "state_mismatch") {
			t.Fatalf("callback in another browser: %d %s", p.status, p.body)
		}
	})
	t.Run("PKCE verifier mismatch", func(t *testing.T) {
		b := newBrowser(t, env)
		auth := b.startLogin("")
		q := auth.Query()
		q.Set("code_challenge", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") // not the verifier's
		auth.RawQuery = q.Encode()
		p := b.do("GET", b.atProvider(auth), nil)
		if p.status != http.StatusUnauthorized || !strings.Contains(string(p.body), "code_exchange_failed") || p.set["aqio_console_session"] != nil {
			t.Fatalf("PKCE mismatch: %d %s", p.status, p.body)
		}
	})
	t.Run("code used twice", func(t *testing.T) {
		b := newBrowser(t, env)
		cb := b.atProvider(b.startLogin(""))
		if p := b.do("GET", cb, nil); p.status != http.StatusFound {
			t.Fatalf("first callback: %d %s", p.status, p.body)
		}
		if p := b.do("GET", cb, nil); p.status != http.StatusBadRequest {
			t.Fatalf("replayed callback: %d %s", p.status, p.body)
		}
	})
}

func TestConsoleOIDCExpiredToken(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	idp.SetUser(oidc.User{Sub: "eve", Roles: []string{"member"}, Organizations: []string{org.ID}})
	// Tokens that expire within the console's refresh margin: each API
	// call through the session refreshes first.
	idp.SetAccessTTL(10 * time.Second)
	defer idp.SetAccessTTL(5 * time.Minute)
	b := newBrowser(t, env)
	b.login(t)
	_, before := idp.Counts()
	if p := b.do("GET", "/console/api/webhooks", nil); p.status != 200 {
		t.Fatalf("call with a refreshed token: %d %s", p.status, p.body)
	}
	if _, after := idp.Counts(); after != before+1 {
		t.Fatalf("refreshes: %d before, %d after; want one more", before, after)
	}
	// The provider ends the session: the refresh fails, the console's
	// session ends and the user signs in again.
	idp.RevokeRefreshTokens()
	p := b.do("GET", "/console/api/webhooks", nil)
	if p.status != http.StatusUnauthorized || !strings.Contains(string(p.body), "session_expired") || !strings.Contains(string(p.body), "/console/login") {
		t.Fatalf("after the provider ended the session: %d %s", p.status, p.body)
	}
	if status, _ := b.session(); status != http.StatusUnauthorized {
		t.Fatalf("session after a failed refresh: %d", status)
	}
	idp.SetAccessTTL(5 * time.Minute)
	b.login(t)
	if p := b.do("GET", "/console/api/webhooks", nil); p.status != 200 {
		t.Fatalf("after signing in again: %d %s", p.status, p.body)
	}
}

// Sessions live in the database (credentials key-ring encrypted): they
// survive a restart of the API, and every replica sees them.
func TestConsoleSessionSurvivesRestart(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	idp.SetAccessTTL(5 * time.Minute)
	idp.SetUser(oidc.User{Sub: "remy", Roles: []string{"organizer"}, Organizations: []string{org.ID}})
	b := newBrowser(t, env)
	b.login(t)
	_, before := b.session()

	// A pasted-token session too.
	pasted := newBrowser(t, env)
	if p := pasted.do("POST", "/console/session", map[string]any{"token": env.Token, "organization_id": org.ID}); p.status != http.StatusCreated {
		t.Fatalf("pasted sign-in: %d %s", p.status, p.body)
	}

	env.Restart(t)

	status, after := b.session()
	if status != 200 || after.UserID != "remy" || after.CSRFToken != before.CSRFToken || after.OrganizationID != org.ID {
		t.Fatalf("OIDC session after restart: %d %+v", status, after)
	}
	if p := b.do("POST", "/console/api/webhooks", map[string]any{"name": "after restart", "url": "https://example.com/h", "events": []string{"*"}},
		"X-CSRF-Token", after.CSRFToken); p.status != http.StatusCreated {
		t.Fatalf("state change after restart: %d %s", p.status, p.body)
	}
	if p := pasted.do("GET", "/console/api/webhooks", nil); p.status != 200 {
		t.Fatalf("pasted session after restart: %d %s", p.status, p.body)
	}
	// The database holds no credential in the clear.
	var creds []string
	env.App.Store.DB().Table("console_sessions").Pluck("credential", &creds)
	for _, c := range creds {
		if strings.Contains(c, env.Token) || strings.Contains(c, "eyJ") {
			t.Fatalf("a console credential is stored in the clear")
		}
	}
	if len(creds) < 2 {
		t.Fatalf("%d sessions stored", len(creds))
	}
}

// Signing out of an OIDC session ends the provider's session too
// (RP-initiated logout): the local session is deleted first, the answer
// names the provider's end_session_endpoint with the ID token as
// id_token_hint and /console as post_logout_redirect_uri; following it
// ends the user's session at the provider (their refresh tokens stop
// working) and comes back to /console.
func TestConsoleOIDCSignOutEndsProviderSession(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	idp.SetAccessTTL(5 * time.Minute)
	idp.SetUser(oidc.User{Sub: "lena-logout", Roles: []string{"member"}, Organizations: []string{org.ID}})
	b := newBrowser(t, env)
	b.login(t)
	_, s := b.session()
	stored, err := env.App.Store.GetConsoleSession(t.Context(), hashOf(b.cookies["aqio_console_session"].Value), time.Now())
	if err != nil {
		t.Fatalf("stored session: %v", err)
	}

	p := b.do("DELETE", "/console/session", nil, "X-CSRF-Token", s.CSRFToken)
	var out struct {
		LogoutURL string `json:"logout_url"`
	}
	if err := json.Unmarshal(p.body, &out); err != nil || p.status != http.StatusOK || out.LogoutURL == "" {
		t.Fatalf("sign out: %d %s", p.status, p.body)
	}
	// The local session is gone before the browser leaves.
	if _, err := env.App.Store.GetConsoleSession(t.Context(), stored.IDHash, time.Now()); err == nil {
		t.Fatal("the console session row survived the sign-out")
	}
	if st, _ := b.session(); st != http.StatusUnauthorized {
		t.Fatalf("session after sign-out: %d", st)
	}
	u, err := url.Parse(out.LogoutURL)
	if err != nil || u.Scheme+"://"+u.Host+u.Path != idp.Issuer+"/protocol/openid-connect/logout" {
		t.Fatalf("logout URL %q: not the discovered end_session_endpoint", out.LogoutURL)
	}
	q := u.Query()
	if q.Get("post_logout_redirect_uri") != env.BaseURL+"/console" || q.Get("client_id") != clientID {
		t.Fatalf("logout URL parameters: %v", q)
	}
	claims := jwtClaims(t, q.Get("id_token_hint"))
	if claims["sub"] != "lena-logout" || claims["aud"] != clientID {
		t.Fatalf("id_token_hint is not the user's ID token for the console: %v", claims)
	}

	// The provider ends its session and sends the browser back to /console.
	before := len(idp.EndedSessions())
	p = b.do("GET", out.LogoutURL, nil)
	if p.status != http.StatusFound || p.location != env.BaseURL+"/console" {
		t.Fatalf("provider logout: %d %s %s", p.status, p.location, p.body)
	}
	if ended := idp.EndedSessions(); len(ended) != before+1 || ended[len(ended)-1] != "lena-logout" {
		t.Fatalf("the provider did not end the session: %v", ended)
	}
	if p := b.do("GET", p.location, nil); p.status != http.StatusOK {
		t.Fatalf("back at the console: %d", p.status)
	}
	// The provider refuses the refresh token the console held.
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshOf(t, env, stored)},
		"client_id": {clientID}, "client_secret": {"console-secret"}}
	resp, err := http.PostForm(idp.Issuer+"/protocol/openid-connect/token", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("refresh after logout: %d, want 400 invalid_grant", resp.StatusCode)
	}

	// A forged hint is refused by the provider; a pasted-credential session signs out with 204.
	bad := *u
	bq := bad.Query()
	bq.Set("id_token_hint", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
	bad.RawQuery = bq.Encode()
	if p := b.do("GET", bad.String(), nil); p.status != http.StatusBadRequest {
		t.Fatalf("forged id_token_hint: %d", p.status)
	}
	tb := newBrowser(t, env)
	login := tb.do("POST", "/console/session", map[string]any{"token": env.Token, "organization_id": org.ID})
	var ts sessionInfo
	_ = json.Unmarshal(login.body, &ts)
	if p := tb.do("DELETE", "/console/session", nil, "X-CSRF-Token", ts.CSRFToken); login.status != http.StatusCreated || p.status != http.StatusNoContent {
		t.Fatalf("pasted-credential sign-in %d, sign-out %d %s", login.status, p.status, p.body)
	}
}

func hashOf(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// jwtClaims reads a JWT's payload (its signature is the provider's to check).
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err != nil || json.Unmarshal(raw, &claims) != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return claims
}

// refreshOf opens a stored session's sealed credential for its refresh token.
func refreshOf(t *testing.T, env *testenv.Env, row models.ConsoleSession) string {
	t.Helper()
	plain, err := env.App.Ring.Decrypt(row.Credential, []byte(row.IDHash))
	var sec struct {
		Refresh string `json:"refresh"`
	}
	if err != nil || json.Unmarshal(plain, &sec) != nil || sec.Refresh == "" {
		t.Fatalf("open the stored session: %v", err)
	}
	return sec.Refresh
}
