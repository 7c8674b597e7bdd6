package bench

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/aqio/connect/keyring"
)

// ProductionOptions place the production shape's processes.
type ProductionOptions struct {
	// Binary is aqio-connect built with the embedded server (the default
	// build: temporal-server is one of its commands).
	Binary string
	Dir    string // logs
	// AppDatabaseURL is the app database (postgres://… or sqlite://…).
	AppDatabaseURL string
	// TemporalPostgres is a postgres:// URL whose host, user and password
	// the Temporal server persists to (nil: TemporalSQLite).
	TemporalPostgres *url.URL
	// TemporalDatabase names its databases (dropped and recreated).
	TemporalDatabase string
	// TemporalSQLite is the Temporal server's file when TemporalPostgres is nil.
	TemporalSQLite string
	// LogLevel is AQIO_LOG_LEVEL of api and worker (default info).
	LogLevel string
}

// Production is the production shape running as processes of its own:
// the Temporal server, one api and one worker.
type Production struct {
	Temporal, API, Worker *Proc
	// BaseURL is the API's; TemporalAddress the Temporal frontend's.
	BaseURL, TemporalAddress string
	// Token is the service token the API accepts.
	Token string

	o       ProductionOptions
	apiAddr string
	keys    string
	workers int
}

// StartProduction starts temporal-server, runs migrate, then starts api
// and worker and waits until the API reports ready. e2e/crash uses it.
func StartProduction(ctx context.Context, o ProductionOptions) (*Production, error) {
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	p := &Production{o: o, Token: benchToken}
	ok := false
	defer func() {
		if !ok {
			p.Stop()
		}
	}()
	tPort, err := freePort()
	if err != nil {
		return nil, err
	}
	internal, err := freeBase(8)
	if err != nil {
		return nil, err
	}
	targs := []string{"temporal-server", "-port", strconv.Itoa(tPort), "-internal-port-base", strconv.Itoa(internal)}
	if o.TemporalPostgres != nil {
		targs = append(targs, "-postgres", o.TemporalPostgres.Host, "-postgres-user", o.TemporalPostgres.User.Username(),
			"-database", o.TemporalDatabase, "-fresh")
		if pw, set := o.TemporalPostgres.User.Password(); set {
			targs = append(targs, "-postgres-password", pw)
		}
	} else {
		targs = append(targs, "-sqlite", o.TemporalSQLite)
	}
	if p.Temporal, err = startProc(o.Dir, "temporal-server", o.Binary, nil, targs...); err != nil {
		return nil, err
	}
	p.TemporalAddress = "127.0.0.1:" + strconv.Itoa(tPort)
	if err := waitLog(ctx, p.Temporal, "temporal server ready", 3*time.Minute); err != nil {
		return nil, err
	}
	if p.keys, err = keyring.Generate("bench"); err != nil {
		return nil, err
	}
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	p.apiAddr = "127.0.0.1:" + strconv.Itoa(apiPort)
	p.BaseURL = "http://" + p.apiAddr
	mig, err := startProc(o.Dir, "migrate", o.Binary, p.env(nil), "migrate")
	if err != nil {
		return nil, err
	}
	select {
	case <-mig.done:
	case <-time.After(3 * time.Minute):
		mig.stop()
	}
	if mig.err != nil {
		return nil, fmt.Errorf("migrate: %v\n%s", mig.err, mig.tail())
	}
	if err := p.StartAPI(ctx); err != nil {
		return nil, err
	}
	if err := p.StartWorker(ctx); err != nil {
		return nil, err
	}
	ok = true
	return p, nil
}

func (p *Production) env(extra map[string]string) map[string]string {
	m := map[string]string{
		"DATABASE_URL": p.o.AppDatabaseURL, "TEMPORAL_ADDRESS": p.TemporalAddress, "TEMPORAL_NAMESPACE": "default",
		"AQIO_SERVICE_TOKEN": benchToken, "AQIO_ENCRYPTION_KEYS": p.keys, "AQIO_ALLOW_PRIVATE_TARGETS": "true",
		"AQIO_LOG_LEVEL": p.o.LogLevel,
	}
	passDatabaseSettings(m)
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// StartAPI starts an api process on the shape's address (after a kill,
// a new one) and waits until it answers /readyz with ok.
func (p *Production) StartAPI(ctx context.Context) error {
	api, err := startProc(p.o.Dir, "api", p.o.Binary, p.env(map[string]string{"AQIO_HTTP_ADDR": p.apiAddr}), "api")
	if err != nil {
		return err
	}
	p.API = api
	return waitReady(ctx, p.BaseURL, []*Proc{p.Temporal, api}, 2*time.Minute)
}

// StartWorker starts a worker process (after a kill, a new one) and
// waits until it logged that its workers started.
func (p *Production) StartWorker(ctx context.Context) error {
	p.workers++
	// Info level: "worker started" is how the start is seen (the worker
	// logs nothing per delivery at info).
	w, err := startProc(p.o.Dir, "worker-"+strconv.Itoa(p.workers), p.o.Binary, p.env(map[string]string{"AQIO_LOG_LEVEL": "info"}), "worker")
	if err != nil {
		return err
	}
	w.name = "worker"
	p.Worker = w
	return waitLog(ctx, w, "worker started", 2*time.Minute)
}

// Stop stops every process (SIGTERM, then SIGKILL).
func (p *Production) Stop() {
	for _, c := range []*Proc{p.Worker, p.API, p.Temporal} {
		if c != nil {
			c.stop()
		}
	}
}

// Kill sends SIGKILL (no clean shutdown) and waits until the process is gone.
func (c *Proc) Kill() {
	if !c.exited() {
		_ = c.cmd.Process.Kill()
	}
	<-c.done
}

// Tail is the end of the process' log.
func (c *Proc) Tail() string { return c.tail() }

// Name is the process' role (temporal-server, api, worker).
func (c *Proc) Name() string { return c.name }
