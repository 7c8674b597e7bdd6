package privacy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/api/enums/v1"

	applecalendarfake "github.com/aqio/connect/internal/fakes/applecalendar"
	zoomfake "github.com/aqio/connect/internal/fakes/zoom"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/providers/applecalendar"
	"github.com/aqio/connect/providers/googlecalendar"
	"github.com/aqio/connect/workflows"
)

// pushesOf maps each provider type to the event types it pushes (the catalog).
func pushesOf(t *testing.T, org *testenv.Org) map[string][]string {
	t.Helper()
	resp := org.Do(t, "GET", "/api/integrations/providers", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("providers: %d %s", resp.Status, resp.Body)
	}
	var body struct {
		Data []struct {
			Type   string   `json:"type"`
			Pushes []string `json:"pushes"`
		} `json:"data"`
	}
	resp.JSON(t, &body)
	out := map[string][]string{}
	for _, p := range body.Data {
		out[p.Type] = p.Pushes
	}
	if len(out) < 10 {
		t.Fatalf("providers: %s", resp.Body)
	}
	return out
}

// TestErasureAtConnectors: a person registers for a future online event
// (and for another one, then cancels) and for an event that has ended;
// Pipedrive, Salesforce, Zoom, Kit, Google Calendar, Outlook and Apple
// Calendar (CalDAV) get them. The erasure deletes them where the API can
// (the fakes record each call), unsubscribes them at Kit, removes them
// from the attendees of future calendar events (past ones are reported
// not_possible), finds the Zoom registrant Aqio cancelled by its link,
// leaves no column of any table holding them, and does nothing twice
// when retried.
func TestErasureAtConnectors(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	low := notAlnum.ReplaceAllString(strings.ToLower(org.ID), "")
	email := "Ivo.Marrowgate_" + low + "@Example.org"
	name := "Ivo Marrowgate"
	personal(email, name, "Marrowgate")
	other, otherName := "ruth+"+low+"@example.org", "Ruth Benedikte"
	lower := strings.ToLower(email)
	pushes := pushesOf(t, org)

	// Connect everything.
	integs := map[string]string{} // type → id
	integs["pipedrive"] = connect(t, org, "pipedrive", map[string]any{})
	integs["salesforce"] = connect(t, org, "salesforce", map[string]any{})
	integs["zoom"] = connect(t, org, "zoom", map[string]any{"require_registration": true})
	integs["kit"] = connect(t, org, "kit", map[string]any{})
	integs["google_calendar"] = connect(t, org, "google_calendar", map[string]any{"add_attendees": true, "create_meet_links": false})
	integs["outlook_calendar"] = connect(t, org, "outlook_calendar", map[string]any{"add_attendees": true})
	const appleUser, applePass = "ivo@icloud.example", "wxyz-abcd-efgh-ijkl"
	caldav := applecalendarfake.New(appleUser, applePass)
	caldavSrv := httptest.NewServer(caldav)
	t.Cleanup(caldavSrv.Close)
	ar := org.Do(t, "POST", "/api/integrations/apple_calendar/connect", map[string]any{"name": "iCloud",
		"credentials": map[string]any{"username": appleUser, "password": applePass, "server_url": caldavSrv.URL},
		"settings":    map[string]any{"calendar": "Work", "add_attendees": true}})
	if ar.Status != http.StatusCreated && ar.Status != http.StatusOK {
		t.Fatalf("connect Apple Calendar: %d %s", ar.Status, ar.Body)
	}
	integs["apple_calendar"] = ar.Map(t)["id"].(string)

	// post sends events and waits for every push the connectors take.
	step := 0
	post := func(typ string, objects ...map[string]any) {
		t.Helper()
		var ids []string
		for _, o := range objects {
			step++
			id := "pc" + string(rune('a'+step)) + "-" + low
			postEvent(t, org, id, typ, o)
			ids = append(ids, id)
		}
		for typName, integ := range integs {
			if !slices.Contains(pushes[typName], typ) {
				continue
			}
			for _, id := range ids {
				pushDone(t, env, integ, id)
			}
		}
	}
	evA, evC, evP := "pca_"+low, "pcc_"+low, "pcp_"+low
	event := func(id, title, start, end, where string) map[string]any {
		return map[string]any{"id": id, "title": title, "starts_at": start, "ends_at": end, "timezone": "Europe/Oslo",
			"location_type": where, "online_url": "https://aqio.test/live/" + id, "status": "published"}
	}
	post("event.created",
		event(evA, "Erasure webinar", "2031-10-01T09:00:00Z", "2031-10-01T11:00:00Z", "virtual"),
		event(evC, "Second webinar", "2031-11-01T09:00:00Z", "2031-11-01T11:00:00Z", "virtual"),
		event(evP, "Last year's meetup", "2020-03-01T17:00:00Z", "2020-03-01T20:00:00Z", "in_person"))
	reg := func(id, ev, who, whoName, status string) map[string]any {
		return map[string]any{"id": id, "event_id": ev, "user_email": who, "user_name": whoName, "status": status, "marketing_consent": true}
	}
	post("registration.confirmed",
		reg("pcra_"+low, evA, email, name, "confirmed"), reg("pcro_"+low, evA, other, otherName, "confirmed"),
		reg("pcrc_"+low, evC, email, name, "confirmed"), reg("pcrp_"+low, evP, email, name, "confirmed"))
	post("registration.cancelled", reg("pcrc_"+low, evC, email, name, "cancelled"))

	// They are at every provider.
	if _, ok := pipedriveFake.Person(email); !ok {
		t.Fatal("no Pipedrive person")
	}
	if len(salesforceFake.Find("Contact", "Email", lower))+len(salesforceFake.Find("Lead", "Email", lower)) == 0 {
		t.Fatal("no Salesforce contact or lead")
	}
	if _, ok := kitFake.Subscriber(email); !ok {
		t.Fatal("no Kit subscriber")
	}
	linkOf := func(typ, evID string) string {
		var ext string
		if err := env.App.Store.DB().Raw(`SELECT external_id FROM integration_links WHERE integration_id = ? AND object_type = 'event' AND object_id = ?`,
			integs[typ], evID).Scan(&ext).Error; err != nil || ext == "" {
			t.Fatalf("%s link of %s: %q %v", typ, evID, ext, err)
		}
		return ext
	}
	meetingA, meetingC := linkOf("zoom", evA), linkOf("zoom", evC)
	regStatus := func(meeting string) []string {
		var out []string
		for _, r := range zoomFake.Registrants(meeting) {
			if strings.EqualFold(r.Email, email) {
				out = append(out, r.Status)
			}
		}
		return out
	}
	if a, c := regStatus(meetingA), regStatus(meetingC); !slices.Equal(a, []string{"approved"}) || !slices.Equal(c, []string{"cancelled"}) {
		t.Fatalf("Zoom registrants: %v %v", a, c)
	}
	gAttendees := func(evID string) []string {
		var out []string
		ev := fake.Calendar.Event("primary", googlecalendar.EventID(evID))
		list, _ := ev["attendees"].([]any)
		for _, a := range list {
			out = append(out, strings.ToLower(a.(map[string]any)["email"].(string)))
		}
		slices.Sort(out)
		return out
	}
	if got := gAttendees(evA); !slices.Equal(got, []string{lower, other}) && !slices.Equal(got, []string{other, lower}) {
		t.Fatalf("Google attendees of A: %v", got)
	}
	if got := gAttendees(evP); !slices.Equal(got, []string{lower}) {
		t.Fatalf("Google attendees of the past event: %v", got)
	}
	outlookA, outlookP := linkOf("outlook_calendar", evA), linkOf("outlook_calendar", evP)
	appleA, appleP := applecalendar.ObjectPath(applecalendarfake.Home+"work/", evA), applecalendar.ObjectPath(applecalendarfake.Home+"work/", evP)
	for _, p := range []string{appleA, appleP} {
		if o, ok := caldav.Object(p); !ok || !strings.Contains(strings.ToLower(string(o.Data)), lower) {
			t.Fatalf("CalDAV object %s: %v %s", p, ok, o.Data)
		}
	}

	zoomDeletes := func() int {
		n := 0
		for _, r := range zoomFake.Requests() {
			if r.Op == zoomfake.OpDeleteRegistrant && r.Status == http.StatusNoContent {
				n++
			}
		}
		return n
	}
	provCalls := func() []int {
		return []int{pipedriveFake.Count("DELETE", "/api/v2/persons/"), sfDeletes(), kitFake.Count("POST", "/v4/subscribers/"), zoomDeletes(),
			len(fake.Calendar.Patches()), graphFake.Count("PATCH", "/me/events/"+outlookA, 0), len(caldavPuts(caldav, appleA))}
	}
	before := provCalls()
	var firstRun string
	gPatchesBefore := len(fake.Calendar.Patches())
	outlookPBefore, caldavPBefore := graphFake.Count("PATCH", "/me/events/"+outlookP, 0), len(caldavPuts(caldav, appleP))

	req := map[string]any{"request_id": "dsr-c-" + low, "email": email}
	resp := org.Do(t, "POST", "/api/privacy/erasures", req)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("erase: %d %s", resp.Status, resp.Body)
	}
	id := resp.Map(t)["id"].(string)
	if d, err := env.App.Temporal.DescribeWorkflowExecution(context.Background(), workflows.ErasureWorkflowID(org.ID, id), ""); err == nil {
		firstRun = d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	}
	var er map[string]any
	testenv.Eventually(t, wait, "erasure to complete", func() bool { er = erasure(t, org, id); return er["status"] != "pending" && er["status"] != "running" })
	if er["status"] != "completed" {
		t.Fatalf("erasure ended %v", er)
	}
	systems := map[string]map[string]any{}
	for _, s := range er["report"].(map[string]any)["systems"].([]any) {
		m := s.(map[string]any)
		systems[m["integration_type"].(string)] = m
		if strings.Contains(strings.ToLower(m["detail"].(string)), lower) {
			t.Errorf("%s outcome detail quotes the address: %v", m["integration_type"], m)
		}
	}
	want := map[string]struct {
		status  string
		deleted float64
	}{
		"pipedrive": {"deleted", 1}, "salesforce": {"deleted", 1}, "kit": {"not_possible", 0},
		// The approved registrant and the cancelled one (found by its link only).
		"zoom": {"deleted", 2},
		// Removed from the future event A; the event that has ended keeps them.
		"google_calendar": {"not_possible", 1}, "outlook_calendar": {"not_possible", 1}, "apple_calendar": {"not_possible", 1},
	}
	if len(systems) != len(want) {
		t.Fatalf("systems %v", er["report"])
	}
	for typ, w := range want {
		if s := systems[typ]; s == nil || s["status"] != w.status || (w.deleted > 0 && s["deleted"] != w.deleted) {
			t.Errorf("%s: %v, want %s with %v deleted", typ, s, w.status, w.deleted)
		}
	}
	if !strings.Contains(systems["google_calendar"]["detail"].(string), "1 event(s) that have ended") {
		t.Errorf("Google Calendar detail %v", systems["google_calendar"]["detail"])
	}

	// The providers got their deletion calls.
	if _, ok := pipedriveFake.Person(email); ok {
		t.Error("the Pipedrive person is still there")
	}
	if n := len(salesforceFake.Find("Contact", "Email", lower)) + len(salesforceFake.Find("Lead", "Email", lower)); n != 0 {
		t.Errorf("%d Salesforce records left", n)
	}
	if s, _ := kitFake.Subscriber(email); s.State != "cancelled" && s.State != "inactive" {
		t.Errorf("Kit subscriber state %q after the erasure", s.State)
	}
	if a, c := regStatus(meetingA), regStatus(meetingC); len(a)+len(c) != 0 {
		t.Errorf("Zoom registrants left: %v %v", a, c)
	}
	if got := gAttendees(evA); !slices.Equal(got, []string{other}) {
		t.Errorf("Google attendees of A after: %v", got)
	}
	if got := gAttendees(evP); !slices.Equal(got, []string{lower}) {
		t.Errorf("Google attendees of the past event after: %v (it is not rewritten)", got)
	}
	ps := fake.Calendar.Patches()[gPatchesBefore:]
	if len(ps) != 1 || ps[0].EventID != googlecalendar.EventID(evA) || ps[0].SendUpdates != "none" ||
		!slices.Equal(ps[0].Fields, []string{"attendees"}) || !slices.Equal(ps[0].Attendees, []string{other}) {
		t.Errorf("Google patches %+v", ps)
	}
	var gp []map[string]any
	for _, r := range graphFake.Requests() {
		if r.Method == http.MethodPatch && strings.HasSuffix(r.Path, "/me/events/"+outlookA) {
			var b map[string]any
			_ = json.Unmarshal(r.Body, &b)
			gp = append(gp, b)
		}
	}
	if len(gp) == 0 || len(gp[len(gp)-1]) != 1 || strings.Contains(strings.ToLower(string(must(json.Marshal(gp[len(gp)-1])))), lower) {
		t.Errorf("Outlook attendee patch %v", gp)
	}
	if graphFake.Count("PATCH", "/me/events/"+outlookP, 0) != outlookPBefore || len(caldavPuts(caldav, appleP)) != caldavPBefore {
		t.Error("a past event was rewritten")
	}
	if o, _ := caldav.Object(appleA); strings.Contains(strings.ToLower(string(o.Data)), lower) || !strings.Contains(string(o.Data), other) {
		t.Errorf("CalDAV object A after: %s", o.Data)
	}
	puts := caldavPuts(caldav, appleA)
	if last := puts[len(puts)-1]; last.IfMatch == "" || last.Status != http.StatusNoContent && last.Status != http.StatusCreated && last.Status != http.StatusOK {
		t.Errorf("CalDAV rewrite %+v", last)
	}
	if o, _ := caldav.Object(appleP); !strings.Contains(strings.ToLower(string(o.Data)), lower) {
		t.Error("the past CalDAV event was rewritten")
	}
	after := provCalls()
	for i := range after {
		if after[i] <= before[i] {
			t.Errorf("provider call %d: %d before, %d after the erasure", i, before[i], after[i])
		}
	}

	// The objects held for the providers' step are gone from the sealed
	// subject once the run finished.
	var sealed string
	if err := env.App.Store.DB().Raw(`SELECT subject FROM privacy_erasures WHERE id = ?`, id).Scan(&sealed).Error; err != nil {
		t.Fatal(err)
	}
	plain, err := env.App.Ring.Decrypt(sealed, []byte(id))
	if err != nil || strings.Contains(string(plain), `"held"`) || strings.Contains(string(plain), "pcra_") {
		t.Fatalf("sealed subject after the erasure: %s %v", plain, err)
	}

	// Nothing of them is left in any table.
	if l := leaks(t, env, email, name, "Marrowgate"); len(l) > 0 {
		t.Fatalf("personal data left after the erasure:\n%s", strings.Join(l, "\n"))
	}
	if l := leaks(t, env, other); len(l) == 0 {
		t.Fatal("the other registrant's data was erased too")
	}

	// Retried: nothing is asked again.
	if again := org.Do(t, "POST", "/api/privacy/erasures", req); again.Status != http.StatusOK || again.Map(t)["id"] != id {
		t.Fatalf("retried: %d %s", again.Status, again.Body)
	}
	wid := workflows.ErasureWorkflowID(org.ID, id)
	if st := waitClosed(t, env, wid); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("erasure run %s ended %v", wid, st)
	}
	d, err := env.App.Temporal.DescribeWorkflowExecution(context.Background(), wid, "")
	if err != nil || d.GetWorkflowExecutionInfo().GetExecution().GetRunId() != firstRun {
		t.Fatalf("the retried erasure started another run: %v", err)
	}
	if again := provCalls(); !slices.Equal(again, after) {
		t.Fatalf("the retried erasure called providers again: %v, then %v", after, again)
	}
}

func sfDeletes() int {
	n := 0
	for _, r := range salesforceFake.Requests() {
		if r.Method == http.MethodDelete && strings.Contains(r.Path, "/sobjects/") {
			n++
		}
	}
	return n
}

func caldavPuts(srv *applecalendarfake.Server, path string) []applecalendarfake.Request {
	var out []applecalendarfake.Request
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPut && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
