package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/aqio/connect/models"
)

// RecoverableMessage is a message whose delivery ended without success.
type RecoverableMessage struct {
	EventID   string
	EventType string
	MessageID string
}

// FindRecoverable lists the distinct messages of a webhook whose final
// attempt in [since, until) has the given status and that never succeeded
// afterwards (e.g. through an earlier redelivery), oldest first.
func (s *Store) FindRecoverable(ctx context.Context, orgID, webhookID string, since, until time.Time, status string, limit int) ([]RecoverableMessage, error) {
	var out []RecoverableMessage
	succeeded := s.db.WithContext(ctx).Model(&models.WebhookDelivery{}).
		Select("event_id").Where("webhook_id = ? AND status = ?", webhookID, models.DeliverySuccess)
	err := s.db.WithContext(ctx).Model(&models.WebhookDelivery{}).
		Select("event_id, MIN(event_type) AS event_type, MIN(message_id) AS message_id, MIN(attempted_at) AS first_at").
		Where("organization_id = ? AND webhook_id = ? AND is_final = ? AND status = ?", orgID, webhookID, true, status).
		Where("attempted_at >= ? AND attempted_at < ?", since, until).
		Where("event_id NOT IN (?)", succeeded).
		Group("event_id").Order("first_at, event_id").Limit(limit).
		Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("find recoverable: %w", err)
	}
	return out, nil
}

// CountUndelivered counts the distinct messages of a webhook that ended
// failed or cancelled since a time and never succeeded.
func (s *Store) CountUndelivered(ctx context.Context, orgID, webhookID string, since time.Time) (int64, error) {
	var n int64
	succeeded := s.db.WithContext(ctx).Model(&models.WebhookDelivery{}).
		Select("event_id").Where("webhook_id = ? AND status = ?", webhookID, models.DeliverySuccess)
	err := s.db.WithContext(ctx).Model(&models.WebhookDelivery{}).
		Where("organization_id = ? AND webhook_id = ? AND is_final = ? AND status IN ?", orgID, webhookID, true,
			[]string{models.DeliveryFailed, models.DeliveryCancelled}).
		Where("attempted_at >= ?", since).
		Where("event_id NOT IN (?)", succeeded).
		Distinct("event_id").Count(&n).Error
	return n, err
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

// WindowStats are a webhook's attempt statistics over one window.
type WindowStats struct {
	Counts      map[string]int64 `json:"counts"`
	Attempts    int64            `json:"attempts"`
	SuccessRate *float64         `json:"success_rate"`
	P50MS       *int64           `json:"p50_ms"`
	P95MS       *int64           `json:"p95_ms"`
}

// Stats computes attempt counts by status, the success rate of finished
// attempts and p50/p95 attempt latency since a time.
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
	st := WindowStats{Counts: map[string]int64{
		models.DeliveryPending: 0, models.DeliverySuccess: 0, models.DeliveryFailed: 0, models.DeliveryCancelled: 0,
	}}
	for _, r := range rows {
		st.Counts[r.Status] = r.N
		st.Attempts += r.N
	}
	if done := st.Counts[models.DeliverySuccess] + st.Counts[models.DeliveryFailed]; done > 0 {
		rate := float64(st.Counts[models.DeliverySuccess]) / float64(done)
		st.SuccessRate = &rate
	}
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
	var err error
	if st.P50MS, err = pct(0.50); err != nil {
		return st, err
	}
	if st.P95MS, err = pct(0.95); err != nil {
		return st, err
	}
	return st, nil
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
