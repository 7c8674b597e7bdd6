package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aqio/connect/providers"
)

// Version is the REST API version Aqio calls.
const Version = "v62.0"

// MaxCollection is the most records one sObject Collections call takes.
const MaxCollection = 200

// Client is a thin client of the Salesforce REST API of one org
// (<instance_url>/services/data/v62.0) over an authenticated *http.Client.
type Client struct {
	// InstanceURL is the org's instance (the token response's instance_url).
	InstanceURL string
	HTTP        *http.Client
	// Usage, when set, records Sforce-Limit-Info and refuses to send while
	// the org's API allocation is nearly used up (see Usage).
	Usage *Usage
}

// FieldInfo is one field of an sObject describe.
type FieldInfo struct {
	Name       string `json:"name"`
	Label      string `json:"label"`
	Type       string `json:"type"`
	Createable bool   `json:"createable"`
	Updateable bool   `json:"updateable"`
	ExternalID bool   `json:"externalId"`
}

// UpsertResult is Salesforce's answer to an upsert (single or in a
// collection).
type UpsertResult struct {
	ID      string   `json:"id"`
	Success bool     `json:"success"`
	Created bool     `json:"created"`
	Errors  []SFItem `json:"errors"`
}

// SFItem is one element of a Salesforce error array. REST resources use
// errorCode; sObject Collections results use statusCode.
type SFItem struct {
	Message    string   `json:"message"`
	ErrorCode  string   `json:"errorCode"`
	StatusCode string   `json:"statusCode"`
	Fields     []string `json:"fields"`
}

// Code is the item's error code.
func (i SFItem) Code() string {
	if i.ErrorCode != "" {
		return i.ErrorCode
	}
	return i.StatusCode
}

func (c *Client) base() string {
	return strings.TrimRight(c.InstanceURL, "/") + "/services/data/" + Version
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) (int, error) {
	if c.InstanceURL == "" {
		return 0, &providers.Error{Provider: Type, Kind: providers.KindAuth, Code: "no_instance_url", Message: "the connection has no instance_url; reconnect Salesforce"}
	}
	if err := c.Usage.admit(c.InstanceURL); err != nil {
		return 0, err
	}
	req, err := providers.JSONRequest(ctx, method, c.base()+path, body)
	if err != nil {
		return 0, err
	}
	resp, b, err := providers.Do(c.HTTP, Classify, req)
	if resp != nil {
		c.Usage.record(c.InstanceURL, resp.Header.Get("Sforce-Limit-Info"))
	}
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

// Describe lists an sObject's fields (GET /sobjects/{SObject}/describe).
func (c *Client) Describe(ctx context.Context, object string) ([]FieldInfo, error) {
	var out struct {
		Fields []FieldInfo `json:"fields"`
	}
	_, err := c.do(ctx, http.MethodGet, "/sobjects/"+url.PathEscape(object)+"/describe", nil, &out)
	return out.Fields, err
}

// Upsert creates or updates the record of object whose external id field
// has value (PATCH /sobjects/{SObject}/{field}/{value}): 201 created,
// 200/204 updated; several matches (300) are a permanent error.
func (c *Client) Upsert(ctx context.Context, object, field, value string, fields map[string]any) (UpsertResult, error) {
	var out UpsertResult
	status, err := c.do(ctx, http.MethodPatch, "/sobjects/"+url.PathEscape(object)+"/"+url.PathEscape(field)+"/"+url.PathEscape(value), fields, &out)
	if err != nil {
		return UpsertResult{}, err
	}
	out.Success = true
	if status == http.StatusCreated {
		out.Created = true
	}
	return out, nil
}

// Create creates a record (POST /sobjects/{SObject}) and returns its id.
func (c *Client) Create(ctx context.Context, object string, fields map[string]any) (string, error) {
	var out UpsertResult
	if _, err := c.do(ctx, http.MethodPost, "/sobjects/"+url.PathEscape(object), fields, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", &providers.Error{Provider: Type, Kind: providers.KindRetryable, Code: "bad_response", Message: "create " + object + " answered no id"}
	}
	return out.ID, nil
}

// Update updates a record by id (PATCH /sobjects/{SObject}/{id}, 204).
func (c *Client) Update(ctx context.Context, object, id string, fields map[string]any) error {
	_, err := c.do(ctx, http.MethodPatch, "/sobjects/"+url.PathEscape(object)+"/"+url.PathEscape(id), fields, nil)
	return err
}

// Query runs a SOQL query (one page: Aqio's queries select one record).
func (c *Client) Query(ctx context.Context, soql string) ([]map[string]any, error) {
	var out struct {
		Records []map[string]any `json:"records"`
	}
	_, err := c.do(ctx, http.MethodGet, "/query?"+url.Values{"q": {soql}}.Encode(), nil, &out)
	return out.Records, err
}

// UpsertCollection upserts up to MaxCollection records of one object by
// an external id field (PATCH /composite/sobjects/{SObject}/{field},
// allOrNone false); the results are in the records' order, each with its
// own errors.
func (c *Client) UpsertCollection(ctx context.Context, object, field string, records []map[string]any) ([]UpsertResult, error) {
	if len(records) > MaxCollection {
		return nil, fmt.Errorf("salesforce: %d records in one collection call (at most %d)", len(records), MaxCollection)
	}
	body := map[string]any{"allOrNone": false, "records": records}
	var out []UpsertResult
	if _, err := c.do(ctx, http.MethodPatch, "/composite/sobjects/"+url.PathEscape(object)+"/"+url.PathEscape(field), body, &out); err != nil {
		return nil, err
	}
	if len(out) != len(records) {
		return nil, &providers.Error{Provider: Type, Kind: providers.KindRetryable, Code: "bad_response", Message: fmt.Sprintf("collection upsert answered %d results for %d records", len(out), len(records))}
	}
	return out, nil
}

// recordID is a Salesforce record id (safe to put in SOQL).
var recordID = regexp.MustCompile(`^[A-Za-z0-9]{15,18}$`)

// LimitWait is how long the connector waits after REQUEST_LIMIT_EXCEEDED
// or when the org's API usage is at SlowDownAt (Salesforce's allocation
// is a rolling 24 hours and tells no reset time).
var LimitWait = 10 * time.Minute

// SlowDownAt is the share of the org's API allocation from which the
// connector stops sending, leaving the rest to the org's other apps.
const SlowDownAt = 0.95

// Classify reads a Salesforce answer. Errors are arrays
// [{"message","errorCode","fields"}]: INVALID_SESSION_ID (401) means the
// session ended — refresh once and retry (Salesforce tokens carry no
// expiry); REQUEST_LIMIT_EXCEEDED (403) waits LimitWait; other 403s
// (INSUFFICIENT_ACCESS, API_DISABLED_FOR_ORG) need the user to reconnect;
// 300 (an external id matched several records), 400 and 404 are
// permanent with Salesforce's code and the fields at fault;
// UNABLE_TO_LOCK_ROW and 5xx are retried; 503 is a slowdown.
func Classify(resp *http.Response, body []byte) *providers.Error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := providers.ClassifyHTTP(Type, providers.RateLimitHeaders{}, resp, body)
	var items []SFItem
	if json.Unmarshal(body, &items) == nil && len(items) > 0 {
		e.Code = items[0].Code()
		msgs := make([]string, 0, len(items))
		for _, it := range items {
			m := it.Message
			if len(it.Fields) > 0 {
				m += " (fields: " + strings.Join(it.Fields, ", ") + ")"
			}
			msgs = append(msgs, m)
		}
		e.Message = strings.Join(msgs, "; ")
	}
	switch {
	case resp.StatusCode == http.StatusMultipleChoices:
		e.Kind, e.Code = providers.KindPermanent, "MULTIPLE_CHOICES"
		e.Message = "the external id matches several records: " + strings.TrimSpace(string(body))
	case e.Code == "INVALID_SESSION_ID":
		e.Kind = providers.KindExpired
	case e.Code == "REQUEST_LIMIT_EXCEEDED":
		e.Kind, e.RetryAfter = providers.KindRateLimited, LimitWait
	case e.Code == "UNABLE_TO_LOCK_ROW":
		e.Kind = providers.KindRetryable
	}
	return e
}

// Usage keeps each org's last Sforce-Limit-Info ("api-usage=used/max")
// for a worker process. When an org is at SlowDownAt of its allocation,
// requests are refused (rate limited, LimitWait) until LimitWait has
// passed since the reading; then one goes through and reads it again.
type Usage struct {
	Now func() time.Time

	mu sync.Mutex
	by map[string]usageReading
}

type usageReading struct {
	used, max int
	at        time.Time
}

func (u *Usage) now() time.Time {
	if u.Now != nil {
		return u.Now()
	}
	return time.Now()
}

var limitInfo = regexp.MustCompile(`api-usage=(\d+)/(\d+)`)

func (u *Usage) record(instance, header string) {
	if u == nil {
		return
	}
	m := limitInfo.FindStringSubmatch(header)
	if m == nil {
		return
	}
	used, _ := strconv.Atoi(m[1])
	max, _ := strconv.Atoi(m[2])
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.by == nil {
		u.by = map[string]usageReading{}
	}
	u.by[instance] = usageReading{used: used, max: max, at: u.now()}
}

// Reading returns an org's last usage reading.
func (u *Usage) Reading(instance string) (used, max int, ok bool) {
	if u == nil {
		return 0, 0, false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	r, ok := u.by[instance]
	return r.used, r.max, ok
}

func (u *Usage) admit(instance string) error {
	if u == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	r, ok := u.by[instance]
	if !ok || r.max == 0 || float64(r.used) < SlowDownAt*float64(r.max) {
		return nil
	}
	wait := LimitWait - u.now().Sub(r.at)
	if wait <= 0 {
		return nil
	}
	return &providers.Error{Provider: Type, Kind: providers.KindRateLimited, Code: "API_USAGE_HIGH", RetryAfter: wait,
		Message: fmt.Sprintf("the org has used %d of its %d API requests (Sforce-Limit-Info); waiting before sending more", r.used, r.max)}
}
