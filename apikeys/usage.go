package apikeys

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/aqio/connect/store"
)

// UsageRecorder counts verifications in memory and adds them to the
// database every Interval (one upsert per key and minute instead of one
// write per request). Rate limiting does not depend on it: limits are
// counted in the database on every request. A crash loses at most one
// interval of usage statistics.
type UsageRecorder struct {
	Store    *store.Store
	Interval time.Duration
	Logger   *slog.Logger

	mu      sync.Mutex
	pending map[usageKey]*store.UsageDelta
	stop    chan struct{}
	done    chan struct{}
}

type usageKey struct {
	keyID  string
	minute int64
}

// Add counts one verification of a key.
func (u *UsageRecorder) Add(keyID, orgID string, at time.Time, allowed bool) {
	at = at.UTC()
	k := usageKey{keyID: keyID, minute: at.Unix() / 60}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.pending == nil {
		u.pending = map[usageKey]*store.UsageDelta{}
	}
	d := u.pending[k]
	if d == nil {
		d = &store.UsageDelta{APIKeyID: keyID, OrganizationID: orgID, Minute: at.Truncate(time.Minute)}
		u.pending[k] = d
	}
	if allowed {
		d.Allowed++
		if at.After(d.LastUsedAt) {
			d.LastUsedAt = at
		}
	} else {
		d.Denied++
	}
}

// Flush writes what was counted so far.
func (u *UsageRecorder) Flush(ctx context.Context) error {
	u.mu.Lock()
	batch := make([]store.UsageDelta, 0, len(u.pending))
	for _, d := range u.pending {
		batch = append(batch, *d)
	}
	u.pending = nil
	u.mu.Unlock()
	if err := u.Store.AddUsage(ctx, batch); err != nil {
		// Put the counts back so the next flush retries them.
		u.mu.Lock()
		for _, d := range batch {
			k := usageKey{keyID: d.APIKeyID, minute: d.Minute.Unix() / 60}
			if u.pending == nil {
				u.pending = map[usageKey]*store.UsageDelta{}
			}
			if p := u.pending[k]; p != nil {
				p.Allowed += d.Allowed
				p.Denied += d.Denied
				if d.LastUsedAt.After(p.LastUsedAt) {
					p.LastUsedAt = d.LastUsedAt
				}
			} else {
				dd := d
				u.pending[k] = &dd
			}
		}
		u.mu.Unlock()
		return err
	}
	return nil
}

// Start flushes every Interval until Close.
func (u *UsageRecorder) Start() {
	if u.Interval <= 0 {
		u.Interval = time.Second
	}
	u.stop, u.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(u.done)
		t := time.NewTicker(u.Interval)
		defer t.Stop()
		for {
			select {
			case <-u.stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if err := u.Flush(ctx); err != nil && u.Logger != nil {
					u.Logger.Warn("flush api key usage", "err", err)
				}
				cancel()
			}
		}
	}()
}

// Close stops the loop and writes what is left.
func (u *UsageRecorder) Close(ctx context.Context) error {
	if u.stop != nil {
		close(u.stop)
		<-u.done
		u.stop = nil
	}
	return u.Flush(ctx)
}
