package mailchimp

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/crmmap"
)

// Settings are a Mailchimp integration's settings.
type Settings struct {
	// AudienceID is the audience (list) registrants join; checked against
	// GET /lists/{id} when saved. Until it is set, pushes fail naming it.
	AudienceID string `json:"audience_id,omitempty"`
	// StatusIfNew is the status of a new member who opted in to marketing
	// email (registration marketing_consent true): subscribed (default) or
	// pending (Mailchimp sends its double opt-in confirmation).
	StatusIfNew string `json:"status_if_new,omitempty"`
	// WithoutConsent is what happens to a registrant who did not opt in:
	// transactional (default: a transactional contact, never on marketing
	// sends) or skip (not sent to Mailchimp at all). Nobody without consent
	// is ever subscribed.
	WithoutConsent string `json:"without_consent,omitempty"`
	// EventTag names the tag a registrant gets for the Aqio event;
	// placeholders {event_title} and {event_id}. Default "{event_title}";
	// "" tags nothing. A cancelled registration removes it.
	EventTag *string `json:"event_tag,omitempty"`
	// Tags are further tags added per Aqio event type
	// (registration.confirmed, registration.cancelled).
	Tags map[string][]string `json:"tags,omitempty"`
	// MergeFieldMapping maps Aqio registration fields to merge tags
	// (checked against the audience's merge fields when saved). Absent:
	// first_name → FNAME, last_name → LNAME.
	MergeFieldMapping crmmap.Mapping `json:"merge_field_mapping,omitempty"`
}

// Consent policies and member statuses.
const (
	StatusSubscribed    = "subscribed"
	StatusPending       = "pending"
	StatusTransactional = "transactional"
	WithoutConsentSkip  = "skip"
)

// Settings fields.
const (
	fieldAudience = "settings.audience_id"
	fieldMapping  = "settings.merge_field_mapping"
	fieldTags     = "settings.tags"
	fieldEventTag = "settings.event_tag"
)

// DefaultEventTag is the event tag when none is set.
const DefaultEventTag = "{event_title}"

// taggedEvents are the event types tags may be set for.
var taggedEvents = []string{"registration.confirmed", "registration.cancelled"}

var (
	audienceID = regexp.MustCompile(`^[A-Za-z0-9]{1,50}$`)
	mergeTag   = regexp.MustCompile(`^[A-Z0-9_]{1,10}$`)
)

// maxTagLen is Mailchimp's longest tag name.
const maxTagLen = 100

// DefaultMapping is the merge-field mapping when none is set.
func DefaultMapping() crmmap.Mapping {
	return crmmap.Mapping{"first_name": "FNAME", "last_name": "LNAME"}
}

// Mapping is the effective merge-field mapping.
func (s Settings) Mapping() crmmap.Mapping {
	if s.MergeFieldMapping == nil {
		return DefaultMapping()
	}
	return s.MergeFieldMapping
}

// EventTagTemplate is the effective event tag template ("" = none).
func (s Settings) EventTagTemplate() string {
	if s.EventTag == nil {
		return DefaultEventTag
	}
	return *s.EventTag
}

// ParseSettings decodes, defaults and validates settings. Whether the
// audience and the mapped merge fields exist is checked by CheckSettings.
func ParseSettings(raw []byte) (Settings, error) {
	var s Settings
	if err := providers.DecodeSettings(raw, &s); err != nil {
		return s, err
	}
	if s.AudienceID != "" && !audienceID.MatchString(s.AudienceID) {
		return s, &providers.SettingsError{Field: fieldAudience, Message: "must be a Mailchimp audience id (letters and digits, e.g. a1b2c3d4e5; Audience → Settings → Audience name and defaults)"}
	}
	switch s.StatusIfNew {
	case "":
		s.StatusIfNew = StatusSubscribed
	case StatusSubscribed, StatusPending:
	default:
		return s, &providers.SettingsError{Field: "settings.status_if_new", Message: `must be "subscribed" or "pending" (double opt-in); it applies only to registrants who gave marketing consent`}
	}
	switch s.WithoutConsent {
	case "":
		s.WithoutConsent = StatusTransactional
	case StatusTransactional, WithoutConsentSkip:
	default:
		return s, &providers.SettingsError{Field: "settings.without_consent", Message: `must be "transactional" or "skip": a registrant without marketing consent is never subscribed`}
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
	if err := s.MergeFieldMapping.Validate(fieldMapping, "EMAIL"); err != nil {
		return s, err
	}
	for _, src := range s.MergeFieldMapping.Keys() {
		if !mergeTag.MatchString(s.MergeFieldMapping[src]) {
			return s, &providers.SettingsError{Field: fieldMapping + "." + src, Message: "must be a Mailchimp merge tag: upper-case letters, digits or _, at most 10 characters (e.g. FNAME)"}
		}
	}
	return s, nil
}

// settingsSchema is the JSON Schema of the settings object.
func settingsSchema() map[string]any {
	tagList := map[string]any{"type": "array", "maxItems": 20, "items": map[string]any{"type": "string", "minLength": 1, "maxLength": maxTagLen}}
	return map[string]any{
		"type": "object", "additionalProperties": false,
		"properties": map[string]any{
			"audience_id": map[string]any{"type": "string", "pattern": audienceID.String(),
				"description": "The Mailchimp audience (list) id registrants join; checked against the account when saved."},
			"status_if_new": map[string]any{"type": "string", "enum": []string{StatusSubscribed, StatusPending}, "default": StatusSubscribed,
				"description": "Status of a new member who gave marketing consent (pending: Mailchimp's double opt-in email). Existing members keep their status."},
			"without_consent": map[string]any{"type": "string", "enum": []string{StatusTransactional, WithoutConsentSkip}, "default": StatusTransactional,
				"description": "A registrant without marketing consent becomes a transactional contact, or is not sent at all. Never subscribed."},
			"event_tag": map[string]any{"type": "string", "maxLength": maxTagLen, "default": DefaultEventTag,
				"description": "Tag for the Aqio event ({event_title}, {event_id}); empty: none. Removed when the registration is cancelled."},
			"tags": map[string]any{"type": "object", "additionalProperties": false,
				"description": "Further tags per Aqio event type.",
				"properties":  map[string]any{"registration.confirmed": tagList, "registration.cancelled": tagList}},
			"merge_field_mapping": crmmap.SchemaProperty(
				"Aqio registration field → Mailchimp merge tag (e.g. FNAME); each must exist in the audience. Default first_name → FNAME, last_name → LNAME."),
		},
	}
}
