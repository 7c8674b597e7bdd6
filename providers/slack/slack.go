// Package slack is the Slack connector: event and registration-milestone
// notifications and durable reminders posted with chat.postMessage (Block
// Kit) or the incoming webhook chosen at install. Slack's
// {"ok":false,"error":…} answers become classified *providers.Error values.
package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aqio/connect/providers"
)

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

// PostMessage posts msg with the bot token (chat.postMessage).
func PostMessage(ctx context.Context, rt *providers.Runtime, msg Message) (Posted, error) {
	req, err := providers.JSONRequest(ctx, http.MethodPost, strings.TrimRight(rt.APIBaseURL, "/")+"/chat.postMessage", msg)
	if err != nil {
		return Posted{}, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	_, body, err := rt.Do(req)
	if err != nil {
		return Posted{}, err
	}
	var out Posted
	_ = json.Unmarshal(body, &out)
	return out, nil
}

// PostWebhook posts msg to an incoming-webhook URL (the channel is fixed
// by the webhook). Incoming webhooks answer "ok" or a plain-text error.
func PostWebhook(ctx context.Context, rt *providers.Runtime, webhookURL string, msg Message) error {
	msg.Channel = ""
	req, err := providers.JSONRequest(ctx, http.MethodPost, webhookURL, msg)
	if err != nil {
		return err
	}
	_, _, err = rt.Do(req)
	return err
}

// revoke revokes the bot token (auth.revoke); an already dead token is success.
func revoke(ctx context.Context, rt *providers.Runtime) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(rt.APIBaseURL, "/")+"/auth.revoke", nil)
	if err != nil {
		return err
	}
	_, _, err = rt.Do(req)
	if pe, ok := providers.AsError(err); ok && (pe.Code == "invalid_auth" || pe.Code == "token_revoked" || pe.Code == "token_expired" || pe.Code == "not_authed") {
		return nil
	}
	return err
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
