// Package calendarentry maps an Aqio event to a calendar entry once, for
// every calendar connector (Google Calendar, Outlook, Apple Calendar's
// CalDAV export and feed): times and time zone, location or online link,
// description with the event page, attendees from registrations, private
// events and cancellation. Connectors only translate an Entry into their
// provider's shape.
package calendarentry

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/aqio/connect/providers"
)

// Options are the calendar settings every calendar connector shares.
type Options struct {
	// IncludePrivate exports events whose visibility is "private"
	// (otherwise they are skipped).
	IncludePrivate bool
	// Attendees adds the event's active registrants as attendees.
	Attendees bool
}

// Entry is an Aqio event as a calendar entry.
type Entry struct {
	AqioID string
	Title  string
	// Description is the event's description followed by its Aqio page URL.
	Description string
	// Location is the venue; for an online-only event without a venue it
	// is the online link.
	Location string
	// OnlineURL is the event's own online link (may be empty).
	OnlineURL string
	// Online is a virtual or hybrid event (a connector may add its own
	// meeting: Meet, Teams).
	Online bool
	// PageURL is the event's Aqio page.
	PageURL    string
	Start, End time.Time
	// TimeZone is the event's IANA zone when it is a known one, else "".
	TimeZone string
	// Zone is the loaded TimeZone (UTC when TimeZone is ""); not kept in
	// JSON: LoadZone restores it.
	Zone      *time.Location `json:"-"`
	Private   bool
	Cancelled bool
	Attendees []Attendee
	// Updated is when Aqio last changed the event.
	Updated time.Time
}

// Attendee is one registrant.
type Attendee struct {
	Email string
	Name  string
}

// Skip reasons returned by Build.
const (
	SkipUnknown   = "event unknown"
	SkipPrivate   = "private event"
	SkipCancelled = "event cancelled"
)

// Build reads the latest state of an Aqio event and maps it. skip is
// non-empty when the event is not exported (unknown, or private and not
// included). A cancelled event is returned with Cancelled set: a feed or
// CalDAV writes it STATUS:CANCELLED, a REST calendar deletes it (and may
// use SkipCancelled as its skip reason). An event Aqio sent malformed is
// a *providers.RecordError.
func Build(ctx context.Context, rt *providers.Runtime, aqioEventID string, opt Options) (entry Entry, skip string, err error) {
	o, err := rt.Objects.Get(ctx, "event", aqioEventID)
	if errors.Is(err, providers.ErrNotFound) {
		return Entry{}, SkipUnknown, nil
	}
	if err != nil {
		return Entry{}, "", err
	}
	var e providers.AqioEvent
	if err := json.Unmarshal(o.Data, &e); err != nil {
		return Entry{}, "", record(aqioEventID, "invalid_event", "the event is not a JSON object")
	}
	if e.ID == "" {
		e.ID = aqioEventID
	}
	if e.Visibility == "private" && !opt.IncludePrivate {
		return Entry{}, SkipPrivate, nil
	}
	entry, err = FromEvent(e)
	if err != nil {
		return Entry{}, "", err
	}
	entry.Cancelled = entry.Cancelled || o.Status == "cancelled"
	entry.Updated = o.UpdatedAt
	if opt.Attendees {
		regs, err := rt.Objects.Children(ctx, "registration", e.ID)
		if err != nil {
			return Entry{}, "", err
		}
		entry.Attendees = FromRegistrations(regs)
	}
	return entry, "", nil
}

// FromEvent maps an Aqio event object (without attendees).
func FromEvent(e providers.AqioEvent) (Entry, error) {
	start, end, ok := e.Times()
	if !ok {
		return Entry{}, record(e.ID, "invalid_starts_at", "event starts_at is not an RFC 3339 time")
	}
	en := Entry{
		AqioID: e.ID, Title: e.Title, Description: e.Description, Location: e.Location,
		OnlineURL: e.OnlineURL, Online: e.Online(), PageURL: e.URL,
		Start: start, End: end, Zone: time.UTC,
		Private: e.Visibility == "private", Cancelled: e.Status == "cancelled",
	}
	if e.Timezone != "" {
		if loc, err := time.LoadLocation(e.Timezone); err == nil {
			en.TimeZone, en.Zone = e.Timezone, loc
		}
	}
	if en.Location == "" && en.OnlineURL != "" {
		en.Location = en.OnlineURL
	}
	if e.URL != "" {
		en.Description = strings.TrimSpace(en.Description + "\n\n" + e.URL)
	}
	return en, nil
}

// FromRegistrations lists the active registrants with an email, once each.
func FromRegistrations(regs []providers.Object) []Attendee {
	var out []Attendee
	seen := map[string]bool{}
	for _, r := range regs {
		var reg providers.AqioRegistration
		if json.Unmarshal(r.Data, &reg) != nil || reg.UserEmail == "" || r.Status == "cancelled" || reg.Status == "cancelled" {
			continue
		}
		key := strings.ToLower(strings.TrimSpace(reg.UserEmail))
		if seen[key] {
			continue
		}
		seen[key] = true
		a := Attendee{Email: strings.TrimSpace(reg.UserEmail)}
		if reg.UserName != nil {
			a.Name = *reg.UserName
		}
		out = append(out, a)
	}
	return out
}

// LoadZone sets Zone from TimeZone (after decoding a kept Entry).
func (e *Entry) LoadZone() {
	e.Zone = time.UTC
	if e.TimeZone == "" {
		return
	}
	if loc, err := time.LoadLocation(e.TimeZone); err == nil {
		e.Zone = loc
	} else {
		e.TimeZone = ""
	}
}

// Emails are the attendees' addresses.
func (e Entry) Emails() []string {
	out := make([]string, 0, len(e.Attendees))
	for _, a := range e.Attendees {
		out = append(out, a.Email)
	}
	return out
}

func record(id, code, msg string) error {
	return &providers.RecordError{ObjectType: "event", ObjectID: id, Code: code, Message: msg}
}
