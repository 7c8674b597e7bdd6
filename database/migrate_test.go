package database

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestMigrateFreshSQLite applies every migration through the service's own
// pool (one SQLite connection), as dev does on a fresh data directory.
// goose keeps a connection for the whole run, so a Go migration used to
// wait for the pool's only connection forever.
func TestMigrateFreshSQLite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "fresh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := db.SQL().Stats().MaxOpenConnections; got != 1 {
		t.Fatalf("after migrating: MaxOpenConnections = %d, want 1 (one writer)", got)
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM integrations").Scan(&n); err != nil {
		t.Fatalf("integrations table after migrating: %v", err)
	}
	// Applying again is a no-op.
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
}
