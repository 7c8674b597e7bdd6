//go:build !noembed

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/aqio/connect/devtemporal"
	"github.com/aqio/connect/worker"
	"github.com/aqio/connect/workflows"
)

// runTemporalServer runs the Temporal server linked into this binary (the
// version go.mod pins, all four services, no UI unless asked) as a
// process of its own, persisted to Postgres or to a SQLite file, until
// SIGINT/SIGTERM. It is the production shape without containers: api and
// worker run as separate processes against it (bench -shape production,
// e2e/crash). Deployments keep using the Temporal image of
// docker-compose.yml.
func runTemporalServer(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("temporal-server", flag.ContinueOnError)
	port := fs.Int("port", 7233, "frontend gRPC port")
	uiPort := fs.Int("ui-port", -1, "Web UI port (-1: no UI, 0: any free port)")
	internal := fs.Int("internal-port-base", 0, "first of the 8 fixed internal ports (0: free ports; fixed ports let a restarted server rejoin its own membership rows at once)")
	namespace := fs.String("namespace", "default", "namespace created (with the Aqio search attributes) if missing")
	pg := fs.String("postgres", "", "host:port of Postgres to persist to (databases -database and -database_visibility)")
	pgUser := fs.String("postgres-user", "postgres", "Postgres user")
	pgPassword := fs.String("postgres-password", os.Getenv("TEMPORAL_POSTGRES_PASSWORD"), "Postgres password (default $TEMPORAL_POSTGRES_PASSWORD)")
	dbName := fs.String("database", "temporal", "Postgres database of the main store")
	fresh := fs.Bool("fresh", false, "drop and recreate the Postgres databases first (benchmarks and tests)")
	sqliteFile := fs.String("sqlite", "", "SQLite file to persist to instead of Postgres")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := devtemporal.Options{
		Namespace: *namespace, SearchAttributes: workflows.SearchAttributes(),
		FrontendPort: *port, UIPort: *uiPort, InternalPortBase: *internal,
	}
	switch {
	case *pg != "" && *sqliteFile != "":
		return errors.New("temporal-server: -postgres and -sqlite exclude each other")
	case *pg != "":
		host, p, err := net.SplitHostPort(*pg)
		if err != nil {
			return fmt.Errorf("temporal-server: -postgres: %w", err)
		}
		pp, err := strconv.Atoi(p)
		if err != nil {
			return fmt.Errorf("temporal-server: -postgres port: %w", err)
		}
		opts.Postgres = &devtemporal.Postgres{Host: host, Port: pp, User: *pgUser, Password: *pgPassword, Database: *dbName, Keep: !*fresh}
	case *sqliteFile != "":
		opts.DatabaseFile = *sqliteFile
	default:
		return errors.New("temporal-server: -postgres host:port or -sqlite file is required")
	}
	_ = worker.BuildID() // the server's system workers then skip hashing the executable
	srv, err := devtemporal.Start(ctx, opts)
	if pe := (*devtemporal.PortInUseError)(nil); errors.As(err, &pe) {
		return fmt.Errorf("port %d is in use (temporal %s): %w", pe.Port, pe.Name, pe.Err)
	}
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Fprintf(os.Stderr, "temporal server ready: frontend %s, namespace %s, ui %s\n", srv.FrontendAddress(), srv.Namespace(), orNone(srv.UIURL()))
	<-ctx.Done()
	return nil
}
