package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/aqio/connect/models"
)

// UsageDelta is what one API instance counted for a key in one minute.
type UsageDelta struct {
	APIKeyID       string
	OrganizationID string
	Minute         time.Time
	Allowed        int64
	Denied         int64
	LastUsedAt     time.Time // latest admitted request (zero if none)
}

// AddUsage adds counted requests to the per-minute buckets and to the
// keys' usage_count and last_used_at.
func (s *Store) AddUsage(ctx context.Context, deltas []UsageDelta) error {
	if len(deltas) == 0 {
		return nil
	}
	// One statement pair per delta, not one transaction: a delta for a key
	// deleted meanwhile is dropped without aborting the others.
	tx := s.db.WithContext(ctx)
	for _, d := range deltas {
		row := models.APIKeyUsage{APIKeyID: d.APIKeyID, OrganizationID: d.OrganizationID,
			BucketStart: d.Minute.UTC().Truncate(time.Minute), Allowed: d.Allowed, Denied: d.Denied}
		err := tx.Clauses(clause.OnConflict{
			Columns: []clause.Column{{Name: "api_key_id"}, {Name: "bucket_start"}},
			DoUpdates: clause.Set{
				{Column: clause.Column{Name: "allowed"}, Value: gorm.Expr("api_key_usage.allowed + ?", d.Allowed)},
				{Column: clause.Column{Name: "denied"}, Value: gorm.Expr("api_key_usage.denied + ?", d.Denied)},
			},
		}).Create(&row).Error
		if err != nil {
			// A key deleted since the request: its usage goes with it.
			if isForeignKeyViolation(err) {
				continue
			}
			return fmt.Errorf("add usage bucket: %w", err)
		}
		if d.Allowed > 0 {
			err = tx.Model(&models.APIKey{}).Where("id = ?", d.APIKeyID).Updates(map[string]any{
				"usage_count": gorm.Expr("usage_count + ?", d.Allowed),
				"last_used_at": gorm.Expr("CASE WHEN last_used_at IS NULL OR last_used_at < ? THEN ? ELSE last_used_at END",
					d.LastUsedAt.UTC(), d.LastUsedAt.UTC()),
			}).Error
			if err != nil {
				return fmt.Errorf("add key usage: %w", err)
			}
		}
	}
	return nil
}

func isForeignKeyViolation(err error) bool {
	return errors.Is(err, gorm.ErrForeignKeyViolated) ||
		strings.Contains(err.Error(), "FOREIGN KEY constraint failed") || strings.Contains(err.Error(), "SQLSTATE 23503")
}

// UsagePoint is one interval of a time series.
type UsagePoint struct {
	Start   time.Time `json:"start"`
	Allowed int64     `json:"allowed"`
	Denied  int64     `json:"denied"`
}

// KeyUsageSeries returns a key's usage in [from, to) grouped by
// granularity (minute, hour or day), only intervals with traffic.
func (s *Store) KeyUsageSeries(ctx context.Context, orgID, keyID string, from, to time.Time, granularity time.Duration) ([]UsagePoint, error) {
	var rows []models.APIKeyUsage
	err := s.db.WithContext(ctx).
		Where("organization_id = ? AND api_key_id = ? AND bucket_start >= ? AND bucket_start < ?", orgID, keyID, from.UTC(), to.UTC()).
		Order("bucket_start").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("key usage: %w", err)
	}
	var out []UsagePoint
	for _, r := range rows {
		start := r.BucketStart.UTC().Truncate(granularity)
		if granularity == 24*time.Hour {
			y, m, d := r.BucketStart.UTC().Date()
			start = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		}
		if n := len(out); n > 0 && out[n-1].Start.Equal(start) {
			out[n-1].Allowed += r.Allowed
			out[n-1].Denied += r.Denied
			continue
		}
		out = append(out, UsagePoint{Start: start, Allowed: r.Allowed, Denied: r.Denied})
	}
	return out, nil
}

// KeyUsageTotal is one key's totals in an interval.
type KeyUsageTotal struct {
	APIKeyID string `json:"api_key_id"`
	Allowed  int64  `json:"allowed"`
	Denied   int64  `json:"denied"`
}

// OrganizationUsage sums usage per key in [from, to).
func (s *Store) OrganizationUsage(ctx context.Context, orgID string, from, to time.Time) ([]KeyUsageTotal, error) {
	var out []KeyUsageTotal
	err := s.db.WithContext(ctx).Model(&models.APIKeyUsage{}).
		Select("api_key_id, SUM(allowed) AS allowed, SUM(denied) AS denied").
		Where("organization_id = ? AND bucket_start >= ? AND bucket_start < ?", orgID, from.UTC(), to.UTC()).
		Group("api_key_id").Order("api_key_id").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("organization usage: %w", err)
	}
	return out, nil
}

// UsageBuckets returns the organization's per-minute usage rows in
// [from, to), oldest first, for one key when keyID is set (for charts:
// api/usage.go groups them).
func (s *Store) UsageBuckets(ctx context.Context, orgID, keyID string, from, to time.Time) ([]models.APIKeyUsage, error) {
	q := s.db.WithContext(ctx).Where("organization_id = ? AND bucket_start >= ? AND bucket_start < ?", orgID, from.UTC(), to.UTC())
	if keyID != "" {
		q = q.Where("api_key_id = ?", keyID)
	}
	var rows []models.APIKeyUsage
	if err := q.Order("bucket_start").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("usage buckets: %w", err)
	}
	return rows, nil
}
