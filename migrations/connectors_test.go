package migrations

import (
	"context"
	"database/sql"
	"fmt"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// TestConnectorsMigrationKeepsData migrates a database with integrations
// and child rows to version 7, then to 8: the rows survive, child rows
// are not cascaded away, any integration type is accepted afterwards,
// and deleting an integration still cascades to its children.
func TestConnectorsMigrationKeepsData(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db")+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runConnectorsMigration(t, ctx, db, "sqlite", func(stmt string) string { return stmt })
}

// On Postgres (AQIO_TEST_DATABASE_URL), the same in a fresh database.
func TestConnectorsMigrationKeepsDataPostgres(t *testing.T) {
	url := os.Getenv("AQIO_TEST_DATABASE_URL")
	if !strings.HasPrefix(url, "postgres") {
		return // the SQLite test above covers the rebuild; CI runs this one with Postgres
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("aqio_mig8_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	defer admin.ExecContext(ctx, "DROP DATABASE "+name+" WITH (FORCE)") //nolint:errcheck
	u, _ := neturl.Parse(url)
	u.Path = "/" + name
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runConnectorsMigration(t, ctx, db, "postgres", func(s string) string { return s })
}

func runConnectorsMigration(t *testing.T, ctx context.Context, db *sql.DB, dialect string, q func(string) string) {
	t.Helper()
	p, err := provider(db, dialect)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`INSERT INTO organizations (id, name) VALUES ('org_1', 'Org')`,
		`INSERT INTO integrations (id, organization_id, integration_type, name) VALUES ('int_1', 'org_1', 'slack', 'Slack')`,
		`INSERT INTO integration_sync_logs (id, integration_id, sync_type, direction) VALUES ('sync_1', 'int_1', 'full', 'export')`,
		`INSERT INTO integration_links (integration_id, object_type, object_id, external_id) VALUES ('int_1', 'event', 'evt_1', 'x1')`,
	} {
		if _, err := db.ExecContext(ctx, q(s)); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO integrations (id, organization_id, integration_type, name) VALUES ('int_2', 'org_1', 'kit', 'Kit')`); err == nil {
		t.Fatal("version 7 accepted an unlisted type; the test does not exercise the CHECK")
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := p.GetDBVersion(ctx); v < 8 {
		t.Fatalf("version %d", v)
	}
	count := func(table string) int {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count("integrations") != 1 || count("integration_sync_logs") != 1 || count("integration_links") != 1 {
		t.Fatal("the migration lost rows")
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO integrations (id, organization_id, integration_type, name) VALUES ('int_2', 'org_1', 'kit', 'Kit')`); err != nil {
		t.Fatalf("a new type is refused after the migration: %v", err)
	}
	// The owner/type unique index survived the rebuild.
	if _, err := db.ExecContext(ctx, `INSERT INTO integrations (id, organization_id, integration_type, name) VALUES ('int_3', 'org_1', 'kit', 'Kit')`); err == nil {
		t.Fatal("the integrations_owner_type_uidx index was lost")
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM integrations WHERE id = 'int_1'`); err != nil {
		t.Fatal(err)
	}
	if count("integration_sync_logs") != 0 || count("integration_links") != 0 {
		t.Fatal("foreign keys to integrations no longer cascade")
	}
	if _, err := p.Down(ctx); err != nil {
		t.Fatalf("down: %v", err)
	}
}
