// Package app wires the service together from its configuration: the
// database, the key ring, the Temporal client, the API and the workers.
// cmd/aqio-connect, the end-to-end tests and the benchmark all build the
// service through it, so they run the same code.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/api"
	"github.com/aqio/connect/apikeys"
	"github.com/aqio/connect/auth"
	"github.com/aqio/connect/config"
	"github.com/aqio/connect/database"
	"github.com/aqio/connect/egress"
	"github.com/aqio/connect/integrations"
	"github.com/aqio/connect/keyring"
	"github.com/aqio/connect/listen"
	"github.com/aqio/connect/metrics"
	"github.com/aqio/connect/privacy"
	"github.com/aqio/connect/requestlog"
	"github.com/aqio/connect/store"
	"github.com/aqio/connect/webhooks"
	"github.com/aqio/connect/worker"
	"github.com/aqio/connect/workflows"
)

// App is a configured service instance.
type App struct {
	Config   config.Config
	Logger   *slog.Logger
	Metrics  *metrics.Metrics
	DB       *database.DB
	Store    *store.Store
	Ring     *keyring.Ring
	Temporal client.Client
	Webhooks *webhooks.Service
	// Integrations is the integration service (issue 5; app/integrations.go).
	Integrations *integrations.Service
	// Deliveries are the delivery activities (tests adjust their settings).
	Deliveries *activities.Deliveries
	API        *api.Server
	Workers    []sdkworker.Worker

	// APIKeys is the key authority; Usage buffers its usage counts; JWT
	// verifies user tokens (nil when AQIO_JWT_ISSUER is unset). See app/auth.go.
	APIKeys *apikeys.Service
	Usage   *apikeys.UsageRecorder
	JWT     *auth.Verifier
	// RequestLog buffers the API request log (app/auth.go).
	RequestLog *requestlog.Recorder
	// closeRequestLogDB closes the request log's own SQLite file
	// (requestlog.Open; a no-op on Postgres).
	closeRequestLogDB func() error

	httpServer     *http.Server
	listener       net.Listener
	workersStarted bool
}

// New opens the database and the Temporal client and builds the API and
// the workers (nothing is started).
func New(ctx context.Context, cfg config.Config, logger *slog.Logger) (*App, error) {
	a := &App{Config: cfg, Logger: logger, Metrics: metrics.New()}
	var err error
	if a.Ring, err = keyring.Parse(cfg.EncryptionKeys); err != nil {
		return nil, fmt.Errorf("AQIO_ENCRYPTION_KEYS: %w", err)
	}
	if a.DB, err = database.OpenPool(ctx, cfg.DatabaseURL, database.Pool(cfg.DBPool)); err != nil {
		return nil, err
	}
	a.Store = store.New(a.DB, nil)
	// On SQLite the request log has a file of its own (requestlog/store.go).
	if a.closeRequestLogDB, err = requestlog.Open(ctx, a.DB, cfg.DatabaseURL); err != nil {
		a.DB.Close()
		return nil, err
	}
	// A lazy client: the API accepts events into the outbox while Temporal
	// is unreachable (at start too); the connection is made, and re-made,
	// when Temporal answers. Starting workers still needs Temporal
	// (worker.Start checks the server), so `worker` fails fast without it.
	a.Temporal, err = client.NewLazyClient(client.Options{
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.TemporalNamespace,
		Logger:    sdklog.NewStructuredLogger(logger.With("component", "temporal-sdk")),
	})
	if err != nil {
		a.DB.Close()
		return nil, fmt.Errorf("temporal client for %s: %w", cfg.TemporalAddress, err)
	}

	httpClient := egress.NewClient(egress.Options{AllowPrivate: cfg.AllowPrivateTargets, UserAgent: activities.UserAgent})
	// aqio-listen:// webhooks (`aqio-connect listen`) go to their session
	// through the database; every other URL through the egress policy.
	listenStore, listenBroker := &listen.Store{DB: a.Store.DB()}, listen.NewBroker()
	httpClient.Transport = &listen.Transport{Next: httpClient.Transport, Store: listenStore, Broker: listenBroker}
	a.Webhooks = &webhooks.Service{
		Store:        a.Store,
		Ring:         a.Ring,
		Temporal:     a.Temporal,
		AllowPrivate: cfg.AllowPrivateTargets,
		Resolver:     net.DefaultResolver,
		UIURL:        cfg.TemporalUIURL,
		Namespace:    cfg.TemporalNamespace,
		// Quiet traffic through the Endpoint runs (0: off).
		SignalBatchMax: cfg.WebhookSignalBatchMax,
		// Quiet traffic through the endpoint pumps (dispatcher.go).
		Pump: cfg.WebhookPump,
	}
	a.Metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "aqio_webhook_outbox_depth",
		Help: "Deliveries accepted but not yet handed to a DeliveryBatch workflow (should stay near 0).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := a.Store.OutboxDepth(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
	integrationActivities := a.buildIntegrations()
	spec, err := api.LoadSpec()
	if err != nil {
		a.Close()
		return nil, err
	}
	if err := a.buildAuth(); err != nil {
		a.Close()
		return nil, err
	}
	a.API = api.New(api.Deps{
		Spec:           spec,
		Logger:         logger,
		Metrics:        a.Metrics,
		Store:          a.Store,
		Webhooks:       a.Webhooks,
		Integrations:   a.Integrations,
		Privacy:        a.privacyService(),
		Authenticators: a.authenticators(),
		APIKeys:        a.APIKeys,
		TrustedProxies: cfg.Auth.TrustedProxies,
		Ready:          map[string]api.Check{"database": a.DB.Ping},
		Degraded:       map[string]api.Check{"temporal": a.TemporalHealth},
		MaxBodyBytes:   cfg.MaxEventBytes,
		Keyring:        keyringAdmin{a},
		ListenBroker:   listenBroker,
		RequestLog:     a.RequestLog,
		// The service token's calls too, where configured (dev: the console's sign-in).
		RequestLogServiceToken: cfg.Auth.RequestLogServiceToken,
		Console:                a.consoleOptions(),
	})
	a.Deliveries = &activities.Deliveries{
		Store:             a.Store,
		Ring:              a.Ring,
		HTTP:              httpClient,
		Metrics:           a.Metrics,
		Logger:            logger,
		ResponseBodyLimit: cfg.ResponseBodyLimit,
		AutoDisableAfter:  cfg.AutoDisableAfter,
		Notifier:          a.Webhooks,
		Endpoints:         a.Webhooks,
	}
	privacyActivities := &activities.Privacy{Store: a.Store, Ring: a.Ring, Integrations: integrationActivities,
		Notifier: a.Webhooks, Logger: logger}
	a.Workers = worker.New(a.Temporal, worker.Deps{
		Deliveries:   a.Deliveries,
		Integrations: integrationActivities,
		Privacy:      privacyActivities,
		Rekey:        &activities.Rekey{Store: a.Store, Ring: a.Ring},
		Listen:       &activities.Listen{Store: listenStore},
	}, worker.Options{Concurrency: cfg.WorkerConcurrency})
	return a, nil
}

// privacyService is the data-subject request service (issue 13).
func (a *App) privacyService() *privacy.Service {
	return &privacy.Service{Store: a.Store, Ring: a.Ring, Temporal: a.Temporal,
		UIURL: a.Config.TemporalUIURL, Namespace: a.Config.TemporalNamespace}
}

// TemporalHealth checks that the Temporal frontend answers (connecting
// the lazy client if it has not yet).
func (a *App) TemporalHealth(ctx context.Context) error {
	_, err := a.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// EnsureSearchAttributes registers the custom search attributes on the
// Temporal namespace (idempotent).
func (a *App) EnsureSearchAttributes(ctx context.Context) error {
	return workflows.EnsureSearchAttributes(ctx, a.Temporal, a.Config.TemporalNamespace)
}

// StartWorkers starts the workers and makes sure the retention and OAuth
// state cleanup schedules exist.
func (a *App) StartWorkers() error {
	if err := worker.Start(a.Workers); err != nil {
		return err
	}
	a.workersStarted = true
	a.Webhooks.StartDispatcher(a.Logger) // operational events (webhook.disabled) are enqueued here too
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := workflows.EnsureOAuthStateCleanupSchedule(ctx, a.Temporal); err != nil {
		return err
	}
	return workflows.EnsureRetentionSchedule(ctx, a.Temporal, workflows.RetentionPolicy{
		Deliveries: a.Config.DeliveryRetention, Events: a.Config.EventRetention, Objects: a.Config.IntegrationObjectRetention,
		RequestLogs: a.Config.Auth.RequestLogRetention})
}

// ServeAPI listens on the configured address and serves the API in the
// background; it returns the bound address.
func (a *App) ServeAPI() (string, error) {
	l, err := net.Listen("tcp", a.Config.HTTPAddr)
	if err != nil {
		return "", fmt.Errorf("listen %s: %w", a.Config.HTTPAddr, err)
	}
	a.listener = l
	a.Webhooks.StartDispatcher(a.Logger)
	a.httpServer = &http.Server{
		Handler:           a.API.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	go func() {
		if err := a.httpServer.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Logger.Error("api server stopped", "err", err)
		}
	}()
	return l.Addr().String(), nil
}

// Close stops the API and the workers and closes the connections.
func (a *App) Close() {
	if a.httpServer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = a.httpServer.Shutdown(ctx)
		cancel()
	}
	if a.Webhooks != nil {
		a.Webhooks.StopDispatcher()
	}
	if a.workersStarted {
		worker.Stop(a.Workers)
	}
	a.closeAuth()
	if a.closeRequestLogDB != nil {
		_ = a.closeRequestLogDB()
	}
	if a.Temporal != nil {
		a.Temporal.Close()
	}
	if a.DB != nil {
		_ = a.DB.Close()
	}
}
