// Package providers is the connector contract (connector.go): the
// interface each provider package implements, the runtime types its
// actions receive, the shared HTTP helper (rate limits, Retry-After,
// refresh-once-on-401), classified errors, and the catalog that applies
// configuration to the registered connectors. Provider packages live in
// providers/<name>; providers/registry lists them.
package providers

import (
	"net/http"
	"slices"
	"sort"
	"strings"

	"golang.org/x/oauth2"

	"github.com/aqio/connect/config"
)

// Provider is a registered connector with configuration applied: client
// credentials and URL overrides (AQIO_<TYPE>_CLIENT_ID, _AUTH_URL, …).
type Provider struct {
	Info
	Connector    Connector
	ClientID     string
	ClientSecret string
	// APIBaseConfigured: AQIO_<TYPE>_API_URL was set (it then wins over
	// a base derived from the credentials).
	APIBaseConfigured bool
}

// Catalog is the set of providers with configuration applied.
type Catalog struct {
	byType map[string]Provider
}

// NewCatalog applies configuration to the registry's connectors. cfg
// returns the configuration of one type (config.IntegrationsConfig.Provider).
func NewCatalog(reg *Registry, cfg func(typ string) config.ProviderConfig) *Catalog {
	c := &Catalog{byType: map[string]Provider{}}
	for _, t := range reg.Types() {
		conn, _ := reg.Get(t)
		info := conn.Info()
		p := Provider{Info: info, Connector: conn}
		pc := cfg(t)
		p.ClientID, p.ClientSecret = pc.ClientID, pc.ClientSecret
		if info.OAuth != nil {
			o := *info.OAuth
			o.AuthURL = override(o.AuthURL, pc.AuthURL)
			o.TokenURL = override(o.TokenURL, pc.TokenURL)
			o.RevokeURL = override(o.RevokeURL, pc.RevokeURL)
			p.OAuth = &o
		}
		p.APIBaseURL = override(info.APIBaseURL, pc.APIBaseURL)
		p.APIBaseConfigured = pc.APIBaseURL != ""
		c.byType[t] = p
	}
	return c
}

func override(def, v string) string {
	if v != "" {
		return v
	}
	return def
}

// Get returns the provider of an integration type.
func (c *Catalog) Get(typ string) (Provider, bool) {
	p, ok := c.byType[typ]
	return p, ok
}

// All lists the providers by type.
func (c *Catalog) All() []Provider {
	out := make([]Provider, 0, len(c.byType))
	for _, p := range c.byType {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

// Configured reports whether the provider can be connected on this
// server: by OAuth once its client credentials are set, or by the
// credential fields it declares (an api_key, basic or webhook_url
// provider; an OAuth provider that also takes an API key, like Kit, or a
// pasted webhook URL, like Discord) without any OAuth client.
func (p Provider) Configured() bool {
	return p.OAuthConfigured() || len(p.CredentialFields) > 0 || p.Auth != AuthOAuth2
}

// OAuthConfigured reports whether /authorize can start an OAuth
// connection: the provider is OAuth and its client id is set.
func (p Provider) OAuthConfigured() bool { return p.Auth == AuthOAuth2 && p.ClientID != "" }

// TokensExpire reports whether a refresh loop keeps the tokens fresh.
func (p Provider) TokensExpire() bool { return p.OAuth != nil && p.OAuth.TokensExpire }

// Revocable reports whether disconnecting revokes at the provider.
func (p Provider) Revocable() bool { _, ok := p.Connector.(Revoker); return ok }

// Syncer returns the provider's export sync, if it has one.
func (p Provider) Syncer() (Syncer, bool) { s, ok := p.Connector.(Syncer); return s, ok }

// Pushes are the Aqio event types the provider reacts to, sorted.
func (p Provider) Pushes() []string {
	out := []string{}
	for t := range p.Connector.Actions() {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Reacts reports whether the provider has an action for an event type.
func (p Provider) Reacts(eventType string) bool {
	_, ok := p.Connector.Actions()[eventType]
	return ok
}

// OAuth2Config is the golang.org/x/oauth2 configuration of the provider.
// Scopes are passed through AuthCodeURL (see AuthCodeOptions) because
// separators differ between providers.
func (p Provider) OAuth2Config(redirectURL string) *oauth2.Config {
	o := p.OAuth
	if o == nil {
		o = &OAuthInfo{}
	}
	style := oauth2.AuthStyleInParams
	if o.ClientAuth == ClientAuthBasic {
		style = oauth2.AuthStyleInHeader
	}
	return &oauth2.Config{
		ClientID:     p.ClientID,
		ClientSecret: p.ClientSecret,
		RedirectURL:  redirectURL,
		Endpoint:     oauth2.Endpoint{AuthURL: o.AuthURL, TokenURL: o.TokenURL, AuthStyle: style},
	}
}

// AuthCodeOptions are the authorize-URL parameters: scopes with the
// provider's separator, PKCE challenge, and provider-specific extras.
func (p Provider) AuthCodeOptions(verifier string) []oauth2.AuthCodeOption {
	o := p.OAuth
	if o == nil {
		return nil
	}
	sep := o.ScopeSeparator
	if sep == "" {
		sep = " "
	}
	opts := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("scope", strings.Join(o.DefaultScopes, sep))}
	if o.PKCE {
		opts = append(opts, oauth2.S256ChallengeOption(verifier))
	}
	for k, v := range o.AuthParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	return opts
}

// ExchangeOptions are the token-request parameters (the PKCE verifier).
func (p Provider) ExchangeOptions(verifier string) []oauth2.AuthCodeOption {
	if p.OAuth != nil && p.OAuth.PKCE {
		return []oauth2.AuthCodeOption{oauth2.VerifierOption(verifier)}
	}
	return nil
}

// TokenHTTPClient wraps the outbound client for token requests with the
// connector's TokenTransporter, if any.
func (p Provider) TokenHTTPClient(base *http.Client) *http.Client {
	tt, ok := p.Connector.(TokenTransporter)
	if !ok {
		return base
	}
	c := *base
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = tt.TokenTransport(next)
	return &c
}
