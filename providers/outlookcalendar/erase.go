package outlookcalendar

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/calendarentry"
	"github.com/aqio/connect/providers/msgraph"
)

var _ providers.Eraser = (*Connector)(nil)

// Erase removes the subject from the attendees of the future Outlook
// events this integration created for the events they registered for
// (GET the event in UTC, PATCH its attendees without them); events that
// have ended are left as they are and reported (not_possible).
func (*Connector) Erase(ctx context.Context, rt *providers.Runtime, s providers.ErasureSubject) (providers.EraseOutcome, error) {
	if len(s.Emails) == 0 {
		return calendarentry.NoAddress("Outlook"), nil
	}
	c := msgraph.New(rt)
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
		r, err := removeAttendees(ctx, c, l.ExternalID, s, rt.Now())
		if err != nil {
			return providers.EraseOutcome{}, err
		}
		tally.Add(r)
	}
	return tally.Outcome("Outlook"), nil
}

// graphLocal is Graph's dateTime (local to its timeZone, 7 fraction digits).
const graphLocal = "2006-01-02T15:04:05.9999999"

// removeAttendees removes the subject from one event's attendees unless
// it has ended: GET /me/events/{id}?$select=attendees,end,isCancelled
// with Prefer: outlook.timezone="UTC", then PATCH {"attendees": rest}
// (Graph replaces the list).
func removeAttendees(ctx context.Context, c *msgraph.Client, id string, s providers.ErasureSubject, now time.Time) (calendarentry.Removal, error) {
	var ev struct {
		Attendees   []attendee  `json:"attendees"`
		End         *dateTimeTZ `json:"end"`
		IsCancelled bool        `json:"isCancelled"`
	}
	path := "me/events/" + url.PathEscape(id)
	err := c.Send(ctx, http.MethodGet, path+"?"+url.Values{"$select": {"attendees,end,isCancelled"}}.Encode(), msgraph.UTC, nil, &ev)
	if msgraph.IsNotFound(err) {
		return calendarentry.Gone, nil
	}
	if err != nil {
		return 0, err
	}
	if ev.IsCancelled {
		return calendarentry.Gone, nil
	}
	rest := []attendee{}
	for _, a := range ev.Attendees {
		if !calendarentry.IsSubject(s, a.EmailAddress.Address) {
			rest = append(rest, attendee{EmailAddress: a.EmailAddress, Type: a.Type})
		}
	}
	if len(rest) == len(ev.Attendees) {
		return calendarentry.NotListed, nil
	}
	if ev.End != nil {
		loc := time.UTC // asked for; an IANA zone is honoured if Graph answers another
		if tz := ev.End.TimeZone; tz != "" && tz != "UTC" {
			if l, err := time.LoadLocation(tz); err == nil {
				loc = l
			}
		}
		if end, err := time.ParseInLocation(graphLocal, ev.End.DateTime, loc); err == nil && calendarentry.Ended(end, now) {
			return calendarentry.Past, nil
		}
	}
	err = c.JSON(ctx, http.MethodPatch, path, map[string]any{"attendees": rest}, nil)
	if msgraph.IsNotFound(err) {
		return calendarentry.Gone, nil
	}
	if err != nil {
		return 0, err
	}
	return calendarentry.Removed, nil
}
