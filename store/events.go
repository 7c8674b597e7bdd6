package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/aqio/connect/models"
)

// FindEventByIdempotencyKey returns the event posted with key, if any.
func (s *Store) FindEventByIdempotencyKey(ctx context.Context, orgID, key string) (models.Event, error) {
	var e models.Event
	err := s.db.WithContext(ctx).Where("organization_id = ? AND idempotency_key = ?", orgID, key).Take(&e).Error
	return e, notFound(err)
}

// GetEvent loads one event.
func (s *Store) GetEvent(ctx context.Context, orgID, id string) (models.Event, error) {
	var e models.Event
	err := s.db.WithContext(ctx).Where("organization_id = ? AND id = ?", orgID, id).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return e, ErrNotFound
	}
	return e, err
}

// MarkEventDispatched records that an event's deliveries are enqueued
// and its observers (integrations) have seen it.
func (s *Store) MarkEventDispatched(ctx context.Context, orgID, id string) error {
	return s.db.WithContext(ctx).Model(&models.Event{}).
		Where("organization_id = ? AND id = ?", orgID, id).
		Update("dispatched_at", s.now()).Error
}

// GetEvents loads events of one organization by id (missing ids are
// simply absent from the result).
func (s *Store) GetEvents(ctx context.Context, orgID string, ids []string) (map[string]models.Event, error) {
	var rows []models.Event
	if err := s.reads().WithContext(ctx).Where("organization_id = ? AND id IN ?", orgID, ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]models.Event, len(rows))
	for _, e := range rows {
		out[e.ID] = e
	}
	return out, nil
}

// EventFilter narrows an event listing.
type EventFilter struct {
	// Type is an exact type or a family prefix (TypePrefix set: "registration.").
	Type       string
	TypePrefix bool
	// Since (inclusive) and Until (exclusive) bound received_at.
	Since, Until *time.Time
	Limit        int    // 1-200, default 50
	Cursor       string // opaque, from a previous page
}

// ListEvents returns a page of an organization's events, newest first
// (by the time they were received), and the cursor of the next page (""
// when there is none).
func (s *Store) ListEvents(ctx context.Context, orgID string, f EventFilter) ([]models.Event, string, error) {
	q := s.db.WithContext(ctx).Where("organization_id = ?", orgID)
	switch {
	case f.Type != "" && f.TypePrefix:
		// "registration." <= type < "registration/" ('/' follows '.').
		q = q.Where("type >= ? AND type < ?", f.Type, strings.TrimSuffix(f.Type, ".")+"/")
	case f.Type != "":
		q = q.Where("type = ?", f.Type)
	}
	if f.Since != nil {
		q = q.Where("received_at >= ?", f.Since.UTC())
	}
	if f.Until != nil {
		q = q.Where("received_at < ?", f.Until.UTC())
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("(received_at < ?) OR (received_at = ? AND id < ?)", at, at, id)
	}
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	var rows []models.Event
	if err := q.Order("received_at DESC, id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list events: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1]
		next = encodeCursor(last.ReceivedAt, last.ID)
	}
	return rows, next, nil
}
