package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testdb"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/aqio/connect/database"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/store"
)

// openLinksDB is a migrated database with one integration: a fresh
// Postgres database when AQIO_TEST_DATABASE_URL is set, else SQLite.
func openLinksDB(t *testing.T, now func() time.Time) *store.Store {
	t.Helper()
	ctx := context.Background()
	dsn := testdb.URL(t, "aqio_links", "links.db")
	db, err := database.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO organizations (id, name) VALUES ('org_1', 'One')`,
		`INSERT INTO integrations (id, organization_id, integration_type, name) VALUES ('int_1', 'org_1', 'pipedrive', 'Pipedrive')`,
	} {
		if err := db.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	return store.New(db, now)
}

func TestClaimLink(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	st := openLinksDB(t, clock)
	ctx := context.Background()
	claim := func(replaces string, staleAfter time.Duration) (bool, error) {
		l := models.IntegrationLink{IntegrationID: "int_1", ObjectType: "person", ObjectID: "ada@example.com", Status: "pending"}
		return st.ClaimLink(ctx, &l, clock().Add(-staleAfter), replaces)
	}

	// Concurrent claims of one object: exactly one is stored.
	const n = 8
	var won atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := claim("", 2*time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d of %d concurrent claims won, want 1", won.Load(), n)
	}
	// A fresh claim is not taken over; one written before the cut-off is.
	if ok, err := claim("", 2*time.Minute); ok || err != nil {
		t.Fatalf("fresh claim taken over: %v %v", ok, err)
	}
	mu.Lock()
	now = now.Add(3 * time.Minute)
	mu.Unlock()
	if ok, err := claim("", 2*time.Minute); !ok || err != nil {
		t.Fatalf("stale claim not taken over: %v %v", ok, err)
	}
	// The winner records the created object: no claim replaces it, except
	// one naming it as gone.
	if err := st.PutLink(ctx, &models.IntegrationLink{IntegrationID: "int_1", ObjectType: "person", ObjectID: "ada@example.com", ExternalID: "101", Status: "active"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	if ok, err := claim("", 2*time.Minute); ok || err != nil {
		t.Fatalf("active link replaced by a claim: %v %v", ok, err)
	}
	if ok, err := claim("999", 2*time.Minute); ok || err != nil {
		t.Fatalf("active link replaced by a claim naming another object: %v %v", ok, err)
	}
	if ok, err := claim("101", 2*time.Minute); !ok || err != nil {
		t.Fatalf("link to a gone object not replaced: %v %v", ok, err)
	}
	if ok, err := claim("101", 2*time.Minute); ok || err != nil {
		t.Fatalf("second claim replacing the gone object won too: %v %v", ok, err)
	}
	// A released claim ("deleted": the provider refused the create) is
	// claimed again at once.
	if err := st.PutLink(ctx, &models.IntegrationLink{IntegrationID: "int_1", ObjectType: "person", ObjectID: "ada@example.com", Status: "deleted"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := claim("", 2*time.Minute); !ok || err != nil {
		t.Fatalf("released claim not claimed again: %v %v", ok, err)
	}
	got, err := st.GetLink(ctx, "int_1", "person", "ada@example.com")
	if err != nil || got.Status != "pending" || got.ExternalID != "" {
		t.Fatalf("link %+v %v", got, err)
	}
}
