package mailchimp

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/aqio/connect/internal/fakes/oauth"
)

// Mounted is Mailchimp mounted on a mux under a path prefix: the
// authorization server (the shared OAuth fake with Mailchimp's rules:
// client credentials in the body, no PKCE, no scopes, tokens that never
// expire and no refresh token), the metadata endpoint, and the API (the
// embedded *Fake, under <prefix>/3.0) checking those tokens. Mailchimp has
// no token revocation endpoint, so none is mounted.
type Mounted struct {
	*Fake
	OAuth  *oauth.Provider
	prefix string
}

// Mount mounts Mailchimp on mux under prefix ("" or "/mailchimp") with the
// OAuth clients (id → secret) on iss (shared with the other provider
// fakes, so their tokens are refused). base returns the server's URL: the
// metadata's api_endpoint is base()+prefix (in production
// https://<dc>.api.mailchimp.com).
func Mount(mux *http.ServeMux, iss *oauth.Issuer, prefix string, clients map[string]string, base func() string, opts Options) *Mounted {
	m := &Mounted{prefix: prefix}
	// The shared fake issues its tokens on an inner mux; Mailchimp's token
	// answers are reshaped on the way out.
	inner := http.NewServeMux()
	m.OAuth = iss.Mount(inner, "", oauth.Config{
		Name: "mailchimp", Clients: clients, ClientAuth: oauth.ClientAuthBody,
		AuthorizePath: "/oauth2/authorize", TokenPath: "/oauth2/token", RevokePath: "-",
		NoExpiry: true, TokenType: "bearer",
	})
	if opts.CheckToken == nil {
		opts.CheckToken = func(tok string) error {
			if m.OAuth.CheckToken(tok) != oauth.Valid {
				return errors.New("invalid token")
			}
			return nil
		}
	}
	if opts.APIEndpoint == nil && base != nil {
		opts.APIEndpoint = func() string { return base() + prefix }
	}
	m.Fake = New(opts)
	m.Fake.prefix = prefix
	mux.Handle("GET "+prefix+"/oauth2/authorize", http.StripPrefix(prefix, inner))
	mux.HandleFunc("POST "+prefix+"/oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/oauth2/token"
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r2)
		body := rec.Body.Bytes()
		if rec.Code == http.StatusOK {
			body = mailchimpToken(body)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
	var api http.Handler = m.Fake
	if prefix != "" {
		api = http.StripPrefix(prefix, api)
	}
	mux.Handle(prefix+"/oauth2/metadata", api)
	mux.Handle(prefix+"/3.0/", api)
	mux.Handle(prefix+"/batch-results/", api)
	return m
}

// mailchimpToken reshapes a token answer as Mailchimp's:
// {"access_token","expires_in":0,"scope":null}, no refresh token.
func mailchimpToken(b []byte) []byte {
	var in map[string]any
	if json.Unmarshal(b, &in) != nil {
		return b
	}
	out, _ := json.Marshal(map[string]any{"access_token": in["access_token"], "expires_in": 0, "scope": nil})
	return append(bytes.TrimSpace(out), '\n')
}

// AuthPath, TokenPath, MetadataPath and APIPath are the mounted paths
// (append them to the server URL for config.ProviderConfig). The API
// base (api_endpoint + /3.0) is what the metadata call answers.
func (m *Mounted) AuthPath() string     { return m.prefix + "/oauth2/authorize" }
func (m *Mounted) TokenPath() string    { return m.prefix + "/oauth2/token" }
func (m *Mounted) MetadataPath() string { return m.prefix + "/oauth2/metadata" }
func (m *Mounted) APIPath() string      { return m.prefix + "/3.0" }

// Server is Mailchimp alone on an httptest server.
type Server struct {
	*httptest.Server
	*Mounted
}

// NewServer starts Mailchimp alone (see Mount).
func NewServer(iss *oauth.Issuer, clients map[string]string, opts Options) *Server {
	mux := http.NewServeMux()
	s := &Server{}
	s.Mounted = Mount(mux, iss, "", clients, func() string { return s.URL }, opts)
	s.Server = httptest.NewServer(mux)
	return s
}

// AuthURL, TokenURL, MetadataURL and APIBaseURL are the server's endpoints.
func (s *Server) AuthURL() string     { return s.URL + s.AuthPath() }
func (s *Server) TokenURL() string    { return s.URL + s.TokenPath() }
func (s *Server) MetadataURL() string { return s.URL + s.MetadataPath() }
func (s *Server) APIBaseURL() string  { return s.URL + s.APIPath() }
