// Package zoom is a fake of the Zoom REST API v2 meeting and registrant
// endpoints Aqio uses, speaking Zoom's wire format. It is an http.Handler
// (serve it with httptest.NewServer) that keeps meetings and registrants
// in memory, records every request it receives, and injects failures and
// rate limits on demand.
//
// What it implements, from Zoom's published API reference (developers.zoom.us
// "Meetings" API, "Error codes", "Rate limits", and the OAuth 2.0 guide):
//
//	GET    /v2/users/{userId}                           200 user ("me" is the token's user)
//	POST   /v2/users/{userId}/meetings                  201 meeting (Medium)
//	GET    /v2/users/{userId}/meetings?type=scheduled&page_size=&next_page_token=  200 page (Medium)
//	GET    /v2/meetings/{meetingId}                     200 meeting (Light)
//	PATCH  /v2/meetings/{meetingId}                     204 (Light)
//	DELETE /v2/meetings/{meetingId}[?cancel_meeting_reminder=true]  204 (Light)
//	POST   /v2/meetings/{meetingId}/registrants         201 {id, registrant_id, join_url, topic, start_time} (Light)
//	GET    /v2/meetings/{meetingId}/registrants?status=&page_size=&next_page_token=  200 page (Medium)
//	PUT    /v2/meetings/{meetingId}/registrants/status  204, body {"action":"approve|cancel|deny","registrants":[{"id","email"}]} (Medium)
//	DELETE /v2/meetings/{meetingId}/registrants/{registrantId}  204; unknown registrant 404 (Light)
//
// Shapes:
//
//   - Requests carry "Authorization: Bearer <access token>". A missing,
//     unknown or expired token answers 401 {"code":124,"message":"Invalid
//     access token."} ("Access token is expired." for a token the test
//     expired with ExpireAccessTokens).
//   - Meeting create body: {topic, type (2 scheduled), start_time
//     "yyyy-MM-ddTHH:mm:ssZ", duration (minutes), timezone, agenda,
//     settings{approval_type 0 auto / 1 manual / 2 no registration,
//     registration_type, registrants_email_notification, waiting_room,
//     join_before_host, auto_recording}}. The meeting answer adds id
//     (int64, 11 digits), uuid, host_id, host_email, status "waiting",
//     join_url, start_url, password, created_at and, when registration is
//     required, registration_url.
//   - Errors are {"code":<int>,"message":"…"}; validation errors are 400
//     {"code":300,"message":"Validation Failed.","errors":[{"field","message"}]};
//     a body that is not JSON is 400 code 300 "Request Body should be a
//     valid JSON object."; an unknown meeting is 404 code 3001 "Meeting
//     does not exist: <id>.".
//   - Registrants need a meeting with registration (approval_type 0 or
//     1); otherwise 400 code 3000 (assumed code: Zoom documents the
//     condition, not the number). email and first_name are required. The
//     fake does NOT deduplicate registrants by email: adding the same
//     email twice creates two registrants, so a client that must not
//     duplicate has to look first.
//   - Rate limits are per account, per category: SetRateLimit(category,
//     n) allows n requests per second; over it the answer is 429
//     {"code":429,"message":"You have reached the maximum per-second rate
//     limit for this API. Try again later."} with X-RateLimit-Category and
//     X-RateLimit-Type: QPS. ExhaustDaily answers a daily-limit 429 with
//     X-RateLimit-Type: Daily-limit, X-RateLimit-Limit,
//     X-RateLimit-Remaining: 0 and Retry-After: <RFC 3339 reset time>.
//     Successful answers carry X-RateLimit-Category.
//
// OAuth (authorize, token with HTTP Basic client auth and PKCE, rotating
// refresh tokens) is the shared OAuth fake's job (NewServer mounts it with
// Zoom's shapes); this fake asks it whether an access token is valid
// through Options.ValidToken. Zoom's token answers are {access_token,
// token_type "bearer", refresh_token, expires_in 3599, scope, api_url};
// Zoom's revoke (POST /oauth/revoke, HTTP Basic client auth, token in the
// form) answers {"status":"success"}, and 400 {"reason":"Invalid
// Token!","error":"invalid_request"} for a token it does not know.
package zoom

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate-limit categories.
const (
	Light  = "Light"
	Medium = "Medium"
	Heavy  = "Heavy"
)

// Operations, for failure injection and request inspection.
const (
	OpGetUser                = "getUser"
	OpCreateMeeting          = "createMeeting"
	OpListMeetings           = "listMeetings"
	OpGetMeeting             = "getMeeting"
	OpUpdateMeeting          = "updateMeeting"
	OpDeleteMeeting          = "deleteMeeting"
	OpAddRegistrant          = "addRegistrant"
	OpListRegistrants        = "listRegistrants"
	OpUpdateRegistrantStatus = "updateRegistrantStatus"
	OpDeleteRegistrant       = "deleteRegistrant"
)

var categories = map[string]string{
	OpGetUser: Light, OpCreateMeeting: Medium, OpListMeetings: Medium, OpGetMeeting: Light, OpUpdateMeeting: Light,
	OpDeleteMeeting: Light, OpAddRegistrant: Light, OpListRegistrants: Medium, OpUpdateRegistrantStatus: Medium,
	OpDeleteRegistrant: Light,
}

// Options configure the fake.
type Options struct {
	// ValidToken reports whether an access token was issued by the OAuth
	// server and has not expired or been revoked. Required.
	ValidToken func(token string) bool
	// ExpiredToken reports whether an invalid token is one that expired
	// (answered "Access token is expired."). Optional.
	ExpiredToken func(token string) bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Fake is the fake Zoom API.
type Fake struct {
	mux    *http.ServeMux
	valid  func(string) bool
	lapsed func(string) bool
	now    func() time.Time

	mu         sync.Mutex
	user       User
	nextID     int64
	meetings   map[int64]*Meeting
	deleted    []Deleted
	expired    map[string]bool
	requests   []Request
	failures   map[string][]Failure
	drops      map[string]int
	qps        map[string]int
	window     map[string][]time.Time
	dailyUntil map[string]time.Time
	rateHits   int
}

// User is the connected Zoom user.
type User struct {
	ID        string `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Type      int    `json:"type"`
	AccountID string `json:"account_id"`
	Timezone  string `json:"timezone"`
	Status    string `json:"status"`
}

// Meeting is a stored meeting.
type Meeting struct {
	ID              int64           `json:"id"`
	UUID            string          `json:"uuid"`
	HostID          string          `json:"host_id"`
	HostEmail       string          `json:"host_email"`
	Topic           string          `json:"topic"`
	Type            int             `json:"type"`
	Status          string          `json:"status"`
	StartTime       string          `json:"start_time,omitempty"`
	Duration        int             `json:"duration"`
	Timezone        string          `json:"timezone,omitempty"`
	Agenda          string          `json:"agenda,omitempty"`
	CreatedAt       string          `json:"created_at"`
	StartURL        string          `json:"start_url"`
	JoinURL         string          `json:"join_url"`
	Password        string          `json:"password"`
	RegistrationURL string          `json:"registration_url,omitempty"`
	Settings        MeetingSettings `json:"settings"`
	PreSchedule     bool            `json:"pre_schedule"`

	Registrants []*Registrant `json:"-"`
	// Updates counts PATCHes.
	Updates int `json:"-"`
}

// MeetingSettings are the settings the fake keeps.
type MeetingSettings struct {
	ApprovalType                 int    `json:"approval_type"`
	RegistrationType             int    `json:"registration_type,omitempty"`
	RegistrantsEmailNotification bool   `json:"registrants_email_notification"`
	RegistrantsConfirmationEmail bool   `json:"registrants_confirmation_email"`
	WaitingRoom                  bool   `json:"waiting_room"`
	JoinBeforeHost               bool   `json:"join_before_host"`
	AutoRecording                string `json:"auto_recording"`
}

// Registrant is a meeting registrant.
type Registrant struct {
	ID         string `json:"id"`
	Email      string `json:"email"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name,omitempty"`
	Status     string `json:"status"` // approved, pending, denied, cancelled
	CreateTime string `json:"create_time"`
	JoinURL    string `json:"join_url"`
}

// Deleted is a deleted meeting.
type Deleted struct {
	Meeting Meeting
	// Notified: cancel_meeting_reminder=true was asked.
	Notified bool
}

// Request is a request the fake received.
type Request struct {
	Op     string
	Method string
	Path   string
	Query  string
	Token  string
	Body   string
	Status int
	// At is when the fake received it (its clock).
	At time.Time
}

// Failure is an injected error answer.
type Failure struct {
	Status  int
	Code    int
	Message string
	Header  http.Header
}

// New returns the fake. Serve it with httptest.NewServer(fake).
func New(o Options) *Fake {
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Fake{
		valid: o.ValidToken, lapsed: o.ExpiredToken, now: o.Now,
		user: User{ID: "KDcuGIm1QgePTO8WbOqwIQ", FirstName: "Aqio", LastName: "Host", Email: "host@aqio.test",
			Type: 2, AccountID: "Wk9PTV9BQ0NPVU5UX0lE", Timezone: "UTC", Status: "active"},
		nextID: 85746065001, meetings: map[int64]*Meeting{}, expired: map[string]bool{},
		failures: map[string][]Failure{}, drops: map[string]int{}, qps: map[string]int{}, window: map[string][]time.Time{},
		dailyUntil: map[string]time.Time{},
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /v2/users/{userId}", s.handle(OpGetUser, s.getUser))
	m.HandleFunc("POST /v2/users/{userId}/meetings", s.handle(OpCreateMeeting, s.createMeeting))
	m.HandleFunc("GET /v2/users/{userId}/meetings", s.handle(OpListMeetings, s.listMeetings))
	m.HandleFunc("GET /v2/meetings/{meetingId}", s.handle(OpGetMeeting, s.getMeeting))
	m.HandleFunc("PATCH /v2/meetings/{meetingId}", s.handle(OpUpdateMeeting, s.updateMeeting))
	m.HandleFunc("DELETE /v2/meetings/{meetingId}", s.handle(OpDeleteMeeting, s.deleteMeeting))
	m.HandleFunc("POST /v2/meetings/{meetingId}/registrants", s.handle(OpAddRegistrant, s.addRegistrant))
	m.HandleFunc("GET /v2/meetings/{meetingId}/registrants", s.handle(OpListRegistrants, s.listRegistrants))
	m.HandleFunc("PUT /v2/meetings/{meetingId}/registrants/status", s.handle(OpUpdateRegistrantStatus, s.registrantStatus))
	m.HandleFunc("DELETE /v2/meetings/{meetingId}/registrants/{registrantId}", s.handle(OpDeleteRegistrant, s.deleteRegistrant))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, 404, "Not Found")
	})
	s.mux = m
	return s
}

// ServeHTTP serves the API under /v2.
func (s *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// --- test controls ------------------------------------------------------

// FailNext makes the next n requests of an operation answer with status
// and a Zoom error body {"code","message"}.
func (s *Fake) FailNext(op string, n, status, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures[op] = append(s.failures[op], Failure{Status: status, Code: code, Message: message})
	}
}

// DropResponses makes the next n requests of an operation take effect
// but answer 502 (the answer was lost on the way back: a gateway timeout).
func (s *Fake) DropResponses(op string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drops[op] += n
}

// RateLimitNext makes the next n requests of an operation answer a
// per-second (QPS) 429.
func (s *Fake) RateLimitNext(op string, n int) {
	h := http.Header{}
	h.Set("X-RateLimit-Category", categories[op])
	h.Set("X-RateLimit-Type", "QPS")
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures[op] = append(s.failures[op], Failure{Status: http.StatusTooManyRequests, Code: 429,
			Message: "You have reached the maximum per-second rate limit for this API. Try again later.", Header: h})
	}
}

// SetRateLimit allows perSecond requests per second in a category for the
// account (0: unlimited).
func (s *Fake) SetRateLimit(category string, perSecond int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.qps[category] = perSecond
	s.window[category] = nil
}

// ExhaustDaily makes a category answer daily-limit 429s until reset.
func (s *Fake) ExhaustDaily(category string, reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dailyUntil[category] = reset
}

// RateLimited counts the 429s answered (injected and measured).
func (s *Fake) RateLimited() int { s.mu.Lock(); defer s.mu.Unlock(); return s.rateHits }

// ExpireAccessTokens makes Zoom refuse the given access tokens with 401
// "Access token is expired." although the OAuth server still considers
// them valid (an expiry the client could not predict).
func (s *Fake) ExpireAccessTokens(tokens ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tokens {
		s.expired[t] = true
	}
}

// Requests lists the requests received, oldest first.
func (s *Fake) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count counts received requests of an operation that got status
// (0: any status).
func (s *Fake) Count(op string, status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Op == op && (status == 0 || r.Status == status) {
			n++
		}
	}
	return n
}

// Meeting returns a copy of a live meeting.
func (s *Fake) Meeting(id string) (Meeting, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.meetings[parseID(id)]
	if !ok {
		return Meeting{}, false
	}
	return m.copy(), true
}

// Meetings lists live meetings by id.
func (s *Fake) Meetings() []Meeting {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Meeting, 0, len(s.meetings))
	for _, m := range s.meetings {
		out = append(out, m.copy())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// DeletedMeetings lists deleted meetings, oldest first.
func (s *Fake) DeletedMeetings() []Deleted {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Deleted(nil), s.deleted...)
}

// Registrants lists a meeting's registrants (all statuses).
func (s *Fake) Registrants(meetingID string) []Registrant {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.meetings[parseID(meetingID)]
	if !ok {
		return nil
	}
	out := make([]Registrant, 0, len(m.Registrants))
	for _, r := range m.Registrants {
		out = append(out, *r)
	}
	return out
}

// UserInfo is the connected user.
func (s *Fake) UserInfo() User { return s.user }

func (m *Meeting) copy() Meeting {
	c := *m
	c.Registrants = nil
	for _, r := range m.Registrants {
		rc := *r
		c.Registrants = append(c.Registrants, &rc)
	}
	return c
}

// --- plumbing ------------------------------------------------------------

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

// handle authenticates, applies injected failures and rate limits,
// records the request and runs h with the lock held.
func (s *Fake) handle(op string, h func(w http.ResponseWriter, r *http.Request, body []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		at := s.now()
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		valid := tok != "" && s.valid != nil && s.valid(tok)
		lapsed := !valid && tok != "" && s.lapsed != nil && s.lapsed(tok)
		s.mu.Lock()
		defer s.mu.Unlock()
		defer func() {
			s.requests = append(s.requests, Request{Op: op, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
				Token: tok, Body: string(body), Status: rec.status, At: at})
		}()
		switch {
		case lapsed:
			writeError(rec, http.StatusUnauthorized, 124, "Access token is expired.")
			return
		case !valid:
			writeError(rec, http.StatusUnauthorized, 124, "Invalid access token.")
			return
		case s.expired[tok]:
			writeError(rec, http.StatusUnauthorized, 124, "Access token is expired.")
			return
		}
		if f := s.failures[op]; len(f) > 0 {
			s.failures[op] = f[1:]
			for k, v := range f[0].Header {
				rec.Header()[k] = v
			}
			if f[0].Status == http.StatusTooManyRequests {
				s.rateHits++
			}
			writeError(rec, f[0].Status, f[0].Code, f[0].Message)
			return
		}
		cat := categories[op]
		if s.limited(rec, cat) {
			s.rateHits++
			return
		}
		rec.Header().Set("X-RateLimit-Category", cat)
		if s.drops[op] > 0 {
			s.drops[op]--
			h(&discard{header: http.Header{}}, r, body)
			writeError(rec, http.StatusBadGateway, 502, "Bad Gateway")
			return
		}
		h(rec, r, body)
	}
}

// limited applies the daily and per-second limits of a category.
func (s *Fake) limited(w http.ResponseWriter, cat string) bool {
	now := s.now()
	if until, ok := s.dailyUntil[cat]; ok && now.Before(until) {
		w.Header().Set("X-RateLimit-Category", cat)
		w.Header().Set("X-RateLimit-Type", "Daily-limit")
		w.Header().Set("X-RateLimit-Limit", "30000")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("Retry-After", until.UTC().Format(time.RFC3339))
		writeError(w, http.StatusTooManyRequests, 429, "You have exceeded the daily rate limit of API requests permitted for this account. You may resume these requests at "+until.UTC().Format(time.RFC3339)+".")
		return true
	}
	limit := s.qps[cat]
	if limit <= 0 {
		return false
	}
	win := s.window[cat][:0]
	for _, t := range s.window[cat] {
		if now.Sub(t) < time.Second {
			win = append(win, t)
		}
	}
	if len(win) >= limit {
		s.window[cat] = win
		w.Header().Set("X-RateLimit-Category", cat)
		w.Header().Set("X-RateLimit-Type", "QPS")
		writeError(w, http.StatusTooManyRequests, 429, "You have reached the maximum per-second rate limit for this API. Try again later.")
		return true
	}
	s.window[cat] = append(win, now)
	return false
}

// discard is a ResponseWriter whose answer is lost.
type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status, code int, message string) {
	writeJSON(w, status, map[string]any{"code": code, "message": message})
}

type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func validationFailed(w http.ResponseWriter, errs []fieldError) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"code": 300, "message": "Validation Failed.", "errors": errs})
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseID(s string) int64 {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return id
}

// meeting finds the path's meeting or answers 404 code 3001.
func (s *Fake) meeting(w http.ResponseWriter, r *http.Request) (*Meeting, bool) {
	raw := r.PathValue("meetingId")
	m, ok := s.meetings[parseID(raw)]
	if !ok {
		writeError(w, http.StatusNotFound, 3001, "Meeting does not exist: "+raw+".")
		return nil, false
	}
	return m, true
}

// --- users -----------------------------------------------------------------

func (s *Fake) getUser(w http.ResponseWriter, r *http.Request, _ []byte) {
	if id := r.PathValue("userId"); id != "me" && id != s.user.ID && id != s.user.Email {
		writeError(w, http.StatusNotFound, 1001, "User does not exist: "+id+".")
		return
	}
	writeJSON(w, http.StatusOK, s.user)
}

// --- meetings ----------------------------------------------------------------

type meetingBody struct {
	Topic     *string `json:"topic"`
	Type      *int    `json:"type"`
	StartTime *string `json:"start_time"`
	Duration  *int    `json:"duration"`
	Timezone  *string `json:"timezone"`
	Agenda    *string `json:"agenda"`
	Settings  *struct {
		ApprovalType                 *int    `json:"approval_type"`
		RegistrationType             *int    `json:"registration_type"`
		RegistrantsEmailNotification *bool   `json:"registrants_email_notification"`
		RegistrantsConfirmationEmail *bool   `json:"registrants_confirmation_email"`
		WaitingRoom                  *bool   `json:"waiting_room"`
		JoinBeforeHost               *bool   `json:"join_before_host"`
		AutoRecording                *string `json:"auto_recording"`
	} `json:"settings"`
}

func decodeMeeting(w http.ResponseWriter, body []byte) (meetingBody, bool) {
	var b meetingBody
	if err := json.Unmarshal(body, &b); err != nil {
		writeError(w, http.StatusBadRequest, 300, "Request Body should be a valid JSON object.")
		return b, false
	}
	var errs []fieldError
	if b.Topic != nil && len([]rune(*b.Topic)) > 200 {
		errs = append(errs, fieldError{"topic", "Invalid field."})
	}
	if b.Type != nil && *b.Type != 1 && *b.Type != 2 && *b.Type != 3 && *b.Type != 8 && *b.Type != 10 {
		errs = append(errs, fieldError{"type", "Invalid field."})
	}
	if b.StartTime != nil && *b.StartTime != "" {
		if _, err := parseStart(*b.StartTime); err != nil {
			errs = append(errs, fieldError{"start_time", "Invalid field."})
		}
	}
	if b.Duration != nil && *b.Duration < 0 {
		errs = append(errs, fieldError{"duration", "Invalid field."})
	}
	if b.Agenda != nil && len([]rune(*b.Agenda)) > 2000 {
		errs = append(errs, fieldError{"agenda", "Invalid field."})
	}
	if b.Timezone != nil && *b.Timezone != "" {
		if _, err := time.LoadLocation(*b.Timezone); err != nil {
			errs = append(errs, fieldError{"timezone", "Invalid field."})
		}
	}
	if st := b.Settings; st != nil {
		if st.ApprovalType != nil && (*st.ApprovalType < 0 || *st.ApprovalType > 2) {
			errs = append(errs, fieldError{"settings.approval_type", "Invalid field."})
		}
		if st.AutoRecording != nil && *st.AutoRecording != "local" && *st.AutoRecording != "cloud" && *st.AutoRecording != "none" {
			errs = append(errs, fieldError{"settings.auto_recording", "Invalid field."})
		}
	}
	if len(errs) > 0 {
		validationFailed(w, errs)
		return b, false
	}
	return b, true
}

// parseStart accepts Zoom's start_time formats: yyyy-MM-ddTHH:mm:ssZ
// (UTC) or yyyy-MM-ddTHH:mm:ss (local to the meeting's timezone).
func parseStart(v string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02T15:04:05Z", v); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04:05", v)
}

func (m *Meeting) apply(b meetingBody) {
	if b.Topic != nil {
		m.Topic = *b.Topic
	}
	if b.Type != nil {
		m.Type = *b.Type
	}
	if b.StartTime != nil {
		m.StartTime = *b.StartTime
	}
	if b.Duration != nil {
		m.Duration = *b.Duration
	}
	if b.Timezone != nil {
		m.Timezone = *b.Timezone
	}
	if b.Agenda != nil {
		m.Agenda = *b.Agenda
	}
	if st := b.Settings; st != nil {
		if st.ApprovalType != nil {
			m.Settings.ApprovalType = *st.ApprovalType
		}
		if st.RegistrationType != nil {
			m.Settings.RegistrationType = *st.RegistrationType
		}
		if st.RegistrantsEmailNotification != nil {
			m.Settings.RegistrantsEmailNotification = *st.RegistrantsEmailNotification
		}
		if st.RegistrantsConfirmationEmail != nil {
			m.Settings.RegistrantsConfirmationEmail = *st.RegistrantsConfirmationEmail
		}
		if st.WaitingRoom != nil {
			m.Settings.WaitingRoom = *st.WaitingRoom
		}
		if st.JoinBeforeHost != nil {
			m.Settings.JoinBeforeHost = *st.JoinBeforeHost
		}
		if st.AutoRecording != nil {
			m.Settings.AutoRecording = *st.AutoRecording
		}
	}
	if m.Settings.ApprovalType == 2 {
		m.RegistrationURL = ""
	} else if m.RegistrationURL == "" {
		m.RegistrationURL = "https://us06web.zoom.us/meeting/register/" + random(16)
	}
}

func (s *Fake) createMeeting(w http.ResponseWriter, r *http.Request, body []byte) {
	if id := r.PathValue("userId"); id != "me" && id != s.user.ID && id != s.user.Email {
		writeError(w, http.StatusNotFound, 1001, "User does not exist: "+id+".")
		return
	}
	b, ok := decodeMeeting(w, body)
	if !ok {
		return
	}
	if b.Type == nil {
		two := 2
		b.Type = &two
	}
	if *b.Type == 2 && (b.StartTime == nil || *b.StartTime == "") {
		validationFailed(w, []fieldError{{"start_time", "Invalid field."}})
		return
	}
	id := s.nextID
	s.nextID++
	pwd := random(6)
	m := &Meeting{
		ID: id, UUID: random(16) + "==", HostID: s.user.ID, HostEmail: s.user.Email, Topic: "Zoom meeting",
		Status: "waiting", Duration: 60, CreatedAt: s.now().UTC().Format("2006-01-02T15:04:05Z"),
		StartURL: fmt.Sprintf("https://us06web.zoom.us/s/%d?zak=%s", id, random(24)),
		JoinURL:  fmt.Sprintf("https://us06web.zoom.us/j/%d?pwd=%s", id, random(24)),
		Password: pwd, Settings: MeetingSettings{ApprovalType: 2, AutoRecording: "none"},
	}
	m.apply(b)
	s.meetings[id] = m
	writeJSON(w, http.StatusCreated, m)
}

func (s *Fake) listMeetings(w http.ResponseWriter, r *http.Request, _ []byte) {
	if id := r.PathValue("userId"); id != "me" && id != s.user.ID && id != s.user.Email {
		writeError(w, http.StatusNotFound, 1001, "User does not exist: "+id+".")
		return
	}
	q := r.URL.Query()
	if t := q.Get("type"); t != "" && t != "scheduled" && t != "upcoming" {
		validationFailed(w, []fieldError{{"type", "Invalid field."}})
		return
	}
	size, _ := strconv.Atoi(q.Get("page_size"))
	if size <= 0 {
		size = 30
	}
	size = min(size, 300)
	start, _ := strconv.Atoi(q.Get("next_page_token"))
	ids := make([]int64, 0, len(s.meetings))
	for id := range s.meetings {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	page := []map[string]any{}
	end := min(start+size, len(ids))
	for _, id := range ids[min(start, len(ids)):end] {
		m := s.meetings[id]
		page = append(page, map[string]any{"uuid": m.UUID, "id": m.ID, "host_id": m.HostID, "topic": m.Topic, "type": m.Type,
			"start_time": m.StartTime, "duration": m.Duration, "timezone": m.Timezone, "agenda": m.Agenda,
			"created_at": m.CreatedAt, "join_url": m.JoinURL})
	}
	next := ""
	if end < len(ids) {
		next = strconv.Itoa(end)
	}
	writeJSON(w, http.StatusOK, map[string]any{"page_size": size, "total_records": len(ids), "next_page_token": next, "meetings": page})
}

func (s *Fake) getMeeting(w http.ResponseWriter, r *http.Request, _ []byte) {
	if m, ok := s.meeting(w, r); ok {
		writeJSON(w, http.StatusOK, m)
	}
}

func (s *Fake) updateMeeting(w http.ResponseWriter, r *http.Request, body []byte) {
	m, ok := s.meeting(w, r)
	if !ok {
		return
	}
	b, ok := decodeMeeting(w, body)
	if !ok {
		return
	}
	m.apply(b)
	m.Updates++
	w.WriteHeader(http.StatusNoContent)
}

func (s *Fake) deleteMeeting(w http.ResponseWriter, r *http.Request, _ []byte) {
	m, ok := s.meeting(w, r)
	if !ok {
		return
	}
	delete(s.meetings, m.ID)
	s.deleted = append(s.deleted, Deleted{Meeting: m.copy(), Notified: r.URL.Query().Get("cancel_meeting_reminder") == "true"})
	w.WriteHeader(http.StatusNoContent)
}

// --- registrants -------------------------------------------------------------

func (s *Fake) addRegistrant(w http.ResponseWriter, r *http.Request, body []byte) {
	m, ok := s.meeting(w, r)
	if !ok {
		return
	}
	var b struct {
		Email     string `json:"email"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		writeError(w, http.StatusBadRequest, 300, "Request Body should be a valid JSON object.")
		return
	}
	var errs []fieldError
	if a, err := mail.ParseAddress(b.Email); err != nil || a.Address != b.Email || len(b.Email) > 128 {
		errs = append(errs, fieldError{"email", "Invalid field."})
	}
	if b.FirstName == "" || len([]rune(b.FirstName)) > 64 {
		errs = append(errs, fieldError{"first_name", "Invalid field."})
	}
	if len(errs) > 0 {
		validationFailed(w, errs)
		return
	}
	if m.Settings.ApprovalType == 2 {
		writeError(w, http.StatusBadRequest, 3000, fmt.Sprintf("Registration has not been enabled for this meeting: %d.", m.ID))
		return
	}
	reg := &Registrant{ID: random(16), Email: b.Email, FirstName: b.FirstName, LastName: b.LastName,
		Status: "approved", CreateTime: s.now().UTC().Format("2006-01-02T15:04:05Z"),
		JoinURL: fmt.Sprintf("https://us06web.zoom.us/w/%d?tk=%s", m.ID, random(24))}
	if m.Settings.ApprovalType == 1 {
		reg.Status = "pending"
	}
	m.Registrants = append(m.Registrants, reg)
	writeJSON(w, http.StatusCreated, map[string]any{
		"id": m.ID, "registrant_id": reg.ID, "join_url": reg.JoinURL, "topic": m.Topic, "start_time": m.StartTime,
		"participant_pin_code": 0,
	})
}

func (s *Fake) listRegistrants(w http.ResponseWriter, r *http.Request, _ []byte) {
	m, ok := s.meeting(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	status := q.Get("status")
	if status == "" {
		status = "approved"
	}
	size, _ := strconv.Atoi(q.Get("page_size"))
	if size <= 0 {
		size = 30
	}
	size = min(size, 300)
	start, _ := strconv.Atoi(q.Get("next_page_token"))
	var match []Registrant
	for _, reg := range m.Registrants {
		if reg.Status == status {
			match = append(match, *reg)
		}
	}
	end := min(start+size, len(match))
	page := []Registrant{}
	if start < len(match) {
		page = match[start:end]
	}
	next := ""
	if end < len(match) {
		next = strconv.Itoa(end)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"page_size": size, "total_records": len(match), "next_page_token": next, "registrants": page,
	})
}

func (s *Fake) registrantStatus(w http.ResponseWriter, r *http.Request, body []byte) {
	m, ok := s.meeting(w, r)
	if !ok {
		return
	}
	var b struct {
		Action      string `json:"action"`
		Registrants []struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		} `json:"registrants"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		writeError(w, http.StatusBadRequest, 300, "Request Body should be a valid JSON object.")
		return
	}
	to := map[string]string{"approve": "approved", "cancel": "cancelled", "deny": "denied"}[b.Action]
	if to == "" {
		validationFailed(w, []fieldError{{"action", "Invalid field."}})
		return
	}
	for _, ref := range b.Registrants {
		for _, reg := range m.Registrants {
			if (ref.ID != "" && reg.ID == ref.ID) || (ref.ID == "" && ref.Email != "" && strings.EqualFold(reg.Email, ref.Email)) {
				reg.Status = to
			}
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
