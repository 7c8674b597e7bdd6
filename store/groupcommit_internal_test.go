package store

import (
	"context"
	"errors"
	"testing"

	"github.com/aqio/connect/database"
	"github.com/aqio/connect/internal/testdb"
	"github.com/aqio/connect/models"
)

// One group of three events, the second of which fails (its outbox row
// names a webhook that does not exist): the other two are stored, the
// failed one leaves nothing. On Postgres the pipelined batch is rolled
// back as a whole and written again event by event.
func TestGroupWithAFailingEvent(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, testdb.URL(t, "aqio_group", "group.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO organizations (id, name) VALUES ('org_1', 'One')`,
		`INSERT INTO webhooks (id, organization_id, name, url, secret, events) VALUES ('wh_1', 'org_1', 'w', 'https://example.com', 's', '["*"]')`,
	} {
		if err := db.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	s := New(db, nil)
	var batch []*ingestJob
	for i, hooks := range [][]string{{"wh_1"}, {"wh_1", "wh_missing"}, {"wh_1"}} {
		e := &models.Event{OrganizationID: "org_1", ID: []string{"evt_a", "evt_bad", "evt_c"}[i], Type: "registration.created", Payload: `{}`}
		j := &ingestJob{ctx: ctx, e: e, webhookIDs: hooks, dispatchJSON: "[]", version: -1, now: s.now(), done: make(chan error, 1)}
		e.ReceivedAt, e.Dispatch, e.DispatchedAt = j.now, &j.dispatchJSON, &j.now
		batch = append(batch, j)
	}
	if db.Dialect == "postgres" {
		s.commitPostgresGroup(batch)
		if _, rewritten := GroupCommits(s); rewritten != 1 {
			t.Fatalf("%d batches written again event by event, want 1", rewritten)
		}
	} else {
		s.commitGroup(batch)
	}
	for i, j := range batch {
		err := <-j.done
		if (i == 1) != (err != nil) || errors.Is(err, errDuplicate) {
			t.Errorf("%s: %v", j.e.ID, err)
		}
	}
	var ids []string
	if err := db.Raw(`SELECT id FROM events ORDER BY id`).Scan(&ids).Error; err != nil {
		t.Fatal(err)
	}
	var outbox int64
	if err := db.Raw(`SELECT COUNT(*) FROM webhook_outbox`).Scan(&outbox).Error; err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] != "evt_a" || ids[1] != "evt_c" || outbox != 2 {
		t.Fatalf("stored events %v and %d outbox rows; want evt_a and evt_c, 2 rows", ids, outbox)
	}
}
