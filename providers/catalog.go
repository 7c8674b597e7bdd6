// Package providers is the catalog of integration providers: how each
// authenticates (OAuth 2.0 authorization code, with PKCE where supported,
// or an API key), its endpoints and default scopes, which token-response
// extras to keep, whether refresh tokens rotate, and the base URLs that
// configuration can point at fakes. Thin REST clients live in one
// subpackage per provider (providers/slack, providers/googlecalendar).
package providers

import (
	"net/http"
	"sort"
	"strings"

	"golang.org/x/oauth2"

	"github.com/aqio/connect/config"
)

// AuthMode is how a provider authenticates.
type AuthMode string

// Auth modes.
const (
	AuthOAuth2 AuthMode = "oauth2"
	AuthAPIKey AuthMode = "api_key"
)

// Provider describes one integration type.
type Provider struct {
	Type        string   `json:"type"`
	DisplayName string   `json:"display_name"`
	AuthMode    AuthMode `json:"auth_mode"`
	// Available is false for providers listed for the roadmap whose
	// connect flow and pushes are not implemented yet.
	Available bool `json:"available"`

	AuthURL   string `json:"-"`
	TokenURL  string `json:"-"`
	RevokeURL string `json:"-"`
	// APIBaseURL is the REST API base the provider client calls.
	APIBaseURL string `json:"-"`

	DefaultScopes []string `json:"default_scopes"`
	// ScopeSeparator joins scopes in the authorize URL (Slack uses ",").
	ScopeSeparator string `json:"-"`
	PKCE           bool   `json:"pkce"`
	// RotatesRefreshTokens: each refresh returns a new refresh token and
	// invalidates the old one.
	RotatesRefreshTokens bool `json:"rotates_refresh_tokens"`
	// TokensExpire: access tokens expire and a refresh loop runs.
	TokensExpire bool `json:"tokens_expire"`
	// AuthParams are added to the authorize URL (e.g. Google's access_type=offline).
	AuthParams map[string]string `json:"-"`
	// TokenExtras are the token-response fields kept (encrypted) beside
	// the tokens, e.g. Slack's incoming_webhook.
	TokenExtras []string `json:"-"`
	// Revocable: the provider offers token revocation.
	Revocable bool `json:"revocable"`
	// Syncs: the provider supports export syncs of Aqio objects.
	Syncs bool `json:"syncs"`
	// Pushes are the Aqio event types the provider reacts to.
	Pushes []string `json:"pushes"`

	ClientID     string `json:"-"`
	ClientSecret string `json:"-"`
}

// Catalog is the set of providers with configuration applied.
type Catalog struct {
	byType map[string]Provider
}

func defaults() []Provider {
	return []Provider{
		{
			Type: "slack", DisplayName: "Slack", AuthMode: AuthOAuth2, Available: true,
			AuthURL: "https://slack.com/oauth/v2/authorize", TokenURL: "https://slack.com/api/oauth.v2.access",
			RevokeURL: "https://slack.com/api/auth.revoke", APIBaseURL: "https://slack.com/api",
			DefaultScopes: []string{"chat:write", "chat:write.public", "incoming-webhook"}, ScopeSeparator: ",",
			// With token rotation enabled, bot tokens last 12 hours and every
			// refresh returns a new refresh token.
			RotatesRefreshTokens: true, TokensExpire: true, Revocable: true,
			TokenExtras: []string{"incoming_webhook", "team", "bot_user_id", "app_id"},
			Pushes:      []string{"event.created", "event.updated", "event.published", "event.cancelled", "registration.created", "registration.confirmed", "registration.cancelled"},
		},
		{
			Type: "google_calendar", DisplayName: "Google Calendar (with Google Meet)", AuthMode: AuthOAuth2, Available: true,
			AuthURL: "https://accounts.google.com/o/oauth2/v2/auth", TokenURL: "https://oauth2.googleapis.com/token",
			RevokeURL: "https://oauth2.googleapis.com/revoke", APIBaseURL: "https://www.googleapis.com/calendar/v3/",
			DefaultScopes: []string{"https://www.googleapis.com/auth/calendar.events"}, ScopeSeparator: " ",
			PKCE: true, TokensExpire: true, Revocable: true, Syncs: true,
			AuthParams: map[string]string{"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"},
			Pushes:     []string{"event.created", "event.updated", "event.published", "event.cancelled", "registration.created", "registration.confirmed", "registration.cancelled"},
		},
		{
			Type: "outlook_calendar", DisplayName: "Outlook Calendar", AuthMode: AuthOAuth2,
			AuthURL:       "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
			TokenURL:      "https://login.microsoftonline.com/common/oauth2/v2.0/token",
			APIBaseURL:    "https://graph.microsoft.com/v1.0",
			DefaultScopes: []string{"offline_access", "Calendars.ReadWrite"}, ScopeSeparator: " ",
			PKCE: true, RotatesRefreshTokens: true, TokensExpire: true,
		},
		{
			Type: "teams", DisplayName: "Microsoft Teams", AuthMode: AuthOAuth2,
			AuthURL:       "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
			TokenURL:      "https://login.microsoftonline.com/common/oauth2/v2.0/token",
			APIBaseURL:    "https://graph.microsoft.com/v1.0",
			DefaultScopes: []string{"offline_access", "OnlineMeetings.ReadWrite", "ChannelMessage.Send"}, ScopeSeparator: " ",
			PKCE: true, RotatesRefreshTokens: true, TokensExpire: true,
		},
		{
			Type: "zoom", DisplayName: "Zoom", AuthMode: AuthOAuth2,
			AuthURL: "https://zoom.us/oauth/authorize", TokenURL: "https://zoom.us/oauth/token", RevokeURL: "https://zoom.us/oauth/revoke",
			APIBaseURL:    "https://api.zoom.us/v2",
			DefaultScopes: []string{"meeting:write"}, ScopeSeparator: " ",
			PKCE: true, RotatesRefreshTokens: true, TokensExpire: true, Revocable: true,
		},
		{
			Type: "discord", DisplayName: "Discord", AuthMode: AuthOAuth2,
			AuthURL: "https://discord.com/oauth2/authorize", TokenURL: "https://discord.com/api/oauth2/token", RevokeURL: "https://discord.com/api/oauth2/token/revoke",
			APIBaseURL:    "https://discord.com/api",
			DefaultScopes: []string{"webhook.incoming"}, ScopeSeparator: " ",
			PKCE: true, RotatesRefreshTokens: true, TokensExpire: true, Revocable: true,
			TokenExtras: []string{"webhook"},
		},
		{
			Type: "hubspot", DisplayName: "HubSpot", AuthMode: AuthOAuth2,
			AuthURL: "https://app.hubspot.com/oauth/authorize", TokenURL: "https://api.hubapi.com/oauth/v1/token",
			APIBaseURL:    "https://api.hubapi.com",
			DefaultScopes: []string{"crm.objects.contacts.write", "crm.objects.deals.write"}, ScopeSeparator: " ",
			TokensExpire: true,
		},
		{
			Type: "salesforce", DisplayName: "Salesforce", AuthMode: AuthOAuth2,
			AuthURL: "https://login.salesforce.com/services/oauth2/authorize", TokenURL: "https://login.salesforce.com/services/oauth2/token",
			RevokeURL: "https://login.salesforce.com/services/oauth2/revoke", APIBaseURL: "https://login.salesforce.com",
			DefaultScopes: []string{"api", "refresh_token"}, ScopeSeparator: " ",
			PKCE: true, TokensExpire: true, Revocable: true, TokenExtras: []string{"instance_url"},
		},
		{
			Type: "mailchimp", DisplayName: "Mailchimp", AuthMode: AuthOAuth2,
			AuthURL: "https://login.mailchimp.com/oauth2/authorize", TokenURL: "https://login.mailchimp.com/oauth2/token",
			APIBaseURL: "https://login.mailchimp.com/oauth2/metadata",
			// Mailchimp access tokens never expire: no refresh loop runs.
			TokensExpire: false,
		},
	}
}

// NewCatalog applies configuration (client credentials, URL overrides) to
// the built-in provider list.
func NewCatalog(cfg map[string]config.ProviderConfig) *Catalog {
	c := &Catalog{byType: map[string]Provider{}}
	for _, p := range defaults() {
		if pc, ok := cfg[p.Type]; ok {
			p.ClientID, p.ClientSecret = pc.ClientID, pc.ClientSecret
			p.AuthURL = override(p.AuthURL, pc.AuthURL)
			p.TokenURL = override(p.TokenURL, pc.TokenURL)
			p.RevokeURL = override(p.RevokeURL, pc.RevokeURL)
			p.APIBaseURL = override(p.APIBaseURL, pc.APIBaseURL)
		}
		c.byType[p.Type] = p
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

// Configured reports whether the provider has client credentials.
func (p Provider) Configured() bool { return p.ClientID != "" }

// OAuth2Config is the golang.org/x/oauth2 configuration of the provider.
// Scopes are passed through AuthCodeURL (see AuthCodeOptions) because
// separators differ between providers.
func (p Provider) OAuth2Config(redirectURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     p.ClientID,
		ClientSecret: p.ClientSecret,
		RedirectURL:  redirectURL,
		Endpoint: oauth2.Endpoint{
			AuthURL: p.AuthURL, TokenURL: p.TokenURL,
			// Both Slack and Google accept client credentials in the body.
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// AuthCodeOptions are the authorize-URL parameters: scopes with the
// provider's separator, PKCE challenge, and provider-specific extras.
func (p Provider) AuthCodeOptions(verifier string) []oauth2.AuthCodeOption {
	sep := p.ScopeSeparator
	if sep == "" {
		sep = " "
	}
	opts := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("scope", strings.Join(p.DefaultScopes, sep))}
	if p.PKCE {
		opts = append(opts, oauth2.S256ChallengeOption(verifier))
	}
	for k, v := range p.AuthParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	return opts
}

// ExchangeOptions are the token-request parameters (the PKCE verifier).
func (p Provider) ExchangeOptions(verifier string) []oauth2.AuthCodeOption {
	if p.PKCE {
		return []oauth2.AuthCodeOption{oauth2.VerifierOption(verifier)}
	}
	return nil
}

// TokenHTTPClient wraps the outbound client for token requests: Slack
// answers errors with HTTP 200 and {"ok":false,"error":...}, which the
// wrapper turns into a 400 so golang.org/x/oauth2 reports a RetrieveError
// with the error code (invalid_grant and friends become classifiable).
func (p Provider) TokenHTTPClient(base *http.Client) *http.Client {
	if p.Type != "slack" {
		return base
	}
	c := *base
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = slackOKTransport{next: next}
	return &c
}
