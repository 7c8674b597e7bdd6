//go:build !noembed

package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/aqio/connect/config"
	"github.com/aqio/connect/devtemporal"
	"github.com/aqio/connect/worker"
	"github.com/aqio/connect/workflows"
)

// The default build links the Temporal server and its Web UI (devtemporal)
// for `dev`, `bench` and `temporal-server`. The production image is built
// with -tags noembed (embedded_none.go): api, worker and migrate only,
// talking to an external Temporal.

// embeddedTemporal: this build can run dev's Temporal server itself.
const embeddedTemporal = true

var errNoEmbed error // only the noembed build refuses

// portVariable names the variable that moves each port of the embedded server.
var portVariable = map[string]string{
	"frontend": "AQIO_DEV_TEMPORAL_PORT",
	"ui":       "AQIO_DEV_TEMPORAL_UI_PORT",
	"internal": "AQIO_DEV_TEMPORAL_INTERNAL_PORT_BASE",
}

// startEmbeddedTemporal starts dev's Temporal server and UI in this
// process and points cfg at them; stop shuts them down.
func startEmbeddedTemporal(ctx context.Context, cfg *config.Config) (stop func(), err error) {
	// The server's own system workers use the same SDK: with the build id
	// set first they skip hashing the executable too.
	_ = worker.BuildID()
	tsrv, err := devtemporal.Start(ctx, devtemporal.Options{
		DatabaseFile:     filepath.Join(cfg.DataDir, "temporal.db"),
		Namespace:        cfg.TemporalNamespace,
		SearchAttributes: workflows.SearchAttributes(),
		FrontendPort:     cfg.Dev.TemporalPort,
		UIPort:           cfg.Dev.TemporalUIPort,
		InternalPortBase: cfg.Dev.TemporalInternalPortBase,
	})
	if pe := (*devtemporal.PortInUseError)(nil); errors.As(err, &pe) {
		return nil, fmt.Errorf("port %d is in use (set %s): %w", pe.Port, portVariable[pe.Name], pe.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded temporal: %w", err)
	}
	cfg.TemporalAddress = tsrv.FrontendAddress()
	if cfg.TemporalUIURL == "" {
		cfg.TemporalUIURL = tsrv.UIURL()
	}
	return func() { _ = tsrv.Stop() }, nil
}
