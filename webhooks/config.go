package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aqio/connect/egress"
	"github.com/aqio/connect/eventtypes"
	"github.com/aqio/connect/ids"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/signing"
	"github.com/aqio/connect/store"
)

// InvalidError names the field a request got wrong.
type InvalidError struct {
	Field   string
	Message string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Fields are the writable webhook settings; nil means "not given".
type Fields struct {
	Name              *string         `json:"name"`
	URL               *string         `json:"url"`
	Events            *[]string       `json:"events"`
	EventFilters      json.RawMessage `json:"event_filters"` // object or null; nil: not given
	ContentType       *string         `json:"content_type"`
	TimeoutSeconds    *int            `json:"timeout_seconds"`
	RetryCount        *int            `json:"retry_count"`
	RetryDelaySeconds *int            `json:"retry_delay_seconds"`
	IsActive          *bool           `json:"is_active"`
	FilterExpression  json.RawMessage `json:"filter_expression"` // CEL string or null
	PayloadInclude    json.RawMessage `json:"payload_include"`   // list of dot-paths or null
	PayloadExclude    json.RawMessage `json:"payload_exclude"`   // list of dot-paths or null
	CustomHeaders     json.RawMessage `json:"custom_headers"`    // object or null
	DestinationAuth   json.RawMessage `json:"destination_auth"`  // {type: basic|bearer|header, ...} or null
	// SignatureScheme is hmac-sha256 (default) or ed25519; create only.
	SignatureScheme *string `json:"signature_scheme"`
	// Ordered and MaxDeliveriesPerSecond (an integer or null) pace the
	// endpoint (docs/WEBHOOKS.md, "Ordered delivery and throttling").
	Ordered                *bool           `json:"ordered"`
	MaxDeliveriesPerSecond json.RawMessage `json:"max_deliveries_per_second"`
}

// Bounds on delivery settings.
const (
	MaxTimeoutSeconds    = 60
	MaxRetryCount        = 20
	MaxRetryDelaySeconds = 86400
	// MaxDeliveriesPerSecond bounds a webhook's throttle.
	MaxDeliveriesPerSecond = 1000
)

// validate checks every given field and returns the columns to write.
func (s *Service) validate(ctx context.Context, f Fields) (map[string]any, error) {
	cols := map[string]any{}
	if f.Name != nil {
		n := strings.TrimSpace(*f.Name)
		if n == "" || len(n) > 200 {
			return nil, invalid("name", "must be 1-200 characters")
		}
		cols["name"] = n
	}
	if f.URL != nil {
		if err := egress.CheckURL(ctx, *f.URL, s.AllowPrivate, s.Resolver); err != nil {
			return nil, invalid("url", "%s", err)
		}
		cols["url"] = *f.URL
	}
	if f.Events != nil {
		evs := *f.Events
		if len(evs) == 0 {
			return nil, invalid("events", "must list at least one event type")
		}
		seen := map[string]bool{}
		clean := make([]string, 0, len(evs))
		for i, e := range evs {
			if err := eventtypes.ValidatePattern(e); err != nil {
				return nil, invalid(fmt.Sprintf("events.%d", i), "%s; see GET /api/event-types", err)
			}
			if !seen[e] {
				seen[e] = true
				clean = append(clean, e)
			}
		}
		b, _ := json.Marshal(clean)
		cols["events"] = string(b)
	}
	if f.EventFilters != nil {
		raw := strings.TrimSpace(string(f.EventFilters))
		if raw == "null" || raw == "" {
			cols["event_filters"] = nil
		} else {
			clean, err := validateEventFilters([]byte(raw))
			if err != nil {
				return nil, err
			}
			cols["event_filters"] = clean
		}
	}
	if f.ContentType != nil {
		switch *f.ContentType {
		case "application/json", "application/x-www-form-urlencoded":
			cols["content_type"] = *f.ContentType
		default:
			return nil, invalid("content_type", "must be application/json or application/x-www-form-urlencoded")
		}
	}
	if f.TimeoutSeconds != nil {
		if *f.TimeoutSeconds < 1 || *f.TimeoutSeconds > MaxTimeoutSeconds {
			return nil, invalid("timeout_seconds", "must be between 1 and %d", MaxTimeoutSeconds)
		}
		cols["timeout_seconds"] = *f.TimeoutSeconds
	}
	if f.RetryCount != nil {
		if *f.RetryCount < 0 || *f.RetryCount > MaxRetryCount {
			return nil, invalid("retry_count", "must be between 0 and %d", MaxRetryCount)
		}
		cols["retry_count"] = *f.RetryCount
	}
	if f.RetryDelaySeconds != nil {
		if *f.RetryDelaySeconds < 1 || *f.RetryDelaySeconds > MaxRetryDelaySeconds {
			return nil, invalid("retry_delay_seconds", "must be between 1 and %d", MaxRetryDelaySeconds)
		}
		cols["retry_delay_seconds"] = *f.RetryDelaySeconds
	}
	if f.Ordered != nil {
		cols["ordered"] = *f.Ordered
	}
	if f.MaxDeliveriesPerSecond != nil {
		if string(f.MaxDeliveriesPerSecond) == "null" {
			cols["max_deliveries_per_second"] = nil
		} else {
			var n int
			if err := json.Unmarshal(f.MaxDeliveriesPerSecond, &n); err != nil || n < 1 || n > MaxDeliveriesPerSecond {
				return nil, invalid("max_deliveries_per_second", "must be an integer between 1 and %d, or null (no throttle)", MaxDeliveriesPerSecond)
			}
			cols["max_deliveries_per_second"] = n
		}
	}
	if f.IsActive != nil {
		cols["is_active"] = *f.IsActive
	}
	if f.SignatureScheme != nil {
		switch *f.SignatureScheme {
		case signing.SchemeHMAC, signing.SchemeEd25519:
			cols["signature_scheme"] = *f.SignatureScheme
		default:
			return nil, invalid("signature_scheme", "must be hmac-sha256 or ed25519")
		}
	}
	if err := s.validateCustomization(f, cols); err != nil {
		return nil, err
	}
	if f.DestinationAuth != nil {
		if _, _, err := destinationAuthColumns(f.DestinationAuth); err != nil {
			return nil, err
		}
		cols["destination_auth"] = f.DestinationAuth
	}
	return cols, nil
}

// Created is a new webhook with its secret, shown once (hmac-sha256), or
// with its public key (ed25519: the private key is never shown).
type Created struct {
	Webhook models.Webhook
	Secret  string
}

// newSigningKey makes a signing key of the scheme: the plaintext to
// encrypt, the secret to show once ("" for ed25519) and the public key
// (nil for hmac-sha256).
func newSigningKey(scheme string) (key, shown string, public *string, err error) {
	if scheme == signing.SchemeEd25519 {
		priv, pub, err := signing.NewEd25519Key()
		if err != nil {
			return "", "", nil, err
		}
		return priv, "", &pub, nil
	}
	secret, err := signing.NewSecret(32)
	return secret, secret, nil, err
}

// Create validates f, generates and encrypts a signing secret, and stores
// the webhook.
func (s *Service) Create(ctx context.Context, orgID string, f Fields) (Created, error) {
	if f.Name == nil {
		return Created{}, invalid("name", "is required")
	}
	if f.URL == nil {
		return Created{}, invalid("url", "is required")
	}
	if f.Events == nil {
		return Created{}, invalid("events", "is required")
	}
	cols, err := s.validate(ctx, f)
	if err != nil {
		return Created{}, err
	}
	w := models.Webhook{
		ID:                ids.New("wh"),
		OrganizationID:    orgID,
		ContentType:       "application/json",
		TimeoutSeconds:    30,
		RetryCount:        3,
		RetryDelaySeconds: 60,
		IsActive:          true,
	}
	w.Name = cols["name"].(string)
	w.URL = cols["url"].(string)
	w.Events = cols["events"].(string)
	if v, ok := cols["event_filters"].(string); ok {
		w.EventFilters = &v
	}
	if v, ok := cols["content_type"].(string); ok {
		w.ContentType = v
	}
	if v, ok := cols["timeout_seconds"].(int); ok {
		w.TimeoutSeconds = v
	}
	if v, ok := cols["retry_count"].(int); ok {
		w.RetryCount = v
	}
	if v, ok := cols["retry_delay_seconds"].(int); ok {
		w.RetryDelaySeconds = v
	}
	if v, ok := cols["ordered"].(bool); ok {
		w.Ordered = v
	}
	if v, ok := cols["max_deliveries_per_second"].(int); ok {
		w.MaxDeliveriesPerSecond = &v
	}
	if v, ok := cols["is_active"].(bool); ok {
		w.IsActive = v
	}
	applyCustomization(cols, &w)
	w.SignatureScheme = signing.SchemeHMAC
	if v, ok := cols["signature_scheme"].(string); ok {
		w.SignatureScheme = v
	}
	key, secret, public, err := newSigningKey(w.SignatureScheme)
	if err != nil {
		return Created{}, err
	}
	w.PublicKey = public
	if w.Secret, err = s.Ring.Encrypt([]byte(key), []byte(w.ID)); err != nil {
		return Created{}, err
	}
	if err := s.applyDestinationAuth(w.ID, cols); err != nil {
		return Created{}, err
	}
	if v, ok := cols["destination_auth"].(string); ok {
		hint := cols["destination_auth_hint"].(string)
		w.DestinationAuth, w.DestinationAuthHint = &v, &hint
	}
	if err := s.Store.CreateWebhook(ctx, &w); err != nil {
		return Created{}, err
	}
	return Created{Webhook: w, Secret: secret}, nil
}

// Updated is a changed webhook and what the change did to its deliveries.
type Updated struct {
	Webhook models.Webhook
	// CancelledPending counts the open delivery runs cancelled because the
	// webhook was disabled.
	CancelledPending int
	// Reenabled is set when the change turned a disabled webhook back on:
	// it tells how many messages ended undelivered while it was off.
	Reenabled *Reenabled
}

// Reenabled describes what a re-enabled webhook is owed (docs/WEBHOOKS.md,
// "Re-enabling"): every message of [Since, Until) that was not delivered
// because of the outage or the disable — final attempt failed or
// cancelled, or skipped while disabled — and never delivered since.
// Recover with exactly Since, Until and Statuses delivers those.
type Reenabled struct {
	DisabledAt     *time.Time
	DisabledReason *string
	Undelivered    int64
	Since, Until   time.Time
	Statuses       []string
}

// OwedStatuses are the recover statuses of what a re-enabled webhook is owed.
var OwedStatuses = []string{models.DeliveryFailed, models.DeliveryCancelled, store.SkippedDisabled}

// Update applies the given fields. Disabling a webhook cancels its pending
// delivery runs; re-enabling it clears the disabled reason and reports what
// was not delivered meanwhile (recover it with Recover).
func (s *Service) Update(ctx context.Context, orgID, id string, f Fields) (Updated, error) {
	if f.SignatureScheme != nil {
		return Updated{}, invalid("signature_scheme", "is chosen when the webhook is created; create a new webhook to change it")
	}
	cols, err := s.validate(ctx, f)
	if err != nil {
		return Updated{}, err
	}
	if len(cols) == 0 {
		return Updated{}, invalid("body", "give at least one field to change")
	}
	before, err := s.Store.GetWebhook(ctx, orgID, id)
	if err != nil {
		return Updated{}, err
	}
	if active, ok := cols["is_active"].(bool); ok && active != before.IsActive {
		if active {
			cols["disabled_reason"] = nil
			cols["disabled_at"] = nil
		} else {
			cols["disabled_reason"] = "disabled through the API"
			cols["disabled_at"] = s.now()
		}
	}
	if err := s.applyDestinationAuth(id, cols); err != nil {
		return Updated{}, err
	}
	w, err := s.Store.UpdateWebhook(ctx, orgID, id, cols)
	if err != nil {
		return Updated{}, err
	}
	out := Updated{Webhook: w}
	switch {
	case before.IsActive && !w.IsActive:
		if out.CancelledPending, err = s.CancelPending(ctx, id); err != nil {
			return out, err
		}
	case !before.IsActive && w.IsActive:
		until := w.UpdatedAt.UTC() // the re-enable: what came after it is delivered as usual
		disabledAt := before.CreatedAt
		if before.DisabledAt != nil {
			disabledAt = *before.DisabledAt
		}
		since, err := s.Store.OwedSince(ctx, id, disabledAt)
		if err != nil {
			return out, err
		}
		if !since.Before(until) {
			since = until.Add(-time.Microsecond)
		}
		n, err := s.Store.CountRecoverable(ctx, orgID, id, since, until, OwedStatuses)
		if err != nil {
			return out, err
		}
		out.Reenabled = &Reenabled{DisabledAt: before.DisabledAt, DisabledReason: before.DisabledReason, Undelivered: n,
			Since: since, Until: until, Statuses: OwedStatuses}
	}
	return out, nil
}

// Delete removes a webhook after cancelling its pending delivery runs.
func (s *Service) Delete(ctx context.Context, orgID, id string) error {
	if _, err := s.Store.GetWebhook(ctx, orgID, id); err != nil {
		return err
	}
	if _, err := s.CancelPending(ctx, id); err != nil {
		return err
	}
	return s.Store.DeleteWebhook(ctx, orgID, id)
}

// ErrNoSharedSecret is returned by Secret for an ed25519 webhook: its
// private key is never returned; receivers verify with its public key.
var ErrNoSharedSecret = errors.New("webhook signs with ed25519 and has no shared secret")

// Secret decrypts a webhook's signing secret (hmac-sha256 webhooks only).
func (s *Service) Secret(ctx context.Context, orgID, id string) (string, error) {
	w, err := s.Store.GetWebhook(ctx, orgID, id)
	if err != nil {
		return "", err
	}
	if w.SignatureScheme == signing.SchemeEd25519 {
		return "", ErrNoSharedSecret
	}
	plain, err := s.Ring.Decrypt(w.Secret, []byte(w.ID))
	if err != nil {
		return "", fmt.Errorf("decrypt secret: %w", err)
	}
	return string(plain), nil
}

// Events decodes a webhook's subscription list.
func Events(w models.Webhook) []string {
	var evs []string
	_ = json.Unmarshal([]byte(w.Events), &evs)
	return evs
}

// ErrInvalid is matched by errors.As on *InvalidError; kept for errors.Is users.
var ErrInvalid = errors.New("invalid")

func pathEscape(s string) string { return url.PathEscape(s) }
