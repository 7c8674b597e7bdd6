// Package activecampaign is the ActiveCampaign connector: registrants
// become contacts (POST /api/3/contact/sync, upsert by email, with the
// settings' field mapping resolved to custom-field ids), are tagged per
// event, and are subscribed to the configured lists only when the
// registration carries marketing consent; a cancellation never
// unsubscribes anyone. This file is the thin REST client; connector.go is
// the connector.
package activecampaign

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

// RateLimit names ActiveCampaign's rate-limit headers: 5 requests per
// second per account; a 429 carries Retry-After (seconds), and every
// answer RateLimit-Limit and RateLimit-Remaining.
var RateLimit = providers.RateLimitHeaders{Remaining: "RateLimit-Remaining"}

// APIPath is where the v3 API lives under an account's API URL.
const APIPath = "/api/3"

// NormalizeAPIURL checks an account's API URL (https://<account>.api-us1.com,
// as shown under Settings → Developer) and returns it without a trailing
// slash or /api/3.
func NormalizeAPIURL(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("must be the account's API URL, e.g. https://youraccount.api-us1.com")
	}
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), APIPath)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

// Client calls the ActiveCampaign v3 API at BaseURL (the account's API
// URL plus /api/3) with HTTP, which must authenticate requests with the
// Api-Token header (Runtime.HTTP does; tests use KeyClient).
type Client struct {
	BaseURL string
	HTTP    *http.Client
	// Now is the clock for rate-limit delays (default time.Now).
	Now func() time.Time
	// Pace, when set, is called before every request (the connector
	// spaces requests to one account; see pacer).
	Pace func(ctx context.Context) error
}

// User is the API key's user.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Email    string `json:"email"`
}

// Me returns the key's user (GET /users/me): the cheap credential check.
func (c *Client) Me(ctx context.Context) (User, error) {
	var out struct {
		User *User `json:"user"`
	}
	if err := c.call(ctx, http.MethodGet, "/users/me", nil, &out); err != nil {
		return User{}, err
	}
	if out.User == nil || out.User.ID == "" {
		return User{}, &providers.Error{Provider: "activecampaign", Kind: providers.KindPermanent, Code: "bad_response", Message: "users/me answered no user: not an ActiveCampaign API"}
	}
	return *out.User, nil
}

// Field is a contact custom field.
type Field struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	PersTag string `json:"perstag"`
	Type    string `json:"type"`
}

// Fields lists every contact custom field (GET /fields, 100 a page).
func (c *Client) Fields(ctx context.Context) ([]Field, error) {
	var all []Field
	for offset := 0; ; {
		var out struct {
			Fields []Field `json:"fields"`
			Meta   struct {
				Total json.Number `json:"total"`
			} `json:"meta"`
		}
		if err := c.call(ctx, http.MethodGet, "/fields?limit=100&offset="+strconv.Itoa(offset), nil, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Fields...)
		offset += len(out.Fields)
		total, _ := strconv.Atoi(out.Meta.Total.String())
		if len(out.Fields) == 0 || offset >= total {
			return all, nil
		}
	}
}

// List is a mailing list.
type List struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// List returns a list (GET /lists/{id}); an unknown id is a permanent
// not_found error.
func (c *Client) List(ctx context.Context, id string) (List, error) {
	var out struct {
		List List `json:"list"`
	}
	if err := c.call(ctx, http.MethodGet, "/lists/"+url.PathEscape(id), nil, &out); err != nil {
		return List{}, err
	}
	return out.List, nil
}

// ContactInput is a contact to upsert by email. FieldValues are custom
// field values by field id.
type ContactInput struct {
	Email, FirstName, LastName string
	FieldValues                map[string]string
}

// Contact is an upserted contact.
type Contact struct {
	ID    string
	Email string
	// New: the sync created it (201) rather than updated it (200).
	New bool
}

// SyncContact creates or updates a contact by email (POST /contact/sync).
// Only the given fields are written; others are left as they are.
func (c *Client) SyncContact(ctx context.Context, in ContactInput) (Contact, error) {
	type fieldValue struct {
		Field string `json:"field"`
		Value string `json:"value"`
	}
	body := struct {
		Contact struct {
			Email       string       `json:"email"`
			FirstName   string       `json:"firstName,omitempty"`
			LastName    string       `json:"lastName,omitempty"`
			FieldValues []fieldValue `json:"fieldValues,omitempty"`
		} `json:"contact"`
	}{}
	body.Contact.Email, body.Contact.FirstName, body.Contact.LastName = in.Email, in.FirstName, in.LastName
	ids := make([]string, 0, len(in.FieldValues))
	for id := range in.FieldValues {
		ids = append(ids, id)
	}
	sortNumeric(ids)
	for _, id := range ids {
		body.Contact.FieldValues = append(body.Contact.FieldValues, fieldValue{Field: id, Value: in.FieldValues[id]})
	}
	var out struct {
		Contact struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		} `json:"contact"`
	}
	status, err := c.callStatus(ctx, http.MethodPost, "/contact/sync", body, &out)
	if err != nil {
		return Contact{}, err
	}
	if out.Contact.ID == "" {
		return Contact{}, &providers.Error{Provider: "activecampaign", Kind: providers.KindRetryable, Code: "bad_response", Message: "contact/sync answered no contact id"}
	}
	return Contact{ID: out.Contact.ID, Email: strings.ToLower(out.Contact.Email), New: status == http.StatusCreated}, nil
}

// List membership statuses.
const (
	Subscribed   = 1
	Unsubscribed = 2
)

// Subscribe subscribes a contact to a list (POST /contactLists with
// status 1). ActiveCampaign keeps one membership per contact and list, so
// repeating it changes nothing. The connector never sends Unsubscribed.
func (c *Client) Subscribe(ctx context.Context, contactID, listID string) error {
	body := map[string]any{"contactList": map[string]any{"list": listID, "contact": contactID, "status": Subscribed}}
	return c.call(ctx, http.MethodPost, "/contactLists", body, nil)
}

// Tag is a contact tag.
type Tag struct {
	ID   string `json:"id"`
	Name string `json:"tag"`
}

// FindTag looks a contact tag up by exact (case-insensitive) name
// (GET /tags?search=, which matches substrings).
func (c *Client) FindTag(ctx context.Context, name string) (Tag, bool, error) {
	for offset := 0; ; {
		var out struct {
			Tags []struct {
				Tag
				TagType string `json:"tagType"`
			} `json:"tags"`
			Meta struct {
				Total json.Number `json:"total"`
			} `json:"meta"`
		}
		if err := c.call(ctx, http.MethodGet, "/tags?search="+url.QueryEscape(name)+"&limit=100&offset="+strconv.Itoa(offset), nil, &out); err != nil {
			return Tag{}, false, err
		}
		for _, t := range out.Tags {
			if strings.EqualFold(t.Name, name) && (t.TagType == "" || t.TagType == "contact") {
				return t.Tag, true, nil
			}
		}
		offset += len(out.Tags)
		total, _ := strconv.Atoi(out.Meta.Total.String())
		if len(out.Tags) == 0 || offset >= total {
			return Tag{}, false, nil
		}
	}
}

// CreateTag creates a contact tag (POST /tags).
func (c *Client) CreateTag(ctx context.Context, name, description string) (Tag, error) {
	body := map[string]any{"tag": map[string]any{"tag": name, "tagType": "contact", "description": description}}
	var out struct {
		Tag Tag `json:"tag"`
	}
	if err := c.call(ctx, http.MethodPost, "/tags", body, &out); err != nil {
		return Tag{}, err
	}
	return out.Tag, nil
}

// EnsureTag finds a contact tag by name or creates it; a concurrent
// creation (422 duplicate) is looked up again.
func (c *Client) EnsureTag(ctx context.Context, name, description string) (Tag, error) {
	if t, ok, err := c.FindTag(ctx, name); err != nil || ok {
		return t, err
	}
	t, err := c.CreateTag(ctx, name, description)
	if pe, ok := providers.AsError(err); ok && pe.Code == "duplicate" {
		if t, ok, ferr := c.FindTag(ctx, name); ferr == nil && ok {
			return t, nil
		}
	}
	return t, err
}

// TagContact adds a tag to a contact (POST /contactTags); a contact that
// already has the tag keeps one.
func (c *Client) TagContact(ctx context.Context, contactID, tagID string) error {
	body := map[string]any{"contactTag": map[string]any{"contact": contactID, "tag": tagID}}
	return c.call(ctx, http.MethodPost, "/contactTags", body, nil)
}

// ContactTag is one tag on one contact.
type ContactTag struct {
	ID  string `json:"id"`
	Tag string `json:"tag"`
}

// ContactTags lists a contact's tags (GET /contacts/{id}/contactTags).
func (c *Client) ContactTags(ctx context.Context, contactID string) ([]ContactTag, error) {
	var out struct {
		ContactTags []ContactTag `json:"contactTags"`
	}
	if err := c.call(ctx, http.MethodGet, "/contacts/"+url.PathEscape(contactID)+"/contactTags", nil, &out); err != nil {
		return nil, err
	}
	return out.ContactTags, nil
}

// UntagContact removes a tag from a contact (DELETE /contactTags/{id} of
// the contact's contactTag); a contact without the tag is left alone.
func (c *Client) UntagContact(ctx context.Context, contactID, tagID string) (bool, error) {
	tags, err := c.ContactTags(ctx, contactID)
	if err != nil {
		return false, err
	}
	for _, ct := range tags {
		if ct.Tag == tagID {
			err := c.call(ctx, http.MethodDelete, "/contactTags/"+url.PathEscape(ct.ID), nil, nil)
			if pe, ok := providers.AsError(err); ok && pe.Code == "not_found" {
				return false, nil // removed meanwhile
			}
			return err == nil, err
		}
	}
	return false, nil
}

func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	_, err := c.callStatus(ctx, method, path, body, out)
	return err
}

func (c *Client) callStatus(ctx context.Context, method, path string, body, out any) (int, error) {
	req, err := providers.JSONRequest(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return 0, err
	}
	if c.Pace != nil {
		if err := c.Pace(ctx); err != nil {
			return 0, err
		}
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	resp, raw, err := providers.Do(c.HTTP, func(resp *http.Response, b []byte) *providers.Error { return classifyAt(resp, b, now()) }, req)
	if err != nil {
		if pe, ok := providers.AsError(err); ok && pe.Provider == "" {
			pe.Provider = "activecampaign"
		}
		return 0, err
	}
	if out == nil || len(raw) == 0 {
		return resp.StatusCode, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return resp.StatusCode, &providers.Error{Provider: "activecampaign", Kind: providers.KindPermanent, Code: "bad_response", Status: resp.StatusCode,
			Message: "the answer is not ActiveCampaign's JSON: " + err.Error()}
	}
	return resp.StatusCode, nil
}

// APIError is ActiveCampaign's error body: {"message"} for 4xx such as
// 403/404, {"errors":[{"title","detail","code","source":{"pointer"}}]}
// for 422.
type APIError struct {
	Message string `json:"message"`
	Errors  []struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Code   string `json:"code"`
		Source struct {
			Pointer string `json:"pointer"`
		} `json:"source"`
	} `json:"errors"`
}

// Classify reads an ActiveCampaign answer: nil for 2xx, otherwise the
// classified failure. 429 (and 503, which the API also sends when
// throttling) wait Retry-After, else one second (the limit is per
// second); 403 is a refused key and 402 an unpaid account (both need a
// person: the integration goes to error); 404 and 422 are permanent, with
// the errors array's code and title; 5xx and 408 retry.
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
	e := &providers.Error{Provider: "activecampaign", Status: s, Code: fmt.Sprintf("http_%d", s), Message: ae.Message}
	if len(ae.Errors) > 0 {
		first := ae.Errors[0]
		if first.Code != "" {
			e.Code = first.Code
		}
		e.Message = first.Title
		if first.Detail != "" {
			e.Message += ": " + first.Detail
		}
		if first.Source.Pointer != "" {
			e.Message += " (" + first.Source.Pointer + ")"
		}
		if len(ae.Errors) > 1 {
			e.Message += fmt.Sprintf(" and %d more", len(ae.Errors)-1)
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 300 {
			e.Message = e.Message[:300] + "…"
		}
	}
	switch {
	case s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable:
		e.Kind, e.Code = providers.KindRateLimited, "rate_limited"
		e.RetryAfter = providers.RetryDelay(resp.Header, RateLimit, now)
		if e.RetryAfter == 0 {
			e.RetryAfter = time.Second
		}
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		e.Kind, e.Code = providers.KindAuth, "forbidden"
		e.Field = "credentials.api_key"
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

// KeyClient authenticates requests with a fixed API key (for tools and
// tests; the runtime's client sets the header itself).
func KeyClient(base *http.Client, key string) *http.Client {
	return providers.FixedAuthClient(base, func(r *http.Request) { r.Header.Set(APIKeyHeader, key) })
}

// APIKeyHeader carries the API key.
const APIKeyHeader = "Api-Token"

// sortNumeric sorts numeric ids by value (field ids in a stable order).
func sortNumeric(ids []string) {
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && less(ids[j], ids[j-1]); j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
}

func less(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
