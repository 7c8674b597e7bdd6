package store

import (
	"context"
	"fmt"

	"gorm.io/gorm/clause"

	"github.com/aqio/connect/models"
)

// EnsureOrganization creates the organization on first use (plan free) and
// returns it.
func (s *Store) EnsureOrganization(ctx context.Context, id string) (models.Organization, error) {
	now := s.now()
	org := models.Organization{ID: id, Plan: models.PlanFree, CreatedAt: now, UpdatedAt: now}
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&org).Error; err != nil {
		return org, fmt.Errorf("ensure organization: %w", err)
	}
	return s.GetOrganization(ctx, id)
}

// GetOrganization loads one organization.
func (s *Store) GetOrganization(ctx context.Context, id string) (models.Organization, error) {
	var org models.Organization
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&org).Error
	return org, notFound(err)
}

// PutOrganization creates or updates an organization's name and plan.
func (s *Store) PutOrganization(ctx context.Context, id, name, plan string) (models.Organization, bool, error) {
	now := s.now()
	_, err := s.GetOrganization(ctx, id)
	created := err == ErrNotFound
	org := models.Organization{ID: id, Name: name, Plan: plan, CreatedAt: now, UpdatedAt: now}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"name", "plan", "updated_at"}),
	}).Create(&org).Error
	if err != nil {
		return org, false, fmt.Errorf("put organization: %w", err)
	}
	org, err = s.GetOrganization(ctx, id)
	return org, created, err
}

// EnsureOrganizationExists is EnsureOrganization for hot paths: once an
// organization is known to exist, later calls skip the database.
// Organizations are never deleted by this service, so the memo cannot go
// stale.
func (s *Store) EnsureOrganizationExists(ctx context.Context, id string) error {
	if _, ok := s.knownOrgs.Load(id); ok {
		return nil
	}
	if _, err := s.EnsureOrganization(ctx, id); err != nil {
		return err
	}
	s.knownOrgs.Store(id, struct{}{})
	return nil
}

// ListOrganizations lists organizations by id, limit at a time, after the
// id cursor ("" from the start); next is the cursor of the following page
// ("" on the last).
func (s *Store) ListOrganizations(ctx context.Context, limit int, cursor string) (orgs []models.Organization, next string, err error) {
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	q := s.reads().WithContext(ctx).Order("id").Limit(limit + 1)
	if cursor != "" {
		q = q.Where("id > ?", cursor)
	}
	if err := q.Find(&orgs).Error; err != nil {
		return nil, "", fmt.Errorf("list organizations: %w", err)
	}
	if len(orgs) > limit {
		orgs = orgs[:limit]
		next = orgs[limit-1].ID
	}
	return orgs, next, nil
}
