// Package api is the HTTP API (echo): it authenticates, validates against
// the OpenAPI document, authorizes, calls one service or store method and
// maps errors. It never performs a delivery or a provider call itself.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aqio/connect/apikeys"
	"github.com/aqio/connect/console"
	"github.com/aqio/connect/integrations"
	"github.com/aqio/connect/listen"
	"github.com/aqio/connect/metrics"
	"github.com/aqio/connect/privacy"
	"github.com/aqio/connect/requestlog"
	"github.com/aqio/connect/store"
	"github.com/aqio/connect/webhooks"
)

// Check is a readiness probe (database, Temporal).
type Check func(ctx context.Context) error

// Deps are what the API needs.
type Deps struct {
	Spec           *Spec
	Logger         *slog.Logger
	Metrics        *metrics.Metrics
	Store          *store.Store
	Webhooks       *webhooks.Service
	Authenticators []Authenticator
	// Ready are the checks /readyz needs to pass (503 otherwise); Degraded
	// are reported but leave the API ready ("degraded", 200): without
	// Temporal, events are still accepted into the outbox.
	Ready    map[string]Check
	Degraded map[string]Check
	// MaxBodyBytes bounds every request body (events included).
	MaxBodyBytes int64
	// Integrations is the integration service (issue 5).
	Integrations *integrations.Service
	// Privacy is the data-subject request service (issue 13).
	Privacy *privacy.Service
	// APIKeys is the key authority (issue 4); TrustedProxies are the ranges
	// whose X-Forwarded-For is believed for the client address.
	APIKeys        *apikeys.Service
	TrustedProxies []netip.Prefix
	// Keyring serves the operator key-ring endpoints (api/admin.go).
	Keyring KeyringAdmin
	// ListenBroker wakes listen streams and attempts in this process at
	// once (api/listen.go; nil: they poll the database only).
	ListenBroker *listen.Broker
	// RequestLog records API calls (api/requestlog.go; nil: off);
	// RequestLogServiceToken records the service token's calls too.
	RequestLog             *requestlog.Recorder
	RequestLogServiceToken bool
	// Console configures the developer console's sign-in (its API is
	// set here; OIDC nil: pasted credentials only).
	Console console.Options
}

// Server is the API.
type Server struct {
	deps Deps
	echo *echo.Echo
}

// publicPaths need no credential.
var publicPaths = map[string]bool{
	"/healthz": true, "/readyz": true, "/metrics": true,
	"/api/openapi.json": true, "/api/docs": true, "/": true,
	"/api/integrations/oauth/callback": true, // the user's browser, back from the provider
	feedRoute:                          true, // calendar apps; the secret token in the path is the credential
}

// New builds the echo server with every route.
func New(d Deps) *Server {
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = 256 * 1024
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(d.Logger)
	s := &Server{deps: d, echo: e}

	e.Use(middleware.RequestID())
	e.Use(s.observe)
	e.Use(s.recordRequests) // inside observe: sees the final status of every answer
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			d.Logger.Error("panic", "err", err, "stack", string(stack))
			return err
		},
	}))
	e.Use(middleware.BodyLimit(strconv.FormatInt(d.MaxBodyBytes, 10) + "B"))
	e.Use(checkHeaders) // before anything reads them (strict.go)
	e.Use(authenticate(d.Authenticators, func(p string) bool { return publicPaths[p] || isConsole(p) }))
	e.Use(s.withAuditActor) // after authenticate: the caller recorded in audit entries
	e.Use(skipConsole(d.Spec.validateRequests()))

	// The developer console (console/) is not part of the API: it handles
	// its own session and sends its API calls back through this server.
	copts := d.Console
	copts.API, copts.Logger = e, d.Logger
	cons := echo.WrapHandler(console.New(copts))
	e.GET("/console", cons)
	e.Any("/console/*", cons)
	e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/console") })
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{})))
	e.GET("/api/openapi.json", func(c echo.Context) error { return c.JSONBlob(http.StatusOK, d.Spec.JSON) })
	e.GET("/api/docs", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/console/explorer") })

	e.PUT("/api/organizations/:id", s.putOrganization)
	e.GET("/api/organizations/:id", s.getOrganization)
	e.GET("/api/organizations", s.listOrganizations)

	e.GET("/api/event-types", s.listEventTypes)
	e.POST("/api/events", s.postEvent)
	e.GET("/api/events", s.listEvents)
	e.GET("/api/events/:id", s.getEvent)

	e.GET("/api/webhooks", s.listWebhooks)
	e.POST("/api/webhooks", s.createWebhook)
	e.GET("/api/webhooks/:id", s.getWebhook)
	e.PATCH("/api/webhooks/:id", s.patchWebhook)
	e.DELETE("/api/webhooks/:id", s.deleteWebhook)
	e.GET("/api/webhooks/:id/secret", s.getWebhookSecret)
	e.GET("/api/webhooks/:id/test", s.testWebhook)
	e.POST("/api/webhooks/:id/test", s.testWebhook)
	e.GET("/api/webhooks/:id/deliveries", s.listDeliveries)
	e.GET("/api/webhooks/:id/deliveries/:delivery_id", s.getDelivery)
	s.registerWebhookOpsRoutes(e)
	s.registerAPIKeyRoutes(e)
	s.registerIntegrationRoutes(e)
	s.registerIntegrationFeedRoutes(e)
	s.registerPrivacyRoutes(e)
	s.registerAdminRoutes(e)
	s.registerListenRoutes(e)
	s.registerRequestLogRoutes(e)
	s.registerConsoleSupportRoutes(e)
	return s
}

// isConsole reports whether a route belongs to the console.
func isConsole(route string) bool { return route == "/console" || route == "/console/*" }

// skipConsole keeps the OpenAPI request validator off the console's routes.
func skipConsole(mw echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		validated := mw(next)
		return func(c echo.Context) error {
			if isConsole(c.Path()) {
				return next(c)
			}
			return validated(c)
		}
	}
}

// Handler is the http.Handler to serve.
func (s *Server) Handler() http.Handler { return s.echo }

// Routes lists "METHOD /path" for every registered route, with OpenAPI
// path syntax ({id}), so tests can compare code and document.
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.echo.Routes() {
		if r.Method == echo.RouteNotFound || strings.HasSuffix(r.Path, "/*") {
			continue
		}
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		out = append(out, r.Method+" "+strings.Join(parts, "/"))
	}
	return out
}

// observe logs each request as JSON and counts it in Prometheus.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		elapsed := time.Since(start)
		s.deps.Metrics.HTTPRequests.WithLabelValues(c.Request().Method, route, strconv.Itoa(status)).Inc()
		s.deps.Metrics.HTTPDuration.WithLabelValues(c.Request().Method, route).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		if route != "/healthz" && route != "/metrics" {
			p := principal(c)
			s.deps.Logger.Log(c.Request().Context(), level, "http request",
				"method", c.Request().Method, "route", route, "status", status,
				"duration_ms", float64(elapsed.Microseconds())/1000,
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID),
				"organization_id", p.OrganizationID, "auth", string(p.Method))
		}
		return nil
	}
}
