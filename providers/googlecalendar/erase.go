package googlecalendar

import (
	"context"
	"errors"
	"net/http"
	"time"

	calendar "google.golang.org/api/calendar/v3"
	"google.golang.org/api/googleapi"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/calendarentry"
)

var _ providers.Eraser = (*Connector)(nil)

// Erase removes the subject from the attendees of the future calendar
// events this integration created for the events they registered for
// (PATCH with the attendee list minus them, sendUpdates=none so Google
// emails nobody); events that have ended are left as they are and
// reported (not_possible).
func (*Connector) Erase(ctx context.Context, rt *providers.Runtime, s providers.ErasureSubject) (providers.EraseOutcome, error) {
	if len(s.Emails) == 0 {
		return calendarentry.NoAddress("Google Calendar"), nil
	}
	set := providers.SettingsOf[Settings](rt)
	c, err := NewClient(ctx, rt.APIBaseURL, rt.HTTP)
	if err != nil {
		return providers.EraseOutcome{}, err
	}
	var tally calendarentry.EraseTally
	for _, evID := range calendarentry.HeldEvents(s) {
		l, err := rt.Links.Get(ctx, "event", evID)
		if errors.Is(err, providers.ErrNotFound) {
			continue
		}
		if err != nil {
			return providers.EraseOutcome{}, err
		}
		if l.Status != "active" || l.ExternalID == "" {
			continue
		}
		r, err := c.RemoveAttendees(ctx, set.CalendarID, l.ExternalID, s, rt.Now())
		if err != nil {
			return providers.EraseOutcome{}, err
		}
		tally.Add(r)
	}
	return tally.Outcome("Google Calendar"), nil
}

// RemoveAttendees removes the subject's addresses from an event's
// attendees when it has not ended (GET, then PATCH attendees with
// sendUpdates=none).
func (c *Client) RemoveAttendees(ctx context.Context, calendarID, eventID string, s providers.ErasureSubject, now time.Time) (calendarentry.Removal, error) {
	ev, err := c.svc.Events.Get(calendarID, eventID).Context(ctx).Do()
	var gerr *googleapi.Error
	if errors.As(err, &gerr) && (gerr.Code == http.StatusNotFound || gerr.Code == http.StatusGone) {
		return calendarentry.Gone, nil
	}
	if err != nil {
		return 0, classify(err)
	}
	if ev.Status == "cancelled" {
		return calendarentry.Gone, nil
	}
	rest := []*calendar.EventAttendee{}
	for _, a := range ev.Attendees {
		if !calendarentry.IsSubject(s, a.Email) {
			rest = append(rest, a)
		}
	}
	if len(rest) == len(ev.Attendees) {
		return calendarentry.NotListed, nil
	}
	if end, ok := eventEnd(ev); ok && calendarentry.Ended(end, now) {
		return calendarentry.Past, nil
	}
	patch := &calendar.Event{Attendees: rest, ForceSendFields: []string{"Attendees"}}
	if _, err := c.svc.Events.Patch(calendarID, eventID, patch).SendUpdates("none").Context(ctx).Do(); err != nil {
		if errors.As(err, &gerr) && (gerr.Code == http.StatusNotFound || gerr.Code == http.StatusGone) {
			return calendarentry.Gone, nil
		}
		return 0, classify(err)
	}
	return calendarentry.Removed, nil
}

// eventEnd is when an event ends (an all-day event at the start of its
// exclusive end date, UTC).
func eventEnd(ev *calendar.Event) (time.Time, bool) {
	if ev.End == nil {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339, ev.End.DateTime); err == nil {
		return t, true
	}
	if t, err := time.Parse("2006-01-02", ev.End.Date); err == nil {
		return t, true
	}
	return time.Time{}, false
}
