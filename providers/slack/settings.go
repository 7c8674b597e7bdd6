package slack

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/aqio/connect/providers"
)

// Settings are a Slack integration's settings (the product seed's shape).
type Settings struct {
	// Channel to post to (name like "#events" or id). Empty: the
	// incoming webhook chosen at install time.
	Channel         string        `json:"channel,omitempty"`
	Notifications   Notifications `json:"notifications"`
	MessageTemplate string        `json:"message_template,omitempty"`
}

// Notifications choose what is posted.
type Notifications struct {
	EventCreated          bool       `json:"event_created"`
	RegistrationMilestone *Milestone `json:"registration_milestone,omitempty"`
	EventReminder         *Reminder  `json:"event_reminder,omitempty"`
}

// Milestone posts once when an event's registration count reaches each number.
type Milestone struct {
	At []int `json:"at"`
}

// Reminder posts hours_before an event starts.
type Reminder struct {
	HoursBefore int `json:"hours_before"`
}

// TemplateVariables are the {{…}} names message_template may use.
var TemplateVariables = []string{
	"event.title", "event.starts_at", "event.location", "event.url", "event.id",
	"registration_count", "max_attendees", "spots_left", "milestone", "hours_before",
}

var varPattern = regexp.MustCompile(`\{\{\s*([a-zA-Z0-9_.]+)\s*\}\}`)

// ParseSettings decodes and validates settings.
func ParseSettings(raw []byte) (Settings, error) {
	var s Settings
	if err := providers.DecodeSettings(raw, &s); err != nil {
		return s, err
	}
	if s.Channel != "" && !regexp.MustCompile(`^[#@]?[A-Za-z0-9._-]{1,80}$`).MatchString(s.Channel) {
		return s, &providers.SettingsError{Field: "settings.channel", Message: "must be a channel name like #events or a channel id"}
	}
	if m := s.Notifications.RegistrationMilestone; m != nil {
		if len(m.At) == 0 || len(m.At) > 20 {
			return s, &providers.SettingsError{Field: "settings.notifications.registration_milestone.at", Message: "must list 1 to 20 numbers"}
		}
		for _, n := range m.At {
			if n < 1 || n > 1_000_000 {
				return s, &providers.SettingsError{Field: "settings.notifications.registration_milestone.at", Message: "numbers must be between 1 and 1000000"}
			}
		}
		sort.Ints(m.At)
	}
	if r := s.Notifications.EventReminder; r != nil && (r.HoursBefore < 1 || r.HoursBefore > 24*30) {
		return s, &providers.SettingsError{Field: "settings.notifications.event_reminder.hours_before", Message: "must be between 1 and 720"}
	}
	if len(s.MessageTemplate) > 3000 {
		return s, &providers.SettingsError{Field: "settings.message_template", Message: "must be at most 3000 characters"}
	}
	for _, m := range varPattern.FindAllStringSubmatch(s.MessageTemplate, -1) {
		known := false
		for _, v := range TemplateVariables {
			known = known || v == m[1]
		}
		if !known {
			return s, &providers.SettingsError{Field: "settings.message_template",
				Message: fmt.Sprintf("unknown variable {{%s}}; use one of %s", m[1], strings.Join(TemplateVariables, ", "))}
		}
	}
	return s, nil
}

// Render fills a template's {{variables}}; unknown names are left as is.
func Render(tmpl string, vars map[string]string) string {
	return varPattern.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := varPattern.FindStringSubmatch(m)[1]
		if v, ok := vars[name]; ok {
			return v
		}
		return m
	})
}
