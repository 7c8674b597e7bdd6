package googlecalendar

import (
	"regexp"

	"github.com/aqio/connect/providers"
)

// Settings are a Google Calendar integration's settings (the product
// seed's shape, plus Meet and the periodic sync interval).
type Settings struct {
	CalendarID           string `json:"calendar_id"`
	SyncDirection        string `json:"sync_direction"`
	IncludePrivateEvents bool   `json:"include_private_events"`
	AddAttendees         bool   `json:"add_attendees"`
	SendInvitations      bool   `json:"send_invitations"`
	// CreateMeetLinks gives virtual and hybrid events a Google Meet link
	// (default true).
	CreateMeetLinks *bool `json:"create_meet_links,omitempty"`
	// SyncIntervalMinutes runs a periodic export from a Temporal
	// Schedule (0: no schedule).
	SyncIntervalMinutes int `json:"sync_interval_minutes,omitempty"`
}

var calendarIDPattern = regexp.MustCompile(`^[A-Za-z0-9._@#-]{1,255}$`)

// ParseSettings decodes, defaults and validates settings.
func ParseSettings(raw []byte) (Settings, error) {
	var s Settings
	if err := providers.DecodeSettings(raw, &s); err != nil {
		return s, err
	}
	if s.CalendarID == "" {
		s.CalendarID = "primary"
	}
	if !calendarIDPattern.MatchString(s.CalendarID) {
		return s, &providers.SettingsError{Field: "settings.calendar_id", Message: "must be \"primary\" or a calendar id"}
	}
	if s.SyncDirection == "" {
		s.SyncDirection = "export"
	}
	if s.SyncDirection != "export" {
		return s, &providers.SettingsError{Field: "settings.sync_direction", Message: "only \"export\" (Aqio → Google Calendar) is supported"}
	}
	if s.CreateMeetLinks == nil {
		t := true
		s.CreateMeetLinks = &t
	}
	if s.SyncIntervalMinutes < 0 || s.SyncIntervalMinutes > 7*24*60 {
		return s, &providers.SettingsError{Field: "settings.sync_interval_minutes", Message: "must be between 0 and 10080"}
	}
	return s, nil
}

// SendUpdates is the sendUpdates parameter for the settings.
func (s Settings) SendUpdates() string {
	if s.SendInvitations {
		return "all"
	}
	return "none"
}
