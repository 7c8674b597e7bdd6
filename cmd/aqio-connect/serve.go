package main

import (
	"context"
	"fmt"
	"log/slog"

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
	<-ctx.Done()
	return nil
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
	if err := a.StartWorkers(); err != nil {
		return err
	}
	logger.Info("worker started", "temporal", cfg.TemporalAddress, "namespace", cfg.TemporalNamespace)
	<-ctx.Done()
	return nil
}

func runMigrate(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
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
