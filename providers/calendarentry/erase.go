package calendarentry

import (
	"fmt"
	"strings"
	"time"

	"github.com/aqio/connect/providers"
)

// HeldEvents are the Aqio events of the subject's held registrations,
// once each, in order: the events whose calendar entries may list them
// as attendees (attendees come from registrations only).
func HeldEvents(s providers.ErasureSubject) []string {
	var out []string
	seen := map[string]bool{}
	for _, h := range s.Held {
		if h.Type != "registration" || h.ParentID == "" || seen[h.ParentID] {
			continue
		}
		seen[h.ParentID] = true
		out = append(out, h.ParentID)
	}
	return out
}

// IsSubject reports whether an attendee address (optionally "mailto:")
// is one of the subject's.
func IsSubject(s providers.ErasureSubject, address string) bool {
	a := strings.TrimSpace(address)
	if len(a) >= 7 && strings.EqualFold(a[:7], "mailto:") {
		a = a[7:]
	}
	for _, e := range s.Emails {
		if strings.EqualFold(strings.TrimSpace(e), a) {
			return true
		}
	}
	return false
}

// Removal is what erasing the subject did to one calendar entry.
type Removal int

// Removals.
const (
	// NotListed: the entry does not list the subject.
	NotListed Removal = iota
	// Removed: the subject was removed from a future entry's attendees.
	Removed
	// Past: the entry lists the subject but has ended; it is left as it is.
	Past
	// Gone: the entry no longer exists (deleted, cancelled).
	Gone
)

// Ended reports whether an entry ending at end is in the past at now.
func Ended(end, now time.Time) bool { return !end.After(now) }

// EraseTally counts the removals of one erasure at one calendar.
type EraseTally struct {
	Events, Removed, Past int
}

// Add counts one entry.
func (t *EraseTally) Add(r Removal) {
	t.Events++
	switch r {
	case Removed:
		t.Removed++
	case Past:
		t.Past++
	}
}

// Outcome is the erasure outcome of the tally at a calendar (its
// display name): deleted when the subject was removed from every entry
// still listing them, not_possible when ended events still list them
// (events that have ended are not rewritten: they are the record of a
// meeting that took place), not_found when no entry lists them.
func (t EraseTally) Outcome(calendar string) providers.EraseOutcome {
	switch {
	case t.Past > 0:
		return providers.EraseOutcome{Status: providers.EraseNotPossible, Deleted: t.Removed,
			Detail: fmt.Sprintf("removed from the attendees of %d future event(s); %d event(s) that have ended still list them: Aqio does not rewrite past events in %s, remove them there by hand", t.Removed, t.Past, calendar)}
	case t.Removed > 0:
		return providers.EraseOutcome{Status: providers.EraseDeleted, Deleted: t.Removed,
			Detail: fmt.Sprintf("removed from the attendees of %d future event(s)", t.Removed)}
	}
	return providers.EraseOutcome{Status: providers.EraseNotFound,
		Detail: fmt.Sprintf("none of the %d calendar event(s) of their registrations lists these addresses", t.Events)}
}

// NoAddress is the outcome of an erasure that knows no address.
func NoAddress(calendar string) providers.EraseOutcome {
	return providers.EraseOutcome{Status: providers.EraseNotPossible, Detail: calendar + " attendees are found by email and the erasure knows no address"}
}
