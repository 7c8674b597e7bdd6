package kit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aqio/connect/providers"
)

// Client is a thin client of the Kit V4 API (https://api.kit.com/v4)
// over an authenticated *http.Client (rt.HTTP: Bearer access token or
// X-Kit-Api-Key, see Connector.Authorize).
type Client struct {
	// BaseURL is the API base including /v4.
	BaseURL string
	HTTP    *http.Client
}

// Subscriber is a Kit subscriber.
type Subscriber struct {
	ID        int64          `json:"id"`
	FirstName *string        `json:"first_name"`
	Email     string         `json:"email_address"`
	State     string         `json:"state"`
	CreatedAt string         `json:"created_at"`
	Fields    map[string]any `json:"fields"`
}

// SubscriberInput is the body of POST /v4/subscribers (an upsert by
// email_address). Fields are custom field values by key; Kit ignores
// keys the account does not have, which is why the mapping is checked
// against GET /v4/custom_fields when settings are saved.
type SubscriberInput struct {
	Email     string            `json:"email_address"`
	FirstName string            `json:"first_name,omitempty"`
	State     string            `json:"state,omitempty"`
	Fields    map[string]string `json:"fields,omitempty"`
}

// Tag is a Kit tag.
type Tag struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
}

// CustomField is a subscriber custom field; Key is what
// SubscriberInput.Fields uses.
type CustomField struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Key   string `json:"key"`
	Label string `json:"label"`
}

// Account is the authenticated account (GET /v4/account).
type Account struct {
	User struct {
		Email string `json:"email"`
	} `json:"user"`
	Account struct {
		ID                  int64  `json:"id"`
		Name                string `json:"name"`
		PlanType            string `json:"plan_type"`
		PrimaryEmailAddress string `json:"primary_email_address"`
	} `json:"account"`
}

type pagination struct {
	HasNextPage bool   `json:"has_next_page"`
	EndCursor   string `json:"end_cursor"`
}

// perPage is the page size of list calls (Kit allows up to 1000).
const perPage = 1000

// maxPages bounds list calls (a million tags or fields is not an account).
const maxPages = 1000

func (c *Client) url(path string, q url.Values) string {
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) (int, error) {
	req, err := providers.JSONRequest(ctx, method, c.url(path, q), body)
	if err != nil {
		return 0, err
	}
	resp, b, err := providers.Do(c.HTTP, Classify, req)
	if err != nil {
		return 0, err
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, &providers.Error{Provider: Type, Kind: providers.KindRetryable, Code: "bad_response", Status: resp.StatusCode,
				Message: fmt.Sprintf("%s %s: %v", method, path, err)}
		}
	}
	return resp.StatusCode, nil
}

// Account reads the authenticated account: the cheap call that checks a
// credential.
func (c *Client) Account(ctx context.Context) (Account, error) {
	var a Account
	_, err := c.do(ctx, http.MethodGet, "/account", nil, nil, &a)
	return a, err
}

// list pages through a list endpoint; add decodes one page's items.
func (c *Client) list(ctx context.Context, path string, add func(json.RawMessage) error, key string) error {
	after := ""
	for i := 0; i < maxPages; i++ {
		q := url.Values{"per_page": {strconv.Itoa(perPage)}}
		if after != "" {
			q.Set("after", after)
		}
		var page map[string]json.RawMessage
		if _, err := c.do(ctx, http.MethodGet, path, q, nil, &page); err != nil {
			return err
		}
		if err := add(page[key]); err != nil {
			return &providers.Error{Provider: Type, Kind: providers.KindRetryable, Code: "bad_response", Message: "GET " + path + ": " + err.Error()}
		}
		var pg pagination
		_ = json.Unmarshal(page["pagination"], &pg)
		if !pg.HasNextPage || pg.EndCursor == "" || pg.EndCursor == after {
			return nil
		}
		after = pg.EndCursor
	}
	return nil
}

// CustomFields lists the account's subscriber custom fields.
func (c *Client) CustomFields(ctx context.Context) ([]CustomField, error) {
	var out []CustomField
	err := c.list(ctx, "/custom_fields", func(raw json.RawMessage) error {
		var fs []CustomField
		if err := json.Unmarshal(raw, &fs); err != nil {
			return err
		}
		out = append(out, fs...)
		return nil
	}, "custom_fields")
	return out, err
}

// Tags lists the account's tags.
func (c *Client) Tags(ctx context.Context) ([]Tag, error) {
	var out []Tag
	err := c.list(ctx, "/tags", func(raw json.RawMessage) error {
		var ts []Tag
		if err := json.Unmarshal(raw, &ts); err != nil {
			return err
		}
		out = append(out, ts...)
		return nil
	}, "tags")
	return out, err
}

// CreateTag creates a tag, or returns the tag of that name (Kit answers
// 200 with the existing one), so it is safe to repeat.
func (c *Client) CreateTag(ctx context.Context, name string) (Tag, error) {
	var out struct {
		Tag Tag `json:"tag"`
	}
	if _, err := c.do(ctx, http.MethodPost, "/tags", nil, map[string]string{"name": name}, &out); err != nil {
		return Tag{}, err
	}
	if out.Tag.ID == 0 {
		return Tag{}, &providers.Error{Provider: Type, Kind: providers.KindRetryable, Code: "bad_response", Message: "POST /tags answered no tag id"}
	}
	return out.Tag, nil
}

// UpsertSubscriber creates or updates the subscriber with in.Email;
// created reports a new subscriber (201).
func (c *Client) UpsertSubscriber(ctx context.Context, in SubscriberInput) (sub Subscriber, created bool, err error) {
	var out struct {
		Subscriber Subscriber `json:"subscriber"`
	}
	status, err := c.do(ctx, http.MethodPost, "/subscribers", nil, in, &out)
	if err != nil {
		return Subscriber{}, false, err
	}
	if out.Subscriber.ID == 0 {
		return Subscriber{}, false, &providers.Error{Provider: Type, Kind: providers.KindRetryable, Code: "bad_response", Message: "POST /subscribers answered no subscriber id"}
	}
	return out.Subscriber, status == http.StatusCreated, nil
}

// TagSubscriber tags a subscriber; added is false when it already had
// the tag (200), so a repeat changes nothing.
func (c *Client) TagSubscriber(ctx context.Context, tagID, subscriberID int64) (added bool, err error) {
	status, err := c.do(ctx, http.MethodPost, fmt.Sprintf("/tags/%d/subscribers/%d", tagID, subscriberID), nil, map[string]any{}, nil)
	return status == http.StatusCreated, err
}

// UntagSubscriber removes a tag from a subscriber; not tagged (404)
// counts as done.
func (c *Client) UntagSubscriber(ctx context.Context, tagID, subscriberID int64) error {
	_, err := c.do(ctx, http.MethodDelete, fmt.Sprintf("/tags/%d/subscribers/%d", tagID, subscriberID), nil, nil, nil)
	if pe, ok := providers.AsError(err); ok && pe.Status == http.StatusNotFound {
		return nil
	}
	return err
}

// RevokeToken revokes an OAuth token (RFC 7009: POST /v4/oauth/revoke,
// form token, client_id, client_secret). Kit answers 200 for unknown
// tokens; a 400 invalid_token / invalid_grant also counts as revoked.
func RevokeToken(ctx context.Context, hc *http.Client, revokeURL, clientID, clientSecret, token string) error {
	form := url.Values{"token": {token}, "client_id": {clientID}, "client_secret": {clientSecret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, revokeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return &providers.Error{Provider: Type, Kind: providers.KindPermanent, Code: "invalid_url", Message: err.Error()}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	_, _, err = providers.Do(hc, func(resp *http.Response, body []byte) *providers.Error {
		if resp.StatusCode == http.StatusBadRequest {
			var b struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(body, &b) == nil && (b.Error == "invalid_token" || b.Error == "invalid_grant") {
				return nil
			}
		}
		pe := providers.ClassifyHTTP(Type, providers.RateLimitHeaders{}, resp, body)
		if pe != nil && resp.StatusCode == http.StatusUnauthorized {
			pe.Kind = providers.KindPermanent // the client credentials, not the token
			pe.Code = "invalid_client"
		}
		return pe
	}, req)
	return err
}

// Classify reads a Kit answer: 2xx success; 429 (plain-text "Retry
// later", no Retry-After) rate limited — Kit asks for exponential
// backoff, so without a header the retry policy's backoff applies; 401
// expired (an OAuth token is refreshed once; an API key that Kit refuses
// makes the integration need reconnecting); 403 (plan not eligible,
// subscriber limit) and 404/422 permanent with Kit's messages; 5xx, 408
// and 409 retryable. Error bodies are {"errors":["…"]}.
func Classify(resp *http.Response, body []byte) *providers.Error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := providers.ClassifyHTTP(Type, RateLimit, resp, body)
	if msgs := errorMessages(body); len(msgs) > 0 {
		e.Message = strings.Join(msgs, "; ")
	}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests:
		e.Code = "rate_limited"
	case s == http.StatusUnauthorized:
		e.Code = "unauthorized"
	case s == http.StatusForbidden:
		e.Kind, e.Code = providers.KindPermanent, "forbidden"
	case s == http.StatusNotFound:
		e.Code = "not_found"
	case s == http.StatusUnprocessableEntity:
		e.Code = "unprocessable_entity"
	case s == http.StatusBadRequest:
		e.Code = "bad_request"
	}
	return e
}

// errorMessages reads Kit's {"errors":[…]} body (strings, or objects
// with a message in some endpoints).
func errorMessages(body []byte) []string {
	var b struct {
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &b) != nil || len(b.Errors) == 0 {
		return nil
	}
	var ss []string
	if json.Unmarshal(b.Errors, &ss) == nil {
		return ss
	}
	var objs []map[string]any
	if json.Unmarshal(b.Errors, &objs) == nil {
		for _, o := range objs {
			if m, ok := o["message"].(string); ok {
				ss = append(ss, m)
			}
		}
		return ss
	}
	var one string
	if json.Unmarshal(b.Errors, &one) == nil {
		return []string{one}
	}
	return nil
}

// RateLimit: Kit sends no rate-limit headers (Retry-After is still read
// should it ever appear).
var RateLimit = providers.RateLimitHeaders{}
