// Package fakes runs local stand-ins for the providers Aqio integrates
// with, speaking their real wire formats: an OAuth 2.0 authorization
// server (authorize → code with PKCE, token endpoint with refresh and
// rotating refresh tokens, invalid_grant, revocation), the Slack Web API
// (oauth.v2.access, chat.postMessage, auth.revoke, incoming webhooks,
// ok:false errors, 429 ratelimited with Retry-After) and the Google
// Calendar v3 events API (insert/get/patch/delete, conferenceData create
// requests, id rules, 409 duplicate, 429 rate limits).
//
// One server serves all of them under path prefixes:
//
//	/oauth/authorize, /oauth/token, /oauth/revoke   generic (Google-style) OAuth
//	/slack/oauth/v2/authorize, /slack/api/...      Slack
//	/calendar/v3/...                               Google Calendar
package fakes

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Server is the fake provider.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	clients  map[string]string // client id → secret
	codes    map[string]codeGrant
	access   map[string]accessToken
	refresh  map[string]refreshToken
	accessTT time.Duration
	rotate   bool
	deny     bool
	// failures injected: path suffix → remaining count
	rateLimits map[string]int
	tokenCalls int
	refreshes  int
	revoked    []string
	messages   []SlackMessage
	events     map[string]*calEvent // calendar/id → event
	now        func() time.Time
	// held: path part → closed on release; waiting counts held requests.
	held    map[string]chan struct{}
	waiting map[string]int
}

type codeGrant struct {
	clientID, redirectURI, challenge, scope string
	slack                                   bool
}

type accessToken struct {
	clientID string
	expires  time.Time
}

type refreshToken struct {
	clientID string
	valid    bool
}

// SlackMessage is a message the fake Slack received.
type SlackMessage struct {
	Channel string           `json:"channel"`
	Text    string           `json:"text"`
	Blocks  []map[string]any `json:"blocks"`
	Webhook bool             `json:"-"`
	TS      string           `json:"-"`
}

type calEvent struct {
	Calendar string
	Body     map[string]any
}

// New starts the fake. clients maps OAuth client ids to secrets.
func New(clients map[string]string) *Server {
	f := &Server{
		clients: clients, codes: map[string]codeGrant{}, access: map[string]accessToken{},
		refresh: map[string]refreshToken{}, accessTT: time.Hour, rateLimits: map[string]int{},
		events: map[string]*calEvent{}, now: time.Now,
		held: map[string]chan struct{}{}, waiting: map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth/authorize", f.authorize(false))
	mux.HandleFunc("GET /slack/oauth/v2/authorize", f.authorize(true))
	mux.HandleFunc("POST /oauth/token", f.token(false))
	mux.HandleFunc("POST /slack/api/oauth.v2.access", f.token(true))
	mux.HandleFunc("POST /oauth/revoke", f.revokeGoogle)
	mux.HandleFunc("POST /slack/api/auth.revoke", f.revokeSlack)
	mux.HandleFunc("POST /slack/api/chat.postMessage", f.postMessage)
	mux.HandleFunc("POST /slack/hooks/{rest...}", f.incomingWebhook)
	mux.HandleFunc("POST /calendar/v3/calendars/{cal}/events", f.calInsert)
	mux.HandleFunc("GET /calendar/v3/calendars/{cal}/events/{id}", f.calGet)
	mux.HandleFunc("PATCH /calendar/v3/calendars/{cal}/events/{id}", f.calPatch)
	mux.HandleFunc("DELETE /calendar/v3/calendars/{cal}/events/{id}", f.calDelete)
	f.Server = httptest.NewServer(f.holding(mux))
	return f
}

// SetAccessTokenLifetime sets expires_in of tokens issued from now on.
func (f *Server) SetAccessTokenLifetime(d time.Duration) { f.mu.Lock(); f.accessTT = d; f.mu.Unlock() }

// SetRotateRefreshTokens makes every refresh return a new refresh token
// and invalidate the old one.
func (f *Server) SetRotateRefreshTokens(on bool) { f.mu.Lock(); f.rotate = on; f.mu.Unlock() }

// SetDenyConsent makes the authorize endpoint answer error=access_denied.
func (f *Server) SetDenyConsent(on bool) { f.mu.Lock(); f.deny = on; f.mu.Unlock() }

// RevokeAllRefreshTokens makes every refresh answer invalid_grant (the
// user revoked access at the provider).
func (f *Server) RevokeAllRefreshTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, v := range f.refresh {
		v.valid = false
		f.refresh[k] = v
	}
}

// RateLimit makes the next n requests whose path ends with suffix answer 429.
func (f *Server) RateLimit(suffix string, n int) {
	f.mu.Lock()
	f.rateLimits[suffix] = n
	f.mu.Unlock()
}

// Refreshes counts successful refresh-token grants.
func (f *Server) Refreshes() int { f.mu.Lock(); defer f.mu.Unlock(); return f.refreshes }

// Revoked lists revoked tokens.
func (f *Server) Revoked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.revoked...)
}

// Messages lists Slack messages received.
func (f *Server) Messages() []SlackMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]SlackMessage(nil), f.messages...)
}

// CalendarEvent returns a calendar event's JSON as the API would (nil if absent).
func (f *Server) CalendarEvent(calendarID, id string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.events[calendarID+"/"+id]; ok {
		return clone(e.Body)
	}
	return nil
}

// CalendarEventCount counts events (cancelled ones included) in a calendar.
func (f *Server) CalendarEventCount(calendarID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, e := range f.events {
		if e.Calendar == calendarID {
			n++
		}
	}
	return n
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func random(prefix string) string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Hold makes requests whose path contains part wait (a slow provider)
// until release is called. Waiting reports how many are waiting.
func (f *Server) Hold(part string) (release func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	f.held[part] = ch
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.held, part)
			f.mu.Unlock()
			close(ch)
		})
	}
}

// Waiting is the number of requests held by Hold(part) right now.
func (f *Server) Waiting(part string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.waiting[part]
}

func (f *Server) holding(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		var part string
		var ch chan struct{}
		for p, c := range f.held {
			if strings.Contains(r.URL.Path, p) {
				part, ch = p, c
				f.waiting[p]++
				break
			}
		}
		f.mu.Unlock()
		if ch != nil {
			select {
			case <-ch:
			case <-r.Context().Done():
			}
			f.mu.Lock()
			f.waiting[part]--
			f.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

func (f *Server) rateLimited(w http.ResponseWriter, r *http.Request, slack bool) bool {
	f.mu.Lock()
	hit := false
	for suffix, n := range f.rateLimits {
		if n > 0 && strings.HasSuffix(r.URL.Path, suffix) {
			f.rateLimits[suffix] = n - 1
			hit = true
		}
	}
	f.mu.Unlock()
	if !hit {
		return false
	}
	w.Header().Set("Retry-After", "1")
	if slack {
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
	} else {
		googleError(w, http.StatusTooManyRequests, "rateLimitExceeded", "Rate Limit Exceeded")
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// --- OAuth ---------------------------------------------------------------

func (f *Server) authorize(slack bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		redirect, err := url.Parse(q.Get("redirect_uri"))
		if err != nil || redirect.Scheme == "" {
			http.Error(w, "invalid redirect_uri", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		_, known := f.clients[q.Get("client_id")]
		deny := f.deny
		f.mu.Unlock()
		if !known {
			http.Error(w, "invalid client_id", http.StatusBadRequest)
			return
		}
		if !slack && q.Get("response_type") != "code" {
			http.Error(w, "unsupported response_type", http.StatusBadRequest)
			return
		}
		if m := q.Get("code_challenge_method"); q.Get("code_challenge") != "" && m != "S256" {
			http.Error(w, "unsupported code_challenge_method", http.StatusBadRequest)
			return
		}
		back := redirect.Query()
		back.Set("state", q.Get("state"))
		if deny {
			back.Set("error", "access_denied")
		} else {
			code := random("code_")
			f.mu.Lock()
			f.codes[code] = codeGrant{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"),
				challenge: q.Get("code_challenge"), scope: q.Get("scope"), slack: slack}
			f.mu.Unlock()
			back.Set("code", code)
		}
		redirect.RawQuery = back.Encode()
		http.Redirect(w, r, redirect.String(), http.StatusFound)
	}
}

func (f *Server) token(slack bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		fail := func(status int, code, desc string) {
			if slack {
				// Slack answers token errors with HTTP 200.
				writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": code})
				return
			}
			writeJSON(w, status, map[string]any{"error": code, "error_description": desc})
		}
		if err := r.ParseForm(); err != nil {
			fail(http.StatusBadRequest, "invalid_request", "bad form")
			return
		}
		clientID, secret, ok := r.BasicAuth()
		if !ok {
			clientID, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.tokenCalls++
		if want, ok := f.clients[clientID]; !ok || want != secret {
			if slack {
				fail(http.StatusUnauthorized, "invalid_client_id", "")
			} else {
				fail(http.StatusUnauthorized, "invalid_client", "The OAuth client was not found.")
			}
			return
		}
		scope := ""
		switch r.PostForm.Get("grant_type") {
		case "authorization_code", "":
			code := r.PostForm.Get("code")
			g, ok := f.codes[code]
			delete(f.codes, code) // single use
			if !ok || g.clientID != clientID {
				if slack {
					fail(http.StatusBadRequest, "invalid_code", "")
				} else {
					fail(http.StatusBadRequest, "invalid_grant", "Malformed auth code.")
				}
				return
			}
			if g.redirectURI != r.PostForm.Get("redirect_uri") {
				fail(http.StatusBadRequest, map[bool]string{true: "bad_redirect_uri", false: "redirect_uri_mismatch"}[slack], "Bad Request")
				return
			}
			if g.challenge != "" {
				sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
				if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
					fail(http.StatusBadRequest, "invalid_grant", "Invalid code verifier.")
					return
				}
			}
			scope = g.scope
		case "refresh_token":
			rt := r.PostForm.Get("refresh_token")
			cur, ok := f.refresh[rt]
			if !ok || !cur.valid || cur.clientID != clientID {
				if slack {
					fail(http.StatusBadRequest, "invalid_refresh_token", "")
				} else {
					fail(http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
				}
				return
			}
			f.refreshes++
			if !f.rotate {
				at := f.issueAccess(clientID)
				writeJSON(w, http.StatusOK, f.tokenBody(slack, at, "", scope))
				return
			}
			cur.valid = false
			f.refresh[rt] = cur
		default:
			fail(http.StatusBadRequest, "unsupported_grant_type", "")
			return
		}
		at := f.issueAccess(clientID)
		rt := random("rt_")
		if slack {
			rt = "xoxe-1-" + rt
		}
		f.refresh[rt] = refreshToken{clientID: clientID, valid: true}
		writeJSON(w, http.StatusOK, f.tokenBody(slack, at, rt, scope))
	}
}

func (f *Server) issueAccess(clientID string) string {
	prefix := "ya29."
	at := random(prefix)
	f.access[at] = accessToken{clientID: clientID, expires: f.now().Add(f.accessTT)}
	return at
}

func (f *Server) tokenBody(slack bool, at, rt, scope string) map[string]any {
	body := map[string]any{"access_token": at, "expires_in": int(f.accessTT.Seconds())}
	if rt != "" {
		body["refresh_token"] = rt
	}
	if slack {
		body["ok"] = true
		body["token_type"] = "bot"
		body["scope"] = scope
		body["bot_user_id"] = "U0FAKEBOT"
		body["app_id"] = "A0FAKEAPP"
		body["team"] = map[string]any{"id": "T0FAKE", "name": "Aqio Test"}
		body["enterprise"] = nil
		body["incoming_webhook"] = map[string]any{
			"channel": "#events", "channel_id": "C0EVENTS",
			"configuration_url": f.URL + "/slack/config",
			"url":               f.URL + "/slack/hooks/T0FAKE/B0FAKE/" + random(""),
		}
		return body
	}
	body["token_type"] = "Bearer"
	if scope != "" {
		body["scope"] = scope
	}
	return body
}

func (f *Server) revokeGoogle(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	tok := r.Form.Get("token")
	f.mu.Lock()
	defer f.mu.Unlock()
	_, isAccess := f.access[tok]
	_, isRefresh := f.refresh[tok]
	if !isAccess && !isRefresh {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_token", "error_description": "Token expired or revoked"})
		return
	}
	delete(f.access, tok)
	if isRefresh {
		f.refresh[tok] = refreshToken{clientID: f.refresh[tok].clientID}
	}
	f.revoked = append(f.revoked, tok)
	writeJSON(w, http.StatusOK, map[string]any{})
}

// bearer checks the Authorization header against issued, unexpired tokens.
func (f *Server) bearer(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	at, ok := f.access[tok]
	return ok && f.now().Before(at.expires)
}

// --- Slack ---------------------------------------------------------------

func (f *Server) revokeSlack(w http.ResponseWriter, r *http.Request) {
	if !f.bearer(r) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	delete(f.access, tok)
	f.revoked = append(f.revoked, tok)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "revoked": true})
}

func (f *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	if f.rateLimited(w, r, true) {
		return
	}
	if !f.bearer(r) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	var m SlackMessage
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_json"})
		return
	}
	switch {
	case m.Channel == "":
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	case strings.Contains(m.Channel, "missing"):
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	case m.Text == "" && len(m.Blocks) == 0:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "no_text"})
		return
	}
	f.mu.Lock()
	m.TS = fmt.Sprintf("%d.%06d", f.now().Unix(), len(f.messages)+1)
	f.messages = append(f.messages, m)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": "C0EVENTS", "ts": m.TS,
		"message": map[string]any{"type": "message", "text": m.Text, "bot_id": "B0FAKE"}})
}

func (f *Server) incomingWebhook(w http.ResponseWriter, r *http.Request) {
	var m SlackMessage
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	m.Webhook = true
	f.mu.Lock()
	f.messages = append(f.messages, m)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/html")
	_, _ = w.Write([]byte("ok"))
}

// --- Google Calendar ---------------------------------------------------

var calendarID = regexp.MustCompile(`^[a-v0-9]+$`)

func googleError(w http.ResponseWriter, status int, reason, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"errors":  []any{map[string]any{"domain": "global", "reason": reason, "message": msg}},
		"code":    status,
		"message": msg,
	}})
}

func (f *Server) calAuth(w http.ResponseWriter, r *http.Request) bool {
	if f.rateLimited(w, r, false) {
		return false
	}
	if !f.bearer(r) {
		googleError(w, http.StatusUnauthorized, "authError", "Invalid Credentials")
		return false
	}
	return true
}

func (f *Server) calInsert(w http.ResponseWriter, r *http.Request) {
	if !f.calAuth(w, r) {
		return
	}
	var ev map[string]any
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		googleError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	id, _ := ev["id"].(string)
	if id == "" {
		id = strings.ToLower(hex.EncodeToString([]byte(random("")))[:26])
	} else if len(id) < 5 || len(id) > 1024 || !calendarID.MatchString(id) {
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
	ev["id"] = id
	ev["kind"] = "calendar#event"
	ev["status"] = "confirmed"
	ev["htmlLink"] = "https://www.google.com/calendar/event?eid=" + id
	f.conference(ev, r.URL.Query().Get("conferenceDataVersion"), id)
	f.events[key] = &calEvent{Calendar: cal, Body: ev}
	writeJSON(w, http.StatusOK, ev)
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

// conference honours conferenceData.createRequest when conferenceDataVersion=1.
func (f *Server) conference(ev map[string]any, version, id string) {
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
}

func (f *Server) calGet(w http.ResponseWriter, r *http.Request) {
	if !f.calAuth(w, r) {
		return
	}
	f.mu.Lock()
	e, ok := f.events[r.PathValue("cal")+"/"+r.PathValue("id")]
	var body map[string]any
	if ok {
		body = clone(e.Body)
	}
	f.mu.Unlock()
	if !ok {
		googleError(w, http.StatusNotFound, "notFound", "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (f *Server) calPatch(w http.ResponseWriter, r *http.Request) {
	if !f.calAuth(w, r) {
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
	merged := clone(e.Body)
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
		f.conference(merged, r.URL.Query().Get("conferenceDataVersion"), r.PathValue("id"))
	}
	e.Body = merged
	writeJSON(w, http.StatusOK, merged)
}

func (f *Server) calDelete(w http.ResponseWriter, r *http.Request) {
	if !f.calAuth(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.events[r.PathValue("cal")+"/"+r.PathValue("id")]
	switch {
	case !ok:
		googleError(w, http.StatusNotFound, "notFound", "Not Found")
	case e.Body["status"] == "cancelled":
		googleError(w, http.StatusGone, "deleted", "Resource has been deleted")
	default:
		e.Body["status"] = "cancelled"
		w.WriteHeader(http.StatusNoContent)
	}
}
