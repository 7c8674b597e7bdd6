package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"github.com/pressly/goose/v3"
)

// connectorsDDL is the part of migration 8 both dialects share: push and
// token-refresh rows for the activity list, link data.
const connectorsDDL = `
CREATE TABLE integration_pushes (
    id TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    status TEXT NOT NULL,
    action TEXT,
    external_id TEXT,
    detail TEXT,
    error_code TEXT,
    error_message TEXT,
    request TEXT,
    response_status INTEGER,
    response_excerpt TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    workflow_id TEXT NOT NULL,
    retry_of TEXT,
    started_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX integration_pushes_list_idx ON integration_pushes (integration_id, started_at, id);
CREATE TABLE integration_token_refreshes (
    id TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL,
    status TEXT NOT NULL,
    trigger TEXT NOT NULL,
    rotated BOOLEAN NOT NULL DEFAULT FALSE,
    error_code TEXT,
    error_message TEXT,
    workflow_id TEXT,
    started_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP
);
CREATE INDEX integration_token_refreshes_list_idx ON integration_token_refreshes (integration_id, started_at, id);
ALTER TABLE integration_links ADD COLUMN data TEXT;
`

// connectors is migration 8: integration types are validated against the
// connector registry, so the integration_type CHECK of migration 1 goes.
// Postgres drops the constraint; SQLite cannot, so the table is rebuilt
// from its own stored definition minus that CHECK (data, indexes and the
// foreign keys pointing at it kept), with foreign keys off on one
// connection so the rebuild cascades nothing.
func connectors(dialect string) *goose.Migration {
	up := func(ctx context.Context, db *sql.DB) error {
		if dialect == "postgres" {
			return inTx(ctx, db, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `ALTER TABLE integrations DROP CONSTRAINT IF EXISTS integrations_integration_type_check`); err != nil {
					return err
				}
				return execAll(ctx, tx, connectorsDDL)
			})
		}
		return sqliteRebuildIntegrations(ctx, db, connectorsDDL)
	}
	down := func(ctx context.Context, db *sql.DB) error {
		return inTx(ctx, db, func(tx *sql.Tx) error {
			return execAll(ctx, tx, `DROP TABLE integration_token_refreshes; DROP TABLE integration_pushes; ALTER TABLE integration_links DROP COLUMN data;`)
		})
	}
	return goose.NewGoMigration(8, &goose.GoFunc{RunDB: up}, &goose.GoFunc{RunDB: down})
}

func inTx(ctx context.Context, db *sql.DB, f func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func execAll(ctx context.Context, x execer, script string) error {
	for _, stmt := range strings.Split(script, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := x.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", strings.TrimSpace(stmt), err)
		}
	}
	return nil
}

var typeCheck = regexp.MustCompile(`(?s)integration_type TEXT NOT NULL CHECK \(integration_type IN \(.*?\)\)`)

func sqliteRebuildIntegrations(ctx context.Context, db *sql.DB, ddl string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`) //nolint:errcheck
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck
	var table string
	if err := tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'integrations'`).Scan(&table); err != nil {
		return fmt.Errorf("read integrations definition: %w", err)
	}
	if !typeCheck.MatchString(table) {
		return fmt.Errorf("integrations definition has no integration_type CHECK to drop")
	}
	table = typeCheck.ReplaceAllString(table, "integration_type TEXT NOT NULL")
	table = strings.Replace(table, "CREATE TABLE integrations", "CREATE TABLE integrations_rebuilt", 1)
	rows, err := tx.QueryContext(ctx, `SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name = 'integrations' AND sql IS NOT NULL`)
	if err != nil {
		return err
	}
	var indexes []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		indexes = append(indexes, s)
	}
	rows.Close()
	var before int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM integrations`).Scan(&before); err != nil {
		return err
	}
	for _, stmt := range []string{table, `INSERT INTO integrations_rebuilt SELECT * FROM integrations`,
		`DROP TABLE integrations`, `ALTER TABLE integrations_rebuilt RENAME TO integrations`} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("rebuild integrations: %w", err)
		}
	}
	for _, s := range indexes {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("recreate %q: %w", s, err)
		}
	}
	var after int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM integrations`).Scan(&after); err != nil || after != before {
		return fmt.Errorf("rebuild integrations: %d rows before, %d after (%v)", before, after, err)
	}
	if err := execAll(ctx, tx, ddl); err != nil {
		return err
	}
	rows, err = tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	bad := rows.Next()
	rows.Close()
	if bad {
		return fmt.Errorf("rebuild integrations: foreign key check failed")
	}
	return tx.Commit()
}
