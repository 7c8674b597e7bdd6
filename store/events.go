package store

import (
	"context"
	"errors"

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
