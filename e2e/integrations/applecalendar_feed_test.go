package integrations_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/providers/applecalendar"
)

// icalJS parses a feed with Mozilla's ical.js under Node (an iCalendar
// parser independent of the Go library that wrote it).
type icalJSFeed struct {
	Name   string `json:"name"`
	Events []struct {
		UID       string   `json:"uid"`
		Sequence  int      `json:"sequence"`
		Status    string   `json:"status"`
		Summary   string   `json:"summary"`
		StartUTC  string   `json:"start_utc"`
		EndUTC    string   `json:"end_utc"`
		TZID      string   `json:"tzid"`
		Attendees []string `json:"attendees"`
	} `json:"events"`
}

func icalJS(t *testing.T, feed []byte) icalJSFeed {
	t.Helper()
	dir := filepath.Join("testdata", "icaljs")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ical.js")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s (the feed is checked with ical.js; needs Node and npm): %v\n%s", dir, err, out)
		}
	}
	cmd := exec.Command("node", "check.mjs")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(string(feed))
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("ical.js refused the feed: %v\n%s\nfeed:\n%s", err, stderr, feed)
	}
	var got icalJSFeed
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	return got
}

type feedAnswer struct {
	status int
	etag   string
	ctype  string
	body   []byte
}

// getFeed fetches a feed as a calendar app does: no credential.
func getFeed(t *testing.T, u, ifNoneMatch string) feedAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return feedAnswer{resp.StatusCode, resp.Header.Get("ETag"), resp.Header.Get("Content-Type"), b}
}

// TestAppleCalendarFeed drives the subscribable feed: connect without
// credentials → no feed until a token is issued → the secret URL serves
// RFC 5545 that ical.js parses, with stable UIDs, the event's zone, and
// SEQUENCE bumped on each change; conditional GET answers 304 until
// something changes → private events stay out → a cancelled event stays
// as STATUS:CANCELLED → rotation kills the old URL, revocation the new one.
func TestAppleCalendarFeed(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	resp := org.Do(t, "POST", "/api/integrations/apple_calendar/connect", map[string]any{"name": "Aqio events", "credentials": map[string]any{}, "settings": map[string]any{}})
	if resp.Status != http.StatusCreated {
		t.Fatalf("connect: %d %s", resp.Status, resp.Body)
	}
	id := resp.Map(t)["id"].(string)

	if f := org.Do(t, "GET", "/api/integrations/"+id+"/feed", nil); f.Status != http.StatusOK || f.Map(t)["enabled"] != false {
		t.Fatalf("feed before a token: %d %s", f.Status, f.Body)
	}
	rot := org.Do(t, "POST", "/api/integrations/"+id+"/feed", nil)
	if rot.Status != http.StatusOK {
		t.Fatalf("issue feed: %d %s", rot.Status, rot.Body)
	}
	urls := rot.Map(t)
	feedURL, _ := urls["url"].(string)
	webcal, _ := urls["webcal_url"].(string)
	token := strings.TrimSuffix(feedURL[strings.LastIndex(feedURL, "/")+1:], ".ics")
	if urls["enabled"] != true || !strings.HasPrefix(feedURL, "http://") || !strings.HasPrefix(webcal, "webcal://") || len(token) < 40 {
		t.Fatalf("feed urls %v", urls)
	}
	if f := org.Do(t, "GET", "/api/integrations/"+id+"/feed", nil); f.Map(t)["url"] != feedURL {
		t.Fatalf("GET feed: %s", f.Body)
	}

	empty := getFeed(t, feedURL, "")
	if empty.status != http.StatusOK || !strings.HasPrefix(empty.ctype, "text/calendar") || empty.etag == "" {
		t.Fatalf("empty feed: %d %q %q %s", empty.status, empty.ctype, empty.etag, empty.body)
	}
	if got := icalJS(t, empty.body); got.Name != "Aqio events" || len(got.Events) != 0 {
		t.Fatalf("empty feed parsed as %+v", got)
	}

	evID := "fev_" + org.ID
	ev := event(evID, "Feed meetup "+org.ID, "2031-03-30T18:00:00+02:00", "2031-03-30T20:00:00+02:00", "in_person", 30)
	postEvent(t, org, "f0-"+org.ID, "event.created", ev)
	priv := event("fpriv_"+org.ID, "Board dinner", "2031-04-02T19:00:00+02:00", "", "in_person", 8)
	priv["visibility"] = "private"
	postEvent(t, org, "f1-"+org.ID, "event.created", priv)
	kitPushDone(t, env, id, "f0-"+org.ID)
	kitPushDone(t, env, id, "f1-"+org.ID)

	one := getFeed(t, feedURL, "")
	got := icalJS(t, one.body)
	if one.etag == empty.etag || len(got.Events) != 1 {
		t.Fatalf("feed after one event (%s):\n%s", one.etag, one.body)
	}
	e := got.Events[0]
	// 18:00 in Oslo on 30 March 2031 is summer time (+02:00): 16:00 UTC.
	if e.UID != applecalendar.UID(evID) || e.Sequence != 0 || e.Status != "CONFIRMED" || e.TZID != "Europe/Oslo" ||
		e.StartUTC != "2031-03-30T16:00:00.000Z" || e.EndUTC != "2031-03-30T18:00:00.000Z" || !strings.HasPrefix(e.Summary, "Feed meetup") {
		t.Fatalf("event as ical.js read it: %+v\n%s", e, one.body)
	}
	if nm := getFeed(t, feedURL, one.etag); nm.status != http.StatusNotModified || len(nm.body) != 0 {
		t.Fatalf("If-None-Match with the current ETag: %d", nm.status)
	}

	ev["title"] = "Feed meetup (new room) " + org.ID
	postEvent(t, org, "f2-"+org.ID, "event.updated", ev)
	kitPushDone(t, env, id, "f2-"+org.ID)
	two := getFeed(t, feedURL, one.etag)
	if two.status != http.StatusOK || two.etag == one.etag {
		t.Fatalf("after an update, If-None-Match with the old ETag: %d %s", two.status, two.etag)
	}
	if e := icalJS(t, two.body).Events[0]; e.Sequence != 1 || !strings.HasPrefix(e.Summary, "Feed meetup (new room)") {
		t.Fatalf("updated: %+v", e)
	}

	postEvent(t, org, "f3-"+org.ID, "event.cancelled", ev)
	kitPushDone(t, env, id, "f3-"+org.ID)
	three := getFeed(t, feedURL, "")
	if evs := icalJS(t, three.body).Events; len(evs) != 1 || evs[0].Status != "CANCELLED" || evs[0].Sequence != 2 || evs[0].UID != applecalendar.UID(evID) {
		t.Fatalf("cancelled: %+v", evs)
	}

	// Wrong token, unknown integration: 404, nothing told apart.
	for _, u := range []string{strings.Replace(feedURL, token, strings.Repeat("A", len(token)), 1), strings.Replace(feedURL, id, "int_nope", 1)} {
		if a := getFeed(t, u, ""); a.status != http.StatusNotFound || strings.Contains(string(a.body), "BEGIN:VCALENDAR") {
			t.Fatalf("GET %s: %d", u, a.status)
		}
	}

	// Rotation: the old URL is dead at once, the new one serves.
	rot2 := org.Do(t, "POST", "/api/integrations/"+id+"/feed", nil).Map(t)
	newURL := rot2["url"].(string)
	if newURL == feedURL || getFeed(t, feedURL, "").status != http.StatusNotFound || getFeed(t, newURL, "").status != http.StatusOK {
		t.Fatalf("rotation: old %s new %s", feedURL, newURL)
	}
	// Revocation: 404 until a new token is issued.
	if r := org.Do(t, "DELETE", "/api/integrations/"+id+"/feed", nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if getFeed(t, newURL, "").status != http.StatusNotFound || org.Do(t, "GET", "/api/integrations/"+id+"/feed", nil).Map(t)["enabled"] != false {
		t.Fatal("a revoked feed is still served")
	}
	// A type without a feed: 409.
	if r := org.Do(t, "GET", "/api/integrations/int_missing/feed", nil); r.Status != http.StatusNotFound {
		t.Fatalf("feed of an unknown integration: %d", r.Status)
	}
}
