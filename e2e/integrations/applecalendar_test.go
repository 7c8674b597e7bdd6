package integrations_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/emersion/go-ical"
	"go.temporal.io/api/enums/v1"

	applecalendarfake "github.com/aqio/connect/internal/fakes/applecalendar"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/providers/applecalendar"
	"github.com/aqio/connect/workflows"
)

// caldavRequests are requests to the CalDAV server with method under path.
func caldavRequests(srv *applecalendarfake.Server, method, path string) []applecalendarfake.Request {
	var out []applecalendarfake.Request
	for _, r := range srv.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, path) {
			out = append(out, r)
		}
	}
	return out
}

// vevent reads the one VEVENT stored at path.
func vevent(t *testing.T, srv *applecalendarfake.Server, path string) (*ical.Event, applecalendarfake.Object) {
	t.Helper()
	o, ok := srv.Object(path)
	if !ok {
		t.Fatalf("no calendar object at %s", path)
	}
	cal, err := ical.NewDecoder(strings.NewReader(string(o.Data))).Decode()
	if err != nil {
		t.Fatal(err)
	}
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("%d VEVENTs in %s", len(evs), o.Data)
	}
	return &evs[0], o
}

func propText(t *testing.T, ev *ical.Event, name string) string {
	t.Helper()
	p := ev.Props.Get(name)
	if p == nil {
		t.Fatalf("no %s", name)
	}
	if p.ValueType() != ical.ValueText {
		return p.Value // SEQUENCE is an INTEGER
	}
	v, err := p.Text()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// TestAppleCalendarCalDAV drives the Apple Calendar connector through the
// real path against go-webdav's CalDAV server: connect with an Apple ID
// and app-specific password (checked by discovery; a refused password or
// a server that is no CalDAV server is a 422 naming the field, nothing
// stored) → an event is PUT with If-None-Match: * under a stable UID, in
// its time zone → updates PUT with If-Match and bump SEQUENCE, a repeat
// duplicates nothing, registrants become attendees → a write the server
// refuses is listed as failed and re-run → 429 with Retry-After backs off
// → a change made on a device (412) is overwritten, not duplicated →
// cancellation DELETEs → disconnect.
func TestAppleCalendarCalDAV(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	const user, pass = "ada@icloud.example", "abcd-efgh-ijkl-mnop"
	srv := applecalendarfake.New(user, pass)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	connectApple := func(creds map[string]any, set map[string]any) testenv.Response {
		return org.Do(t, "POST", "/api/integrations/apple_calendar/connect", map[string]any{"name": "iCloud", "credentials": creds, "settings": set})
	}
	settings := map[string]any{"calendar": "Work", "add_attendees": true}

	resp := org.Do(t, "GET", "/api/integrations/providers", nil)
	if !strings.Contains(string(resp.Body), `"type":"apple_calendar"`) || !strings.Contains(string(resp.Body), `"auth_mode":"basic"`) {
		t.Fatalf("providers: %s", resp.Body)
	}
	for _, tc := range []struct {
		name  string
		creds map[string]any
		set   map[string]any
		field string
	}{
		{"wrong password", map[string]any{"username": user, "password": "wrong", "server_url": hs.URL}, settings, "credentials.password"},
		{"missing password", map[string]any{"username": user, "server_url": hs.URL}, settings, "credentials.password"},
		{"not a CalDAV server", map[string]any{"username": user, "password": pass, "server_url": fake.URL + "/nothing-here/"}, settings, "credentials.server_url"},
		{"bad calendar", map[string]any{"username": user, "password": pass, "server_url": hs.URL}, map[string]any{"calendar": "a\nb"}, "settings.calendar"},
		{"unknown setting", map[string]any{"username": user, "password": pass, "server_url": hs.URL}, map[string]any{"calender": "Work"}, "settings.calender"},
	} {
		r := connectApple(tc.creds, tc.set)
		if r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"field":"`+tc.field+`"`) {
			t.Fatalf("%s: %d %s, want 4xx naming %s", tc.name, r.Status, r.Body, tc.field)
		}
	}
	if l := org.Do(t, "GET", "/api/integrations", nil).Map(t)["data"].([]any); len(l) != 0 {
		t.Fatalf("refused connects stored %d integrations", len(l))
	}

	resp = connectApple(map[string]any{"username": user, "password": pass, "server_url": hs.URL}, settings)
	if resp.Status != http.StatusCreated || strings.Contains(string(resp.Body), pass) {
		t.Fatalf("connect: %d %s", resp.Status, resp.Body)
	}
	id := resp.Map(t)["id"].(string)
	done := func(eventID string) {
		t.Helper()
		if st := waitClosed(t, env, workflows.PushWorkflowID(id, eventID)); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			t.Fatalf("push %s ended %v", eventID, st)
		}
	}

	// Created: one object in the Work calendar, created with If-None-Match: *.
	evID := "apev_" + org.ID
	ev := event(evID, "Aqio meetup "+org.ID, "2031-09-01T17:00:00+02:00", "2031-09-01T19:30:00+02:00", "hybrid", 50)
	ev["location"] = "Operaen, Oslo"
	postEvent(t, org, "ap0-"+org.ID, "event.created", ev)
	done("ap0-" + org.ID)
	path := applecalendar.ObjectPath(applecalendarfake.Home+"work/", evID)
	e, obj := vevent(t, srv, path)
	start := e.Props.Get(ical.PropDateTimeStart)
	if propText(t, e, ical.PropUID) != applecalendar.UID(evID) || propText(t, e, ical.PropSequence) != "0" ||
		propText(t, e, ical.PropStatus) != "CONFIRMED" || start.Params.Get(ical.PropTimezoneID) != "Europe/Oslo" ||
		start.Value != "20310901T170000" || propText(t, e, ical.PropLocation) != "Operaen, Oslo" ||
		!strings.Contains(string(obj.Data), "BEGIN:VTIMEZONE") {
		t.Fatalf("created object:\n%s", obj.Data)
	}
	if js := icalJS(t, obj.Data); len(js.Events) != 1 || js.Events[0].StartUTC != "2031-09-01T15:00:00.000Z" || js.Events[0].TZID != "Europe/Oslo" {
		t.Fatalf("ical.js read the object as %+v", js)
	}
	if puts := caldavRequests(srv, "PUT", path); len(puts) != 1 || puts[0].IfNoneMatch != "*" || puts[0].IfMatch != "" {
		t.Fatalf("create PUTs %+v", puts)
	}

	// Updated: If-Match with our ETag, SEQUENCE 1; the same update again
	// still one object (SEQUENCE 2).
	ev["title"] = "Aqio meetup (moved) " + org.ID
	postEvent(t, org, "ap1-"+org.ID, "event.updated", ev)
	done("ap1-" + org.ID)
	e, obj2 := vevent(t, srv, path)
	if propText(t, e, ical.PropSequence) != "1" || !strings.HasPrefix(propText(t, e, ical.PropSummary), "Aqio meetup (moved)") {
		t.Fatalf("updated object:\n%s", obj2.Data)
	}
	puts := caldavRequests(srv, "PUT", path)
	if len(puts) != 2 || puts[1].IfMatch == "" || !strings.Contains(puts[1].IfMatch, obj.ETag) || puts[1].IfNoneMatch != "" {
		t.Fatalf("update PUT %+v (ETag was %s)", puts[len(puts)-1], obj.ETag)
	}

	// A registrant becomes an ATTENDEE.
	postEvent(t, org, "ap2-"+org.ID, "registration.confirmed", map[string]any{"id": "apr1" + org.ID, "event_id": evID,
		"user_email": "grace@example.com", "user_name": "Grace Hopper", "status": "confirmed"})
	done("ap2-" + org.ID)
	e, obj3 := vevent(t, srv, path)
	if a := e.Props.Get(ical.PropAttendee); a == nil || a.Value != "mailto:grace@example.com" || a.Params.Get(ical.ParamCommonName) != "Grace Hopper" ||
		propText(t, e, ical.PropSequence) != "2" {
		t.Fatalf("attendee:\n%s", obj3.Data)
	}
	if n := len(srv.Objects(applecalendarfake.Home)); n != 1 {
		t.Fatalf("%d objects, want 1", n)
	}

	// The server refuses the write (403): the push fails, is listed with
	// the answer, and is re-run from the activity list.
	srv.Fail("PUT", path, 1, http.StatusForbidden, "")
	postEvent(t, org, "ap3-"+org.ID, "event.updated", ev)
	if st := waitClosed(t, env, workflows.PushWorkflowID(id, "ap3-"+org.ID)); st != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("refused push ended %v", st)
	}
	failed := kitPush(t, org, id, "ap3-"+org.ID, "failed")
	respObj, _ := failed["response"].(map[string]any)
	if respObj == nil || respObj["status"] != float64(403) || failed["temporal_url"] == "" {
		t.Fatalf("failed push: %v", failed)
	}
	rr := org.Do(t, "POST", "/api/integrations/"+id+"/pushes/"+failed["id"].(string)+"/retry", nil)
	if rr.Status != http.StatusAccepted {
		t.Fatalf("retry: %d %s", rr.Status, rr.Body)
	}
	rerun := rr.Map(t)
	testenv.Eventually(t, wait, "re-run to succeed", func() bool {
		for _, a := range org.Do(t, "GET", "/api/integrations/"+id+"/activity?kind=push", nil).Map(t)["data"].([]any) {
			if m := a.(map[string]any); m["id"] == rerun["id"] {
				return m["status"] == "succeeded" && m["action"] == "updated" && m["retry_of"] == failed["id"]
			}
		}
		return false
	})

	// 429 with Retry-After: the push waits and goes through.
	srv.Fail("PUT", path, 2, http.StatusTooManyRequests, "1")
	before := len(caldavRequests(srv, "PUT", path))
	postEvent(t, org, "ap4-"+org.ID, "event.updated", ev)
	done("ap4-" + org.ID)
	all := caldavRequests(srv, "PUT", path)[before:]
	if len(all) != 3 || all[0].Status != 429 || all[2].Status >= 300 {
		t.Fatalf("PUTs around 429s: %+v", all)
	}

	// Changed on a device since our write: If-Match fails (412), the
	// current version is read and overwritten; still one object.
	srv.Touch(path)
	postEvent(t, org, "ap5-"+org.ID, "event.updated", ev)
	done("ap5-" + org.ID)
	last := caldavRequests(srv, "PUT", path)
	if n := len(last); n < 2 || last[n-2].Status != http.StatusPreconditionFailed || last[n-1].Status >= 300 {
		t.Fatalf("412 then overwrite: %+v", last[len(last)-2:])
	}
	if n := len(srv.Objects(applecalendarfake.Home)); n != 1 {
		t.Fatalf("%d objects after a device edit, want 1", n)
	}

	// Cancelled: DELETE; the link says deleted.
	postEvent(t, org, "ap6-"+org.ID, "event.cancelled", ev)
	done("ap6-" + org.ID)
	if _, ok := srv.Object(path); ok || len(caldavRequests(srv, "DELETE", path)) != 1 {
		t.Fatal("the cancelled event was not deleted")
	}
	links := org.Do(t, "GET", "/api/integrations/"+id+"/links", nil)
	if !strings.Contains(string(links.Body), `"status":"deleted"`) {
		t.Fatalf("links: %s", links.Body)
	}

	// Disconnect (no revocation exists for app-specific passwords).
	if r := org.Do(t, "DELETE", "/api/integrations/"+id, nil); r.Status != http.StatusNoContent {
		t.Fatalf("disconnect: %d %s", r.Status, r.Body)
	}
}
