// Package mailchimp is the Mailchimp connector: a confirmed registration
// upserts the registrant as a member of the chosen audience (with
// status_if_new chosen by their marketing consent, never "subscribed"
// without it) and tags them with the Aqio event; a full sync exports every
// registration through Mailchimp's batch endpoint with per-member errors.
// This file is the thin REST client; connector.go is the connector.
package mailchimp

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aqio/connect/providers"
)

// Client calls the Mailchimp Marketing API at BaseURL
// (https://<dc>.api.mailchimp.com/3.0) with HTTP. Requests are marked
// for the connector's Authorizer (Bearer token on API calls, "OAuth
// <token>" on the metadata call, nothing on batch result downloads);
// tests use TokenClient, which reads the same marks.
type Client struct {
	BaseURL string
	HTTP    *http.Client
	// PollInterval is the first wait between batch polls (default 1 s,
	// growing to 5 s); MaxWait bounds one WaitBatch (default 40 s).
	PollInterval, MaxWait time.Duration
}

// SubscriberHash is Mailchimp's member id: the MD5 of the lower-cased email.
func SubscriberHash(email string) string {
	sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:])
}

// authMode marks how a request is authenticated (see Authorize).
type authMode int

const (
	authNone     authMode = iota
	authAPI               // Authorization: Bearer <token>
	authMetadata          // Authorization: OAuth <token>
)

type authKey struct{}

func withAuth(ctx context.Context, m authMode) context.Context {
	return context.WithValue(ctx, authKey{}, m)
}

// authorize puts the token on a request as its mark says; an unmarked
// request (a pre-signed batch result URL on S3) gets none, so the token
// never leaves for a host that is not Mailchimp's.
func authorize(req *http.Request, token string) {
	m, _ := req.Context().Value(authKey{}).(authMode)
	if token == "" {
		return
	}
	switch m {
	case authAPI:
		req.Header.Set("Authorization", "Bearer "+token)
	case authMetadata:
		req.Header.Set("Authorization", "OAuth "+token)
	}
}

// Metadata is the answer of the OAuth metadata endpoint.
type Metadata struct {
	DC          string `json:"dc"`
	APIEndpoint string `json:"api_endpoint"`
	AccountName string `json:"accountname"`
	LoginURL    string `json:"login_url"`
}

// MetadataURL is the metadata endpoint beside a token endpoint
// (https://login.mailchimp.com/oauth2/token → …/oauth2/metadata).
func MetadataURL(tokenURL string) string {
	if i := strings.LastIndex(tokenURL, "/"); i >= 0 {
		return tokenURL[:i] + "/metadata"
	}
	return tokenURL
}

// FetchMetadata asks the metadata endpoint which data center the token's
// account lives in. The api_endpoint must be an absolute http(s) URL; from
// Mailchimp's own login server it must be https://<dc>.api.mailchimp.com.
func FetchMetadata(ctx context.Context, hc *http.Client, metadataURL string) (Metadata, error) {
	req, err := http.NewRequestWithContext(withAuth(ctx, authMetadata), http.MethodGet, metadataURL, nil)
	if err != nil {
		return Metadata{}, &providers.Error{Provider: "mailchimp", Kind: providers.KindPermanent, Code: "invalid_url", Message: err.Error()}
	}
	req.Header.Set("Accept", "application/json")
	_, body, err := providers.Do(hc, func(resp *http.Response, b []byte) *providers.Error {
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return nil
		}
		e := Classify(resp, b)
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusBadRequest {
			e.Kind = providers.KindAuth // the token is dead: reconnect
		}
		return e
	}, req)
	if err != nil {
		return Metadata{}, tag(err)
	}
	var md Metadata
	if err := json.Unmarshal(body, &md); err != nil {
		return Metadata{}, badResponse("metadata", err)
	}
	u, err := url.Parse(md.APIEndpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Metadata{}, badResponse("metadata", fmt.Errorf("api_endpoint %q is not a URL", md.APIEndpoint))
	}
	if mu, _ := url.Parse(metadataURL); mu != nil && mu.Hostname() == "login.mailchimp.com" {
		if md.DC == "" || md.APIEndpoint != "https://"+md.DC+".api.mailchimp.com" {
			return Metadata{}, badResponse("metadata", fmt.Errorf("api_endpoint %q is not the data center %q", md.APIEndpoint, md.DC))
		}
	}
	md.APIEndpoint = strings.TrimRight(md.APIEndpoint, "/")
	return md, nil
}

// List is an audience.
type List struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DoubleOptIn bool   `json:"double_optin"`
}

// GetList reads an audience (GET /lists/{list_id}).
func (c *Client) GetList(ctx context.Context, id string) (List, error) {
	var l List
	err := c.call(ctx, http.MethodGet, "/lists/"+url.PathEscape(id)+"?fields=id,name,double_optin", nil, &l)
	return l, err
}

// MergeField is an audience's merge field.
type MergeField struct {
	Tag      string `json:"tag"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Required bool   `json:"required"`
}

// MergeFields lists an audience's merge fields
// (GET /lists/{list_id}/merge-fields, 1000 a page).
func (c *Client) MergeFields(ctx context.Context, listID string) ([]MergeField, error) {
	var all []MergeField
	for offset := 0; ; {
		var page struct {
			MergeFields []MergeField `json:"merge_fields"`
			TotalItems  int          `json:"total_items"`
		}
		p := "/lists/" + url.PathEscape(listID) + "/merge-fields?count=1000&offset=" + strconv.Itoa(offset)
		if err := c.call(ctx, http.MethodGet, p, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.MergeFields...)
		offset += len(page.MergeFields)
		if len(page.MergeFields) == 0 || offset >= page.TotalItems {
			return all, nil
		}
	}
}

// MemberInput is an upsert of one member.
type MemberInput struct {
	Email string `json:"email_address"`
	// StatusIfNew applies only when the address is not a member yet.
	StatusIfNew string `json:"status_if_new,omitempty"`
	// Status, when set, changes an existing member's status too.
	Status      string            `json:"status,omitempty"`
	MergeFields map[string]string `json:"merge_fields,omitempty"`
}

// Member is an audience member as Mailchimp answers it.
type Member struct {
	ID     string `json:"id"`
	Email  string `json:"email_address"`
	Status string `json:"status"`
}

// MemberPath is the API path of a member (by subscriber hash).
func MemberPath(listID, email string) string {
	return "/lists/" + url.PathEscape(listID) + "/members/" + SubscriberHash(email)
}

// UpsertMember adds or updates a member
// (PUT /lists/{list_id}/members/{subscriber_hash}).
func (c *Client) UpsertMember(ctx context.Context, listID string, in MemberInput) (Member, error) {
	var m Member
	err := c.call(ctx, http.MethodPut, MemberPath(listID, in.Email), in, &m)
	return m, err
}

// Tag is a member tag change.
type Tag struct {
	Name   string `json:"name"`
	Status string `json:"status"` // active or inactive
}

// TagsBody is the body of the member tags call.
type TagsBody struct {
	Tags      []Tag `json:"tags"`
	IsSyncing bool  `json:"is_syncing"`
}

// UpdateTags adds (active) and removes (inactive) member tags
// (POST /lists/{list_id}/members/{subscriber_hash}/tags). is_syncing keeps
// tag-triggered automations from firing for imported data.
func (c *Client) UpdateTags(ctx context.Context, listID, email string, tags []Tag) error {
	return c.call(ctx, http.MethodPost, MemberPath(listID, email)+"/tags", TagsBody{Tags: tags}, nil)
}

// Operation is one operation of a batch (its body a JSON string).
type Operation struct {
	Method      string            `json:"method"`
	Path        string            `json:"path"`
	Params      map[string]string `json:"params,omitempty"`
	Body        string            `json:"body,omitempty"`
	OperationID string            `json:"operation_id"`
}

// Batch is a batch operation's state.
type Batch struct {
	ID                 string `json:"id"`
	Status             string `json:"status"` // pending, preprocessing, started, finalizing, finished
	TotalOperations    int    `json:"total_operations"`
	FinishedOperations int    `json:"finished_operations"`
	ErroredOperations  int    `json:"errored_operations"`
	ResponseBodyURL    string `json:"response_body_url"`
}

// Finished reports whether the batch's results are ready.
func (b Batch) Finished() bool { return b.Status == "finished" }

// CreateBatch submits operations (POST /batches).
func (c *Client) CreateBatch(ctx context.Context, ops []Operation) (Batch, error) {
	var b Batch
	err := c.call(ctx, http.MethodPost, "/batches", struct {
		Operations []Operation `json:"operations"`
	}{ops}, &b)
	return b, err
}

// GetBatch reads a batch (GET /batches/{batch_id}).
func (c *Client) GetBatch(ctx context.Context, id string) (Batch, error) {
	var b Batch
	err := c.call(ctx, http.MethodGet, "/batches/"+url.PathEscape(id), nil, &b)
	return b, err
}

// WaitBatch polls a batch until it is finished or MaxWait has passed; the
// batch returned may be unfinished.
func (c *Client) WaitBatch(ctx context.Context, id string) (Batch, error) {
	interval, wait := c.PollInterval, c.MaxWait
	if interval <= 0 {
		interval = time.Second
	}
	if wait <= 0 {
		wait = 40 * time.Second
	}
	deadline := time.Now().Add(wait)
	for {
		b, err := c.GetBatch(ctx, id)
		if err != nil || b.Finished() || time.Now().Add(interval).After(deadline) {
			return b, err
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return b, ctx.Err()
		case <-t.C:
		}
		interval = min(interval*2, 5*time.Second)
	}
}

// OperationResult is one operation's answer in a batch's results.
type OperationResult struct {
	StatusCode  int    `json:"status_code"`
	OperationID string `json:"operation_id"`
	// Response is the operation's JSON answer (a member, a problem document).
	Response string `json:"response"`
}

// Problem decodes a failed operation's problem document.
func (r OperationResult) Problem() Problem {
	var p Problem
	_ = json.Unmarshal([]byte(r.Response), &p)
	if p.Status == 0 {
		p.Status = r.StatusCode
	}
	return p
}

// maxResults bounds the unpacked results of one batch.
const maxResults = 64 << 20

// BatchResults downloads and unpacks a finished batch's results: a
// gzipped tar of JSON files, each an array of operation results. The URL
// is pre-signed (S3): the request carries no credential.
func (c *Client) BatchResults(ctx context.Context, resultsURL string) ([]OperationResult, error) {
	req, err := http.NewRequestWithContext(withAuth(ctx, authNone), http.MethodGet, resultsURL, nil)
	if err != nil {
		return nil, &providers.Error{Provider: "mailchimp", Kind: providers.KindPermanent, Code: "invalid_url", Message: err.Error()}
	}
	_, body, err := providers.Do(c.HTTP, func(resp *http.Response, b []byte) *providers.Error {
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return nil
		}
		// An expired or refused pre-signed URL: poll the batch again for a fresh one.
		return &providers.Error{Provider: "mailchimp", Kind: providers.KindRetryable, Status: resp.StatusCode,
			Code: "batch_results_unavailable", Message: excerpt(b)}
	}, req)
	if err != nil {
		return nil, tag(err)
	}
	return ParseBatchResults(body)
}

// ParseBatchResults unpacks a results archive.
func ParseBatchResults(archive []byte) ([]OperationResult, error) {
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		return nil, badResponse("batch results", err)
	}
	tr := tar.NewReader(io.LimitReader(gz, maxResults))
	var out []OperationResult
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, badResponse("batch results", err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		var part []OperationResult
		if err := json.NewDecoder(tr).Decode(&part); err != nil {
			return nil, badResponse("batch results "+h.Name, err)
		}
		out = append(out, part...)
	}
}

// Ping checks the token and data center (GET /ping).
func (c *Client) Ping(ctx context.Context) error {
	return c.call(ctx, http.MethodGet, "/ping", nil, nil)
}

func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	req, err := providers.JSONRequest(withAuth(ctx, authAPI), method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return err
	}
	_, raw, err := providers.Do(c.HTTP, Classify, req)
	if err != nil {
		return tag(err)
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return badResponse(path, err)
	}
	return nil
}

func tag(err error) error {
	if pe, ok := providers.AsError(err); ok && pe.Provider == "" {
		pe.Provider = "mailchimp"
	}
	return err
}

func badResponse(what string, err error) error {
	return &providers.Error{Provider: "mailchimp", Kind: providers.KindRetryable, Code: "bad_response", Message: what + " is not what Mailchimp answers: " + err.Error()}
}

func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// Problem is Mailchimp's error body (RFC 7807, application/problem+json).
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance"`
	Errors   []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// Code is the problem's title as a code ("Member In Compliance State" →
// "member_in_compliance_state").
func (p Problem) Code() string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(p.Title)), " ", "_")
}

// Message is the detail with the field errors and the instance id
// (which Mailchimp support asks for).
func (p Problem) Message() string {
	msg := p.Detail
	for _, e := range p.Errors {
		if e.Field != "" {
			msg += " " + e.Field + ": " + e.Message + "."
		} else if e.Message != "" {
			msg += " " + e.Message + "."
		}
	}
	if p.Instance != "" {
		msg += " (instance " + p.Instance + ")"
	}
	return strings.TrimSpace(msg)
}

// Problem codes the connector acts on.
const (
	CodeTooManyRequests  = "too_many_requests"
	CodeComplianceState  = "member_in_compliance_state"
	CodeForgottenEmail   = "forgotten_email_not_subscribed"
	CodeResourceNotFound = "resource_not_found"
	CodeThrottled        = "throttled" // a bare 403
)

// Classify reads a Mailchimp answer: nil for 2xx, otherwise the
// classified failure.
//   - 429 "Too Many Requests" (more than 10 simultaneous connections) and
//     a bare 403 without a problem document (the throttle under heavy
//     load) are rate limited: Retry-After when sent (Mailchimp sends none),
//     else the retry policy's backoff.
//   - 401 is a dead credential (tokens never expire, there is nothing to
//     refresh: the app was removed from the account) and so is a 403
//     problem ("Forbidden", "User Disabled", "Wrong Datacenter") and a 503
//     "Compliance Related" (the account is blocked).
//   - 408, 409, 425 and other 5xx are transient; other 4xx are permanent.
func Classify(resp *http.Response, body []byte) *providers.Error {
	s := resp.StatusCode
	if s >= 200 && s < 300 {
		return nil
	}
	var p Problem
	_ = json.Unmarshal(body, &p)
	e := &providers.Error{Provider: "mailchimp", Status: s, Code: p.Code(), Message: p.Message()}
	if e.Code == "" {
		e.Code = "http_" + strconv.Itoa(s)
	}
	if e.Message == "" {
		e.Message = excerpt(body)
	}
	switch {
	case s == http.StatusTooManyRequests:
		e.Kind = providers.KindRateLimited
		e.RetryAfter = providers.RetryDelay(resp.Header, providers.RateLimitHeaders{}, time.Now())
	case s == http.StatusForbidden && p.Title == "":
		e.Kind, e.Code = providers.KindRateLimited, CodeThrottled
		if e.Message == "" {
			e.Message = "bare 403 without a problem document: Mailchimp's throttle"
		}
		e.RetryAfter = providers.RetryDelay(resp.Header, providers.RateLimitHeaders{}, time.Now())
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		e.Kind = providers.KindAuth
	case s == http.StatusServiceUnavailable && e.Code == "compliance_related":
		e.Kind = providers.KindAuth
	case s == http.StatusRequestTimeout || s == http.StatusConflict || s == http.StatusTooEarly || s >= 500:
		e.Kind = providers.KindRetryable
	default:
		e.Kind = providers.KindPermanent
	}
	return e
}

// TokenClient authenticates requests with a fixed access token, as the
// connector's Authorizer does (for tools and tests).
func TokenClient(base *http.Client, token string) *http.Client {
	return providers.FixedAuthClient(base, func(r *http.Request) { authorize(r, token) })
}
