package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/aqio/connect/models"
)

// StartPush creates a push row, or returns the existing one when the
// activity runs again (the id derives from the workflow run), counting
// the attempt.
func (s *Store) StartPush(ctx context.Context, p *models.IntegrationPush) error {
	now := s.now()
	p.StartedAt, p.UpdatedAt, p.Status, p.Attempts = now, now, models.PushRunning, 1
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(p)
		if res.Error != nil {
			return fmt.Errorf("start push: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			return nil
		}
		if err := tx.Model(&models.IntegrationPush{}).Where("id = ?", p.ID).
			Updates(map[string]any{"attempts": gorm.Expr("attempts + 1"), "status": models.PushRunning, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("count push attempt: %w", err)
		}
		return tx.Where("id = ?", p.ID).Take(p).Error
	})
}

// FinishPush writes a push attempt's outcome.
func (s *Store) FinishPush(ctx context.Context, id string, cols map[string]any) error {
	now := s.now()
	cols["updated_at"] = now
	if st, _ := cols["status"].(string); st != models.PushRunning {
		cols["completed_at"] = now
	}
	return s.db.WithContext(ctx).Model(&models.IntegrationPush{}).Where("id = ?", id).Updates(cols).Error
}

// GetPush loads one push of an integration.
func (s *Store) GetPush(ctx context.Context, orgID, integrationID, id string) (models.IntegrationPush, error) {
	var p models.IntegrationPush
	err := s.db.WithContext(ctx).Where("organization_id = ? AND integration_id = ? AND id = ?", orgID, integrationID, id).Take(&p).Error
	return p, notFound(err)
}

// RecordTokenRefresh stores one refresh outcome.
func (s *Store) RecordTokenRefresh(ctx context.Context, r *models.IntegrationTokenRefresh) error {
	now := s.now()
	if r.StartedAt.IsZero() {
		r.StartedAt = now
	}
	r.CompletedAt = &now
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(r).Error
}

// ActivityItem is one entry of an integration's activity list.
type ActivityItem struct {
	Kind      string // push, sync, token_refresh
	ID        string
	StartedAt time.Time
	Push      *models.IntegrationPush
	Sync      *models.IntegrationSyncLog
	Refresh   *models.IntegrationTokenRefresh
}

// ActivityFilter narrows the activity list.
type ActivityFilter struct {
	Kinds  []string // empty: all
	Status string   // "" all; push succeeded/failed/…, sync completed/failed, refresh succeeded/failed
	// Before is the cursor: items strictly older than (StartedAt, ID).
	BeforeTime *time.Time
	BeforeID   string
	Limit      int
}

// ListActivity lists an integration's pushes, syncs and token refreshes,
// newest first (ties by id descending), after the cursor.
func (s *Store) ListActivity(ctx context.Context, orgID, integrationID string, f ActivityFilter) ([]ActivityItem, error) {
	want := func(k string) bool {
		if len(f.Kinds) == 0 {
			return true
		}
		for _, x := range f.Kinds {
			if x == k {
				return true
			}
		}
		return false
	}
	page := func(q *gorm.DB) *gorm.DB {
		q = q.Where("integration_id = ?", integrationID)
		if f.Status != "" {
			q = q.Where("status = ?", f.Status)
		}
		if f.BeforeTime != nil {
			q = q.Where("(started_at < ? OR (started_at = ? AND id < ?))", *f.BeforeTime, *f.BeforeTime, f.BeforeID)
		}
		return q.Order("started_at DESC, id DESC").Limit(f.Limit)
	}
	db := s.db.WithContext(ctx)
	var out []ActivityItem
	if want("push") {
		var rows []models.IntegrationPush
		if err := page(db.Where("organization_id = ?", orgID)).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("list pushes: %w", err)
		}
		for i := range rows {
			out = append(out, ActivityItem{Kind: "push", ID: rows[i].ID, StartedAt: rows[i].StartedAt, Push: &rows[i]})
		}
	}
	if want("sync") {
		var rows []models.IntegrationSyncLog
		if err := page(db.Where("organization_id = ?", orgID)).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("list syncs: %w", err)
		}
		for i := range rows {
			out = append(out, ActivityItem{Kind: "sync", ID: rows[i].ID, StartedAt: rows[i].StartedAt, Sync: &rows[i]})
		}
	}
	if want("token_refresh") {
		var rows []models.IntegrationTokenRefresh
		if err := page(db.Where("organization_id = ?", orgID)).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("list token refreshes: %w", err)
		}
		for i := range rows {
			out = append(out, ActivityItem{Kind: "token_refresh", ID: rows[i].ID, StartedAt: rows[i].StartedAt, Refresh: &rows[i]})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartedAt.Equal(out[j].StartedAt) {
			return out[i].StartedAt.After(out[j].StartedAt)
		}
		return out[i].ID > out[j].ID
	})
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// CreatePush stores a push row ahead of its run (a re-run started by the
// API); the run's first attempt counts itself.
func (s *Store) CreatePush(ctx context.Context, p *models.IntegrationPush) error {
	now := s.now()
	p.StartedAt, p.UpdatedAt, p.Status, p.Attempts = now, now, models.PushRunning, 0
	if err := s.db.WithContext(ctx).Create(p).Error; err != nil {
		return fmt.Errorf("create push: %w", err)
	}
	return nil
}
