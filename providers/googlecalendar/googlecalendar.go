// Package googlecalendar is a thin client over google.golang.org/api's
// Calendar v3 for what Aqio exports: an Aqio event becomes a calendar event
// with a deterministic id (so retries never duplicate), optionally with a
// Google Meet link, and is deleted when the Aqio event is cancelled.
package googlecalendar

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	calendar "google.golang.org/api/calendar/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/aqio/connect/providers"
)

// Client is a Calendar API client acting with one access token.
type Client struct {
	svc *calendar.Service
}

// NewClient returns a client calling baseURL
// (https://www.googleapis.com/calendar/v3/) through hc, the runtime's
// authenticated client (it adds the token and refreshes once on 401).
func NewClient(ctx context.Context, baseURL string, hc *http.Client) (*Client, error) {
	svc, err := calendar.NewService(ctx, option.WithEndpoint(baseURL), option.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("calendar client: %w", err)
	}
	return &Client{svc: svc}, nil
}

// base32hex without padding, lower case: the alphabet Calendar event ids
// allow (a-v, 0-9; 5 to 1024 characters).
var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// EventID derives the calendar event id of an Aqio event.
func EventID(aqioEventID string) string {
	return idEncoding.EncodeToString([]byte("aqio:" + aqioEventID))
}

// Event is what Aqio exports.
type Event struct {
	AqioID      string
	Title       string
	Description string
	Location    string
	Start, End  time.Time
	TimeZone    string
	Attendees   []string // emails
	// SendAttendees sends the list even when it is empty (add_attendees:
	// a patch that drops the last attendee must say so, or Google keeps them).
	SendAttendees bool
	Private       bool
	// WithMeet asks Google to create a Meet conference.
	WithMeet bool
}

// Result is the calendar event after a write.
type Result struct {
	ID       string
	Created  bool
	MeetLink string
	HTMLLink string
}

func toCalendar(e Event) *calendar.Event {
	ce := &calendar.Event{
		Id:          EventID(e.AqioID),
		Summary:     e.Title,
		Description: e.Description,
		Location:    e.Location,
		Start:       &calendar.EventDateTime{DateTime: e.Start.Format(time.RFC3339), TimeZone: e.TimeZone},
		End:         &calendar.EventDateTime{DateTime: e.End.Format(time.RFC3339), TimeZone: e.TimeZone},
		ExtendedProperties: &calendar.EventExtendedProperties{
			Private: map[string]string{"aqio_event_id": e.AqioID},
		},
	}
	if e.Private {
		ce.Visibility = "private"
	}
	for _, a := range e.Attendees {
		ce.Attendees = append(ce.Attendees, &calendar.EventAttendee{Email: a})
	}
	if e.SendAttendees && len(ce.Attendees) == 0 {
		ce.Attendees = []*calendar.EventAttendee{}
		ce.ForceSendFields = append(ce.ForceSendFields, "Attendees")
	}
	if e.WithMeet {
		ce.ConferenceData = &calendar.ConferenceData{CreateRequest: &calendar.CreateConferenceRequest{
			RequestId:             "aqio-" + EventID(e.AqioID),
			ConferenceSolutionKey: &calendar.ConferenceSolutionKey{Type: "hangoutsMeet"},
		}}
	}
	return ce
}

// Upsert inserts the event under its derived id, or patches it when it
// exists already (a retry, an update). sendUpdates is all, externalOnly or none.
func (c *Client) Upsert(ctx context.Context, calendarID string, e Event, sendUpdates string) (Result, error) {
	ce := toCalendar(e)
	got, err := c.svc.Events.Insert(calendarID, ce).ConferenceDataVersion(1).SendUpdates(sendUpdates).Context(ctx).Do()
	if err == nil {
		return c.settle(ctx, calendarID, got, true)
	}
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != http.StatusConflict {
		return Result{}, classify(err)
	}
	// The id exists: patch. Keep an existing conference; ask for one only
	// if the event has none.
	cur, err := c.svc.Events.Get(calendarID, ce.Id).Context(ctx).Do()
	if err != nil {
		return Result{}, classify(err)
	}
	if cur.ConferenceData != nil && len(cur.ConferenceData.EntryPoints) > 0 {
		ce.ConferenceData = nil
	}
	if cur.Status == "cancelled" {
		ce.Status = "confirmed"
	}
	ce.Id = ""
	got, err = c.svc.Events.Patch(calendarID, cur.Id, ce).ConferenceDataVersion(1).SendUpdates(sendUpdates).Context(ctx).Do()
	if err != nil {
		return Result{}, classify(err)
	}
	return c.settle(ctx, calendarID, got, false)
}

// PendingPolls bounds how often a pending Meet conference is re-read
// (with doubling waits from PendingWait) before the push fails
// retryably and Temporal tries again later.
var (
	PendingPolls = 8
	PendingWait  = 250 * time.Millisecond
)

// settle polls an event whose Meet conference is still being created
// (createRequest.status.statusCode "pending") until it is "success".
func (c *Client) settle(ctx context.Context, calendarID string, ev *calendar.Event, created bool) (Result, error) {
	wait := PendingWait
	for i := 0; pending(ev); i++ {
		if i == PendingPolls {
			return result(ev, created), &providers.Error{Provider: "google_calendar", Kind: providers.KindRetryable,
				Code: "conference_pending", Message: "the Meet conference is still being created"}
		}
		select {
		case <-ctx.Done():
			return Result{}, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 4*time.Second)
		got, err := c.svc.Events.Get(calendarID, ev.Id).Context(ctx).Do()
		if err != nil {
			return Result{}, classify(err)
		}
		ev = got
	}
	if cd := ev.ConferenceData; cd != nil && cd.CreateRequest != nil && cd.CreateRequest.Status != nil && cd.CreateRequest.Status.StatusCode == "failure" {
		return result(ev, created), &providers.Error{Provider: "google_calendar", Kind: providers.KindPermanent,
			Code: "conference_failed", Message: "Google could not create the Meet conference"}
	}
	return result(ev, created), nil
}

func pending(ev *calendar.Event) bool {
	cd := ev.ConferenceData
	return cd != nil && cd.CreateRequest != nil && cd.CreateRequest.Status != nil && cd.CreateRequest.Status.StatusCode == "pending"
}

// Delete deletes the event of an Aqio event; already gone is success.
func (c *Client) Delete(ctx context.Context, calendarID, aqioEventID, sendUpdates string) error {
	err := c.svc.Events.Delete(calendarID, EventID(aqioEventID)).SendUpdates(sendUpdates).Context(ctx).Do()
	var gerr *googleapi.Error
	if errors.As(err, &gerr) && (gerr.Code == http.StatusNotFound || gerr.Code == http.StatusGone) {
		return nil
	}
	if err != nil {
		return classify(err)
	}
	return nil
}

func result(ev *calendar.Event, created bool) Result {
	r := Result{ID: ev.Id, Created: created, MeetLink: ev.HangoutLink, HTMLLink: ev.HtmlLink}
	if ev.ConferenceData != nil {
		for _, ep := range ev.ConferenceData.EntryPoints {
			if ep.EntryPointType == "video" && ep.Uri != "" {
				r.MeetLink = ep.Uri
			}
		}
	}
	return r
}

var rateReasons = map[string]bool{"rateLimitExceeded": true, "userRateLimitExceeded": true}

func classify(err error) *providers.Error {
	if pe, ok := providers.AsError(err); ok {
		return pe
	}
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) {
		return &providers.Error{Provider: "google_calendar", Kind: providers.KindRetryable, Code: "transport", Message: err.Error()}
	}
	reason := ""
	if len(gerr.Errors) > 0 {
		reason = gerr.Errors[0].Reason
	}
	return classifyStatus(gerr.Code, reason, gerr.Message, gerr.Header)
}

func classifyStatus(status int, reason, message string, hdr http.Header) *providers.Error {
	e := &providers.Error{Provider: "google_calendar", Status: status, Code: reason, Message: message}
	if e.Code == "" {
		e.Code = "http_" + strconv.Itoa(status)
	}
	switch {
	case status == http.StatusTooManyRequests || (status == http.StatusForbidden && rateReasons[reason]):
		e.Kind = providers.KindRateLimited
		if hdr != nil {
			e.RetryAfter = providers.RetryDelay(hdr, providers.RateLimitHeaders{}, time.Now())
		}
	case status == http.StatusUnauthorized:
		e.Kind = providers.KindExpired
	case status == http.StatusForbidden:
		e.Kind, e.Field = providers.KindPermanent, "settings.calendar_id"
	case status >= 500 || status == http.StatusConflict:
		e.Kind = providers.KindRetryable
	default:
		e.Kind = providers.KindPermanent
	}
	return e
}

// revokeToken revokes a Google token at revokeURL (https://oauth2.googleapis.com/revoke).
func revokeToken(ctx context.Context, hc *http.Client, revokeURL, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, revokeURL, strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return &providers.Error{Provider: "google_calendar", Kind: providers.KindRetryable, Code: "transport", Message: err.Error()}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK, resp.StatusCode == http.StatusBadRequest:
		// 400 invalid_token: already revoked or expired, which is the goal.
		return nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return &providers.Error{Provider: "google_calendar", Kind: providers.KindRetryable, Code: "revoke_failed", Status: resp.StatusCode}
	}
	return &providers.Error{Provider: "google_calendar", Kind: providers.KindPermanent, Code: "revoke_failed", Status: resp.StatusCode}
}
