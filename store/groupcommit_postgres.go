package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// commitPostgresGroup writes a group of events on Postgres: one alone
// with pgIngest, several as one pipelined batch (postgresGroup). A batch
// that fails as a whole (Postgres rolled it back: nothing of it is
// written) is written again event by event, concurrently, so an event
// that fails fails alone.
func (s *Store) commitPostgresGroup(batch []*ingestJob) {
	if len(batch) == 1 {
		batch[0].done <- s.writePostgres(batch[0])
		return
	}
	results, err := s.postgresGroup(batch)
	if err == nil {
		for i, j := range batch {
			j.done <- results[i]
		}
		return
	}
	s.ingests.rewritten.Add(1)
	var wg sync.WaitGroup
	for _, j := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j.done <- s.writePostgres(j)
		}()
	}
	wg.Wait()
}

// postgresGroup sends one pgIngest per job in one batch: pgx pipelines
// them (one round trip) and Postgres runs them as one implicit
// transaction, committed at the batch's end (one commit, one WAL flush).
// Each statement checks its own config version and skips its own
// duplicate, so a job's answer is its own; an error of any statement
// rolls back the whole batch and is returned.
func (s *Store) postgresGroup(batch []*ingestJob) ([]error, error) {
	ctx := context.Background() // the batch is everyone's: one caller's cancel must not end it
	conn, err := s.db.SQL().Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	results := make([]error, len(batch))
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("group commit: driver connection is %T, not pgx", dc)
		}
		b := &pgx.Batch{}
		for _, j := range batch {
			b.Queue(pgIngest, j.pgArgs()...)
		}
		br := c.Conn().SendBatch(ctx, b)
		for i, j := range batch {
			var current, inserted bool
			if err := br.QueryRow().Scan(&current, &inserted); err != nil {
				_ = br.Close()
				return err
			}
			results[i] = j.pgResult(nil, current, inserted)
		}
		return br.Close() // the commit's own error, if any
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}
