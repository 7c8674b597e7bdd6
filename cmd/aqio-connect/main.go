// Command aqio-connect is the Aqio Connect service: one binary with the
// subcommands dev, api, worker and migrate.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/aqio/connect/config"
)

const usage = `aqio-connect: webhooks, API keys and integrations for Aqio, on Temporal.

Usage:
  aqio-connect dev       everything in one process: embedded Temporal + UI, SQLite, API, worker
  aqio-connect api       the HTTP API (needs DATABASE_URL, TEMPORAL_ADDRESS, AQIO_ENCRYPTION_KEYS)
  aqio-connect worker    the Temporal worker (same settings)
  aqio-connect migrate   apply database migrations and register Temporal search attributes
                         (--rekey: then re-encrypt every stored secret under the newest key)
  aqio-connect bench     measure webhook delivery end to end (see docs/BENCHMARKS.md)
  aqio-connect temporal-server  the linked Temporal server as its own process, on Postgres
                         or SQLite (production shape for bench and tests; docs/OPERATIONS.md)
  aqio-connect healthcheck  exit 0 if the local API answers /healthz (for container health checks)
  aqio-connect listen --forward-to URL   receive an organization's webhooks on this machine
                         (a temporary endpoint; deliveries forwarded signed to the local URL)
  aqio-connect trigger <event-type>      post the event catalog's example of a type (--set path=value)

Configuration is read from environment variables; see README.md.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The developer commands need no service configuration.
	switch os.Args[1] {
	case "listen", "trigger":
		run := runListen
		if os.Args[1] == "trigger" {
			run = runTrigger
		}
		err := run(ctx, os.Args[2:], os.Stdout)
		switch {
		case errors.Is(err, flag.ErrHelp):
		case err != nil:
			fmt.Fprintln(os.Stderr, "aqio-connect "+os.Args[1]+":", err)
			os.Exit(1)
		}
		return
	}

	cfg, err := config.Load(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "configuration:", err)
		os.Exit(2)
	}
	logger := newLogger(cfg.LogLevel)

	switch os.Args[1] {
	case "dev":
		err = runDev(ctx, cfg, logger)
	case "api":
		err = runAPI(ctx, cfg, logger)
	case "worker":
		err = runWorker(ctx, cfg, logger)
	case "migrate":
		err = runMigrate(ctx, cfg, logger, os.Args[2:])
	case "bench":
		err = runBench(ctx, os.Args[2:])
	case "temporal-server":
		err = runTemporalServer(ctx, os.Args[2:])
	case "healthcheck":
		err = runHealthcheck(ctx, cfg)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		logger.Error("exiting", "err", err)
		os.Exit(1)
	}
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: l}))
}
