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

// Recorder does an observer's database work for a new event and says
// whether the observer must also see the event after the commit. It runs
// before the event is written, with st bound to the write: st's
// UpsertObject is written atomically with the event (and not at all if the
// event turns out to exist), and st's ActiveIntegrations are those the
// event is routed at (IngestConfig). Other calls on st go to the database.
type Recorder func(ctx context.Context, st *Store, ev models.Event) (after bool, err error)

// Route decides, from the organization's webhooks (all of them, oldest
// first), which get the event — queued, an outbox row each — and which
// disabled ones are owed it when re-enabled (skipped), and returns the
// event's dispatch record (events.dispatch).
type Route func(hooks []models.Webhook) (queued, skipped []string, dispatchJSON string, err error)

// errDuplicate: the event exists; nothing was written.
var errDuplicate = errors.New("event exists")

// maxRoutes bounds how often one event is routed again because the
// organization's configuration changed under it.
const maxRoutes = 5

// IngestRouted stores a posted event with its dispatch record, one outbox
// row per webhook route queues it for, a skipped row per disabled webhook
// that wanted it, and what record writes, atomically: once it returns, the
// deliveries no longer depend on this process. The organization's webhooks
// and active integrations come from memory (IngestConfig); the write
// happens only if the organization's config version is still the one they
// were read at, checked in the same statement (Postgres) or transaction
// (SQLite), so a webhook created or an integration connected before the
// event arrived — in any process — always gets it. Otherwise they are read
// again and the event routed again. dispatched_at is set unless record
// asks to see the event after the commit (the caller then sets it with
// MarkEventDispatched). An event that exists (same id or idempotency key)
// is returned unchanged with isNew=false and nothing is written.
func (s *Store) IngestRouted(ctx context.Context, e *models.Event, route Route, record Recorder) (models.Event, bool, error) {
	for try := 1; ; try++ {
		cfg, err := s.ingestConfig(ctx, e.OrganizationID)
		if err != nil {
			return models.Event{}, false, err
		}
		queued, skipped, dispatchJSON, err := route(cfg.Webhooks)
		if err != nil {
			return models.Event{}, false, err
		}
		job := &ingestJob{ctx: ctx, e: e, webhookIDs: queued, skippedIDs: skipped, dispatchJSON: dispatchJSON, version: cfg.Version, cfg: cfg}
		stored, isNew, err := s.ingest(job, record)
		if errors.Is(err, errStaleConfig) {
			s.configs.drop(e.OrganizationID, cfg.Version)
			if try < maxRoutes {
				continue
			}
		}
		return stored, isNew, err
	}
}

// IngestEvent stores an event whose outbox rows the caller chose (no
// routing by the organization's webhooks); see IngestRouted.
func (s *Store) IngestEvent(ctx context.Context, e *models.Event, webhookIDs []string, dispatchJSON string, record Recorder) (models.Event, bool, error) {
	return s.IngestEventSkipping(ctx, e, webhookIDs, nil, dispatchJSON, record)
}

// IngestEventSkipping is IngestEvent that also records, in the same
// write, the disabled webhooks (skippedIDs) whose subscription and
// filters the event matched: they are owed it when re-enabled
// (webhook_skipped; recover with status skipped_disabled).
func (s *Store) IngestEventSkipping(ctx context.Context, e *models.Event, webhookIDs, skippedIDs []string, dispatchJSON string, record Recorder) (models.Event, bool, error) {
	return s.ingest(&ingestJob{ctx: ctx, e: e, webhookIDs: webhookIDs, skippedIDs: skippedIDs, dispatchJSON: dispatchJSON, version: -1}, record)
}

// ingest runs record, then writes the job.
func (s *Store) ingest(j *ingestJob, record Recorder) (models.Event, bool, error) {
	e := j.e
	j.now = s.now()
	e.ReceivedAt = j.now
	e.Dispatch = &j.dispatchJSON
	e.DispatchedAt = &j.now
	err := s.recordFirst(j, record)
	if err == nil {
		err = s.ingests.do(s, j)
	}
	if err == nil {
		return *e, true, nil
	}
	e.DispatchedAt = nil
	if !errors.Is(err, errDuplicate) {
		return models.Event{}, false, err
	}
	var stored models.Event
	q := s.db.WithContext(j.ctx).Where("organization_id = ?", e.OrganizationID)
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

// recordFirst runs record with a Store bound to the job: its object writes
// join the job, its active integrations are the job's.
func (s *Store) recordFirst(j *ingestJob, record Recorder) error {
	if record == nil {
		return nil
	}
	bound := &Store{db: s.db, now: s.now, raw: objectCollector{j}, ingestCfg: j.cfg}
	after, err := record(j.ctx, bound, *j.e)
	if err != nil {
		return err
	}
	if after {
		j.e.DispatchedAt = nil
	}
	return nil
}

// ingestJob is one event to store.
type ingestJob struct {
	ctx          context.Context
	e            *models.Event
	webhookIDs   []string
	skippedIDs   []string
	dispatchJSON string
	objects      []models.IntegrationObject // the recorder's writes
	// version is the organization's config version the event was routed
	// at; the write happens only while it is current (-1: not routed, no
	// check).
	version int64
	cfg     *IngestConfig
	now     time.Time
	done    chan error
}

// objectWriter takes a bound Store's object writes (UpsertObject).
type objectWriter interface {
	upsertObject(ctx context.Context, o *models.IntegrationObject) error
}

// objectCollector adds a recorder's object writes to its ingest job.
type objectCollector struct{ j *ingestJob }

func (c objectCollector) upsertObject(_ context.Context, o *models.IntegrationObject) error {
	if o.OrganizationID != c.j.e.OrganizationID {
		return fmt.Errorf("object %s %s of organization %s recorded for an event of %s", o.ObjectType, o.ObjectID, o.OrganizationID, c.j.e.OrganizationID)
	}
	c.j.objects = append(c.j.objects, *o)
	return nil
}

// pgIngest writes one event on Postgres in one statement (one round trip,
// its own transaction): the config-version check, the event, its outbox
// and skipped rows and the recorder's objects, each of the latter only if
// the event was new. It returns whether the version was current and
// whether the event was inserted.
const pgIngest = `WITH cfg AS (
	SELECT 1 FROM organizations WHERE id = $1::text AND ($2::bigint < 0 OR config_version = $2::bigint)
), ev AS (
	INSERT INTO events (organization_id, id, type, idempotency_key, payload, created_unix, received_at, dispatched_at, dispatch)
	SELECT $1::text, $3::text, $4::text, $5::text, $6::text, $7::bigint, $8::timestamp, $9::timestamp, $10::text
	WHERE EXISTS (SELECT 1 FROM cfg)
	ON CONFLICT DO NOTHING
	RETURNING 1
), outbox AS (
	INSERT INTO webhook_outbox (webhook_id, event_id, organization_id, event_type, created_at)
	SELECT w, $3::text, $1::text, $4::text, $8::timestamp FROM ev, unnest($11::text[]) AS w
	ON CONFLICT DO NOTHING
), skipped AS (
	INSERT INTO webhook_skipped (webhook_id, event_id, organization_id, event_type, skipped_at)
	SELECT w, $3::text, $1::text, $4::text, $8::timestamp FROM ev, unnest($12::text[]) AS w
	ON CONFLICT DO NOTHING
), objects AS (
	INSERT INTO integration_objects (organization_id, object_type, object_id, parent_id, status, data,
		last_event_id, last_event_type, last_event_created, updated_at)
	SELECT $1::text, o.object_type, o.object_id, o.parent_id, o.status, o.data,
		o.last_event_id, o.last_event_type, o.last_event_created, o.updated_at
	FROM ev, unnest($13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::bigint[], $21::timestamp[])
		AS o (object_type, object_id, parent_id, status, data, last_event_id, last_event_type, last_event_created, updated_at)
	ON CONFLICT (organization_id, object_type, object_id) DO UPDATE SET
		parent_id = excluded.parent_id, status = excluded.status, data = excluded.data,
		last_event_id = excluded.last_event_id, last_event_type = excluded.last_event_type,
		last_event_created = excluded.last_event_created, updated_at = excluded.updated_at
	WHERE integration_objects.last_event_created <= excluded.last_event_created
)
SELECT EXISTS (SELECT 1 FROM cfg), EXISTS (SELECT 1 FROM ev)`

// writePostgres writes one event with pgIngest.
func (s *Store) writePostgres(j *ingestJob) error {
	var current, inserted bool
	err := s.db.SQL().QueryRowContext(j.ctx, pgIngest, j.pgArgs()...).Scan(&current, &inserted)
	return j.pgResult(err, current, inserted)
}

// pgResult is a job's outcome from pgIngest's answer.
func (j *ingestJob) pgResult(err error, current, inserted bool) error {
	switch {
	case err != nil:
		return fmt.Errorf("store event: %w", err)
	case !current:
		return j.notCurrent()
	case !inserted:
		return errDuplicate
	}
	return nil
}

// pgArgs are pgIngest's arguments for the job.
func (j *ingestJob) pgArgs() []any {
	e := j.e
	n := len(j.objects)
	typ, id, data, evID, evType := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	parent, status := make([]*string, n), make([]*string, n)
	created, updated := make([]int64, n), make([]time.Time, n)
	for i, o := range j.objects {
		typ[i], id[i], parent[i], status[i], data[i] = o.ObjectType, o.ObjectID, o.ParentID, o.Status, o.Data
		evID[i], evType[i], created[i], updated[i] = o.LastEventID, o.LastEventType, o.LastEventCreated, o.UpdatedAt
	}
	return []any{
		e.OrganizationID, j.version, e.ID, e.Type, e.IdempotencyKey, e.Payload, e.CreatedUnix, e.ReceivedAt, e.DispatchedAt, e.Dispatch,
		nonNil(j.webhookIDs), nonNil(j.skippedIDs),
		typ, id, parent, status, data, evID, evType, created, updated,
	}
}

// notCurrent is the error of a write whose version check failed.
func (j *ingestJob) notCurrent() error {
	if j.version < 0 {
		return fmt.Errorf("store event: organization %s: %w", j.e.OrganizationID, ErrNotFound)
	}
	return errStaleConfig
}

func nonNil(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

// gormWriter writes outbox rows in a gorm transaction.
type gormWriter struct{ tx *gorm.DB }

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
// dispatcher is claiming are skipped (FOR UPDATE SKIP LOCKED). Rows of a
// webhook whose pump holds a live lease are left to the pump (pump.go).
func (s *Store) ClaimOutbox(ctx context.Context, limit, maxBatch int, newID func() string) ([]OutboxBatch, error) {
	return s.ClaimOutboxSkipping(ctx, limit, maxBatch, newID, nil)
}

// ClaimOutboxSkipping is ClaimOutbox that leaves the rows of the webhooks
// in skip alone (their pumps are starting).
func (s *Store) ClaimOutboxSkipping(ctx context.Context, limit, maxBatch int, newID func() string, skip []string) ([]OutboxBatch, error) {
	unclaimed := func(tx *gorm.DB) *gorm.DB {
		tx = leasedExpr(tx.Where("batch_id IS NULL"), s.now())
		if len(skip) > 0 {
			tx = tx.Where("webhook_id NOT IN ?", skip)
		}
		return tx
	}
	// A pass that finds nothing to claim (quiet traffic whose webhooks
	// have pumps) costs one read, not a write transaction (on SQLite the
	// database's write lock).
	var probe []string
	err := unclaimed(s.db.Reads.WithContext(ctx).Model(&models.OutboxEntry{})).
		Limit(1).Pluck("event_id", &probe).Error
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	if len(probe) == 0 {
		return nil, nil
	}
	var batches []OutboxBatch
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := unclaimed(tx).Order("created_at, webhook_id, event_id").Limit(limit)
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
// there: their dispatcher died between claiming and starting them, or the
// pump that claimed them lost its lease (died) before delivering them. A
// live pump's rows are never stale, however long its requests take.
func (s *Store) StaleOutbox(ctx context.Context, cutoff time.Time, limit int) ([]OutboxBatch, error) {
	var batchIDs []string
	err := notHeldExpr(s.db.WithContext(ctx).Model(&models.OutboxEntry{}), s.now()).Distinct("batch_id").
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
