package console

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Paths of the OpenID Connect sign-in.
const (
	LoginPath         = Prefix + "/login"
	CallbackPath      = Prefix + "/callback"
	SignInOptionsPath = Prefix + "/sign-in-options"
	loginCookie       = "aqio_console_login"
	loginTTL          = 10 * time.Minute
	// refreshBefore: an access token that expires sooner than this is
	// refreshed before a request is sent with it.
	refreshBefore = 30 * time.Second
)

// Identity is what the API's token verifier says about an access token.
type Identity struct {
	UserID        string
	Organizations []string
	// SupportOrganizations are the organizations a support user is granted
	// (docs/AUTH.md, support staff; "*": every one); empty for other users.
	SupportOrganizations []string
	Expiry               time.Time
}

// pickable is what the organization picker offers: the user's
// memberships, then the organizations granted to them as support staff
// ("*" cannot be listed: such a user names one at /console/login).
func (id Identity) pickable() []string {
	out := slices.Clone(id.Organizations)
	for _, o := range id.SupportOrganizations {
		if o != "*" && o != "" && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// OIDC configures sign-in with the identity provider (Keycloak): the
// authorization code flow with PKCE (S256), a nonce in the ID token and
// the state bound to the browser that started the sign-in.
type OIDC struct {
	Issuer       string
	ClientID     string
	ClientSecret string // optional: a public client relies on PKCE
	Scopes       []string
	// RedirectURL is the callback's absolute URL; empty: derived from the
	// request (scheme from TLS or X-Forwarded-Proto, and Host).
	RedirectURL string
	HTTPClient  *http.Client
	// Verify checks an access token exactly as the API does (the same
	// verifier: issuer, audience, signature, time claims).
	Verify func(ctx context.Context, token string) (Identity, error)
}

// oidcClient is the discovered provider (discovery runs at the first sign-in).
type oidcClient struct {
	cfg *OIDC

	mu       sync.Mutex
	provider *oidc.Provider
	pending  map[string]*pendingLogin // by state
}

type pendingLogin struct {
	binding  string // SHA-256 of the login cookie
	nonce    string
	verifier string
	org      string
	redirect string
	expires  time.Time
}

func (c *oidcClient) ctx(ctx context.Context) context.Context {
	if c.cfg.HTTPClient != nil {
		return oidc.ClientContext(ctx, c.cfg.HTTPClient)
	}
	return ctx
}

func (c *oidcClient) discover(ctx context.Context) (*oidc.Provider, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider != nil {
		return c.provider, nil
	}
	p, err := oidc.NewProvider(c.ctx(context.WithoutCancel(ctx)), c.cfg.Issuer)
	if err != nil {
		return nil, err
	}
	c.provider = p
	return p, nil
}

func (c *oidcClient) oauth(p *oidc.Provider, redirect string) *oauth2.Config {
	scopes := c.cfg.Scopes
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	return &oauth2.Config{ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: redirect, Scopes: scopes}
}

func (c *oidcClient) redirectURL(r *http.Request) string {
	if c.cfg.RedirectURL != "" {
		return c.cfg.RedirectURL
	}
	scheme := "http"
	if secureRequest(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host + CallbackPath
}

func secureRequest(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// serveSignInOptions tells the sign-in page which ways in this server offers.
func (h *Handler) serveSignInOptions(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	out := map[string]any{"token": true, "oidc": h.oidc != nil}
	if h.oidc != nil {
		out["login_url"] = LoginPath
	}
	writeJSON(w, http.StatusOK, out)
}

// serveLogin starts the authorization code flow: state, nonce and the
// PKCE verifier stay on the server, keyed by the state and bound to this
// browser by a short-lived HttpOnly cookie; the browser goes to the provider.
func (h *Handler) serveLogin(w http.ResponseWriter, r *http.Request) {
	if h.oidc == nil {
		writeError(w, http.StatusNotFound, "oidc_not_configured", "", "sign-in with the identity provider is not configured (AQIO_CONSOLE_OIDC_CLIENT_ID)")
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "", r.Method+" is not allowed on "+LoginPath)
		return
	}
	org := strings.TrimSpace(r.URL.Query().Get("organization_id"))
	if len(org) > 100 {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "organization_id", "organization_id: at most 100 characters")
		return
	}
	p, err := h.oidc.discover(r.Context())
	if err != nil {
		h.log.Error("console: oidc discovery", "err", err)
		writeError(w, http.StatusBadGateway, "identity_provider_unavailable", "", "the identity provider did not answer its discovery document")
		return
	}
	state, nonce, binding := randomToken(), randomToken(), randomToken()
	verifier := oauth2.GenerateVerifier()
	redirect := h.oidc.redirectURL(r)
	now := h.now()
	h.oidc.mu.Lock()
	if h.oidc.pending == nil {
		h.oidc.pending = map[string]*pendingLogin{}
	}
	for k, v := range h.oidc.pending {
		if !now.Before(v.expires) {
			delete(h.oidc.pending, k)
		}
	}
	h.oidc.pending[state] = &pendingLogin{binding: hash(binding), nonce: nonce, verifier: verifier, org: org,
		redirect: redirect, expires: now.Add(loginTTL)}
	h.oidc.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: binding, Path: Prefix, MaxAge: int(loginTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.secureCookies(r)})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, h.oidc.oauth(p, redirect).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), http.StatusFound)
}

// serveCallback finishes the flow: the state must be one this server
// issued to this browser (one use), the code is exchanged with the PKCE
// verifier, the ID token's signature, audience and nonce are checked and
// the access token is verified as the API verifies it. The browser gets
// an opaque session cookie; the tokens stay on the server.
func (h *Handler) serveCallback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if h.oidc == nil {
		writeError(w, http.StatusNotFound, "oidc_not_configured", "", "sign-in with the identity provider is not configured")
		return
	}
	q := r.URL.Query()
	h.oidc.mu.Lock()
	pl := h.oidc.pending[q.Get("state")]
	delete(h.oidc.pending, q.Get("state"))
	h.oidc.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: h.secureCookies(r)})
	c, err := r.Cookie(loginCookie)
	if pl == nil || !h.now().Before(pl.expires) || err != nil ||
		subtle.ConstantTimeCompare([]byte(hash(c.Value)), []byte(pl.binding)) != 1 {
		writeError(w, http.StatusBadRequest, "state_mismatch", "state",
			"state: not a sign-in this browser started (or it expired); sign in again at "+LoginPath)
		return
	}
	if e := q.Get("error"); e != "" {
		writeError(w, http.StatusUnauthorized, "login_refused", "", "the identity provider refused the sign-in: "+truncate(e+" "+q.Get("error_description"), 200))
		return
	}
	p, err := h.oidc.discover(r.Context())
	if err != nil {
		writeError(w, http.StatusBadGateway, "identity_provider_unavailable", "", "the identity provider did not answer its discovery document")
		return
	}
	ctx := h.oidc.ctx(r.Context())
	tok, err := h.oidc.oauth(p, pl.redirect).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pl.verifier))
	if err != nil {
		h.log.Warn("console: oidc code exchange", "err", err)
		writeError(w, http.StatusUnauthorized, "code_exchange_failed", "code", "the identity provider refused the authorization code (or its PKCE verifier); sign in again")
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	idTok, err := p.Verifier(&oidc.Config{ClientID: h.oidc.cfg.ClientID}).Verify(ctx, rawID)
	if err != nil || subtle.ConstantTimeCompare([]byte(idTok.Nonce), []byte(pl.nonce)) != 1 {
		writeError(w, http.StatusUnauthorized, "invalid_id_token", "", "the identity provider's ID token is missing, not valid for this console or not for this sign-in (nonce)")
		return
	}
	id, err := h.oidc.cfg.Verify(r.Context(), tok.AccessToken)
	if err != nil {
		writeError(w, http.StatusUnauthorized, "invalid_token", "", "the access token is not valid for this service")
		return
	}
	if id.UserID != idTok.Subject {
		writeError(w, http.StatusUnauthorized, "invalid_token", "", "the access token and the ID token name different users")
		return
	}
	orgs := id.pickable()
	org := pl.org
	if org == "" && len(orgs) > 0 {
		org = orgs[0]
	}
	if org != "" && !slices.Contains(orgs, org) && slices.Contains(id.SupportOrganizations, "*") {
		orgs = append(orgs, org) // named at login by support staff granted every organization
	}
	s := &session{token: tok.AccessToken, refresh: tok.RefreshToken, idToken: rawID, tokenExpiry: id.Expiry, organizationID: org,
		auth: "user_jwt", login: "oidc", userID: id.UserID, organizations: orgs, csrf: randomToken(),
		expires: h.now().Add(h.ttl)}
	if h.store(r, w, s) {
		http.Redirect(w, r, Prefix+"/", http.StatusFound)
	}
}

// fresh returns the session's access token, refreshed first when it
// expires within refreshBefore. ok is false when it could not be
// refreshed: the session is over and the user signs in again.
func (h *Handler) fresh(ctx context.Context, s *session) (string, bool) {
	h.mu.Lock()
	token, refresh, expiry := s.token, s.refresh, s.tokenExpiry
	h.mu.Unlock()
	if s.login != "oidc" || h.now().Add(refreshBefore).Before(expiry) {
		return token, true
	}
	if refresh == "" || h.oidc == nil {
		return "", false
	}
	// One refresh at a time in this process: a second request that waited
	// uses the tokens the first one got (providers that rotate refresh
	// tokens refuse the old one).
	h.refreshMu.Lock()
	defer h.refreshMu.Unlock()
	if h.saved != nil {
		if st, err := h.saved.Load(ctx, s.id); err == nil && st != nil {
			refresh = st.Refresh
			if h.now().Add(refreshBefore).Before(st.TokenExpiry) {
				return st.Token, true
			}
		}
	} else {
		h.mu.Lock()
		token, refresh, expiry = s.token, s.refresh, s.tokenExpiry
		h.mu.Unlock()
		if h.now().Add(refreshBefore).Before(expiry) {
			return token, true
		}
	}
	p, err := h.oidc.discover(ctx)
	if err != nil {
		return "", false
	}
	cfg := h.oidc.oauth(p, "")
	tok, err := cfg.TokenSource(h.oidc.ctx(ctx), &oauth2.Token{RefreshToken: refresh, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		h.log.Info("console: token refresh refused; signing the session out", "err", err)
		return "", false
	}
	id, err := h.oidc.cfg.Verify(ctx, tok.AccessToken)
	if err != nil || id.UserID != s.userID {
		return "", false
	}
	h.mu.Lock()
	s.token, s.tokenExpiry = tok.AccessToken, id.Expiry
	if tok.RefreshToken != "" {
		s.refresh = tok.RefreshToken
	}
	if idt, _ := tok.Extra("id_token").(string); idt != "" {
		s.idToken = idt
	}
	h.mu.Unlock()
	h.save(ctx, s)
	return tok.AccessToken, true
}

// switchOrganization (PATCH /console/session) moves an OIDC session to
// another of the user's organizations (support staff: one they are
// granted, which the API decides).
func (h *Handler) switchOrganization(w http.ResponseWriter, r *http.Request, s *session, org string) {
	org = strings.TrimSpace(org)
	if org == "" || len(org) > 100 {
		writeError(w, http.StatusUnprocessableEntity, "invalid_field", "organization_id", "organization_id: name the organization to act for")
		return
	}
	if s.login != "oidc" {
		writeError(w, http.StatusConflict, "organization_fixed", "organization_id",
			"a session signed in with a pasted credential keeps its organization; sign in again to change it")
		return
	}
	token, ok := h.fresh(r.Context(), s)
	if !ok {
		h.drop(r.Context(), s)
		writeError(w, http.StatusUnauthorized, "session_expired", "", "the sign-in has expired; sign in again at "+LoginPath)
		return
	}
	rec := h.probe(r, token, org)
	if rec.code != http.StatusOK {
		copyHeader(w.Header(), rec.header, "Content-Type")
		w.WriteHeader(rec.code)
		_, _ = w.Write(rec.body.Bytes())
		return
	}
	h.mu.Lock()
	s.organizationID = org
	h.mu.Unlock()
	h.save(r.Context(), s)
	writeJSON(w, http.StatusOK, s.info())
}

// logoutURL is the provider's end_session_endpoint (from discovery) with
// the session's ID token as id_token_hint, the client id and /console as
// post_logout_redirect_uri (it must be registered at the provider as a
// valid post-logout redirect URI); "" when the provider offers none.
func (h *Handler) logoutURL(r *http.Request, s *session) string {
	if h.oidc == nil {
		return ""
	}
	p, err := h.oidc.discover(r.Context())
	if err != nil {
		h.log.Warn("console: oidc discovery at sign-out", "err", err)
		return ""
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if p.Claims(&meta) != nil || meta.EndSession == "" {
		return ""
	}
	u, err := url.Parse(meta.EndSession)
	if err != nil {
		return ""
	}
	q := u.Query()
	h.mu.Lock()
	if s.idToken != "" {
		q.Set("id_token_hint", s.idToken)
	}
	h.mu.Unlock()
	q.Set("client_id", h.oidc.cfg.ClientID)
	q.Set("post_logout_redirect_uri", h.oidc.postLogoutURL(r))
	u.RawQuery = q.Encode()
	return u.String()
}

// postLogoutURL is /console on the origin the callback uses.
func (c *oidcClient) postLogoutURL(r *http.Request) string {
	return strings.TrimSuffix(c.redirectURL(r), CallbackPath) + Prefix
}

func (h *Handler) secureCookies(r *http.Request) bool { return !h.dev || secureRequest(r) }

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
