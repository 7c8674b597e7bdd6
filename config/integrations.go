package config

import (
	"strings"
	"time"
)

// ProviderConfig is one integration provider's OAuth client and the base
// URLs that tests and staging point at fakes. Empty URLs mean the
// provider's real endpoints (see the providers package catalog).
type ProviderConfig struct {
	ClientID     string
	ClientSecret string
	// AuthURL, TokenURL and RevokeURL override the OAuth endpoints.
	AuthURL   string
	TokenURL  string
	RevokeURL string
	// APIBaseURL overrides the provider's REST API base.
	APIBaseURL string
}

// IntegrationsConfig holds the integration settings.
type IntegrationsConfig struct {
	// Providers are explicit per-type settings (tests set them); any
	// other type is read from the environment by Provider.
	Providers map[string]ProviderConfig
	// env reads AQIO_<TYPE>_* for types not in Providers.
	env Env
	// OAuthRedirectURL is the callback registered at every provider
	// (AQIO_OAUTH_REDIRECT_URL; default AQIO_PUBLIC_URL +
	// /api/integrations/oauth/callback).
	OAuthRedirectURL string
	// OAuthStateTTL bounds how long an authorize link stays usable
	// (AQIO_OAUTH_STATE_TTL, default 15m).
	OAuthStateTTL time.Duration
	// TokenRefreshMargin: tokens are refreshed min(margin, 10% of their
	// lifetime) before they expire (AQIO_TOKEN_REFRESH_MARGIN, default 15m).
	TokenRefreshMargin time.Duration
	// DefaultReturnURL is where the callback sends the browser when the
	// authorize call named no return_url (AQIO_INTEGRATIONS_RETURN_URL).
	DefaultReturnURL string
	// ReturnOrigins (AQIO_INTEGRATIONS_RETURN_ORIGINS, comma-separated
	// scheme://host[:port]) limits where an authorize call may send the
	// browser afterwards; empty allows any http(s) URL.
	ReturnOrigins []string
}

// Provider is the configuration of any integration type (whatever the
// registry holds): Providers[typ] when set, else AQIO_<TYPE>_CLIENT_ID,
// _CLIENT_SECRET, _AUTH_URL, _TOKEN_URL, _REVOKE_URL and _API_URL (TYPE
// upper-cased, e.g. AQIO_GOOGLE_CALENDAR_API_URL).
func (ic IntegrationsConfig) Provider(typ string) ProviderConfig {
	if pc, ok := ic.Providers[typ]; ok {
		return pc
	}
	env := ic.env
	if env == nil {
		return ProviderConfig{}
	}
	p := "AQIO_" + strings.ToUpper(typ) + "_"
	return ProviderConfig{
		ClientID:     get(env, p+"CLIENT_ID", ""),
		ClientSecret: get(env, p+"CLIENT_SECRET", ""),
		AuthURL:      get(env, p+"AUTH_URL", ""),
		TokenURL:     get(env, p+"TOKEN_URL", ""),
		RevokeURL:    get(env, p+"REVOKE_URL", ""),
		APIBaseURL:   get(env, p+"API_URL", ""),
	}
}

func loadIntegrations(env Env, publicURL string) (IntegrationsConfig, error) {
	ic := IntegrationsConfig{Providers: map[string]ProviderConfig{}, env: env}
	def := ""
	if publicURL != "" {
		def = publicURL + "/api/integrations/oauth/callback"
	}
	ic.OAuthRedirectURL = get(env, "AQIO_OAUTH_REDIRECT_URL", def)
	ic.DefaultReturnURL = get(env, "AQIO_INTEGRATIONS_RETURN_URL", "")
	for _, o := range strings.Split(get(env, "AQIO_INTEGRATIONS_RETURN_ORIGINS", ""), ",") {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			ic.ReturnOrigins = append(ic.ReturnOrigins, o)
		}
	}
	var err error
	if ic.OAuthStateTTL, err = getDuration(env, "AQIO_OAUTH_STATE_TTL", 15*time.Minute); err != nil {
		return ic, err
	}
	if ic.TokenRefreshMargin, err = getDuration(env, "AQIO_TOKEN_REFRESH_MARGIN", 15*time.Minute); err != nil {
		return ic, err
	}
	return ic, nil
}
