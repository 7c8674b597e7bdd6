package requestlog

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/pressly/goose/v3"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/aqio/connect/database"
	"github.com/aqio/connect/models"
)

// Where the log lives. On Postgres it is a table of the application
// database (api_request_logs, migration 00012). On SQLite it is a file of
// its own beside the application's (aqio.db → aqio-requestlog.db), with
// its own writer connection and write-ahead log, migrated from
// requestlog/migrations: SQLite has one writer per file and the service
// one write connection to the app database, which every API call with a
// key needs for its rate-limit upsert, so the log's batch inserts there
// made requests queue behind them (docs/BENCHMARKS.md, "API request log").
//
// Open attaches the log's own database to the app's *gorm.DB (as a gorm
// plugin); For finds it. Every function of this package that takes a
// database takes the app's and resolves it, so the API, the retention
// activity and tests reach the log without knowing where it is.

//go:embed migrations/*.sql
var migrationFiles embed.FS

const pluginName = "aqio:requestlog"

// own is the log's own database, registered on the app's *gorm.DB.
type own struct{ db *database.DB }

func (*own) Name() string              { return pluginName }
func (*own) Initialize(*gorm.DB) error { return nil }

func lookup(db *gorm.DB) *own {
	if db == nil || db.Config == nil {
		return nil
	}
	o, _ := db.Config.Plugins[pluginName].(*own)
	return o
}

// For is the database that holds the request log of the app database db:
// the request log's own file on SQLite (after Open), else db itself.
func For(db *gorm.DB) *gorm.DB {
	if o := lookup(db); o != nil {
		return o.db.DB
	}
	return db
}

// forReads is For for read-only queries: on the log's own SQLite file its
// read-only pool (WAL readers run beside the flush), else db itself.
func forReads(db *gorm.DB) *gorm.DB {
	if o := lookup(db); o != nil {
		return o.db.Reads
	}
	return db
}

// LogPath is the request log's file for a SQLite app database file.
func LogPath(appPath string) string {
	dir, base := filepath.Split(appPath)
	return filepath.Join(dir, strings.TrimSuffix(base, filepath.Ext(base))+"-requestlog.db")
}

// Open gives a SQLite app database (databaseURL sqlite://path) its request
// log file: opened, migrated, entries an earlier version wrote into the
// app database moved over, and attached to app for For. On Postgres (and
// an in-memory SQLite) it does nothing: the log stays in the app
// database. close closes the log's file (a no-op when there is none).
func Open(ctx context.Context, app *database.DB, databaseURL string) (close func() error, err error) {
	none := func() error { return nil }
	path := strings.TrimPrefix(databaseURL, "sqlite://")
	if app.Dialect != "sqlite" || path == databaseURL || strings.Contains(path, ":memory:") || strings.Contains(path, "mode=memory") {
		return none, nil
	}
	logDB, err := database.Open(ctx, "sqlite://"+LogPath(path))
	if err != nil {
		return none, fmt.Errorf("request log: %w", err)
	}
	if err := migrate(ctx, logDB); err != nil {
		logDB.Close()
		return none, err
	}
	if err := adopt(ctx, app.DB, logDB.DB); err != nil {
		logDB.Close()
		return none, err
	}
	if err := app.DB.Use(&own{db: logDB}); err != nil {
		logDB.Close()
		return none, fmt.Errorf("request log: %w", err)
	}
	return logDB.Close, nil
}

// migrate applies requestlog/migrations to the log's own file.
func migrate(ctx context.Context, db *database.DB) error {
	files, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	sqlDB := db.SQL()
	// goose keeps a connection for its version table while it runs.
	sqlDB.SetMaxOpenConns(2)
	defer sqlDB.SetMaxOpenConns(1)
	p, err := goose.NewProvider(goose.DialectSQLite3, sqlDB, files)
	if err != nil {
		return fmt.Errorf("request log migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("request log migrations: %w", err)
	}
	return nil
}

// adopt moves the entries an earlier version wrote into the app
// database's api_request_logs into the log's own file (insert-if-absent,
// then delete: an interrupted move finishes at the next start).
func adopt(ctx context.Context, app, log *gorm.DB) error {
	app, log = app.WithContext(ctx), log.WithContext(ctx)
	if !app.Migrator().HasTable(&models.RequestLog{}) {
		return nil
	}
	for {
		var rows []models.RequestLog
		if err := app.Order("id").Limit(500).Find(&rows).Error; err != nil {
			return fmt.Errorf("request log: move entries: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		if err := log.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, 100).Error; err != nil {
			return fmt.Errorf("request log: move entries: %w", err)
		}
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		if err := app.Where("id IN ?", ids).Delete(&models.RequestLog{}).Error; err != nil {
			return fmt.Errorf("request log: move entries: %w", err)
		}
	}
}

// insertSQL writes one entry (models.RequestLog's columns, in insertAll's order).
const insertSQL = `INSERT INTO api_request_logs (id, organization_id, occurred_at, method, route, path, status,
 duration_us, auth, api_key_id, user_id, client_ip, request_id, error_code, request_body, request_body_truncated,
 response_body, response_body_truncated, body_omitted, links)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`

// insertAll writes a batch into the log's own SQLite file in one
// transaction: one commit, so each page goes to the write-ahead log once
// per batch; one short statement parsed once and stepped per row, which
// the profile showed costs less than gorm's 100-row statements (their
// 2,000 placeholders parsed again in every transaction, the rows walked
// by reflection). The write lock held meanwhile is only the log's.
func insertAll(ctx context.Context, db *sql.DB, rows []models.RequestLog) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, insertSQL)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := range rows {
		r := &rows[i]
		if _, err := stmt.ExecContext(ctx, r.ID, r.OrganizationID, r.OccurredAt, r.Method, r.Route, r.Path, r.Status,
			r.DurationUS, r.Auth, r.APIKeyID, r.UserID, r.ClientIP, r.RequestID, r.ErrorCode, r.RequestBody,
			r.RequestBodyTruncated, r.ResponseBody, r.ResponseBodyTruncated, r.BodyOmitted, r.Links); err != nil {
			return err
		}
	}
	return tx.Commit()
}
