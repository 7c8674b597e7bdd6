package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aqio/connect/app"
	"github.com/aqio/connect/config"
	"github.com/aqio/connect/devtemporal"
	"github.com/aqio/connect/keyring"
	"github.com/aqio/connect/worker"
	"github.com/aqio/connect/workflows"
)

// stack is the service under measurement, however it runs.
type stack struct {
	base      string // API base URL
	temporal  string // Temporal frontend host:port
	namespace string
	// procs are the service's processes (nil in-process).
	procs []*Proc
	// cpuScope says whose CPU cpu() counts.
	cpuScope string
	stop     func()
}

// cpu is the CPU time so far of each of the service's processes (in
// process: this process, load generator and receiver included).
func (s *stack) cpu() map[string]float64 {
	if s.procs == nil {
		return map[string]float64{"bench process (service + load generator)": selfCPU()}
	}
	m := map[string]float64{}
	for _, c := range s.procs {
		m[c.name] += c.cpuSeconds()
	}
	return m
}

const benchToken = "bench-token"

// startInProcess runs API, worker and the embedded Temporal server in
// this process, as `bench` always did before the separate-process shapes.
func startInProcess(ctx context.Context, opts Options, dir string) (*stack, error) {
	_ = worker.BuildID() // before the server's system workers hash the executable
	ts, err := devtemporal.Start(ctx, devtemporal.Options{
		DatabaseFile: filepath.Join(dir, "temporal.db"), Namespace: "default",
		SearchAttributes: workflows.SearchAttributes(), UIPort: -1, SyncWrites: opts.TemporalSync,
		Postgres: opts.TemporalPostgres,
	})
	if err != nil {
		return nil, err
	}
	keys, _ := keyring.Generate("bench")
	cfg, err := config.Load(nil)
	if err != nil {
		ts.Stop()
		return nil, err
	}
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DatabaseURL = "sqlite://" + filepath.Join(dir, "aqio.db")
	if opts.AppPostgres != "" {
		if cfg.DatabaseURL, err = freshPostgres(ctx, opts.AppPostgres, "aqio_bench_app"); err != nil {
			ts.Stop()
			return nil, err
		}
	}
	cfg.TemporalAddress = ts.FrontendAddress()
	cfg.TemporalNamespace = ts.Namespace()
	cfg.ServiceToken = benchToken
	cfg.EncryptionKeys = keys
	cfg.AllowPrivateTargets = true
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		ts.Stop()
		return nil, err
	}
	stop := func() { a.Close(); ts.Stop() }
	if err := a.DB.Migrate(ctx); err != nil {
		stop()
		return nil, err
	}
	if err := a.StartWorkers(); err != nil {
		stop()
		return nil, err
	}
	addr, err := a.ServeAPI()
	if err != nil {
		stop()
		return nil, err
	}
	return &stack{base: "http://" + addr, temporal: ts.FrontendAddress(), namespace: ts.Namespace(),
		cpuScope: "the bench process: service, embedded Temporal, load generator and receiver together", stop: stop}, nil
}

// startDev runs `aqio-connect dev` as a child process (embedded Temporal
// and its SQLite, SQLite or -app-postgres app database, API and worker).
func startDev(ctx context.Context, opts Options, dir string) (*stack, error) {
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	tPort, err := freePort()
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"AQIO_DATA_DIR":          filepath.Join(dir, "data"),
		"AQIO_HTTP_ADDR":         "127.0.0.1:" + strconv.Itoa(apiPort),
		"AQIO_SERVICE_TOKEN":     benchToken,
		"AQIO_DEV_TEMPORAL_PORT": strconv.Itoa(tPort),
		// No UI: the benchmark measures the service, not the UI's idle cost.
		"AQIO_DEV_TEMPORAL_UI_PORT": "-1",
		"AQIO_LOG_LEVEL":            "warn",
	}
	if opts.AppPostgres != "" {
		if env["DATABASE_URL"], err = freshPostgres(ctx, opts.AppPostgres, "aqio_bench_app"); err != nil {
			return nil, err
		}
	}
	// A delivery-engine setting to compare (docs/WEBHOOKS.md), passed on as given.
	if v := os.Getenv("AQIO_WEBHOOK_SIGNAL_BATCH_MAX"); v != "" {
		env["AQIO_WEBHOOK_SIGNAL_BATCH_MAX"] = v
	}
	passDatabaseSettings(env)
	c, err := startProc(dir, "dev", opts.Binary, env, "dev")
	if err != nil {
		return nil, err
	}
	s := &stack{base: "http://127.0.0.1:" + strconv.Itoa(apiPort), temporal: "127.0.0.1:" + strconv.Itoa(tPort),
		namespace: "default", procs: []*Proc{c}, cpuScope: "the dev process (pid " + strconv.Itoa(c.cmd.Process.Pid) + "): API, worker, embedded Temporal server and both SQLite stores",
		stop: c.stop}
	if err := waitReady(ctx, s.base, s.procs, 3*time.Minute); err != nil {
		c.stop()
		return nil, err
	}
	return s, nil
}

// startProduction runs the production shape as separate processes on
// Postgres (opts.Postgres's server; databases aqio_bench_app and
// aqio_bench_temporal* are dropped and recreated).
func startProduction(ctx context.Context, opts Options, dir string) (*stack, error) {
	u, err := url.Parse(opts.Postgres)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("-postgres %q: not a postgres:// URL", opts.Postgres)
	}
	appURL, err := freshPostgres(ctx, opts.Postgres, "aqio_bench_app")
	if err != nil {
		return nil, err
	}
	p, err := StartProduction(ctx, ProductionOptions{
		Binary: opts.Binary, Dir: dir, AppDatabaseURL: appURL, TemporalPostgres: u,
		TemporalDatabase: "aqio_bench_temporal", LogLevel: "warn",
	})
	if err != nil {
		return nil, err
	}
	return &stack{base: p.BaseURL, temporal: p.TemporalAddress, namespace: "default",
		procs:    []*Proc{p.Temporal, p.API, p.Worker},
		cpuScope: "the api, worker and temporal-server processes (Postgres reported separately)", stop: p.Stop}, nil
}

// passDatabaseSettings hands the bench's AQIO_DB_* variables (pool sizes,
// docs/OPERATIONS.md) and AQIO_WEBHOOK_PUMP (the endpoint pump,
// docs/WEBHOOKS.md) on to the service processes, to compare settings.
func passDatabaseSettings(env map[string]string) {
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AQIO_DB_") || k == "AQIO_WEBHOOK_PUMP" {
			env[k] = v
		}
	}
}
