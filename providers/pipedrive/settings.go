package pipedrive

import (
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/crmmap"
)

// Settings are a Pipedrive integration's settings (the CRM vocabulary
// HubSpot uses).
type Settings struct {
	// SyncContacts makes each registrant a person (default true).
	SyncContacts *bool `json:"sync_contacts,omitempty"`
	// CreateDealsForPaidEvents creates one deal per completed payment,
	// linked to the payer's person (default false).
	CreateDealsForPaidEvents bool `json:"create_deals_for_paid_events"`
	// PersonFieldMapping maps Aqio registration fields to person custom
	// fields, by field key (40 hex digits) or name without spaces;
	// checked against the company's person fields when saved.
	PersonFieldMapping crmmap.Mapping `json:"person_field_mapping,omitempty"`
	// DealPipelineID and DealStageID place created deals (default: the
	// company's default pipeline and its first stage).
	DealPipelineID int `json:"deal_pipeline_id,omitempty"`
	DealStageID    int `json:"deal_stage_id,omitempty"`
	// DealStatus is open or won (default won: the payment is done).
	DealStatus string `json:"deal_status,omitempty"`
}

// Contacts reports whether registrants become persons.
func (s Settings) Contacts() bool { return s.SyncContacts == nil || *s.SyncContacts }

const mappingField = "settings.person_field_mapping"

// reservedFields are what Aqio writes itself.
var reservedFields = []string{"name", "email", "emails", "first_name", "last_name"}

// ParseSettings decodes, defaults and validates settings. Whether the
// mapped fields exist is checked by CheckSettings.
func ParseSettings(raw []byte) (Settings, error) {
	var s Settings
	if err := providers.DecodeSettings(raw, &s); err != nil {
		return s, err
	}
	if err := s.PersonFieldMapping.Validate(mappingField, reservedFields...); err != nil {
		return s, err
	}
	if s.DealPipelineID < 0 {
		return s, &providers.SettingsError{Field: "settings.deal_pipeline_id", Message: "must be a Pipedrive pipeline id"}
	}
	if s.DealStageID < 0 {
		return s, &providers.SettingsError{Field: "settings.deal_stage_id", Message: "must be a Pipedrive stage id"}
	}
	switch s.DealStatus {
	case "":
		s.DealStatus = "won"
	case "open", "won":
	default:
		return s, &providers.SettingsError{Field: "settings.deal_status", Message: `must be "open" or "won"`}
	}
	return s, nil
}

func settingsSchema() map[string]any {
	return map[string]any{
		"type": "object", "additionalProperties": false,
		"properties": map[string]any{
			"sync_contacts": map[string]any{"type": "boolean", "default": true,
				"description": "Registrants become Pipedrive persons (found by exact email, else created)."},
			"create_deals_for_paid_events": map[string]any{"type": "boolean", "default": false,
				"description": "Each completed payment creates one deal, linked to the payer's person."},
			"person_field_mapping": crmmap.SchemaProperty(
				"Aqio registration field → Pipedrive person custom field (its key, or its name when it has no spaces); each must exist and be editable. name and email are written by Aqio."),
			"deal_pipeline_id": map[string]any{"type": "integer", "minimum": 1, "description": "Pipeline of created deals (default: the company's default)."},
			"deal_stage_id":    map[string]any{"type": "integer", "minimum": 1, "description": "Stage of created deals (default: the pipeline's first)."},
			"deal_status":      map[string]any{"type": "string", "enum": []string{"open", "won"}, "default": "won"},
		},
	}
}
