package slack

import (
	"net/http"

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

// pushEvents are the Aqio events Slack reacts to.
var pushEvents = []string{"event.created", "event.updated", "event.published", "event.cancelled",
	"registration.created", "registration.confirmed", "registration.cancelled"}

// Actions are Slack's pushes by event type.
func (c *Connector) Actions() map[string]providers.Action {
	m := map[string]providers.Action{}
	for _, t := range pushEvents {
		m[t] = nil
	}
	return m
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
