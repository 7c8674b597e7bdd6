package app

import (
	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/egress"
	"github.com/aqio/connect/integrations"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/registry"
)

// buildIntegrations wires the integration service (API side) and its
// activities (worker side), and subscribes the service to ingested events.
func (a *App) buildIntegrations() *activities.Integrations {
	cfg := a.Config
	catalog := providers.NewCatalog(registry.New(), cfg.Integrations.Provider)
	a.Integrations = &integrations.Service{
		Store:            a.Store,
		Ring:             a.Ring,
		Temporal:         a.Temporal,
		Catalog:          catalog,
		RedirectURL:      cfg.Integrations.OAuthRedirectURL,
		StateTTL:         cfg.Integrations.OAuthStateTTL,
		DefaultReturnURL: cfg.Integrations.DefaultReturnURL,
		ReturnOrigins:    cfg.Integrations.ReturnOrigins,
		PublicURL:        cfg.PublicURL,
		Logger:           a.Logger.With("component", "integrations"),
	}
	a.Webhooks.Observers = append(a.Webhooks.Observers, a.Integrations)
	return &activities.Integrations{
		Store:         a.Store,
		Ring:          a.Ring,
		HTTP:          egress.NewClient(egress.Options{AllowPrivate: cfg.AllowPrivateTargets, UserAgent: activities.IntegrationUserAgent}),
		Catalog:       catalog,
		RedirectURL:   cfg.Integrations.OAuthRedirectURL,
		RefreshMargin: cfg.Integrations.TokenRefreshMargin,
		Emitter:       a.Webhooks,
		Logger:        a.Logger.With("component", "integrations"),
	}
}
