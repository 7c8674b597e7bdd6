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

// ErrKeyInactive is returned when rotating a key that is revoked, expired
// or already rotated.
var ErrKeyInactive = errors.New("api key is not active")

// EnsureUser creates the user row on first use (owner of user API keys).
func (s *Store) EnsureUser(ctx context.Context, tx *gorm.DB, id string) error {
	now := s.now()
	u := models.User{ID: id, CreatedAt: now, UpdatedAt: now}
	if err := tx.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&u).Error; err != nil {
		return fmt.Errorf("ensure user: %w", err)
	}
	return nil
}

// CreateAPIKey inserts a key (its organization and owner rows are created
// on first use) and runs after, e.g. an audit entry, in the same transaction.
func (s *Store) CreateAPIKey(ctx context.Context, k *models.APIKey, after func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.now()
		org := models.Organization{ID: *k.OrganizationID, Plan: models.PlanFree, CreatedAt: now, UpdatedAt: now}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&org).Error; err != nil {
			return fmt.Errorf("ensure organization: %w", err)
		}
		if k.UserID != nil {
			if err := s.EnsureUser(ctx, tx, *k.UserID); err != nil {
				return err
			}
		}
		if err := tx.Create(k).Error; err != nil {
			return fmt.Errorf("create api key: %w", notFound(err))
		}
		return after(tx)
	})
}

// APIKeyFilter narrows a key listing.
type APIKeyFilter struct {
	UserID string // only keys owned by this user
	Limit  int    // page size: 1-200, default 100
	Cursor string // opaque, from a previous page
}

// ListAPIKeys returns a page of an organization's keys, newest first, and
// the cursor of the next page ("" when there is none).
func (s *Store) ListAPIKeys(ctx context.Context, orgID string, f APIKeyFilter) ([]models.APIKey, string, error) {
	q := s.db.WithContext(ctx).Where("organization_id = ?", orgID)
	if f.UserID != "" {
		q = q.Where("user_id = ?", f.UserID)
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("(created_at < ?) OR (created_at = ? AND id < ?)", at, at, id)
	}
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 100
	}
	var out []models.APIKey
	if err := q.Order("created_at DESC, id DESC").Limit(limit + 1).Find(&out).Error; err != nil {
		return nil, "", fmt.Errorf("list api keys: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[len(out)-1]
		next = encodeCursor(last.CreatedAt, last.ID)
	}
	return out, next, nil
}

// GetAPIKey loads one key of an organization.
func (s *Store) GetAPIKey(ctx context.Context, orgID, id string) (models.APIKey, error) {
	var k models.APIKey
	err := s.db.WithContext(ctx).Where("organization_id = ? AND id = ?", orgID, id).Take(&k).Error
	return k, notFound(err)
}

// UpdateAPIKey changes columns of a key and runs after in the same transaction.
func (s *Store) UpdateAPIKey(ctx context.Context, orgID, id string, cols map[string]any, after func(tx *gorm.DB) error) (models.APIKey, error) {
	cols["updated_at"] = s.now()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.APIKey{}).Where("organization_id = ? AND id = ?", orgID, id).Updates(cols)
		if res.Error != nil {
			return fmt.Errorf("update api key: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return after(tx)
	})
	if err != nil {
		return models.APIKey{}, err
	}
	return s.GetAPIKey(ctx, orgID, id)
}

// RotateAPIKey inserts next and ends old at graceEnd (or at its own
// expiry when earlier), atomically. A revoked, expired or already rotated
// key cannot be rotated.
func (s *Store) RotateAPIKey(ctx context.Context, orgID, oldID string, next *models.APIKey, graceEnd time.Time, after func(tx *gorm.DB) error) error {
	now := s.now()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.APIKey{}).
			Where("organization_id = ? AND id = ? AND revoked_at IS NULL AND rotated_at IS NULL AND is_active = ?", orgID, oldID, true).
			Where("expires_at IS NULL OR expires_at > ?", now).
			Updates(map[string]any{
				"rotated_at": now, "replaced_by_id": next.ID, "updated_at": now,
				"expires_at": gorm.Expr("CASE WHEN expires_at IS NOT NULL AND expires_at < ? THEN expires_at ELSE ? END", graceEnd, graceEnd),
			})
		if res.Error != nil {
			return fmt.Errorf("rotate api key: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			var k models.APIKey // read through tx: the SQLite pool has one connection
			if err := tx.Where("organization_id = ? AND id = ?", orgID, oldID).Take(&k).Error; err != nil {
				return notFound(err)
			}
			return ErrKeyInactive
		}
		if next.UserID != nil {
			if err := s.EnsureUser(ctx, tx, *next.UserID); err != nil {
				return err
			}
		}
		if err := tx.Create(next).Error; err != nil {
			return fmt.Errorf("create rotated api key: %w", err)
		}
		return after(tx)
	})
}

// DeleteAPIKey removes a key (its usage buckets cascade).
func (s *Store) DeleteAPIKey(ctx context.Context, orgID, id string, after func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("organization_id = ? AND id = ?", orgID, id).Delete(&models.APIKey{})
		if res.Error != nil {
			return fmt.Errorf("delete api key: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		if err := tx.Exec("DELETE FROM rate_limit_counters WHERE subject = ?", id).Error; err != nil {
			return fmt.Errorf("delete rate limit counters: %w", err)
		}
		return after(tx)
	})
}

// KeyForVerification is a key with its organization's plan.
type KeyForVerification struct {
	models.APIKey
	Plan string
}

// LookupAPIKey finds a key by its hash, with the organization's plan, in
// one query. No cache: a revocation is seen by the very next request on
// every instance.
func (s *Store) LookupAPIKey(ctx context.Context, hash string) (KeyForVerification, error) {
	var k KeyForVerification
	err := s.db.WithContext(ctx).Table("api_keys").
		Select("api_keys.*, COALESCE(organizations.plan, 'free') AS plan").
		Joins("LEFT JOIN organizations ON organizations.id = api_keys.organization_id").
		Where("api_keys.key_hash = ?", hash).Take(&k).Error
	return k, notFound(err)
}
