package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/aqio/connect/models"
)

// SkippedDisabled is the recover status of the events that matched a
// webhook while it was disabled (webhook_skipped): never attempted.
const SkippedDisabled = "skipped_disabled"

// RecoverableMessage is a message whose delivery ended without success
// (or that was skipped while the webhook was disabled).
type RecoverableMessage struct {
	EventID   string
	EventType string
	MessageID string
	// Skipped: never attempted (matched while the webhook was disabled).
	Skipped bool
}

// owedQuery is the union of a webhook's messages in [since, until) whose
// final attempt has one of statuses (failed, cancelled) or that were
// skipped while it was disabled (skipped_disabled), minus the messages
// that were delivered at any time: one row per event.
func owedQuery(orgID, webhookID string, since, until time.Time, statuses []string) (string, []any) {
	var attempted []string
	skipped := false
	for _, st := range statuses {
		if st == SkippedDisabled {
			skipped = true
		} else {
			attempted = append(attempted, st)
		}
	}
	var parts []string
	var args []any
	if len(attempted) > 0 {
		parts = append(parts, `SELECT event_id, event_type, message_id, 0 AS skipped, attempted_at AS first_at
			FROM webhook_deliveries
			WHERE organization_id = ? AND webhook_id = ? AND is_final = ? AND status IN ?
			  AND attempted_at >= ? AND attempted_at < ? AND event_id IS NOT NULL`)
		args = append(args, orgID, webhookID, true, attempted, since, until)
	}
	if skipped {
		parts = append(parts, `SELECT event_id, event_type, event_id AS message_id, 1 AS skipped, skipped_at AS first_at
			FROM webhook_skipped
			WHERE organization_id = ? AND webhook_id = ? AND skipped_at >= ? AND skipped_at < ?`)
		args = append(args, orgID, webhookID, since, until)
	}
	if len(parts) == 0 {
		parts = append(parts, `SELECT event_id, event_type, message_id, 0 AS skipped, attempted_at AS first_at
			FROM webhook_deliveries WHERE 1 = 0`)
	}
	q := `SELECT event_id, MIN(event_type) AS event_type, MIN(message_id) AS message_id,
			MAX(skipped) AS skipped, MIN(first_at) AS first_at
		FROM (` + strings.Join(parts, " UNION ALL ") + `) u
		WHERE event_id NOT IN (SELECT event_id FROM webhook_deliveries
			WHERE webhook_id = ? AND status = ? AND event_id IS NOT NULL)
		GROUP BY event_id`
	args = append(args, webhookID, models.DeliverySuccess)
	return q, args
}

// FindRecoverable lists the distinct messages of a webhook owed in
// [since, until) — final attempt failed or cancelled (as statuses say), or
// skipped while it was disabled — that were never delivered, oldest
// first, at most limit.
func (s *Store) FindRecoverable(ctx context.Context, orgID, webhookID string, since, until time.Time, statuses []string, limit int) ([]RecoverableMessage, error) {
	q, args := owedQuery(orgID, webhookID, since, until, statuses)
	var rows []struct {
		EventID   string
		EventType string
		MessageID string
		Skipped   int
	}
	err := s.db.WithContext(ctx).Raw(q+" ORDER BY MIN(first_at), event_id LIMIT ?", append(args, limit)...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find recoverable: %w", err)
	}
	out := make([]RecoverableMessage, len(rows))
	for i, r := range rows {
		out[i] = RecoverableMessage{EventID: r.EventID, EventType: r.EventType, MessageID: r.MessageID, Skipped: r.Skipped == 1}
	}
	return out, nil
}

// CountRecoverable counts what FindRecoverable would find without a limit.
func (s *Store) CountRecoverable(ctx context.Context, orgID, webhookID string, since, until time.Time, statuses []string) (int64, error) {
	q, args := owedQuery(orgID, webhookID, since, until, statuses)
	var n int64
	err := s.db.WithContext(ctx).Raw("SELECT COUNT(*) FROM ("+q+") c", args...).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("count recoverable: %w", err)
	}
	return n, nil
}

// OwedSince is where what a disabled webhook is owed begins: the first
// failed attempt of the run of failures that preceded its disable (after
// its last success before disabledAt), or disabledAt when there was none.
func (s *Store) OwedSince(ctx context.Context, webhookID string, disabledAt time.Time) (time.Time, error) {
	var last []time.Time
	err := s.db.WithContext(ctx).Model(&models.WebhookDelivery{}).
		Where("webhook_id = ? AND status = ? AND attempted_at < ?", webhookID, models.DeliverySuccess, disabledAt).
		Order("attempted_at DESC").Limit(1).Pluck("attempted_at", &last).Error
	if err != nil {
		return time.Time{}, fmt.Errorf("last success: %w", err)
	}
	first := s.db.WithContext(ctx).Model(&models.WebhookDelivery{}).
		Where("webhook_id = ? AND status = ? AND attempted_at < ?", webhookID, models.DeliveryFailed, disabledAt)
	if len(last) > 0 {
		first = first.Where("attempted_at > ?", last[0])
	}
	var f []time.Time
	if err := first.Order("attempted_at").Limit(1).Pluck("attempted_at", &f).Error; err != nil {
		return time.Time{}, fmt.Errorf("first failure: %w", err)
	}
	if len(f) > 0 && f[0].Before(disabledAt) {
		return f[0].UTC(), nil
	}
	return disabledAt.UTC(), nil
}

// SkippedWebhooks lists the disabled webhooks an event was skipped for.
func (s *Store) SkippedWebhooks(ctx context.Context, orgID, eventID string) ([]string, error) {
	var out []string
	err := s.db.WithContext(ctx).Model(&models.SkippedDelivery{}).
		Where("organization_id = ? AND event_id = ?", orgID, eventID).Order("webhook_id").Pluck("webhook_id", &out).Error
	return out, err
}

// DeleteSkippedBefore removes the skipped rows older than cutoff (they age
// out with the delivery log; there are few: one per disabled webhook and
// matching event).
func (s *Store) DeleteSkippedBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("skipped_at < ?", cutoff).Delete(&models.SkippedDelivery{})
	return res.RowsAffected, res.Error
}

// FailingSince returns when the current run of failures of a webhook began:
// the first failed attempt after its last success. ok is false when the
// newest attempt succeeded or there is no failure.
func (s *Store) FailingSince(ctx context.Context, webhookID string) (since time.Time, ok bool, err error) {
	var last models.WebhookDelivery
	q := s.db.WithContext(ctx).Where("webhook_id = ? AND status = ?", webhookID, models.DeliverySuccess).
		Order("attempted_at DESC").Limit(1).Find(&last)
	if q.Error != nil {
		return time.Time{}, false, q.Error
	}
	first := s.db.WithContext(ctx).Where("webhook_id = ? AND status = ?", webhookID, models.DeliveryFailed)
	if q.RowsAffected > 0 {
		first = first.Where("attempted_at > ?", last.AttemptedAt)
	}
	var f models.WebhookDelivery
	r := first.Order("attempted_at").Limit(1).Find(&f)
	if r.Error != nil {
		return time.Time{}, false, r.Error
	}
	if r.RowsAffected == 0 {
		return time.Time{}, false, nil
	}
	return f.AttemptedAt, true, nil
}

// WindowStats are a webhook's delivery statistics over one window, per
// message and per attempt: a message delivered on its third attempt is one
// delivered message and three attempts (one successful).
type WindowStats struct {
	Messages MessageStats `json:"messages"`
	Attempts AttemptStats `json:"attempts"`
	// AttemptLatencyMS are percentiles of the attempts' durations.
	AttemptLatencyMS Percentiles `json:"attempt_latency_ms"`
}

// MessageStats count the distinct messages (webhook-id) with an attempt in
// the window by where they ended: delivered (an attempt succeeded), failed
// (final failure, never delivered), cancelled (ended cancelled, never
// delivered), in_progress (no final state yet). SuccessRate is delivered /
// (delivered + failed).
type MessageStats struct {
	Total       int64    `json:"total"`
	Delivered   int64    `json:"delivered"`
	Failed      int64    `json:"failed"`
	Cancelled   int64    `json:"cancelled"`
	InProgress  int64    `json:"in_progress"`
	SuccessRate *float64 `json:"success_rate"`
}

// AttemptStats count the attempts in the window by status. SuccessRate is
// success / (success + failed).
type AttemptStats struct {
	Total       int64            `json:"total"`
	ByStatus    map[string]int64 `json:"by_status"`
	SuccessRate *float64         `json:"success_rate"`
}

// Percentiles of a duration in milliseconds (nil without data).
type Percentiles struct {
	P50 *int64 `json:"p50"`
	P95 *int64 `json:"p95"`
}

// Stats computes message and attempt statistics and p50/p95 attempt
// latency since a time.
func (s *Store) Stats(ctx context.Context, orgID, webhookID string, since time.Time) (WindowStats, error) {
	base := func() *gorm.DB {
		return s.db.WithContext(ctx).Model(&models.WebhookDelivery{}).
			Where("organization_id = ? AND webhook_id = ? AND attempted_at >= ?", orgID, webhookID, since)
	}
	var rows []struct {
		Status string
		N      int64
	}
	if err := base().Select("status, COUNT(*) AS n").Group("status").Scan(&rows).Error; err != nil {
		return WindowStats{}, fmt.Errorf("stats: %w", err)
	}
	st := WindowStats{Attempts: AttemptStats{ByStatus: map[string]int64{
		models.DeliveryPending: 0, models.DeliverySuccess: 0, models.DeliveryFailed: 0, models.DeliveryCancelled: 0,
	}}}
	for _, r := range rows {
		st.Attempts.ByStatus[r.Status] = r.N
		st.Attempts.Total += r.N
	}
	st.Attempts.SuccessRate = rate(st.Attempts.ByStatus[models.DeliverySuccess], st.Attempts.ByStatus[models.DeliveryFailed])

	// One row per message: did any attempt succeed, did it end failed or cancelled.
	var m struct {
		Total, Delivered, Failed, Cancelled int64
	}
	err := s.db.WithContext(ctx).Raw(`SELECT COUNT(*) AS total,
			COALESCE(SUM(ok), 0) AS delivered,
			COALESCE(SUM(CASE WHEN ok = 0 AND failed = 1 THEN 1 ELSE 0 END), 0) AS failed,
			COALESCE(SUM(CASE WHEN ok = 0 AND failed = 0 AND cancelled = 1 THEN 1 ELSE 0 END), 0) AS cancelled
		FROM (SELECT message_id,
				MAX(CASE WHEN status = ? THEN 1 ELSE 0 END) AS ok,
				MAX(CASE WHEN status = ? AND is_final = ? THEN 1 ELSE 0 END) AS failed,
				MAX(CASE WHEN status = ? AND is_final = ? THEN 1 ELSE 0 END) AS cancelled
			FROM webhook_deliveries
			WHERE organization_id = ? AND webhook_id = ? AND attempted_at >= ?
			GROUP BY message_id) m`,
		models.DeliverySuccess, models.DeliveryFailed, true, models.DeliveryCancelled, true,
		orgID, webhookID, since).Scan(&m).Error
	if err != nil {
		return st, fmt.Errorf("message stats: %w", err)
	}
	st.Messages = MessageStats{Total: m.Total, Delivered: m.Delivered, Failed: m.Failed, Cancelled: m.Cancelled,
		InProgress: m.Total - m.Delivered - m.Failed - m.Cancelled, SuccessRate: rate(m.Delivered, m.Failed)}

	var timed int64
	if err := base().Where("duration_ms IS NOT NULL").Count(&timed).Error; err != nil {
		return st, err
	}
	pct := func(p float64) (*int64, error) {
		if timed == 0 {
			return nil, nil
		}
		var v []int64
		off := int(p * float64(timed-1))
		err := base().Where("duration_ms IS NOT NULL").Order("duration_ms").Offset(off).Limit(1).Pluck("duration_ms", &v).Error
		if err != nil || len(v) == 0 {
			return nil, err
		}
		return &v[0], nil
	}
	if st.AttemptLatencyMS.P50, err = pct(0.50); err != nil {
		return st, err
	}
	if st.AttemptLatencyMS.P95, err = pct(0.95); err != nil {
		return st, err
	}
	return st, nil
}

// rate is ok / (ok + failed), nil when both are zero.
func rate(ok, failed int64) *float64 {
	if ok+failed == 0 {
		return nil
	}
	r := float64(ok) / float64(ok+failed)
	return &r
}

// DeleteDeliveriesBefore removes up to batch attempt rows older than
// cutoff and reports how many went.
func (s *Store) DeleteDeliveriesBefore(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	sub := s.db.WithContext(ctx).Model(&models.WebhookDelivery{}).Select("id").
		Where("attempted_at < ?", cutoff).Limit(batch)
	res := s.db.WithContext(ctx).Where("id IN (?)", sub).Delete(&models.WebhookDelivery{})
	return res.RowsAffected, res.Error
}

// NextRetryNumber is the retry number the next row of a run would take.
func (s *Store) NextRetryNumber(ctx context.Context, runID string) (int, error) {
	var n *int
	err := s.db.WithContext(ctx).Model(&models.WebhookDelivery{}).Where("run_id = ?", runID).
		Select("MAX(retry_number) + 1").Scan(&n).Error
	if err != nil || n == nil {
		return 0, err
	}
	return *n, nil
}

// Run names one workflow run (RunID "" for a run to find by id) and, for
// an attempt a DeliveryBatch run handed on, the message.
type Run struct {
	WorkflowID string
	RunID      string
	EventID    *string
}

// OpenRuns lists the runs of a webhook's messages that are waiting for a
// retry: attempts that are not final with no final attempt of the same
// message since. An attempt made by a DeliveryBatch run is continued by
// the message's own Delivery run; the caller maps it (EventID is set).
func (s *Store) OpenRuns(ctx context.Context, webhookID string) ([]Run, error) {
	var out []Run
	err := s.db.WithContext(ctx).Raw(`SELECT DISTINCT d.workflow_id, d.run_id, d.event_id
		FROM webhook_deliveries d
		WHERE d.webhook_id = ? AND d.is_final = ? AND NOT EXISTS (
			SELECT 1 FROM webhook_deliveries f
			WHERE f.webhook_id = d.webhook_id AND f.message_id = d.message_id
			  AND f.is_final = ? AND f.attempted_at >= d.attempted_at)`, webhookID, false, true).
		Scan(&out).Error
	return out, err
}
