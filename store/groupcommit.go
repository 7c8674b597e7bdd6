package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// groupCommit stores concurrent events in one transaction (group commit).
// SQLite has one writer and the service one write connection, so every
// commit is a turn each request waits for; one commit that carries every
// event waiting at that moment writes each shared page once. Every event
// gets its own savepoint: one that fails (or exists) is rolled back alone.
// On Postgres the events waiting are sent as one pipelined batch of
// pgIngest statements, one implicit transaction and one round trip
// (postgresGroup). Callers still return only after the commit that holds
// their event, so a 202 never precedes durability.
//
// Its statements are plain SQL: the SQLite driver keeps every statement a
// connection prepared (database/stmtcache.go), inside transactions too.
type groupCommit struct {
	mu      sync.Mutex
	queue   []*ingestJob
	leading bool

	// multi counts the groups of more than one event; rewritten, the
	// Postgres batches that failed as a whole and were written again
	// event by event (tests).
	multi, rewritten atomic.Int64
}

// maxGroup bounds the events of one group commit.
const maxGroup = 128

func (g *groupCommit) do(s *Store, j *ingestJob) error {
	j.done = make(chan error, 1)
	g.mu.Lock()
	g.queue = append(g.queue, j)
	if g.leading {
		g.mu.Unlock()
		return <-j.done
	}
	g.leading = true
	g.mu.Unlock()
	// This caller commits for everyone waiting until the queue is empty.
	for {
		g.mu.Lock()
		n := min(len(g.queue), maxGroup)
		batch := g.queue[:n:n]
		g.queue = g.queue[n:]
		if n == 0 {
			g.leading = false
			g.mu.Unlock()
			break
		}
		g.mu.Unlock()
		if n > 1 {
			g.multi.Add(1)
		}
		if s.db.Dialect == "postgres" {
			s.commitPostgresGroup(batch)
		} else {
			s.commitGroup(batch)
		}
	}
	return <-j.done
}

// The group commit's SQLite statements.
const (
	sqlConfigVersion = `SELECT config_version FROM organizations WHERE id = ?`
	sqlInsertEvent   = `INSERT INTO events (organization_id, id, type, idempotency_key, payload, created_unix, received_at, dispatched_at, dispatch)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	sqlInsertOutbox = `INSERT INTO webhook_outbox (webhook_id, event_id, organization_id, event_type, created_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	sqlInsertSkipped = `INSERT INTO webhook_skipped (webhook_id, event_id, organization_id, event_type, skipped_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	sqlUpsertObject = `INSERT INTO integration_objects (organization_id, object_type, object_id, parent_id, status, data,
				last_event_id, last_event_type, last_event_created, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (organization_id, object_type, object_id) DO UPDATE SET
				parent_id = excluded.parent_id, status = excluded.status, data = excluded.data,
				last_event_id = excluded.last_event_id, last_event_type = excluded.last_event_type,
				last_event_created = excluded.last_event_created, updated_at = excluded.updated_at
			WHERE integration_objects.last_event_created <= excluded.last_event_created`
)

func (s *Store) commitGroup(batch []*ingestJob) {
	results := make([]error, len(batch))
	if err := s.runGroup(batch, results); err != nil {
		for _, j := range batch {
			j.e.DispatchedAt = nil
			j.done <- fmt.Errorf("store events: %w", err)
		}
		return
	}
	for i, j := range batch {
		j.done <- results[i]
	}
}

// runGroup writes every job of the batch in one transaction, each under
// its own savepoint, and commits; a job's own failure goes to results.
func (s *Store) runGroup(batch []*ingestJob, results []error) (err error) {
	sqlDB := s.db.SQL()
	ctx := context.Background() // the batch is everyone's: one caller's cancel must not end it
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	w := &rawTx{tx: tx}
	for i, j := range batch {
		if err := w.exec(ctx, `SAVEPOINT ingest`); err != nil {
			return err
		}
		if results[i] = w.ingestOne(ctx, j); results[i] != nil {
			if err := w.exec(ctx, `ROLLBACK TO ingest`); err != nil {
				return err
			}
		}
		if err := w.exec(ctx, `RELEASE ingest`); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// rawTx runs the ingest statements in one transaction; it is the
// ingestWriter of a group commit.
type rawTx struct{ tx *sql.Tx }

func (r *rawTx) exec(ctx context.Context, query string, args ...any) error {
	_, err := r.tx.ExecContext(ctx, query, args...)
	return err
}

// ingestOne writes one job: the config-version check, the event, and,
// if the event is new, its outbox and skipped rows and the recorder's
// objects. errDuplicate when the event exists, errStaleConfig when the
// version moved.
func (r *rawTx) ingestOne(ctx context.Context, j *ingestJob) error {
	e := j.e
	var version int64
	switch err := r.tx.QueryRowContext(ctx, sqlConfigVersion, e.OrganizationID).Scan(&version); {
	case errors.Is(err, sql.ErrNoRows):
		return j.notCurrent()
	case err != nil:
		return fmt.Errorf("read organization config version: %w", err)
	case j.version >= 0 && version != j.version:
		return j.notCurrent()
	}
	res, err := r.tx.ExecContext(ctx, sqlInsertEvent,
		e.OrganizationID, e.ID, e.Type, e.IdempotencyKey, e.Payload, e.CreatedUnix, e.ReceivedAt, e.DispatchedAt, e.Dispatch)
	if err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("insert event: %w", err)
	} else if n == 0 {
		return errDuplicate
	}
	for _, w := range j.webhookIDs {
		if err := r.exec(ctx, sqlInsertOutbox, w, e.ID, e.OrganizationID, e.Type, j.now); err != nil {
			return fmt.Errorf("enqueue deliveries: %w", err)
		}
	}
	for _, w := range j.skippedIDs {
		if err := r.exec(ctx, sqlInsertSkipped, w, e.ID, e.OrganizationID, e.Type, j.now); err != nil {
			return fmt.Errorf("record skipped deliveries: %w", err)
		}
	}
	for i := range j.objects {
		o := &j.objects[i]
		err := r.exec(ctx, sqlUpsertObject, o.OrganizationID, o.ObjectType, o.ObjectID, o.ParentID, o.Status, o.Data,
			o.LastEventID, o.LastEventType, o.LastEventCreated, o.UpdatedAt)
		if err != nil {
			return fmt.Errorf("keep object %s %s: %w", o.ObjectType, o.ObjectID, err)
		}
	}
	return nil
}
