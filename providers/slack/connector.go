package slack

import (
	"context"
	"net/http"
	"strings"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/chatnotify"
)

// Connector is the Slack connector.
type Connector struct{}

// New returns the Slack connector.
func New() *Connector { return &Connector{} }

// Info is Slack's catalog entry: OAuth v2 with token rotation (bot tokens
// last 12 hours, every refresh returns a new refresh token).
func (*Connector) Info() providers.Info {
	return providers.Info{
		DataSent:  []string{"event title, start time and location", "Aqio event page link", "registration counts and milestones (no registrant names or emails)"},
		NoErasure: "chat messages already posted are not tracked per person; delete them in the workspace if they named the person",
		Type:      "slack", DisplayName: "Slack", Auth: providers.AuthOAuth2, Available: true,
		APIBaseURL: "https://slack.com/api",
		OAuth: &providers.OAuthInfo{
			AuthURL: "https://slack.com/oauth/v2/authorize", TokenURL: "https://slack.com/api/oauth.v2.access",
			RevokeURL: "https://slack.com/api/auth.revoke", ClientAuth: providers.ClientAuthBody,
			RotatesRefreshTokens: true, TokensExpire: true,
			TokenExtras:   []string{"incoming_webhook", "team", "bot_user_id", "app_id"},
			DefaultScopes: []string{"chat:write", "chat:write.public", "incoming-webhook"}, ScopeSeparator: ",",
		},
		// The incoming webhook's URL is a credential (its path is the secret).
		SecretExtras: []string{"incoming_webhook"},
	}
}

// ParseSettings decodes and validates Slack settings.
func (*Connector) ParseSettings(raw []byte) (any, error) { return ParseSettings(raw) }

// TokenTransport turns Slack's 200 {"ok":false} token answers into RFC 6749 errors.
func (*Connector) TokenTransport(next http.RoundTripper) http.RoundTripper {
	return okTransport{next: next}
}

// notifier is the shared chat notifications, posted to Slack.
var notifier = chatnotify.Notifier{
	Provider: "slack", Strong: "*", Post: post,
	Settings: func(s any) chatnotify.Settings { v, _ := s.(Settings); return v.Settings },
}

// Actions are the shared chat notifications (providers/chatnotify).
func (*Connector) Actions() map[string]providers.Action { return notifier.Actions() }

// Revoke revokes the bot token at Slack.
func (*Connector) Revoke(ctx context.Context, rt *providers.Runtime) error { return revoke(ctx, rt) }

// ReminderHours is hours_before of the reminder settings (0: off).
func (*Connector) ReminderHours(settings any) int { return notifier.ReminderHours(settings) }

// Remind posts the reminder of an event.
func (*Connector) Remind(ctx context.Context, rt *providers.Runtime, e providers.AqioEvent) (providers.Result, error) {
	return notifier.Remind(ctx, rt, e)
}

// Authorize sends the bot token to the Web API, never to incoming-webhook URLs.
func (*Connector) Authorize(req *http.Request, c providers.Credentials) {
	if strings.Contains(req.URL.Path, "/hooks/") || c.AccessToken == "" {
		return
	}
	req.Header.Set("Authorization", "Bearer "+c.AccessToken)
}

// post sends to settings.channel with the bot token, or through the
// incoming webhook granted at install when no channel is set.
func post(ctx context.Context, rt *providers.Runtime, n chatnotify.Message) (providers.Result, error) {
	set := providers.SettingsOf[Settings](rt)
	text := n.Text
	msg := Message{Channel: set.Channel, Text: text, Blocks: []Block{Section(text)}}
	if u := n.Event.URL; u != "" {
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
	props := chatnotify.SchemaProperties("docs/integrations/slack.md")
	props["channel"] = map[string]any{"type": "string", "pattern": `^[#@]?[A-Za-z0-9._-]{1,80}$`,
		"description": "Channel name (#events) or id; empty posts through the incoming webhook chosen at install."}
	return map[string]any{"type": "object", "additionalProperties": false, "properties": props}
}

// Classify reads Slack's answers (see the package function).
func (*Connector) Classify(resp *http.Response, body []byte) *providers.Error {
	return Classify(resp, body)
}
