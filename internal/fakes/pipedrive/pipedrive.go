// Package pipedrive is a fake of the Pipedrive APIs Aqio uses, speaking
// their wire format (an http.Handler; Mount it with the shared OAuth
// fake). Built from Pipedrive's published references (developers.pipedrive.com
// API v1/v2, pipedrive.readme.io OAuth and rate-limiting guides):
//
// OAuth: authorize at oauth.pipedrive.com/oauth/authorize (no scope
// parameter: scopes are set on the app), token at /oauth/token with the
// client credentials as HTTP Basic only; answers {"access_token",
// "token_type":"Bearer","refresh_token","scope","expires_in":3599,
// "api_domain":"https://<company>.pipedrive.com"}. Revocation is
// POST /oauth/revoke (HTTP Basic, form token and token_type_hint). API
// calls go to the api_domain with "Authorization: Bearer <token>"; a
// missing, unknown or expired token answers 401 {"success":false,
// "error":"unauthorized access","errorCode":401,"error_info":…}.
//
// Errors: {"success":false,"error":"<message>","error_info":"Please check
// developers.pipedrive.com for more information about Pipedrive API.",
// "data":null,"additional_data":null} with 400 (bad input), 403 (missing
// scope), 404 (unknown id), 429 (rate limited).
//
// Rate limits: a burst limit per rolling 2-second window (per user and
// company, by plan) on top of the daily token budget. Every answer
// carries x-ratelimit-limit, x-ratelimit-remaining and x-ratelimit-reset
// (seconds until the window resets); a 429 answers {"success":false,
// "error":"Request over limit","errorCode":429}. This fake sends no
// Retry-After (the client must read x-ratelimit-reset).
//
// Endpoints:
//
//	GET   /api/v1/personFields?start=&limit=   {"success":true,"data":[{"id","key","name","field_type","edit_flag",…}],
//	                                          "additional_data":{"pagination":{"start","limit","more_items_in_collection","next_start"}}}
//	GET   /api/v2/persons/search?term=&fields=email&exact_match=true
//	      → {"success":true,"data":{"items":[{"result_score","item":{"id","type":"person","name","emails":["…"],…}}]},"additional_data":{"next_cursor":null}}
//	      (case-insensitive; Pipedrive has no upsert, so this is how a person is found by email)
//	POST  /api/v2/persons  {"name","emails":[{"value","primary","label"}],"custom_fields":{"<40-hex key>":value}} → {"success":true,"data":{"id",…}}
//	      name missing → 400; an unknown custom field key → 400 (an assumption of the fake)
//	GET   /api/v2/persons/{id}, PATCH /api/v2/persons/{id} (only the given fields change) → the person; unknown → 404
//	POST  /api/v2/deals    {"title","value","currency","person_id","pipeline_id","stage_id","status"} → {"success":true,"data":{"id",…}}
//	GET   /api/v2/deals?person_id=  → {"success":true,"data":[…],"additional_data":{"next_cursor":null}}
//	DELETE /api/v2/persons/{id}, DELETE /api/v2/deals/{id} → {"success":true,"data":{"id"}}; unknown → 404
//	      (Pipedrive marks them deleted and purges them after 30 days; the fake removes them at once)
//
// Tests inject failures (Fail, FailFor with a body match), force 429s
// (RateLimitNext), shrink the window (Options) and inspect what arrived
// (Requests, Person, Persons, Deals).
package pipedrive

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aqio/connect/internal/fakes/fakekit"
)

// Options configure the fake.
type Options struct {
	// CheckToken accepts an access token (nil error) or refuses it.
	// Default: tokens added with AddToken.
	CheckToken func(token string) error
	// BurstLimit and BurstWindow set the rolling window (default 80 per 2 s).
	BurstLimit  int
	BurstWindow time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Field is a person field.
type Field struct {
	ID       int
	Key      string
	Name     string
	Type     string
	EditFlag bool
}

// Person is a person record.
type Person struct {
	ID           int
	Name         string
	Emails       []string
	CustomFields map[string]any
}

// Deal is a deal record.
type Deal struct {
	ID                  int
	Title               string
	Value               float64
	Currency            string
	PersonID            int
	PipelineID, StageID int
	Status              string
}

// Request is a request the fake received.
type Request = fakekit.Request

// Fake is the Pipedrive API fake (one company).
type Fake struct {
	fakekit.Recorder[Request]

	opts Options
	mux  *http.ServeMux

	mu      sync.Mutex
	tokens  map[string]bool
	fields  []Field
	persons map[int]*Person
	deals   map[int]*Deal
	nextID  int
	window  []time.Time
}

// New builds the fake with Pipedrive's standard person fields.
func New(opts Options) *Fake {
	if opts.BurstLimit == 0 {
		opts.BurstLimit = 80
	}
	if opts.BurstWindow == 0 {
		opts.BurstWindow = 2 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	f := &Fake{opts: opts, tokens: map[string]bool{}, persons: map[int]*Person{}, deals: map[int]*Deal{}, nextID: 100,
		fields: []Field{
			{ID: 9001, Key: "name", Name: "Name", Type: "varchar"},
			{ID: 9002, Key: "email", Name: "Email", Type: "varchar"},
			{ID: 9003, Key: "phone", Name: "Phone", Type: "phone"},
			{ID: 9004, Key: "org_id", Name: "Organization", Type: "org"},
			{ID: 9005, Key: "owner_id", Name: "Owner", Type: "user"},
		}}
	if f.opts.CheckToken == nil {
		f.opts.CheckToken = func(tok string) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.tokens[tok] {
				return nil
			}
			return fmt.Errorf("unknown token")
		}
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /api/v1/personFields", f.personFields)
	m.HandleFunc("GET /api/v2/persons/search", f.searchPersons)
	m.HandleFunc("POST /api/v2/persons", f.createPerson)
	m.HandleFunc("GET /api/v2/persons/{id}", f.getPerson)
	m.HandleFunc("PATCH /api/v2/persons/{id}", f.patchPerson)
	m.HandleFunc("POST /api/v2/deals", f.createDeal)
	m.HandleFunc("GET /api/v2/deals", f.listDeals)
	m.HandleFunc("DELETE /api/v2/persons/{id}", f.deletePerson)
	m.HandleFunc("DELETE /api/v2/deals/{id}", f.deleteDeal)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.fail(w, http.StatusNotFound, "Unknown method .")
	})
	f.mux = m
	return f
}

// AddToken accepts an access token (with the default CheckToken).
func (f *Fake) AddToken(tok string) { f.mu.Lock(); f.tokens[tok] = true; f.mu.Unlock() }

// AddField adds a custom person field and returns its key (40 hex digits).
func (f *Fake) AddField(name, fieldType string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	key := fmt.Sprintf("%040x", 0xa9e0000+f.nextID)
	if fieldType == "" {
		fieldType = "varchar"
	}
	f.fields = append(f.fields, Field{ID: f.nextID, Key: key, Name: name, Type: fieldType, EditFlag: true})
	return key
}

// DeletePerson removes a person (as a user deleting it in Pipedrive).
func (f *Fake) DeletePerson(id int) { f.mu.Lock(); delete(f.persons, id); f.mu.Unlock() }

// Persons returns the persons with an email (case-insensitive).
func (f *Fake) Persons(email string) []Person {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Person
	for _, p := range f.persons {
		if hasEmail(p, email) {
			out = append(out, copyPerson(p))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Person returns the person with an email (the first when several).
func (f *Fake) Person(email string) (Person, bool) {
	ps := f.Persons(email)
	if len(ps) == 0 {
		return Person{}, false
	}
	return ps[0], true
}

// Deals lists the deals of a person, oldest first.
func (f *Fake) Deals(personID int) []Deal {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Deal
	for _, d := range f.deals {
		if d.PersonID == personID {
			out = append(out, *d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func copyPerson(p *Person) Person {
	c := *p
	c.Emails = append([]string(nil), p.Emails...)
	c.CustomFields = map[string]any{}
	for k, v := range p.CustomFields {
		c.CustomFields[k] = v
	}
	return c
}

func hasEmail(p *Person, email string) bool {
	for _, e := range p.Emails {
		if strings.EqualFold(e, email) {
			return true
		}
	}
	return false
}

// ServeHTTP records the request, checks the token, the rate limit and
// injected failures, and serves the endpoint.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	f.Record(r.Method, r.URL.Path, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Authorization: r.Header.Get("Authorization"), Body: body, At: f.opts.Now()})
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" || f.opts.CheckToken(tok) != nil {
		f.write(w, http.StatusUnauthorized, map[string]any{"success": false, "error": "unauthorized access", "errorCode": 401,
			"error_info": "Please check developers.pipedrive.com for more information about Pipedrive API."})
		return
	}
	if f.rateLimited(w) {
		return
	}
	if fl := f.TakeFailure(r.Method, r.URL.Path, body); fl != nil {
		if fl.Body != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fl.Status)
			_, _ = io.WriteString(w, fl.Body)
			return
		}
		f.fail(w, fl.Status, http.StatusText(fl.Status))
		return
	}
	f.mux.ServeHTTP(w, r)
}

func (f *Fake) rateLimited(w http.ResponseWriter) bool {
	f.mu.Lock()
	now := f.opts.Now()
	keep := f.window[:0]
	for _, t := range f.window {
		if now.Sub(t) < f.opts.BurstWindow {
			keep = append(keep, t)
		}
	}
	f.window = keep
	forced := f.TakeRateLimit()
	over := forced || len(f.window) >= f.opts.BurstLimit
	if !over {
		f.window = append(f.window, now)
	}
	remaining := max(f.opts.BurstLimit-len(f.window), 0)
	reset := f.opts.BurstWindow
	if len(f.window) > 0 {
		reset = f.opts.BurstWindow - now.Sub(f.window[0])
	}
	f.mu.Unlock()
	w.Header().Set("x-ratelimit-limit", strconv.Itoa(f.opts.BurstLimit))
	w.Header().Set("x-ratelimit-remaining", strconv.Itoa(remaining))
	w.Header().Set("x-ratelimit-reset", strconv.Itoa(max(int((reset+time.Second-1)/time.Second), 1)))
	if over {
		w.Header().Set("x-ratelimit-remaining", "0")
		f.write(w, http.StatusTooManyRequests, map[string]any{"success": false, "error": "Request over limit", "errorCode": 429,
			"error_info": "Please check developers.pipedrive.com for more information about Pipedrive API."})
	}
	return over
}

func (f *Fake) write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Fake) fail(w http.ResponseWriter, status int, msg string) {
	f.write(w, status, map[string]any{"success": false, "error": msg,
		"error_info": "Please check developers.pipedrive.com for more information about Pipedrive API.", "data": nil, "additional_data": nil})
}

func (f *Fake) ok(w http.ResponseWriter, data any, additional any) {
	out := map[string]any{"success": true, "data": data}
	if additional != nil {
		out["additional_data"] = additional
	}
	f.write(w, http.StatusOK, out)
}

func (f *Fake) personFields(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	start, _ := strconv.Atoi(r.URL.Query().Get("start"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	start = min(max(start, 0), len(f.fields))
	end := min(start+limit, len(f.fields))
	data := []any{}
	for _, fl := range f.fields[start:end] {
		data = append(data, map[string]any{"id": fl.ID, "key": fl.Key, "name": fl.Name, "field_type": fl.Type, "edit_flag": fl.EditFlag,
			"bulk_edit_allowed": fl.EditFlag, "mandatory_flag": fl.Key == "name", "active_flag": true, "add_visible_flag": true})
	}
	pag := map[string]any{"start": start, "limit": limit, "more_items_in_collection": end < len(f.fields)}
	if end < len(f.fields) {
		pag["next_start"] = end
	}
	f.ok(w, data, map[string]any{"pagination": pag})
}

func (f *Fake) personJSON(p *Person) map[string]any {
	emails := []any{}
	for i, e := range p.Emails {
		emails = append(emails, map[string]any{"value": e, "primary": i == 0, "label": "work"})
	}
	cf := map[string]any{}
	for k, v := range p.CustomFields {
		cf[k] = v
	}
	return map[string]any{"id": p.ID, "name": p.Name, "emails": emails, "phones": []any{}, "owner_id": 1, "org_id": nil,
		"custom_fields": cf, "add_time": "2026-12-01T10:00:00Z", "update_time": "2026-12-01T10:00:00Z", "visible_to": 3}
}

func (f *Fake) searchPersons(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	term := q.Get("term")
	exact := q.Get("exact_match") == "true" || q.Get("exact_match") == "1"
	if len(term) < 2 && !exact {
		f.fail(w, http.StatusBadRequest, "Search term must be at least 2 characters long")
		return
	}
	onlyEmail := q.Get("fields") == "email"
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []int
	for id, p := range f.persons {
		match := false
		for _, e := range p.Emails {
			match = match || (exact && strings.EqualFold(e, term)) || (!exact && strings.Contains(strings.ToLower(e), strings.ToLower(term)))
		}
		if !onlyEmail {
			match = match || (exact && strings.EqualFold(p.Name, term)) || (!exact && strings.Contains(strings.ToLower(p.Name), strings.ToLower(term)))
		}
		if match {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	items := []any{}
	for _, id := range ids {
		p := f.persons[id]
		items = append(items, map[string]any{"result_score": 1.0, "item": map[string]any{"id": p.ID, "type": "person", "name": p.Name,
			"phones": []any{}, "emails": append([]string(nil), p.Emails...), "visible_to": 3, "owner": map[string]any{"id": 1},
			"organization": nil, "custom_fields": []any{}, "notes": []any{}}})
	}
	f.ok(w, map[string]any{"items": items}, map[string]any{"next_cursor": nil})
}

type personInput struct {
	Name   *string `json:"name"`
	Emails []struct {
		Value   string `json:"value"`
		Primary bool   `json:"primary"`
		Label   string `json:"label"`
	} `json:"emails"`
	CustomFields map[string]any `json:"custom_fields"`
}

func (f *Fake) decodePerson(w http.ResponseWriter, r *http.Request) (personInput, bool) {
	var in personInput
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&in); err != nil {
		f.fail(w, http.StatusBadRequest, "Invalid JSON")
		return in, false
	}
	for k := range in.CustomFields {
		known := false
		for _, fl := range f.fields {
			known = known || (fl.Key == k && fl.EditFlag)
		}
		if !known {
			f.fail(w, http.StatusBadRequest, "Unknown custom field: "+k)
			return in, false
		}
	}
	return in, true
}

func (f *Fake) createPerson(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in, ok := f.decodePerson(w, r)
	if !ok {
		return
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		f.fail(w, http.StatusBadRequest, "Name must be given.")
		return
	}
	f.nextID++
	p := &Person{ID: f.nextID, Name: *in.Name, CustomFields: map[string]any{}}
	for _, e := range in.Emails {
		p.Emails = append(p.Emails, e.Value)
	}
	for k, v := range in.CustomFields {
		p.CustomFields[k] = v
	}
	f.persons[p.ID] = p
	f.ok(w, f.personJSON(p), nil)
}

func (f *Fake) person(w http.ResponseWriter, r *http.Request) (*Person, bool) {
	id, _ := strconv.Atoi(r.PathValue("id"))
	p, ok := f.persons[id]
	if !ok {
		f.fail(w, http.StatusNotFound, "Person not found")
	}
	return p, ok
}

func (f *Fake) getPerson(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.person(w, r); ok {
		f.ok(w, f.personJSON(p), nil)
	}
}

func (f *Fake) patchPerson(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.person(w, r)
	if !ok {
		return
	}
	in, ok := f.decodePerson(w, r)
	if !ok {
		return
	}
	if in.Name != nil {
		if strings.TrimSpace(*in.Name) == "" {
			f.fail(w, http.StatusBadRequest, "Name must be given.")
			return
		}
		p.Name = *in.Name
	}
	if in.Emails != nil {
		p.Emails = nil
		for _, e := range in.Emails {
			p.Emails = append(p.Emails, e.Value)
		}
	}
	for k, v := range in.CustomFields {
		p.CustomFields[k] = v
	}
	f.ok(w, f.personJSON(p), nil)
}

func dealJSON(d *Deal) map[string]any {
	return map[string]any{"id": d.ID, "title": d.Title, "value": d.Value, "currency": d.Currency, "person_id": d.PersonID,
		"pipeline_id": d.PipelineID, "stage_id": d.StageID, "status": d.Status, "add_time": "2026-12-01T10:00:00Z"}
}

func (f *Fake) createDeal(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title      string   `json:"title"`
		Value      *float64 `json:"value"`
		Currency   string   `json:"currency"`
		PersonID   int      `json:"person_id"`
		PipelineID int      `json:"pipeline_id"`
		StageID    int      `json:"stage_id"`
		Status     string   `json:"status"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.fail(w, http.StatusBadRequest, "Invalid JSON")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.TrimSpace(in.Title) == "" {
		f.fail(w, http.StatusBadRequest, "Title must be given.")
		return
	}
	if in.PersonID != 0 {
		if _, ok := f.persons[in.PersonID]; !ok {
			f.fail(w, http.StatusBadRequest, "Person with id "+strconv.Itoa(in.PersonID)+" does not exist")
			return
		}
	}
	switch in.Status {
	case "", "open", "won", "lost":
	default:
		f.fail(w, http.StatusBadRequest, "Invalid status "+in.Status)
		return
	}
	if in.Status == "" {
		in.Status = "open"
	}
	f.nextID++
	d := &Deal{ID: f.nextID, Title: in.Title, Currency: in.Currency, PersonID: in.PersonID, PipelineID: in.PipelineID, StageID: in.StageID, Status: in.Status}
	if in.Value != nil {
		d.Value = *in.Value
	}
	if d.PipelineID == 0 {
		d.PipelineID = 1
	}
	if d.StageID == 0 {
		d.StageID = 1
	}
	f.deals[d.ID] = d
	f.ok(w, dealJSON(d), nil)
}

func (f *Fake) listDeals(w http.ResponseWriter, r *http.Request) {
	pid, _ := strconv.Atoi(r.URL.Query().Get("person_id"))
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []int
	for id, d := range f.deals {
		if pid == 0 || d.PersonID == pid {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	data := []any{}
	for _, id := range ids {
		data = append(data, dealJSON(f.deals[id]))
	}
	f.ok(w, data, map[string]any{"next_cursor": nil})
}
