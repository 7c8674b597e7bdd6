// Package pipedrive is the Pipedrive connector: registrants become
// persons (found by exact email through /api/v2/persons/search, then
// created or patched — Pipedrive has no upsert — with the settings'
// field mapping), and payment.completed creates one deal per payment,
// linked to the person. This file is the thin REST client; connector.go
// is the connector.
package pipedrive

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aqio/connect/providers"
)

// RateLimit names Pipedrive's rate-limit headers: the burst window
// (rolling 2 s per user and company) reports x-ratelimit-remaining and
// x-ratelimit-reset (seconds until the window resets).
var RateLimit = providers.RateLimitHeaders{Remaining: "x-ratelimit-remaining", ResetAfter: "x-ratelimit-reset"}

// Client calls the Pipedrive API at BaseURL (the company's api_domain,
// e.g. https://acme.pipedrive.com) with HTTP, which must authenticate
// requests (Runtime.HTTP does; tests use BearerClient).
type Client struct {
	BaseURL string
	HTTP    *http.Client
	// Now is the clock for rate-limit delays (default time.Now).
	Now func() time.Time
}

// Field is a person field.
type Field struct {
	ID       int    `json:"id"`
	Key      string `json:"key"`
	Name     string `json:"name"`
	Type     string `json:"field_type"`
	EditFlag bool   `json:"edit_flag"`
}

// PersonFields lists the person fields (GET /api/v1/personFields, 500 a page).
func (c *Client) PersonFields(ctx context.Context) ([]Field, error) {
	var all []Field
	for start := 0; ; {
		var out struct {
			Data           []Field `json:"data"`
			AdditionalData struct {
				Pagination struct {
					More      bool `json:"more_items_in_collection"`
					NextStart int  `json:"next_start"`
				} `json:"pagination"`
			} `json:"additional_data"`
		}
		if err := c.call(ctx, http.MethodGet, "/api/v1/personFields?limit=500&start="+strconv.Itoa(start), nil, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Data...)
		if !out.AdditionalData.Pagination.More || out.AdditionalData.Pagination.NextStart <= start {
			return all, nil
		}
		start = out.AdditionalData.Pagination.NextStart
	}
}

// Person is a person record.
type Person struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// FindPersonByEmail searches persons by exact email
// (GET /api/v2/persons/search?fields=email&exact_match=true); the oldest
// match wins when several share the address.
func (c *Client) FindPersonByEmail(ctx context.Context, email string) (Person, bool, error) {
	var out struct {
		Data struct {
			Items []struct {
				Item struct {
					ID     int      `json:"id"`
					Name   string   `json:"name"`
					Emails []string `json:"emails"`
				} `json:"item"`
			} `json:"items"`
		} `json:"data"`
	}
	q := url.Values{"term": {email}, "fields": {"email"}, "exact_match": {"true"}, "limit": {"10"}}
	if err := c.call(ctx, http.MethodGet, "/api/v2/persons/search?"+q.Encode(), nil, &out); err != nil {
		return Person{}, false, err
	}
	best := Person{}
	for _, it := range out.Data.Items {
		for _, e := range it.Item.Emails {
			if strings.EqualFold(e, email) && (best.ID == 0 || it.Item.ID < best.ID) {
				best = Person{ID: it.Item.ID, Name: it.Item.Name}
			}
		}
	}
	return best, best.ID != 0, nil
}

// PersonInput is what a create or patch writes. Email is only written on
// create (a patch leaves the person's addresses alone).
type PersonInput struct {
	Name         string
	Email        string
	CustomFields map[string]string
}

func (in PersonInput) body(create bool) map[string]any {
	b := map[string]any{}
	if in.Name != "" {
		b["name"] = in.Name
	}
	if create && in.Email != "" {
		b["emails"] = []any{map[string]any{"value": in.Email, "primary": true, "label": "work"}}
	}
	if len(in.CustomFields) > 0 {
		cf := map[string]any{}
		for k, v := range in.CustomFields {
			cf[k] = v
		}
		b["custom_fields"] = cf
	}
	return b
}

// CreatePerson creates a person (POST /api/v2/persons).
func (c *Client) CreatePerson(ctx context.Context, in PersonInput) (Person, error) {
	var out struct {
		Data Person `json:"data"`
	}
	if err := c.call(ctx, http.MethodPost, "/api/v2/persons", in.body(true), &out); err != nil {
		return Person{}, err
	}
	if out.Data.ID == 0 {
		return Person{}, &providers.Error{Provider: "pipedrive", Kind: providers.KindRetryable, Code: "bad_response", Message: "person create answered no id"}
	}
	return out.Data, nil
}

// UpdatePerson patches a person (PATCH /api/v2/persons/{id}); an unknown
// id (deleted in Pipedrive) is a permanent not_found error.
func (c *Client) UpdatePerson(ctx context.Context, id int, in PersonInput) (Person, error) {
	var out struct {
		Data Person `json:"data"`
	}
	if err := c.call(ctx, http.MethodPatch, "/api/v2/persons/"+strconv.Itoa(id), in.body(false), &out); err != nil {
		return Person{}, err
	}
	return out.Data, nil
}

// Deal is a deal record.
type Deal struct {
	ID       int     `json:"id"`
	Title    string  `json:"title"`
	Value    float64 `json:"value"`
	Currency string  `json:"currency"`
	PersonID int     `json:"person_id"`
	Status   string  `json:"status"`
}

// DealInput is a deal to create.
type DealInput struct {
	Title      string  `json:"title"`
	Value      float64 `json:"value"`
	Currency   string  `json:"currency,omitempty"`
	PersonID   int     `json:"person_id,omitempty"`
	PipelineID int     `json:"pipeline_id,omitempty"`
	StageID    int     `json:"stage_id,omitempty"`
	Status     string  `json:"status,omitempty"`
}

// CreateDeal creates a deal (POST /api/v2/deals).
func (c *Client) CreateDeal(ctx context.Context, in DealInput) (Deal, error) {
	var out struct {
		Data Deal `json:"data"`
	}
	if err := c.call(ctx, http.MethodPost, "/api/v2/deals", in, &out); err != nil {
		return Deal{}, err
	}
	if out.Data.ID == 0 {
		return Deal{}, &providers.Error{Provider: "pipedrive", Kind: providers.KindRetryable, Code: "bad_response", Message: "deal create answered no id"}
	}
	return out.Data, nil
}

// DealsOfPerson lists a person's deals (GET /api/v2/deals?person_id=, first page).
func (c *Client) DealsOfPerson(ctx context.Context, personID int) ([]Deal, error) {
	var out struct {
		Data []Deal `json:"data"`
	}
	if err := c.call(ctx, http.MethodGet, "/api/v2/deals?limit=500&person_id="+strconv.Itoa(personID), nil, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
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
			pe.Provider = "pipedrive"
		}
		return err
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &providers.Error{Provider: "pipedrive", Kind: providers.KindRetryable, Code: "bad_response", Message: "response is not the expected JSON: " + err.Error()}
	}
	return nil
}

// APIError is Pipedrive's error body.
type APIError struct {
	Success   *bool  `json:"success"`
	Error     string `json:"error"`
	ErrorInfo string `json:"error_info"`
	ErrorCode any    `json:"errorCode"`
	Code      string `json:"code"`
}

// Classify reads a Pipedrive answer: nil for 2xx with success true,
// otherwise the classified failure. 429 waits Retry-After, else
// x-ratelimit-reset (the burst window), else 2 s; 401 is an expired or
// revoked token (refreshed once); 403 a missing scope or permission
// (reconnect); 402 an unpaid company; 404 and other 4xx are permanent;
// 5xx retry.
func Classify(resp *http.Response, body []byte) *providers.Error {
	return classifyAt(resp, body, time.Now())
}

func classifyAt(resp *http.Response, body []byte, now time.Time) *providers.Error {
	s := resp.StatusCode
	var ae APIError
	_ = json.Unmarshal(body, &ae)
	if s >= 200 && s < 300 {
		if ae.Success != nil && !*ae.Success {
			return &providers.Error{Provider: "pipedrive", Kind: providers.KindPermanent, Status: s, Code: "unsuccessful", Message: ae.Error}
		}
		return nil
	}
	e := &providers.Error{Provider: "pipedrive", Status: s, Code: fmt.Sprintf("http_%d", s), Message: ae.Error}
	if ae.Code != "" {
		e.Code = ae.Code
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 300 {
			e.Message = e.Message[:300] + "…"
		}
	}
	switch {
	case s == http.StatusTooManyRequests:
		e.Kind, e.Code = providers.KindRateLimited, "rate_limited"
		e.RetryAfter = providers.RetryDelay(resp.Header, RateLimit, now)
		if e.RetryAfter == 0 {
			e.RetryAfter = 2 * time.Second
		}
	case s == http.StatusUnauthorized:
		e.Kind, e.Code = providers.KindExpired, "unauthorized"
	case s == http.StatusForbidden:
		e.Kind, e.Code = providers.KindAuth, "forbidden"
	case s == http.StatusPaymentRequired:
		e.Kind, e.Code = providers.KindAuth, "payment_required"
	case s == http.StatusNotFound:
		e.Kind, e.Code = providers.KindPermanent, "not_found"
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
