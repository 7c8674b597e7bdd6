package activecampaign

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/crmmap"
)

// Settings are an ActiveCampaign integration's settings (the same
// vocabulary as the other marketing connectors).
type Settings struct {
	// ListIDs are the lists a registrant who gave marketing consent is
	// subscribed to (checked against the account when saved). Nobody
	// without consent is ever subscribed; nobody is ever unsubscribed.
	ListIDs []string `json:"list_ids,omitempty"`
	// WithoutConsent is what happens to a registrant who did not opt in:
	// contact (default: upserted and tagged, on no list) or skip (not
	// sent to ActiveCampaign at all).
	WithoutConsent string `json:"without_consent,omitempty"`
	// EventTag names the tag a registrant gets for the Aqio event;
	// placeholders {event_title} and {event_id}. Default "{event_title}";
	// "" tags nothing. A cancelled registration removes it.
	EventTag *string `json:"event_tag,omitempty"`
	// Tags are further tags added per Aqio event type
	// (registration.confirmed, registration.cancelled).
	Tags map[string][]string `json:"tags,omitempty"`
	// ContactFieldMapping maps Aqio registration fields to contact custom
	// fields, named by personalization tag (DIETARY or %DIETARY%), numeric
	// id, or a title without spaces; resolved to field ids when the
	// settings are saved.
	ContactFieldMapping crmmap.Mapping `json:"contact_field_mapping,omitempty"`
}

// Consent policies.
const (
	WithoutConsentContact = "contact"
	WithoutConsentSkip    = "skip"
)

// Settings fields.
const (
	fieldLists    = "settings.list_ids"
	fieldMapping  = "settings.contact_field_mapping"
	fieldTags     = "settings.tags"
	fieldEventTag = "settings.event_tag"
)

// DefaultEventTag is the event tag when none is set.
const DefaultEventTag = "{event_title}"

// maxTagLen bounds a tag name.
const maxTagLen = 100

// taggedEvents are the event types tags may be set for.
var taggedEvents = []string{"registration.confirmed", "registration.cancelled"}

var numericID = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)

// reservedFields are what Aqio writes itself (standard contact fields).
var reservedFields = []string{"email", "firstName", "lastName"}

// EventTagTemplate is the effective event tag template ("" = none).
func (s Settings) EventTagTemplate() string {
	if s.EventTag == nil {
		return DefaultEventTag
	}
	return *s.EventTag
}

// ParseSettings decodes, defaults and validates settings. Whether the
// lists and mapped fields exist is checked by CheckSettings.
func ParseSettings(raw []byte) (Settings, error) {
	var s Settings
	if err := providers.DecodeSettings(raw, &s); err != nil {
		return s, err
	}
	if len(s.ListIDs) > 20 {
		return s, &providers.SettingsError{Field: fieldLists, Message: "at most 20 lists"}
	}
	seen := map[string]bool{}
	for i, id := range s.ListIDs {
		if !numericID.MatchString(id) {
			return s, &providers.SettingsError{Field: fmt.Sprintf("%s[%d]", fieldLists, i), Message: "must be an ActiveCampaign list id (digits; Contacts → Lists, the id in the list's URL)"}
		}
		if seen[id] {
			return s, &providers.SettingsError{Field: fmt.Sprintf("%s[%d]", fieldLists, i), Message: "list " + id + " is given twice"}
		}
		seen[id] = true
	}
	switch s.WithoutConsent {
	case "":
		s.WithoutConsent = WithoutConsentContact
	case WithoutConsentContact, WithoutConsentSkip:
	default:
		return s, &providers.SettingsError{Field: "settings.without_consent", Message: `must be "contact" or "skip": a registrant without marketing consent is never subscribed to a list`}
	}
	if s.EventTag != nil {
		if err := crmmap.CheckTagTemplate(fieldEventTag, *s.EventTag, maxTagLen); err != nil {
			return s, err
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(s.Tags)) {
		f := fieldTags + "." + typ
		if !slices.Contains(taggedEvents, typ) {
			return s, &providers.SettingsError{Field: f, Message: "tags can be set for " + strings.Join(taggedEvents, " and ")}
		}
		if len(s.Tags[typ]) > 20 {
			return s, &providers.SettingsError{Field: f, Message: "at most 20 tags"}
		}
		for i, t := range s.Tags[typ] {
			if strings.TrimSpace(t) == "" {
				return s, &providers.SettingsError{Field: fmt.Sprintf("%s[%d]", f, i), Message: "must not be empty"}
			}
			if err := crmmap.CheckTagTemplate(fmt.Sprintf("%s[%d]", f, i), t, maxTagLen); err != nil {
				return s, err
			}
		}
	}
	if err := s.ContactFieldMapping.Validate(fieldMapping, reservedFields...); err != nil {
		return s, err
	}
	return s, nil
}

// settingsSchema is the JSON Schema of the settings object.
func settingsSchema() map[string]any {
	tagList := map[string]any{"type": "array", "maxItems": 20, "items": map[string]any{"type": "string", "minLength": 1, "maxLength": maxTagLen}}
	return map[string]any{
		"type": "object", "additionalProperties": false,
		"properties": map[string]any{
			"list_ids": map[string]any{"type": "array", "maxItems": 20, "uniqueItems": true,
				"items":       map[string]any{"type": "string", "pattern": numericID.String()},
				"description": "Lists a registrant who gave marketing consent is subscribed to (ids; checked when saved). Nobody is ever unsubscribed."},
			"without_consent": map[string]any{"type": "string", "enum": []string{WithoutConsentContact, WithoutConsentSkip}, "default": WithoutConsentContact,
				"description": "A registrant without marketing consent becomes a contact on no list, or is not sent at all."},
			"event_tag": map[string]any{"type": "string", "maxLength": maxTagLen, "default": DefaultEventTag,
				"description": "Tag for the Aqio event ({event_title}, {event_id}); empty: none. Removed when the registration is cancelled."},
			"tags": map[string]any{"type": "object", "additionalProperties": false,
				"description": "Further tags per Aqio event type.",
				"properties":  map[string]any{"registration.confirmed": tagList, "registration.cancelled": tagList}},
			"contact_field_mapping": crmmap.SchemaProperty(
				"Aqio registration field → ActiveCampaign contact custom field (personalization tag such as DIETARY, or field id); each must exist in the account. email, firstName and lastName are written by Aqio."),
		},
	}
}
