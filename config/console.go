package config

import (
	"fmt"
	"time"
)

// ConsoleConfig is the developer console's sign-in with Keycloak (OpenID
// Connect authorization code + PKCE). The issuer, audience and claims are
// the AQIO_JWT_* settings (AuthConfig): the console's tokens are checked
// exactly as API tokens are. See docs/console.md.
type ConsoleConfig struct {
	// OIDCClientID (AQIO_CONSOLE_OIDC_CLIENT_ID) is the console's client at
	// the issuer; empty turns OIDC sign-in off.
	OIDCClientID string
	// OIDCClientSecret (AQIO_CONSOLE_OIDC_CLIENT_SECRET) is optional: a
	// public client relies on PKCE alone.
	OIDCClientSecret string
	// OIDCScopes (AQIO_CONSOLE_OIDC_SCOPES, default "openid profile email").
	OIDCScopes []string
	// SessionTTL (AQIO_CONSOLE_SESSION_TTL, default 12h) is a session's
	// longest life; the user's tokens are refreshed within it.
	SessionTTL time.Duration
	// Dev (set by `dev`, no variable) lets the OIDC cookies go over plain
	// HTTP; otherwise they are Secure.
	Dev bool
}

func loadConsole(env Env) (ConsoleConfig, error) {
	c := ConsoleConfig{
		OIDCClientID:     get(env, "AQIO_CONSOLE_OIDC_CLIENT_ID", ""),
		OIDCClientSecret: get(env, "AQIO_CONSOLE_OIDC_CLIENT_SECRET", ""),
	}
	for _, s := range authCSV(stringsSpaces(get(env, "AQIO_CONSOLE_OIDC_SCOPES", "openid profile email"))) {
		c.OIDCScopes = append(c.OIDCScopes, s)
	}
	var err error
	if c.SessionTTL, err = getDuration(env, "AQIO_CONSOLE_SESSION_TTL", 12*time.Hour); err != nil {
		return c, err
	}
	if c.SessionTTL <= 0 {
		return c, fmt.Errorf("AQIO_CONSOLE_SESSION_TTL must be positive")
	}
	return c, nil
}

// stringsSpaces lets a scope list be space- or comma-separated.
func stringsSpaces(s string) string {
	out := []byte(s)
	for i, b := range out {
		if b == ' ' {
			out[i] = ','
		}
	}
	return string(out)
}
