package hubspot

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/aqio/connect/internal/fakes/oauth"
)

// Mounted is HubSpot mounted on a mux: the API fake plus its
// authorization server (the shared OAuth fake).
type Mounted struct {
	*Fake
	OAuth  *oauth.Provider
	prefix string
}

// Mount mounts HubSpot on mux under prefix ("" or "/hubspot"): the
// authorization server with HubSpot's paths (prefix+/oauth/authorize,
// /oauth/v3/token, /oauth/v3/token/revoke), client credentials in the
// body, 30-minute access tokens and hub_id in token answers; and the API
// (prefix+/crm/..., /marketing/...) checking those tokens. iss is shared
// with the other provider fakes, so their tokens are refused here.
func Mount(mux *http.ServeMux, iss *oauth.Issuer, prefix string, clients map[string]string, opts Options) *Mounted {
	m := &Mounted{prefix: prefix}
	if opts.PortalID == 0 {
		opts.PortalID = 6543210
	}
	portal := opts.PortalID
	m.OAuth = iss.Mount(mux, prefix, oauth.Config{
		Name: "hubspot", Clients: clients, ClientAuth: oauth.ClientAuthBody,
		AuthorizePath: "/oauth/authorize", TokenPath: "/oauth/v3/token", RevokePath: "/oauth/v3/token/revoke",
		// HubSpot access tokens are opaque, region-prefixed and up to 300
		// characters; refresh tokens are region-prefixed UUID-like strings.
		AccessPrefix: "CNL", RefreshPrefix: "na1-", AccessTTL: 30 * time.Minute, TokenType: "bearer",
		Extra: func(string) map[string]any {
			return map[string]any{"hub_id": portal, "user_id": 7777, "token_use": "access_token"}
		},
	})
	if opts.CheckToken == nil {
		opts.CheckToken = func(tok string) error {
			switch m.OAuth.CheckToken(tok) {
			case oauth.Valid:
				return nil
			case oauth.Expired:
				return ErrExpired
			}
			return errors.New("invalid token")
		}
	}
	m.Fake = New(opts)
	var api http.Handler = m.Fake
	if prefix != "" {
		api = http.StripPrefix(prefix, api)
	}
	mux.Handle(prefix+"/crm/", api)
	mux.Handle(prefix+"/marketing/", api)
	return m
}

// AuthPath, TokenPath, RevokePath and APIPath are the mounted paths
// (append them to the server URL for config.ProviderConfig).
func (m *Mounted) AuthPath() string   { return m.prefix + "/oauth/authorize" }
func (m *Mounted) TokenPath() string  { return m.prefix + "/oauth/v3/token" }
func (m *Mounted) RevokePath() string { return m.prefix + "/oauth/v3/token/revoke" }
func (m *Mounted) APIPath() string    { return m.prefix }

// Server is HubSpot alone on an httptest server.
type Server struct {
	*httptest.Server
	*Mounted
}

// NewServer starts HubSpot alone (see Mount).
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
