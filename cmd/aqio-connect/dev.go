package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/aqio/connect/app"
	"github.com/aqio/connect/config"
	"github.com/aqio/connect/keyring"
)

// runDev runs everything in one process: the embedded Temporal server and
// UI, SQLite, the API and the worker. State lives under AQIO_DATA_DIR.
func runDev(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	if !embeddedTemporal && cfg.TemporalAddress == "" {
		return errNoEmbed
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = "sqlite://" + filepath.Join(cfg.DataDir, "aqio.db")
	}
	if _, set := os.LookupEnv("AQIO_ALLOW_PRIVATE_TARGETS"); !set {
		cfg.AllowPrivateTargets = true
	}
	if _, set := os.LookupEnv("AQIO_REQUEST_LOG_SERVICE_TOKEN"); !set {
		cfg.Auth.RequestLogServiceToken = true // the console signs in with the service token in dev
	}
	cfg.Auth.Console.Dev = true
	var err error
	if cfg.EncryptionKeys == "" {
		if cfg.EncryptionKeys, err = persistent(filepath.Join(cfg.DataDir, "encryption-keys"), func() (string, error) {
			return keyring.Generate("dev1")
		}); err != nil {
			return err
		}
	}
	tokenFile := filepath.Join(cfg.DataDir, "service-token")
	tokenNote := "(from AQIO_SERVICE_TOKEN)"
	if cfg.ServiceToken == "" {
		tokenNote = "(kept in " + tokenFile + ")"
		if cfg.ServiceToken, err = persistent(tokenFile, func() (string, error) {
			tokenNote = "(generated now; kept in " + tokenFile + ")"
			b := make([]byte, 24)
			_, err := rand.Read(b)
			return "aqio_dev_" + base64.RawURLEncoding.EncodeToString(b), err
		}); err != nil {
			return err
		}
	}

	// A taken API port is found before the Temporal server starts.
	if err := checkListen(cfg.HTTPAddr); err != nil {
		return err
	}
	if cfg.TemporalAddress == "" {
		logger.Info("starting embedded temporal server")
		stop, err := startEmbeddedTemporal(ctx, &cfg)
		if err != nil {
			return err
		}
		defer stop()
	}

	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.DB.Migrate(ctx); err != nil {
		return err
	}
	if err := a.EnsureSearchAttributes(ctx); err != nil {
		return err
	}
	if err := a.StartWorkers(); err != nil {
		return err
	}
	addr, err := a.ServeAPI()
	if err != nil {
		return err
	}
	base := "http://" + strings.Replace(addr, "[::]", "localhost", 1)
	fmt.Fprintf(os.Stderr, `
Aqio Connect is running (dev).
  Console        %s/console
  API            %s/api
  API reference  %s/api/docs
  Temporal UI    %s
  Temporal gRPC  %s (namespace %s)
  Database       %s
  Service token  %s %s

Try:
  export AQIO_TOKEN=%s
  curl -s %s/api/event-types -H "Authorization: Bearer $AQIO_TOKEN" -H "X-Aqio-Organization-Id: org_demo"

`, base, base, base, orNone(cfg.TemporalUIURL), cfg.TemporalAddress, cfg.TemporalNamespace, cfg.DatabaseURL,
		cfg.ServiceToken, tokenNote, cfg.ServiceToken, base)
	<-ctx.Done()
	logger.Info("shutting down")
	return nil
}

// checkListen reports a taken API address as a clear error.
func checkListen(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		_, port, _ := net.SplitHostPort(addr)
		return fmt.Errorf("port %s is in use (set AQIO_HTTP_ADDR): %w", port, err)
	}
	return l.Close()
}

// persistent returns the contents of path, creating it with gen() first.
func persistent(path string, gen func() (string, error)) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	v, err := gen()
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
		return "", err
	}
	return v, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
