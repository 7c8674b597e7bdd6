// Package teamschannel is the Microsoft Teams channel-messages
// connector: the shared chat notifications (providers/chatnotify)
// posted as Adaptive Cards to a Teams **Workflows** webhook (Office 365
// connector webhooks are retired). The webhook URL carries its own
// signature, so there is no OAuth: the user pastes the URL (connect mode
// webhook_url). Its type, teams_channel, is distinct from the Teams
// meetings connection (teams), so both can exist for one owner.
package teamschannel

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/chatnotify"
)

// Connector is the Teams channel-messages connector.
type Connector struct{}

// New returns the connector.
func New() *Connector { return &Connector{} }

// Info is the catalog entry: a pasted Workflows webhook URL.
func (*Connector) Info() providers.Info {
	return providers.Info{
		DataSent:  []string{"event title, start time and location", "Aqio event page link", "registration counts and milestones (no registrant names or emails)"},
		NoErasure: "chat messages already posted are not tracked per person; delete them in the workspace if they named the person",
		Type:      "teams_channel", DisplayName: "Microsoft Teams (channel messages)", Auth: providers.AuthWebhookURL, Available: true,
		CredentialFields: []providers.CredentialField{{Name: "webhook_url", Required: true, Secret: true,
			Description: "the Workflows webhook URL (channel → Workflows → \"Post to a channel when a webhook request is received\" → copy the URL)"}},
	}
}

// Settings are the shared chat notification settings.
type Settings struct {
	chatnotify.Settings
}

// ParseSettings decodes and validates the settings.
func (*Connector) ParseSettings(raw []byte) (any, error) {
	var s Settings
	if err := providers.DecodeSettings(raw, &s); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// SettingsSchema is the JSON Schema of the settings.
func (*Connector) SettingsSchema() map[string]any {
	return map[string]any{"type": "object", "additionalProperties": false,
		"properties": chatnotify.SchemaProperties("docs/integrations/teams-channel.md")}
}

var notifier = chatnotify.Notifier{
	Provider: "teams_channel", Strong: "**", Post: post,
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

// workflowHosts are the host suffixes of Workflows webhook URLs (Logic
// Apps regions and Power Platform environments).
var workflowHosts = []string{".logic.azure.com", ".api.powerplatform.com"}

// ParseWebhookURL checks a pasted Workflows webhook URL: https on a
// Workflows host (or below apiBase when AQIO_TEAMS_CHANNEL_API_URL is
// configured, for tests and proxies), a manual-trigger invoke path and a
// signature.
func ParseWebhookURL(raw, apiBase string, baseConfigured bool) (*url.URL, error) {
	bad := &providers.SettingsError{Field: "credentials.webhook_url",
		Message: "must be a Teams Workflows webhook URL (https://….logic.azure.com/workflows/…/triggers/manual/paths/invoke?…&sig=… or a Power Platform environment URL)"}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.User != nil || u.Query().Get("sig") == "" || !strings.Contains(u.Path, "/workflows/") ||
		!strings.HasSuffix(u.Path, "/triggers/manual/paths/invoke") {
		return nil, bad
	}
	host := strings.ToLower(u.Hostname())
	official := false
	for _, s := range workflowHosts {
		official = official || strings.HasSuffix(host, s)
	}
	official = official && u.Scheme == "https"
	below := baseConfigured && apiBase != "" && strings.HasPrefix(u.String(), strings.TrimRight(apiBase, "/")+"/")
	if !official && !below {
		return nil, bad
	}
	return u, nil
}

// CheckCredentials checks the URL's form, then posts one "connected"
// card: a Workflows webhook has no read-only call, and the card tells the
// channel where Aqio's notifications will come from. Refused (wrong
// signature, deleted flow): a 422 naming credentials.webhook_url.
func (*Connector) CheckCredentials(ctx context.Context, rt *providers.Runtime) error {
	u, err := ParseWebhookURL(rt.Credentials.Fields["webhook_url"], rt.APIBaseURL, rt.Provider.APIBaseConfigured)
	if err != nil {
		return err
	}
	card := Card("Aqio is connected", "Event notifications from Aqio will be posted in this channel.", nil, "")
	if _, err := send(ctx, rt, u, card); err != nil {
		if pe, ok := providers.AsError(err); ok && (pe.Kind == providers.KindAuth || pe.Kind == providers.KindPermanent) {
			return &providers.SettingsError{Field: "credentials.webhook_url", Message: "Teams refused the webhook: " + pe.Message}
		}
		return err
	}
	return nil
}

// Fact is one row of an Adaptive Card FactSet.
type Fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// Card is an Adaptive Card (1.4) with a title, text, facts and an
// "Open in Aqio" action.
func Card(title, text string, facts []Fact, link string) map[string]any {
	body := []any{
		map[string]any{"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": true},
		map[string]any{"type": "TextBlock", "text": text, "wrap": true},
	}
	if len(facts) > 0 {
		body = append(body, map[string]any{"type": "FactSet", "facts": facts})
	}
	card := map[string]any{"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
		"version": "1.4", "body": body, "msteams": map[string]any{"width": "Full"}}
	if link != "" {
		card["actions"] = []any{map[string]any{"type": "Action.OpenUrl", "title": "Open in Aqio", "url": link}}
	}
	return card
}

func post(ctx context.Context, rt *providers.Runtime, m chatnotify.Message) (providers.Result, error) {
	u, err := ParseWebhookURL(rt.Credentials.Fields["webhook_url"], rt.APIBaseURL, rt.Provider.APIBaseConfigured)
	if err != nil {
		return providers.Result{}, &providers.Error{Provider: "teams_channel", Kind: providers.KindAuth, Code: "invalid_webhook_url",
			Field: "credentials.webhook_url", Message: err.Error()}
	}
	var facts []Fact
	if start, _, ok := m.Event.Times(); ok {
		facts = append(facts, Fact{"Starts", start.UTC().Format("Mon 2 Jan 2006 15:04 MST")})
	}
	if m.Event.Location != "" {
		facts = append(facts, Fact{"Location", m.Event.Location})
	}
	if c := m.Vars["registration_count"]; c != "" {
		facts = append(facts, Fact{"Registrations", c + "/" + m.Vars["max_attendees"]})
	}
	link := ""
	if strings.HasPrefix(m.Event.URL, "https://") || strings.HasPrefix(m.Event.URL, "http://") {
		link = m.Event.URL
	}
	title := m.Event.Title
	if title == "" {
		title = "Aqio"
	}
	run, err := send(ctx, rt, u, Card(title, m.Text, facts, link))
	if err != nil {
		return providers.Result{}, err
	}
	return providers.Result{Action: "posted", ExternalID: run, Detail: "workflow run"}, nil
}

// send posts one card; the answer is 202 with the run id in x-ms-workflow-run-id.
func send(ctx context.Context, rt *providers.Runtime, u *url.URL, card map[string]any) (string, error) {
	msg := map[string]any{"type": "message", "attachments": []any{map[string]any{
		"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": card}}}
	req, err := providers.JSONRequest(ctx, http.MethodPost, u.String(), msg)
	if err != nil {
		return "", err
	}
	resp, _, err := rt.Do(req)
	if err != nil {
		return "", err
	}
	return resp.Header.Get("x-ms-workflow-run-id"), nil
}

// Classify reads a Workflows answer ({"error":{"code","message"}}): 429
// waits Retry-After; 401, 403 and 404 mean the signature is wrong or the
// flow was deleted or turned off (auth: the integration goes to error);
// 5xx retry; other 4xx are permanent.
func (*Connector) Classify(resp *http.Response, body []byte) *providers.Error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &env)
	e := &providers.Error{Provider: "teams_channel", Status: resp.StatusCode, Code: env.Error.Code, Message: env.Error.Message}
	if e.Code == "" {
		e.Code = "http_" + strconv.Itoa(resp.StatusCode)
	}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests:
		e.Kind = providers.KindRateLimited
		e.RetryAfter = providers.RetryDelay(resp.Header, providers.RateLimitHeaders{}, time.Now())
	case s == http.StatusUnauthorized || s == http.StatusForbidden || s == http.StatusNotFound:
		e.Kind, e.Field = providers.KindAuth, "credentials.webhook_url"
	case s >= 500 || s == http.StatusRequestTimeout:
		e.Kind = providers.KindRetryable
	default:
		e.Kind = providers.KindPermanent
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 300 {
			e.Message = e.Message[:300]
		}
	}
	return e
}
