package hubspot

import (
	"regexp"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/crmmap"
)

// Settings are a HubSpot integration's settings (the product seed's
// shape, plus where paid-event deals go).
type Settings struct {
	// SyncContacts upserts each registrant as a contact (default true).
	SyncContacts *bool `json:"sync_contacts,omitempty"`
	// CreateDealsForPaidEvents creates one deal per completed payment,
	// associated with the payer's contact (default false).
	CreateDealsForPaidEvents bool `json:"create_deals_for_paid_events"`
	// SyncEventAttendance records registrations, attendance and
	// cancellations on the contact through a HubSpot marketing event per
	// Aqio event (default false).
	SyncEventAttendance bool `json:"sync_event_attendance"`
	// ContactPropertyMapping maps Aqio registration fields to HubSpot
	// contact properties (checked against the portal when saved).
	ContactPropertyMapping crmmap.Mapping `json:"contact_property_mapping,omitempty"`
	// DealPipeline and DealStage place created deals (default "default"
	// and "closedwon", which every portal has).
	DealPipeline string `json:"deal_pipeline,omitempty"`
	DealStage    string `json:"deal_stage,omitempty"`
}

// Contacts reports whether registrants become contacts.
func (s Settings) Contacts() bool { return s.SyncContacts == nil || *s.SyncContacts }

// mappingField is the settings path of the property mapping.
const mappingField = "settings.contact_property_mapping"

// reservedProperties are the contact properties Aqio writes itself.
var reservedProperties = []string{"email", "firstname", "lastname"}

var pipelineID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

// ParseSettings decodes, defaults and validates settings. Whether the
// mapped properties exist in the portal is checked by CheckSettings.
func ParseSettings(raw []byte) (Settings, error) {
	var s Settings
	if err := providers.DecodeSettings(raw, &s); err != nil {
		return s, err
	}
	if err := s.ContactPropertyMapping.Validate(mappingField, reservedProperties...); err != nil {
		return s, err
	}
	if s.DealPipeline == "" {
		s.DealPipeline = "default"
	}
	if s.DealStage == "" {
		s.DealStage = "closedwon"
	}
	if !pipelineID.MatchString(s.DealPipeline) {
		return s, &providers.SettingsError{Field: "settings.deal_pipeline", Message: "must be a HubSpot pipeline id"}
	}
	if !pipelineID.MatchString(s.DealStage) {
		return s, &providers.SettingsError{Field: "settings.deal_stage", Message: "must be a HubSpot deal stage id"}
	}
	return s, nil
}

// settingsSchema is the JSON Schema of the settings object.
func settingsSchema() map[string]any {
	return map[string]any{
		"type": "object", "additionalProperties": false,
		"properties": map[string]any{
			"sync_contacts": map[string]any{"type": "boolean", "default": true,
				"description": "Registrants become HubSpot contacts (upserted by email)."},
			"create_deals_for_paid_events": map[string]any{"type": "boolean", "default": false,
				"description": "Each completed payment creates one deal, associated with the payer's contact."},
			"sync_event_attendance": map[string]any{"type": "boolean", "default": false,
				"description": "Registrations, attendance and cancellations are recorded on the contact through a HubSpot marketing event per Aqio event."},
			"contact_property_mapping": crmmap.SchemaProperty(
				"Aqio registration field → HubSpot contact property (internal name); each property must exist in the portal and be writable. email, firstname and lastname are written by Aqio."),
			"deal_pipeline": map[string]any{"type": "string", "default": "default", "pattern": pipelineID.String()},
			"deal_stage":    map[string]any{"type": "string", "default": "closedwon", "pattern": pipelineID.String()},
		},
	}
}
