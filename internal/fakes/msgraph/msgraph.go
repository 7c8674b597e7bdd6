// Package msgraph fakes Microsoft Graph for the Outlook Calendar connector,
// at Graph's wire format (learn.microsoft.com/graph/api/user-post-events,
// event-update, event-delete, extended-properties, errors, throttling):
//
//   - The Microsoft identity platform under <prefix>/{tenant}/oauth2/v2.0/authorize and
//     /token (the shared OAuth fake: client secret in the form body, PKCE S256 required,
//     hour-long JWT-shaped access tokens, refresh tokens replaced on every refresh). There
//     is no revocation endpoint.
//   - Graph v1.0 under <prefix>/v1.0: GET /me; POST /me/events and
//     /me/calendars/{id}/events (a repeated transactionId returns the first event, no
//     duplicate); GET them with $filter=singleValueExtendedProperties/Any(ep: ep/id eq
//     '…' and ep/value eq '…'); GET/PATCH/DELETE /me/events/{id} (GET honours $select
//     and Prefer: outlook.timezone; a PATCH with attendees replaces the list). isOnlineMeeting true
//     with onlineMeetingProvider teamsForBusiness creates a Teams meeting
//     (onlineMeeting.joinUrl); a PATCH with isOnlineMeeting false removes it; a PATCH
//     without the field keeps it.
//   - Errors as {"error":{"code","message","innerError":{"date","request-id",
//     "client-request-id"}}}: 401 InvalidAuthenticationToken for a missing, expired or
//     foreign token; 404 ErrorItemNotFound; 429 ApplicationThrottled with Retry-After when
//     more than 4 requests of one mailbox are in flight (MailboxConcurrency) or injected.
//
// Requests are recorded; failures can be injected; state is in memory.
package msgraph

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aqio/connect/internal/fakes/oauth"
)

// MailboxConcurrency is Outlook's limit of concurrent requests per mailbox.
const MailboxConcurrency = 4

// Event is a stored Outlook event (the JSON Graph returns).
type Event map[string]any

// Request is one API request received.
type Request struct {
	Method, Path, Query string
	Body                []byte
	Status              int
	At                  time.Time
}

type failure struct {
	method, pathSuffix string
	left, status       int
	code, message      string
	retryAfter         string
}

// Mounted is Graph (and its authorization server) on a mux.
type Mounted struct {
	OAuth *oauth.Provider
	// Delay holds each API request this long (so concurrency shows).
	Delay time.Duration

	prefix   string
	mu       sync.Mutex
	events   map[string]Event
	order    []string
	txns     map[string]string
	requests []Request
	fails    []*failure
	inFlight int
	maxSeen  int
	nextID   int
}

// Mount mounts Graph under prefix ("/msgraph") with the OAuth clients on iss.
func Mount(mux *http.ServeMux, iss *oauth.Issuer, prefix string, clients map[string]string) *Mounted {
	m := &Mounted{prefix: prefix, events: map[string]Event{}, txns: map[string]string{}}
	m.OAuth = iss.Mount(mux, prefix, oauth.Config{
		Name: "msgraph", Clients: clients, ClientAuth: oauth.ClientAuthBody, RequirePKCE: true,
		AuthorizePath: "/common/oauth2/v2.0/authorize", TokenPath: "/common/oauth2/v2.0/token", RevokePath: "-",
		AccessPrefix: "eyJ0eXAiOiJKV1QiLCJub25jZSI6Ik1zR3JhcGgiLCJhbGciOiJSUzI1NiJ9.", RefreshPrefix: "0.AXEA",
		AccessTTL: 3599 * time.Second, Rotate: true, TokenType: "Bearer",
		Extra: func(string) map[string]any { return map[string]any{"ext_expires_in": 3599} },
	})
	mux.Handle(prefix+"/v1.0/", http.StripPrefix(prefix+"/v1.0", http.HandlerFunc(m.serve)))
	return m
}

// AuthPath, TokenPath and APIPath are below the server's URL.
func (m *Mounted) AuthPath() string  { return m.prefix + "/common/oauth2/v2.0/authorize" }
func (m *Mounted) TokenPath() string { return m.prefix + "/common/oauth2/v2.0/token" }
func (m *Mounted) APIPath() string   { return m.prefix + "/v1.0/" }

func graphError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]any{"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": "b7d5c6a1-0000-4000-8000-000000000000", "client-request-id": "b7d5c6a1-0000-4000-8000-000000000000"}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

var (
	eventPath    = regexp.MustCompile(`^/me/events/([^/]+)$`)
	calendarPath = regexp.MustCompile(`^/me/calendars/([^/]+)/events$`)
	epFilter     = regexp.MustCompile(`ep/id eq '([^']+)' and ep/value eq '((?:[^']|'')*)'`)
)

func (m *Mounted) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := &recorder{ResponseWriter: w, status: 200}
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body, At: time.Now()}
	defer func() {
		req.Status = rec.status
		m.mu.Lock()
		m.requests = append(m.requests, req)
		m.mu.Unlock()
	}()
	if _, st := m.OAuth.Check(r); st != oauth.Valid {
		rec.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
		graphError(rec, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
		return
	}
	m.mu.Lock()
	m.inFlight++
	over := m.inFlight > MailboxConcurrency
	if m.inFlight > m.maxSeen {
		m.maxSeen = m.inFlight
	}
	f := m.takeFailure(r.Method, r.URL.Path)
	delay := m.Delay
	m.mu.Unlock()
	defer func() { m.mu.Lock(); m.inFlight--; m.mu.Unlock() }()
	if delay > 0 {
		time.Sleep(delay)
	}
	if over {
		rec.Header().Set("Retry-After", "1")
		graphError(rec, http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
		return
	}
	if f != nil {
		if f.retryAfter != "" {
			rec.Header().Set("Retry-After", f.retryAfter)
		}
		graphError(rec, f.status, f.code, f.message)
		return
	}
	switch {
	case r.URL.Path == "/me" && r.Method == http.MethodGet:
		writeJSON(rec, 200, map[string]any{"id": "48d31887-5fad-4d73-a9f5-3c356e68a038", "displayName": "Ada Lovelace", "mail": "ada@contoso.example", "userPrincipalName": "ada@contoso.example"})
	case r.URL.Path == "/me/events" || calendarPath.MatchString(r.URL.Path):
		cal := "default"
		if mm := calendarPath.FindStringSubmatch(r.URL.Path); mm != nil {
			cal = mm[1]
		}
		switch r.Method {
		case http.MethodPost:
			m.create(rec, cal, body)
		case http.MethodGet:
			m.list(rec, cal, r.URL.Query().Get("$filter"))
		default:
			graphError(rec, http.StatusMethodNotAllowed, "ErrorInvalidRequest", "Method not allowed.")
		}
	case eventPath.MatchString(r.URL.Path):
		id := eventPath.FindStringSubmatch(r.URL.Path)[1]
		switch r.Method {
		case http.MethodGet:
			m.get(rec, id, r.URL.Query().Get("$select"), r.Header.Get("Prefer"))
		case http.MethodPatch:
			m.patch(rec, id, body)
		case http.MethodDelete:
			m.delete(rec, id)
		default:
			graphError(rec, http.StatusMethodNotAllowed, "ErrorInvalidRequest", "Method not allowed.")
		}
	default:
		graphError(rec, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+strings.Trim(r.URL.Path, "/")+"'.")
	}
}

func (m *Mounted) takeFailure(method, path string) *failure {
	for _, f := range m.fails {
		if f.left > 0 && f.method == method && strings.HasSuffix(path, f.pathSuffix) {
			f.left--
			return f
		}
	}
	return nil
}

// Fail makes the next n API requests with method whose path ends with
// pathSuffix answer status with a Graph error (Retry-After when given).
func (m *Mounted) Fail(method, pathSuffix string, n, status int, code, message, retryAfter string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fails = append(m.fails, &failure{method: method, pathSuffix: pathSuffix, left: n, status: status, code: code, message: message, retryAfter: retryAfter})
}

func validDateTime(v any) bool {
	d, ok := v.(map[string]any)
	if !ok {
		return false
	}
	s, _ := d["dateTime"].(string)
	tz, _ := d["timeZone"].(string)
	_, err := time.Parse("2006-01-02T15:04:05", s)
	return err == nil && tz != ""
}

func (m *Mounted) create(w http.ResponseWriter, cal string, body []byte) {
	var in Event
	if err := json.Unmarshal(body, &in); err != nil {
		graphError(w, http.StatusBadRequest, "RequestBodyRead", "Cannot read the request body.")
		return
	}
	if !validDateTime(in["start"]) || !validDateTime(in["end"]) {
		graphError(w, http.StatusBadRequest, "ErrorInvalidRequest", "Your request can't be completed. The start and end of the event must be set.")
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if tx, _ := in["transactionId"].(string); tx != "" {
		if id, ok := m.txns[tx]; ok && m.events[id] != nil {
			writeJSON(w, http.StatusCreated, m.events[id])
			return
		}
	}
	m.nextID++
	id := fmt.Sprintf("AAMkAGI2TG93AAA%06d=", m.nextID)
	ev := Event{}
	for k, v := range in {
		ev[k] = v
	}
	ev["id"], ev["calendar"] = id, cal
	ev["iCalUId"] = fmt.Sprintf("040000008200E00074C5B7101A82E0080000000%06d", m.nextID)
	ev["webLink"] = "https://outlook.office365.com/owa/?itemid=" + id
	ev["createdDateTime"] = time.Now().UTC().Format(time.RFC3339)
	meeting(ev)
	m.events[id] = ev
	m.order = append(m.order, id)
	if tx, _ := in["transactionId"].(string); tx != "" {
		m.txns[tx] = id
	}
	writeJSON(w, http.StatusCreated, ev)
}

// meeting gives an isOnlineMeeting teamsForBusiness event its Teams
// meeting (once), or removes it when isOnlineMeeting is false.
func meeting(ev Event) {
	on, _ := ev["isOnlineMeeting"].(bool)
	if !on {
		delete(ev, "onlineMeeting")
		ev["isOnlineMeeting"] = false
		return
	}
	if _, ok := ev["onlineMeeting"].(map[string]any); ok {
		return
	}
	if p, _ := ev["onlineMeetingProvider"].(string); p == "teamsForBusiness" {
		ev["onlineMeeting"] = map[string]any{"joinUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + strings.TrimSuffix(ev["id"].(string), "=") + "%40thread.v2/0"}
	}
}

func (m *Mounted) list(w http.ResponseWriter, cal, filter string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []Event{}
	mm := epFilter.FindStringSubmatch(filter)
	for _, id := range m.order {
		ev, ok := m.events[id]
		if !ok || (cal != "default" && ev["calendar"] != cal) {
			continue
		}
		if mm != nil && !hasProp(ev, mm[1], strings.ReplaceAll(mm[2], "''", "'")) {
			continue
		}
		out = append(out, ev)
	}
	writeJSON(w, 200, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('me')/events", "value": out})
}

func hasProp(ev Event, id, value string) bool {
	props, _ := ev["singleValueExtendedProperties"].([]any)
	for _, p := range props {
		if pm, ok := p.(map[string]any); ok && strings.EqualFold(fmt.Sprint(pm["id"]), id) && pm["value"] == value {
			return true
		}
	}
	return false
}

// get answers one event: only the $select fields (and id) when asked,
// and start/end in the zone of a Prefer: outlook.timezone="…" header
// (IANA names or UTC here), as Graph does.
func (m *Mounted) get(w http.ResponseWriter, id, sel, prefer string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ev, ok := m.events[id]
	if !ok {
		graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		return
	}
	out := Event{}
	b, _ := json.Marshal(ev)
	_ = json.Unmarshal(b, &out)
	if sel != "" {
		keep := map[string]bool{"id": true, "@odata.etag": true}
		for _, f := range strings.Split(sel, ",") {
			keep[strings.TrimSpace(f)] = true
		}
		for k := range out {
			if !keep[k] {
				delete(out, k)
			}
		}
	}
	if mm := preferZone.FindStringSubmatch(prefer); mm != nil {
		if loc, err := time.LoadLocation(mm[1]); err == nil {
			for _, k := range []string{"start", "end"} {
				if dt, ok := out[k].(map[string]any); ok {
					dt["dateTime"], dt["timeZone"] = inZone(dt, loc), mm[1]
				}
			}
		}
	}
	writeJSON(w, 200, out)
}

var preferZone = regexp.MustCompile(`outlook\.timezone="([^"]+)"`)

// inZone converts a Graph dateTimeTimeZone to loc (Graph's 7-digit format).
func inZone(dt map[string]any, loc *time.Location) string {
	s, _ := dt["dateTime"].(string)
	from := time.UTC
	if tz, _ := dt["timeZone"].(string); tz != "" {
		if l, err := time.LoadLocation(tz); err == nil {
			from = l
		}
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.9999999", s, from)
	if err != nil {
		return s
	}
	return t.In(loc).Format("2006-01-02T15:04:05.0000000")
}

func (m *Mounted) patch(w http.ResponseWriter, id string, body []byte) {
	var in Event
	if err := json.Unmarshal(body, &in); err != nil {
		graphError(w, http.StatusBadRequest, "RequestBodyRead", "Cannot read the request body.")
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ev, ok := m.events[id]
	if !ok {
		graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		return
	}
	if _, ok := in["transactionId"]; ok {
		graphError(w, http.StatusBadRequest, "ErrorInvalidRequest", "transactionId cannot be updated.")
		return
	}
	for k, v := range in {
		ev[k] = v
	}
	if _, ok := in["isOnlineMeeting"]; ok {
		meeting(ev)
	}
	ev["lastModifiedDateTime"] = time.Now().UTC().Format(time.RFC3339)
	writeJSON(w, 200, ev)
}

func (m *Mounted) delete(w http.ResponseWriter, id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.events[id]; !ok {
		graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		return
	}
	delete(m.events, id)
	w.WriteHeader(http.StatusNoContent)
}

// Events returns the stored events with the extended property value aqioID.
func (m *Mounted) Events(aqioID string) []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Event
	for _, id := range m.order {
		if ev, ok := m.events[id]; ok {
			props, _ := ev["singleValueExtendedProperties"].([]any)
			for _, p := range props {
				if pm, ok := p.(map[string]any); ok && pm["value"] == aqioID {
					out = append(out, ev)
				}
			}
		}
	}
	return out
}

// Delete removes an event as a user would in Outlook.
func (m *Mounted) Delete(id string) { m.mu.Lock(); delete(m.events, id); m.mu.Unlock() }

// Requests returns the recorded API requests.
func (m *Mounted) Requests() []Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Request(nil), m.requests...)
}

// MaxInFlight is the most concurrent API requests seen.
func (m *Mounted) MaxInFlight() int { m.mu.Lock(); defer m.mu.Unlock(); return m.maxSeen }

// Count counts recorded requests with method whose path ends with suffix and status.
func (m *Mounted) Count(method, suffix string, status int) int {
	n := 0
	for _, r := range m.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) && (status == 0 || r.Status == status) {
			n++
		}
	}
	return n
}
