// Package listen carries webhook deliveries to `aqio-connect listen`
// sessions: temporary endpoints whose destination is a stream a developer's
// CLI holds open to the API, instead of a URL.
//
// A session owns an ordinary webhook whose URL is aqio-listen://<session
// id>, a scheme egress.CheckURL refuses, so no user-supplied webhook can
// name it. The delivery activity builds and signs the request as for any
// webhook and sends it through its HTTP client; Transport, wrapped around
// that client's SSRF-safe transport, takes requests for this scheme and
// hands them to the session through the database (a listen_messages row),
// so the worker and the API that holds the stream may be different
// processes, or several replicas. The API's stream handler writes the row
// to the stream, the CLI forwards it to its local URL and posts back the
// local receiver's response, which becomes the attempt's response. Nothing
// here dials a network address.
package listen

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/aqio/connect/models"
)

// Scheme is the URL scheme of a listen session's webhook.
const Scheme = "aqio-listen"

// URL is the webhook URL of session id.
func URL(sessionID string) string { return Scheme + "://" + sessionID }

// IsURL reports whether a webhook URL names a listen session.
func IsURL(u string) bool { return strings.HasPrefix(u, Scheme+"://") }

// Session lifetimes.
const (
	// DefaultTTL is how long a session outlives its last sign of a CLI.
	DefaultTTL = 60 * time.Second
	MinTTL     = 5 * time.Second
	MaxTTL     = time.Hour
	// MaxHeartbeat is the longest interval between two heartbeats of an
	// open stream (a third of the TTL when that is shorter).
	MaxHeartbeat = 5 * time.Second
)

// Heartbeat is how often an open stream of a session with this TTL
// refreshes it and pings the CLI.
func Heartbeat(ttl time.Duration) time.Duration { return min(MaxHeartbeat, ttl/3) }

// ErrNotFound is returned for a session or message that does not exist
// (or belongs to another organization).
var ErrNotFound = errors.New("listen: not found")

// Store reads and writes sessions and messages.
type Store struct {
	DB  *gorm.DB
	Now func() time.Time
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// CreateSession inserts a session (its webhook must exist).
func (s *Store) CreateSession(ctx context.Context, tx *gorm.DB, ls *models.ListenSession) error {
	if tx == nil {
		tx = s.DB
	}
	ls.CreatedAt = s.now()
	ls.ExpiresAt = ls.CreatedAt.Add(time.Duration(ls.TTLSeconds) * time.Second)
	if err := tx.WithContext(ctx).Create(ls).Error; err != nil {
		return fmt.Errorf("create listen session: %w", err)
	}
	return nil
}

// Session loads a session of the organization.
func (s *Store) Session(ctx context.Context, orgID, id string) (models.ListenSession, error) {
	var ls models.ListenSession
	err := s.DB.WithContext(ctx).Where("organization_id = ? AND id = ?", orgID, id).Take(&ls).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ls, ErrNotFound
	}
	return ls, err
}

func (s *Store) sessionByID(ctx context.Context, id string) (models.ListenSession, error) {
	var ls models.ListenSession
	err := s.DB.WithContext(ctx).Where("id = ?", id).Take(&ls).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ls, ErrNotFound
	}
	return ls, err
}

// Touch records that a stream of the session is open (connected) or has
// just closed, and moves its expiry a TTL past now.
func (s *Store) Touch(ctx context.Context, id string, connected bool) error {
	ls, err := s.sessionByID(ctx, id)
	if err != nil {
		return err
	}
	now := s.now()
	res := s.DB.WithContext(ctx).Model(&models.ListenSession{}).Where("id = ?", id).Updates(map[string]any{
		"connected": connected, "last_seen_at": now,
		"expires_at": now.Add(time.Duration(ls.TTLSeconds) * time.Second),
	})
	if res.Error != nil {
		return fmt.Errorf("touch listen session %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// connectedNow reports whether a CLI's stream is open: the flag is set and
// the last heartbeat is recent (an API process that died leaves the flag
// set but stops the heartbeats).
func (s *Store) connectedNow(ls models.ListenSession) bool {
	if !ls.Connected || ls.LastSeenAt == nil {
		return false
	}
	ttl := time.Duration(ls.TTLSeconds) * time.Second
	return s.now().Sub(*ls.LastSeenAt) <= 2*Heartbeat(ttl)+time.Second
}

// ExpireResult is what ExpireIfIdle found.
type ExpireResult struct {
	// Gone: the session no longer exists (ended by the CLI, or its webhook
	// deleted). Expired: this call deleted it.
	Gone, Expired bool
	// ExpiresAt is when to look again (neither Gone nor Expired).
	ExpiresAt time.Time
}

// ExpireIfIdle deletes the session's webhook (and with it the session and
// its messages) when the session's expiry has passed.
func (s *Store) ExpireIfIdle(ctx context.Context, id string) (ExpireResult, error) {
	var out ExpireResult
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var ls models.ListenSession
		err := tx.Where("id = ?", id).Take(&ls).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			out.Gone = true
			return nil
		}
		if err != nil {
			return err
		}
		if s.now().Before(ls.ExpiresAt) {
			out.ExpiresAt = ls.ExpiresAt
			return nil
		}
		if err := tx.Where("session_id = ?", id).Delete(&models.ListenMessage{}).Error; err != nil {
			return err
		}
		if err := tx.Where("id = ?", id).Delete(&models.ListenSession{}).Error; err != nil {
			return err
		}
		if err := tx.Where("organization_id = ? AND id = ?", ls.OrganizationID, ls.WebhookID).Delete(&models.Webhook{}).Error; err != nil {
			return err
		}
		out.Expired = true
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("expire listen session %s: %w", id, err)
	}
	return out, nil
}

// Claim marks the session's pending messages sent and returns them, oldest
// first. Two streams of one session never get the same message.
func (s *Store) Claim(ctx context.Context, sessionID string) ([]models.ListenMessage, error) {
	var pending []models.ListenMessage
	if err := s.DB.WithContext(ctx).Where("session_id = ? AND state = ?", sessionID, models.ListenPending).
		Order("created_at, id").Limit(100).Find(&pending).Error; err != nil {
		return nil, fmt.Errorf("load listen messages: %w", err)
	}
	out := pending[:0]
	for _, m := range pending {
		res := s.DB.WithContext(ctx).Model(&models.ListenMessage{}).
			Where("id = ? AND state = ?", m.ID, models.ListenPending).Update("state", models.ListenSent)
		if res.Error != nil {
			return out, fmt.Errorf("claim listen message %s: %w", m.ID, res.Error)
		}
		if res.RowsAffected == 1 {
			m.State = models.ListenSent
			out = append(out, m)
		}
	}
	return out, nil
}

// Answer is the CLI's report of what its local receiver answered: a
// status with headers and body, or Error when it could not be reached.
type Answer struct {
	Status  int
	Headers string // JSON object of header name to values
	Body    string
	Error   string
}

// RecordAnswer stores the CLI's answer to a message of the session. A
// message the attempt stopped waiting for (it is gone) is ErrNotFound.
func (s *Store) RecordAnswer(ctx context.Context, sessionID, messageID string, a Answer) error {
	cols := map[string]any{"state": models.ListenAnswered, "answered_at": s.now()}
	if a.Error != "" {
		cols["response_error"] = a.Error
	} else {
		cols["response_status"] = a.Status
		cols["response_headers"] = a.Headers
		cols["response_body"] = a.Body
	}
	res := s.DB.WithContext(ctx).Model(&models.ListenMessage{}).
		Where("id = ? AND session_id = ? AND state <> ?", messageID, sessionID, models.ListenAnswered).Updates(cols)
	if res.Error != nil {
		return fmt.Errorf("record listen answer %s: %w", messageID, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}
