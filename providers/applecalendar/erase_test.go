package applecalendar_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	applecalendarfake "github.com/aqio/connect/internal/fakes/applecalendar"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/applecalendar"
	"github.com/aqio/connect/providers/calendarentry"
	"github.com/aqio/connect/providers/providertest"
)

// TestErase: the person is removed from the CalDAV object of a future
// event (GET, VEVENT without their ATTENDEE, PUT If-Match the ETag read;
// an object changed on a device meanwhile is read again) and from the
// feed's kept entries; the object of an event that has ended is left.
func TestErase(t *testing.T) {
	const user, pass = "ada@icloud.example", "abcd-efgh-ijkl-mnop"
	srv := applecalendarfake.New(user, pass)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	conn := applecalendar.New()
	set, err := conn.ParseSettings([]byte(`{"calendar":"Work","add_attendees":true}`))
	if err != nil {
		t.Fatal(err)
	}
	creds := providers.Credentials{Fields: map[string]string{"username": user, "password": pass, "server_url": hs.URL}}
	sess := providers.NewSession(conn, conn.Info(), creds)
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	links := &providertest.MemLinks{}
	rt := &providers.Runtime{IntegrationID: "int_1", OrganizationID: "org_1", Provider: providers.Provider{Info: conn.Info(), Connector: conn},
		APIBaseURL: hs.URL, Settings: set, Credentials: creds, HTTP: sess.Client(hs.Client()), Links: links,
		Objects: providertest.MemObjects{}, Now: func() time.Time { return now }}
	c, err := applecalendar.NewClient(hs.URL, rt.HTTP, conn.Classify)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	calPath := applecalendarfake.Home + "work/"
	attendees := []calendarentry.Attendee{{Email: "ada@example.com", Name: "Ada Lovelace"}, {Email: "grace@example.com", Name: "Grace Hopper"}}
	put := func(id string, start time.Time) string {
		en := calendarentry.Entry{AqioID: id, Title: "Talk " + id, Start: start, End: start.Add(2 * time.Hour), Zone: time.UTC, Attendees: attendees}
		path := applecalendar.ObjectPath(calPath, id)
		cal := applecalendar.VCalendar("", []*ical.Event{applecalendar.VEvent(en, 0, now)}, []calendarentry.Entry{en})
		tag, err := c.Put(ctx, path, cal, "")
		if err != nil {
			t.Fatal(err)
		}
		kept, _ := json.Marshal(en)
		if err := links.Put(ctx, providers.Link{ObjectType: "event", ObjectID: id, ExternalID: path, Status: "active",
			Data: map[string]string{"calendar": calPath, "etag": tag, "entry": string(kept), "sequence": "0"}}); err != nil {
			t.Fatal(err)
		}
		return path
	}
	future, past := put("ev_f", now.Add(72*time.Hour)), put("ev_p", now.Add(-72*time.Hour))
	// Changed on a device between the read and the write: the first PUT is refused (412).
	srv.Fail(http.MethodPut, future, 1, http.StatusPreconditionFailed, "")

	s := providers.ErasureSubject{Emails: []string{"ada@example.com"}, Held: []providers.HeldObject{
		{Type: "registration", ID: "reg_1", ParentID: "ev_f"}, {Type: "registration", ID: "reg_2", ParentID: "ev_p"},
		{Type: "registration", ID: "reg_3", ParentID: "ev_unknown"}}}
	out, err := conn.Erase(ctx, rt, s)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != providers.EraseNotPossible || out.Deleted != 1 || !strings.Contains(out.Detail, "1 event(s) that have ended") {
		t.Fatalf("outcome %+v", out)
	}
	if o, _ := srv.Object(future); strings.Contains(string(o.Data), "ada@example.com") || !strings.Contains(string(o.Data), "grace@example.com") ||
		!strings.Contains(string(o.Data), "SEQUENCE:1") {
		t.Fatalf("future object after the erasure:\n%s", o.Data)
	}
	if o, _ := srv.Object(past); !strings.Contains(string(o.Data), "ada@example.com") {
		t.Fatal("the past event's object was rewritten")
	}
	var puts []applecalendarfake.Request
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPut && r.Path == future {
			puts = append(puts, r)
		}
	}
	if len(puts) != 3 || puts[1].Status != http.StatusPreconditionFailed || puts[1].IfMatch == "" || puts[2].IfMatch == "" || puts[2].Status >= 300 {
		t.Fatalf("PUTs of the future object %+v", puts)
	}
	// The feed's copies drop them, past or future, their SEQUENCE bumped.
	for _, id := range []string{"ev_f", "ev_p"} {
		l, _ := links.Get(ctx, "event", id)
		if strings.Contains(l.Data["entry"], "ada@example.com") || !strings.Contains(l.Data["entry"], "grace@example.com") || l.Data["sequence"] != "1" {
			t.Fatalf("kept entry of %s: %v", id, l.Data)
		}
	}

	// Again: nothing lists them any more where Aqio may rewrite; the past
	// event still does.
	out, err = conn.Erase(ctx, rt, s)
	if err != nil || out.Status != providers.EraseNotPossible || out.Deleted != 0 {
		t.Fatalf("again: %+v %v", out, err)
	}
	if out, err := conn.Erase(ctx, rt, providers.ErasureSubject{UserID: "usr_1"}); err != nil || out.Status != providers.EraseNotPossible {
		t.Fatalf("no address: %+v %v", out, err)
	}
}
