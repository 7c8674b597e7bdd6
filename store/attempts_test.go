package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aqio/connect/models"
	"github.com/aqio/connect/store"
)

// Outcomes complete their begun rows in place (every outcome column, on
// Postgres in one statement), rows never begun are inserted, a repeated
// recording and a row marked interrupted change nothing, the counters
// count each message once, and a pump's claim leaves the outbox with the
// outcomes, in the same transaction.
func TestRecordAttemptsCompletesBegunRows(t *testing.T) {
	ctx := context.Background()
	db := openIngestDB(t, ingestDSN(t))
	st := store.New(db, nil)
	start := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)

	row := func(i int) *models.WebhookDelivery {
		ev := fmt.Sprintf("evt_%d", i)
		return &models.WebhookDelivery{ID: fmt.Sprintf("dlv_%d", i), WebhookID: "wh_1", OrganizationID: "org_1",
			EventType: "registration.created", EventID: &ev, MessageID: ev, WorkflowID: "webhook-pump:wh_1", RunID: "run_1",
			Payload: `{"n":` + fmt.Sprint(i) + `}`, AttemptedAt: start.Add(time.Duration(i) * time.Second), Status: models.DeliveryPending}
	}
	// Five begun rows (the Postgres statement takes several at once), one
	// that was never begun.
	var begun []*models.WebhookDelivery
	for i := 1; i <= 5; i++ {
		begun = append(begun, row(i))
	}
	if err := st.BeginAttempts(ctx, "run_1", []string{}, begun); err != nil {
		t.Fatal(err)
	}
	// Row 5's send was marked interrupted by a later try before this
	// outcome was recorded.
	if err := st.MarkInterrupted(ctx, "run_1", []string{"evt_5"}); err != nil {
		t.Fatal(err)
	}
	// The claim of a pump, to be released with the outcomes.
	for i := 1; i <= 6; i++ {
		if err := db.Exec(`INSERT INTO webhook_outbox (webhook_id, event_id, organization_id, event_type, created_at, batch_id, claimed_at)
VALUES ('wh_1', ?, 'org_1', 'registration.created', ?, 'p|claim', ?)`, fmt.Sprintf("evt_%d", i), start, start).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Exec(`INSERT INTO webhook_outbox (webhook_id, event_id, organization_id, event_type, created_at)
VALUES ('wh_1', 'evt_other', 'org_1', 'registration.created', ?)`, start).Error; err != nil {
		t.Fatal(err)
	}

	code, ms, body, headers, msg := 204, int64(12), "", `{"Server":["test"]}`, "endpoint answered 503"
	done := start.Add(time.Minute)
	retryAt := done.Add(30 * time.Second)
	var outcomes []*models.WebhookDelivery
	for i, r := range begun {
		o := *r
		o.Payload = r.Payload + " " // what was sent
		o.ResponseStatusCode, o.DurationMS, o.ResponseBody, o.ResponseHeaders = &code, &ms, &body, &headers
		o.CompletedAt, o.Status, o.IsFinal = &done, models.DeliverySuccess, true
		if i == 1 {
			o.Status, o.IsFinal, o.ErrorMessage, o.NextRetryAt = models.DeliveryFailed, false, &msg, &retryAt
		}
		if i == 2 {
			o.Status, o.ErrorMessage = models.DeliveryFailed, &msg
		}
		outcomes = append(outcomes, &o)
	}
	cancelled := row(6)
	cancelled.Status, cancelled.IsFinal, cancelled.CompletedAt = models.DeliveryCancelled, true, &done
	outcomes = append(outcomes, cancelled)
	if err := st.RecordAttemptsReleasing(ctx, "wh_1", outcomes, "p|claim"); err != nil {
		t.Fatal(err)
	}
	// Repeated (the activity retried after it committed): nothing changes.
	if err := st.RecordAttempts(ctx, "wh_1", outcomes); err != nil {
		t.Fatal(err)
	}

	var got []models.WebhookDelivery
	if err := db.Order("id").Find(&got).Error; err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 {
		t.Fatalf("%d attempt rows, want 6: %+v", len(got), got)
	}
	for i, g := range got[:4] {
		want := outcomes[i]
		if g.Status != want.Status || g.IsFinal != want.IsFinal || g.Payload != want.Payload ||
			g.ResponseStatusCode == nil || *g.ResponseStatusCode != 204 || g.DurationMS == nil || *g.DurationMS != 12 ||
			g.ResponseHeaders == nil || *g.ResponseHeaders != headers || g.CompletedAt == nil || !g.CompletedAt.Equal(done) ||
			!g.AttemptedAt.Equal(want.AttemptedAt) {
			t.Errorf("row %s = %+v, want the outcome %+v", g.ID, g, *want)
		}
	}
	if g := got[1]; g.NextRetryAt == nil || !g.NextRetryAt.Equal(retryAt) || g.ErrorMessage == nil || *g.ErrorMessage != msg {
		t.Errorf("retrying row: next retry %v, error %v", g.NextRetryAt, g.ErrorMessage)
	}
	if g := got[4]; g.Status != models.DeliveryFailed || !g.Interrupted || g.ResponseStatusCode != nil {
		t.Errorf("the interrupted row was overwritten: %+v", g)
	}
	if g := got[5]; g.ID != "dlv_6" || g.Status != models.DeliveryCancelled {
		t.Errorf("the row never begun was not inserted: %+v", g)
	}

	var wh models.Webhook
	if err := db.First(&wh, "id = ?", "wh_1").Error; err != nil {
		t.Fatal(err)
	}
	// Final: rows 1, 3, 4 and 6 (2 retries; 5 was settled before); not
	// delivered: 3 (failed) and 6 (cancelled).
	if wh.TotalDeliveries != 4 || wh.FailedDeliveries != 2 {
		t.Errorf("counters total %d, failed %d; want 4, 2", wh.TotalDeliveries, wh.FailedDeliveries)
	}
	if wh.LastTriggeredAt == nil || !wh.LastTriggeredAt.Equal(start.Add(6*time.Second)) {
		t.Errorf("last_triggered_at = %v, want %v", wh.LastTriggeredAt, start.Add(6*time.Second))
	}
	var left []string
	if err := db.Raw(`SELECT event_id FROM webhook_outbox ORDER BY event_id`).Scan(&left).Error; err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(left) != "[evt_other]" {
		t.Errorf("outbox after the release: %v, want [evt_other]", left)
	}

	// A claim whose every row was begun and delivered (the quiet path: on
	// Postgres one statement completes, counts and releases).
	var second []*models.WebhookDelivery
	for i := 7; i <= 8; i++ {
		second = append(second, row(i))
		if err := db.Exec(`INSERT INTO webhook_outbox (webhook_id, event_id, organization_id, event_type, created_at, batch_id, claimed_at)
VALUES ('wh_1', ?, 'org_1', 'registration.created', ?, 'p|claim2', ?)`, fmt.Sprintf("evt_%d", i), start, start).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := st.BeginAttempts(ctx, "run_1", []string{}, second); err != nil {
		t.Fatal(err)
	}
	for _, r := range second {
		r.Status, r.IsFinal, r.CompletedAt, r.ResponseStatusCode = models.DeliverySuccess, true, &done, &code
	}
	if err := st.RecordAttemptsReleasing(ctx, "wh_1", second, "p|claim2"); err != nil {
		t.Fatal(err)
	}
	var statuses []string
	if err := db.Raw(`SELECT status FROM webhook_deliveries WHERE id IN ('dlv_7', 'dlv_8') ORDER BY id`).Scan(&statuses).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.First(&wh, "id = ?", "wh_1").Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Raw(`SELECT event_id FROM webhook_outbox ORDER BY event_id`).Scan(&left).Error; err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(statuses) != "[success success]" || wh.TotalDeliveries != 6 || wh.FailedDeliveries != 2 ||
		!wh.LastTriggeredAt.Equal(start.Add(8*time.Second)) || fmt.Sprint(left) != "[evt_other]" {
		t.Errorf("after the second claim: statuses %v, counters %d/%d, last %v, outbox %v",
			statuses, wh.TotalDeliveries, wh.FailedDeliveries, wh.LastTriggeredAt, left)
	}
}
