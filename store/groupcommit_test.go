package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/aqio/connect/database"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/store"
)

// openSQLite is the ingest database (ingestDSN: SQLite, or Postgres when
// AQIO_TEST_DATABASE_URL is set): the events go through the group commit,
// on SQLite one transaction with a savepoint per event, on Postgres one
// pipelined batch (written again event by event when one fails, as
// evt_bad_fk does); isolation is the same.
func openSQLite(t *testing.T) (*database.DB, *store.Store) {
	t.Helper()
	db := openIngestDB(t, ingestDSN(t))
	return db, store.New(db, nil)
}

func TestGroupCommitIsolatesEachEvent(t *testing.T) {
	db, st := openSQLite(t)
	ctx := context.Background()
	errRecord := errors.New("observer failed")
	record := func(_ context.Context, tx *store.Store, ev models.Event) (bool, error) {
		if ev.ID == "evt_rec_fail" {
			return false, errRecord
		}
		return ev.ID == "evt_after", tx.UpsertObject(ctx, &models.IntegrationObject{
			OrganizationID: ev.OrganizationID, ObjectType: "registration", ObjectID: "obj_" + ev.ID,
			Data: "{}", LastEventID: ev.ID, LastEventType: ev.Type, LastEventCreated: 1,
		})
	}
	type result struct {
		id    string
		isNew bool
		err   error
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	post := func(id string, hooks []string) {
		defer wg.Done()
		ev := &models.Event{OrganizationID: "org_1", ID: id, Type: "registration.created", Payload: `{"id":"` + id + `"}`}
		_, isNew, err := st.IngestEvent(ctx, ev, hooks, `[]`, record)
		mu.Lock()
		results = append(results, result{id, isNew, err})
		mu.Unlock()
	}
	// 100 new events, each posted three times at once; one whose outbox row
	// names a webhook that does not exist (foreign key); one whose observer
	// fails; one whose observer asks to see it after the commit.
	for i := range 100 {
		for range 3 {
			wg.Add(1)
			go post(fmt.Sprintf("evt_%03d", i), []string{"wh_1"})
		}
	}
	wg.Add(3)
	go post("evt_bad_fk", []string{"wh_1", "wh_missing"})
	go post("evt_rec_fail", []string{"wh_1"})
	go post("evt_after", []string{"wh_1"})
	wg.Wait()

	created := map[string]int{}
	for _, r := range results {
		switch r.id {
		case "evt_bad_fk", "evt_rec_fail":
			if r.err == nil {
				t.Errorf("%s: no error", r.id)
			}
			continue
		}
		if r.err != nil {
			t.Fatalf("%s: %v", r.id, r.err)
		}
		if r.isNew {
			created[r.id]++
		}
	}
	if len(created) != 101 {
		t.Fatalf("%d events created, want 101", len(created))
	}
	for id, n := range created {
		if n != 1 {
			t.Fatalf("%s reported new %d times", id, n)
		}
	}
	count := func(q string, args ...any) int64 {
		var n int64
		if err := db.Raw(q, args...).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT COUNT(*) FROM events`); n != 101 {
		t.Fatalf("%d events stored, want 101 (failed ones must leave nothing)", n)
	}
	if n := count(`SELECT COUNT(*) FROM webhook_outbox`); n != 101 {
		t.Fatalf("%d outbox rows, want 101", n)
	}
	if n := count(`SELECT COUNT(*) FROM integration_objects`); n != 101 {
		t.Fatalf("%d objects, want 101", n)
	}
	if n := count(`SELECT COUNT(*) FROM events WHERE id IN ('evt_bad_fk', 'evt_rec_fail')`); n != 0 {
		t.Fatalf("a failed event was stored")
	}
	if n := count(`SELECT COUNT(*) FROM events WHERE dispatched_at IS NULL`); n != 1 {
		t.Fatalf("%d events wait for an observer, want 1 (evt_after)", n)
	}
	if n := count(`SELECT COUNT(*) FROM events WHERE dispatched_at IS NULL AND id = 'evt_after'`); n != 1 {
		t.Fatal("evt_after is not waiting for its observer")
	}
	// The events did share commits (303 posted at once).
	if multi, _ := store.GroupCommits(st); multi == 0 {
		t.Fatal("no group commit carried more than one event")
	}
}

// One group of three events, the second of which fails (its outbox row
// names a webhook that does not exist): the other two are stored, the
// failed one leaves nothing. On Postgres the pipelined batch is rolled
// back as a whole and written again event by event.
func TestGroupWithAFailingEvent(t *testing.T) {
	db, st := openSQLite(t)
	var events []*models.Event
	for _, id := range []string{"evt_a", "evt_bad", "evt_c"} {
		events = append(events, &models.Event{OrganizationID: "org_1", ID: id, Type: "registration.created", Payload: `{}`})
	}
	errs := store.CommitOneGroup(context.Background(), st, events, [][]string{{"wh_1"}, {"wh_1", "wh_missing"}, {"wh_1"}})
	for i, err := range errs {
		if (i == 1) != (err != nil) {
			t.Errorf("%s: %v", events[i].ID, err)
		}
	}
	if _, rewritten := store.GroupCommits(st); db.Dialect == "postgres" && rewritten != 1 {
		t.Fatalf("%d batches written again event by event, want 1", rewritten)
	}
	var ids []string
	if err := db.Raw(`SELECT id FROM events ORDER BY id`).Scan(&ids).Error; err != nil {
		t.Fatal(err)
	}
	var outbox int64
	if err := db.Raw(`SELECT COUNT(*) FROM webhook_outbox`).Scan(&outbox).Error; err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids) != "[evt_a evt_c]" || outbox != 2 {
		t.Fatalf("stored events %v and %d outbox rows; want [evt_a evt_c], 2 rows", ids, outbox)
	}
}
