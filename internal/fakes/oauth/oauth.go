// Package oauth is the shared fake OAuth 2.0 authorization server the
// provider fakes mount under their path prefix: authorize (code, PKCE
// S256, consent denial), token (authorization_code and refresh_token
// grants, client auth in the body or HTTP Basic, rotating refresh
// tokens, invalid_grant), revocation, and bearer checks. One Issuer keeps
// every provider's tokens, so a token issued for one provider is refused
// by another, as the real ones do.
package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ClientAuth is how a token endpoint wants the client credentials.
type ClientAuth string

// Client authentication styles.
const (
	ClientAuthBody   ClientAuth = "body"   // client_id/client_secret form fields (Google, Slack)
	ClientAuthBasic  ClientAuth = "basic"  // HTTP Basic only (Zoom, Pipedrive)
	ClientAuthEither ClientAuth = "either" // RFC 6749 allows both
)

// Style is how the token endpoint reports errors.
type Style string

// Error styles.
const (
	StyleRFC6749 Style = "rfc6749" // 400/401 {"error","error_description"}
	StyleSlack   Style = "slack"   // 200 {"ok":false,"error"}
)

// Config describes one provider's authorization server.
type Config struct {
	// Name tags the tokens ("slack", "zoom"): a token of another name is refused.
	Name string
	// Clients maps client ids to secrets.
	Clients    map[string]string
	ClientAuth ClientAuth
	// RequirePKCE refuses authorize requests without an S256 challenge.
	RequirePKCE bool
	Style       Style
	// AuthorizePath, TokenPath, RevokePath are below the prefix
	// (defaults /oauth/authorize, /oauth/token, /oauth/revoke; "-" = none).
	AuthorizePath, TokenPath, RevokePath string
	// AccessPrefix and RefreshPrefix shape the tokens (Google "ya29.",
	// "1//"; Slack "xoxe.xoxb-1-", "xoxe-1-").
	AccessPrefix, RefreshPrefix string
	// AccessTTL is expires_in (default 1h; 0 with NoExpiry: no expires_in).
	AccessTTL time.Duration
	NoExpiry  bool
	// Rotate: each refresh returns a new refresh token and kills the old one.
	Rotate bool
	// TokenType is token_type in answers (default "Bearer").
	TokenType string
	// Extra adds provider fields to every token answer (Slack's
	// incoming_webhook, Salesforce instance_url).
	Extra func(grant string) map[string]any
}

// Issuer holds the tokens of every provider mounted on it.
type Issuer struct {
	mu     sync.Mutex
	tokens map[string]*token
	codes  map[string]codeGrant
	Now    func() time.Time
}

type token struct {
	provider, clientID string
	refresh            bool
	expires            time.Time // zero: never
	valid              bool
}

type codeGrant struct {
	provider, clientID, redirectURI, challenge, scope string
}

// NewIssuer returns an empty issuer.
func NewIssuer() *Issuer {
	return &Issuer{tokens: map[string]*token{}, codes: map[string]codeGrant{}, Now: time.Now}
}

// Provider is one mounted authorization server.
type Provider struct {
	iss *Issuer
	cfg Config

	mu         sync.Mutex
	deny       bool
	refreshes  int
	tokenCalls int
	revoked    []string
	failNext   map[string]int // grant type → answers to fail with 500
}

// Mount registers the provider's endpoints on mux under prefix ("/zoom").
func (i *Issuer) Mount(mux *http.ServeMux, prefix string, cfg Config) *Provider {
	if cfg.AuthorizePath == "" {
		cfg.AuthorizePath = "/oauth/authorize"
	}
	if cfg.TokenPath == "" {
		cfg.TokenPath = "/oauth/token"
	}
	if cfg.RevokePath == "" {
		cfg.RevokePath = "/oauth/revoke"
	}
	if cfg.AccessTTL == 0 && !cfg.NoExpiry {
		cfg.AccessTTL = time.Hour
	}
	if cfg.TokenType == "" {
		cfg.TokenType = "Bearer"
	}
	if cfg.ClientAuth == "" {
		cfg.ClientAuth = ClientAuthEither
	}
	if cfg.Style == "" {
		cfg.Style = StyleRFC6749
	}
	p := &Provider{iss: i, cfg: cfg, failNext: map[string]int{}}
	if cfg.AuthorizePath != "-" {
		mux.HandleFunc("GET "+prefix+cfg.AuthorizePath, p.authorize)
	}
	if cfg.TokenPath != "-" {
		mux.HandleFunc("POST "+prefix+cfg.TokenPath, p.token)
	}
	if cfg.RevokePath != "-" {
		mux.HandleFunc("POST "+prefix+cfg.RevokePath, p.revokeForm)
	}
	return p
}

// SetDenyConsent makes authorize answer error=access_denied.
func (p *Provider) SetDenyConsent(on bool) { p.mu.Lock(); p.deny = on; p.mu.Unlock() }

// SetRotate turns refresh-token rotation on or off.
func (p *Provider) SetRotate(on bool) { p.iss.mu.Lock(); p.cfg.Rotate = on; p.iss.mu.Unlock() }

// SetAccessTTL sets expires_in of tokens issued from now on.
func (p *Provider) SetAccessTTL(d time.Duration) {
	p.iss.mu.Lock()
	p.cfg.AccessTTL = d
	p.iss.mu.Unlock()
}

// Refreshes counts successful refresh grants.
func (p *Provider) Refreshes() int { p.mu.Lock(); defer p.mu.Unlock(); return p.refreshes }

// Revoked lists the tokens revoked at this provider.
func (p *Provider) Revoked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.revoked...)
}

// FailNext makes the next n token requests of a grant type
// ("refresh_token", "authorization_code") answer 500 without effect.
func (p *Provider) FailNext(grant string, n int) { p.mu.Lock(); p.failNext[grant] = n; p.mu.Unlock() }

// RevokeAllRefreshTokens makes every refresh answer invalid_grant (the
// user removed the app at the provider).
func (p *Provider) RevokeAllRefreshTokens() {
	p.iss.mu.Lock()
	defer p.iss.mu.Unlock()
	for _, t := range p.iss.tokens {
		if t.provider == p.cfg.Name && t.refresh {
			t.valid = false
		}
	}
}

// ExpireAccessTokens makes every access token issued so far expired (the
// provider answers 401 / token_expired until the client refreshes).
func (p *Provider) ExpireAccessTokens() {
	p.iss.mu.Lock()
	defer p.iss.mu.Unlock()
	past := p.iss.Now().Add(-time.Second)
	for _, t := range p.iss.tokens {
		if t.provider == p.cfg.Name && !t.refresh {
			t.expires = past
		}
	}
}

// Status of a presented access token.
type Status int

// Token statuses.
const (
	Missing Status = iota
	Valid
	Expired
	Invalid // unknown, revoked, or issued for another provider
)

// Check reads the request's bearer token.
func (p *Provider) Check(r *http.Request) (string, Status) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return "", Missing
	}
	return tok, p.CheckToken(tok)
}

// CheckToken checks an access token.
func (p *Provider) CheckToken(tok string) Status {
	p.iss.mu.Lock()
	defer p.iss.mu.Unlock()
	t, ok := p.iss.tokens[tok]
	switch {
	case !ok || t.refresh || !t.valid || t.provider != p.cfg.Name:
		return Invalid
	case !t.expires.IsZero() && !p.iss.Now().Before(t.expires):
		return Expired
	}
	return Valid
}

// Revoke revokes an access or refresh token of this provider (both of a
// grant are not linked here; providers revoke what they are given).
func (p *Provider) Revoke(tok string) bool {
	p.iss.mu.Lock()
	t, ok := p.iss.tokens[tok]
	if ok && t.provider == p.cfg.Name && t.valid {
		t.valid = false
	} else {
		ok = false
	}
	p.iss.mu.Unlock()
	if ok {
		p.mu.Lock()
		p.revoked = append(p.revoked, tok)
		p.mu.Unlock()
	}
	return ok
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme == "" {
		http.Error(w, "invalid redirect_uri", http.StatusBadRequest)
		return
	}
	if _, known := p.cfg.Clients[q.Get("client_id")]; !known {
		http.Error(w, "invalid client_id", http.StatusBadRequest)
		return
	}
	if p.cfg.Style != StyleSlack && q.Get("response_type") != "code" {
		http.Error(w, "unsupported response_type", http.StatusBadRequest)
		return
	}
	if q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "S256" {
		http.Error(w, "unsupported code_challenge_method", http.StatusBadRequest)
		return
	}
	if p.cfg.RequirePKCE && q.Get("code_challenge") == "" {
		http.Error(w, "code_challenge required", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	deny := p.deny
	p.mu.Unlock()
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	if deny {
		back.Set("error", "access_denied")
	} else {
		code := random(24)
		p.iss.mu.Lock()
		p.iss.codes[code] = codeGrant{provider: p.cfg.Name, clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"),
			challenge: q.Get("code_challenge"), scope: q.Get("scope")}
		p.iss.mu.Unlock()
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (p *Provider) fail(w http.ResponseWriter, status int, code, desc string) {
	if p.cfg.Style == StyleSlack {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": code})
		return
	}
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc})
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.fail(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	grant := r.PostForm.Get("grant_type")
	if grant == "" && p.cfg.Style == StyleSlack {
		grant = "authorization_code"
	}
	p.mu.Lock()
	p.tokenCalls++
	if n := p.failNext[grant]; n > 0 {
		p.failNext[grant] = n - 1
		p.mu.Unlock()
		p.fail(w, http.StatusInternalServerError, "server_error", "injected failure")
		return
	}
	p.mu.Unlock()
	clientID, secret, basic := r.BasicAuth()
	bodyID := r.PostForm.Get("client_id")
	switch {
	case p.cfg.ClientAuth == ClientAuthBasic && !basic:
		p.fail(w, http.StatusUnauthorized, "invalid_client", "client authentication must use HTTP Basic")
		return
	case p.cfg.ClientAuth == ClientAuthBody && basic:
		p.fail(w, http.StatusUnauthorized, "invalid_client", "client credentials must be in the request body")
		return
	case !basic:
		clientID, secret = bodyID, r.PostForm.Get("client_secret")
	}
	if want, ok := p.cfg.Clients[clientID]; !ok || want != secret {
		code := "invalid_client"
		if p.cfg.Style == StyleSlack {
			code = "invalid_client_id"
		}
		p.fail(w, http.StatusUnauthorized, code, "The OAuth client was not found.")
		return
	}
	iss := p.iss
	iss.mu.Lock()
	defer iss.mu.Unlock()
	scope := ""
	switch grant {
	case "authorization_code":
		code := r.PostForm.Get("code")
		g, ok := iss.codes[code]
		delete(iss.codes, code) // single use
		if !ok || g.clientID != clientID || g.provider != p.cfg.Name {
			c := "invalid_grant"
			if p.cfg.Style == StyleSlack {
				c = "invalid_code"
			}
			p.fail(w, http.StatusBadRequest, c, "Malformed auth code.")
			return
		}
		if g.redirectURI != r.PostForm.Get("redirect_uri") {
			c := "redirect_uri_mismatch"
			if p.cfg.Style == StyleSlack {
				c = "bad_redirect_uri"
			}
			p.fail(w, http.StatusBadRequest, c, "Bad Request")
			return
		}
		if g.challenge != "" {
			sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
			if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
				p.fail(w, http.StatusBadRequest, "invalid_grant", "Invalid code verifier.")
				return
			}
		}
		scope = g.scope
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		cur, ok := iss.tokens[rt]
		if !ok || !cur.refresh || !cur.valid || cur.clientID != clientID || cur.provider != p.cfg.Name {
			c := "invalid_grant"
			if p.cfg.Style == StyleSlack {
				c = "invalid_refresh_token"
			}
			p.fail(w, http.StatusBadRequest, c, "Token has been expired or revoked.")
			return
		}
		p.mu.Lock()
		p.refreshes++
		p.mu.Unlock()
		if !p.cfg.Rotate {
			writeJSON(w, http.StatusOK, p.body(grant, p.issue(clientID, false), "", scope))
			return
		}
		cur.valid = false
	default:
		p.fail(w, http.StatusBadRequest, "unsupported_grant_type", "")
		return
	}
	at := p.issue(clientID, false)
	rt := p.issue(clientID, true)
	writeJSON(w, http.StatusOK, p.body(grant, at, rt, scope))
}

// issue mints a token; callers hold iss.mu.
func (p *Provider) issue(clientID string, refresh bool) string {
	t := &token{provider: p.cfg.Name, clientID: clientID, refresh: refresh, valid: true}
	var s string
	if refresh {
		s = p.cfg.RefreshPrefix + random(48)
	} else {
		s = p.cfg.AccessPrefix + random(96)
		if !p.cfg.NoExpiry {
			t.expires = p.iss.Now().Add(p.cfg.AccessTTL)
		}
	}
	p.iss.tokens[s] = t
	return s
}

func (p *Provider) body(grant, at, rt, scope string) map[string]any {
	b := map[string]any{"access_token": at, "token_type": p.cfg.TokenType}
	if !p.cfg.NoExpiry {
		b["expires_in"] = int(p.cfg.AccessTTL.Seconds())
	}
	if rt != "" {
		b["refresh_token"] = rt
	}
	if scope != "" {
		b["scope"] = scope
	}
	if p.cfg.Style == StyleSlack {
		b["ok"] = true
	}
	if p.cfg.Extra != nil {
		for k, v := range p.cfg.Extra(grant) {
			b[k] = v
		}
	}
	return b
}

// revokeForm is RFC 7009 revocation (token=… in the form); unknown or
// already revoked tokens answer 400 invalid_token as Google does.
func (p *Provider) revokeForm(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	if !p.Revoke(r.Form.Get("token")) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_token", "error_description": "Token expired or revoked"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}
