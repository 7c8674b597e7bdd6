package store

import (
	"context"

	"github.com/aqio/connect/models"
)

// GroupCommits reports how many group commits carried more than one
// event, and how many Postgres batches were written again event by event.
func GroupCommits(s *Store) (multi, rewritten int64) {
	return s.ingests.multi.Load(), s.ingests.rewritten.Load()
}

// CommitOneGroup writes events (each with the outbox rows of its hooks)
// as one group commit of the database's dialect and returns each one's
// outcome.
func CommitOneGroup(ctx context.Context, s *Store, events []*models.Event, hooks [][]string) []error {
	batch := make([]*ingestJob, len(events))
	for i, e := range events {
		j := &ingestJob{ctx: ctx, e: e, webhookIDs: hooks[i], dispatchJSON: "[]", version: -1, now: s.now(), done: make(chan error, 1)}
		e.ReceivedAt, e.Dispatch, e.DispatchedAt = j.now, &j.dispatchJSON, &j.now
		batch[i] = j
	}
	if s.db.Dialect == "postgres" {
		s.commitPostgresGroup(batch)
	} else {
		s.commitGroup(batch)
	}
	errs := make([]error, len(batch))
	for i, j := range batch {
		errs[i] = <-j.done
	}
	return errs
}
