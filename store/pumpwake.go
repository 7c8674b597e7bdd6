package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// OutboxChannel is the Postgres notification channel on which a process
// that committed outbox rows wakes the pumps of other processes.
const OutboxChannel = "aqio_outbox"

// outboxHub wakes the pumps of this process when outbox rows were
// committed (in this process, or in another one that sent a NOTIFY). A
// pump waits on its webhook's channel, which a notification naming that
// webhook (or every webhook) closes: a commit wakes only the pumps of the
// webhooks it wrote rows for, not every pump of the process.
var outboxHub = struct {
	mu sync.Mutex
	// waiting holds the channel of each webhook a pump waits for.
	waiting map[string]chan struct{}
	// local counts the live pump owners of this process; ended holds
	// when its pumps that ended did (kept for a lease period).
	local map[string]int
	ended map[string]time.Time
}{waiting: map[string]chan struct{}{}, local: map[string]int{}, ended: map[string]time.Time{}}

// endedKept is how long the hub remembers a pump of this process ended
// (longer than a lease lives).
const endedKept = time.Minute

// NotifyOutbox wakes every pump of this process waiting for outbox rows
// (a NOTIFY from another process names no webhook).
func NotifyOutbox() {
	outboxHub.mu.Lock()
	defer outboxHub.mu.Unlock()
	for id, c := range outboxHub.waiting {
		close(c)
		delete(outboxHub.waiting, id)
	}
}

// NotifyOutboxFor wakes the pumps of these webhooks (this process
// committed outbox rows for them).
func NotifyOutboxFor(webhookIDs []string) {
	outboxHub.mu.Lock()
	defer outboxHub.mu.Unlock()
	for _, id := range webhookIDs {
		if c, ok := outboxHub.waiting[id]; ok {
			close(c)
			delete(outboxHub.waiting, id)
		}
	}
}

// OutboxWake is closed by the next notification for webhookID (or for
// every webhook). Ask before claiming: a commit after the claim then
// wakes the wait that follows it.
func OutboxWake(webhookID string) <-chan struct{} {
	outboxHub.mu.Lock()
	defer outboxHub.mu.Unlock()
	c, ok := outboxHub.waiting[webhookID]
	if !ok {
		c = make(chan struct{})
		outboxHub.waiting[webhookID] = c
	}
	return c
}

// LocalPump records that this process runs the pump holding owner's lease
// (until the returned func is called): a dispatcher needs no NOTIFY for it.
func LocalPump(owner string) (done func()) {
	outboxHub.mu.Lock()
	outboxHub.local[owner]++
	outboxHub.mu.Unlock()
	return func() {
		outboxHub.mu.Lock()
		defer outboxHub.mu.Unlock()
		if outboxHub.local[owner]--; outboxHub.local[owner] <= 0 {
			delete(outboxHub.local, owner)
			now := time.Now()
			for o, at := range outboxHub.ended {
				if now.Sub(at) > endedKept {
					delete(outboxHub.ended, o)
				}
			}
			outboxHub.ended[owner] = now
		}
	}
}

// PumpEndedHere reports whether owner's pump ran in this process and
// ended (within the last minute): its lease, if still read as live, is
// no pump's any more.
func PumpEndedHere(owner string) bool {
	outboxHub.mu.Lock()
	defer outboxHub.mu.Unlock()
	_, ok := outboxHub.ended[owner]
	return ok
}

// IsLocalPump reports whether this process runs owner's pump.
func IsLocalPump(owner string) bool {
	outboxHub.mu.Lock()
	defer outboxHub.mu.Unlock()
	return outboxHub.local[owner] > 0
}

// NotifyPumps sends one NOTIFY on OutboxChannel (Postgres; a no-op on
// SQLite, whose processes share no notification channel: their pumps poll).
func (s *Store) NotifyPumps(ctx context.Context) error {
	if s.db.Dialect != "postgres" {
		return nil
	}
	return s.db.WithContext(ctx).Exec("SELECT pg_notify(?, '')", OutboxChannel).Error
}

// listening is the Store whose connection LISTENs (one per process).
var listening struct {
	mu sync.Mutex
	s  *Store
}

// ListenOutbox (Postgres) starts, once per process, a connection that
// LISTENs on OutboxChannel and wakes this process's pumps on each
// notification; it reconnects after an error, and ends when its
// database is closed (a later call starts it again). A no-op on SQLite.
func (s *Store) ListenOutbox(logger *slog.Logger) {
	if s.db.Dialect != "postgres" {
		return
	}
	listening.mu.Lock()
	defer listening.mu.Unlock()
	if listening.s != nil {
		return
	}
	listening.s = s
	go func() {
		for {
			err := s.listen(context.Background())
			if errors.Is(err, sql.ErrConnDone) || (err != nil && strings.Contains(err.Error(), "database is closed")) {
				listening.mu.Lock()
				listening.s = nil
				listening.mu.Unlock()
				return
			}
			logger.Warn("outbox notifications: listen ended; pumps poll until it is back", "err", err)
			time.Sleep(time.Second)
		}
	}()
}

func (s *Store) listen(ctx context.Context) error {
	sqlDB, err := s.db.DB.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("listen: driver connection is %T, not pgx", dc)
		}
		pc := c.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+OutboxChannel); err != nil {
			return err
		}
		NotifyOutbox() // rows may have been committed while nobody listened
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				return err
			}
			NotifyOutbox()
		}
	})
}
