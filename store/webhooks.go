package store

import (
	"context"
	"fmt"
	"strings"
	"time"

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
	if !look && len(interrupted) == 0 && len(rows) <= 100 {
		// One statement: atomic by itself, no transaction to begin and
		// commit (two round trips fewer on Postgres).
		if err := s.db.WithContext(ctx).Create(rows).Error; err != nil {
			return fmt.Errorf("insert attempts: %w", err)
		}
		return nil
	}
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
	return s.RecordAttemptsReleasing(ctx, webhookID, rows, "")
}

// RecordAttemptsReleasing is RecordAttempts that also deletes the outbox
// rows claimed under batchID (a pump's claim, delivered) in the same
// transaction: a batch is either recorded and gone from the outbox, or
// neither ("" deletes nothing).
func (s *Store) RecordAttemptsReleasing(ctx context.Context, webhookID string, rows []*models.WebhookDelivery, batchID string) error {
	if len(rows) == 0 && batchID == "" {
		return nil
	}
	if s.db.Dialect == "postgres" && len(rows) > 0 && len(rows) <= 500 {
		// The common case in one statement, one round trip: every row was
		// begun (completeAll). The rest, if any, goes the general way.
		done, released, err := s.completeAll(ctx, webhookID, rows, batchID)
		if err != nil {
			return fmt.Errorf("complete attempts: %w", err)
		}
		if released || (batchID == "" && len(done) == len(rows)) {
			return nil
		}
		var rest []*models.WebhookDelivery
		for _, d := range rows {
			if !done[d.ID] {
				rest = append(rest, d)
			}
		}
		rows = rest
	}
	// On Postgres completeAll has tried every row already when rows is
	// what it left (none of them is pending).
	tried := s.db.Dialect == "postgres" && len(rows) <= 500
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if len(rows) > 0 {
			if err := s.withTx(tx).recordAttempts(webhookID, rows, !tried); err != nil {
				return err
			}
		}
		if batchID != "" {
			if err := tx.Where("batch_id = ?", batchID).Delete(&models.OutboxEntry{}).Error; err != nil {
				return fmt.Errorf("delete delivered outbox rows: %w", err)
			}
		}
		return nil
	})
}

// recordAttempts is RecordAttempts inside the transaction s.db. Begun rows
// (still pending) are completed by an update of each in place (complete;
// false when the caller already did): one statement for all of them on
// Postgres, one per row on SQLite (no round trip; a prepared statement).
// What the update did not take was recorded already (skipped) or never
// begun (inserted).
func (s *Store) recordAttempts(webhookID string, rows []*models.WebhookDelivery, complete bool) error {
	tx := s.db.DB
	done := map[string]bool{}
	if complete {
		var err error
		if done, err = s.completeBegun(rows); err != nil {
			return fmt.Errorf("complete attempts: %w", err)
		}
	}
	counted := make([]*models.WebhookDelivery, 0, len(rows))
	var rest []*models.WebhookDelivery
	for _, d := range rows {
		if done[d.ID] {
			counted = append(counted, d)
		} else {
			rest = append(rest, d)
		}
	}
	if len(rest) > 0 {
		ids := make([]string, len(rest))
		for i, d := range rest {
			ids[i] = d.ID
		}
		var existing []string
		if err := tx.Model(&models.WebhookDelivery{}).Where("id IN ?", ids).Pluck("id", &existing).Error; err != nil {
			return fmt.Errorf("find attempts: %w", err)
		}
		settled := make(map[string]bool, len(existing)) // recorded already, or marked interrupted
		for _, id := range existing {
			settled[id] = true
		}
		var fresh []*models.WebhookDelivery
		for _, d := range rest {
			if !settled[d.ID] {
				fresh = append(fresh, d)
			}
		}
		if len(fresh) > 0 {
			if err := tx.CreateInBatches(fresh, 100).Error; err != nil {
				return fmt.Errorf("record attempts: %w", err)
			}
		}
		counted = append(counted, fresh...)
	}
	if len(counted) == 0 {
		return nil
	}
	total, failed := 0, 0
	last := counted[0].AttemptedAt
	for _, d := range counted {
		if d.AttemptedAt.After(last) {
			last = d.AttemptedAt
		}
		if d.IsFinal {
			total++
			if d.Status != models.DeliverySuccess {
				failed++
			}
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
}

// completedColumns are the columns an outcome sets on its begun row:
// every column but the ones that name the attempt (id, webhook,
// organization, event, message, run), which do not change.
const completedColumns = "payload, request_headers, response_status_code, response_headers, response_body, attempted_at, " +
	"completed_at, duration_ms, status, error_message, is_retry, retry_number, next_retry_at, is_final, redelivery_of, interrupted"

// completedValues are a row's values of completedColumns, in order.
func completedValues(d *models.WebhookDelivery) []any {
	return []any{d.Payload, d.RequestHeaders, d.ResponseStatusCode, d.ResponseHeaders, d.ResponseBody, d.AttemptedAt.UTC(),
		utcPtr(d.CompletedAt), d.DurationMS, d.Status, d.ErrorMessage, d.IsRetry, d.RetryNumber, utcPtr(d.NextRetryAt), d.IsFinal,
		d.RedeliveryOf, d.Interrupted}
}

// completedCasts types completedColumns in a Postgres VALUES list.
var completedCasts = []string{"text", "text", "integer", "text", "text", "timestamp",
	"timestamp", "integer", "text", "text", "boolean", "integer", "timestamp", "boolean", "text", "boolean"}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// completeAll (Postgres) completes the begun rows among rows with their
// outcome, adds them to the webhook's counters and, when every row was
// begun, deletes the outbox rows claimed under batchID — one statement,
// atomic by itself. It returns the ids it completed and whether it
// deleted the claim.
func (s *Store) completeAll(ctx context.Context, webhookID string, rows []*models.WebhookDelivery, batchID string) (map[string]bool, bool, error) {
	vals, args := completedValuesList(rows)
	args = append(args, models.DeliveryPending, models.DeliverySuccess, webhookID, batchID, batchID, len(rows))
	var out []struct {
		ID       string
		Released bool
	}
	err := s.db.WithContext(ctx).Raw(`WITH v (id, `+completedColumns+`) AS (VALUES `+vals+`),
done AS (
	UPDATE webhook_deliveries AS d SET `+completedSet()+` FROM v
	WHERE d.id = v.id AND d.status = ?
	RETURNING d.id, d.is_final, d.status, d.attempted_at
), counters AS (
	SELECT count(*) FILTER (WHERE is_final) AS total, count(*) FILTER (WHERE is_final AND status <> ?) AS failed,
		max(attempted_at) AS last, count(*) AS n FROM done
), hook AS (
	UPDATE webhooks SET last_triggered_at = counters.last, total_deliveries = total_deliveries + counters.total,
		failed_deliveries = failed_deliveries + counters.failed
	FROM counters WHERE webhooks.id = ? AND counters.n > 0
), released AS (
	DELETE FROM webhook_outbox WHERE batch_id = ? AND ?::text <> '' AND (SELECT n FROM counters) = ?
	RETURNING 1
)
SELECT done.id, EXISTS (SELECT 1 FROM released) AS released FROM done`, args...).Scan(&out).Error
	if err != nil {
		return nil, false, err
	}
	done := make(map[string]bool, len(out))
	released := false
	for _, r := range out {
		done[r.ID] = true
		released = released || r.Released
	}
	return done, released, nil
}

// completedSet assigns completedColumns from the VALUES list v.
func completedSet() string {
	var set strings.Builder
	for i, c := range strings.Split(completedColumns, ", ") {
		if i > 0 {
			set.WriteString(", ")
		}
		set.WriteString(c + " = v." + c)
	}
	return set.String()
}

// completedValuesList is a Postgres VALUES list of (id, completedColumns)
// for rows, typed, and its arguments.
func completedValuesList(rows []*models.WebhookDelivery) (string, []any) {
	var row strings.Builder
	row.WriteString("(?::text")
	for _, c := range completedCasts {
		row.WriteString(", ?::" + c)
	}
	row.WriteString(")")
	vals := make([]string, len(rows))
	args := make([]any, 0, len(rows)*(len(completedCasts)+1))
	for j, d := range rows {
		vals[j] = row.String()
		args = append(args, d.ID)
		args = append(args, completedValues(d)...)
	}
	return strings.Join(vals, ", "), args
}

// completeBegun completes the rows still pending among rows (begun by
// BeginAttempts) with their outcome, and returns the ids it completed.
func (s *Store) completeBegun(rows []*models.WebhookDelivery) (map[string]bool, error) {
	tx := s.db.DB
	done := make(map[string]bool, len(rows))
	if s.db.Dialect != "postgres" {
		set := strings.ReplaceAll(completedColumns, ",", " = ?,") + " = ?"
		q := "UPDATE webhook_deliveries SET " + set + " WHERE id = ? AND status = ?"
		for _, d := range rows {
			res := tx.Exec(q, append(completedValues(d), d.ID, models.DeliveryPending)...)
			if res.Error != nil {
				return nil, res.Error
			}
			if res.RowsAffected > 0 {
				done[d.ID] = true
			}
		}
		return done, nil
	}
	for i := 0; i < len(rows); i += 500 {
		chunk := rows[i:min(i+500, len(rows))]
		vals, args := completedValuesList(chunk)
		args = append(args, models.DeliveryPending)
		var ids []string
		err := tx.Raw("UPDATE webhook_deliveries AS d SET "+completedSet()+
			" FROM (VALUES "+vals+") AS v(id, "+completedColumns+")"+
			" WHERE d.id = v.id AND d.status = ? RETURNING d.id", args...).Scan(&ids).Error
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			done[id] = true
		}
	}
	return done, nil
}

// BatchAttempts returns the first attempts (retry number 0) a run
// recorded, oldest first: a batch run tried again finds what its earlier
// try sent.
func (s *Store) BatchAttempts(ctx context.Context, runID string) ([]models.WebhookDelivery, error) {
	var rows []models.WebhookDelivery
	err := s.db.WithContext(ctx).Where("run_id = ? AND retry_number = ?", runID, 0).Order("attempted_at, id").Find(&rows).Error
	return rows, err
}
