package database

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testdb"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// TestPoolHonoursSettings opens the database with a small pool and checks
// database/sql enforces it: on Postgres (AQIO_TEST_DATABASE_URL) the
// configured sizes, on SQLite the fixed single-writer pool whatever is
// asked.
func TestPoolHonoursSettings(t *testing.T) {
	ctx := context.Background()
	pool := Pool{MaxOpenConns: 3, MaxIdleConns: 2, ConnMaxLifetime: time.Hour, ConnMaxIdleTime: time.Minute}
	base := os.Getenv("AQIO_TEST_DATABASE_URL")
	if base == "" {
		db, err := OpenPool(ctx, "sqlite://"+filepath.Join(t.TempDir(), "pool.db"), pool)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if got := db.SQL().Stats().MaxOpenConnections; got != 1 {
			t.Fatalf("sqlite MaxOpenConnections = %d, want 1 (one writer)", got)
		}
		return
	}

	dsn := createPostgres(t, base)
	db, err := OpenPool(ctx, dsn, pool)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.SQL().Stats().MaxOpenConnections; got != 3 {
		t.Fatalf("MaxOpenConnections = %d, want 3", got)
	}
	// Ten concurrent queries never hold more than three connections, and
	// at most two stay open afterwards.
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := db.SQL().ExecContext(ctx, "SELECT pg_sleep(0.05)"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	st := db.SQL().Stats()
	if st.WaitCount == 0 {
		t.Errorf("no query waited for a connection: the pool was not bounded (%+v)", st)
	}
	if st.OpenConnections > 2 || st.Idle > 2 {
		t.Errorf("after the burst: %d open, %d idle; want at most 2 kept", st.OpenConnections, st.Idle)
	}
	var backends int
	if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()").Scan(&backends); err != nil {
		t.Fatal(err)
	}
	if backends > 3 {
		t.Errorf("server sees %d connections to the database, want at most 3", backends)
	}

	// The zero Pool is the default.
	def, err := OpenPool(ctx, dsn, Pool{})
	if err != nil {
		t.Fatal(err)
	}
	defer def.Close()
	if got := def.SQL().Stats().MaxOpenConnections; got != DefaultPool.MaxOpenConns {
		t.Fatalf("default MaxOpenConnections = %d, want %d", got, DefaultPool.MaxOpenConns)
	}
}

func createPostgres(t *testing.T, base string) string {
	return testdb.Postgres(t, base, "aqio_pool")
}
