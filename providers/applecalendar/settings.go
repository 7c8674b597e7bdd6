package applecalendar

import (
	"strings"

	"github.com/aqio/connect/providers"
)

// Settings are an Apple Calendar integration's settings.
type Settings struct {
	// Calendar is the calendar's display name or collection path (empty:
	// the account's first calendar that holds events).
	Calendar             string `json:"calendar,omitempty"`
	IncludePrivateEvents bool   `json:"include_private_events"`
	AddAttendees         bool   `json:"add_attendees"`
}

// ParseSettings decodes and validates settings.
func ParseSettings(raw []byte) (Settings, error) {
	var s Settings
	if err := providers.DecodeSettings(raw, &s); err != nil {
		return s, err
	}
	s.Calendar = strings.TrimSpace(s.Calendar)
	if len(s.Calendar) > 255 || strings.ContainsAny(s.Calendar, "\r\n") {
		return s, &providers.SettingsError{Field: "settings.calendar", Message: "must be a calendar name or path of at most 255 characters"}
	}
	return s, nil
}

// SettingsSchema is the JSON Schema of Apple Calendar settings.
func (*Connector) SettingsSchema() map[string]any {
	return map[string]any{
		"type": "object", "additionalProperties": false,
		"properties": map[string]any{
			"calendar":               map[string]any{"type": "string", "maxLength": 255, "description": "Calendar name or CalDAV path (default: the first calendar that holds events)."},
			"include_private_events": map[string]any{"type": "boolean", "default": false},
			"add_attendees":          map[string]any{"type": "boolean", "default": false, "description": "Registrants become ATTENDEEs (no invitations are sent)."},
		},
	}
}
