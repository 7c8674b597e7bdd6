// Package discord is the Discord connector: the shared chat
// notifications (providers/chatnotify) posted as embeds through a
// channel's incoming webhook. The webhook is the lasting credential: it
// comes from the OAuth token response of the webhook.incoming scope (no
// refresh loop), or the user pastes its URL. Discord's per-route
// rate-limit headers and 429 {"retry_after","global"} answers slow
// pushes down; 401, 403 and 404 stop at once and mark the integration
// error, because Discord bans clients that keep sending invalid requests.
package discord

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/aqio/connect/providers"
)

// Hook is an incoming webhook: its id and token (the secret part of its URL).
type Hook struct {
	ID    string `json:"id"`
	Token string `json:"token"`
	// ChannelID and GuildID say where it posts (from Get or the token response).
	ChannelID string `json:"channel_id,omitempty"`
	GuildID   string `json:"guild_id,omitempty"`
	Name      string `json:"name,omitempty"`
}

// discordHosts serve the public API (webhook URLs copied from the
// client use any of them).
var discordHosts = map[string]bool{
	"discord.com": true, "discordapp.com": true, "ptb.discord.com": true, "canary.discord.com": true,
}

var hookPath = regexp.MustCompile(`/webhooks/([0-9]{5,25})/([A-Za-z0-9_-]{20,200})/?$`)

// ParseWebhookURL reads a pasted webhook URL. It must be a Discord
// webhook URL (https on a Discord host), or lie below apiBase when the
// API URL is configured (a test or proxy). Requests never go to the
// pasted host: they are rebuilt on the API base from id and token.
func ParseWebhookURL(raw, apiBase string, baseConfigured bool) (Hook, error) {
	bad := &providers.SettingsError{Field: "credentials.webhook_url",
		Message: "must be a Discord webhook URL like https://discord.com/api/webhooks/<id>/<token> (channel settings → Integrations → Webhooks → Copy Webhook URL)"}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return Hook{}, bad
	}
	official := u.Scheme == "https" && discordHosts[strings.ToLower(u.Hostname())] && u.Port() == "" &&
		(strings.HasPrefix(u.Path, "/api/webhooks/") || regexp.MustCompile(`^/api/v[0-9]+/webhooks/`).MatchString(u.Path))
	below := baseConfigured && strings.HasPrefix(u.String(), strings.TrimRight(apiBase, "/")+"/webhooks/")
	m := hookPath.FindStringSubmatch(u.Path)
	if m == nil || (!official && !below) {
		return Hook{}, bad
	}
	return Hook{ID: m[1], Token: m[2]}, nil
}

// hookOf is the integration's webhook: the pasted URL, or the token
// response's webhook object.
func hookOf(rt *providers.Runtime) (Hook, bool, error) {
	if raw := rt.Credentials.Fields["webhook_url"]; raw != "" {
		h, err := ParseWebhookURL(raw, rt.APIBaseURL, rt.Provider.APIBaseConfigured)
		return h, true, err
	}
	var h Hook
	if w, ok := rt.Credentials.Extra["webhook"]; ok {
		b, _ := json.Marshal(w)
		_ = json.Unmarshal(b, &h)
	}
	if h.ID == "" || h.Token == "" {
		return Hook{}, false, &providers.Error{Provider: "discord", Kind: providers.KindAuth, Code: "no_webhook",
			Message: "the connection holds no Discord webhook; reconnect the integration"}
	}
	return h, false, nil
}

func hookURL(rt *providers.Runtime, h Hook) string {
	return strings.TrimRight(rt.APIBaseURL, "/") + "/webhooks/" + url.PathEscape(h.ID) + "/" + url.PathEscape(h.Token)
}

// Embed is a Discord embed.
type Embed struct {
	Title       string       `json:"title,omitempty"`
	Description string       `json:"description,omitempty"`
	URL         string       `json:"url,omitempty"`
	Color       int          `json:"color,omitempty"`
	Timestamp   string       `json:"timestamp,omitempty"`
	Fields      []EmbedField `json:"fields,omitempty"`
	Footer      *EmbedFooter `json:"footer,omitempty"`
}

// EmbedField is one name/value pair of an embed.
type EmbedField struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline,omitempty"`
}

// EmbedFooter is an embed's footer.
type EmbedFooter struct {
	Text string `json:"text"`
}

// ExecuteBody is the Execute Webhook request.
type ExecuteBody struct {
	Content  string  `json:"content,omitempty"`
	Username string  `json:"username,omitempty"`
	Embeds   []Embed `json:"embeds,omitempty"`
	// AllowedMentions is {"parse":[]}: event titles never ping anyone.
	AllowedMentions map[string]any `json:"allowed_mentions"`
}

// Posted is the message Execute Webhook answers with ?wait=true.
type Posted struct {
	ID        string `json:"id"`
	ChannelID string `json:"channel_id"`
}

// Execute posts through the webhook with ?wait=true (Discord confirms
// the message and returns its id instead of 204).
func Execute(ctx context.Context, rt *providers.Runtime, h Hook, body ExecuteBody) (Posted, error) {
	if body.AllowedMentions == nil {
		body.AllowedMentions = map[string]any{"parse": []string{}}
	}
	req, err := providers.JSONRequest(ctx, http.MethodPost, hookURL(rt, h)+"?wait=true", body)
	if err != nil {
		return Posted{}, err
	}
	_, raw, err := rt.Do(req)
	if err != nil {
		return Posted{}, err
	}
	var out Posted
	_ = json.Unmarshal(raw, &out)
	return out, nil
}

// GetWebhook reads the webhook with its token (one cheap call that
// proves the URL is alive).
func GetWebhook(ctx context.Context, rt *providers.Runtime, h Hook) (Hook, error) {
	req, err := providers.JSONRequest(ctx, http.MethodGet, hookURL(rt, h), nil)
	if err != nil {
		return Hook{}, err
	}
	_, raw, err := rt.Do(req)
	if err != nil {
		return Hook{}, err
	}
	var out Hook
	_ = json.Unmarshal(raw, &out)
	return out, nil
}

// DeleteWebhook deletes the webhook with its token; already gone is success.
func DeleteWebhook(ctx context.Context, rt *providers.Runtime, h Hook) error {
	req, err := providers.JSONRequest(ctx, http.MethodDelete, hookURL(rt, h), nil)
	if err != nil {
		return err
	}
	_, _, err = rt.Do(req)
	if pe, ok := providers.AsError(err); ok && (pe.Status == http.StatusNotFound || pe.Status == http.StatusUnauthorized) {
		return nil
	}
	return err
}

// revokeToken revokes the OAuth grant (RFC 7009 form with the client
// credentials as HTTP Basic); an unknown or already revoked token is success.
func revokeToken(ctx context.Context, rt *providers.Runtime) error {
	tok, hint := rt.Credentials.RefreshToken, "refresh_token"
	if tok == "" {
		tok, hint = rt.Credentials.AccessToken, "access_token"
	}
	if tok == "" || rt.Provider.OAuth == nil || rt.Provider.OAuth.RevokeURL == "" {
		return nil
	}
	form := url.Values{"token": {tok}, "token_type_hint": {hint}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rt.Provider.OAuth.RevokeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(rt.Provider.ClientID), url.QueryEscape(rt.Provider.ClientSecret))
	_, _, err = rt.Do(req)
	if pe, ok := providers.AsError(err); ok && pe.Status == http.StatusBadRequest {
		return nil
	}
	return err
}
