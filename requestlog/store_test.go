package requestlog_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testdb"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/aqio/connect/database"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/requestlog"
)

// openAppDB is a migrated app database: a fresh Postgres database when
// AQIO_TEST_DATABASE_URL is set, else a SQLite file. It returns the
// database and its URL.
func openAppDB(t *testing.T) (*database.DB, string) {
	t.Helper()
	ctx := context.Background()
	dsn := testdb.URL(t, "aqio_rql", "aqio.db")
	db, err := database.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db, dsn
}

func call(id, org string, at time.Time) requestlog.Call {
	return requestlog.Call{ID: id, OrganizationID: org, At: at, Method: "GET", Route: "/api/webhooks/:id",
		Path: "/api/webhooks/wh_1", Status: 404, Auth: "api_key", APIKeyID: "key_1", RequestID: "req_" + id,
		ResponseBody: []byte(`{"error":{"code":"not_found"}}`), Params: map[string]string{"id": "wh_1"}}
}

// The request log on either database: on SQLite in a file of its own
// (entries an earlier version wrote into the app database moved there),
// on Postgres in the app database; written under concurrent adds, listed,
// linked to the app database's audit entries, purged by age.
func TestStoreOnBothDatabases(t *testing.T) {
	ctx := context.Background()
	app, dsn := openAppDB(t)
	now := time.Now().UTC()
	// An entry written before the log had a file of its own.
	earlier := requestlog.Row(call("rql_00000000-0000-7000-8000-000000000001", "org_a", now.Add(-1000*time.Hour)))
	if err := app.Create(&earlier).Error; err != nil {
		t.Fatal(err)
	}
	closeLog, err := requestlog.Open(ctx, app, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer closeLog()
	logDB := requestlog.For(app.DB)
	var inApp, inLog int64
	app.DB.Model(&models.RequestLog{}).Count(&inApp)
	logDB.Model(&models.RequestLog{}).Count(&inLog)
	switch app.Dialect {
	case "sqlite":
		path := requestlog.LogPath(strings.TrimPrefix(dsn, "sqlite://"))
		if _, err := os.Stat(path); err != nil || filepath.Base(path) != "aqio-requestlog.db" {
			t.Fatalf("log file %s: %v", path, err)
		}
		if logDB == app.DB {
			t.Fatal("SQLite: the log is in the app database")
		}
		if inApp != 0 || inLog != 1 {
			t.Fatalf("after Open: %d entries left in the app database, %d in the log's file; want 0 and 1", inApp, inLog)
		}
	default:
		if logDB != app.DB || inLog != 1 {
			t.Fatalf("Postgres: the log is not the app database's table (%d entries)", inLog)
		}
	}

	// 2,000 calls added from 8 goroutines while the recorder flushes.
	rec := &requestlog.Recorder{DB: app.DB, Interval: 10 * time.Millisecond, MaxPending: 1 << 20}
	rec.Start()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				rec.Add(call(fmt.Sprintf("rql_%s-%d-%03d", now.Format("20060102T150405"), g, i), "org_a", now.Add(-time.Minute)))
			}
		}()
	}
	wg.Wait()
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var n int64
	logDB.Model(&models.RequestLog{}).Where("organization_id = ?", "org_a").Count(&n)
	if n != 2001 || rec.Dropped() != 0 {
		t.Fatalf("%d entries stored (%d dropped), want 2001 and 0", n, rec.Dropped())
	}

	// Listing and reading through the app database.
	rows, next, err := requestlog.List(ctx, app.DB, requestlog.Filter{OrganizationID: "org_a", Status: 404, Limit: 200})
	if err != nil || len(rows) != 200 || next == "" {
		t.Fatalf("list: %d rows, next %q, %v", len(rows), next, err)
	}
	one, err := requestlog.Get(ctx, app.DB, "org_a", earlier.ID)
	if err != nil || one.ErrorCode == nil || *one.ErrorCode != "not_found" || one.Links == nil || *one.Links != `{"webhook_id":"wh_1"}` {
		t.Fatalf("get: %+v %v", one, err)
	}
	if _, err := requestlog.Get(ctx, app.DB, "org_b", earlier.ID); err != requestlog.ErrNotFound {
		t.Fatalf("another organization's entry: %v", err)
	}

	// The audit entry the call caused is in the app database.
	org, reqID := "org_a", *one.RequestID
	audit := models.AuditEntry{ID: "aud_1", OrganizationID: &org, OccurredAt: now, Action: "webhook.updated", Outcome: "success",
		ActorType: "api_key", RequestID: &reqID}
	if err := app.Create(&audit).Error; err != nil {
		t.Fatal(err)
	}
	links, err := requestlog.AuditEntries(ctx, app.DB, "org_a", reqID)
	if err != nil || len(links) != 1 || links[0].Action != "webhook.updated" {
		t.Fatalf("audit links: %+v %v", links, err)
	}

	// Retention: only the entry older than the cutoff goes.
	purged, err := requestlog.Purge(ctx, app.DB, now.Add(-720*time.Hour))
	if err != nil || purged != 1 {
		t.Fatalf("purge: %d, %v; want 1", purged, err)
	}
	logDB.Model(&models.RequestLog{}).Where("organization_id = ?", "org_a").Count(&n)
	if _, err := requestlog.Get(ctx, app.DB, "org_a", earlier.ID); err != requestlog.ErrNotFound || n != 2000 {
		t.Fatalf("after purge: %d entries, the old one: %v", n, err)
	}
}
