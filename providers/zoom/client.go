// Package zoom is the Zoom connector: a thin client over the Zoom REST API
// v2 (meetings and meeting registrants) and the connector that turns Aqio
// events into Zoom meetings and Aqio registrations into registrants.
//
// Zoom's wire format, as the client speaks it (see internal/fakes/zoom for
// the fake and the references it was built from):
//
//   - Every API call carries "Authorization: Bearer <access token>"; the
//     API base is https://api.zoom.us/v2.
//   - Errors are JSON {"code":<int>,"message":"…"} with an HTTP status;
//     validation errors add "errors":[{"field","message"}]. 401 code 124 is
//     an invalid or expired access token; 404 code 3001 an unknown meeting.
//   - Rate limits are per account and per second (QPS) or per day, by
//     category (Light, Medium, Heavy, Resource-intensive). A 429 carries
//     X-RateLimit-Category and X-RateLimit-Type (QPS or Daily-limit); a
//     daily limit also carries Retry-After with the time the quota resets.
package zoom

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aqio/connect/providers"
)

// Provider is the integration type of Zoom.
const Provider = "zoom"

// Client calls the Zoom REST API at BaseURL (https://api.zoom.us/v2).
type Client struct {
	BaseURL string
	// HTTP sends the requests. Inside the connector it is the runtime's
	// client, which authorizes them and refreshes the token on a 401.
	HTTP *http.Client
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string
	// Now is the clock used to turn a Retry-After date into a delay
	// (time.Now when nil).
	Now func() time.Time
}

// Meeting approval types (settings.approval_type).
const (
	ApprovalAutomatic      = 0 // registration required, registrants approved at once
	ApprovalManual         = 1 // registration required, the host approves
	ApprovalNoRegistration = 2 // no registration
)

// MeetingSettings are the meeting settings Aqio sets.
type MeetingSettings struct {
	ApprovalType *int `json:"approval_type,omitempty"`
	// RegistrationType 1: register once, attend any occurrence.
	RegistrationType             int    `json:"registration_type,omitempty"`
	RegistrantsEmailNotification *bool  `json:"registrants_email_notification,omitempty"`
	RegistrantsConfirmationEmail *bool  `json:"registrants_confirmation_email,omitempty"`
	WaitingRoom                  *bool  `json:"waiting_room,omitempty"`
	JoinBeforeHost               *bool  `json:"join_before_host,omitempty"`
	AutoRecording                string `json:"auto_recording,omitempty"`
}

// MeetingRequest is the body of "Create a meeting" and "Update a meeting".
type MeetingRequest struct {
	Topic string `json:"topic,omitempty"`
	// Type 2 is a scheduled meeting.
	Type      int    `json:"type,omitempty"`
	StartTime string `json:"start_time,omitempty"` // yyyy-MM-ddTHH:mm:ssZ (UTC)
	Duration  int    `json:"duration,omitempty"`   // minutes
	Timezone  string `json:"timezone,omitempty"`
	Agenda    string `json:"agenda,omitempty"`
	// Settings are sent as given; nil leaves the meeting's settings alone.
	Settings *MeetingSettings `json:"settings,omitempty"`
}

// Meeting is a meeting as Zoom returns it.
type Meeting struct {
	ID              int64  `json:"id"`
	UUID            string `json:"uuid"`
	HostID          string `json:"host_id"`
	Topic           string `json:"topic"`
	Type            int    `json:"type"`
	Status          string `json:"status"`
	StartTime       string `json:"start_time"`
	Duration        int    `json:"duration"`
	Timezone        string `json:"timezone"`
	Agenda          string `json:"agenda"`
	JoinURL         string `json:"join_url"`
	StartURL        string `json:"start_url"`
	Password        string `json:"password"`
	RegistrationURL string `json:"registration_url"`
	Settings        struct {
		ApprovalType int `json:"approval_type"`
	} `json:"settings"`
}

// IDString is the meeting id as the API paths and Aqio's links carry it.
func (m Meeting) IDString() string { return strconv.FormatInt(m.ID, 10) }

// ListedMeeting is one entry of "List meetings".
type ListedMeeting struct {
	ID        int64  `json:"id"`
	Topic     string `json:"topic"`
	Type      int    `json:"type"`
	StartTime string `json:"start_time"`
	Duration  int    `json:"duration"`
	Timezone  string `json:"timezone"`
	JoinURL   string `json:"join_url"`
	CreatedAt string `json:"created_at"`
}

// FindMeeting looks among userID's scheduled meetings for one with the
// given topic and start time (yyyy-MM-ddTHH:mm:ssZ), following
// next_page_token. It recovers a meeting whose creation answer was lost.
func (c *Client) FindMeeting(ctx context.Context, userID, topic, startTime string) (ListedMeeting, bool, error) {
	next := ""
	for range 100 {
		q := url.Values{"type": {"scheduled"}, "page_size": {"300"}}
		if next != "" {
			q.Set("next_page_token", next)
		}
		var page struct {
			NextPageToken string          `json:"next_page_token"`
			Meetings      []ListedMeeting `json:"meetings"`
		}
		if err := c.do(ctx, http.MethodGet, "/users/"+url.PathEscape(userID)+"/meetings", q, nil, http.StatusOK, &page); err != nil {
			return ListedMeeting{}, false, err
		}
		for _, m := range page.Meetings {
			if m.Topic == topic && m.StartTime == startTime {
				return m, true, nil
			}
		}
		if page.NextPageToken == "" {
			break
		}
		next = page.NextPageToken
	}
	return ListedMeeting{}, false, nil
}

// RegistrantRequest is the body of "Add a meeting registrant".
type RegistrantRequest struct {
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name,omitempty"`
}

// AddedRegistrant is the answer to "Add a meeting registrant".
type AddedRegistrant struct {
	MeetingID    int64  `json:"id"`
	RegistrantID string `json:"registrant_id"`
	JoinURL      string `json:"join_url"`
	Topic        string `json:"topic"`
	StartTime    string `json:"start_time"`
}

// Registrant is one entry of "List meeting registrants".
type Registrant struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Status    string `json:"status"`
	JoinURL   string `json:"join_url"`
}

// User is the answer to "Get a user" for "me".
type User struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	Email     string `json:"email"`
	Type      int    `json:"type"`
}

// Me returns the connected user (GET /users/me): the cheap credential check.
func (c *Client) Me(ctx context.Context) (User, error) {
	var u User
	err := c.do(ctx, http.MethodGet, "/users/me", nil, nil, http.StatusOK, &u)
	return u, err
}

// CreateMeeting creates a meeting for userID ("me": the connected user).
func (c *Client) CreateMeeting(ctx context.Context, userID string, m MeetingRequest) (Meeting, error) {
	var out Meeting
	err := c.do(ctx, http.MethodPost, "/users/"+url.PathEscape(userID)+"/meetings", nil, m, http.StatusCreated, &out)
	return out, err
}

// GetMeeting reads a meeting.
func (c *Client) GetMeeting(ctx context.Context, meetingID string) (Meeting, error) {
	var out Meeting
	err := c.do(ctx, http.MethodGet, "/meetings/"+url.PathEscape(meetingID), nil, nil, http.StatusOK, &out)
	return out, err
}

// UpdateMeeting patches a meeting (Zoom answers 204 without a body).
func (c *Client) UpdateMeeting(ctx context.Context, meetingID string, m MeetingRequest) error {
	return c.do(ctx, http.MethodPatch, "/meetings/"+url.PathEscape(meetingID), nil, m, http.StatusNoContent, nil)
}

// DeleteMeeting deletes a meeting; notify sends the cancellation email to
// the registrants (cancel_meeting_reminder). A meeting that is already gone
// (404, code 3001) counts as deleted.
func (c *Client) DeleteMeeting(ctx context.Context, meetingID string, notify bool) error {
	q := url.Values{}
	if notify {
		q.Set("cancel_meeting_reminder", "true")
	}
	err := c.do(ctx, http.MethodDelete, "/meetings/"+url.PathEscape(meetingID), q, nil, http.StatusNoContent, nil)
	if pe, ok := providers.AsError(err); ok && pe.Status == http.StatusNotFound {
		return nil
	}
	return err
}

// AddRegistrant registers someone for a meeting; the answer carries the
// registrant's own join URL.
func (c *Client) AddRegistrant(ctx context.Context, meetingID string, r RegistrantRequest) (AddedRegistrant, error) {
	var out AddedRegistrant
	err := c.do(ctx, http.MethodPost, "/meetings/"+url.PathEscape(meetingID)+"/registrants", nil, r, http.StatusCreated, &out)
	return out, err
}

// Registrant status actions.
const (
	ActionApprove = "approve"
	ActionCancel  = "cancel"
	ActionDeny    = "deny"
)

// RegistrantRef names a registrant in a status update.
type RegistrantRef struct {
	ID    string `json:"id,omitempty"`
	Email string `json:"email,omitempty"`
}

// UpdateRegistrantStatus approves, cancels or denies registrants.
func (c *Client) UpdateRegistrantStatus(ctx context.Context, meetingID, action string, refs ...RegistrantRef) error {
	body := map[string]any{"action": action, "registrants": refs}
	return c.do(ctx, http.MethodPut, "/meetings/"+url.PathEscape(meetingID)+"/registrants/status", nil, body, http.StatusNoContent, nil)
}

// FindRegistrant looks a registrant up by email (case-insensitive) among a
// meeting's registrants of the given status (approved, pending, denied),
// following next_page_token. ok is false when there is none.
func (c *Client) FindRegistrant(ctx context.Context, meetingID, status, email string) (Registrant, bool, error) {
	next := ""
	for range 100 {
		q := url.Values{"page_size": {"300"}}
		if status != "" {
			q.Set("status", status)
		}
		if next != "" {
			q.Set("next_page_token", next)
		}
		var page struct {
			NextPageToken string       `json:"next_page_token"`
			Registrants   []Registrant `json:"registrants"`
		}
		if err := c.do(ctx, http.MethodGet, "/meetings/"+url.PathEscape(meetingID)+"/registrants", q, nil, http.StatusOK, &page); err != nil {
			return Registrant{}, false, err
		}
		for _, r := range page.Registrants {
			if strings.EqualFold(r.Email, email) {
				return r, true, nil
			}
		}
		if page.NextPageToken == "" {
			break
		}
		next = page.NextPageToken
	}
	return Registrant{}, false, nil
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body any, want int, out any) error {
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("zoom: encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return &providers.Error{Provider: Provider, Kind: providers.KindPermanent, Code: "invalid_request", Message: err.Error()}
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return &providers.Error{Provider: Provider, Kind: providers.KindRetryable, Code: "transport", Message: err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == want || (resp.StatusCode >= 200 && resp.StatusCode < 300) {
		if out != nil && len(bytes.TrimSpace(raw)) > 0 {
			if err := json.Unmarshal(raw, out); err != nil {
				return &providers.Error{Provider: Provider, Kind: providers.KindRetryable, Code: "invalid_response", Status: resp.StatusCode, Message: "response is not the expected JSON"}
			}
		}
		return nil
	}
	return Classify(resp.StatusCode, resp.Header, raw, c.now())
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// APIError is Zoom's error body.
type APIError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Errors  []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// Zoom error codes the classifier knows.
const (
	CodeInvalidAccessToken = 124  // 401: invalid or expired access token
	CodeValidation         = 300  // 400: request validation failed
	CodeMeetingNotFound    = 3001 // 404: meeting does not exist
	CodeRateLimited        = 429
)

// Classify turns a Zoom error answer into a classified provider error:
//
//   - 429: rate limited. A daily limit waits until Retry-After (a date or
//     seconds); a per-second (QPS) limit waits one second unless
//     Retry-After says otherwise.
//   - 401 (code 124 and friends): the access token is invalid or expired
//     (Zoom can refuse a token before its expires_in); the runtime
//     refreshes once and retries, then it is an auth failure.
//   - 403 with code 4700-4799 (token lacks scopes): auth, reconnect.
//   - 5xx, 408: transient.
//   - other 4xx (validation 300, unknown meeting 3001, …): permanent.
func Classify(status int, h http.Header, body []byte, now time.Time) *providers.Error {
	var ae APIError
	_ = json.Unmarshal(body, &ae)
	e := &providers.Error{Provider: Provider, Status: status, Message: ae.Message}
	if ae.Code != 0 {
		e.Code = strconv.Itoa(ae.Code)
	} else {
		e.Code = "http_" + strconv.Itoa(status)
	}
	if len(ae.Errors) > 0 {
		parts := make([]string, 0, len(ae.Errors))
		for _, fe := range ae.Errors {
			parts = append(parts, fe.Field+": "+fe.Message)
		}
		e.Message = strings.TrimSpace(e.Message + " " + strings.Join(parts, "; "))
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	switch {
	case status == http.StatusTooManyRequests || ae.Code == CodeRateLimited:
		e.Kind = providers.KindRateLimited
		e.RetryAfter = retryAfter(h, now)
		if e.RetryAfter == 0 {
			// Per-second limits reset within a second.
			e.RetryAfter = time.Second
		}
	case status == http.StatusUnauthorized:
		e.Kind = providers.KindExpired
	case status == http.StatusForbidden && ae.Code >= 4700 && ae.Code < 4800:
		e.Kind = providers.KindAuth
	case status >= 500 || status == http.StatusRequestTimeout:
		e.Kind = providers.KindRetryable
	default:
		e.Kind = providers.KindPermanent
	}
	return e
}

// retryAfter reads Retry-After as seconds or as a date (Zoom sends
// "2020-05-31T00:00:00Z" for daily limits; HTTP dates are accepted too).
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	for _, layout := range []string{time.RFC3339, http.TimeFormat} {
		if t, err := time.Parse(layout, v); err == nil {
			if d := t.Sub(now); d > 0 {
				return d
			}
			return 0
		}
	}
	return 0
}

// Revoke revokes a token at Zoom's OAuth revoke endpoint
// (https://zoom.us/oauth/revoke): HTTP Basic client authentication, the
// token in a form body, {"status":"success"} on success. A token Zoom no
// longer knows counts as revoked.
func Revoke(ctx context.Context, hc *http.Client, revokeURL, clientID, clientSecret, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, revokeURL, strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		return &providers.Error{Provider: Provider, Kind: providers.KindPermanent, Code: "invalid_revoke_url", Message: err.Error()}
	}
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return &providers.Error{Provider: Provider, Kind: providers.KindRetryable, Code: "transport", Message: err.Error()}
	}
	defer resp.Body.Close()
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Reason string `json:"reason"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&out)
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusBadRequest && out.Error != "invalid_client":
		// invalid_request "Invalid Token!": already revoked or expired.
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return &providers.Error{Provider: Provider, Kind: providers.KindRetryable, Code: "revoke_failed", Status: resp.StatusCode, Message: out.Reason}
	}
	code := out.Error
	if code == "" {
		code = "revoke_failed"
	}
	return &providers.Error{Provider: Provider, Kind: providers.KindPermanent, Code: code, Status: resp.StatusCode, Message: out.Reason}
}

// RateLimitHeaders are the headers Zoom reports its limits in.
var RateLimitHeaders = []string{"Retry-After", "X-RateLimit-Category", "X-RateLimit-Type", "X-RateLimit-Limit", "X-RateLimit-Remaining"}
