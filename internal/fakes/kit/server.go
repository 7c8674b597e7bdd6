package kit

import (
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/aqio/connect/internal/fakes/oauth"
)

// Mounted is Kit mounted on a mux under a path prefix: the authorization
// server (the shared OAuth fake with Kit's paths under /v4/oauth, client
// credentials in the body, optional PKCE, 48-hour access tokens, refresh
// tokens that rotate), Kit's RFC 7009 revocation, and the API (the
// embedded *Fake, under <prefix>/v4) accepting those tokens and API keys.
type Mounted struct {
	*Fake
	OAuth *oauth.Provider

	prefix  string
	clients map[string]string
}

// Mount mounts Kit on mux under prefix ("" or "/kit") with the OAuth
// clients (id → secret) on iss (shared with the other provider fakes, so
// their tokens are refused here).
func Mount(mux *http.ServeMux, iss *oauth.Issuer, prefix string, clients map[string]string, opts Options) *Mounted {
	m := &Mounted{prefix: prefix, clients: clients}
	m.OAuth = iss.Mount(mux, prefix, oauth.Config{
		Name: "kit", Clients: clients, ClientAuth: oauth.ClientAuthBody,
		AuthorizePath: "/v4/oauth/authorize", TokenPath: "/v4/oauth/token", RevokePath: "-",
		AccessTTL: 48 * time.Hour, Rotate: true, TokenType: "Bearer",
		Extra: func(string) map[string]any {
			return map[string]any{"scope": "public", "created_at": iss.Now().Unix()}
		},
	})
	if opts.CheckToken == nil {
		opts.CheckToken = func(tok string) int {
			switch m.OAuth.CheckToken(tok) {
			case oauth.Valid:
				return TokenValid
			case oauth.Expired:
				return TokenExpired
			}
			return TokenInvalid
		}
	}
	m.Fake = New(opts)
	mux.HandleFunc("POST "+prefix+"/v4/oauth/revoke", m.revoke)
	var api http.Handler = m.Fake
	if prefix != "" {
		api = http.StripPrefix(prefix, api)
	}
	for _, p := range []string{"/v4/account", "/v4/custom_fields", "/v4/tags", "/v4/tags/", "/v4/subscribers", "/v4/subscribers/"} {
		mux.Handle(prefix+p, api)
	}
	return m
}

// revoke is Kit's RFC 7009 revocation: client credentials in the form,
// the token (access or refresh) in "token"; 200 {} whether or not the
// token was known.
func (m *Mounted) revoke(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if want, known := m.clients[id]; !known || want != secret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client",
			"error_description": "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."})
		return
	}
	if r.PostForm.Get("token") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "The request is missing a required parameter: token."})
		return
	}
	m.OAuth.Revoke(r.PostForm.Get("token"))
	writeJSON(w, http.StatusOK, map[string]any{})
}

// AuthPath, TokenPath, RevokePath and APIPath are the endpoints' paths
// (api.kit.com/v4/oauth/… and api.kit.com/v4 at Kit).
func (m *Mounted) AuthPath() string   { return m.prefix + "/v4/oauth/authorize" }
func (m *Mounted) TokenPath() string  { return m.prefix + "/v4/oauth/token" }
func (m *Mounted) RevokePath() string { return m.prefix + "/v4/oauth/revoke" }
func (m *Mounted) APIPath() string    { return m.prefix + "/v4" }

// Server is Kit alone on an httptest server.
type Server struct {
	*httptest.Server
	*Mounted
}

// NewServer starts Kit on its own server (see Mount).
func NewServer(iss *oauth.Issuer, clients map[string]string, opts Options) *Server {
	mux := http.NewServeMux()
	m := Mount(mux, iss, "", clients, opts)
	return &Server{Server: httptest.NewServer(mux), Mounted: m}
}

// AuthURL, TokenURL, RevokeURL and APIBaseURL are the server's endpoints.
func (s *Server) AuthURL() string    { return s.URL + s.AuthPath() }
func (s *Server) TokenURL() string   { return s.URL + s.TokenPath() }
func (s *Server) RevokeURL() string  { return s.URL + s.RevokePath() }
func (s *Server) APIBaseURL() string { return s.URL + s.APIPath() }
