package activities

import (
	"context"
	"time"

	"github.com/aqio/connect/listen"
)

// Listen holds the activities of `aqio-connect listen` sessions.
type Listen struct {
	Store *listen.Store
}

// ListenExpireInput names a listen session.
type ListenExpireInput struct {
	SessionID string
}

// ListenExpireResult says whether the session is gone (ended by the CLI
// or by its webhook's deletion), was expired by this call, or when to
// look again.
type ListenExpireResult struct {
	Gone, Expired bool
	ExpiresAt     time.Time
}

// ExpireListenSession deletes the session's webhook once the session's
// expiry has passed (its CLI went away without ending it).
func (l *Listen) ExpireListenSession(ctx context.Context, in ListenExpireInput) (ListenExpireResult, error) {
	r, err := l.Store.ExpireIfIdle(ctx, in.SessionID)
	return ListenExpireResult{Gone: r.Gone, Expired: r.Expired, ExpiresAt: r.ExpiresAt}, err
}
