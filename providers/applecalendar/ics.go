package applecalendar

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/aqio/connect/providers/calendarentry"
)

// ProdID names the writer in every iCalendar object.
const ProdID = "-//Aqio//Aqio Connect//EN"

// UID is the stable iCalendar UID of an Aqio event (the same in every
// calendar and on every write, so clients update instead of duplicating).
func UID(aqioEventID string) string { return "aqio-event-" + aqioEventID + "@connect.aqio" }

// VEvent writes one calendar entry as a VEVENT. sequence is bumped by the
// caller on every change (RFC 5545 SEQUENCE); a cancelled entry is
// STATUS:CANCELLED. Times carry the event's TZID when it has a known zone
// (the calendar then needs VTimezone for it), else UTC.
func VEvent(en calendarentry.Entry, sequence int, stamp time.Time) *ical.Event {
	ev := ical.NewEvent()
	ev.Props.SetText(ical.PropUID, UID(en.AqioID))
	ev.Props.SetDateTime(ical.PropDateTimeStamp, stamp.UTC())
	if !en.Updated.IsZero() {
		ev.Props.SetDateTime(ical.PropLastModified, en.Updated.UTC())
	}
	setTime(ev, ical.PropDateTimeStart, en.Start, en)
	setTime(ev, ical.PropDateTimeEnd, en.End, en)
	ev.Props.SetText(ical.PropSummary, en.Title)
	if en.Description != "" {
		ev.Props.SetText(ical.PropDescription, en.Description)
	}
	if en.Location != "" {
		ev.Props.SetText(ical.PropLocation, en.Location)
	}
	if u := firstNonEmpty(en.OnlineURL, en.PageURL); u != "" {
		p := ical.NewProp(ical.PropURL)
		p.SetValueType(ical.ValueURI)
		p.Value = u
		ev.Props.Set(p)
	}
	setRaw(ev.Props, ical.PropSequence, fmt.Sprint(sequence))
	status := "CONFIRMED"
	if en.Cancelled {
		status = "CANCELLED"
	}
	ev.Props.SetText(ical.PropStatus, status)
	class := "PUBLIC"
	if en.Private {
		class = "PRIVATE"
	}
	ev.Props.SetText(ical.PropClass, class)
	for _, a := range en.Attendees {
		p := ical.NewProp(ical.PropAttendee)
		p.Value = "mailto:" + a.Email
		if a.Name != "" {
			p.Params.Set(ical.ParamCommonName, a.Name)
		}
		p.Params.Set(ical.ParamRole, "REQ-PARTICIPANT")
		p.Params.Set(ical.ParamParticipationStatus, "ACCEPTED")
		ev.Props.Add(p)
	}
	return ev
}

func setTime(ev *ical.Event, name string, t time.Time, en calendarentry.Entry) {
	p := ical.NewProp(name)
	if en.TimeZone == "" || en.TimeZone == "UTC" {
		p.SetDateTime(t.UTC())
	} else {
		p.SetDateTime(t.In(en.Zone))
	}
	ev.Props.Set(p)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// VCalendar wraps VEVENTs (and the VTIMEZONEs their TZIDs need) in a VCALENDAR.
func VCalendar(name string, events []*ical.Event, entries []calendarentry.Entry) *ical.Calendar {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, ProdID)
	cal.Props.SetText(ical.PropCalendarScale, "GREGORIAN")
	if name != "" {
		setRaw(cal.Props, "X-WR-CALNAME", escapeText(name))
	}
	seen := map[string]bool{}
	for _, en := range entries {
		if en.TimeZone == "" || en.TimeZone == "UTC" || seen[en.TimeZone+fmt.Sprint(en.Start.Year())] {
			continue
		}
		seen[en.TimeZone+fmt.Sprint(en.Start.Year())] = true
		if !seen[en.TimeZone] {
			seen[en.TimeZone] = true
			cal.Children = append(cal.Children, VTimezone(en.Zone, en.TimeZone, en.Start.Year()))
		}
	}
	for _, ev := range events {
		cal.Children = append(cal.Children, ev.Component)
	}
	return cal
}

// Encode writes cal as RFC 5545 text. A calendar without components (a
// feed before its first event) is written as its properties alone, which
// calendar apps accept as an empty calendar (go-ical refuses to).
func Encode(cal *ical.Calendar) ([]byte, error) {
	var buf bytes.Buffer
	if len(cal.Children) == 0 {
		buf.WriteString("BEGIN:VCALENDAR\r\n")
		for _, name := range []string{ical.PropVersion, ical.PropProductID, ical.PropCalendarScale, "X-WR-CALNAME"} {
			if p := cal.Props.Get(name); p != nil && p.Value != "" {
				buf.WriteString(name + ":" + p.Value + "\r\n")
			}
		}
		buf.WriteString("END:VCALENDAR\r\n")
		return buf.Bytes(), nil
	}
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, fmt.Errorf("encode icalendar: %w", err)
	}
	return buf.Bytes(), nil
}

// VTimezone describes loc for the given year from Go's zone database: a
// zone without daylight saving is one STANDARD observance; otherwise the
// year's two transitions become STANDARD and DAYLIGHT observances with
// yearly rules (the usual last/first-weekday-of-month shape).
func VTimezone(loc *time.Location, tzid string, year int) *ical.Component {
	tz := ical.NewComponent(ical.CompTimezone)
	tz.Props.SetText(ical.PropTimezoneID, tzid)
	jan := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
	jul := time.Date(year, 7, 1, 0, 0, 0, 0, loc)
	_, offJan := jan.Zone()
	_, offJul := jul.Zone()
	if offJan == offJul {
		name, _ := jan.Zone()
		tz.Children = append(tz.Children, observance(ical.CompTimezoneStandard, name, offJan, offJan, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), ""))
		return tz
	}
	// Find the two transitions of the year.
	for _, span := range [][2]time.Time{{jan, jul}, {jul, time.Date(year+1, 1, 1, 0, 0, 0, 0, loc)}} {
		at := transition(span[0], span[1])
		_, before := at.Add(-time.Second).Zone()
		name, after := at.Zone()
		kind := ical.CompTimezoneStandard
		if after > before {
			kind = ical.CompTimezoneDaylight
		}
		// DTSTART is the local wall time before the change.
		local := at.Add(time.Duration(before) * time.Second).UTC()
		tz.Children = append(tz.Children, observance(kind, name, before, after, local, yearlyRule(at.In(loc))))
	}
	return tz
}

// transition finds the instant the UTC offset changes between a and b.
func transition(a, b time.Time) time.Time {
	_, off := a.Zone()
	for b.Sub(a) > time.Second {
		mid := a.Add(b.Sub(a) / 2)
		if _, o := mid.Zone(); o == off {
			a = mid
		} else {
			b = mid
		}
	}
	return b.Truncate(time.Second)
}

// yearlyRule is RRULE FREQ=YEARLY;BYMONTH=m;BYDAY=nWD for a transition
// (-1 when it falls in the month's last week).
func yearlyRule(t time.Time) string {
	wd := strings.ToUpper(t.Weekday().String()[:2])
	n := (t.Day()-1)/7 + 1
	if t.AddDate(0, 0, 7).Month() != t.Month() {
		n = -1
	}
	return fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=%d%s", int(t.Month()), n, wd)
}

func observance(kind, name string, from, to int, start time.Time, rule string) *ical.Component {
	c := ical.NewComponent(kind)
	c.Props.SetText(ical.PropTimezoneName, name)
	setRaw(c.Props, ical.PropTimezoneOffsetFrom, offset(from))
	setRaw(c.Props, ical.PropTimezoneOffsetTo, offset(to))
	p := ical.NewProp(ical.PropDateTimeStart)
	p.Value = start.Format("20060102T150405")
	c.Props.Set(p)
	if rule != "" {
		r := ical.NewProp(ical.PropRecurrenceRule)
		r.SetValueType(ical.ValueRecurrence)
		r.Value = rule
		c.Props.Set(r)
	}
	return c
}

func offset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	return fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec/60%60)
}

// escapeText escapes a TEXT value (RFC 5545 3.3.11); names are short, so
// lines are not folded.
func escapeText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`).Replace(s)
}

// setRaw sets a property whose value is already in its iCalendar form
// (INTEGER, UTC-OFFSET, escaped TEXT), without a VALUE parameter.
func setRaw(props ical.Props, name, value string) {
	p := ical.NewProp(name)
	p.Value = value
	props.Set(p)
}
