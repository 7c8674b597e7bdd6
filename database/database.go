// Package database opens the application database (Postgres or SQLite)
// through gorm and applies the embedded migrations.
package database

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver, the same one the Temporal server links

	"github.com/aqio/connect/migrations"
)

// DB is an open application database.
type DB struct {
	*gorm.DB
	Dialect string // "postgres" or "sqlite"
	// Reads serves hot read-only queries outside transactions. On SQLite
	// it is a separate read-only pool: WAL lets readers run beside the one
	// writer connection instead of queueing behind its transactions. On
	// Postgres it is the same pool.
	Reads *gorm.DB
}

// Pool sizes the Postgres connection pool, with database/sql's meaning
// (MaxIdleConns 0: keep none; a duration ≤ 0: no limit); the zero Pool is
// DefaultPool. SQLite ignores it: one writer connection and a small
// read-only pool are what it is fastest with.
type Pool struct {
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	ConnMaxIdleTime time.Duration
}

// DefaultPool is the pool Open uses (config's defaults, config/database.go).
var DefaultPool = Pool{MaxOpenConns: 25, MaxIdleConns: 25, ConnMaxLifetime: 30 * time.Minute, ConnMaxIdleTime: 5 * time.Minute}

// Open connects to DATABASE_URL: postgres://… or sqlite://path (sqlite:///abs/path
// or sqlite://relative/path), with the default pool.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	return OpenPool(ctx, rawURL, Pool{})
}

// OpenPool is Open with a sized Postgres pool.
func OpenPool(ctx context.Context, rawURL string, pool Pool) (*DB, error) {
	if pool == (Pool{}) {
		pool = DefaultPool
	}
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		SkipDefaultTransaction: true,
		TranslateError:         true,
	}
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		g, err := gorm.Open(postgres.Open(rawURL), cfg)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sqlDB, err := g.DB()
		if err != nil {
			return nil, err
		}
		sqlDB.SetMaxOpenConns(pool.MaxOpenConns)
		sqlDB.SetMaxIdleConns(pool.MaxIdleConns)
		sqlDB.SetConnMaxLifetime(pool.ConnMaxLifetime)
		sqlDB.SetConnMaxIdleTime(pool.ConnMaxIdleTime)
		if err := sqlDB.PingContext(ctx); err != nil {
			return nil, fmt.Errorf("ping postgres: %w", err)
		}
		return &DB{DB: g, Dialect: "postgres", Reads: g}, nil
	case strings.HasPrefix(rawURL, "sqlite://"):
		path := strings.TrimPrefix(rawURL, "sqlite://")
		if path == "" {
			return nil, fmt.Errorf("open sqlite: empty path in %q", rawURL)
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("open sqlite: %w", err)
			}
		}
		// Prepared statements are cached by the driver's connections
		// (stmtcache.go), inside transactions too.
		registerStmtCache()
		g, err := gorm.Open(sqlite.New(sqlite.Config{DriverName: stmtCacheDriver, DSN: SQLiteDSN(path)}), cfg)
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		sqlDB, err := g.DB()
		if err != nil {
			return nil, err
		}
		// One connection: SQLite has a single writer, and several pooled
		// connections contending for it wait in SQLite's sleeping busy
		// handler (measured: 4x slower ingest than queueing in Go's pool).
		sqlDB.SetMaxOpenConns(1)
		sqlDB.SetMaxIdleConns(1)
		if err := sqlDB.PingContext(ctx); err != nil {
			return nil, fmt.Errorf("ping sqlite: %w", err)
		}
		reads := g
		if !strings.Contains(path, ":memory:") && !strings.Contains(path, "mode=memory") {
			rcfg := *cfg
			reads, err = gorm.Open(sqlite.New(sqlite.Config{DriverName: stmtCacheDriver, DSN: SQLiteDSN(path) + "&_pragma=query_only(1)"}), &rcfg)
			if err != nil {
				sqlDB.Close()
				return nil, fmt.Errorf("open sqlite read pool: %w", err)
			}
			rdb, _ := reads.DB()
			rdb.SetMaxOpenConns(4)
			rdb.SetMaxIdleConns(4)
		}
		return &DB{DB: g, Dialect: "sqlite", Reads: reads}, nil
	default:
		return nil, fmt.Errorf("DATABASE_URL must start with postgres:// or sqlite:// (got %q)", redactURL(rawURL))
	}
}

// SQLiteDSN is the modernc DSN with the pragmas the service relies on:
// foreign keys (ON DELETE CASCADE), WAL, a busy timeout instead of
// SQLITE_BUSY, and immediate write transactions so two writers never
// deadlock on a lock upgrade.
func SQLiteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode()
}

// Migrate applies the embedded migrations.
func (d *DB) Migrate(ctx context.Context) error {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return err
	}
	if d.Dialect == "sqlite" {
		// goose holds one connection for the whole run and a Go migration
		// (00008) runs on the pool: with SQLite's single connection it
		// would wait for itself forever. Two while migrating, one after.
		sqlDB.SetMaxOpenConns(2)
		defer sqlDB.SetMaxOpenConns(1)
	}
	_, err = migrations.Up(ctx, sqlDB, d.Dialect)
	return err
}

// SQL returns the underlying *sql.DB.
func (d *DB) SQL() *sql.DB {
	s, _ := d.DB.DB()
	return s
}

// Ping checks the connection (used by /readyz).
func (d *DB) Ping(ctx context.Context) error {
	return d.SQL().PingContext(ctx)
}

// Close closes the pools.
func (d *DB) Close() error {
	if d.Reads != nil && d.Reads != d.DB {
		if r, err := d.Reads.DB(); err == nil {
			_ = r.Close()
		}
	}
	return d.SQL().Close()
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = url.User(u.User.Username())
	return u.String()
}
