package outlookcalendar

import (
	"regexp"

	"github.com/aqio/connect/providers"
)

// Settings are an Outlook Calendar integration's settings.
type Settings struct {
	// CalendarID is a Graph calendar id (empty: the user's default calendar).
	CalendarID           string `json:"calendar_id,omitempty"`
	IncludePrivateEvents bool   `json:"include_private_events"`
	// AddAttendees adds registrants as attendees (Outlook then sends them
	// invitations).
	AddAttendees bool `json:"add_attendees"`
	// TeamsMeetings gives virtual and hybrid events a Teams meeting.
	TeamsMeetings bool `json:"teams_meetings"`
}

var calendarIDPattern = regexp.MustCompile(`^[A-Za-z0-9=_+/-]{1,512}$`)

// ParseSettings decodes and validates settings.
func ParseSettings(raw []byte) (Settings, error) {
	var s Settings
	if err := providers.DecodeSettings(raw, &s); err != nil {
		return s, err
	}
	if s.CalendarID != "" && !calendarIDPattern.MatchString(s.CalendarID) {
		return s, &providers.SettingsError{Field: "settings.calendar_id", Message: "must be a Graph calendar id (or empty for the default calendar)"}
	}
	return s, nil
}

// SettingsSchema is the JSON Schema of Outlook Calendar settings.
func (*Connector) SettingsSchema() map[string]any {
	return map[string]any{
		"type": "object", "additionalProperties": false,
		"properties": map[string]any{
			"calendar_id":            map[string]any{"type": "string", "pattern": `^[A-Za-z0-9=_+/-]{1,512}$`, "description": "Graph calendar id; empty: the default calendar."},
			"include_private_events": map[string]any{"type": "boolean", "default": false},
			"add_attendees":          map[string]any{"type": "boolean", "default": false, "description": "Registrants become attendees (Outlook emails them invitations)."},
			"teams_meetings":         map[string]any{"type": "boolean", "default": false, "description": "Virtual and hybrid events get a Microsoft Teams meeting."},
		},
	}
}
