package migrations

import (
	"context"
	"database/sql"

	"github.com/pressly/goose/v3"
)

// configVersion is migration 18: organizations.config_version counts the
// changes of what ingest routes an event by — the organization's webhooks
// (which exist, their event types, filters and whether they are active)
// and its active integrations (which exist, their type and status). Ingest
// keeps these in memory and writes an event only while the version it
// read them at is still current (store.IngestRouted), so a webhook created
// or an integration connected in any process gets the very next event.
// Triggers bump it, so no writer (the API, a worker, a script) can forget
// to. A column ingest matches on must be in these triggers.
func configVersion(dialect string) *goose.Migration {
	up := func(ctx context.Context, db *sql.DB) error {
		script := configVersionSQLite
		if dialect == "postgres" {
			script = configVersionPostgres
		}
		return inTx(ctx, db, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `ALTER TABLE organizations ADD COLUMN config_version BIGINT NOT NULL DEFAULT 0`); err != nil {
				return err
			}
			// Statements one by one: trigger bodies hold semicolons.
			for _, stmt := range script {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			return nil
		})
	}
	down := func(ctx context.Context, db *sql.DB) error {
		return inTx(ctx, db, func(tx *sql.Tx) error {
			var stmts []string
			if dialect == "postgres" {
				for _, t := range []string{"webhooks", "integrations"} {
					stmts = append(stmts, "DROP TRIGGER "+t+"_config_version_insert_delete ON "+t, "DROP TRIGGER "+t+"_config_version_update ON "+t)
				}
			} else {
				for _, t := range []string{"webhooks", "integrations"} {
					for _, op := range []string{"insert", "delete", "update"} {
						stmts = append(stmts, "DROP TRIGGER "+t+"_config_version_"+op)
					}
				}
			}
			if dialect == "postgres" {
				stmts = append(stmts, `DROP FUNCTION aqio_bump_config_version()`)
			}
			stmts = append(stmts, `ALTER TABLE organizations DROP COLUMN config_version`)
			for _, stmt := range stmts {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return goose.NewGoMigration(18, &goose.GoFunc{RunDB: up}, &goose.GoFunc{RunDB: down})
}

var configVersionPostgres = []string{
	`CREATE FUNCTION aqio_bump_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE organizations SET config_version = config_version + 1 WHERE id = OLD.organization_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.organization_id IS DISTINCT FROM OLD.organization_id) THEN
        UPDATE organizations SET config_version = config_version + 1 WHERE id = NEW.organization_id;
    END IF;
    RETURN NULL;
END
$$`,
	`CREATE TRIGGER webhooks_config_version_insert_delete AFTER INSERT OR DELETE ON webhooks
    FOR EACH ROW EXECUTE FUNCTION aqio_bump_config_version()`,
	`CREATE TRIGGER webhooks_config_version_update AFTER UPDATE ON webhooks
    FOR EACH ROW WHEN (OLD.organization_id IS DISTINCT FROM NEW.organization_id OR OLD.events IS DISTINCT FROM NEW.events
        OR OLD.event_filters IS DISTINCT FROM NEW.event_filters OR OLD.filter_expression IS DISTINCT FROM NEW.filter_expression
        OR OLD.is_active IS DISTINCT FROM NEW.is_active)
    EXECUTE FUNCTION aqio_bump_config_version()`,
	`CREATE TRIGGER integrations_config_version_insert_delete AFTER INSERT OR DELETE ON integrations
    FOR EACH ROW EXECUTE FUNCTION aqio_bump_config_version()`,
	`CREATE TRIGGER integrations_config_version_update AFTER UPDATE ON integrations
    FOR EACH ROW WHEN (OLD.organization_id IS DISTINCT FROM NEW.organization_id OR OLD.status IS DISTINCT FROM NEW.status
        OR OLD.integration_type IS DISTINCT FROM NEW.integration_type)
    EXECUTE FUNCTION aqio_bump_config_version()`,
}

var configVersionSQLite = []string{
	`CREATE TRIGGER webhooks_config_version_insert AFTER INSERT ON webhooks BEGIN
    UPDATE organizations SET config_version = config_version + 1 WHERE id = NEW.organization_id;
END`,
	`CREATE TRIGGER webhooks_config_version_delete AFTER DELETE ON webhooks BEGIN
    UPDATE organizations SET config_version = config_version + 1 WHERE id = OLD.organization_id;
END`,
	`CREATE TRIGGER webhooks_config_version_update AFTER UPDATE ON webhooks
    WHEN OLD.organization_id IS NOT NEW.organization_id OR OLD.events IS NOT NEW.events
        OR OLD.event_filters IS NOT NEW.event_filters OR OLD.filter_expression IS NOT NEW.filter_expression
        OR OLD.is_active IS NOT NEW.is_active
BEGIN
    UPDATE organizations SET config_version = config_version + 1 WHERE id IN (OLD.organization_id, NEW.organization_id);
END`,
	`CREATE TRIGGER integrations_config_version_insert AFTER INSERT ON integrations BEGIN
    UPDATE organizations SET config_version = config_version + 1 WHERE id = NEW.organization_id;
END`,
	`CREATE TRIGGER integrations_config_version_delete AFTER DELETE ON integrations BEGIN
    UPDATE organizations SET config_version = config_version + 1 WHERE id = OLD.organization_id;
END`,
	`CREATE TRIGGER integrations_config_version_update AFTER UPDATE ON integrations
    WHEN OLD.organization_id IS NOT NEW.organization_id OR OLD.status IS NOT NEW.status
        OR OLD.integration_type IS NOT NEW.integration_type
BEGIN
    UPDATE organizations SET config_version = config_version + 1 WHERE id IN (OLD.organization_id, NEW.organization_id);
END`,
}
