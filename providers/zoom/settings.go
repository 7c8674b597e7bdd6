package zoom

import (
	"slices"

	"github.com/aqio/connect/providers"
)

// Settings are a Zoom integration's settings.
type Settings struct {
	// LocationTypes are the Aqio location types that get a Zoom meeting
	// (default virtual and hybrid).
	LocationTypes []string `json:"location_types,omitempty"`
	// RequireRegistration creates meetings with registration (approval
	// automatic): each confirmed Aqio registration becomes a Zoom
	// registrant with their own join URL. Off, the meeting has one join
	// URL for everyone and registrations are not sent.
	RequireRegistration bool `json:"require_registration"`
	// ZoomEmails lets Zoom email registrants their confirmation (Aqio
	// sends its own by default).
	ZoomEmails bool `json:"zoom_emails"`
	// WaitingRoom and JoinBeforeHost are the meeting settings of the same name.
	WaitingRoom    bool `json:"waiting_room"`
	JoinBeforeHost bool `json:"join_before_host"`
	// AutoRecording is none (default), local or cloud.
	AutoRecording string `json:"auto_recording,omitempty"`
	// NotifyOnCancel has Zoom email registrants when a cancelled Aqio
	// event deletes its meeting.
	NotifyOnCancel bool `json:"notify_on_cancel"`
}

var locationTypes = []string{"virtual", "hybrid", "in_person"}

// ParseSettings decodes, defaults and validates settings.
func ParseSettings(raw []byte) (Settings, error) {
	var s Settings
	if err := providers.DecodeSettings(raw, &s); err != nil {
		return s, err
	}
	if s.LocationTypes == nil {
		s.LocationTypes = []string{"virtual", "hybrid"}
	}
	if len(s.LocationTypes) == 0 {
		return s, &providers.SettingsError{Field: "settings.location_types", Message: "must name at least one of virtual, hybrid, in_person"}
	}
	for _, t := range s.LocationTypes {
		if !slices.Contains(locationTypes, t) {
			return s, &providers.SettingsError{Field: "settings.location_types", Message: "unknown location type " + t + " (virtual, hybrid or in_person)"}
		}
	}
	switch s.AutoRecording {
	case "":
		s.AutoRecording = "none"
	case "none", "local", "cloud":
	default:
		return s, &providers.SettingsError{Field: "settings.auto_recording", Message: "must be none, local or cloud"}
	}
	return s, nil
}

// wants reports whether an Aqio event of a location type gets a meeting.
func (s Settings) wants(locationType string) bool {
	return slices.Contains(s.LocationTypes, locationType)
}

// SettingsSchema is the JSON Schema of Zoom settings.
func (*Connector) SettingsSchema() map[string]any {
	return map[string]any{
		"type": "object", "additionalProperties": false,
		"properties": map[string]any{
			"location_types": map[string]any{"type": "array", "minItems": 1, "uniqueItems": true,
				"items":       map[string]any{"type": "string", "enum": locationTypes},
				"default":     []string{"virtual", "hybrid"},
				"description": "Aqio events of these location types get a Zoom meeting."},
			"require_registration": map[string]any{"type": "boolean", "default": false,
				"description": "Meetings require registration; each confirmed Aqio registration becomes a registrant with a personal join URL."},
			"zoom_emails": map[string]any{"type": "boolean", "default": false,
				"description": "Zoom emails registrants their confirmation (Aqio sends its own otherwise)."},
			"waiting_room":     map[string]any{"type": "boolean", "default": false},
			"join_before_host": map[string]any{"type": "boolean", "default": false},
			"auto_recording":   map[string]any{"type": "string", "enum": []string{"none", "local", "cloud"}, "default": "none"},
			"notify_on_cancel": map[string]any{"type": "boolean", "default": false,
				"description": "Zoom emails registrants when a cancelled event deletes its meeting."},
		},
	}
}
