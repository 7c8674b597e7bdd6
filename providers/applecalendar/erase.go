package applecalendar

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/calendarentry"
)

var _ providers.Eraser = (*Connector)(nil)

// Erase removes the subject from the attendees of the events of their
// registrations: from the entry each link keeps for the feed (it is
// Aqio's own copy, rendered on every GET: removed whether the event has
// ended or not, its SEQUENCE bumped so subscribers take the change) and,
// with CalDAV, from the calendar object of each future event (GET, the
// VEVENT rewritten without their ATTENDEE, PUT with If-Match on the ETag
// read). Calendar objects of events that have ended are left as they are
// and reported (not_possible).
func (*Connector) Erase(ctx context.Context, rt *providers.Runtime, s providers.ErasureSubject) (providers.EraseOutcome, error) {
	if len(s.Emails) == 0 {
		return calendarentry.NoAddress("Apple Calendar"), nil
	}
	var c *Client
	if usesCalDAV(rt) {
		var err error
		if c, err = client(rt); err != nil {
			return providers.EraseOutcome{}, err
		}
	}
	now := rt.Now().UTC()
	var tally calendarentry.EraseTally
	for _, evID := range calendarentry.HeldEvents(s) {
		l, err := rt.Links.Get(ctx, "event", evID)
		if errors.Is(err, providers.ErrNotFound) {
			continue
		}
		if err != nil {
			return providers.EraseOutcome{}, err
		}
		r, err := eraseEvent(ctx, rt, c, l, s, now)
		if err != nil {
			return providers.EraseOutcome{}, err
		}
		tally.Add(r)
	}
	return tally.Outcome("Apple Calendar"), nil
}

// eraseEvent removes the subject from one event's kept entry and CalDAV object.
func eraseEvent(ctx context.Context, rt *providers.Runtime, c *Client, l providers.Link, s providers.ErasureSubject, now time.Time) (calendarentry.Removal, error) {
	r := calendarentry.NotListed
	seq, _ := strconv.Atoi(l.Data["sequence"])
	if c != nil && l.Status == "active" && l.Data["calendar"] != "" {
		got, etag, err := removeAttendee(ctx, c, l.ExternalID, s, seq+1, now)
		if err != nil {
			return 0, err
		}
		r = got
		if got == calendarentry.Removed {
			l.Data["etag"] = etag
		}
	}
	en, err := keptEntry(l)
	if err != nil {
		return r, nil // nothing kept for the feed
	}
	kept := en.Attendees[:0:0]
	for _, a := range en.Attendees {
		// The local erasure has already redacted their address in the
		// kept entry (it is no address any more): drop that attendee too.
		if calendarentry.IsSubject(s, a.Email) || !strings.Contains(a.Email, "@") {
			continue
		}
		kept = append(kept, a)
	}
	if len(kept) == len(en.Attendees) {
		return r, nil
	}
	en.Attendees = kept
	b, err := json.Marshal(en)
	if err != nil {
		return 0, err
	}
	l.Data["entry"], l.Data["sequence"], l.Data["stamp"] = string(b), strconv.Itoa(seq+1), now.Format(time.RFC3339)
	if err := rt.Links.Put(ctx, l); err != nil {
		return 0, err
	}
	if r == calendarentry.NotListed && c == nil {
		r = calendarentry.Removed // a feed-only integration: the feed was the calendar
	}
	return r, nil
}

// removeAttendee rewrites the calendar object at path without the
// subject's ATTENDEE properties unless its event has ended; a 412 (the
// object changed on a device meanwhile) reads it again once.
func removeAttendee(ctx context.Context, c *Client, path string, s providers.ErasureSubject, seq int, now time.Time) (calendarentry.Removal, string, error) {
	for try := 0; try < 2; try++ {
		cal, etag, err := c.Get(ctx, path)
		if err != nil {
			return 0, "", err
		}
		if cal == nil {
			return calendarentry.Gone, "", nil
		}
		listed, ended := false, false
		for _, ev := range cal.Events() {
			atts := ev.Props.Values(ical.PropAttendee)
			rest := atts[:0:0]
			for _, a := range atts {
				if calendarentry.IsSubject(s, a.Value) {
					listed = true
					continue
				}
				rest = append(rest, a)
			}
			if len(rest) == len(atts) {
				continue
			}
			if end, err := ev.DateTimeEnd(time.UTC); err == nil && !end.IsZero() && calendarentry.Ended(end, now) {
				ended = true
			}
			if len(rest) == 0 {
				ev.Props.Del(ical.PropAttendee)
			} else {
				ev.Props[ical.PropAttendee] = rest
			}
			setRaw(ev.Props, ical.PropSequence, strconv.Itoa(seq))
			ev.Props.SetDateTime(ical.PropDateTimeStamp, now)
		}
		switch {
		case !listed:
			return calendarentry.NotListed, "", nil
		case ended:
			return calendarentry.Past, "", nil
		}
		tag, err := c.Put(ctx, path, cal, etag)
		if errors.Is(err, ErrPrecondition) {
			continue
		}
		if err != nil {
			return 0, "", err
		}
		return calendarentry.Removed, tag, nil
	}
	return 0, "", &providers.Error{Provider: Type, Kind: providers.KindRetryable, Code: "precondition_failed",
		Message: "the calendar object changed while the attendee was removed"}
}

// Get reads the calendar object at path and its ETag (nil when it is gone).
func (c *Client) Get(ctx context.Context, path string) (*ical.Calendar, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.resolve(path), nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", ical.MIMEType)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, "", &providers.Error{Provider: Type, Kind: providers.KindRetryable, Code: "transport", Message: err.Error()}
	}
	b, _ := readSome(resp)
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		return nil, "", nil
	}
	if pe := c.classify(resp, b); pe != nil {
		return nil, "", pe
	}
	cal, err := ical.NewDecoder(strings.NewReader(string(b))).Decode()
	if err != nil {
		return nil, "", &providers.Error{Provider: Type, Kind: providers.KindPermanent, Code: "invalid_calendar_object", Message: "the calendar object is not valid iCalendar"}
	}
	return cal, resp.Header.Get("ETag"), nil
}
