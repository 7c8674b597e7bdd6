package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aqio/connect/egress"
	"github.com/aqio/connect/eventtypes"
	"github.com/aqio/connect/ids"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/signing"
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
	Name              *string          `json:"name"`
	URL               *string          `json:"url"`
	Events            *[]string        `json:"events"`
	EventFilters      *json.RawMessage `json:"event_filters"`
	ContentType       *string          `json:"content_type"`
	TimeoutSeconds    *int             `json:"timeout_seconds"`
	RetryCount        *int             `json:"retry_count"`
	RetryDelaySeconds *int             `json:"retry_delay_seconds"`
	IsActive          *bool            `json:"is_active"`
}

// Bounds on delivery settings.
const (
	MaxTimeoutSeconds    = 60
	MaxRetryCount        = 20
	MaxRetryDelaySeconds = 86400
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
		raw := strings.TrimSpace(string(*f.EventFilters))
		if raw == "null" || raw == "" {
			cols["event_filters"] = nil
		} else {
			var obj map[string]any
			if err := json.Unmarshal([]byte(raw), &obj); err != nil {
				return nil, invalid("event_filters", "must be a JSON object")
			}
			b, _ := json.Marshal(obj)
			cols["event_filters"] = string(b)
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
	if f.IsActive != nil {
		cols["is_active"] = *f.IsActive
	}
	return cols, nil
}

// Created is a new webhook with its secret, shown once.
type Created struct {
	Webhook models.Webhook
	Secret  string
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
	if v, ok := cols["is_active"].(bool); ok {
		w.IsActive = v
	}
	secret, err := signing.NewSecret(32)
	if err != nil {
		return Created{}, err
	}
	if w.Secret, err = s.Ring.Encrypt([]byte(secret), []byte(w.ID)); err != nil {
		return Created{}, err
	}
	if err := s.Store.CreateWebhook(ctx, &w); err != nil {
		return Created{}, err
	}
	return Created{Webhook: w, Secret: secret}, nil
}

// Update applies the given fields. Re-enabling a webhook clears its
// disabled reason.
func (s *Service) Update(ctx context.Context, orgID, id string, f Fields) (models.Webhook, error) {
	cols, err := s.validate(ctx, f)
	if err != nil {
		return models.Webhook{}, err
	}
	if len(cols) == 0 {
		return models.Webhook{}, invalid("body", "give at least one field to change")
	}
	if active, ok := cols["is_active"].(bool); ok {
		if active {
			cols["disabled_reason"] = nil
			cols["disabled_at"] = nil
		} else {
			cols["disabled_reason"] = "disabled through the API"
			cols["disabled_at"] = s.now()
		}
	}
	return s.Store.UpdateWebhook(ctx, orgID, id, cols)
}

// Secret decrypts a webhook's signing secret.
func (s *Service) Secret(ctx context.Context, orgID, id string) (string, error) {
	w, err := s.Store.GetWebhook(ctx, orgID, id)
	if err != nil {
		return "", err
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
