package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aqio/connect/models"
)

// DeliveryFilter narrows a delivery listing.
type DeliveryFilter struct {
	Status    string
	EventType string
	EventID   string
	// Since (inclusive) and Until (exclusive) bound attempted_at.
	Since, Until *time.Time
	Limit        int
	Cursor       string // opaque, from a previous page
}

// ErrBadCursor is returned for a cursor this service did not issue.
var ErrBadCursor = errors.New("invalid cursor")

// ListDeliveries returns a page of a webhook's attempts, newest first, and
// the cursor of the next page ("" when there is none).
func (s *Store) ListDeliveries(ctx context.Context, orgID, webhookID string, f DeliveryFilter) ([]models.WebhookDelivery, string, error) {
	q := s.db.WithContext(ctx).Where("organization_id = ? AND webhook_id = ?", orgID, webhookID)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.EventType != "" {
		q = q.Where("event_type = ?", f.EventType)
	}
	if f.EventID != "" {
		q = q.Where("event_id = ?", f.EventID)
	}
	if f.Since != nil {
		q = q.Where("attempted_at >= ?", f.Since.UTC())
	}
	if f.Until != nil {
		q = q.Where("attempted_at < ?", f.Until.UTC())
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("(attempted_at < ?) OR (attempted_at = ? AND id < ?)", at, at, id)
	}
	limit := f.Limit
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	var rows []models.WebhookDelivery
	if err := q.Order("attempted_at DESC, id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1]
		next = encodeCursor(last.AttemptedAt, last.ID)
	}
	return rows, next, nil
}

// GetDelivery loads one attempt of a webhook.
func (s *Store) GetDelivery(ctx context.Context, orgID, webhookID, id string) (models.WebhookDelivery, error) {
	var d models.WebhookDelivery
	err := s.db.WithContext(ctx).Where("organization_id = ? AND webhook_id = ? AND id = ?", orgID, webhookID, id).Take(&d).Error
	return d, notFound(err)
}

// EventDeliveries lists the attempts an event caused across the
// organization's webhooks, oldest first, at most limit.
func (s *Store) EventDeliveries(ctx context.Context, orgID, eventID string, limit int) ([]models.WebhookDelivery, error) {
	var rows []models.WebhookDelivery
	err := s.db.WithContext(ctx).Where("organization_id = ? AND event_id = ?", orgID, eventID).
		Order("attempted_at, id").Limit(limit).Find(&rows).Error
	return rows, err
}

// FirstAttempt returns the outcome of the first attempt of a workflow run,
// once recorded.
func (s *Store) FirstAttempt(ctx context.Context, orgID, workflowID, runID string) (models.WebhookDelivery, error) {
	var d models.WebhookDelivery
	err := s.db.WithContext(ctx).
		Where("organization_id = ? AND workflow_id = ? AND run_id = ? AND retry_number = 0 AND status <> ? AND interrupted = ?",
			orgID, workflowID, runID, models.DeliveryPending, false).
		Order("attempted_at DESC").Take(&d).Error
	return d, notFound(err)
}

func encodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", ErrBadCursor
	}
	ts, id, ok := strings.Cut(string(raw), "|")
	if !ok || id == "" {
		return time.Time{}, "", ErrBadCursor
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, "", ErrBadCursor
	}
	return t.UTC(), id, nil
}
