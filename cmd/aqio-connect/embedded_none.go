//go:build noembed

package main

import (
	"context"
	"errors"

	"github.com/aqio/connect/config"
)

// embeddedTemporal: this build cannot run dev's Temporal server.
const embeddedTemporal = false

// errNoEmbed is what the commands that need the embedded Temporal server
// say in a build without it (the production image: -tags noembed).
var errNoEmbed = errors.New("this binary was built with -tags noembed (no embedded Temporal server or UI): " +
	"set TEMPORAL_ADDRESS to an external Temporal, or use the default build (go build ./cmd/aqio-connect) for dev, bench and temporal-server")

func startEmbeddedTemporal(context.Context, *config.Config) (func(), error) {
	return nil, errNoEmbed
}

func runBench(context.Context, []string) error { return errNoEmbed }

func runTemporalServer(context.Context, []string) error { return errNoEmbed }
