package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testdb"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/aqio/connect/database"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/store"
)

// ingestDSN is a migrated database with organization org_1 and webhook
// wh_1 (all events): a fresh Postgres database when AQIO_TEST_DATABASE_URL
// is set, else a SQLite file. Open it more than once to act as several
// processes.
func ingestDSN(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dsn := testdb.URL(t, "aqio_ingest", "ingest.db")
	db := openIngestDB(t, dsn)
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
	return dsn
}

func openIngestDB(t *testing.T, dsn string) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// routeActive queues the event for every active webhook and records the
// ids it was routed over.
func routeActive(seen *[]string) store.Route {
	return func(hooks []models.Webhook) ([]string, []string, string, error) {
		*seen = (*seen)[:0]
		var queued, skipped []string
		for _, w := range hooks {
			*seen = append(*seen, w.ID)
			if w.IsActive {
				queued = append(queued, w.ID)
			} else {
				skipped = append(skipped, w.ID)
			}
		}
		return queued, skipped, "[]", nil
	}
}

func outboxOf(t *testing.T, db *database.DB, eventID string) []string {
	t.Helper()
	var ids []string
	if err := db.Raw(`SELECT webhook_id FROM webhook_outbox WHERE event_id = ? ORDER BY webhook_id`, eventID).Scan(&ids).Error; err != nil {
		t.Fatal(err)
	}
	return ids
}

// Ingest keeps each organization's webhooks and integrations in memory;
// a change made by another process (another Store on the same database)
// must still route the very next event.
func TestIngestSeesChangesOfOtherProcesses(t *testing.T) {
	dsn := ingestDSN(t)
	ctx := context.Background()
	api := openIngestDB(t, dsn) // the process that ingests
	other := openIngestDB(t, dsn)
	st, admin := store.New(api, nil), store.New(other, nil)

	var seen []string
	var sawIntegrations []string
	record := func(ctx context.Context, tx *store.Store, ev models.Event) (bool, error) {
		integs, err := tx.ActiveIntegrations(ctx, ev.OrganizationID)
		if err != nil {
			return false, err
		}
		sawIntegrations = sawIntegrations[:0]
		for _, in := range integs {
			sawIntegrations = append(sawIntegrations, in.ID)
		}
		return len(integs) > 0, tx.UpsertObject(ctx, &models.IntegrationObject{
			OrganizationID: ev.OrganizationID, ObjectType: "registration", ObjectID: "reg_" + ev.ID,
			Data: "{}", LastEventID: ev.ID, LastEventType: ev.Type, LastEventCreated: 1,
		})
	}
	n := 0
	post := func() string {
		t.Helper()
		n++
		ev := &models.Event{OrganizationID: "org_1", ID: fmt.Sprintf("evt_%d", n), Type: "registration.created", Payload: `{}`}
		if _, isNew, err := st.IngestRouted(ctx, ev, routeActive(&seen), record); err != nil || !isNew {
			t.Fatalf("ingest %s: new %v, %v", ev.ID, isNew, err)
		}
		return ev.ID
	}
	expect := func(step string, evID string, outbox, integrations []string) {
		t.Helper()
		if got := outboxOf(t, api, evID); !slices.Equal(got, outbox) {
			t.Errorf("%s: %s queued for %v, want %v", step, evID, got, outbox)
		}
		if !slices.Equal(sawIntegrations, integrations) {
			t.Errorf("%s: the recorder saw integrations %v, want %v", step, sawIntegrations, integrations)
		}
		var waiting int64
		if err := api.Raw(`SELECT COUNT(*) FROM events WHERE id = ? AND dispatched_at IS NULL`, evID).Scan(&waiting).Error; err != nil {
			t.Fatal(err)
		}
		if want := len(integrations) > 0; (waiting == 1) != want {
			t.Errorf("%s: %s waits for its observer: %v, want %v", step, evID, waiting == 1, want)
		}
		var objects int64
		if err := api.Raw(`SELECT COUNT(*) FROM integration_objects WHERE object_id = ?`, "reg_"+evID).Scan(&objects).Error; err != nil {
			t.Fatal(err)
		}
		if objects != 1 {
			t.Errorf("%s: %d objects kept for %s, want 1", step, objects, evID)
		}
	}

	expect("first event (fills the cache)", post(), []string{"wh_1"}, nil)

	if err := admin.CreateWebhook(ctx, &models.Webhook{ID: "wh_2", OrganizationID: "org_1", Name: "new", URL: "https://example.com/2",
		Secret: "s", Events: `["*"]`, ContentType: "application/json", IsActive: true}); err != nil {
		t.Fatal(err)
	}
	expect("webhook created elsewhere", post(), []string{"wh_1", "wh_2"}, nil)

	if _, err := admin.DeactivateWebhook(ctx, "org_1", "wh_1", "test"); err != nil {
		t.Fatal(err)
	}
	expect("webhook disabled elsewhere", post(), []string{"wh_2"}, nil)

	if _, err := admin.UpdateWebhook(ctx, "org_1", "wh_1", map[string]any{"is_active": true, "disabled_reason": nil}); err != nil {
		t.Fatal(err)
	}
	expect("webhook enabled elsewhere", post(), []string{"wh_1", "wh_2"}, nil)

	if err := admin.DeleteWebhook(ctx, "org_1", "wh_2"); err != nil {
		t.Fatal(err)
	}
	expect("webhook deleted elsewhere", post(), []string{"wh_1"}, nil)

	if err := other.Exec(`INSERT INTO integrations (id, organization_id, integration_type, name) VALUES ('int_1', 'org_1', 'pipedrive', 'Pipedrive')`).Error; err != nil {
		t.Fatal(err)
	}
	expect("integration connected elsewhere", post(), []string{"wh_1"}, []string{"int_1"})

	if err := other.Exec(`UPDATE integrations SET status = 'error' WHERE id = 'int_1'`).Error; err != nil {
		t.Fatal(err)
	}
	expect("integration no longer active", post(), []string{"wh_1"}, nil)

	// A write to a webhook's columns routing does not depend on (its
	// counters) leaves the version alone.
	var before, after int64
	version := func(v *int64) {
		if err := api.Raw(`SELECT config_version FROM organizations WHERE id = 'org_1'`).Scan(v).Error; err != nil {
			t.Fatal(err)
		}
	}
	version(&before)
	evt1 := "evt_1"
	if err := admin.RecordAttempt(ctx, &models.WebhookDelivery{ID: "del_1", WebhookID: "wh_1", OrganizationID: "org_1",
		EventID: &evt1, EventType: "registration.created", MessageID: "evt_1", RunID: "run", WorkflowID: "wf",
		Payload: "{}", AttemptedAt: time.Now().UTC(), Status: models.DeliverySuccess, IsFinal: true}); err != nil {
		t.Fatal(err)
	}
	version(&after)
	if after != before {
		t.Errorf("recording an attempt moved the config version %d -> %d", before, after)
	}
	expect("after an attempt was recorded", post(), []string{"wh_1"}, nil)
}

// A repeated event writes nothing: no second outbox row, no object state
// from the repeat, whichever process posts it.
func TestIngestDuplicateWritesNothing(t *testing.T) {
	dsn := ingestDSN(t)
	ctx := context.Background()
	db := openIngestDB(t, dsn)
	st, st2 := store.New(db, nil), store.New(openIngestDB(t, dsn), nil)
	var seen []string
	key := "key-1"
	objectData := ""
	record := func(ctx context.Context, tx *store.Store, ev models.Event) (bool, error) {
		return false, tx.UpsertObject(ctx, &models.IntegrationObject{OrganizationID: ev.OrganizationID, ObjectType: "registration",
			ObjectID: "reg_1", Data: objectData, LastEventID: ev.ID, LastEventType: ev.Type, LastEventCreated: 1})
	}
	objectData = `{"v":1}`
	ev := &models.Event{OrganizationID: "org_1", ID: "evt_a", Type: "registration.created", Payload: `{"v":1}`, IdempotencyKey: &key}
	if _, isNew, err := st.IngestRouted(ctx, ev, routeActive(&seen), record); err != nil || !isNew {
		t.Fatalf("first: new %v, %v", isNew, err)
	}
	objectData = `{"v":2}`
	for i, s := range []*store.Store{st, st2} {
		again := &models.Event{OrganizationID: "org_1", ID: fmt.Sprintf("evt_other_%d", i), Type: "registration.created", Payload: `{"v":2}`, IdempotencyKey: &key}
		stored, isNew, err := s.IngestRouted(ctx, again, routeActive(&seen), record)
		if err != nil || isNew {
			t.Fatalf("repeat %d: new %v, %v", i, isNew, err)
		}
		if stored.ID != "evt_a" || stored.Payload != `{"v":1}` {
			t.Fatalf("repeat %d returned %s %s, want the stored evt_a", i, stored.ID, stored.Payload)
		}
	}
	var rows, events int64
	var data string
	if err := db.Raw(`SELECT COUNT(*) FROM webhook_outbox`).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Raw(`SELECT COUNT(*) FROM events`).Scan(&events).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Raw(`SELECT data FROM integration_objects WHERE object_id = 'reg_1'`).Scan(&data).Error; err != nil {
		t.Fatal(err)
	}
	if rows != 1 || events != 1 || data != `{"v":1}` {
		t.Fatalf("%d outbox rows, %d events, object %s; want 1, 1, the first event's", rows, events, data)
	}
}
