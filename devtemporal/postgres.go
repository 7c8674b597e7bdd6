package devtemporal

import (
	"fmt"
	"strings"

	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql" // registers postgres12
	"go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"
)

// Postgres makes the server persist to Postgres — the production shape
// (docker-compose.yml) — instead of SQLite. Used by `aqio-connect
// temporal-server` (the server as a process of its own) and by `bench
// -temporal-postgres`. Both databases are dropped and created afresh
// unless Keep is set.
type Postgres struct {
	Host, User, Password string
	Port                 int
	// Database names the main store; visibility goes to Database+"_visibility".
	Database string
	// Keep reuses existing databases (their schemas brought up to date)
	// and creates only missing ones, so a restarted server keeps its
	// workflows.
	Keep bool
}

func (p Postgres) sqlConfig(db string) config.SQL {
	return config.SQL{
		PluginName:        "postgres12",
		DatabaseName:      db,
		ConnectAddr:       fmt.Sprintf("%s:%d", p.Host, p.Port),
		ConnectProtocol:   "tcp",
		User:              p.User,
		Password:          p.Password,
		ConnectAttributes: map[string]string{"sslmode": "disable"},
		MaxConns:          20,
		MaxIdleConns:      20,
	}
}

// setup creates both databases and applies Temporal's embedded schemas.
func (p Postgres) setup(logger log.Logger) (store, visibility config.SQL, err error) {
	store, visibility = p.sqlConfig(p.Database), p.sqlConfig(p.Database+"_visibility")
	for _, s := range []struct {
		cfg    *config.SQL
		schema string
	}{{&store, "postgresql/v12/temporal"}, {&visibility, "postgresql/v12/visibility"}} {
		drop, create := *s.cfg, *s.cfg // the tool's functions overwrite DatabaseName
		if !p.Keep {
			if err := sqltool.DoDropDatabase(&drop, "postgres", logger); err != nil {
				return store, visibility, fmt.Errorf("drop %s: %w", s.cfg.DatabaseName, err)
			}
		}
		existed := false
		if err := sqltool.DoCreateDatabase(&create, "postgres", logger); err != nil {
			if !p.Keep || !strings.Contains(err.Error(), "already exists") {
				return store, visibility, fmt.Errorf("create %s: %w", s.cfg.DatabaseName, err)
			}
			existed = true
		}
		conn, err := sqltool.NewConnection(s.cfg, logger)
		if err != nil {
			return store, visibility, err
		}
		if !existed {
			err = schema.NewSetupSchemaTask(conn, &schema.SetupConfig{InitialVersion: "0.0"}, logger).Run()
		}
		if err == nil {
			err = schema.NewUpdateSchemaTask(conn, &schema.UpdateConfig{DBName: s.cfg.DatabaseName, SchemaName: s.schema}, logger).Run()
		}
		conn.Close()
		if err != nil {
			return store, visibility, fmt.Errorf("schema %s: %w", s.schema, err)
		}
	}
	return store, visibility, nil
}
