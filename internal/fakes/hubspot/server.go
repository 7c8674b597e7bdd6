package hubspot

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/aqio/connect/internal/fakes/oauth"
)

// Server is HubSpot as the service sees it, on one httptest server: the
// authorization server (the shared OAuth fake with HubSpot's paths —
// /oauth/authorize, /oauth/v3/token, /oauth/v3/token/revoke —, client
// credentials in the body, 30-minute access tokens, hub_id in token
// answers) and the API (Fake) checking those tokens.
type Server struct {
	*httptest.Server
	*Fake
	OAuth *oauth.Provider
}

// NewServer starts HubSpot with the OAuth clients (id → secret) on iss
// (shared with other provider fakes, so tokens of another provider are
// refused).
func NewServer(iss *oauth.Issuer, clients map[string]string, opts Options) *Server {
	mux := http.NewServeMux()
	s := &Server{}
	if opts.PortalID == 0 {
		opts.PortalID = 6543210
	}
	portal := opts.PortalID
	s.OAuth = iss.Mount(mux, "", oauth.Config{
		Name: "hubspot", Clients: clients, ClientAuth: oauth.ClientAuthBody,
		AuthorizePath: "/oauth/authorize", TokenPath: "/oauth/v3/token", RevokePath: "/oauth/v3/token/revoke",
		// HubSpot access tokens are opaque, region-prefixed and up to 300
		// characters; refresh tokens are region-prefixed UUIDs.
		AccessPrefix: "CNL", RefreshPrefix: "na1-", AccessTTL: 30 * time.Minute, TokenType: "bearer",
		Extra: func(string) map[string]any {
			return map[string]any{"hub_id": portal, "user_id": 7777, "token_use": "access_token"}
		},
	})
	opts.CheckToken = func(tok string) error {
		switch s.OAuth.CheckToken(tok) {
		case oauth.Valid:
			return nil
		case oauth.Expired:
			return ErrExpired
		}
		return errors.New("invalid token")
	}
	s.Fake = New(opts)
	api := s.Fake
	mux.Handle("/crm/", api)
	mux.Handle("/marketing/", api)
	s.Server = httptest.NewServer(mux)
	return s
}

// AuthURL, TokenURL, RevokeURL and APIBaseURL are the server's endpoints
// (for config.ProviderConfig).
func (s *Server) AuthURL() string   { return s.URL + "/oauth/authorize" }
func (s *Server) TokenURL() string  { return s.URL + "/oauth/v3/token" }
func (s *Server) RevokeURL() string { return s.URL + "/oauth/v3/token/revoke" }

// APIBaseURL is the API base (https://api.hubapi.com at HubSpot).
func (s *Server) APIBaseURL() string { return strings.TrimRight(s.URL, "/") }
