package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// AuthConfig is how callers authenticate (user JWTs, API keys), the rate
// limits by plan and the audit sampling. Every field has an environment
// variable; see docs/AUTH.md.
type AuthConfig struct {
	// JWTIssuer (AQIO_JWT_ISSUER) is the Keycloak realm URL, the exact "iss"
	// of accepted user tokens. Empty disables user tokens.
	JWTIssuer string
	// JWTAudience (AQIO_JWT_AUDIENCE) must appear in "aud"; required with an issuer.
	JWTAudience string
	// JWTJWKSURL (AQIO_JWT_JWKS_URL) is the key set; empty means discover
	// it from the issuer's /.well-known/openid-configuration.
	JWTJWKSURL string
	// JWTClockSkew (AQIO_JWT_CLOCK_SKEW, default 60s) is the leeway on "exp",
	// "nbf" and "iat".
	JWTClockSkew time.Duration
	// JWTJWKSMinRefetch (AQIO_JWT_JWKS_MIN_REFETCH, default 30s) is the least
	// time between two key-set fetches, whatever tokens arrive.
	JWTJWKSMinRefetch time.Duration
	// Claim paths (dotted for nested objects).
	JWTUserClaim          string // AQIO_JWT_USER_CLAIM, default "sub"
	JWTEmailClaim         string // AQIO_JWT_EMAIL_CLAIM, default "email"
	JWTRolesClaim         string // AQIO_JWT_ROLES_CLAIM, default "realm_access.roles"
	JWTOrganizationsClaim string // AQIO_JWT_ORGANIZATIONS_CLAIM, default "organization"
	// Role names (comma-separated) that map to the admin and organizer
	// permission sets; every other authenticated user is a member.
	AdminRoles     []string // AQIO_JWT_ADMIN_ROLES, default "admin,org-admin"
	OrganizerRoles []string // AQIO_JWT_ORGANIZER_ROLES, default "organizer"
	// ServiceRoles (AQIO_JWT_SERVICE_ROLES, default none) also carry the
	// service-level scopes (api_keys:verify, organizations:write), on top of
	// their admin, organizer or member set.
	ServiceRoles []string
	// SupportRoles (AQIO_JWT_SUPPORT_ROLES, default "support") are support
	// staff: they see and re-run deliveries, syncs and pushes of the
	// organizations listed in SupportOrganizationsClaim
	// (AQIO_JWT_SUPPORT_ORGANIZATIONS_CLAIM, default "support_organizations";
	// "*" grants every organization). docs/AUTH.md.
	SupportRoles              []string
	SupportOrganizationsClaim string

	// TrustedProxies (AQIO_TRUSTED_PROXIES) are the CIDR ranges whose
	// X-Forwarded-For is believed when finding the client address. Empty:
	// the connection's address is the client.
	TrustedProxies []netip.Prefix
	// RateLimits (AQIO_RATE_LIMITS) are per-key limits by plan:
	// "free=60/1000,pro=300/10000,enterprise=1000/50000" (per minute/per hour).
	RateLimits string
	// UsageFlushInterval (AQIO_USAGE_FLUSH_INTERVAL, default 1s) is how often
	// counted key usage is written to the database.
	UsageFlushInterval time.Duration
	// AuditFailedPerMinute (AQIO_AUDIT_FAILED_VERIFICATIONS_PER_MINUTE,
	// default 10) bounds sampled failed-verification audit entries per key
	// (or per source IP for unknown keys) per minute and API instance.
	AuditFailedPerMinute int

	// RequestLog (AQIO_REQUEST_LOG, default true) records API calls in the
	// request log.
	RequestLog bool
	// RequestLogRetention (AQIO_REQUEST_LOG_RETENTION, default 720h; 0
	// keeps entries) is how long API request log entries are kept.
	RequestLogRetention time.Duration
	// RequestLogServiceToken (AQIO_REQUEST_LOG_SERVICE_TOKEN, default false;
	// true in `dev`) records the service token's calls too, not only those
	// made with API keys and user tokens.
	RequestLogServiceToken bool
	// Console is the developer console's OpenID Connect sign-in (config/console.go).
	Console ConsoleConfig
}

func loadAuth(env Env) (AuthConfig, error) {
	c := AuthConfig{
		JWTIssuer:                 get(env, "AQIO_JWT_ISSUER", ""),
		JWTAudience:               get(env, "AQIO_JWT_AUDIENCE", ""),
		JWTJWKSURL:                get(env, "AQIO_JWT_JWKS_URL", ""),
		JWTUserClaim:              get(env, "AQIO_JWT_USER_CLAIM", "sub"),
		JWTEmailClaim:             get(env, "AQIO_JWT_EMAIL_CLAIM", "email"),
		JWTRolesClaim:             get(env, "AQIO_JWT_ROLES_CLAIM", "realm_access.roles"),
		JWTOrganizationsClaim:     get(env, "AQIO_JWT_ORGANIZATIONS_CLAIM", "organization"),
		AdminRoles:                authCSV(get(env, "AQIO_JWT_ADMIN_ROLES", "admin,org-admin")),
		OrganizerRoles:            authCSV(get(env, "AQIO_JWT_ORGANIZER_ROLES", "organizer")),
		ServiceRoles:              authCSV(get(env, "AQIO_JWT_SERVICE_ROLES", "")),
		SupportRoles:              authCSV(get(env, "AQIO_JWT_SUPPORT_ROLES", "support")),
		SupportOrganizationsClaim: get(env, "AQIO_JWT_SUPPORT_ORGANIZATIONS_CLAIM", "support_organizations"),
		RateLimits:                get(env, "AQIO_RATE_LIMITS", "free=60/1000,pro=300/10000,enterprise=1000/50000"),
	}
	var err error
	if c.JWTClockSkew, err = getDuration(env, "AQIO_JWT_CLOCK_SKEW", 60*time.Second); err != nil {
		return c, err
	}
	if c.JWTJWKSMinRefetch, err = getDuration(env, "AQIO_JWT_JWKS_MIN_REFETCH", 30*time.Second); err != nil {
		return c, err
	}
	if c.UsageFlushInterval, err = getDuration(env, "AQIO_USAGE_FLUSH_INTERVAL", time.Second); err != nil {
		return c, err
	}
	if c.AuditFailedPerMinute, err = getInt(env, "AQIO_AUDIT_FAILED_VERIFICATIONS_PER_MINUTE", 10); err != nil {
		return c, err
	}
	if c.RequestLog, err = getBool(env, "AQIO_REQUEST_LOG", true); err != nil {
		return c, err
	}
	if c.RequestLogRetention, err = getDuration(env, "AQIO_REQUEST_LOG_RETENTION", 720*time.Hour); err != nil {
		return c, err
	}
	if c.RequestLogServiceToken, err = getBool(env, "AQIO_REQUEST_LOG_SERVICE_TOKEN", false); err != nil {
		return c, err
	}
	if c.Console, err = loadConsole(env); err != nil {
		return c, err
	}
	for _, s := range authCSV(get(env, "AQIO_TRUSTED_PROXIES", "")) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return c, fmt.Errorf("AQIO_TRUSTED_PROXIES: %q is not a CIDR range or address", s)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	if c.JWTIssuer != "" && c.JWTAudience == "" {
		return c, fmt.Errorf("AQIO_JWT_AUDIENCE is required when AQIO_JWT_ISSUER is set")
	}
	return c, nil
}

func authCSV(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
