// Package audit is the append-only log of security-relevant actions. Any
// package can append with Record; nothing updates or deletes entries.
package audit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/aqio/connect/ids"
	"github.com/aqio/connect/models"
)

// Actions recorded by this service. Other packages may add their own,
// named "<resource>.<verb>".
const (
	APIKeyCreated            = "api_key.created"
	APIKeyUpdated            = "api_key.updated"
	APIKeyScopesChanged      = "api_key.scopes_changed"
	APIKeyRotated            = "api_key.rotated"
	APIKeyRevoked            = "api_key.revoked"
	APIKeyDeleted            = "api_key.deleted"
	APIKeyVerificationFailed = "api_key.verification_failed"
	WebhookSecretRotated     = "webhook.secret_rotated"
	IntegrationConnected     = "integration.connected"
	IntegrationDisconnected  = "integration.disconnected"
	// Integration permission auditing (issue 13): a connection made
	// again over an existing one, a change of name, settings or sync, and
	// support staff re-running a failed push or sync.
	IntegrationReconnected     = "integration.reconnected"
	IntegrationSettingsChanged = "integration.settings_changed"
	IntegrationPushRetried     = "integration.push_retried"
	IntegrationSyncRetried     = "integration.sync_retried"
	// Re-runs of webhook deliveries (support staff, the console).
	WebhookRedelivered     = "webhook.redelivered"
	WebhookRecoveryStarted = "webhook.recovery_started"
)

// ActorOAuthCallback is the actor type of an OAuth connect: the entry is
// written when the user's browser comes back from the provider's consent
// screen, so its actor id is the user the connection is for (empty for an
// organization-wide one) and its address and request id are the
// callback's; the authorize call's actor, address and request id are in
// the entry's details ("authorize").
const ActorOAuthCallback = "oauth_callback"

// Scopes splits the scopes a provider granted (the token response's
// scope, space- or comma-separated) into a sorted list without repeats.
func Scopes(granted *string) []string {
	if granted == nil {
		return []string{}
	}
	f := strings.FieldsFunc(*granted, func(r rune) bool { return r == ' ' || r == ',' })
	slices.Sort(f)
	return slices.Compact(f)
}

// Actor is who asked for an action: how they authenticated, their user or
// API key id, their address and the request id. The API puts it in each
// request's context (WithActor) so services record it without taking it
// as an argument.
type Actor struct {
	Type      string // "service_token", "user_jwt" or "api_key"
	ID        string // user id or API key id
	IP        string
	RequestID string
}

type actorKey struct{}

// WithActor returns ctx carrying the actor.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor of ctx (zero outside a request: "system").
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// By sets the entry's actor, address and request id.
func (e Entry) By(a Actor) Entry {
	e.ActorType, e.ActorID, e.SourceIP, e.RequestID = a.Type, a.ID, a.IP, a.RequestID
	return e
}

// Entry is what a caller records. Empty strings are stored as NULL.
type Entry struct {
	OrganizationID string
	Action         string
	Outcome        string // "success" (default) or "failure"
	ActorType      string // "service_token", "user_jwt", "api_key" or "system"
	ActorID        string // user id or API key id
	TargetType     string // e.g. "api_key", "webhook", "integration"
	TargetID       string
	SourceIP       string
	RequestID      string
	Details        map[string]any // small JSON object; never secrets
	OccurredAt     time.Time      // zero means now
}

// Record appends one entry. db may be a transaction, so an action and its
// audit entry commit together.
func Record(ctx context.Context, db *gorm.DB, e Entry) error {
	if e.Action == "" {
		return errors.New("audit: action is required")
	}
	if e.ActorType == "" {
		e.ActorType = "system"
	}
	if e.Outcome == "" {
		e.Outcome = "success"
	}
	if e.OccurredAt.IsZero() {
		e.OccurredAt = time.Now()
	}
	row := models.AuditEntry{
		ID:             ids.New("aud"),
		OrganizationID: nullable(e.OrganizationID),
		OccurredAt:     e.OccurredAt.UTC(),
		Action:         e.Action,
		Outcome:        e.Outcome,
		ActorType:      e.ActorType,
		ActorID:        nullable(e.ActorID),
		TargetType:     nullable(e.TargetType),
		TargetID:       nullable(e.TargetID),
		SourceIP:       nullable(e.SourceIP),
		RequestID:      nullable(e.RequestID),
	}
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return fmt.Errorf("audit details: %w", err)
		}
		s := string(b)
		row.Details = &s
	}
	if err := db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("record audit %s: %w", e.Action, err)
	}
	return nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Filter narrows a listing of one organization's entries.
type Filter struct {
	OrganizationID string
	Action         string
	ActorID        string
	TargetID       string
	Outcome        string
	From, To       time.Time // occurred_at bounds (To exclusive); zero = open
	Limit          int
	Cursor         string
}

// ErrBadCursor is a cursor this service did not issue.
var ErrBadCursor = errors.New("invalid cursor")

// List returns a page of entries, newest first, and the next cursor ("" at the end).
func List(ctx context.Context, db *gorm.DB, f Filter) ([]models.AuditEntry, string, error) {
	q := db.WithContext(ctx).Where("organization_id = ?", f.OrganizationID)
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.ActorID != "" {
		q = q.Where("actor_id = ?", f.ActorID)
	}
	if f.TargetID != "" {
		q = q.Where("target_id = ?", f.TargetID)
	}
	if f.Outcome != "" {
		q = q.Where("outcome = ?", f.Outcome)
	}
	if !f.From.IsZero() {
		q = q.Where("occurred_at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("occurred_at < ?", f.To.UTC())
	}
	if f.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		if err != nil || len(raw) < 5 || string(raw[:4]) != "aud_" {
			return nil, "", ErrBadCursor
		}
		q = q.Where("id < ?", string(raw))
	}
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	var rows []models.AuditEntry
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list audit log: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(rows[len(rows)-1].ID))
	}
	return rows, next, nil
}

// Sampler bounds how many entries of a noisy kind (failed verifications)
// are written per key per minute, so an attacker hammering the API with
// bad keys cannot flood the log. Per process: with N API instances at most
// N*PerMinute entries per key per minute are written; the rest are counted
// and reported in the next sampled entry's details ("suppressed").
type Sampler struct {
	PerMinute int

	mu         sync.Mutex
	minute     int64
	counts     map[string]int
	suppressed map[string]int
}

// Allow reports whether an entry for key may be written now, and how many
// were suppressed for key since the last one written.
func (s *Sampler) Allow(key string, now time.Time) (bool, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := now.Unix() / 60
	if m != s.minute || s.counts == nil {
		s.minute = m
		s.counts = map[string]int{}
		if s.suppressed == nil || len(s.suppressed) > 10000 {
			s.suppressed = map[string]int{}
		}
	}
	if s.counts[key] >= s.PerMinute {
		s.suppressed[key]++
		return false, 0
	}
	s.counts[key]++
	n := s.suppressed[key]
	delete(s.suppressed, key)
	return true, n
}
