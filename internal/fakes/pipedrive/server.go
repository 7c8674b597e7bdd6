package pipedrive

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/aqio/connect/internal/fakes/oauth"
)

// Mounted is Pipedrive mounted on a mux under a path prefix: the
// authorization server (the shared OAuth fake with Pipedrive's rules:
// HTTP Basic client authentication only, hour-long access tokens,
// api_domain in token answers), Pipedrive's revoke endpoint, and the API
// (the embedded *Fake, under <prefix>/api/) checking those tokens.
type Mounted struct {
	*Fake
	OAuth *oauth.Provider

	prefix  string
	clients map[string]string
}

// Mount mounts Pipedrive on mux under prefix ("" or "/pipedrive") with the
// OAuth clients (id → secret) on iss (shared with the other provider
// fakes, so their tokens are refused). base returns the server's URL (for
// api_domain, which then is base()+prefix).
func Mount(mux *http.ServeMux, iss *oauth.Issuer, prefix string, clients map[string]string, base func() string, opts Options) *Mounted {
	m := &Mounted{prefix: prefix, clients: clients}
	m.OAuth = iss.Mount(mux, prefix, oauth.Config{
		Name: "pipedrive", Clients: clients, ClientAuth: oauth.ClientAuthBasic,
		AuthorizePath: "/oauth/authorize", TokenPath: "/oauth/token", RevokePath: "-",
		// Pipedrive tokens are "<company id>:<user id>:<hex>".
		AccessPrefix: "13310544:13310544:", RefreshPrefix: "13310544:13310544:r", AccessTTL: 3599 * time.Second, TokenType: "Bearer",
		Extra: func(string) map[string]any { return map[string]any{"api_domain": base() + prefix} },
	})
	if opts.CheckToken == nil {
		opts.CheckToken = func(tok string) error {
			if m.OAuth.CheckToken(tok) == oauth.Valid {
				return nil
			}
			return errors.New("invalid token")
		}
	}
	m.Fake = New(opts)
	mux.HandleFunc("POST "+prefix+"/oauth/revoke", m.revoke)
	var api http.Handler = m.Fake
	if prefix != "" {
		api = http.StripPrefix(prefix, api)
	}
	mux.Handle(prefix+"/api/", api)
	return m
}

// revoke is Pipedrive's token revocation: HTTP Basic client
// authentication, form token (and token_type_hint); an unknown token is
// not an error (RFC 7009).
func (m *Mounted) revoke(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if want, known := m.clients[id]; !ok || !known || want != secret {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "message": "Invalid client credentials", "error": "invalid_client"})
		return
	}
	_ = r.ParseForm()
	m.OAuth.Revoke(r.Form.Get("token")) // revoked ones are listed by m.OAuth.Revoked()
	w.WriteHeader(http.StatusOK)
}

// AuthPath, TokenPath, RevokePath and APIPath are the endpoints' paths
// (oauth.pipedrive.com/oauth/… and <company>.pipedrive.com at Pipedrive).
func (m *Mounted) AuthPath() string   { return m.prefix + "/oauth/authorize" }
func (m *Mounted) TokenPath() string  { return m.prefix + "/oauth/token" }
func (m *Mounted) RevokePath() string { return m.prefix + "/oauth/revoke" }
func (m *Mounted) APIPath() string    { return m.prefix }

// Server is Pipedrive alone on an httptest server.
type Server struct {
	*httptest.Server
	*Mounted
}

// NewServer starts Pipedrive alone (see Mount).
func NewServer(iss *oauth.Issuer, clients map[string]string, opts Options) *Server {
	mux := http.NewServeMux()
	s := &Server{}
	s.Server = httptest.NewServer(mux)
	s.Mounted = Mount(mux, iss, "", clients, func() string { return s.Server.URL }, opts)
	return s
}
