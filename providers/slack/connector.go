package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/aqio/connect/providers"
)

// Connector is the Slack connector.
type Connector struct{}

// New returns the Slack connector.
func New() *Connector { return &Connector{} }

// Info is Slack's catalog entry: OAuth v2 with token rotation (bot tokens
// last 12 hours, every refresh returns a new refresh token).
func (*Connector) Info() providers.Info {
	return providers.Info{
		Type: "slack", DisplayName: "Slack", Auth: providers.AuthOAuth2, Available: true,
		APIBaseURL: "https://slack.com/api",
		OAuth: &providers.OAuthInfo{
			AuthURL: "https://slack.com/oauth/v2/authorize", TokenURL: "https://slack.com/api/oauth.v2.access",
			RevokeURL: "https://slack.com/api/auth.revoke", ClientAuth: providers.ClientAuthBody,
			RotatesRefreshTokens: true, TokensExpire: true,
			TokenExtras:   []string{"incoming_webhook", "team", "bot_user_id", "app_id"},
			DefaultScopes: []string{"chat:write", "chat:write.public", "incoming-webhook"}, ScopeSeparator: ",",
		},
	}
}

// ParseSettings decodes and validates Slack settings.
func (*Connector) ParseSettings(raw []byte) (any, error) { return ParseSettings(raw) }

// TokenTransport turns Slack's 200 {"ok":false} token answers into RFC 6749 errors.
func (*Connector) TokenTransport(next http.RoundTripper) http.RoundTripper {
	return okTransport{next: next}
}

// Actions are Slack's pushes by event type. event.updated, published and
// cancelled post nothing themselves; they keep reminders in step.
func (c *Connector) Actions() map[string]providers.Action {
	none := func(context.Context, *providers.Runtime, providers.Event) (providers.Result, error) {
		return providers.Skipped("no Slack notification for this event"), nil
	}
	return map[string]providers.Action{
		"event.created": eventCreated, "event.updated": none, "event.published": none, "event.cancelled": none,
		"registration.created": milestone, "registration.confirmed": milestone, "registration.cancelled": none,
	}
}

// Revoke revokes the bot token at Slack.
func (*Connector) Revoke(ctx context.Context, rt *providers.Runtime) error { return revoke(ctx, rt) }

// ReminderHours is hours_before of the reminder settings (0: off).
func (*Connector) ReminderHours(settings any) int {
	if s, ok := settings.(Settings); ok && s.Notifications.EventReminder != nil {
		return s.Notifications.EventReminder.HoursBefore
	}
	return 0
}

// Remind posts the reminder of an event.
func (*Connector) Remind(ctx context.Context, rt *providers.Runtime, e providers.AqioEvent) (providers.Result, error) {
	set := providers.SettingsOf[Settings](rt)
	vars := eventVars(e)
	vars["hours_before"] = strconv.Itoa(set.Notifications.EventReminder.HoursBefore)
	return post(ctx, rt, set, Render("⏰ Reminder: *{{event.title}}* starts in {{hours_before}} hours ({{event.starts_at}}).", vars), vars)
}

// Authorize sends the bot token to the Web API, never to incoming-webhook URLs.
func (*Connector) Authorize(req *http.Request, c providers.Credentials) {
	if strings.Contains(req.URL.Path, "/hooks/") || c.AccessToken == "" {
		return
	}
	req.Header.Set("Authorization", "Bearer "+c.AccessToken)
}

func eventCreated(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	set := providers.SettingsOf[Settings](rt)
	if !set.Notifications.EventCreated {
		return providers.Skipped("event_created notifications are off"), nil
	}
	var e providers.AqioEvent
	_ = ev.Decode(&e)
	vars := eventVars(e)
	return post(ctx, rt, set, Render("📅 New event: *{{event.title}}* ({{event.starts_at}})", vars), vars)
}

// milestone posts once per threshold an event's registrations reach.
func milestone(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	set := providers.SettingsOf[Settings](rt)
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
	res := providers.Skipped(fmt.Sprintf("%d registrations", count))
	for _, n := range m.At {
		if count < n {
			break
		}
		mine, err := rt.Milestones.Claim(ctx, r.EventID, n)
		if err != nil {
			return providers.Result{}, err
		}
		if !mine {
			continue
		}
		vars := eventVars(e)
		vars["registration_count"] = strconv.Itoa(count)
		vars["milestone"] = strconv.Itoa(n)
		if e.MaxAttendees != nil {
			vars["spots_left"] = strconv.Itoa(max(*e.MaxAttendees-count, 0))
		}
		tmpl := set.MessageTemplate
		if tmpl == "" {
			tmpl = "🎉 *{{event.title}}* reached {{milestone}} registrations! {{registration_count}}/{{max_attendees}} spots filled."
		}
		if res, err = post(ctx, rt, set, Render(tmpl, vars), vars); err != nil {
			return res, err
		}
		if err := rt.Milestones.Posted(ctx, r.EventID, n, res.ExternalID); err != nil {
			return res, err
		}
	}
	return res, nil
}

func eventVars(e providers.AqioEvent) map[string]string {
	v := map[string]string{
		"event.title": e.Title, "event.starts_at": e.StartsAt, "event.location": e.Location,
		"event.url": e.URL, "event.id": e.ID, "max_attendees": "∞",
	}
	if e.MaxAttendees != nil {
		v["max_attendees"] = strconv.Itoa(*e.MaxAttendees)
	}
	return v
}

// post sends to settings.channel with the bot token, or through the
// incoming webhook granted at install when no channel is set.
func post(ctx context.Context, rt *providers.Runtime, set Settings, text string, vars map[string]string) (providers.Result, error) {
	msg := Message{Channel: set.Channel, Text: text, Blocks: []Block{Section(text)}}
	if u := vars["event.url"]; u != "" {
		msg.Blocks = append(msg.Blocks, Context("<"+u+"|Open in Aqio>"))
	}
	if set.Channel == "" {
		hook, _ := rt.Credentials.Extra["incoming_webhook"].(map[string]any)
		u, _ := hook["url"].(string)
		if u == "" {
			return providers.Result{}, &providers.Error{Provider: "slack", Kind: providers.KindPermanent, Code: "channel_not_set",
				Field: "settings.channel", Message: "no channel set and no incoming webhook granted"}
		}
		if err := PostWebhook(ctx, rt, u, msg); err != nil {
			return providers.Result{}, err
		}
		return providers.Result{Action: "posted", Detail: "incoming webhook"}, nil
	}
	posted, err := PostMessage(ctx, rt, msg)
	if err != nil {
		return providers.Result{}, err
	}
	return providers.Result{Action: "posted", ExternalID: posted.TS}, nil
}

// SettingsSchema is the JSON Schema of Slack settings.
func (*Connector) SettingsSchema() map[string]any {
	return map[string]any{
		"type": "object", "additionalProperties": false,
		"properties": map[string]any{
			"channel": map[string]any{"type": "string", "pattern": `^[#@]?[A-Za-z0-9._-]{1,80}$`,
				"description": "Channel name (#events) or id; empty posts through the incoming webhook chosen at install."},
			"notifications": map[string]any{
				"type": "object", "additionalProperties": false,
				"properties": map[string]any{
					"event_created": map[string]any{"type": "boolean", "description": "Post when an event is created."},
					"registration_milestone": map[string]any{"type": "object", "additionalProperties": false, "required": []string{"at"},
						"properties": map[string]any{"at": map[string]any{"type": "array", "minItems": 1, "maxItems": 20,
							"items": map[string]any{"type": "integer", "minimum": 1, "maximum": 1000000}}}},
					"event_reminder": map[string]any{"type": "object", "additionalProperties": false, "required": []string{"hours_before"},
						"properties": map[string]any{"hours_before": map[string]any{"type": "integer", "minimum": 1, "maximum": 720}}},
				},
			},
			"message_template": map[string]any{"type": "string", "maxLength": 3000,
				"description": "Milestone message; variables: {{" + "event.title" + "}} and the others in docs/integrations/slack.md."},
		},
	}
}

// Classify reads Slack's answers (see the package function).
func (*Connector) Classify(resp *http.Response, body []byte) *providers.Error {
	return Classify(resp, body)
}
