// Package oidc is a local OpenID Connect provider shaped like a Keycloak
// realm, for tests: discovery, JWKS, the authorization endpoint (code
// flow, PKCE S256 required, the user chosen by the test with SetUser), the
// token endpoint (authorization_code with the verifier checked, and
// refresh_token), RP-initiated logout (end_session_endpoint: id_token_hint
// checked, the user's refresh tokens revoked, back to
// post_logout_redirect_uri) and RS256-signed access and ID tokens carrying
// Keycloak's claims (realm_access.roles, organization).
package oidc

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// User is who signs in.
type User struct {
	Sub           string
	Roles         []string
	Organizations []string
	// Extra claims added to the access token (e.g. support_organizations).
	Extra map[string]any
}

// Provider is a running provider.
type Provider struct {
	Server       *httptest.Server
	Issuer       string
	Audience     string // aud of access tokens (AQIO_JWT_AUDIENCE)
	ClientID     string
	ClientSecret string // "" accepts a public client

	key *rsa.PrivateKey

	mu        sync.Mutex
	user      User
	accessTTL time.Duration
	codes     map[string]grant
	refresh   map[string]User
	Logins    int // authorization codes redeemed
	Refreshes int // refresh_token grants answered
	// Logouts are the users whose session an RP-initiated logout ended, in order.
	Logouts []string
}

type grant struct {
	user        User
	clientID    string
	redirectURI string
	challenge   string
	nonce       string
}

// Realm is the path of the realm, as in Keycloak.
const Realm = "/realms/aqio"

// New starts a provider.
func New(audience, clientID, clientSecret string) *Provider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	p := &Provider{Audience: audience, ClientID: clientID, ClientSecret: clientSecret, key: key,
		accessTTL: 5 * time.Minute, codes: map[string]grant{}, refresh: map[string]User{}}
	mux := http.NewServeMux()
	mux.HandleFunc(Realm+"/.well-known/openid-configuration", p.discovery)
	mux.HandleFunc(Realm+"/protocol/openid-connect/certs", p.certs)
	mux.HandleFunc(Realm+"/protocol/openid-connect/auth", p.authorize)
	mux.HandleFunc(Realm+"/protocol/openid-connect/token", p.token)
	mux.HandleFunc(Realm+"/protocol/openid-connect/logout", p.logout)
	p.Server = httptest.NewServer(mux)
	p.Issuer = p.Server.URL + Realm
	return p
}

// Close stops the provider.
func (p *Provider) Close() { p.Server.Close() }

// SetUser chooses who signs in at the next authorization request.
func (p *Provider) SetUser(u User) {
	p.mu.Lock()
	p.user = u
	p.mu.Unlock()
}

// SetAccessTTL sets the life of the access tokens issued from now on
// (negative: already expired).
func (p *Provider) SetAccessTTL(d time.Duration) {
	p.mu.Lock()
	p.accessTTL = d
	p.mu.Unlock()
}

// RevokeRefreshTokens makes every refresh token issued so far invalid
// (the session ended at the provider).
func (p *Provider) RevokeRefreshTokens() {
	p.mu.Lock()
	p.refresh = map[string]User{}
	p.mu.Unlock()
}

// Counts reports the codes redeemed and refreshes answered.
func (p *Provider) Counts() (logins, refreshes int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Logins, p.Refreshes
}

// AccessToken signs an access token for u that expires at exp.
func (p *Provider) AccessToken(u User, exp time.Time) string {
	claims := map[string]any{
		"iss": p.Issuer, "aud": p.Audience, "sub": u.Sub, "exp": exp.Unix(), "iat": time.Now().Unix(),
		"email": u.Sub + "@example.com", "realm_access": map[string]any{"roles": u.Roles},
		"organization": u.Organizations, "azp": p.ClientID, "typ": "Bearer",
	}
	for k, v := range u.Extra {
		claims[k] = v
	}
	return p.sign(claims)
}

func (p *Provider) sign(claims map[string]any) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: p.key, KeyID: "realm-key"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(err)
	}
	b, _ := json.Marshal(claims)
	obj, err := s.Sign(b)
	if err != nil {
		panic(err)
	}
	tok, _ := obj.CompactSerialize()
	return tok
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.Issuer,
		"authorization_endpoint":                p.Issuer + "/protocol/openid-connect/auth",
		"token_endpoint":                        p.Issuer + "/protocol/openid-connect/token",
		"jwks_uri":                              p.Issuer + "/protocol/openid-connect/certs",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"end_session_endpoint":                  p.Issuer + "/protocol/openid-connect/logout",
	})
}

func (p *Provider) certs(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &p.key.PublicKey, KeyID: "realm-key", Algorithm: "RS256", Use: "sig"}}})
}

// authorize signs the chosen user in at once (no login page) and sends the
// browser back with a code, as Keycloak does for a user already signed in.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme == "" || q.Get("client_id") != p.ClientID {
		http.Error(w, "invalid client_id or redirect_uri", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	switch {
	case q.Get("response_type") != "code":
		back.Set("error", "unsupported_response_type")
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		back.Set("error", "invalid_request")
		back.Set("error_description", "PKCE S256 is required")
	default:
		code := random()
		p.mu.Lock()
		p.codes[code] = grant{user: p.user, clientID: p.ClientID, redirectURI: q.Get("redirect_uri"),
			challenge: q.Get("code_challenge"), nonce: q.Get("nonce")}
		p.mu.Unlock()
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || (p.ClientSecret != "" && secret != p.ClientSecret) {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		code := r.PostForm.Get("code")
		g, ok := p.codes[code]
		delete(p.codes, code) // one use
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		switch {
		case !ok, g.redirectURI != r.PostForm.Get("redirect_uri"):
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
			oauthErrorDesc(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
			return
		}
		p.Logins++
		p.issue(w, g.user, g.nonce)
	case "refresh_token":
		u, ok := p.refresh[r.PostForm.Get("refresh_token")]
		if !ok {
			oauthErrorDesc(w, http.StatusBadRequest, "invalid_grant", "Session not active")
			return
		}
		delete(p.refresh, r.PostForm.Get("refresh_token")) // rotated
		p.Refreshes++
		p.issue(w, u, "")
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
	}
}

// issue answers a token response (p.mu held).
func (p *Provider) issue(w http.ResponseWriter, u User, nonce string) {
	exp := time.Now().Add(p.accessTTL)
	idClaims := map[string]any{
		"iss": p.Issuer, "aud": p.ClientID, "sub": u.Sub, "exp": time.Now().Add(time.Hour).Unix(),
		"iat": time.Now().Unix(), "email": u.Sub + "@example.com", "azp": p.ClientID,
	}
	if nonce != "" {
		idClaims["nonce"] = nonce
	}
	rt := random()
	p.refresh[rt] = u
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": p.AccessToken(u, exp), "token_type": "Bearer", "expires_in": int(time.Until(exp).Seconds()),
		"refresh_token": rt, "id_token": p.sign(idClaims), "scope": "openid profile email",
	})
}

// EndedSessions reports the users logged out so far (RP-initiated logout).
func (p *Provider) EndedSessions() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.Logouts...)
}

// logout is RP-initiated logout 1.0 as Keycloak answers it: the
// id_token_hint must be an ID token this provider signed for the client
// (an expired one is accepted, as Keycloak does), client_id must match
// it, post_logout_redirect_uri must be an absolute http(s) URL. The user's
// session ends (every refresh token issued to them stops working) and the
// browser goes back to post_logout_redirect_uri with the state.
func (p *Provider) logout(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	hint := r.Form.Get("id_token_hint")
	var claims struct {
		Sub string `json:"sub"`
		Aud string `json:"aud"`
		Iss string `json:"iss"`
	}
	obj, err := jose.ParseSigned(hint, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		http.Error(w, "invalid id_token_hint", http.StatusBadRequest)
		return
	}
	payload, err := obj.Verify(&p.key.PublicKey)
	if err != nil || json.Unmarshal(payload, &claims) != nil || claims.Iss != p.Issuer || claims.Aud != p.ClientID {
		http.Error(w, "invalid id_token_hint", http.StatusBadRequest)
		return
	}
	if id := r.Form.Get("client_id"); id != "" && id != p.ClientID {
		http.Error(w, "client_id does not match id_token_hint", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(r.Form.Get("post_logout_redirect_uri"))
	if err != nil || (back.Scheme != "http" && back.Scheme != "https") || back.Host == "" {
		http.Error(w, "invalid post_logout_redirect_uri", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	for rt, u := range p.refresh {
		if u.Sub == claims.Sub {
			delete(p.refresh, rt)
		}
	}
	p.Logouts = append(p.Logouts, claims.Sub)
	p.mu.Unlock()
	if st := r.Form.Get("state"); st != "" {
		q := back.Query()
		q.Set("state", st)
		back.RawQuery = q.Encode()
	}
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func oauthError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]any{"error": code})
}

func oauthErrorDesc(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
