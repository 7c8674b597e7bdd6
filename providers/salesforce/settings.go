package salesforce

import (
	"regexp"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/crmmap"
)

// Settings are a Salesforce integration's settings.
type Settings struct {
	// RecordType is what registrants become: Contact (default) or Lead.
	RecordType string `json:"record_type,omitempty"`
	// ExternalIDField is the External ID field of RecordType that holds
	// the registrant's lower-cased email; upserts go by it (default
	// Aqio_Email__c). Checked against the org when saved.
	ExternalIDField string `json:"external_id_field,omitempty"`
	// LeadCompany is Company for new leads when no mapping writes it
	// (Salesforce requires it; default "[not provided]", Web-to-Lead's).
	LeadCompany string `json:"lead_company,omitempty"`
	// FieldMapping maps Aqio registration fields to RecordType field API
	// names (checked against the object's describe when saved).
	FieldMapping crmmap.Mapping `json:"field_mapping,omitempty"`
	// SyncCampaigns makes each Aqio event a Campaign (upserted by
	// CampaignExternalIDField = the Aqio event id) and its registrations
	// CampaignMembers whose Status follows registration and attendance.
	SyncCampaigns           bool           `json:"sync_campaigns"`
	CampaignExternalIDField string         `json:"campaign_external_id_field,omitempty"`
	MemberStatuses          MemberStatuses `json:"campaign_member_statuses"`
	// CreateOpportunities makes each completed payment of a paid event an
	// Opportunity, upserted by OpportunityExternalIDField = the payment id
	// (so a retry never makes a second one), closed at OpportunityStage.
	CreateOpportunities        bool   `json:"create_opportunities"`
	OpportunityExternalIDField string `json:"opportunity_external_id_field,omitempty"`
	OpportunityStage           string `json:"opportunity_stage,omitempty"`
}

// MemberStatuses are the CampaignMember Status labels Aqio sets (created
// on campaigns Aqio makes; they must exist on campaigns it did not).
type MemberStatuses struct {
	Registered string `json:"registered,omitempty"`
	Attended   string `json:"attended,omitempty"`
	Cancelled  string `json:"cancelled,omitempty"`
}

// Record types.
const (
	RecordContact = "Contact"
	RecordLead    = "Lead"
)

var apiName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)

func def(v *string, d string) {
	if *v == "" {
		*v = d
	}
}

// ParseSettings decodes, defaults and validates settings. Whether the
// fields exist in the org is checked by CheckSettings.
func ParseSettings(raw []byte) (Settings, error) {
	var s Settings
	if err := providers.DecodeSettings(raw, &s); err != nil {
		return s, err
	}
	def(&s.RecordType, RecordContact)
	def(&s.ExternalIDField, "Aqio_Email__c")
	def(&s.LeadCompany, "[not provided]")
	def(&s.CampaignExternalIDField, "Aqio_Event_Id__c")
	def(&s.OpportunityExternalIDField, "Aqio_Payment_Id__c")
	def(&s.OpportunityStage, "Closed Won")
	def(&s.MemberStatuses.Registered, "Registered")
	def(&s.MemberStatuses.Attended, "Attended")
	def(&s.MemberStatuses.Cancelled, "Cancelled")
	if s.RecordType != RecordContact && s.RecordType != RecordLead {
		return s, &providers.SettingsError{Field: "settings.record_type", Message: "must be Contact or Lead"}
	}
	for _, f := range [][2]string{
		{"settings.external_id_field", s.ExternalIDField}, {"settings.campaign_external_id_field", s.CampaignExternalIDField},
		{"settings.opportunity_external_id_field", s.OpportunityExternalIDField},
	} {
		if !apiName.MatchString(f[1]) {
			return s, &providers.SettingsError{Field: f[0], Message: "must be a field API name (letters, digits, underscores; e.g. Aqio_Email__c)"}
		}
	}
	for _, f := range [][2]string{
		{"settings.lead_company", s.LeadCompany}, {"settings.opportunity_stage", s.OpportunityStage},
		{"settings.campaign_member_statuses.registered", s.MemberStatuses.Registered},
		{"settings.campaign_member_statuses.attended", s.MemberStatuses.Attended},
		{"settings.campaign_member_statuses.cancelled", s.MemberStatuses.Cancelled},
	} {
		if len(f[1]) > 255 {
			return s, &providers.SettingsError{Field: f[0], Message: "must be at most 255 characters"}
		}
	}
	if err := s.FieldMapping.Validate(fieldMapping, "Email", "FirstName", "LastName", s.ExternalIDField); err != nil {
		return s, err
	}
	for _, src := range s.FieldMapping.Keys() {
		if !apiName.MatchString(s.FieldMapping[src]) {
			return s, &providers.SettingsError{Field: fieldMapping + "." + src, Message: "must be a field API name (e.g. Dietary_Needs__c)"}
		}
	}
	return s, nil
}

const fieldMapping = "settings.field_mapping"

func settingsSchema() map[string]any {
	name := map[string]any{"type": "string", "pattern": apiName.String()}
	with := func(m map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	return map[string]any{
		"type": "object", "additionalProperties": false,
		"properties": map[string]any{
			"record_type": map[string]any{"type": "string", "enum": []string{RecordContact, RecordLead}, "default": RecordContact,
				"description": "What registrants become in Salesforce."},
			"external_id_field": with(name, "default", "Aqio_Email__c",
				"description", "External ID field of the record type holding the lower-cased email; registrants are upserted by it."),
			"lead_company": map[string]any{"type": "string", "default": "[not provided]", "maxLength": 255,
				"description": "Company of new leads when no mapping sets it."},
			"field_mapping": crmmap.SchemaProperty("Aqio registration field → field API name of the record type; each must exist and be writable (checked when saved). Email, FirstName, LastName and the external id field are written by Aqio."),
			"sync_campaigns": map[string]any{"type": "boolean", "default": false,
				"description": "Each Aqio event becomes a Campaign; registrations become campaign members whose status follows registration, attendance and cancellation."},
			"campaign_external_id_field": with(name, "default", "Aqio_Event_Id__c", "description", "External ID field of Campaign holding the Aqio event id."),
			"campaign_member_statuses": map[string]any{"type": "object", "additionalProperties": false,
				"properties": map[string]any{
					"registered": map[string]any{"type": "string", "default": "Registered", "maxLength": 255},
					"attended":   map[string]any{"type": "string", "default": "Attended", "maxLength": 255},
					"cancelled":  map[string]any{"type": "string", "default": "Cancelled", "maxLength": 255},
				}},
			"create_opportunities": map[string]any{"type": "boolean", "default": false,
				"description": "Each completed payment of a paid event becomes one Opportunity (upserted by the payment id)."},
			"opportunity_external_id_field": with(name, "default", "Aqio_Payment_Id__c", "description", "External ID field of Opportunity holding the Aqio payment id."),
			"opportunity_stage":             map[string]any{"type": "string", "default": "Closed Won", "maxLength": 255},
		},
	}
}
