package applecalendar

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/calendarentry"
)

func TestVTimezone(t *testing.T) {
	for _, tc := range []struct {
		tzid string
		want []string
	}{
		{"Europe/Oslo", []string{"BEGIN:DAYLIGHT", "DTSTART:20310330T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200",
			"BEGIN:STANDARD", "DTSTART:20311026T030000", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"}},
		// Southern hemisphere: daylight time spans the new year.
		{"Australia/Sydney", []string{"BEGIN:STANDARD", "TZOFFSETFROM:+1100", "TZOFFSETTO:+1000", "BYMONTH=4;BYDAY=1SU", "BEGIN:DAYLIGHT", "BYMONTH=10;BYDAY=1SU"}},
		{"Asia/Tokyo", []string{"BEGIN:STANDARD", "TZOFFSETFROM:+0900", "TZOFFSETTO:+0900"}},
		{"America/St_Johns", []string{"TZOFFSETFROM:-0330", "TZOFFSETTO:-0230"}},
	} {
		t.Run(tc.tzid, func(t *testing.T) {
			loc, err := time.LoadLocation(tc.tzid)
			if err != nil {
				t.Fatal(err)
			}
			en := calendarentry.Entry{AqioID: "e", Title: "x", Start: time.Date(2031, 5, 1, 10, 0, 0, 0, loc), End: time.Date(2031, 5, 1, 11, 0, 0, 0, loc), TimeZone: tc.tzid, Zone: loc}
			b, err := Encode(VCalendar("", []*ical.Event{VEvent(en, 3, time.Unix(0, 0))}, []calendarentry.Entry{en}))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(b), w) {
					t.Fatalf("missing %q in\n%s", w, b)
				}
			}
			if !strings.Contains(string(b), "DTSTART;TZID="+tc.tzid+":20310501T100000") || !strings.Contains(string(b), "SEQUENCE:3\r\n") {
				t.Fatalf("event times/sequence:\n%s", b)
			}
		})
	}
}

func TestEmptyFeedAndEscapedName(t *testing.T) {
	out, err := New().Feed(providers.FeedInput{Name: "Aqio; events, 2031", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if s := string(out.Body); !strings.HasPrefix(s, "BEGIN:VCALENDAR\r\n") || !strings.Contains(s, `X-WR-CALNAME:Aqio\; events\, 2031`) || !strings.HasSuffix(s, "END:VCALENDAR\r\n") {
		t.Fatalf("%s", s)
	}
}

func TestClassify(t *testing.T) {
	c := New()
	for _, tc := range []struct {
		status int
		kind   providers.Kind
		field  string
	}{
		{401, providers.KindAuth, "credentials.password"}, {403, providers.KindPermanent, "settings.calendar"},
		{429, providers.KindRateLimited, ""}, {503, providers.KindRateLimited, ""}, {500, providers.KindRetryable, ""}, {400, providers.KindPermanent, ""},
	} {
		e := c.Classify(&http.Response{StatusCode: tc.status, Header: http.Header{}}, nil)
		if e == nil || e.Kind != tc.kind || e.Field != tc.field {
			t.Fatalf("%d: %+v", tc.status, e)
		}
	}
}
