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
	Limit     int
	Cursor    string // opaque, from a previous page
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

// FirstAttempt returns the first attempt row of a workflow run, if written.
func (s *Store) FirstAttempt(ctx context.Context, orgID, workflowID, runID string) (models.WebhookDelivery, error) {
	var d models.WebhookDelivery
	err := s.db.WithContext(ctx).
		Where("organization_id = ? AND workflow_id = ? AND run_id = ? AND retry_number = 0", orgID, workflowID, runID).
		Take(&d).Error
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
