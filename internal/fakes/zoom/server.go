package zoom

import (
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/aqio/connect/internal/fakes/oauth"
)

// Server is Zoom as the service sees it, on one httptest server: the
// authorization server (the shared OAuth fake with Zoom's shapes: HTTP
// Basic client authentication only, PKCE, hour-long access tokens,
// refresh tokens that rotate on every use, api_url in token answers),
// Zoom's revoke endpoint, and the API (the embedded *Fake, under /v2)
// checking those tokens.
type Server struct {
	*httptest.Server
	*Fake
	OAuth *oauth.Provider

	clients map[string]string
}

// NewServer starts Zoom with the OAuth clients (id → secret) on iss
// (shared with the other provider fakes, so their tokens are refused).
func NewServer(iss *oauth.Issuer, clients map[string]string) *Server {
	mux := http.NewServeMux()
	s := &Server{clients: clients}
	s.OAuth = iss.Mount(mux, "", oauth.Config{
		Name: "zoom", Clients: clients, ClientAuth: oauth.ClientAuthBasic, RequirePKCE: true,
		AuthorizePath: "/oauth/authorize", TokenPath: "/oauth/token", RevokePath: "-",
		AccessPrefix: "eyJzdiI6IjAwMDAwMiIsImFsZyI6IkhTNTEyIiwidiI6IjIuMCJ9.", RefreshPrefix: "eyJzdiI6IjAwMDAwMiIsImFsZyI6IkhTNTEyIiwidiI6IjIuMCJ9.r",
		AccessTTL: 3599 * time.Second, Rotate: true, TokenType: "bearer",
		Extra: func(string) map[string]any { return map[string]any{"api_url": s.URL} },
	})
	s.Fake = New(Options{
		ValidToken:   func(tok string) bool { return s.OAuth.CheckToken(tok) == oauth.Valid },
		ExpiredToken: func(tok string) bool { return s.OAuth.CheckToken(tok) == oauth.Expired },
	})
	mux.HandleFunc("POST /oauth/revoke", s.revoke)
	mux.Handle("/v2/", s.Fake)
	s.Server = httptest.NewServer(mux)
	return s
}

// revoke is Zoom's token revocation: HTTP Basic client authentication,
// token in the form (or the query), {"status":"success"}.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if want, known := s.clients[id]; !ok || !known || want != secret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"reason": "Invalid client_id or client_secret", "error": "invalid_client"})
		return
	}
	_ = r.ParseForm()
	if !s.OAuth.Revoke(r.Form.Get("token")) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"reason": "Invalid Token!", "error": "invalid_request"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success"})
}

// AuthURL, TokenURL, RevokeURL are the OAuth endpoints (zoom.us at Zoom)
// and APIBaseURL the API base (https://api.zoom.us/v2), for
// config.ProviderConfig.
func (s *Server) AuthURL() string    { return s.URL + "/oauth/authorize" }
func (s *Server) TokenURL() string   { return s.URL + "/oauth/token" }
func (s *Server) RevokeURL() string  { return s.URL + "/oauth/revoke" }
func (s *Server) APIBaseURL() string { return s.URL + "/v2" }
