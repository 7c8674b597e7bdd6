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
	"strconv"
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

var authErrors = map[string]bool{
	"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true,
	"token_expired": true, "no_permission": true, "missing_scope": true, "invalid_token": true,
}

var retryableErrors = map[string]bool{
	"internal_error": true, "fatal_error": true, "service_unavailable": true, "request_timeout": true,
}

func classify(code string, resp *http.Response) *providers.Error {
	e := &providers.Error{Provider: "slack", Code: code, Status: resp.StatusCode, Message: describe(code)}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || code == "ratelimited" || code == "rate_limited":
		e.Kind = providers.KindRateLimited
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
	case authErrors[code]:
		e.Kind = providers.KindAuth
	case retryableErrors[code] || resp.StatusCode >= 500:
		e.Kind = providers.KindRetryable
	default:
		e.Kind = providers.KindPermanent
	}
	return e
}

func describe(code string) string {
	switch code {
	case "channel_not_found":
		return "the channel does not exist or the app cannot see it; check settings.channel"
	case "not_in_channel":
		return "the app is not a member of the channel; invite it or grant chat:write.public"
	case "is_archived":
		return "the channel is archived"
	case "invalid_auth", "token_revoked", "token_expired", "account_inactive":
		return "the Slack token is no longer valid; reconnect the integration"
	case "ratelimited":
		return "Slack rate limit reached"
	}
	return code
}
