// Package googlecalendar is a fake Google OAuth server and Calendar v3
// events API at Google's wire format: insert/get/patch/delete, id rules,
// 409 duplicate, conferenceData create requests that may stay "pending"
// for a few reads before "success", sendUpdates checked and recorded,
// attendees replaced by a patch (recorded: Patches), 401 authError for
// expired/foreign tokens, 429 and 403
// rateLimitExceeded/userRateLimitExceeded. Tokens look like Google's
// (ya29.…, refresh 1//…).
package googlecalendar

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aqio/connect/internal/fakes/oauth"
)

// Fake is the fake Google Calendar.
type Fake struct {
	OAuth *oauth.Provider

	mu          sync.Mutex
	events      map[string]map[string]any // calendar/id → event
	rateLimits  map[string]int
	forbidden   map[string]string // path suffix → 403 reason, one answer each
	forbidN     map[string]int
	pendingGets int            // conference reads that still answer pending
	pending     map[string]int // event key → reads left pending
	sendUpdates map[string][]string
	patches     []Patch
}

// Patch is one events.patch request the fake applied: the event, the
// sendUpdates parameter and the body's attendees (the erasure's
// attendee removals are these).
type Patch struct {
	Calendar, EventID string
	SendUpdates       string
	// Fields are the top-level fields the body set.
	Fields []string
	// Attendees are the body's attendee addresses (nil when the body has
	// no "attendees"; empty for "attendees": []).
	Attendees []string
}

// Mount registers the OAuth endpoints under oauthPrefix ("" → /oauth/…)
// and the Calendar API under apiPrefix ("/calendar/v3").
func Mount(mux *http.ServeMux, iss *oauth.Issuer, oauthPrefix, apiPrefix string, clients map[string]string) *Fake {
	f := &Fake{events: map[string]map[string]any{}, rateLimits: map[string]int{}, forbidden: map[string]string{},
		forbidN: map[string]int{}, pending: map[string]int{}, sendUpdates: map[string][]string{}}
	f.OAuth = iss.Mount(mux, oauthPrefix, oauth.Config{
		Name: "google", Clients: clients, ClientAuth: oauth.ClientAuthEither,
		AccessPrefix: "ya29.a0", RefreshPrefix: "1//0g", AccessTTL: time.Hour,
	})
	p := apiPrefix + "/calendars/{cal}/events"
	mux.HandleFunc("POST "+p, f.insert)
	mux.HandleFunc("GET "+p+"/{id}", f.get)
	mux.HandleFunc("PATCH "+p+"/{id}", f.patch)
	mux.HandleFunc("DELETE "+p+"/{id}", f.delete)
	return f
}

// RateLimit makes the next n requests whose path ends with suffix answer 429.
func (f *Fake) RateLimit(suffix string, n int) { f.mu.Lock(); f.rateLimits[suffix] = n; f.mu.Unlock() }

// RateLimit403 makes the next n requests whose path ends with suffix
// answer 403 with reason (rateLimitExceeded or userRateLimitExceeded).
func (f *Fake) RateLimit403(suffix, reason string, n int) {
	f.mu.Lock()
	f.forbidden[suffix], f.forbidN[suffix] = reason, n
	f.mu.Unlock()
}

// SetConferencePending makes new Meet conferences answer "pending" for
// the next n reads (insert included) before "success".
func (f *Fake) SetConferencePending(n int) { f.mu.Lock(); f.pendingGets = n; f.mu.Unlock() }

// Event returns an event's JSON as the API would (nil if absent).
func (f *Fake) Event(calendarID, id string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.events[calendarID+"/"+id]; ok {
		return clone(e)
	}
	return nil
}

// EventCount counts events (cancelled ones included) in a calendar.
func (f *Fake) EventCount(calendarID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k := range f.events {
		if strings.HasPrefix(k, calendarID+"/") {
			n++
		}
	}
	return n
}

// Patches lists the patch requests applied, in order.
func (f *Fake) Patches() []Patch {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Patch(nil), f.patches...)
}

// SendUpdates lists the sendUpdates values the writes of an event carried.
func (f *Fake) SendUpdates(calendarID, id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sendUpdates[calendarID+"/"+id]...)
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func googleError(w http.ResponseWriter, status int, reason, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"errors":  []any{map[string]any{"domain": "global", "reason": reason, "message": msg}},
		"code":    status,
		"message": msg,
	}})
}

// auth answers rate limits and token failures; true means go on.
func (f *Fake) auth(w http.ResponseWriter, r *http.Request) bool {
	f.mu.Lock()
	limited, reason := false, ""
	for suffix, n := range f.rateLimits {
		if n > 0 && strings.HasSuffix(r.URL.Path, suffix) {
			f.rateLimits[suffix], limited = n-1, true
		}
	}
	for suffix, n := range f.forbidN {
		if !limited && n > 0 && strings.HasSuffix(r.URL.Path, suffix) {
			f.forbidN[suffix], reason = n-1, f.forbidden[suffix]
		}
	}
	f.mu.Unlock()
	switch {
	case limited:
		w.Header().Set("Retry-After", "1")
		googleError(w, http.StatusTooManyRequests, "rateLimitExceeded", "Rate Limit Exceeded")
		return false
	case reason != "":
		googleError(w, http.StatusForbidden, reason, "Rate Limit Exceeded")
		return false
	}
	if _, st := f.OAuth.Check(r); st != oauth.Valid {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
		googleError(w, http.StatusUnauthorized, "authError", "Invalid Credentials")
		return false
	}
	return true
}

// sendUpdatesOK checks and records the sendUpdates parameter.
func (f *Fake) sendUpdatesOK(w http.ResponseWriter, r *http.Request, key string) bool {
	v := r.URL.Query().Get("sendUpdates")
	switch v {
	case "", "all", "externalOnly", "none":
	default:
		googleError(w, http.StatusBadRequest, "invalidParameter", "Invalid value for sendUpdates: "+v)
		return false
	}
	f.sendUpdates[key] = append(f.sendUpdates[key], v)
	return true
}

var idPattern = regexp.MustCompile(`^[a-v0-9]+$`)

func randomID() string {
	b := make([]byte, 13)
	_, _ = rand.Read(b)
	return strings.Map(func(r rune) rune {
		if r > 'v' {
			return 'a'
		}
		return r
	}, hex.EncodeToString(b))
}

func (f *Fake) insert(w http.ResponseWriter, r *http.Request) {
	if !f.auth(w, r) {
		return
	}
	var ev map[string]any
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		googleError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	id, _ := ev["id"].(string)
	if id == "" {
		id = randomID()
	} else if len(id) < 5 || len(id) > 1024 || !idPattern.MatchString(id) {
		googleError(w, http.StatusBadRequest, "invalid", "Invalid resource id value.")
		return
	}
	if msg := validTimes(ev); msg != "" {
		googleError(w, http.StatusBadRequest, "timeRangeEmpty", msg)
		return
	}
	cal := r.PathValue("cal")
	key := cal + "/" + id
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, exists := f.events[key]; exists {
		googleError(w, http.StatusConflict, "duplicate", "The requested identifier already exists.")
		return
	}
	if !f.sendUpdatesOK(w, r, key) {
		return
	}
	ev["id"] = id
	ev["kind"] = "calendar#event"
	ev["status"] = "confirmed"
	ev["htmlLink"] = "https://www.google.com/calendar/event?eid=" + id
	f.conference(ev, r.URL.Query().Get("conferenceDataVersion"), key, id)
	f.events[key] = ev
	writeJSON(w, http.StatusOK, f.view(key, ev))
}

func validTimes(ev map[string]any) string {
	get := func(k string) (time.Time, bool) {
		m, _ := ev[k].(map[string]any)
		s, _ := m["dateTime"].(string)
		t, err := time.Parse(time.RFC3339, s)
		return t, err == nil
	}
	start, ok1 := get("start")
	end, ok2 := get("end")
	if !ok1 || !ok2 {
		return "Missing end time."
	}
	if !end.After(start) {
		return "The specified time range is empty."
	}
	return ""
}

// conference honours conferenceData.createRequest when
// conferenceDataVersion=1; callers hold f.mu.
func (f *Fake) conference(ev map[string]any, version, key, id string) {
	cd, _ := ev["conferenceData"].(map[string]any)
	if cd == nil {
		return
	}
	if version != "1" {
		delete(ev, "conferenceData")
		return
	}
	cr, _ := cd["createRequest"].(map[string]any)
	if cr == nil {
		return
	}
	code := id
	for len(code) < 10 {
		code += "x"
	}
	link := "https://meet.google.com/" + code[:3] + "-" + code[3:7] + "-" + code[7:10]
	cr["status"] = map[string]any{"statusCode": "success"}
	ev["conferenceData"] = map[string]any{
		"createRequest":      cr,
		"conferenceId":       code[:3] + "-" + code[3:7] + "-" + code[7:10],
		"conferenceSolution": map[string]any{"key": map[string]any{"type": "hangoutsMeet"}, "name": "Google Meet"},
		"entryPoints":        []any{map[string]any{"entryPointType": "video", "uri": link, "label": strings.TrimPrefix(link, "https://")}},
	}
	ev["hangoutLink"] = link
	if f.pendingGets > 0 {
		f.pending[key] = f.pendingGets
	}
}

// view is the event as answered: while its conference is pending, the
// create request says so and there are no entry points yet. Callers hold f.mu.
func (f *Fake) view(key string, ev map[string]any) map[string]any {
	out := clone(ev)
	if n := f.pending[key]; n > 0 {
		f.pending[key] = n - 1
		if cd, ok := out["conferenceData"].(map[string]any); ok {
			if cr, ok := cd["createRequest"].(map[string]any); ok {
				cr["status"] = map[string]any{"statusCode": "pending"}
			}
			delete(cd, "entryPoints")
			delete(cd, "conferenceId")
		}
		delete(out, "hangoutLink")
	}
	return out
}

func (f *Fake) get(w http.ResponseWriter, r *http.Request) {
	if !f.auth(w, r) {
		return
	}
	key := r.PathValue("cal") + "/" + r.PathValue("id")
	f.mu.Lock()
	e, ok := f.events[key]
	var body map[string]any
	if ok {
		body = f.view(key, e)
	}
	f.mu.Unlock()
	if !ok {
		googleError(w, http.StatusNotFound, "notFound", "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (f *Fake) patch(w http.ResponseWriter, r *http.Request) {
	if !f.auth(w, r) {
		return
	}
	var patch map[string]any
	if err := json.NewDecoder(r.Body).Decode(&patch); err != nil {
		googleError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := r.PathValue("cal") + "/" + r.PathValue("id")
	e, ok := f.events[key]
	if !ok {
		googleError(w, http.StatusNotFound, "notFound", "Not Found")
		return
	}
	if !f.sendUpdatesOK(w, r, key) {
		return
	}
	pr := Patch{Calendar: r.PathValue("cal"), EventID: r.PathValue("id"), SendUpdates: r.URL.Query().Get("sendUpdates")}
	for k := range patch {
		pr.Fields = append(pr.Fields, k)
	}
	sort.Strings(pr.Fields)
	if list, ok := patch["attendees"].([]any); ok {
		pr.Attendees = []string{}
		for _, a := range list {
			if m, ok := a.(map[string]any); ok {
				email, _ := m["email"].(string)
				pr.Attendees = append(pr.Attendees, email)
			}
		}
	}
	f.patches = append(f.patches, pr)
	merged := clone(e)
	for k, v := range patch {
		if k == "conferenceData" {
			continue
		}
		merged[k] = v
	}
	if msg := validTimes(merged); msg != "" {
		googleError(w, http.StatusBadRequest, "timeRangeEmpty", msg)
		return
	}
	if cd, ok := patch["conferenceData"]; ok {
		merged["conferenceData"] = cd
		f.conference(merged, r.URL.Query().Get("conferenceDataVersion"), key, r.PathValue("id"))
	}
	f.events[key] = merged
	writeJSON(w, http.StatusOK, f.view(key, merged))
}

func (f *Fake) delete(w http.ResponseWriter, r *http.Request) {
	if !f.auth(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := r.PathValue("cal") + "/" + r.PathValue("id")
	e, ok := f.events[key]
	switch {
	case !ok:
		googleError(w, http.StatusNotFound, "notFound", "Not Found")
	case e["status"] == "cancelled":
		googleError(w, http.StatusGone, "deleted", "Resource has been deleted")
	default:
		if !f.sendUpdatesOK(w, r, key) {
			return
		}
		e["status"] = "cancelled"
		w.WriteHeader(http.StatusNoContent)
	}
}
