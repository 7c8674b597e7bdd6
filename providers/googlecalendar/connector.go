package googlecalendar

import (
	"encoding/json"
	"net/http"

	"github.com/aqio/connect/providers"
)

// Connector is the Google Calendar (with Google Meet) connector.
type Connector struct{}

// New returns the Google Calendar connector.
func New() *Connector { return &Connector{} }

// Info is Google Calendar's catalog entry.
func (*Connector) Info() providers.Info {
	return providers.Info{
		Type: "google_calendar", DisplayName: "Google Calendar (with Google Meet)", Auth: providers.AuthOAuth2, Available: true,
		APIBaseURL: "https://www.googleapis.com/calendar/v3/",
		OAuth: &providers.OAuthInfo{
			AuthURL: "https://accounts.google.com/o/oauth2/v2/auth", TokenURL: "https://oauth2.googleapis.com/token",
			RevokeURL: "https://oauth2.googleapis.com/revoke", ClientAuth: providers.ClientAuthBody,
			PKCE: true, TokensExpire: true,
			DefaultScopes: []string{"https://www.googleapis.com/auth/calendar.events"}, ScopeSeparator: " ",
			AuthParams: map[string]string{"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"},
		},
	}
}

// ParseSettings decodes, defaults and validates Google Calendar settings.
func (*Connector) ParseSettings(raw []byte) (any, error) { return ParseSettings(raw) }

var pushEvents = []string{"event.created", "event.updated", "event.published", "event.cancelled",
	"registration.created", "registration.confirmed", "registration.cancelled"}

// Actions are Google Calendar's pushes by event type.
func (c *Connector) Actions() map[string]providers.Action {
	m := map[string]providers.Action{}
	for _, t := range pushEvents {
		m[t] = nil
	}
	return m
}

// SettingsSchema is the JSON Schema of Google Calendar settings.
func (*Connector) SettingsSchema() map[string]any {
	return map[string]any{
		"type": "object", "additionalProperties": false,
		"properties": map[string]any{
			"calendar_id":            map[string]any{"type": "string", "default": "primary", "pattern": `^[A-Za-z0-9._@#-]{1,255}$`},
			"sync_direction":         map[string]any{"type": "string", "enum": []string{"export"}, "default": "export"},
			"include_private_events": map[string]any{"type": "boolean", "default": false},
			"add_attendees":          map[string]any{"type": "boolean", "default": false, "description": "Registrants become attendees."},
			"send_invitations":       map[string]any{"type": "boolean", "default": false, "description": "Google emails attendees (sendUpdates=all)."},
			"create_meet_links":      map[string]any{"type": "boolean", "default": true, "description": "Virtual and hybrid events get a Google Meet link."},
			"sync_interval_minutes":  map[string]any{"type": "integer", "minimum": 0, "maximum": 10080, "default": 0},
		},
	}
}

// Classify reads a Calendar API answer: 401 means refresh the token and
// retry; 403 rateLimitExceeded/userRateLimitExceeded and 429 are rate
// limits (back off); 403 otherwise is a calendar the user may not write.
func (*Connector) Classify(resp *http.Response, body []byte) *providers.Error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	var env struct {
		Error struct {
			Message string `json:"message"`
			Errors  []struct {
				Reason string `json:"reason"`
			} `json:"errors"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &env)
	reason := ""
	if len(env.Error.Errors) > 0 {
		reason = env.Error.Errors[0].Reason
	}
	return classifyStatus(resp.StatusCode, reason, env.Error.Message, resp.Header)
}
