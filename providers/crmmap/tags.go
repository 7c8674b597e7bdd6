package crmmap

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aqio/connect/providers"
)

// tagPlaceholder matches {word} in a tag template.
var tagPlaceholder = regexp.MustCompile(`\{[^{}]*\}`)

// CheckTagTemplate allows the placeholders {event_title} and {event_id} in
// a marketing tag template and bounds its own text to max bytes (an
// expanded title is cut to fit by ExpandTag).
func CheckTagTemplate(field, t string, max int) error {
	for _, p := range tagPlaceholder.FindAllString(t, -1) {
		if p != "{event_title}" && p != "{event_id}" {
			return &providers.SettingsError{Field: field, Message: fmt.Sprintf("unknown placeholder %s; use {event_title} or {event_id}", p)}
		}
	}
	if len(strings.NewReplacer("{event_title}", "", "{event_id}", "").Replace(t)) > max {
		return &providers.SettingsError{Field: field, Message: fmt.Sprintf("tags are at most %d characters", max)}
	}
	return nil
}

// ExpandTag fills a tag template for an event (the id when it has no
// title) and cuts it, on a rune boundary, to at most max bytes.
func ExpandTag(t, eventID, title string, max int) string {
	if title == "" {
		title = eventID
	}
	s := strings.TrimSpace(strings.NewReplacer("{event_title}", title, "{event_id}", eventID).Replace(t))
	for len(s) > max {
		r := []rune(s)
		s = string(r[:len(r)-1])
	}
	return s
}
