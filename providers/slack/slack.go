// Package slack is a thin client for the Slack Web API calls Aqio uses:
// chat.postMessage with Block Kit and incoming webhooks. Slack's
// {"ok":false,"error":…} answers become classified *providers.Error values.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aqio/connect/providers"
)

// Client calls the Slack Web API at BaseURL (https://slack.com/api).
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

// Block is a Block Kit block.
type Block map[string]any

// Message is a chat.postMessage request.
type Message struct {
	Channel string  `json:"channel,omitempty"`
	Text    string  `json:"text"`
	Blocks  []Block `json:"blocks,omitempty"`
}

// Section is a mrkdwn section block.
func Section(text string) Block {
	return Block{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}}
}

// Context is a context block with one mrkdwn element.
func Context(text string) Block {
	return Block{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": text}}}
}

// Posted is a posted message.
type Posted struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// PostMessage posts msg with a bot token.
func (c *Client) PostMessage(ctx context.Context, token string, msg Message) (Posted, error) {
	body, _ := json.Marshal(msg)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/chat.postMessage", bytes.NewReader(body))
	if err != nil {
		return Posted{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Posted{}, &providers.Error{Provider: "slack", Kind: providers.KindRetryable, Code: "transport", Message: err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out struct {
		OK      bool   `json:"ok"`
		Error   string `json:"error"`
		Channel string `json:"channel"`
		TS      string `json:"ts"`
	}
	_ = json.Unmarshal(raw, &out)
	if resp.StatusCode == http.StatusOK && out.OK {
		return Posted{Channel: out.Channel, TS: out.TS}, nil
	}
	code := out.Error
	if code == "" {
		code = fmt.Sprintf("http_%d", resp.StatusCode)
	}
	return Posted{}, classify(code, resp)
}

// PostWebhook posts msg to an incoming-webhook URL (the channel is fixed
// by the webhook). Incoming webhooks answer "ok" or a plain-text error.
func (c *Client) PostWebhook(ctx context.Context, webhookURL string, msg Message) error {
	msg.Channel = ""
	body, _ := json.Marshal(msg)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return &providers.Error{Provider: "slack", Kind: providers.KindPermanent, Code: "invalid_webhook_url"}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return &providers.Error{Provider: "slack", Kind: providers.KindRetryable, Code: "transport", Message: err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return classify(strings.TrimSpace(string(raw)), resp)
}

// Revoke revokes a token (auth.revoke).
func (c *Client) Revoke(ctx context.Context, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/auth.revoke", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return &providers.Error{Provider: "slack", Kind: providers.KindRetryable, Code: "transport", Message: err.Error()}
	}
	defer resp.Body.Close()
	var out struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&out)
	if out.OK || out.Error == "invalid_auth" || out.Error == "token_revoked" {
		return nil
	}
	return classify(out.Error, resp)
}

// authErrors mean the credential is dead: reconnect. token_expired is
// not here (the runtime refreshes and retries); no_permission is not
// either (the bot is not in the channel — a settings problem).
var authErrors = map[string]bool{
	"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true,
	"missing_scope": true, "invalid_token": true, "no_service": true, "team_disabled": true, "no_team": true,
}

var retryableErrors = map[string]bool{
	"internal_error": true, "fatal_error": true, "service_unavailable": true, "request_timeout": true,
}

// Classify reads a Slack answer: Web API methods answer HTTP 200 with
// {"ok":false,"error":…}; incoming webhooks answer "ok" or a plain-text
// error code with a 4xx status.
func Classify(resp *http.Response, body []byte) *providers.Error {
	var env struct {
		OK    *bool  `json:"ok"`
		Error string `json:"error"`
	}
	isJSON := json.Unmarshal(body, &env) == nil && env.OK != nil
	if resp.StatusCode == http.StatusOK && (!isJSON || *env.OK) {
		return nil
	}
	code := env.Error
	if !isJSON {
		code = strings.TrimSpace(string(body))
		if len(code) > 64 || strings.ContainsAny(code, " <{") {
			code = ""
		}
	}
	if code == "" {
		code = fmt.Sprintf("http_%d", resp.StatusCode)
	}
	return classify(code, resp)
}

func classify(code string, resp *http.Response) *providers.Error {
	e := &providers.Error{Provider: "slack", Code: code, Status: resp.StatusCode, Message: describe(code)}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || code == "ratelimited" || code == "rate_limited":
		e.Kind = providers.KindRateLimited
		e.RetryAfter = providers.RetryDelay(resp.Header, providers.RateLimitHeaders{}, time.Now())
	case code == "token_expired":
		e.Kind = providers.KindExpired
	case authErrors[code]:
		e.Kind = providers.KindAuth
	case retryableErrors[code] || resp.StatusCode >= 500:
		e.Kind = providers.KindRetryable
	default:
		e.Kind = providers.KindPermanent
	}
	switch code {
	case "channel_not_found", "not_in_channel", "no_permission", "is_archived", "channel_is_archived":
		e.Field = "settings.channel"
	}
	return e
}

func describe(code string) string {
	switch code {
	case "channel_not_found":
		return "the channel does not exist or the app cannot see it; check settings.channel"
	case "not_in_channel", "no_permission":
		return "the app is not a member of the channel; invite it to the channel (or grant chat:write.public)"
	case "no_service":
		return "the incoming webhook was removed or disabled in Slack; reconnect the integration"
	case "not_authed":
		return "no Slack token was sent; reconnect the integration"
	case "is_archived":
		return "the channel is archived"
	case "token_expired":
		return "the Slack token expired; it is refreshed and the call retried"
	case "invalid_auth", "token_revoked", "account_inactive":
		return "the Slack token is no longer valid; reconnect the integration"
	case "ratelimited":
		return "Slack rate limit reached"
	}
	return code
}
