// Package devtemporal runs a Temporal server and its Web UI inside the
// process, persisted to SQLite, for `dev`, tests and benchmarks. It is the
// only package that links the Temporal server; keep it out of everything
// else so ordinary builds and tests stay fast.
//
// The setup follows the server's own temporaltest "lite server" (an
// internal package we cannot import): SQLite persistence, one history
// shard, all four services in one process.
package devtemporal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
)

// Options configure the embedded server.
type Options struct {
	// DatabaseFile persists Temporal state; empty means in-memory.
	DatabaseFile string
	// Namespace is created (with SearchAttributes) if missing.
	Namespace        string
	SearchAttributes map[string]enumspb.IndexedValueType
	// FrontendPort is the gRPC port (0: any free port).
	FrontendPort int
	// UIPort serves the Web UI (0: any free port; -1: no UI).
	UIPort int
	// InternalPortBase, when set, fixes the ports the server opens besides
	// the frontend: InternalPortBase+0..+7 (history, matching and worker
	// gRPC, the four membership ports, metrics). 0 picks free ports at
	// every start. Membership ports are stored in a smallint column, so
	// InternalPortBase+7 must stay below 32768.
	InternalPortBase int
	// CodecEndpoint is given to the UI so it can decode payloads.
	CodecEndpoint string
	// Logger; nil discards the server's logs.
	Logger log.Logger
	// Postgres, when set, replaces SQLite persistence (benchmarks only).
	Postgres *Postgres
	// SyncWrites keeps SQLite's synchronous=FULL (slower, survives power loss).
	// Off by default: dev data survives a process crash either way (WAL).
	SyncWrites bool
}

// Server is a running embedded Temporal server.
type Server struct {
	srv          temporal.Server
	lock         *os.File
	ports        portPlan // reserved until Stop
	ui           *uiserver.Server
	frontendAddr string
	uiURL        string
	namespace    string
}

// Start starts the server (and the UI) and waits until the frontend answers.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Logger == nil {
		opts.Logger = log.NewNoopLogger()
	}
	const host = "127.0.0.1"
	ports, err := pickPorts(host, opts)
	if err != nil {
		return nil, err
	}
	var lock *os.File
	started := false
	defer func() {
		if !started {
			ports.release()
			unlock(lock)
		}
	}()

	sqlCfg := config.SQL{
		PluginName:        sqliteplugin.PluginName,
		ConnectAttributes: map[string]string{},
		DatabaseName:      opts.DatabaseFile,
	}
	if opts.DatabaseFile == "" {
		sqlCfg.ConnectAttributes["mode"] = "memory"
		sqlCfg.ConnectAttributes["cache"] = "shared"
		sqlCfg.DatabaseName = "aqio-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	} else {
		sqlCfg.ConnectAttributes["mode"] = "rwc"
		// Plain pragma names: the plugin passes unknown attributes on as
		// _pragma=name=value (the "_journal_mode" spelling some examples use
		// becomes a pragma SQLite silently ignores). WAL with synchronous=off
		// measured far faster than the defaults (docs/BENCHMARKS.md); WAL
		// keeps the file consistent if the process crashes.
		sqlCfg.ConnectAttributes["journal_mode"] = "wal"
		sqlCfg.ConnectAttributes["synchronous"] = "off"
		sqlCfg.ConnectAttributes["busy_timeout"] = "10000"

		if opts.SyncWrites {
			sqlCfg.ConnectAttributes["synchronous"] = "full"
		}
		if err := os.MkdirAll(filepath.Dir(opts.DatabaseFile), 0o755); err != nil {
			return nil, fmt.Errorf("temporal data dir: %w", err)
		}
		if lock, err = lockFile(opts.DatabaseFile + ".lock"); err != nil {
			return nil, err
		}
		if _, err := os.Stat(opts.DatabaseFile); errors.Is(err, os.ErrNotExist) {
			if err := sqlite.SetupSchema(&sqlCfg); err != nil {
				return nil, fmt.Errorf("temporal schema: %w", err)
			}
		} else if opts.Postgres == nil {
			// The rows of the previous process (its ringpop addresses, alive
			// for 20 s after its last heartbeat) would make the new one try
			// to join a dead ring: "Not enough hosts to serve the request"
			// until they age out. The lock proves no other server uses the
			// file, so every row is stale.
			if err := clearMembership(opts.DatabaseFile); err != nil {
				return nil, err
			}
		}
	}

	stores := map[string]config.DataStore{sqliteplugin.PluginName: {SQL: &sqlCfg}}
	defaultStore, visibilityStore, shards := sqliteplugin.PluginName, sqliteplugin.PluginName, int32(1)
	if opts.Postgres != nil {
		pg, pgVis, err := opts.Postgres.setup(opts.Logger)
		if err != nil {
			return nil, err
		}
		stores = map[string]config.DataStore{"postgres": {SQL: &pg}, "postgres-visibility": {SQL: &pgVis}}
		defaultStore, visibilityStore, shards = "postgres", "postgres-visibility", 4
	}
	nsCfg, err := sqlite.NewNamespaceConfig("active", opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("namespace config: %w", err)
	}
	// The helper writes namespace rows through the generic SQL layer, so it
	// pre-creates the namespace (and its search attributes) in Postgres too.
	nsStore := &sqlCfg
	if opts.Postgres != nil {
		nsStore = stores["postgres"].SQL
	}
	if err := sqlite.CreateNamespaces(nsStore, nsCfg); err != nil {
		return nil, fmt.Errorf("create namespace: %w", err)
	}

	var noAuth config.Authorization
	authorizer, err := authorization.GetAuthorizerFromConfig(&noAuth)
	if err != nil {
		return nil, err
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&noAuth, opts.Logger)
	if err != nil {
		return nil, err
	}
	dc, err := DynamicConfig()
	if err != nil {
		return nil, err
	}
	// The server reports a port it cannot bind (something outside the
	// reservations took it since pickPorts) only by Fatal, which newServer
	// turns into a startFatal error; Start then tries fresh ports. The
	// failed attempt leaks the listeners it had opened, so only plans of
	// free ports are retried: a fixed frontend port would be held by that
	// leak, a fixed internal base would fail the same way again.
	retry := opts.FrontendPort == 0 && opts.InternalPortBase == 0
	logger := newFatalLogger(opts.Logger)
	var (
		srv temporal.Server
		cfg *config.Config
	)
	for attempt := 1; ; attempt++ {
		cfg = serverConfig(host, ports, stores, defaultStore, visibilityStore, shards)
		srv, err = newServer(logger,
			temporal.WithConfig(cfg),
			temporal.ForServices(temporal.DefaultServices),
			temporal.WithLogger(logger),
			temporal.WithAuthorizer(authorizer),
			temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
			temporal.WithDynamicConfigClient(dc),
		)
		if err == nil {
			break
		}
		if !retry || attempt == startAttempts || !errors.As(err, new(startFatal)) {
			return nil, err
		}
		ports.release()
		if ports, err = pickPorts(host, opts); err != nil {
			return nil, err
		}
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	s := &Server{srv: srv, lock: lock, ports: ports, frontendAddr: cfg.PublicClient.HostPort, namespace: opts.Namespace}

	if err := s.waitReady(ctx); err != nil {
		_ = srv.Stop()
		return nil, err
	}

	if uiPort := ports.ui; uiPort > 0 {
		uiCfg := &uiconfig.Config{
			Host:                host,
			Port:                uiPort,
			TemporalGRPCAddress: s.frontendAddr,
			EnableUI:            true,
			DefaultNamespace:    opts.Namespace,
			HideLogs:            true,
			DisableNewsFetch:    true,
			NotifyOnNewVersion:  false,
			Distribution:        "aqio-connect-dev",
			CORS:                uiconfig.CORS{CookieInsecure: true},
			Codec:               uiconfig.Codec{Endpoint: opts.CodecEndpoint},
		}
		s.ui = uiserver.NewServer(uioptions.WithConfigProvider(uiCfg))
		go func() { _ = s.ui.Start() }()
		s.uiURL = fmt.Sprintf("http://%s:%d", host, uiPort)
	}
	started = true
	return s, nil
}

// startAttempts: how many plans of free ports Start tries.
const startAttempts = 3

// newServer builds the server; a Fatal log call while it does is returned
// as a startFatal error (fatalLogger).
func newServer(logger fatalLogger, opts ...temporal.ServerOption) (srv temporal.Server, err error) {
	logger.starting.Store(true)
	defer logger.starting.Store(false)
	defer func() {
		if r := recover(); r != nil {
			sf, ok := r.(startFatal)
			if !ok {
				panic(r)
			}
			srv, err = nil, fmt.Errorf("temporal server: %w", sf)
		}
	}()
	srv, err = temporal.NewServer(opts...)
	if err != nil {
		return nil, fmt.Errorf("temporal server: %w", err)
	}
	return srv, nil
}

// serverConfig is the server's configuration on the planned ports.
func serverConfig(host string, ports portPlan, stores map[string]config.DataStore, defaultStore, visibilityStore string, shards int32) *config.Config {
	frontendPort := ports.frontend
	cfg := &config.Config{}
	cfg.Global.Membership = config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: host}
	cfg.Global.Metrics = &metrics.Config{Prometheus: &metrics.PrometheusConfig{
		ListenAddress: fmt.Sprintf("%s:%d", host, ports.metrics), HandlerPath: "/metrics",
	}}
	cfg.Global.PProf = config.PProf{Port: 0}
	cfg.Persistence = config.Persistence{
		DefaultStore:     defaultStore,
		VisibilityStore:  visibilityStore,
		NumHistoryShards: shards,
		DataStores:       stores,
	}
	cfg.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        "active",
		CurrentClusterName:       "active",
		ClusterInformation: map[string]cluster.ClusterInformation{
			"active": {Enabled: true, InitialFailoverVersion: 1, RPCAddress: fmt.Sprintf("%s:%d", host, frontendPort)},
		},
	}
	cfg.DCRedirectionPolicy = config.DCRedirectionPolicy{Policy: "noop"}
	service := func(name string) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: ports.grpc[name], MembershipPort: ports.membership[name], BindOnIP: host}}
	}
	cfg.Services = map[string]config.Service{}
	for _, name := range serviceNames {
		cfg.Services[name] = service(name)
	}
	cfg.Archival = config.Archival{
		History:    config.HistoryArchival{State: "disabled"},
		Visibility: config.VisibilityArchival{State: "disabled"},
	}
	cfg.PublicClient = config.PublicClient{HostPort: fmt.Sprintf("%s:%d", host, frontendPort)}
	cfg.NamespaceDefaults = config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
		History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
		Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
	}}
	return cfg
}

func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		c, err := client.Dial(client.Options{HostPort: s.frontendAddr, Namespace: s.namespace, Logger: quietLogger{}})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			if err == nil {
				_, err = c.WorkflowService().DescribeNamespace(ctx, describeNS(s.namespace))
			}
			c.Close()
			if err == nil {
				return nil
			}
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("temporal server not ready: %w", lastErr)
}

// FrontendAddress is the gRPC host:port clients dial.
func (s *Server) FrontendAddress() string { return s.frontendAddr }

// UIURL is the Web UI's base URL ("" without UI).
func (s *Server) UIURL() string { return s.uiURL }

// Namespace is the namespace created at start.
func (s *Server) Namespace() string { return s.namespace }

// Stop stops the UI and the server.
func (s *Server) Stop() error {
	if s.ui != nil {
		s.ui.Stop()
	}
	err := s.srv.Stop()
	s.ports.release()
	unlock(s.lock)
	return err
}
