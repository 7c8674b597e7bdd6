package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/aqio/connect/models"
)

// The endpoint workflow's tables: messages parked for a retry and the
// open circuits (migrations/00013_webhook_endpoint.sql). The workflow
// (webhook-endpoint:<webhook>) is their single owner; the dispatcher and a
// DeliveryBatch only add to them.

// OpenCircuits returns the webhooks whose circuit is open.
func (s *Store) OpenCircuits(ctx context.Context) (map[string]bool, error) {
	var ids []string
	if err := s.db.WithContext(ctx).Model(&models.Circuit{}).Pluck("webhook_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("read open circuits: %w", err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// GetCircuit returns the webhook's open circuit, or nil when it is closed.
func (s *Store) GetCircuit(ctx context.Context, webhookID string) (*models.Circuit, error) {
	var c models.Circuit
	err := s.db.WithContext(ctx).Where("webhook_id = ?", webhookID).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read circuit: %w", err)
	}
	return &c, nil
}

// ParkOutboxBatches hands claimed outbox batches to their endpoint
// workflows: in one transaction, each message becomes a parked message
// without an attempt (due at once) and its outbox row is deleted.
func (s *Store) ParkOutboxBatches(ctx context.Context, batches []OutboxBatch) error {
	if len(batches) == 0 {
		return nil
	}
	now := s.now()
	var rows []models.ParkedMessage
	var batchIDs []string
	for _, b := range batches {
		batchIDs = append(batchIDs, b.BatchID)
		for _, id := range b.EventIDs {
			rows = append(rows, models.ParkedMessage{WebhookID: b.WebhookID, EventID: id, OrganizationID: b.OrganizationID,
				EventType: b.EventType, Since: now, NextAttemptAt: now})
		}
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, 200).Error; err != nil {
			return fmt.Errorf("park messages: %w", err)
		}
		if err := tx.Where("batch_id IN ?", batchIDs).Delete(&models.OutboxEntry{}).Error; err != nil {
			return fmt.Errorf("delete parked outbox rows: %w", err)
		}
		return nil
	})
}

// ParkRetries parks messages whose attempt failed retryably and, when
// open is set, opens the webhook's circuit (an open one is left as it is).
// With guard, a message that has reached a final state meanwhile is not
// parked again (an activity retried after its endpoint workflow delivered
// what it had parked).
func (s *Store) ParkRetries(ctx context.Context, webhookID string, msgs []models.ParkedMessage, open *models.Circuit, guard bool) error {
	if len(msgs) == 0 && open == nil {
		return nil
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if guard && len(msgs) > 0 {
			ids := make([]string, len(msgs))
			for i, m := range msgs {
				ids[i] = m.EventID
			}
			var final []string
			err := tx.Model(&models.WebhookDelivery{}).Where("webhook_id = ? AND message_id IN ? AND is_final = ?", webhookID, ids, true).
				Pluck("message_id", &final).Error
			if err != nil {
				return fmt.Errorf("find settled messages: %w", err)
			}
			settled := map[string]bool{}
			for _, id := range final {
				settled[id] = true
			}
			kept := msgs[:0:0]
			for _, m := range msgs {
				if !settled[m.EventID] {
					kept = append(kept, m)
				}
			}
			msgs = kept
		}
		if len(msgs) > 0 {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(msgs, 200).Error; err != nil {
				return fmt.Errorf("park retries: %w", err)
			}
		}
		if open != nil {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(open).Error; err != nil {
				return fmt.Errorf("open circuit: %w", err)
			}
		}
		return nil
	})
}

// DueParked returns up to limit parked messages of a webhook due at now,
// the earliest first.
func (s *Store) DueParked(ctx context.Context, webhookID string, now time.Time, limit int) ([]models.ParkedMessage, error) {
	var rows []models.ParkedMessage
	err := s.db.WithContext(ctx).Where("webhook_id = ? AND next_attempt_at <= ?", webhookID, now).
		Order("next_attempt_at, since, event_id").Limit(limit).Find(&rows).Error
	return rows, err
}

// ExpiredParked returns up to limit parked messages of a webhook parked
// (or first attempted) at or before cutoff: their retry deadline passed.
func (s *Store) ExpiredParked(ctx context.Context, webhookID string, cutoff time.Time, limit int) ([]models.ParkedMessage, error) {
	var rows []models.ParkedMessage
	err := s.db.WithContext(ctx).Where("webhook_id = ? AND since <= ?", webhookID, cutoff).
		Order("since, event_id").Limit(limit).Find(&rows).Error
	return rows, err
}

// ProbeCandidate returns the parked message a probe sends: one with more
// than one attempt left (attempts < retryCount) whose deadline has not
// passed (since after cutoff), the fewest attempts and oldest first; nil
// when there is none.
func (s *Store) ProbeCandidate(ctx context.Context, webhookID string, retryCount int, cutoff time.Time) (*models.ParkedMessage, error) {
	var rows []models.ParkedMessage
	err := s.db.WithContext(ctx).Where("webhook_id = ? AND attempts < ? AND since > ?", webhookID, retryCount, cutoff).
		Order("attempts, since, event_id").Limit(1).Find(&rows).Error
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return &rows[0], nil
}

// ParkedSummary is what a webhook's parked messages wait for.
type ParkedSummary struct {
	Count     int64
	NextDue   time.Time // the earliest next_attempt_at
	OldestSet time.Time // the earliest since
}

// SummarizeParked counts a webhook's parked messages and finds the
// earliest due time and the oldest one.
func (s *Store) SummarizeParked(ctx context.Context, webhookID string) (ParkedSummary, error) {
	var sum ParkedSummary
	q := s.db.WithContext(ctx).Model(&models.ParkedMessage{}).Where("webhook_id = ?", webhookID)
	if err := q.Count(&sum.Count).Error; err != nil || sum.Count == 0 {
		return sum, err
	}
	var first []models.ParkedMessage
	if err := s.db.WithContext(ctx).Where("webhook_id = ?", webhookID).Order("next_attempt_at").Limit(1).Find(&first).Error; err != nil {
		return sum, err
	}
	if len(first) > 0 {
		sum.NextDue = first[0].NextAttemptAt
	}
	first = nil
	if err := s.db.WithContext(ctx).Where("webhook_id = ?", webhookID).Order("since").Limit(1).Find(&first).Error; err != nil {
		return sum, err
	}
	if len(first) > 0 {
		sum.OldestSet = first[0].Since
	}
	return sum, nil
}

// CountParked counts a webhook's parked messages.
func (s *Store) CountParked(ctx context.Context, webhookID string) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.ParkedMessage{}).Where("webhook_id = ?", webhookID).Count(&n).Error
	return n, err
}

// RecoverEndpointRun marks the sends a run began but never completed
// (status pending: the worker died, or recording failed) interrupted, and
// counts each as an attempt of its parked message, so the resend gets the
// next retry number. It returns how many it found.
func (s *Store) RecoverEndpointRun(ctx context.Context, webhookID, runID string) (int, error) {
	var msgs []string
	err := s.db.WithContext(ctx).Model(&models.WebhookDelivery{}).Where("run_id = ? AND status = ?", runID, models.DeliveryPending).
		Pluck("message_id", &msgs).Error
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	now := s.now()
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Model(&models.WebhookDelivery{}).Where("run_id = ? AND status = ?", runID, models.DeliveryPending).
			Updates(map[string]any{"status": models.DeliveryFailed, "interrupted": true, "completed_at": now,
				"error_message": interruptedMessage}).Error
		if err != nil {
			return fmt.Errorf("mark interrupted attempts: %w", err)
		}
		return tx.Model(&models.ParkedMessage{}).Where("webhook_id = ? AND event_id IN ?", webhookID, msgs).
			UpdateColumn("attempts", gorm.Expr("attempts + 1")).Error
	})
	return len(msgs), err
}

// EndpointStep is what one step of an endpoint workflow recorded.
type EndpointStep struct {
	// Rows are the attempts' outcomes (begun with BeginAttempts).
	Rows []*models.WebhookDelivery
	// Settled are the messages that reached a final state (unparked);
	// Waiting the ones that wait for another attempt (attempts and
	// next_attempt_at updated).
	Settled []string
	Waiting []models.ParkedMessage
	// Circuit: CloseCircuit deletes it; otherwise Circuit, when set, is
	// opened or its next probe moved.
	CloseCircuit bool
	Circuit      *models.Circuit
}

// CompleteEndpointStep records a step's attempts (RecordAttempts: rows and
// counters), unparks the settled messages, reschedules the waiting ones
// and opens, moves or closes the circuit, in one transaction: a message is
// never both recorded final and still parked.
func (s *Store) CompleteEndpointStep(ctx context.Context, webhookID string, st EndpointStep) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.withTx(tx).RecordAttempts(ctx, webhookID, st.Rows); err != nil {
			return err
		}
		for i := 0; i < len(st.Settled); i += 500 {
			chunk := st.Settled[i:min(i+500, len(st.Settled))]
			if err := tx.Where("webhook_id = ? AND event_id IN ?", webhookID, chunk).Delete(&models.ParkedMessage{}).Error; err != nil {
				return fmt.Errorf("unpark settled messages: %w", err)
			}
		}
		for _, m := range st.Waiting {
			err := tx.Model(&models.ParkedMessage{}).Where("webhook_id = ? AND event_id = ?", webhookID, m.EventID).
				Updates(map[string]any{"attempts": m.Attempts, "next_attempt_at": m.NextAttemptAt}).Error
			if err != nil {
				return fmt.Errorf("reschedule parked message: %w", err)
			}
		}
		switch {
		case st.CloseCircuit:
			if err := tx.Where("webhook_id = ?", webhookID).Delete(&models.Circuit{}).Error; err != nil {
				return fmt.Errorf("close circuit: %w", err)
			}
		case st.Circuit != nil:
			err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "webhook_id"}},
				DoUpdates: clause.AssignmentColumns([]string{"next_probe_at"})}).Create(st.Circuit).Error
			if err != nil {
				return fmt.Errorf("open circuit: %w", err)
			}
		}
		return nil
	})
}

// CancelParked records the cancellation rows of a webhook's parked
// messages (rows, one per message), unparks them and closes the circuit,
// in one transaction.
func (s *Store) CancelParked(ctx context.Context, webhookID string, rows []*models.WebhookDelivery) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.withTx(tx).RecordAttempts(ctx, webhookID, rows); err != nil {
			return err
		}
		for i := 0; i < len(rows); i += 500 {
			var ids []string
			for _, r := range rows[i:min(i+500, len(rows))] {
				ids = append(ids, r.MessageID)
			}
			if err := tx.Where("webhook_id = ? AND event_id IN ?", webhookID, ids).Delete(&models.ParkedMessage{}).Error; err != nil {
				return fmt.Errorf("unpark cancelled messages: %w", err)
			}
		}
		return tx.Where("webhook_id = ?", webhookID).Delete(&models.Circuit{}).Error
	})
}

// AllParked returns every parked message of a webhook (cancellation).
func (s *Store) AllParked(ctx context.Context, webhookID string) ([]models.ParkedMessage, error) {
	var rows []models.ParkedMessage
	err := s.db.WithContext(ctx).Where("webhook_id = ?", webhookID).Order("since, event_id").Find(&rows).Error
	return rows, err
}

// ParkedWebhook is a webhook with parked messages.
type ParkedWebhook struct {
	WebhookID      string
	OrganizationID string
}

// ParkedWebhooks lists up to limit webhooks that have parked messages.
func (s *Store) ParkedWebhooks(ctx context.Context, limit int) ([]ParkedWebhook, error) {
	var out []ParkedWebhook
	err := s.db.WithContext(ctx).Model(&models.ParkedMessage{}).Distinct("webhook_id", "organization_id").
		Limit(limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("read parked webhooks: %w", err)
	}
	return out, nil
}

// RunAttempts returns the first attempts (retry number 0) a run recorded
// for the given messages: a batch tried again (or an endpoint run handed
// the same messages twice) finds what was already sent.
func (s *Store) RunAttempts(ctx context.Context, runID string, messageIDs []string) ([]models.WebhookDelivery, error) {
	var rows []models.WebhookDelivery
	if len(messageIDs) == 0 {
		return nil, nil
	}
	err := s.db.WithContext(ctx).Where("run_id = ? AND message_id IN ? AND retry_number = ?", runID, messageIDs, 0).
		Order("attempted_at, id").Find(&rows).Error
	return rows, err
}

// Pacing is a webhook's delivery pacing: ordered delivery and a throttle.
type Pacing struct {
	Ordered      bool
	MaxPerSecond int
}

// PacedWebhooks returns the webhooks with ordered delivery or a throttle:
// their messages all go through their endpoint workflow.
func (s *Store) PacedWebhooks(ctx context.Context) (map[string]Pacing, error) {
	var rows []models.Webhook
	err := s.db.WithContext(ctx).Select("id, ordered, max_deliveries_per_second").
		Where("ordered = ? OR max_deliveries_per_second IS NOT NULL", true).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("read paced webhooks: %w", err)
	}
	out := make(map[string]Pacing, len(rows))
	for _, w := range rows {
		p := Pacing{Ordered: w.Ordered}
		if w.MaxDeliveriesPerSecond != nil {
			p.MaxPerSecond = *w.MaxDeliveriesPerSecond
		}
		out[w.ID] = p
	}
	return out, nil
}

// ParkNew parks messages without an attempt (due at once): an endpoint
// workflow holding messages while its circuit is open.
func (s *Store) ParkNew(ctx context.Context, orgID, webhookID string, events map[string]string) error {
	if len(events) == 0 {
		return nil
	}
	now := s.now()
	rows := make([]models.ParkedMessage, 0, len(events))
	for id, typ := range events {
		rows = append(rows, models.ParkedMessage{WebhookID: webhookID, EventID: id, OrganizationID: orgID, EventType: typ, Since: now, NextAttemptAt: now})
	}
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, 200).Error
}
