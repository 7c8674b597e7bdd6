package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/aqio/connect/models"
)

// webhookPump is a pump's lease on its webhook (migration 00017).
type webhookPump struct {
	WebhookID  string `gorm:"primaryKey"`
	Owner      string
	LeaseUntil time.Time
}

func (webhookPump) TableName() string { return "webhook_pumps" }

// pumpBatchPrefix starts the batch id of outbox rows a pump claimed:
// PumpBatchID(owner, n) = "p|" + owner + "|" + n.
const pumpBatchPrefix = "p|"

// PumpBatchID is the batch id of the n-th claim of the pump attempt owner.
func PumpBatchID(owner string, n int) string {
	return fmt.Sprintf("%s%s|%d", pumpBatchPrefix, owner, n)
}

// PumpOwner is the owner of a pump attempt: the pump run, the activity
// attempt and a random token (distinct for every attempt).
func PumpOwner(runID string, attempt int32, token string) string {
	return fmt.Sprintf("%s.%d.%s", runID, attempt, token)
}

// ParsePumpBatch returns the pump run that claimed a batch, when a pump
// did (batch id PumpBatchID).
func ParsePumpBatch(batchID string) (runID string, ok bool) {
	rest, ok := strings.CutPrefix(batchID, pumpBatchPrefix)
	if !ok {
		return "", false
	}
	runID, _, ok = strings.Cut(rest, ".")
	return runID, ok && runID != ""
}

// AcquirePumpLease takes the lease of a webhook's pump for owner until
// until, when nobody holds a live one (or owner does). It reports whether
// owner holds the lease.
func (s *Store) AcquirePumpLease(ctx context.Context, webhookID, owner string, until time.Time) (bool, error) {
	now := s.now()
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "webhook_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"owner", "lease_until"}),
		Where: clause.Where{Exprs: []clause.Expression{clause.Expr{
			SQL:  "webhook_pumps.lease_until <= ? OR webhook_pumps.owner = excluded.owner",
			Vars: []any{now},
		}}},
	}).Create(&webhookPump{WebhookID: webhookID, Owner: owner, LeaseUntil: until.UTC()})
	if res.Error != nil {
		return false, fmt.Errorf("acquire pump lease: %w", res.Error)
	}
	return res.RowsAffected > 0, nil
}

// RenewPumpLease extends owner's live lease to until; false when owner no
// longer holds a live lease (it lapsed or another pump took it).
func (s *Store) RenewPumpLease(ctx context.Context, webhookID, owner string, until time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&webhookPump{}).
		Where("webhook_id = ? AND owner = ? AND lease_until > ?", webhookID, owner, s.now()).
		Update("lease_until", until.UTC())
	if res.Error != nil {
		return false, fmt.Errorf("renew pump lease: %w", res.Error)
	}
	return res.RowsAffected > 0, nil
}

// ReleasePumpLease gives up owner's lease (the dispatcher takes the
// webhook's rows again at once).
func (s *Store) ReleasePumpLease(ctx context.Context, webhookID, owner string) error {
	return s.db.WithContext(ctx).Where("webhook_id = ? AND owner = ?", webhookID, owner).Delete(&webhookPump{}).Error
}

// LivePumps returns the owner of every live pump lease by webhook.
func (s *Store) LivePumps(ctx context.Context) (map[string]string, error) {
	var rows []webhookPump
	if err := s.db.WithContext(ctx).Where("lease_until > ?", s.now()).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read pump leases: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.WebhookID] = r.Owner
	}
	return out, nil
}

// ClaimPumpRows claims up to limit unclaimed outbox rows of one webhook,
// oldest first, under batchID — none while the webhook's circuit is open
// (they are parked for its endpoint workflow by the dispatcher) — with the same claim the dispatcher makes
// (batch_id, claimed_at; rows another claimer is locking are skipped on
// Postgres): the update only takes rows whose batch_id is still NULL, so
// a row is never claimed twice, whoever races for it. It returns the rows
// it claimed in acceptance order.
func (s *Store) ClaimPumpRows(ctx context.Context, webhookID, batchID string, limit int) ([]models.OutboxEntry, error) {
	lock := ""
	if s.db.Dialect == "postgres" {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	// One statement: the claim returns the rows it took (RETURNING, on
	// both databases).
	var rows []models.OutboxEntry
	err := s.db.WithContext(ctx).Raw(`UPDATE webhook_outbox SET batch_id = ?, claimed_at = ?
WHERE webhook_id = ? AND batch_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM webhook_circuits c WHERE c.webhook_id = ?) AND event_id IN (
  SELECT event_id FROM webhook_outbox WHERE webhook_id = ? AND batch_id IS NULL
  ORDER BY created_at, event_id LIMIT ?`+lock+`)
RETURNING webhook_id, event_id, organization_id, event_type, created_at, batch_id, claimed_at`,
		batchID, s.now(), webhookID, webhookID, webhookID, limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("claim outbox rows: %w", err)
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].CreatedAt.Equal(rows[j].CreatedAt) {
			return rows[i].CreatedAt.Before(rows[j].CreatedAt)
		}
		return rows[i].EventID < rows[j].EventID
	})
	return rows, nil
}

// UnclaimPumpRows gives a pump's claimed rows back to the dispatcher.
func (s *Store) UnclaimPumpRows(ctx context.Context, batchID string) error {
	err := s.db.WithContext(ctx).Model(&models.OutboxEntry{}).Where("batch_id = ?", batchID).
		Updates(map[string]any{"batch_id": nil, "claimed_at": nil}).Error
	if err != nil {
		return fmt.Errorf("unclaim outbox rows: %w", err)
	}
	return nil
}

// MarkInterrupted marks the still pending attempts of messages made by
// another run (a pump that died mid-send) interrupted, as BeginAttempts
// does for the attempts of the run itself.
func (s *Store) MarkInterrupted(ctx context.Context, runID string, messageIDs []string) error {
	if len(messageIDs) == 0 {
		return nil
	}
	err := s.db.WithContext(ctx).Model(&models.WebhookDelivery{}).
		Where("run_id = ? AND message_id IN ? AND status = ?", runID, messageIDs, models.DeliveryPending).
		Updates(map[string]any{"status": models.DeliveryFailed, "interrupted": true, "completed_at": s.now(),
			"error_message": interruptedMessage}).Error
	if err != nil {
		return fmt.Errorf("mark interrupted attempts: %w", err)
	}
	return nil
}

// leasedExpr excludes the rows of webhooks with a live pump lease (the
// pump claims them itself).
func leasedExpr(tx *gorm.DB, now time.Time) *gorm.DB {
	return tx.Where("webhook_id NOT IN (SELECT webhook_id FROM webhook_pumps WHERE lease_until > ?)", now)
}

// notHeldExpr excludes the rows a live pump holds: claimed under a batch
// id of the owner of a live lease on their webhook.
func notHeldExpr(tx *gorm.DB, now time.Time) *gorm.DB {
	return tx.Where(`NOT EXISTS (SELECT 1 FROM webhook_pumps p WHERE p.webhook_id = webhook_outbox.webhook_id
  AND p.lease_until > ? AND webhook_outbox.batch_id LIKE 'p|' || p.owner || '|%')`, now)
}
