package zoom

import (
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/aqio/connect/internal/fakes/oauth"
)

// Mounted is Zoom mounted on a mux under a path prefix: the authorization
// server (the shared OAuth fake with Zoom's rules: HTTP Basic client
// authentication only, PKCE required, hour-long access tokens, refresh
// tokens that rotate on every use, api_url in token answers), Zoom's
// revoke endpoint, and the API (the embedded *Fake, under <prefix>/v2)
// checking those tokens.
type Mounted struct {
	*Fake
	OAuth *oauth.Provider

	prefix  string
	clients map[string]string
}

// Mount mounts Zoom on mux under prefix ("" or "/zoom") with the OAuth
// clients (id → secret) on iss (shared with the other provider fakes, so
// their tokens are refused). base returns the server's URL (for api_url).
func Mount(mux *http.ServeMux, iss *oauth.Issuer, prefix string, clients map[string]string, base func() string) *Mounted {
	m := &Mounted{prefix: prefix, clients: clients}
	m.OAuth = iss.Mount(mux, prefix, oauth.Config{
		Name: "zoom", Clients: clients, ClientAuth: oauth.ClientAuthBasic, RequirePKCE: true,
		AuthorizePath: "/oauth/authorize", TokenPath: "/oauth/token", RevokePath: "-",
		// Zoom tokens are JWT-shaped (header.payload.signature).
		AccessPrefix: "eyJzdiI6IjAwMDAwMiIsImFsZyI6IkhTNTEyIiwidiI6IjIuMCJ9.", RefreshPrefix: "eyJzdiI6IjAwMDAwMiIsImFsZyI6IkhTNTEyIiwidiI6IjIuMCJ9.r",
		AccessTTL: 3599 * time.Second, Rotate: true, TokenType: "bearer",
		Extra: func(string) map[string]any { return map[string]any{"api_url": base() + prefix} },
	})
	m.Fake = New(Options{
		ValidToken:   func(tok string) bool { return m.OAuth.CheckToken(tok) == oauth.Valid },
		ExpiredToken: func(tok string) bool { return m.OAuth.CheckToken(tok) == oauth.Expired },
	})
	mux.HandleFunc("POST "+prefix+"/oauth/revoke", m.revoke)
	var api http.Handler = m.Fake
	if prefix != "" {
		api = http.StripPrefix(prefix, api)
	}
	mux.Handle(prefix+"/v2/", api)
	return m
}

// revoke is Zoom's token revocation: HTTP Basic client authentication,
// token in the form (or the query), {"status":"success"}.
func (m *Mounted) revoke(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if want, known := m.clients[id]; !ok || !known || want != secret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"reason": "Invalid client_id or client_secret", "error": "invalid_client"})
		return
	}
	_ = r.ParseForm()
	if !m.OAuth.Revoke(r.Form.Get("token")) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"reason": "Invalid Token!", "error": "invalid_request"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success"})
}

// AuthPath, TokenPath, RevokePath and APIPath are the endpoints' paths
// (zoom.us/oauth/… and api.zoom.us/v2 at Zoom).
func (m *Mounted) AuthPath() string   { return m.prefix + "/oauth/authorize" }
func (m *Mounted) TokenPath() string  { return m.prefix + "/oauth/token" }
func (m *Mounted) RevokePath() string { return m.prefix + "/oauth/revoke" }
func (m *Mounted) APIPath() string    { return m.prefix + "/v2" }

// Server is Zoom alone on an httptest server.
type Server struct {
	*httptest.Server
	*Mounted
}

// NewServer starts Zoom on its own server.
func NewServer(iss *oauth.Issuer, clients map[string]string) *Server {
	mux := http.NewServeMux()
	s := &Server{}
	s.Mounted = Mount(mux, iss, "", clients, func() string { return s.URL })
	s.Server = httptest.NewServer(mux)
	return s
}

// AuthURL, TokenURL, RevokeURL and APIBaseURL are the server's endpoints
// (for config.ProviderConfig).
func (s *Server) AuthURL() string    { return s.URL + s.AuthPath() }
func (s *Server) TokenURL() string   { return s.URL + s.TokenPath() }
func (s *Server) RevokeURL() string  { return s.URL + s.RevokePath() }
func (s *Server) APIBaseURL() string { return s.URL + s.APIPath() }
