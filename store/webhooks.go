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

// ListWebhooks returns a page of the organization's webhooks, oldest
// first (limit 1-200, default 100), and the cursor of the next page (""
// when there is none).
func (s *Store) ListWebhooks(ctx context.Context, orgID string, limit int, cursor string) ([]models.Webhook, string, error) {
	q := s.db.WithContext(ctx).Where("organization_id = ?", orgID)
	if cursor != "" {
		at, id, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("(created_at > ?) OR (created_at = ? AND id > ?)", at, at, id)
	}
	if limit <= 0 || limit > 200 {
		limit = 100
	}
	var ws []models.Webhook
	if err := q.Order("created_at, id").Limit(limit + 1).Find(&ws).Error; err != nil {
		return nil, "", fmt.Errorf("list webhooks: %w", err)
	}
	next := ""
	if len(ws) > limit {
		ws = ws[:limit]
		last := ws[len(ws)-1]
		next = encodeCursor(last.CreatedAt, last.ID)
	}
	return ws, next, nil
}

// Webhooks lists every webhook of the organization, active or not, oldest
// first (ingest matches events against them).
func (s *Store) Webhooks(ctx context.Context, orgID string) ([]models.Webhook, error) {
	var ws []models.Webhook
	err := s.reads().WithContext(ctx).Where("organization_id = ?", orgID).Order("created_at, id").Find(&ws).Error
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

// interruptedMessage is the error of a send whose outcome was never recorded.
const interruptedMessage = "interrupted: the worker stopped (or could not record the outcome) after this request was sent; " +
	"the endpoint may have received it. The message was sent again (next row, same webhook-id)"

// BeginAttempts records sends about to be made (rows with status
// pending), in one transaction, before any request goes out: a send is in
// the log even when the worker dies before its outcome is recorded. Rows
// of the same run and messages still pending from an earlier try of the
// activity are marked interrupted first (their outcome is unknown; the
// endpoint may have received them).
//
// interrupted names the messages known to have such rows (a batch read
// them); nil means "look" (one indexed update). A first try that read no
// pending rows passes an empty, non-nil list and skips the update.
func (s *Store) BeginAttempts(ctx context.Context, runID string, interrupted []string, rows []*models.WebhookDelivery) error {
	look := interrupted == nil
	if !look && len(interrupted) == 0 && len(rows) == 0 {
		return nil
	}
	now := s.now()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		msgs := append([]string(nil), interrupted...)
		if look {
			for _, d := range rows {
				msgs = append(msgs, d.MessageID)
			}
		}
		if len(msgs) > 0 {
			err := tx.Model(&models.WebhookDelivery{}).
				Where("run_id = ? AND message_id IN ? AND status = ?", runID, msgs, models.DeliveryPending).
				Updates(map[string]any{"status": models.DeliveryFailed, "interrupted": true, "completed_at": now,
					"error_message": interruptedMessage}).Error
			if err != nil {
				return fmt.Errorf("mark interrupted attempts: %w", err)
			}
		}
		if len(rows) == 0 {
			return nil
		}
		if err := tx.CreateInBatches(rows, 100).Error; err != nil {
			return fmt.Errorf("insert attempts: %w", err)
		}
		return nil
	})
}

// RecordAttempts records the outcome of attempts one run made (a batch
// run: one per message) and updates the webhook's counters, all in one
// transaction. A row begun with BeginAttempts is completed in place;
// others (cancellations, nothing sent) are inserted. The counters count
// messages, not attempts: total_deliveries grows when a message reaches
// its final state, failed_deliveries when that final state is failed. A
// recording repeated after it committed (the activity retried) changes
// nothing, nor does one of a row a later try marked interrupted.
func (s *Store) RecordAttempts(ctx context.Context, webhookID string, rows []*models.WebhookDelivery) error {
	if len(rows) == 0 {
		return nil
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		ids := make([]string, len(rows))
		for i, d := range rows {
			ids[i] = d.ID
		}
		var existing []models.WebhookDelivery
		if err := tx.Select("id, status").Where("id IN ?", ids).Find(&existing).Error; err != nil {
			return fmt.Errorf("find attempts: %w", err)
		}
		begun := make(map[string]bool, len(existing)) // still pending: this try may complete it
		settled := make(map[string]bool, len(existing))
		for _, e := range existing {
			if e.Status == models.DeliveryPending {
				begun[e.ID] = true
			} else {
				settled[e.ID] = true
			}
		}
		var fresh []*models.WebhookDelivery
		var replace []string
		total, failed := 0, 0
		last := rows[0].AttemptedAt
		for _, d := range rows {
			if settled[d.ID] {
				continue
			}
			if d.AttemptedAt.After(last) {
				last = d.AttemptedAt
			}
			if begun[d.ID] {
				replace = append(replace, d.ID)
			}
			fresh = append(fresh, d)
			if d.IsFinal {
				total++
				if d.Status != models.DeliverySuccess {
					failed++
				}
			}
		}
		// The begun rows are replaced by their outcome: one delete and one
		// multi-row insert, whatever the batch size.
		for i := 0; i < len(replace); i += 500 {
			chunk := replace[i:min(i+500, len(replace))]
			err := tx.Where("id IN ? AND status = ?", chunk, models.DeliveryPending).Delete(&models.WebhookDelivery{}).Error
			if err != nil {
				return fmt.Errorf("complete attempts: %w", err)
			}
		}
		if len(fresh) > 0 {
			if err := tx.CreateInBatches(fresh, 100).Error; err != nil {
				return fmt.Errorf("record attempts: %w", err)
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

// BatchAttempts returns the first attempts (retry number 0) a run
// recorded, oldest first: a batch run tried again finds what its earlier
// try sent.
func (s *Store) BatchAttempts(ctx context.Context, runID string) ([]models.WebhookDelivery, error) {
	var rows []models.WebhookDelivery
	err := s.db.WithContext(ctx).Where("run_id = ? AND retry_number = ?", runID, 0).Order("attempted_at, id").Find(&rows).Error
	return rows, err
}
