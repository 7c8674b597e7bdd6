// Package chatnotify is the chat notifications every chat connector
// (Slack, Discord, Teams channels) shares: the settings (event created,
// registration milestones, event reminders, message template), their
// validation and JSON Schema, the template variables, and the actions
// that decide what to say and when. A chat connector only renders a
// Message in its provider's format and posts it (Notifier.Post).
//
// What is posted once: an event's "created" notification (an
// integration link per Aqio event, so a retried or re-run push
// duplicates nothing) and each registration milestone (claimed through
// Runtime.Milestones before posting). Reminders fire from the Reminder
// workflow's durable timer (integrations/observe.go keeps it in step).
package chatnotify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aqio/connect/providers"
)

// Settings are the notification settings every chat connector has (the
// product seed's shape). Connectors embed them beside their own
// (Slack's channel).
type Settings struct {
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

// MaxTemplate is the longest message_template accepted.
const MaxTemplate = 3000

var varPattern = regexp.MustCompile(`\{\{\s*([a-zA-Z0-9_.]+)\s*\}\}`)

// Validate checks the notification settings (sorting milestone numbers);
// errors are *providers.SettingsError naming the field.
func (s *Settings) Validate() error {
	if m := s.Notifications.RegistrationMilestone; m != nil {
		if len(m.At) == 0 || len(m.At) > 20 {
			return &providers.SettingsError{Field: "settings.notifications.registration_milestone.at", Message: "must list 1 to 20 numbers"}
		}
		for _, n := range m.At {
			if n < 1 || n > 1_000_000 {
				return &providers.SettingsError{Field: "settings.notifications.registration_milestone.at", Message: "numbers must be between 1 and 1000000"}
			}
		}
		sort.Ints(m.At)
	}
	if r := s.Notifications.EventReminder; r != nil && (r.HoursBefore < 1 || r.HoursBefore > 24*30) {
		return &providers.SettingsError{Field: "settings.notifications.event_reminder.hours_before", Message: "must be between 1 and 720"}
	}
	if len(s.MessageTemplate) > MaxTemplate {
		return &providers.SettingsError{Field: "settings.message_template", Message: fmt.Sprintf("must be at most %d characters", MaxTemplate)}
	}
	for _, m := range varPattern.FindAllStringSubmatch(s.MessageTemplate, -1) {
		known := false
		for _, v := range TemplateVariables {
			known = known || v == m[1]
		}
		if !known {
			return &providers.SettingsError{Field: "settings.message_template",
				Message: fmt.Sprintf("unknown variable {{%s}}; use one of %s", m[1], strings.Join(TemplateVariables, ", "))}
		}
	}
	return nil
}

// SchemaProperties are the JSON Schema properties of Settings; a
// connector adds its own and wraps them in an object schema.
func SchemaProperties(guide string) map[string]any {
	return map[string]any{
		"notifications": map[string]any{
			"type": "object", "additionalProperties": false,
			"properties": map[string]any{
				"event_created": map[string]any{"type": "boolean", "description": "Post when an event is created."},
				"registration_milestone": map[string]any{"type": "object", "additionalProperties": false, "required": []string{"at"},
					"description": "Post once when an event's registrations reach each number.",
					"properties": map[string]any{"at": map[string]any{"type": "array", "minItems": 1, "maxItems": 20,
						"items": map[string]any{"type": "integer", "minimum": 1, "maximum": 1000000}}}},
				"event_reminder": map[string]any{"type": "object", "additionalProperties": false, "required": []string{"hours_before"},
					"description": "Post a reminder this many hours before an event starts.",
					"properties":  map[string]any{"hours_before": map[string]any{"type": "integer", "minimum": 1, "maximum": 720}}},
			},
		},
		"message_template": map[string]any{"type": "string", "maxLength": MaxTemplate,
			"description": "Milestone message; variables: {{" + "event.title" + "}} and the others in " + guide + "."},
	}
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

// EventVars are the template variables of an Aqio event.
func EventVars(e providers.AqioEvent) map[string]string {
	v := map[string]string{
		"event.title": e.Title, "event.starts_at": e.StartsAt, "event.location": e.Location,
		"event.url": e.URL, "event.id": e.ID, "max_attendees": "∞",
	}
	if e.MaxAttendees != nil {
		v["max_attendees"] = strconv.Itoa(*e.MaxAttendees)
	}
	return v
}

// Kinds of notification.
const (
	KindEventCreated = "event_created"
	KindMilestone    = "registration_milestone"
	KindReminder     = "event_reminder"
)

// Message is one notification for a connector to render and post.
type Message struct {
	Kind string
	// Text is the rendered message in the connector's markdown (Strong
	// marks the event title in the default texts).
	Text  string
	Event providers.AqioEvent
	// Vars are the template variables the text was rendered with.
	Vars map[string]string
}

// Notifier is what a chat connector plugs in: how to read the shared
// settings from its parsed settings, and how to post.
type Notifier struct {
	// Provider names the connector in errors ("slack").
	Provider string
	// Settings returns the shared part of the connector's parsed settings.
	Settings func(settings any) Settings
	// Post renders msg in the provider's format and posts it; the
	// Result's ExternalID is the provider's message id.
	Post func(ctx context.Context, rt *providers.Runtime, msg Message) (providers.Result, error)
	// Strong wraps text in the provider's bold markup ("*" for Slack
	// mrkdwn, "**" for Discord and Teams markdown).
	Strong string
}

func (n Notifier) bold(s string) string { return n.Strong + s + n.Strong }

// Actions are the chat pushes by Aqio event type. event.updated,
// published and cancelled post nothing themselves; they keep reminders
// in step.
func (n Notifier) Actions() map[string]providers.Action {
	none := func(context.Context, *providers.Runtime, providers.Event) (providers.Result, error) {
		return providers.Skipped("no chat notification for this event"), nil
	}
	return map[string]providers.Action{
		"event.created": n.eventCreated, "event.updated": none, "event.published": none, "event.cancelled": none,
		"registration.created": n.milestone, "registration.confirmed": n.milestone, "registration.cancelled": none,
	}
}

// ReminderHours is hours_before of the reminder settings (0: off).
func (n Notifier) ReminderHours(settings any) int {
	if r := n.Settings(settings).Notifications.EventReminder; r != nil {
		return r.HoursBefore
	}
	return 0
}

// Remind posts the reminder of an event.
func (n Notifier) Remind(ctx context.Context, rt *providers.Runtime, e providers.AqioEvent) (providers.Result, error) {
	set := n.Settings(rt.Settings)
	vars := EventVars(e)
	hours := 0
	if r := set.Notifications.EventReminder; r != nil {
		hours = r.HoursBefore
	}
	vars["hours_before"] = strconv.Itoa(hours)
	text := Render("⏰ Reminder: "+n.bold("{{event.title}}")+" starts in {{hours_before}} hours ({{event.starts_at}}).", vars)
	return n.Post(ctx, rt, Message{Kind: KindReminder, Text: text, Event: e, Vars: vars})
}

// linkType is the integration-link object type of a posted "event
// created" notification (object id: the Aqio event id).
const linkType = "chat.event_created"

func (n Notifier) eventCreated(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	set := n.Settings(rt.Settings)
	if !set.Notifications.EventCreated {
		return providers.Skipped("event_created notifications are off"), nil
	}
	var e providers.AqioEvent
	_ = ev.Decode(&e)
	if e.ID != "" {
		l, err := rt.Links.Get(ctx, linkType, e.ID)
		switch {
		case err == nil && l.Status != "deleted":
			return providers.Result{Action: "skipped", ExternalID: l.ExternalID, Detail: "already posted"}, nil
		case err != nil && !errors.Is(err, providers.ErrNotFound):
			return providers.Result{}, err
		}
	}
	vars := EventVars(e)
	text := Render("📅 New event: "+n.bold("{{event.title}}")+" ({{event.starts_at}})", vars)
	res, err := n.Post(ctx, rt, Message{Kind: KindEventCreated, Text: text, Event: e, Vars: vars})
	if err != nil || e.ID == "" {
		return res, err
	}
	if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkType, ObjectID: e.ID, ExternalID: res.ExternalID, Status: "active"}); err != nil {
		return res, fmt.Errorf("keep posted notification: %w", err)
	}
	return res, nil
}

// milestone posts once per threshold an event's registrations reach.
func (n Notifier) milestone(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	set := n.Settings(rt.Settings)
	m := set.Notifications.RegistrationMilestone
	if m == nil {
		return providers.Skipped("milestone notifications are off"), nil
	}
	var r providers.AqioRegistration
	_ = ev.Decode(&r)
	if r.EventID == "" {
		return providers.Skipped("registration has no event_id"), nil
	}
	count, err := rt.Objects.CountActive(ctx, "registration", r.EventID)
	if err != nil {
		return providers.Result{}, err
	}
	var e providers.AqioEvent
	if o, err := rt.Objects.Get(ctx, "event", r.EventID); err == nil {
		_ = json.Unmarshal(o.Data, &e)
	}
	if e.ID == "" {
		e.ID = r.EventID
	}
	res := providers.Skipped(fmt.Sprintf("%d registrations", count))
	for _, at := range m.At {
		if count < at {
			break
		}
		mine, err := rt.Milestones.Claim(ctx, r.EventID, at)
		if err != nil {
			return providers.Result{}, err
		}
		if !mine {
			continue
		}
		vars := EventVars(e)
		vars["registration_count"] = strconv.Itoa(count)
		vars["milestone"] = strconv.Itoa(at)
		if e.MaxAttendees != nil {
			vars["spots_left"] = strconv.Itoa(max(*e.MaxAttendees-count, 0))
		}
		tmpl := set.MessageTemplate
		if tmpl == "" {
			tmpl = "🎉 " + n.bold("{{event.title}}") + " reached {{milestone}} registrations! {{registration_count}}/{{max_attendees}} spots filled."
		}
		if res, err = n.Post(ctx, rt, Message{Kind: KindMilestone, Text: Render(tmpl, vars), Event: e, Vars: vars}); err != nil {
			return res, err
		}
		if err := rt.Milestones.Posted(ctx, r.EventID, at, res.ExternalID); err != nil {
			return res, err
		}
	}
	return res, nil
}
