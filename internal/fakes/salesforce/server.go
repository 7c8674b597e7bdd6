package salesforce

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/aqio/connect/internal/fakes/oauth"
)

// Mounted is Salesforce mounted on a mux under a path prefix: the
// authorization server of an External Client App (the shared OAuth fake
// with Salesforce's paths under /services/oauth2, PKCE required, client
// credentials in the body, no expires_in, instance_url and id in token
// answers, refresh tokens that rotate only when SetRotate is on) and the
// REST API (the embedded *Fake, under <prefix>/services/data) checking
// those tokens. The instance URL is the server's URL plus the prefix.
type Mounted struct {
	*Fake
	OAuth *oauth.Provider

	prefix string
}

// Mount mounts Salesforce on mux under prefix ("" or "/salesforce") with
// the OAuth clients (id → secret) on iss (shared with the other provider
// fakes). base returns the server's URL (for instance_url).
func Mount(mux *http.ServeMux, iss *oauth.Issuer, prefix string, clients map[string]string, base func() string, opts Options) *Mounted {
	m := &Mounted{prefix: prefix}
	const org, user = "00D5g000004XyzAEAS", "0055g00000ABcdEAAT"
	m.OAuth = iss.Mount(mux, prefix, oauth.Config{
		Name: "salesforce", Clients: clients, ClientAuth: oauth.ClientAuthEither, RequirePKCE: true,
		AuthorizePath: "/services/oauth2/authorize", TokenPath: "/services/oauth2/token", RevokePath: "/services/oauth2/revoke",
		// Access tokens are session ids (<org id>!<opaque>); refresh tokens start 5Aep.
		AccessPrefix: org + "!AQ4AQ", RefreshPrefix: "5Aep861", NoExpiry: true, TokenType: "Bearer",
		Extra: func(string) map[string]any {
			return map[string]any{
				"instance_url": base() + prefix,
				"id":           fmt.Sprintf("https://login.salesforce.com/id/%s/%s", org, user),
				"issued_at":    strconv.FormatInt(iss.Now().UnixMilli(), 10),
				"signature":    "dGVzdC1zaWduYXR1cmU=",
			}
		},
	})
	if opts.CheckToken == nil {
		opts.CheckToken = func(tok string) bool { return m.OAuth.CheckToken(tok) == oauth.Valid }
	}
	m.Fake = New(opts)
	var api http.Handler = m.Fake
	if prefix != "" {
		api = http.StripPrefix(prefix, api)
	}
	mux.Handle(prefix+"/services/data/", api)
	return m
}

// AuthPath, TokenPath, RevokePath and InstancePath are the endpoints'
// paths (login.salesforce.com/services/oauth2/… and the instance URL).
func (m *Mounted) AuthPath() string     { return m.prefix + "/services/oauth2/authorize" }
func (m *Mounted) TokenPath() string    { return m.prefix + "/services/oauth2/token" }
func (m *Mounted) RevokePath() string   { return m.prefix + "/services/oauth2/revoke" }
func (m *Mounted) InstancePath() string { return m.prefix }

// Server is Salesforce alone on an httptest server.
type Server struct {
	*httptest.Server
	*Mounted
}

// NewServer starts Salesforce on its own server (see Mount).
func NewServer(iss *oauth.Issuer, clients map[string]string, opts Options) *Server {
	mux := http.NewServeMux()
	s := &Server{}
	s.Mounted = Mount(mux, iss, "", clients, func() string { return s.URL }, opts)
	s.Server = httptest.NewServer(mux)
	return s
}

// AuthURL, TokenURL, RevokeURL and InstanceURL are the server's endpoints.
func (s *Server) AuthURL() string     { return s.URL + s.AuthPath() }
func (s *Server) TokenURL() string    { return s.URL + s.TokenPath() }
func (s *Server) RevokeURL() string   { return s.URL + s.RevokePath() }
func (s *Server) InstanceURL() string { return s.URL + s.InstancePath() }
