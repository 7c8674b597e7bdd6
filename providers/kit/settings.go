package kit

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/crmmap"
)

// Settings are a Kit integration's settings.
type Settings struct {
	// EventTag names the tag a consenting registrant gets for the Aqio
	// event; placeholders {event_title} and {event_id}. Default
	// "{event_title}"; "" tags nothing. The tag is created in Kit the first
	// time (POST /v4/tags) and kept for the event, so renaming the event
	// does not make a second one. A cancelled registration removes it.
	EventTag *string `json:"event_tag,omitempty"`
	// TagIDs are existing Kit tags every consenting registrant gets
	// (checked against GET /v4/tags when saved). Never removed by Aqio.
	TagIDs []int64 `json:"tag_ids,omitempty"`
	// FieldMapping maps Aqio registration fields to Kit custom field keys
	// (checked against GET /v4/custom_fields when saved: Kit silently
	// ignores unknown keys). first_name is always written from the name.
	FieldMapping crmmap.Mapping `json:"field_mapping,omitempty"`
}

// Settings fields.
const (
	fieldMapping  = "settings.field_mapping"
	fieldTagIDs   = "settings.tag_ids"
	fieldEventTag = "settings.event_tag"
)

// DefaultEventTag is the event tag when none is set.
const DefaultEventTag = "{event_title}"

// maxTagLen is Kit's longest tag name.
const maxTagLen = 255

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// Tag is the effective event-tag template ("" for none).
func (s Settings) Tag() string {
	if s.EventTag == nil {
		return DefaultEventTag
	}
	return *s.EventTag
}

// ParseSettings decodes, defaults and validates settings. Whether the
// mapped custom fields and the tags exist in the account is checked by
// CheckSettings.
func ParseSettings(raw []byte) (Settings, error) {
	var s Settings
	if err := providers.DecodeSettings(raw, &s); err != nil {
		return s, err
	}
	if err := s.FieldMapping.Validate(fieldMapping); err != nil {
		return s, err
	}
	if t := s.Tag(); t != "" {
		for _, ph := range placeholder.FindAllString(t, -1) {
			if ph != "{event_title}" && ph != "{event_id}" {
				return s, &providers.SettingsError{Field: fieldEventTag, Message: fmt.Sprintf("unknown placeholder %s; use {event_title} or {event_id}", ph)}
			}
		}
		if strings.TrimSpace(placeholder.ReplaceAllString(t, "x")) == "" || len(t) > maxTagLen {
			return s, &providers.SettingsError{Field: fieldEventTag, Message: fmt.Sprintf("must be a tag name of at most %d characters (or \"\" for no event tag)", maxTagLen)}
		}
	}
	if len(s.TagIDs) > 50 {
		return s, &providers.SettingsError{Field: fieldTagIDs, Message: "must list at most 50 tags"}
	}
	seen := map[int64]bool{}
	for i, id := range s.TagIDs {
		if id <= 0 {
			return s, &providers.SettingsError{Field: fmt.Sprintf("%s[%d]", fieldTagIDs, i), Message: "must be a Kit tag id (a positive integer)"}
		}
		if seen[id] {
			return s, &providers.SettingsError{Field: fmt.Sprintf("%s[%d]", fieldTagIDs, i), Message: fmt.Sprintf("tag %d is listed twice", id)}
		}
		seen[id] = true
	}
	return s, nil
}

// eventTagName renders the event-tag template for an event.
func (s Settings) eventTagName(e providers.AqioEvent) string {
	title := strings.TrimSpace(e.Title)
	if title == "" {
		title = "Aqio event " + e.ID
	}
	name := strings.NewReplacer("{event_title}", title, "{event_id}", e.ID).Replace(s.Tag())
	name = strings.TrimSpace(name)
	if len(name) > maxTagLen {
		name = strings.ToValidUTF8(name[:maxTagLen], "")
	}
	return name
}

// settingsSchema is the JSON Schema of the settings object.
func settingsSchema() map[string]any {
	return map[string]any{
		"type": "object", "additionalProperties": false,
		"properties": map[string]any{
			"event_tag": map[string]any{"type": "string", "default": DefaultEventTag, "maxLength": maxTagLen,
				"description": "Tag a registrant who opted in to marketing email gets for the Aqio event ({event_title}, {event_id}); \"\" for none. Removed again when the registration is cancelled."},
			"tag_ids": map[string]any{"type": "array", "maxItems": 50, "uniqueItems": true,
				"items":       map[string]any{"type": "integer", "minimum": 1},
				"description": "Existing Kit tags (ids) every registrant who opted in gets; checked against the account when saved."},
			"field_mapping": crmmap.SchemaProperty(
				"Aqio registration field → Kit custom field key; each key must exist in the account (Kit ignores unknown ones, so they are refused when saved). first_name is always written."),
		},
	}
}
