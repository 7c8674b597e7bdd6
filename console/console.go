// Package console serves the developer console: the built front end
// (dist/, embedded) at /console with a single-page-app fallback, a small
// session endpoint that exchanges a bearer credential for an HttpOnly
// cookie, and /console/api/*, which forwards to the public API (/api/*)
// with the session's credential. The console has no back door: every
// request it makes is an ordinary API request, authenticated, validated
// and authorized by the API's own middleware.
package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

// Paths and names the front end relies on.
const (
	Prefix        = "/console"
	SessionPath   = Prefix + "/session"
	APIPrefix     = Prefix + "/api/"
	CookieName    = "aqio_console_session"
	CSRFHeader    = "X-CSRF-Token"
	orgHeader     = "X-Aqio-Organization-Id"
	probePath     = "/api/event-types" // any authenticated caller may read it
	maxLoginBytes = 16 << 10
)

// DefaultSessionTTL is how long a console session lasts after sign-in.
const DefaultSessionTTL = 12 * time.Hour

// Options configure the handler.
type Options struct {
	// API serves the public API; /console/api/x is forwarded to it as /api/x.
	API    http.Handler
	Logger *slog.Logger
	// Assets default to the embedded build.
	Assets fs.FS
	// SessionTTL defaults to DefaultSessionTTL; Now to time.Now.
	SessionTTL time.Duration
	Now        func() time.Time
	// OIDC turns on sign-in with the identity provider (console/oidc.go).
	OIDC *OIDC
	// Dev allows the OIDC cookies over plain HTTP (`dev`); otherwise they
	// are Secure.
	Dev bool
	// Sessions keeps sessions outside the process (the database), so they
	// survive a restart and every replica sees them; nil keeps them in
	// this process's memory.
	Sessions SessionStore
}

// SessionStore keeps sessions by the SHA-256 of their cookie value.
type SessionStore interface {
	Load(ctx context.Context, idHash string) (*StoredSession, error) // nil, nil: none (or expired)
	Save(ctx context.Context, s StoredSession) error
	Delete(ctx context.Context, idHash string) error
}

// StoredSession is a session as a SessionStore keeps it.
type StoredSession struct {
	IDHash, Auth, Login, OrganizationID, UserID, CSRF string
	Organizations                                     []string
	Token, Refresh                                    string // credentials: the store must encrypt them
	// IDToken is the provider's ID token (OIDC sessions), sent back as
	// id_token_hint when signing out ends the provider's session too.
	IDToken              string
	TokenExpiry, Expires time.Time
}

// Handler serves everything under /console.
type Handler struct {
	api    http.Handler
	log    *slog.Logger
	assets fs.FS
	ttl    time.Duration
	now    func() time.Time
	oidc   *oidcClient
	dev    bool
	saved  SessionStore

	mu        sync.Mutex
	sessions  map[string]*session
	refreshMu sync.Mutex // one OIDC token refresh at a time
}

type session struct {
	id             string // SHA-256 of the cookie value
	token          string
	organizationID string
	auth           string // service_token, api_key or user_jwt
	login          string // "token" (pasted) or "oidc"
	csrf           string
	expires        time.Time
	// OIDC sessions: the user, their organizations, the refresh token and
	// the access token's expiry (fields guarded by Handler.mu once stored).
	userID        string
	organizations []string
	refresh       string
	tokenExpiry   time.Time
	idToken       string
}

// New builds the handler.
func New(o Options) *Handler {
	h := &Handler{api: o.API, log: o.Logger, assets: o.Assets, ttl: o.SessionTTL, now: o.Now, sessions: map[string]*session{}, dev: o.Dev, saved: o.Sessions}
	if o.OIDC != nil && o.OIDC.Verify != nil {
		h.oidc = &oidcClient{cfg: o.OIDC}
	}
	if h.assets == nil {
		h.assets = Assets()
	}
	if h.ttl <= 0 {
		h.ttl = DefaultSessionTTL
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == SessionPath:
		h.serveSession(w, r)
	case p == LoginPath:
		h.serveLogin(w, r)
	case p == CallbackPath:
		h.serveCallback(w, r)
	case p == SignInOptionsPath:
		h.serveSignInOptions(w, r)
	case strings.HasPrefix(p, APIPrefix):
		h.proxy(w, r)
	case p == Prefix || strings.HasPrefix(p, Prefix+"/"):
		h.serveAsset(w, r)
	default:
		writeError(w, http.StatusNotFound, "not_found", "", "no such console page")
	}
}

// serveAsset serves dist/: hashed files under assets/ are immutable;
// every other path that is not a file gets index.html (the front end
// routes on the path), never cached so a new build is picked up at once.
func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "", r.Method+" is not allowed on "+r.URL.Path)
		return
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, Prefix), "/")
	rel = strings.TrimPrefix(path.Clean("/"+rel), "/")
	securityHeaders(w.Header())
	if rel != "" && rel != "index.html" {
		if b, err := fs.ReadFile(h.assets, rel); err == nil {
			if strings.HasPrefix(rel, "assets/") {
				w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			} else {
				w.Header().Set("Cache-Control", "no-cache")
			}
			http.ServeContent(w, r, rel, time.Time{}, bytes.NewReader(b))
			return
		}
		if strings.HasPrefix(rel, "assets/") || path.Ext(rel) != "" {
			// A missing asset is a 404, not the page: a stale tab asking
			// for an old chunk must not parse HTML as JavaScript.
			writeError(w, http.StatusNotFound, "not_found", "", "no such console file: "+rel)
			return
		}
	}
	b, err := fs.ReadFile(h.assets, "index.html")
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "", "the console is not built")
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(b))
}

func securityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	// Everything comes from this origin: no CDN, no inline script. The API
	// explorer (Swagger UI) sets inline styles and uses data: images.
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "+
		"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
}

// SessionInfo is what GET and POST /console/session answer (never the
// credential itself).
type SessionInfo struct {
	OrganizationID string    `json:"organization_id"`
	Auth           string    `json:"auth"`
	CSRFToken      string    `json:"csrf_token"`
	ExpiresAt      time.Time `json:"expires_at"`
	// Login is "token" (a pasted credential) or "oidc" (the identity
	// provider); an OIDC session also has the user and the organizations
	// they may switch to (PATCH /console/session).
	Login         string   `json:"login"`
	UserID        string   `json:"user_id,omitempty"`
	Organizations []string `json:"organizations,omitempty"`
}

type loginRequest struct {
	Token          string `json:"token"`
	OrganizationID string `json:"organization_id"`
}

func (h *Handler) serveSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch r.Method {
	case http.MethodGet:
		s := h.current(r)
		if s == nil {
			writeError(w, http.StatusUnauthorized, "no_session", "", "not signed in to the console")
			return
		}
		writeJSON(w, http.StatusOK, s.info())
	case http.MethodPost:
		h.login(w, r)
	case http.MethodPatch:
		s := h.current(r)
		if s == nil {
			writeError(w, http.StatusUnauthorized, "no_session", "", "not signed in to the console")
			return
		}
		if !checkCSRF(w, r, s) {
			return
		}
		var in struct {
			OrganizationID string `json:"organization_id"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, maxLoginBytes))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			writeError(w, http.StatusBadRequest, "malformed_json", "body", "request body must be a JSON object with organization_id")
			return
		}
		h.switchOrganization(w, r, s, in.OrganizationID)
	case http.MethodDelete:
		// Sign-out deletes the session here first; an OIDC session then
		// ends the provider's session too (RP-initiated logout): the page
		// sends the browser to logout_url, which comes back to /console.
		s := h.current(r)
		logout := ""
		if s != nil {
			if !checkCSRF(w, r, s) {
				return
			}
			h.drop(r.Context(), s)
			if s.login == "oidc" {
				logout = h.logoutURL(r, s)
			}
		}
		http.SetCookie(w, h.cookie(r, "", -1))
		if logout != "" {
			writeJSON(w, http.StatusOK, map[string]string{"logout_url": logout})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST, PATCH, DELETE")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "", r.Method+" is not allowed on "+SessionPath)
	}
}

// login checks the credential with one API request (as the API would see
// it) and keeps it server-side; the browser only gets an opaque cookie.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross_origin", "Origin", "sign-in must come from the console's own origin")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "body", "request body must be application/json")
		return
	}
	var in loginRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxLoginBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "malformed_json", "body", "request body must be a JSON object with token and organization_id")
		return
	}
	in.Token = strings.TrimSpace(in.Token)
	in.OrganizationID = strings.TrimSpace(in.OrganizationID)
	if in.Token == "" {
		writeError(w, http.StatusUnprocessableEntity, "invalid_field", "token", "token: paste the service token or an API key")
		return
	}
	auth := "service_token"
	if strings.HasPrefix(in.Token, "ak_") {
		auth = "api_key"
		in.OrganizationID = "" // the key names its organization
	} else if in.OrganizationID == "" {
		writeError(w, http.StatusUnprocessableEntity, "invalid_field", "organization_id", "organization_id: the service token acts for one organization; name it")
		return
	}

	rec := h.probe(r, in.Token, in.OrganizationID)
	switch {
	case rec.code == http.StatusOK, rec.code == http.StatusForbidden && auth == "api_key" && !refusedKey(rec.body.Bytes()):
	default:
		// The API's own refusal (invalid credential, bad organization id,
		// expired key, rate limit…) is the answer, with its status.
		copyHeader(w.Header(), rec.header, "Content-Type", "Retry-After", "WWW-Authenticate")
		w.WriteHeader(rec.code)
		_, _ = w.Write(rec.body.Bytes())
		return
	}

	s := &session{token: in.Token, organizationID: in.OrganizationID, auth: auth, login: "token", csrf: randomToken(),
		expires: h.now().Add(h.ttl)}
	if h.store(r, w, s) {
		writeJSON(w, http.StatusCreated, s.info())
	}
}

// probe makes one API request (GET /api/event-types) with a credential, as
// the API would see it from this browser.
func (h *Handler) probe(r *http.Request, token, org string) *recorder {
	rec := &recorder{header: http.Header{}}
	probe, err := http.NewRequestWithContext(r.Context(), http.MethodGet, probePath, nil)
	if err != nil {
		rec.code = http.StatusInternalServerError
		return rec
	}
	probe.Body = http.NoBody // as on a server request; the API's middleware reads it
	probe.Host = r.Host
	probe.RequestURI = probePath
	probe.RemoteAddr = r.RemoteAddr
	copyHeader(probe.Header, r.Header, "X-Forwarded-For", "X-Real-Ip", "X-Request-Id")
	probe.Header.Set("Authorization", "Bearer "+token)
	if org != "" {
		probe.Header.Set(orgHeader, org)
	}
	h.api.ServeHTTP(rec, probe)
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	return rec
}

// store keeps a new session (replacing the browser's previous one) and
// sets its cookie; false when it could not be kept (answered already).
func (h *Handler) store(r *http.Request, w http.ResponseWriter, s *session) bool {
	id := randomToken()
	s.id = hash(id)
	old, _ := r.Cookie(CookieName)
	if h.saved != nil {
		if old != nil {
			_ = h.saved.Delete(r.Context(), hash(old.Value)) // signing in again replaces the session
		}
		if err := h.saved.Save(r.Context(), s.stored()); err != nil {
			h.log.Error("console: save session", "err", err)
			writeError(w, http.StatusServiceUnavailable, "session_store_unavailable", "", "the session could not be saved; try again")
			return false
		}
	} else {
		h.mu.Lock()
		now := h.now()
		for k, v := range h.sessions {
			if !now.Before(v.expires) {
				delete(h.sessions, k)
			}
		}
		if old != nil {
			delete(h.sessions, hash(old.Value)) // signing in again replaces the session
		}
		h.sessions[s.id] = s
		h.mu.Unlock()
	}
	c := h.cookie(r, id, int(h.ttl/time.Second))
	if s.login == "oidc" {
		// Lax: the cookie is set on the redirect back from the provider,
		// a cross-site navigation; every state change needs the CSRF token.
		c.SameSite, c.Secure = http.SameSiteLaxMode, h.secureCookies(r)
	}
	http.SetCookie(w, c)
	return true
}

// drop ends a session.
func (h *Handler) drop(ctx context.Context, s *session) {
	if h.saved != nil {
		if err := h.saved.Delete(ctx, s.id); err != nil {
			h.log.Error("console: delete session", "err", err)
		}
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.sessions, s.id)
}

// save writes back a changed session (refreshed tokens, organization).
func (h *Handler) save(ctx context.Context, s *session) {
	if h.saved == nil {
		return // the map holds the very session
	}
	h.mu.Lock()
	st := s.stored()
	h.mu.Unlock()
	if err := h.saved.Save(ctx, st); err != nil {
		h.log.Error("console: save session", "err", err)
	}
}

func (s *session) stored() StoredSession {
	return StoredSession{IDHash: s.id, Auth: s.auth, Login: s.login, OrganizationID: s.organizationID, UserID: s.userID,
		Organizations: s.organizations, CSRF: s.csrf, Token: s.token, Refresh: s.refresh, TokenExpiry: s.tokenExpiry,
		Expires: s.expires, IDToken: s.idToken}
}

// refusedKey reports whether a 403 is a refusal of the key itself (an IP
// not allowed), rather than a missing scope for the probe.
func refusedKey(body []byte) bool {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Error.Code != "insufficient_scope"
}

// proxy forwards /console/api/x to the API as /api/x with the session's
// credential. State-changing methods need the session's CSRF token.
func (h *Handler) proxy(w http.ResponseWriter, r *http.Request) {
	s := h.current(r)
	if s == nil {
		writeError(w, http.StatusUnauthorized, "no_session", "", "not signed in to the console (POST "+SessionPath+")")
		return
	}
	if !safeMethod(r.Method) && !checkCSRF(w, r, s) {
		return
	}
	token, ok := h.fresh(r.Context(), s)
	if !ok {
		h.drop(r.Context(), s)
		http.SetCookie(w, h.cookie(r, "", -1))
		writeError(w, http.StatusUnauthorized, "session_expired", "", "the sign-in has expired and could not be renewed; sign in again at "+LoginPath)
		return
	}
	out := r.Clone(r.Context())
	out.URL = &url.URL{Path: strings.TrimPrefix(r.URL.Path, Prefix), RawQuery: r.URL.RawQuery}
	if r.URL.RawPath != "" {
		out.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, Prefix)
	}
	out.RequestURI = out.URL.RequestURI()
	out.Header.Del("Cookie")
	out.Header.Del(CSRFHeader)
	out.Header.Set("Authorization", "Bearer "+token)
	out.Header.Del(orgHeader)
	h.mu.Lock()
	org := s.organizationID
	h.mu.Unlock()
	if org != "" {
		out.Header.Set(orgHeader, org)
	}
	w.Header().Set("Cache-Control", "no-store")
	h.api.ServeHTTP(w, out)
}

func (h *Handler) current(r *http.Request) *session {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	id := hash(c.Value)
	if h.saved != nil {
		st, err := h.saved.Load(r.Context(), id)
		if err != nil {
			h.log.Error("console: load session", "err", err)
		}
		if st == nil || !h.now().Before(st.Expires) {
			return nil
		}
		return &session{id: id, token: st.Token, organizationID: st.OrganizationID, auth: st.Auth, login: st.Login,
			csrf: st.CSRF, expires: st.Expires, userID: st.UserID, organizations: st.Organizations, refresh: st.Refresh,
			tokenExpiry: st.TokenExpiry, idToken: st.IDToken}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sessions[id]
	if s == nil {
		return nil
	}
	if !h.now().Before(s.expires) {
		delete(h.sessions, id)
		return nil
	}
	return s
}

func (s *session) info() SessionInfo {
	return SessionInfo{OrganizationID: s.organizationID, Auth: s.auth, CSRFToken: s.csrf, ExpiresAt: s.expires.UTC(),
		Login: s.login, UserID: s.userID, Organizations: s.organizations}
}

// cookie is HttpOnly and SameSite=Strict, scoped to /console; Secure when
// the console is reached over TLS (directly or through a proxy that says so).
func (h *Handler) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: CookieName, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"),
	}
}

func checkCSRF(w http.ResponseWriter, r *http.Request, s *session) bool {
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross_origin", "Origin", "console requests must come from the console's own origin")
		return false
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
		writeError(w, http.StatusForbidden, "csrf_token_invalid", CSRFHeader,
			CSRFHeader+" header: missing or not this session's token (GET "+SessionPath+" returns it)")
		return false
	}
	return true
}

// sameOrigin accepts a request without an Origin header (not a browser's
// cross-site request) or one whose Origin's host is the request's host.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func copyHeader(dst, src http.Header, names ...string) {
	for _, n := range names {
		if v := src.Values(n); len(v) > 0 {
			dst[http.CanonicalHeaderKey(n)] = append([]string(nil), v...)
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers in the API's error shape.
func writeError(w http.ResponseWriter, status int, code, field, msg string) {
	body := map[string]any{"code": code, "message": msg}
	if field != "" {
		body["field"] = field
	}
	writeJSON(w, status, map[string]any{"error": body})
}

// recorder keeps the API's answer to the sign-in probe.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
