// Package hubspot is the HubSpot connector: registrations become contacts
// (batch upsert by email, with the settings' property mapping),
// payment.completed creates a deal associated with the contact (once per
// payment), and attendance is recorded on the contact through HubSpot's
// marketing events (register / attend / cancel). This file is the thin
// REST client; connector.go is the connector.
package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aqio/connect/providers"
)

// RateLimit names HubSpot's rate-limit headers (100 requests per 10 s per
// portal for OAuth apps; no Retry-After on 429).
var RateLimit = providers.RateLimitHeaders{
	Remaining:      "X-HubSpot-RateLimit-Remaining",
	IntervalMillis: "X-HubSpot-RateLimit-Interval-Milliseconds",
}

// Client calls the HubSpot API at BaseURL (https://api.hubapi.com) with
// HTTP, which must authenticate requests (Runtime.HTTP does; tests use
// BearerClient).
type Client struct {
	BaseURL string
	HTTP    *http.Client
	// Now is the clock for rate-limit delays (default time.Now).
	Now func() time.Time
}

// Property is a contact property of the portal.
type Property struct {
	Name     string `json:"name"`
	Label    string `json:"label"`
	Type     string `json:"type"`
	Hidden   bool   `json:"hidden"`
	ReadOnly bool   `json:"-"`
}

// ContactProperties lists the portal's contact properties
// (GET /crm/v3/properties/contacts).
func (c *Client) ContactProperties(ctx context.Context) ([]Property, error) {
	var out struct {
		Results []struct {
			Property
			Meta struct {
				ReadOnlyValue bool `json:"readOnlyValue"`
			} `json:"modificationMetadata"`
		} `json:"results"`
	}
	if err := c.call(ctx, http.MethodGet, "/crm/v3/properties/contacts", nil, &out); err != nil {
		return nil, err
	}
	props := make([]Property, len(out.Results))
	for i, r := range out.Results {
		props[i] = r.Property
		props[i].ReadOnly = r.Meta.ReadOnlyValue
	}
	return props, nil
}

// ContactInput is one contact to upsert, identified by email.
type ContactInput struct {
	Email      string
	Properties map[string]string
}

// UpsertedContact is one upserted contact.
type UpsertedContact struct {
	ID    string
	Email string
	New   bool
}

// MaxBatch is the most inputs one batch call takes.
const MaxBatch = 100

// UpsertContacts creates or updates contacts by email
// (POST /crm/v3/objects/contacts/batch/upsert with idProperty email).
// HubSpot refuses the whole batch when a property is invalid.
func (c *Client) UpsertContacts(ctx context.Context, in []ContactInput) ([]UpsertedContact, error) {
	if len(in) == 0 || len(in) > MaxBatch {
		return nil, fmt.Errorf("hubspot: upsert takes 1 to %d contacts, not %d", MaxBatch, len(in))
	}
	type input struct {
		IDProperty string            `json:"idProperty"`
		ID         string            `json:"id"`
		Properties map[string]string `json:"properties"`
	}
	body := struct {
		Inputs []input `json:"inputs"`
	}{}
	for _, ci := range in {
		props := map[string]string{}
		for k, v := range ci.Properties {
			props[k] = v
		}
		body.Inputs = append(body.Inputs, input{IDProperty: "email", ID: ci.Email, Properties: props})
	}
	var out struct {
		Results []struct {
			ID         string            `json:"id"`
			New        bool              `json:"new"`
			Properties map[string]string `json:"properties"`
		} `json:"results"`
	}
	if err := c.call(ctx, http.MethodPost, "/crm/v3/objects/contacts/batch/upsert", body, &out); err != nil {
		return nil, err
	}
	res := make([]UpsertedContact, 0, len(out.Results))
	for _, r := range out.Results {
		res = append(res, UpsertedContact{ID: r.ID, Email: strings.ToLower(r.Properties["email"]), New: r.New})
	}
	return res, nil
}

// DealToContact is HubSpot's association type id of deal → contact.
const DealToContact = 3

// DealInput is a deal to create.
type DealInput struct {
	Properties map[string]string
	// ContactID associates the deal with a contact when set.
	ContactID string
}

// CreateDeal creates a deal (POST /crm/v3/objects/deals) and returns its id.
func (c *Client) CreateDeal(ctx context.Context, in DealInput) (string, error) {
	type assocType struct {
		Category string `json:"associationCategory"`
		TypeID   int    `json:"associationTypeId"`
	}
	type assoc struct {
		To struct {
			ID string `json:"id"`
		} `json:"to"`
		Types []assocType `json:"types"`
	}
	body := struct {
		Properties   map[string]string `json:"properties"`
		Associations []assoc           `json:"associations,omitempty"`
	}{Properties: in.Properties}
	if in.ContactID != "" {
		a := assoc{Types: []assocType{{Category: "HUBSPOT_DEFINED", TypeID: DealToContact}}}
		a.To.ID = in.ContactID
		body.Associations = []assoc{a}
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := c.call(ctx, http.MethodPost, "/crm/v3/objects/deals", body, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// MarketingEvent is an Aqio event as a HubSpot marketing event, keyed by
// (ExternalAccountID, ExternalEventID).
type MarketingEvent struct {
	ExternalAccountID string `json:"externalAccountId"`
	ExternalEventID   string `json:"externalEventId"`
	EventName         string `json:"eventName"`
	EventOrganizer    string `json:"eventOrganizer"`
	EventType         string `json:"eventType,omitempty"`
	EventURL          string `json:"eventUrl,omitempty"`
	EventDescription  string `json:"eventDescription,omitempty"`
	StartDateTime     string `json:"startDateTime,omitempty"`
	EndDateTime       string `json:"endDateTime,omitempty"`
	EventCancelled    bool   `json:"eventCancelled"`
}

// UpsertMarketingEvent creates or updates a marketing event
// (PUT /marketing/v3/marketing-events/events/{externalEventId}).
func (c *Client) UpsertMarketingEvent(ctx context.Context, e MarketingEvent) error {
	return c.call(ctx, http.MethodPut, "/marketing/v3/marketing-events/events/"+url.PathEscape(e.ExternalEventID), e, nil)
}

// CancelMarketingEvent marks a marketing event cancelled
// (POST /marketing/v3/marketing-events/events/{externalEventId}/cancel).
func (c *Client) CancelMarketingEvent(ctx context.Context, externalAccountID, externalEventID string) error {
	p := "/marketing/v3/marketing-events/events/" + url.PathEscape(externalEventID) + "/cancel?externalAccountId=" + url.QueryEscape(externalAccountID)
	return c.call(ctx, http.MethodPost, p, struct{}{}, nil)
}

// Subscriber states of a marketing event.
const (
	StateRegister = "register"
	StateAttend   = "attend"
	StateCancel   = "cancel"
)

// RecordParticipation records a contact's state in a marketing event by
// email (POST /marketing/v3/marketing-events/attendance/{externalEventId}/
// {subscriberState}/email-create); it appears on the contact's timeline.
func (c *Client) RecordParticipation(ctx context.Context, externalAccountID, externalEventID, state, email string, at time.Time) error {
	type input struct {
		Email               string `json:"email"`
		InteractionDateTime int64  `json:"interactionDateTime"`
	}
	body := struct {
		Inputs []input `json:"inputs"`
	}{Inputs: []input{{Email: email, InteractionDateTime: at.UnixMilli()}}}
	p := "/marketing/v3/marketing-events/attendance/" + url.PathEscape(externalEventID) + "/" + url.PathEscape(state) +
		"/email-create?externalAccountId=" + url.QueryEscape(externalAccountID)
	return c.call(ctx, http.MethodPost, p, body, nil)
}

func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	req, err := providers.JSONRequest(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return err
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	_, raw, err := providers.Do(c.HTTP, func(resp *http.Response, b []byte) *providers.Error { return classifyAt(resp, b, now()) }, req)
	if err != nil {
		if pe, ok := providers.AsError(err); ok && pe.Provider == "" {
			pe.Provider = "hubspot"
		}
		return err
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &providers.Error{Provider: "hubspot", Kind: providers.KindRetryable, Code: "bad_response", Message: "response is not the expected JSON: " + err.Error()}
	}
	return nil
}

// APIError is HubSpot's error body.
type APIError struct {
	Status        string `json:"status"`
	Message       string `json:"message"`
	CorrelationID string `json:"correlationId"`
	Category      string `json:"category"`
	SubCategory   string `json:"subCategory"`
	ErrorType     string `json:"errorType"`
	PolicyName    string `json:"policyName"`
}

// Classify reads a HubSpot answer: nil for 2xx, otherwise the classified
// failure. 429 is rate limited for as long as the headers say (the
// window, X-HubSpot-RateLimit-Interval-Milliseconds, when Remaining is 0;
// Retry-After when present; a day's limit waits an hour); 423 LOCKED waits
// 2 s; 477 (migration in progress) waits Retry-After; 401 is an expired
// token (refreshed once); 403 MISSING_SCOPES means reconnecting; other
// 4xx are permanent; 5xx retry.
func Classify(resp *http.Response, body []byte) *providers.Error {
	return classifyAt(resp, body, time.Now())
}

func classifyAt(resp *http.Response, body []byte, now time.Time) *providers.Error {
	s := resp.StatusCode
	if s >= 200 && s < 300 {
		return nil
	}
	var ae APIError
	_ = json.Unmarshal(body, &ae)
	e := &providers.Error{Provider: "hubspot", Status: s, Code: ae.Category, Message: ae.Message}
	if e.Code == "" {
		e.Code = ae.ErrorType
	}
	if e.Code == "" {
		e.Code = fmt.Sprintf("http_%d", s)
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 300 {
			e.Message = e.Message[:300] + "…"
		}
	}
	if ae.CorrelationID != "" {
		e.Message += " (correlationId " + ae.CorrelationID + ")"
	}
	switch {
	case s == http.StatusTooManyRequests:
		e.Kind = providers.KindRateLimited
		if ae.PolicyName != "" {
			e.Code = ae.PolicyName
		}
		e.RetryAfter = providers.RetryDelay(resp.Header, RateLimit, now)
		if e.RetryAfter == 0 {
			switch ae.PolicyName {
			case "DAILY":
				e.RetryAfter = time.Hour
			case "SECONDLY":
				e.RetryAfter = time.Second
			default:
				e.RetryAfter = 10 * time.Second
			}
		}
	case s == 423:
		e.Kind, e.RetryAfter = providers.KindRateLimited, 2*time.Second
	case s == 477:
		e.Kind = providers.KindRateLimited
		e.RetryAfter = providers.RetryDelay(resp.Header, providers.RateLimitHeaders{}, now)
	case s == http.StatusUnauthorized:
		e.Kind = providers.KindExpired
	case s == http.StatusForbidden && ae.Category == "MISSING_SCOPES":
		e.Kind = providers.KindAuth
	case s == http.StatusRequestTimeout || s >= 500:
		e.Kind = providers.KindRetryable
	default:
		e.Kind = providers.KindPermanent
	}
	return e
}

// BearerClient authenticates requests with a fixed access token (for
// tools and tests; the runtime's client refreshes tokens itself).
func BearerClient(base *http.Client, token string) *http.Client {
	return providers.FixedAuthClient(base, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) })
}
