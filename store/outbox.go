package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/aqio/connect/database"
	"github.com/aqio/connect/models"
)

// OutboxBatch is a group of outbox rows of one webhook and one event type
// that one DeliveryBatch workflow delivers.
type OutboxBatch struct {
	BatchID        string
	OrganizationID string
	WebhookID      string
	EventType      string
	EventIDs       []string
	// Created is when each event's outbox row was written (EventIDs'
	// order): an ordered webhook's batches are merged back into it.
	Created []time.Time
}

// Recorder does an observer's database work for a new event inside the
// transaction that stores it (st is bound to that transaction) and says
// whether the observer must also see the event after the commit.
type Recorder func(ctx context.Context, st *Store, ev models.Event) (after bool, err error)

// errDuplicate rolls back the ingest transaction of an event that exists.
var errDuplicate = errors.New("event exists")

// IngestEvent stores a posted event with its dispatch record
// (events.dispatch), one outbox row per subscribed webhook, and what
// record writes, in one transaction: once it returns, the deliveries no
// longer depend on this process. dispatched_at is set in the same
// transaction unless record asks to see the event after the commit (the
// caller then sets it with MarkEventDispatched). An event that exists
// (same id or idempotency key) is returned unchanged with isNew=false and
// nothing is written.
func (s *Store) IngestEvent(ctx context.Context, e *models.Event, webhookIDs []string, dispatchJSON string, record Recorder) (models.Event, bool, error) {
	return s.IngestEventSkipping(ctx, e, webhookIDs, nil, dispatchJSON, record)
}

// IngestEventSkipping is IngestEvent that also records, in the same
// transaction, the disabled webhooks (skippedIDs) whose subscription and
// filters the event matched: they are owed it when re-enabled
// (webhook_skipped; recover with status skipped_disabled).
func (s *Store) IngestEventSkipping(ctx context.Context, e *models.Event, webhookIDs, skippedIDs []string, dispatchJSON string, record Recorder) (models.Event, bool, error) {
	now := s.now()
	e.ReceivedAt = now
	e.Dispatch = &dispatchJSON
	e.DispatchedAt = &now
	job := &ingestJob{ctx: ctx, e: e, webhookIDs: webhookIDs, skippedIDs: skippedIDs, record: record, now: now}
	var err error
	if s.db.Dialect == "sqlite" {
		err = s.ingests.do(s, job)
	} else {
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return s.ingestTx(tx, job) })
	}
	if err == nil {
		return *e, true, nil
	}
	e.DispatchedAt = nil
	if !errors.Is(err, errDuplicate) {
		return models.Event{}, false, err
	}
	var stored models.Event
	q := s.db.WithContext(ctx).Where("organization_id = ?", e.OrganizationID)
	if e.IdempotencyKey != nil {
		q = q.Where("id = ? OR idempotency_key = ?", e.ID, *e.IdempotencyKey)
	} else {
		q = q.Where("id = ?", e.ID)
	}
	if err := q.Take(&stored).Error; err != nil {
		return models.Event{}, false, fmt.Errorf("load existing event: %w", err)
	}
	return stored, false, nil
}

// ingestJob is one event to store.
type ingestJob struct {
	ctx        context.Context
	e          *models.Event
	webhookIDs []string
	skippedIDs []string
	record     Recorder
	now        time.Time
	done       chan error
}

// ingestWriter writes one event's rows: gorm in a transaction, or the
// prepared statements of a SQLite group commit (groupcommit.go).
type ingestWriter interface {
	insertEvent(ctx context.Context, e *models.Event) (inserted bool, err error)
	insertOutbox(ctx context.Context, e models.Event, webhookIDs []string, now time.Time) error
	insertSkipped(ctx context.Context, e models.Event, webhookIDs []string, now time.Time) error
	clearDispatched(ctx context.Context, e models.Event) error
}

// ingestOne writes one event through w; st is the Store the recorder
// sees, bound to the same transaction. errDuplicate when the event exists.
func ingestOne(w ingestWriter, st *Store, j *ingestJob) error {
	inserted, err := w.insertEvent(j.ctx, j.e)
	if err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	if !inserted {
		return errDuplicate
	}
	if err := w.insertOutbox(j.ctx, *j.e, j.webhookIDs, j.now); err != nil {
		return fmt.Errorf("enqueue deliveries: %w", err)
	}
	if len(j.skippedIDs) > 0 {
		if err := w.insertSkipped(j.ctx, *j.e, j.skippedIDs, j.now); err != nil {
			return fmt.Errorf("record skipped deliveries: %w", err)
		}
	}
	if j.record == nil {
		return nil
	}
	after, err := j.record(j.ctx, st, *j.e)
	if err != nil || !after {
		return err
	}
	j.e.DispatchedAt = nil
	return w.clearDispatched(j.ctx, *j.e)
}

// ingestTx writes one event in tx.
func (s *Store) ingestTx(tx *gorm.DB, j *ingestJob) error {
	return ingestOne(gormWriter{tx}, s.withTx(tx), j)
}

// gormWriter is the ingestWriter of a gorm transaction.
type gormWriter struct{ tx *gorm.DB }

func (g gormWriter) insertEvent(ctx context.Context, e *models.Event) (bool, error) {
	res := g.tx.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(e)
	return res.RowsAffected > 0, res.Error
}

func (g gormWriter) insertOutbox(ctx context.Context, e models.Event, webhookIDs []string, now time.Time) error {
	if len(webhookIDs) == 0 {
		return nil
	}
	rows := make([]models.OutboxEntry, len(webhookIDs))
	for i, w := range webhookIDs {
		rows[i] = models.OutboxEntry{WebhookID: w, EventID: e.ID, OrganizationID: e.OrganizationID, EventType: e.Type, CreatedAt: now}
	}
	return g.tx.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error
}

func (g gormWriter) insertSkipped(ctx context.Context, e models.Event, webhookIDs []string, now time.Time) error {
	rows := make([]models.SkippedDelivery, len(webhookIDs))
	for i, w := range webhookIDs {
		rows[i] = models.SkippedDelivery{WebhookID: w, EventID: e.ID, OrganizationID: e.OrganizationID, EventType: e.Type, SkippedAt: now}
	}
	return g.tx.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error
}

func (g gormWriter) clearDispatched(ctx context.Context, e models.Event) error {
	return g.tx.WithContext(ctx).Model(&models.Event{}).Where("organization_id = ? AND id = ?", e.OrganizationID, e.ID).
		Update("dispatched_at", nil).Error
}

// withTx is a Store whose queries run in tx (reads too: a second
// connection from the pool inside a transaction can exhaust it).
func (s *Store) withTx(tx *gorm.DB) *Store {
	return &Store{db: &database.DB{DB: tx, Dialect: s.db.Dialect, Reads: tx}, now: s.now}
}

// EnqueueDeliveries writes the outbox rows and dispatch record of an event
// stored earlier without them (stored before the outbox existed); rows
// that exist are left alone.
func (s *Store) EnqueueDeliveries(ctx context.Context, e models.Event, webhookIDs []string, dispatchJSON string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := (gormWriter{tx}).insertOutbox(ctx, e, webhookIDs, s.now()); err != nil {
			return fmt.Errorf("enqueue deliveries: %w", err)
		}
		err := tx.Model(&models.Event{}).Where("organization_id = ? AND id = ?", e.OrganizationID, e.ID).
			Update("dispatch", dispatchJSON).Error
		if err != nil {
			return fmt.Errorf("record event dispatch: %w", err)
		}
		return nil
	})
}

// ClaimOutbox claims up to limit unclaimed outbox rows, oldest first, and
// groups them into batches of at most maxBatch rows of one webhook and one
// event type, each under a new id from newID. On Postgres, rows another
// dispatcher is claiming are skipped (FOR UPDATE SKIP LOCKED).
func (s *Store) ClaimOutbox(ctx context.Context, limit, maxBatch int, newID func() string) ([]OutboxBatch, error) {
	var batches []OutboxBatch
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Where("batch_id IS NULL").Order("created_at, webhook_id, event_id").Limit(limit)
		if s.db.Dialect == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		var rows []models.OutboxEntry
		if err := q.Find(&rows).Error; err != nil {
			return fmt.Errorf("read outbox: %w", err)
		}
		batches = groupOutbox(rows, maxBatch, newID)
		now := s.now()
		for _, b := range batches {
			err := tx.Model(&models.OutboxEntry{}).Where("webhook_id = ? AND event_id IN ?", b.WebhookID, b.EventIDs).
				Updates(map[string]any{"batch_id": b.BatchID, "claimed_at": now}).Error
			if err != nil {
				return fmt.Errorf("claim outbox batch: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return batches, nil
}

// groupOutbox groups rows (in order) by webhook and event type, in chunks
// of at most maxBatch; rows with a batch id keep it.
func groupOutbox(rows []models.OutboxEntry, maxBatch int, newID func() string) []OutboxBatch {
	var out []OutboxBatch
	open := map[[2]string]int{} // (webhook, type) -> index of its last batch in out
	for _, r := range rows {
		key := [2]string{r.WebhookID, r.EventType}
		if r.BatchID != nil {
			key[1] += "\x00" + *r.BatchID
		}
		i, ok := open[key]
		if !ok || len(out[i].EventIDs) >= maxBatch {
			id := ""
			if r.BatchID != nil {
				id = *r.BatchID
			} else {
				id = newID()
			}
			out = append(out, OutboxBatch{BatchID: id, OrganizationID: r.OrganizationID, WebhookID: r.WebhookID, EventType: r.EventType})
			i = len(out) - 1
			open[key] = i
		}
		out[i].EventIDs = append(out[i].EventIDs, r.EventID)
		out[i].Created = append(out[i].Created, r.CreatedAt)
	}
	return out
}

// StaleOutbox returns batches claimed before cutoff whose rows are still
// there: their dispatcher died between claiming and starting them.
func (s *Store) StaleOutbox(ctx context.Context, cutoff time.Time, limit int) ([]OutboxBatch, error) {
	var batchIDs []string
	err := s.db.WithContext(ctx).Model(&models.OutboxEntry{}).Distinct("batch_id").
		Where("batch_id IS NOT NULL AND claimed_at < ?", cutoff).Limit(limit).Pluck("batch_id", &batchIDs).Error
	if err != nil {
		return nil, fmt.Errorf("read stale outbox: %w", err)
	}
	if len(batchIDs) == 0 {
		return nil, nil
	}
	var rows []models.OutboxEntry
	err = s.db.WithContext(ctx).Where("batch_id IN ?", batchIDs).
		Order("batch_id, created_at, webhook_id, event_id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("read stale outbox: %w", err)
	}
	return groupOutbox(rows, len(rows)+1, nil), nil
}

// DeleteOutboxBatches removes the rows of batches whose workflows started.
func (s *Store) DeleteOutboxBatches(ctx context.Context, batchIDs []string) error {
	if len(batchIDs) == 0 {
		return nil
	}
	return s.db.WithContext(ctx).Where("batch_id IN ?", batchIDs).Delete(&models.OutboxEntry{}).Error
}

// OutboxDepth counts outbox rows not yet handed to Temporal.
func (s *Store) OutboxDepth(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.OutboxEntry{}).Count(&n).Error
	return n, err
}
