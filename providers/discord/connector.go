package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/chatnotify"
)

// Connector is the Discord connector.
type Connector struct{}

// New returns the Discord connector.
func New() *Connector { return &Connector{} }

// rateLimit are Discord's per-route bucket headers.
var rateLimit = providers.RateLimitHeaders{
	Remaining: "X-RateLimit-Remaining", ResetAfter: "X-RateLimit-Reset-After", ResetAt: "X-RateLimit-Reset",
}

// Info is Discord's catalog entry: OAuth with webhook.incoming (the token
// response's webhook is kept; tokens are not refreshed by a loop), or a
// pasted webhook URL through POST /api/integrations/discord/connect.
func (*Connector) Info() providers.Info {
	return providers.Info{
		DataSent:  []string{"event title, start time and location", "Aqio event page link", "registration counts and milestones (no registrant names or emails)"},
		NoErasure: "chat messages already posted are not tracked per person; delete them in the workspace if they named the person",
		Type:      "discord", DisplayName: "Discord", Auth: providers.AuthOAuth2, Available: true,
		APIBaseURL: "https://discord.com/api/v10",
		OAuth: &providers.OAuthInfo{
			AuthURL: "https://discord.com/oauth2/authorize", TokenURL: "https://discord.com/api/oauth2/token",
			RevokeURL: "https://discord.com/api/oauth2/token/revoke", ClientAuth: providers.ClientAuthBody,
			TokensExpire: false, TokenExtras: []string{"webhook"}, DefaultScopes: []string{"webhook.incoming"},
		},
		CredentialFields: []providers.CredentialField{{Name: "webhook_url", Required: true, Secret: true,
			Description: "the channel's webhook URL (channel settings → Integrations → Webhooks → Copy Webhook URL)"}},
		// The OAuth webhook (id, token, url) is a credential.
		SecretExtras: []string{"webhook"},
		RateLimit:    rateLimit,
	}
}

// Settings are a Discord integration's settings: the shared chat
// notifications and the name the webhook posts as.
type Settings struct {
	chatnotify.Settings
	// Username overrides the webhook's name on Aqio's messages.
	Username string `json:"username,omitempty"`
}

// ParseSettings decodes and validates Discord settings.
func (*Connector) ParseSettings(raw []byte) (any, error) {
	var s Settings
	if err := providers.DecodeSettings(raw, &s); err != nil {
		return nil, err
	}
	if u := strings.TrimSpace(s.Username); s.Username != "" {
		low := strings.ToLower(u)
		if len([]rune(u)) > 80 || u == "" || strings.Contains(low, "discord") || strings.Contains(low, "clyde") ||
			strings.ContainsAny(u, "@#:") || strings.Contains(u, "```") {
			return nil, &providers.SettingsError{Field: "settings.username",
				Message: "must be 1 to 80 characters without @, #, :, ``` and without the words discord or clyde (Discord refuses them)"}
		}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// SettingsSchema is the JSON Schema of Discord settings.
func (*Connector) SettingsSchema() map[string]any {
	props := chatnotify.SchemaProperties("docs/integrations/discord.md")
	props["username"] = map[string]any{"type": "string", "minLength": 1, "maxLength": 80,
		"description": "Name Aqio's messages post as (default: the webhook's name)."}
	return map[string]any{"type": "object", "additionalProperties": false, "properties": props}
}

var notifier = chatnotify.Notifier{
	Provider: "discord", Strong: "**", Post: post,
	Settings: func(s any) chatnotify.Settings { v, _ := s.(Settings); return v.Settings },
}

// Actions are the shared chat notifications.
func (*Connector) Actions() map[string]providers.Action { return notifier.Actions() }

// ReminderHours is hours_before of the reminder settings (0: off).
func (*Connector) ReminderHours(settings any) int { return notifier.ReminderHours(settings) }

// Remind posts the reminder of an event.
func (*Connector) Remind(ctx context.Context, rt *providers.Runtime, e providers.AqioEvent) (providers.Result, error) {
	return notifier.Remind(ctx, rt, e)
}

// Authorize sends nothing: a webhook's token is in its URL, and the
// OAuth access token is never needed after the webhook was granted.
func (*Connector) Authorize(*http.Request, providers.Credentials) {}

// CheckCredentials checks a pasted webhook URL: its form, then one GET
// of the webhook (401/404: refused, nothing saved).
func (*Connector) CheckCredentials(ctx context.Context, rt *providers.Runtime) error {
	h, pasted, err := hookOf(rt)
	if err != nil || !pasted {
		return err
	}
	if _, err := GetWebhook(ctx, rt, h); err != nil {
		if pe, ok := providers.AsError(err); ok && pe.Kind == providers.KindAuth {
			return &providers.SettingsError{Field: "credentials.webhook_url", Message: "Discord refused the webhook: " + pe.Message}
		}
		return err
	}
	return nil
}

// Revoke on disconnect: an OAuth connection deletes the webhook it
// created and revokes the grant; a pasted webhook belongs to the user
// and is left alone.
func (*Connector) Revoke(ctx context.Context, rt *providers.Runtime) error {
	h, pasted, err := hookOf(rt)
	if pasted {
		return nil
	}
	if err == nil {
		if err := DeleteWebhook(ctx, rt, h); err != nil {
			return err
		}
	}
	return revokeToken(ctx, rt)
}

// color is Discord's blurple.
const color = 0x5865F2

// post renders a notification as one embed and posts it.
func post(ctx context.Context, rt *providers.Runtime, m chatnotify.Message) (providers.Result, error) {
	h, _, err := hookOf(rt)
	if err != nil {
		return providers.Result{}, err
	}
	set := providers.SettingsOf[Settings](rt)
	e := Embed{Title: truncate(m.Event.Title, 256), Description: truncate(m.Text, 4096), Color: color,
		Footer: &EmbedFooter{Text: "Aqio"}}
	if strings.HasPrefix(m.Event.URL, "https://") || strings.HasPrefix(m.Event.URL, "http://") {
		e.URL = m.Event.URL
	}
	if start, _, ok := m.Event.Times(); ok {
		e.Timestamp = start.UTC().Format(time.RFC3339)
		e.Fields = append(e.Fields, EmbedField{Name: "Starts", Value: fmt.Sprintf("<t:%d:F>", start.Unix()), Inline: true})
	}
	if m.Event.Location != "" {
		e.Fields = append(e.Fields, EmbedField{Name: "Location", Value: truncate(m.Event.Location, 1024), Inline: true})
	}
	if c := m.Vars["registration_count"]; c != "" {
		e.Fields = append(e.Fields, EmbedField{Name: "Registrations", Value: c + "/" + m.Vars["max_attendees"], Inline: true})
	}
	if e.Title == "" {
		e.Title = "Aqio"
	}
	posted, err := Execute(ctx, rt, h, ExecuteBody{Username: strings.TrimSpace(set.Username), Embeds: []Embed{e}})
	if err != nil {
		return providers.Result{}, err
	}
	return providers.Result{Action: "posted", ExternalID: posted.ID, Detail: "channel " + posted.ChannelID}, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Discord JSON error codes Aqio names.
var errorCodes = map[int]string{
	10015: "unknown_webhook", 50027: "invalid_webhook_token", 50035: "invalid_form_body",
	50006: "empty_message", 50001: "missing_access", 50013: "missing_permissions", 40001: "unauthorized",
}

// Classify reads a Discord answer: 429 waits retry_after (body, or the
// Retry-After / X-RateLimit-Reset-After headers, whichever is longer;
// code global_rate_limited for the global limit); 401, 403 and 404 are
// auth failures (the webhook was deleted or its token is wrong: the
// integration goes to error, nothing is retried); 5xx retry; other 4xx
// (a form error) are permanent.
func (*Connector) Classify(resp *http.Response, body []byte) *providers.Error {
	return Classify(resp, body)
}

// Classify is the connector's classifier (see Connector.Classify).
func Classify(resp *http.Response, body []byte) *providers.Error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	var env struct {
		Code       *int            `json:"code"`
		Message    string          `json:"message"`
		RetryAfter *float64        `json:"retry_after"`
		Global     bool            `json:"global"`
		Errors     json.RawMessage `json:"errors"`
	}
	_ = json.Unmarshal(body, &env)
	e := &providers.Error{Provider: "discord", Status: resp.StatusCode, Code: "http_" + strconv.Itoa(resp.StatusCode), Message: env.Message}
	if env.Code != nil {
		if name, ok := errorCodes[*env.Code]; ok {
			e.Code = name
		}
	}
	if len(env.Errors) > 0 && string(env.Errors) != "null" {
		e.Message += " " + truncate(string(env.Errors), 300)
	}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests:
		e.Kind, e.Code = providers.KindRateLimited, "rate_limited"
		if env.Global || strings.EqualFold(resp.Header.Get("X-RateLimit-Global"), "true") {
			e.Code = "global_rate_limited"
		}
		e.RetryAfter = providers.RetryDelay(resp.Header, rateLimit, time.Now())
		if env.RetryAfter != nil {
			e.RetryAfter = max(e.RetryAfter, time.Duration(*env.RetryAfter*float64(time.Second)))
		}
	case s == http.StatusUnauthorized || s == http.StatusForbidden || s == http.StatusNotFound:
		e.Kind, e.Field = providers.KindAuth, "credentials.webhook_url"
		if e.Message == "" {
			e.Message = "Discord refused the webhook"
		}
		e.Message += "; reconnect the integration with a working webhook"
	case s >= 500 || s == http.StatusRequestTimeout:
		e.Kind = providers.KindRetryable
	default:
		e.Kind = providers.KindPermanent
	}
	if e.Message == "" {
		e.Message = truncate(strings.TrimSpace(string(body)), 300)
	}
	return e
}
