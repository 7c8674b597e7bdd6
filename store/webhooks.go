package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/aqio/connect/models"
)

// CreateWebhook inserts a webhook.
func (s *Store) CreateWebhook(ctx context.Context, w *models.Webhook) error {
	now := s.now()
	w.CreatedAt, w.UpdatedAt = now, now
	if err := s.db.WithContext(ctx).Create(w).Error; err != nil {
		return fmt.Errorf("create webhook: %w", notFound(err))
	}
	return nil
}

// GetWebhook loads one webhook of the organization.
func (s *Store) GetWebhook(ctx context.Context, orgID, id string) (models.Webhook, error) {
	var w models.Webhook
	err := s.reads().WithContext(ctx).Where("organization_id = ? AND id = ?", orgID, id).Take(&w).Error
	return w, notFound(err)
}

// ListWebhooks lists the organization's webhooks, oldest first.
func (s *Store) ListWebhooks(ctx context.Context, orgID string) ([]models.Webhook, error) {
	var ws []models.Webhook
	err := s.db.WithContext(ctx).Where("organization_id = ?", orgID).Order("created_at, id").Find(&ws).Error
	return ws, err
}

// ActiveWebhooks lists the organization's active webhooks.
func (s *Store) ActiveWebhooks(ctx context.Context, orgID string) ([]models.Webhook, error) {
	var ws []models.Webhook
	err := s.reads().WithContext(ctx).Where("organization_id = ? AND is_active = ?", orgID, true).Order("created_at, id").Find(&ws).Error
	return ws, err
}

// UpdateWebhook writes the given columns of one webhook.
func (s *Store) UpdateWebhook(ctx context.Context, orgID, id string, cols map[string]any) (models.Webhook, error) {
	cols["updated_at"] = s.now()
	res := s.db.WithContext(ctx).Model(&models.Webhook{}).Where("organization_id = ? AND id = ?", orgID, id).Updates(cols)
	if res.Error != nil {
		return models.Webhook{}, fmt.Errorf("update webhook: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return models.Webhook{}, ErrNotFound
	}
	return s.GetWebhook(ctx, orgID, id)
}

// DeleteWebhook removes a webhook and (by cascade) its delivery log.
func (s *Store) DeleteWebhook(ctx context.Context, orgID, id string) error {
	res := s.db.WithContext(ctx).Where("organization_id = ? AND id = ?", orgID, id).Delete(&models.Webhook{})
	if res.Error != nil {
		return fmt.Errorf("delete webhook: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// DeactivateWebhook turns a webhook off with a recorded reason. It reports
// whether this call changed it (false if it was already off).
func (s *Store) DeactivateWebhook(ctx context.Context, orgID, id, reason string) (bool, error) {
	now := s.now()
	res := s.db.WithContext(ctx).Model(&models.Webhook{}).
		Where("organization_id = ? AND id = ? AND is_active = ?", orgID, id, true).
		Updates(map[string]any{"is_active": false, "disabled_reason": reason, "disabled_at": now, "updated_at": now})
	if res.Error != nil {
		return false, fmt.Errorf("deactivate webhook: %w", res.Error)
	}
	return res.RowsAffected > 0, nil
}

// RecordAttempt records one delivery attempt (see RecordAttempts).
func (s *Store) RecordAttempt(ctx context.Context, d *models.WebhookDelivery) error {
	return s.RecordAttempts(ctx, d.WebhookID, []*models.WebhookDelivery{d})
}

// RecordAttempts records attempts one run made (a batch run: one per
// message) and updates the webhook's counters, all in one transaction.
// The counters count messages, not attempts: total_deliveries grows when a
// message reaches its final state, failed_deliveries when that final state
// is failed. An attempt retried by Temporal after a worker crash overwrites
// its own row (run, message, retry number) and a message already counted
// final is not counted again.
func (s *Store) RecordAttempts(ctx context.Context, webhookID string, rows []*models.WebhookDelivery) error {
	if len(rows) == 0 {
		return nil
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		msgs := make([]string, len(rows))
		for i, d := range rows {
			msgs[i] = d.MessageID
		}
		var existing []models.WebhookDelivery
		err := tx.Select("id, message_id, retry_number, is_final").
			Where("run_id = ? AND message_id IN ?", rows[0].RunID, msgs).Find(&existing).Error
		if err != nil {
			return fmt.Errorf("find attempts: %w", err)
		}
		type key struct {
			msg   string
			retry int
		}
		prev := make(map[key]models.WebhookDelivery, len(existing))
		for _, e := range existing {
			prev[key{e.MessageID, e.RetryNumber}] = e
		}
		var fresh []*models.WebhookDelivery
		total, failed := 0, 0
		last := rows[0].AttemptedAt
		for _, d := range rows {
			if d.AttemptedAt.After(last) {
				last = d.AttemptedAt
			}
			if e, ok := prev[key{d.MessageID, d.RetryNumber}]; ok {
				d.ID = e.ID
				if err := tx.Save(d).Error; err != nil {
					return fmt.Errorf("update attempt: %w", err)
				}
				if e.IsFinal {
					continue
				}
			} else {
				fresh = append(fresh, d)
			}
			if d.IsFinal {
				total++
				if d.Status != models.DeliverySuccess {
					failed++
				}
			}
		}
		if len(fresh) > 0 {
			if err := tx.CreateInBatches(fresh, 100).Error; err != nil {
				return fmt.Errorf("insert attempts: %w", err)
			}
		}
		cols := map[string]any{"last_triggered_at": last}
		if total > 0 {
			cols["total_deliveries"] = gorm.Expr("total_deliveries + ?", total)
		}
		if failed > 0 {
			cols["failed_deliveries"] = gorm.Expr("failed_deliveries + ?", failed)
		}
		return tx.Model(&models.Webhook{}).Where("id = ?", webhookID).UpdateColumns(cols).Error
	})
}

// AttemptsOfRun returns the attempts a run recorded with a retry number,
// by message id (a batch re-run reuses what its earlier try recorded).
func (s *Store) AttemptsOfRun(ctx context.Context, runID string, retryNumber int) (map[string]models.WebhookDelivery, error) {
	var rows []models.WebhookDelivery
	err := s.reads().WithContext(ctx).Where("run_id = ? AND retry_number = ?", runID, retryNumber).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make(map[string]models.WebhookDelivery, len(rows))
	for _, r := range rows {
		out[r.MessageID] = r
	}
	return out, nil
}
