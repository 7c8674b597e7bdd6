package app

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aqio/connect/api"
	"github.com/aqio/connect/apikeys"
	"github.com/aqio/connect/audit"
	"github.com/aqio/connect/auth"
	"github.com/aqio/connect/console"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/ratelimit"
	"github.com/aqio/connect/requestlog"
)

// buildAuth builds the key authority, its usage recorder and the user
// token verifier from the configuration.
func (a *App) buildAuth() error {
	cfg := a.Config.Auth
	policies, err := ratelimit.ParsePolicies(cfg.RateLimits)
	if err != nil {
		return fmt.Errorf("AQIO_RATE_LIMITS: %w", err)
	}
	if _, ok := policies[models.PlanFree]; !ok {
		return fmt.Errorf("AQIO_RATE_LIMITS: the %q plan needs limits", models.PlanFree)
	}
	a.Usage = &apikeys.UsageRecorder{Store: a.Store, Interval: cfg.UsageFlushInterval, Logger: a.Logger}
	a.Usage.Start()
	if cfg.RequestLog {
		// At least a second between batches whatever usage's interval (the
		// tests' is 50 ms): the log is diagnostic, and a larger batch costs
		// less per row (docs/BENCHMARKS.md, "API request log").
		rec := &requestlog.Recorder{DB: a.Store.DB(), Interval: max(cfg.UsageFlushInterval, time.Second), Logger: a.Logger}
		rec.Start()
		a.RequestLog = rec
		a.Metrics.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "aqio_request_log_dropped_total",
			Help: "API calls not recorded in the request log because its buffer was full (the database fell behind).",
		}, func() float64 { return float64(rec.Dropped()) }))
	}
	a.APIKeys = &apikeys.Service{
		Store:       a.Store,
		Limiter:     &ratelimit.Limiter{DB: a.Store.DB()},
		Policies:    policies,
		Usage:       a.Usage,
		FailedAudit: &audit.Sampler{PerMinute: cfg.AuditFailedPerMinute},
	}
	if cfg.JWTIssuer != "" {
		a.JWT = auth.NewVerifier(auth.Config{
			Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, JWKSURL: cfg.JWTJWKSURL, ClockSkew: cfg.JWTClockSkew,
			UserClaim: cfg.JWTUserClaim, EmailClaim: cfg.JWTEmailClaim, RolesClaim: cfg.JWTRolesClaim,
			OrganizationsClaim: cfg.JWTOrganizationsClaim, JWKSMinRefetch: cfg.JWTJWKSMinRefetch,
			SupportOrganizationsClaim: cfg.SupportOrganizationsClaim,
		})
	}
	return nil
}

// authenticators are tried in order: service token, API key, user token.
func (a *App) authenticators() []api.Authenticator {
	out := []api.Authenticator{
		api.ServiceTokenAuth{Token: a.Config.ServiceToken},
		api.APIKeyAuth{Keys: a.APIKeys, TrustedProxies: a.Config.Auth.TrustedProxies},
	}
	if a.JWT != nil {
		out = append(out, api.JWTAuth{Verifier: a.JWT, AdminRoles: a.Config.Auth.AdminRoles,
			OrganizerRoles: a.Config.Auth.OrganizerRoles, ServiceRoles: a.Config.Auth.ServiceRoles,
			SupportRoles: a.Config.Auth.SupportRoles})
	}
	return out
}

// consoleOptions configure the console's sign-in: OpenID Connect with
// the AQIO_JWT_* issuer when AQIO_CONSOLE_OIDC_CLIENT_ID is set, its
// access tokens checked by the very verifier the API uses.
func (a *App) consoleOptions() console.Options {
	c := a.Config.Auth.Console
	o := console.Options{SessionTTL: c.SessionTTL, Dev: c.Dev, Sessions: consoleSessions{a}}
	if c.OIDCClientID == "" || a.JWT == nil {
		return o
	}
	redirect := ""
	if a.Config.PublicURL != "" {
		redirect = a.Config.PublicURL + console.CallbackPath
	}
	o.OIDC = &console.OIDC{
		Issuer: a.Config.Auth.JWTIssuer, ClientID: c.OIDCClientID, ClientSecret: c.OIDCClientSecret, Scopes: c.OIDCScopes,
		RedirectURL: redirect, HTTPClient: &http.Client{Timeout: 10 * time.Second},
		Verify: func(ctx context.Context, token string) (console.Identity, error) {
			id, err := a.JWT.Verify(ctx, token)
			out := console.Identity{UserID: id.UserID, Organizations: id.Organizations, Expiry: id.Expiry}
			for _, r := range id.Roles {
				if slices.Contains(a.Config.Auth.SupportRoles, r) {
					out.SupportOrganizations = id.SupportOrganizations
				}
			}
			return out, err
		},
	}
	return o
}

// closeAuth writes the usage counted and the request log buffered since
// the last flush.
func (a *App) closeAuth() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if a.RequestLog != nil {
		if err := a.RequestLog.Close(ctx); err != nil {
			a.Logger.Warn("flush request log", "err", err)
		}
		a.RequestLog = nil
	}
	if a.Usage == nil {
		return
	}
	if err := a.Usage.Close(ctx); err != nil {
		a.Logger.Warn("flush api key usage", "err", err)
	}
}
