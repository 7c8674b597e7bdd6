// Package kit is a fake of the Kit (formerly ConvertKit) V4 API that Aqio
// uses, speaking its wire format (an http.Handler; Mount puts it and its
// authorization server on a mux). Built from Kit's published V4 reference
// (developers.kit.com):
//
// Authentication: either an OAuth access token ("Authorization: Bearer
// <token>"; tokens from POST /v4/oauth/token, form body grant_type,
// client_id, client_secret, code + redirect_uri (+ code_verifier with
// PKCE) or refresh_token; answer {"access_token","token_type":"Bearer",
// "expires_in":172800,"refresh_token","scope":"public","created_at"};
// authorize is GET /v4/oauth/authorize?client_id&response_type=code&
// redirect_uri&state; revocation is RFC 7009 POST /v4/oauth/revoke with
// token, client_id, client_secret, answering 200 even for an unknown
// token) or an account's V4 API key ("X-Kit-Api-Key: kit_…"). A missing
// or refused credential answers 401 {"errors":["The access token is
// invalid"]} (expired: "The access token expired"; API key: "API Key not
// valid").
//
// Errors: {"errors":["<message>", …]} with 401, 403 (plan not eligible),
// 404 ({"errors":["Not Found"]}), 422 (validation: "Email address is
// invalid", "Name can't be blank").
//
// Rate limits: per credential, 600 requests in 60 s for an OAuth access
// token and 120 for an API key. Over the limit the answer is 429 with the
// plain-text body "Retry later" and no Retry-After header (clients back
// off exponentially).
//
// Endpoints (all JSON; lists are cursor-paginated with ?after=&per_page=
// and "pagination":{"has_previous_page","has_next_page","start_cursor",
// "end_cursor","per_page"}):
//
//	GET    /v4/account                          {"user":{"email"},"account":{"id","name","plan_type","primary_email_address","created_at"}}
//	GET    /v4/custom_fields                    {"custom_fields":[{"id","name":"ck_field_<id>_<key>","key","label"}],"pagination"}
//	GET    /v4/tags                             {"tags":[{"id","name","created_at"}],"pagination"}
//	POST   /v4/tags {"name"}                    201 {"tag":{…}} created, 200 when a tag of that name exists
//	POST   /v4/subscribers {"email_address","first_name","state","fields":{key:value}}
//	                                            upsert by email: 201 created, 200 updated, {"subscriber":{"id","first_name",
//	                                            "email_address","state","created_at","fields"}}; unknown field keys are ignored
//	GET    /v4/subscribers?email_address=       {"subscribers":[…],"pagination"}
//	POST   /v4/tags/{tag_id}/subscribers/{id}   {} → 201 tagged, 200 already tagged, {"subscriber":{…,"tagged_at"}}; 404 unknown tag/subscriber
//	DELETE /v4/tags/{tag_id}/subscribers/{id}   204; 404 when not tagged
//	POST   /v4/subscribers/{id}/unsubscribe {}  204, state becomes "cancelled" (Kit has no subscriber delete in its API); 404 unknown
//
// Tests inject failures (Fail), force 429s (RateLimitNext), shrink the
// rate-limit window (Options), add API keys, custom fields and tags, and
// inspect what arrived (Requests, Subscriber, Tagged).
package kit

import (
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

	"github.com/aqio/connect/internal/fakes/fakekit"
)

// Credential statuses CheckToken reports.
const (
	TokenValid = iota
	TokenExpired
	TokenInvalid
)

// Options configure the fake.
type Options struct {
	// CheckToken reports a bearer token's status (TokenValid, TokenExpired,
	// TokenInvalid). Default: every bearer token is invalid.
	CheckToken func(token string) int
	// OAuthLimit and APIKeyLimit are requests per Window per credential
	// (defaults 600 and 120 per 60 s).
	OAuthLimit, APIKeyLimit int
	Window                  time.Duration
	Now                     func() time.Time
}

// Subscriber is a subscriber of the account.
type Subscriber struct {
	ID        int
	Email     string
	FirstName string
	State     string
	Fields    map[string]string
	CreatedAt time.Time
}

// Tag is a tag of the account.
type Tag struct {
	ID        int
	Name      string
	CreatedAt time.Time
}

// CustomField is a subscriber custom field of the account.
type CustomField struct {
	ID    int
	Key   string
	Label string
}

// Request is a request the fake received.
type Request struct {
	Method, Path, Query string
	// Credential is "bearer" or "api_key" (what authenticated it).
	Credential string
	Body       []byte
	At         time.Time
}

// Fake is the Kit API fake.
type Fake struct {
	fakekit.Recorder[Request]

	opts Options
	mux  *http.ServeMux

	mu      sync.Mutex
	apiKeys map[string]bool
	subs    map[int]*Subscriber
	byEmail map[string]int
	tags    map[int]*Tag
	tagged  map[int]map[int]time.Time // tag id → subscriber id → tagged at
	fields  []CustomField
	nextID  int
	windows map[string][]time.Time
}

// New builds the fake with the custom fields every new Kit account has
// (last_name is created by Kit's onboarding; company by many creators).
func New(opts Options) *Fake {
	if opts.OAuthLimit == 0 {
		opts.OAuthLimit = 600
	}
	if opts.APIKeyLimit == 0 {
		opts.APIKeyLimit = 120
	}
	if opts.Window == 0 {
		opts.Window = 60 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CheckToken == nil {
		opts.CheckToken = func(string) int { return TokenInvalid }
	}
	f := &Fake{
		opts: opts, apiKeys: map[string]bool{}, subs: map[int]*Subscriber{}, byEmail: map[string]int{},
		tags: map[int]*Tag{}, tagged: map[int]map[int]time.Time{}, windows: map[string][]time.Time{}, nextID: 4000,
		fields: []CustomField{{ID: 11, Key: "last_name", Label: "Last name"}, {ID: 12, Key: "company", Label: "Company"}},
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /v4/account", f.account)
	m.HandleFunc("GET /v4/custom_fields", f.listFields)
	m.HandleFunc("GET /v4/tags", f.listTags)
	m.HandleFunc("POST /v4/tags", f.createTag)
	m.HandleFunc("POST /v4/subscribers", f.upsertSubscriber)
	m.HandleFunc("GET /v4/subscribers", f.listSubscribers)
	m.HandleFunc("POST /v4/tags/{tag}/subscribers/{id}", f.tagSubscriber)
	m.HandleFunc("DELETE /v4/tags/{tag}/subscribers/{id}", f.untagSubscriber)
	m.HandleFunc("POST /v4/subscribers/{id}/unsubscribe", f.unsubscribe)
	f.mux = m
	return f
}

// AddAPIKey accepts an API key (X-Kit-Api-Key).
func (f *Fake) AddAPIKey(key string) { f.mu.Lock(); f.apiKeys[key] = true; f.mu.Unlock() }

// RemoveAPIKey refuses a key from now on (deleted in Kit's settings).
func (f *Fake) RemoveAPIKey(key string) { f.mu.Lock(); delete(f.apiKeys, key); f.mu.Unlock() }

// AddCustomField adds a subscriber custom field.
func (f *Fake) AddCustomField(key, label string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.fields = append(f.fields, CustomField{ID: f.nextID, Key: key, Label: label})
}

// AddTag creates a tag and returns its id.
func (f *Fake) AddTag(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tagLocked(name).ID
}

func (f *Fake) tagLocked(name string) *Tag {
	for _, t := range f.tags {
		if strings.EqualFold(t.Name, name) {
			return t
		}
	}
	f.nextID++
	t := &Tag{ID: f.nextID, Name: name, CreatedAt: f.opts.Now().UTC()}
	f.tags[t.ID] = t
	return t
}

// Subscriber returns the subscriber with an email.
func (f *Fake) Subscriber(email string) (Subscriber, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.byEmail[strings.ToLower(email)]
	if !ok {
		return Subscriber{}, false
	}
	s := *f.subs[id]
	s.Fields = copyMap(s.Fields)
	return s, true
}

// Subscribers counts the account's subscribers.
func (f *Fake) Subscribers() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.subs) }

// Tagged lists the names of the tags a subscriber has, sorted.
func (f *Fake) Tagged(email string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.byEmail[strings.ToLower(email)]
	if !ok {
		return nil
	}
	var out []string
	for tid, subs := range f.tagged {
		if _, ok := subs[id]; ok {
			out = append(out, f.tags[tid].Name)
		}
	}
	sort.Strings(out)
	return out
}

// TagNamed returns the tag with a name.
func (f *Fake) TagNamed(name string) (Tag, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.tags {
		if t.Name == name {
			return *t, true
		}
	}
	return Tag{}, false
}

// ServeHTTP records the request, authenticates it, applies the rate
// limit and injected failures, and serves the endpoint.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	cred, key, status := f.authenticate(r)
	f.Record(r.Method, r.URL.Path, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Credential: cred, Body: body, At: f.opts.Now()})
	switch status {
	case TokenExpired:
		writeErrors(w, http.StatusUnauthorized, "The access token expired")
		return
	case TokenInvalid:
		msg := "The access token is invalid"
		if cred == "api_key" {
			msg = "API Key not valid"
		}
		writeErrors(w, http.StatusUnauthorized, msg)
		return
	}
	if f.limited(cred, key) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, "Retry later")
		return
	}
	if fl := f.TakeFailure(r.Method, r.URL.Path, body); fl != nil {
		b := fl.Body
		if b == "" {
			b = defaultErrorBody(fl.Status)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(fl.Status)
		_, _ = io.WriteString(w, b)
		return
	}
	f.mux.ServeHTTP(w, r)
}

func (f *Fake) authenticate(r *http.Request) (cred, key string, status int) {
	if k := r.Header.Get("X-Kit-Api-Key"); k != "" {
		f.mu.Lock()
		ok := f.apiKeys[k]
		f.mu.Unlock()
		if !ok {
			return "api_key", k, TokenInvalid
		}
		return "api_key", k, TokenValid
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return "", "", TokenInvalid
	}
	return "bearer", tok, f.opts.CheckToken(tok)
}

// limited counts the request in its credential's window.
func (f *Fake) limited(cred, key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.TakeRateLimit() {
		return true
	}
	limit := f.opts.OAuthLimit
	if cred == "api_key" {
		limit = f.opts.APIKeyLimit
	}
	now := f.opts.Now()
	win := f.windows[key][:0]
	for _, t := range f.windows[key] {
		if now.Sub(t) < f.opts.Window {
			win = append(win, t)
		}
	}
	if len(win) >= limit {
		f.windows[key] = win
		return true
	}
	f.windows[key] = append(win, now)
	return false
}

func defaultErrorBody(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return `{"errors":["The access token is invalid"]}`
	case http.StatusForbidden:
		return `{"errors":["Your plan does not include API access"]}`
	case http.StatusNotFound:
		return `{"errors":["Not Found"]}`
	case http.StatusUnprocessableEntity:
		return `{"errors":["Email address is invalid"]}`
	}
	return `{"errors":["Something went wrong"]}`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	writeJSON(w, status, map[string]any{"errors": msgs})
}

func (f *Fake) account(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"user":    map[string]any{"email": "creator@kit.test"},
		"account": map[string]any{"id": 2154, "name": "Aqio Creator", "plan_type": "creator", "primary_email_address": "creator@kit.test", "created_at": "2023-02-17T11:43:55Z"},
	})
}

// page applies ?after=<cursor>&per_page= to n items (cursor: base64-free
// decimal offsets are enough for a fake; Kit's are opaque strings).
func page(r *http.Request, n int) (from, to int, pagination map[string]any, err error) {
	per := 500
	if v := r.URL.Query().Get("per_page"); v != "" {
		p, perr := strconv.Atoi(v)
		if perr != nil || p < 1 || p > 1000 {
			return 0, 0, nil, fmt.Errorf("per_page must be between 1 and 1000")
		}
		per = p
	}
	if v := r.URL.Query().Get("after"); v != "" {
		s, perr := strconv.Atoi(strings.TrimPrefix(v, "c"))
		if perr != nil || s < 0 {
			return 0, 0, nil, fmt.Errorf("after is not a valid cursor")
		}
		from = s
	}
	from = min(from, n)
	to = min(from+per, n)
	pagination = map[string]any{"has_previous_page": from > 0, "has_next_page": to < n,
		"start_cursor": "c" + strconv.Itoa(from), "end_cursor": "c" + strconv.Itoa(to), "per_page": per}
	return from, to, pagination, nil
}

func (f *Fake) listFields(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	fields := append([]CustomField(nil), f.fields...)
	f.mu.Unlock()
	from, to, pg, err := page(r, len(fields))
	if err != nil {
		writeErrors(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	out := []map[string]any{}
	for _, c := range fields[from:to] {
		out = append(out, map[string]any{"id": c.ID, "name": fmt.Sprintf("ck_field_%d_%s", c.ID, c.Key), "key": c.Key, "label": c.Label})
	}
	writeJSON(w, http.StatusOK, map[string]any{"custom_fields": out, "pagination": pg})
}

func tagJSON(t *Tag) map[string]any {
	return map[string]any{"id": t.ID, "name": t.Name, "created_at": t.CreatedAt.Format(time.RFC3339)}
}

func (f *Fake) listTags(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	tags := make([]*Tag, 0, len(f.tags))
	for _, t := range f.tags {
		c := *t
		tags = append(tags, &c)
	}
	f.mu.Unlock()
	sort.Slice(tags, func(i, j int) bool { return tags[i].ID < tags[j].ID })
	from, to, pg, err := page(r, len(tags))
	if err != nil {
		writeErrors(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	out := []map[string]any{}
	for _, t := range tags[from:to] {
		out = append(out, tagJSON(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tags": out, "pagination": pg})
}

func (f *Fake) createTag(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name *string `json:"name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeErrors(w, http.StatusBadRequest, "Invalid JSON")
		return
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		writeErrors(w, http.StatusUnprocessableEntity, "Name can't be blank")
		return
	}
	if len(*in.Name) > 255 {
		writeErrors(w, http.StatusUnprocessableEntity, "Name is too long (maximum is 255 characters)")
		return
	}
	f.mu.Lock()
	before := len(f.tags)
	t := *f.tagLocked(*in.Name)
	created := len(f.tags) > before
	f.mu.Unlock()
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"tag": tagJSON(&t)})
}

func subJSON(s *Subscriber) map[string]any {
	fields := map[string]any{}
	for k, v := range s.Fields {
		fields[k] = v
	}
	var first any
	if s.FirstName != "" {
		first = s.FirstName
	}
	return map[string]any{"id": s.ID, "first_name": first, "email_address": s.Email, "state": s.State,
		"created_at": s.CreatedAt.Format(time.RFC3339), "fields": fields}
}

func (f *Fake) upsertSubscriber(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email     string         `json:"email_address"`
		FirstName *string        `json:"first_name"`
		State     string         `json:"state"`
		Fields    map[string]any `json:"fields"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeErrors(w, http.StatusBadRequest, "Invalid JSON")
		return
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || !strings.Contains(email[strings.LastIndex(email, "@")+1:], ".") {
		writeErrors(w, http.StatusUnprocessableEntity, "Email address is invalid")
		return
	}
	switch in.State {
	case "", "active", "inactive", "bounced", "cancelled", "complained":
	default:
		writeErrors(w, http.StatusUnprocessableEntity, "State is not included in the list")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	known := map[string]bool{}
	for _, c := range f.fields {
		known[c.Key] = true
	}
	id, exists := f.byEmail[email]
	if !exists {
		f.nextID++
		id = f.nextID
		state := in.State
		if state == "" {
			state = "active"
		}
		f.subs[id] = &Subscriber{ID: id, Email: email, State: state, Fields: map[string]string{}, CreatedAt: f.opts.Now().UTC()}
		f.byEmail[email] = id
	}
	s := f.subs[id]
	if in.FirstName != nil {
		s.FirstName = *in.FirstName
	}
	for k, v := range in.Fields {
		if !known[k] {
			continue // Kit ignores fields the account does not have
		}
		switch x := v.(type) {
		case nil:
			delete(s.Fields, k)
		case string:
			s.Fields[k] = x
		default:
			b, _ := json.Marshal(x)
			s.Fields[k] = string(b)
		}
	}
	status := http.StatusOK
	if !exists {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"subscriber": subJSON(s)})
}

func (f *Fake) listSubscribers(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	var subs []*Subscriber
	if e := r.URL.Query().Get("email_address"); e != "" {
		if id, ok := f.byEmail[strings.ToLower(e)]; ok {
			c := *f.subs[id]
			subs = append(subs, &c)
		}
	} else {
		for _, s := range f.subs {
			c := *s
			subs = append(subs, &c)
		}
	}
	f.mu.Unlock()
	sort.Slice(subs, func(i, j int) bool { return subs[i].ID < subs[j].ID })
	from, to, pg, err := page(r, len(subs))
	if err != nil {
		writeErrors(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	out := []map[string]any{}
	for _, s := range subs[from:to] {
		out = append(out, subJSON(s))
	}
	writeJSON(w, http.StatusOK, map[string]any{"subscribers": out, "pagination": pg})
}

func (f *Fake) tagTarget(w http.ResponseWriter, r *http.Request) (*Tag, *Subscriber, bool) {
	tid, err1 := strconv.Atoi(r.PathValue("tag"))
	sid, err2 := strconv.Atoi(r.PathValue("id"))
	t, okT := f.tags[tid]
	s, okS := f.subs[sid]
	if err1 != nil || err2 != nil || !okT || !okS {
		writeErrors(w, http.StatusNotFound, "Not Found")
		return nil, nil, false
	}
	return t, s, true
}

func (f *Fake) tagSubscriber(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, s, ok := f.tagTarget(w, r)
	if !ok {
		return
	}
	if f.tagged[t.ID] == nil {
		f.tagged[t.ID] = map[int]time.Time{}
	}
	status := http.StatusOK
	at, already := f.tagged[t.ID][s.ID]
	if !already {
		at = f.opts.Now().UTC()
		f.tagged[t.ID][s.ID] = at
		status = http.StatusCreated
	}
	out := subJSON(s)
	out["tagged_at"] = at.Format(time.RFC3339)
	writeJSON(w, status, map[string]any{"subscriber": out})
}

func (f *Fake) untagSubscriber(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, s, ok := f.tagTarget(w, r)
	if !ok {
		return
	}
	if _, tagged := f.tagged[t.ID][s.ID]; !tagged {
		writeErrors(w, http.StatusNotFound, "Not Found")
		return
	}
	delete(f.tagged[t.ID], s.ID)
	w.WriteHeader(http.StatusNoContent)
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
