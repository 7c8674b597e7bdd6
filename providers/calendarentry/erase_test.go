package calendarentry_test

import (
	"slices"
	"testing"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/calendarentry"
)

func TestErasureHelpers(t *testing.T) {
	s := providers.ErasureSubject{Emails: []string{"ada@example.com"}, Held: []providers.HeldObject{
		{Type: "registration", ID: "r1", ParentID: "ev_1"}, {Type: "registration", ID: "r2", ParentID: "ev_2"},
		{Type: "registration", ID: "r3", ParentID: "ev_1"}, {Type: "event", ID: "ev_3"}, {Type: "registration", ID: "r4"}}}
	if got := calendarentry.HeldEvents(s); !slices.Equal(got, []string{"ev_1", "ev_2"}) {
		t.Fatalf("held events %v", got)
	}
	for addr, want := range map[string]bool{"ada@example.com": true, "MAILTO:Ada@Example.com": true, " ada@example.com ": true,
		"grace@example.com": false, "mailto:": false, "": false} {
		if calendarentry.IsSubject(s, addr) != want {
			t.Errorf("IsSubject(%q) != %v", addr, want)
		}
	}
	for _, tc := range []struct {
		name    string
		adds    []calendarentry.Removal
		status  string
		deleted int
	}{
		{"nothing", nil, providers.EraseNotFound, 0},
		{"not listed or gone", []calendarentry.Removal{calendarentry.NotListed, calendarentry.Gone}, providers.EraseNotFound, 0},
		{"removed", []calendarentry.Removal{calendarentry.Removed, calendarentry.NotListed, calendarentry.Removed}, providers.EraseDeleted, 2},
		{"a past event left", []calendarentry.Removal{calendarentry.Removed, calendarentry.Past}, providers.EraseNotPossible, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tally calendarentry.EraseTally
			for _, r := range tc.adds {
				tally.Add(r)
			}
			out := tally.Outcome("Google Calendar")
			if out.Status != tc.status || out.Deleted != tc.deleted || out.Detail == "" {
				t.Fatalf("%+v", out)
			}
		})
	}
}
