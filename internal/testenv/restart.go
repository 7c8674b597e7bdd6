package testenv

import (
	"context"
	"testing"

	"github.com/aqio/connect/app"
)

// Restart stops the service and starts it again, on the same database,
// Temporal server and API address, with its configuration changed by opts
// (another AQIO_ENCRYPTION_KEYS, say): what a deployment does when it
// rolls out new settings. Tests that restart must not run in parallel
// with others of their binary.
func (e *Env) Restart(t testing.TB, opts ...Option) {
	t.Helper()
	cfg := e.App.Config
	cfg.HTTPAddr = e.BaseURL[len("http://"):]
	for _, o := range opts {
		o(&cfg)
	}
	logger := e.App.Logger
	e.App.Close()
	a, err := app.New(context.Background(), cfg, logger)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	e.App = a
	if err := a.StartWorkers(); err != nil {
		t.Fatalf("restart workers: %v", err)
	}
	if _, err := a.ServeAPI(); err != nil {
		t.Fatalf("restart api: %v", err)
	}
}
