package calendarentry

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aqio/connect/providers"
)

func TestFromEvent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ev       providers.AqioEvent
		location string
		zone     string
		end      string
		err      bool
	}{
		{"venue and zone", providers.AqioEvent{ID: "e1", StartsAt: "2031-01-01T10:00:00+01:00", EndsAt: "2031-01-01T12:00:00+01:00", Timezone: "Europe/Oslo", Location: "Operaen"},
			"Operaen", "Europe/Oslo", "2031-01-01T12:00:00+01:00", false},
		{"online only: the link is the location", providers.AqioEvent{ID: "e2", StartsAt: "2031-01-01T10:00:00Z", LocationType: "virtual", OnlineURL: "https://meet.example/x"},
			"https://meet.example/x", "", "2031-01-01T11:00:00Z", false},
		{"unknown zone is dropped", providers.AqioEvent{ID: "e3", StartsAt: "2031-01-01T10:00:00Z", Timezone: "Mars/Olympus"}, "", "", "2031-01-01T11:00:00Z", false},
		{"bad start", providers.AqioEvent{ID: "e4", StartsAt: "tomorrow"}, "", "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			en, err := FromEvent(tc.ev)
			var rec *providers.RecordError
			if tc.err {
				if !errors.As(err, &rec) || rec.Code != "invalid_starts_at" {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err != nil || en.Location != tc.location || en.TimeZone != tc.zone || en.Zone == nil || !en.End.Equal(mustTime(tc.end)) {
				t.Fatalf("%+v %v", en, err)
			}
		})
	}
}

func mustTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

func TestFromRegistrationsSkipsCancelledAndDuplicates(t *testing.T) {
	reg := func(email, status, objStatus string) providers.Object {
		b, _ := json.Marshal(map[string]any{"user_email": email, "status": status})
		return providers.Object{Data: b, Status: objStatus}
	}
	got := FromRegistrations([]providers.Object{
		reg("ada@example.com", "confirmed", ""), reg("ADA@example.com", "confirmed", ""),
		reg("bob@example.com", "cancelled", ""), reg("eve@example.com", "confirmed", "cancelled"), reg("", "confirmed", ""),
	})
	if len(got) != 1 || got[0].Email != "ada@example.com" {
		t.Fatalf("%+v", got)
	}
}

func TestEntryKeepsItsZoneThroughJSON(t *testing.T) {
	en, _ := FromEvent(providers.AqioEvent{ID: "e1", StartsAt: "2031-06-01T10:00:00+02:00", Timezone: "Europe/Oslo"})
	b, _ := json.Marshal(en)
	var back Entry
	_ = json.Unmarshal(b, &back)
	back.LoadZone()
	if back.Zone == nil || back.Zone.String() != "Europe/Oslo" || !back.Start.Equal(en.Start) {
		t.Fatalf("%+v", back)
	}
}
