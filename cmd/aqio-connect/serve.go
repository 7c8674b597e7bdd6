package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/aqio/connect/app"
	"github.com/aqio/connect/config"
	"github.com/aqio/connect/database"
)

func runAPI(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.ServiceToken == "" {
		return fmt.Errorf("AQIO_SERVICE_TOKEN is required for api")
	}
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()
	addr, err := a.ServeAPI()
	if err != nil {
		return err
	}
	logger.Info("api listening", "addr", addr)
	go watchTemporal(ctx, a, logger)
	<-ctx.Done()
	return nil
}

// watchTemporal logs when Temporal becomes unreachable and when it answers
// again: meanwhile the API accepts events into the outbox, and the
// dispatcher starts their deliveries once it answers.
func watchTemporal(ctx context.Context, a *app.App, logger *slog.Logger) {
	known, up := false, false
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := a.TemporalHealth(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil && (up || !known):
			logger.Warn("temporal unreachable: events are accepted into the outbox and delivered when it answers",
				"temporal", a.Config.TemporalAddress, "err", err)
		case err == nil && (!up || !known):
			logger.Info("temporal connected", "temporal", a.Config.TemporalAddress)
		}
		known, up = true, err == nil
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

func runWorker(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := waitForTemporal(ctx, a.Temporal, cfg.TemporalAddress, logger); err != nil {
		return nil // stopped while waiting
	}
	if err := a.StartWorkers(); err != nil {
		return err
	}
	logger.Info("worker started", "temporal", cfg.TemporalAddress, "namespace", cfg.TemporalNamespace)
	<-ctx.Done()
	return nil
}

func runMigrate(ctx context.Context, cfg config.Config, logger *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	rekey := fs.Bool("rekey", false, "after migrating, re-encrypt every stored secret under the newest key of AQIO_ENCRYPTION_KEYS (a Rekey workflow with TEMPORAL_ADDRESS, inline without)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := migrate(ctx, cfg, logger); err != nil {
		return err
	}
	if *rekey {
		return runRekey(ctx, cfg, logger)
	}
	return nil
}

func migrate(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	if cfg.DatabaseURL == "" {
		return fmt.Errorf("DATABASE_URL is required for migrate")
	}
	db, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	logger.Info("database migrated", "dialect", db.Dialect)
	if cfg.TemporalAddress == "" {
		logger.Info("TEMPORAL_ADDRESS not set: search attributes not registered")
		return nil
	}
	if cfg.EncryptionKeys == "" {
		cfg.EncryptionKeys = "migrate:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" // unused: migrate encrypts nothing
	}
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.EnsureSearchAttributes(ctx); err != nil {
		return err
	}
	logger.Info("temporal search attributes registered", "namespace", cfg.TemporalNamespace)
	return nil
}

func runHealthcheck(ctx context.Context, cfg config.Config) error {
	_, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %d", resp.StatusCode)
	}
	return nil
}

// waitForTemporal returns once the Temporal frontend answers its health
// check, retrying with backoff (1 s doubling to 30 s) and logging each
// miss: a worker started before its server (compose, Kubernetes, a
// restarted cluster) waits instead of exiting. It returns ctx's error if
// the process is stopped first.
func waitForTemporal(ctx context.Context, c client.Client, addr string, logger *slog.Logger) error {
	delay := time.Second
	for attempt := 1; ; attempt++ {
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := c.CheckHealth(hctx, &client.CheckHealthRequest{})
		cancel()
		if err == nil {
			if attempt > 1 {
				logger.Info("Temporal is reachable", "temporal", addr, "attempts", attempt)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		logger.Warn("waiting for Temporal", "temporal", addr, "attempt", attempt, "retry_in", delay.String(), "err", err.Error())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
	}
}
