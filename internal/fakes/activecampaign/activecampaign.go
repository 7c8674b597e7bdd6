// Package activecampaign is a fake of the ActiveCampaign API v3 calls Aqio
// uses, speaking their wire format (an http.Handler; wrap it in
// httptest.NewServer or Mount it on a mux). Built from ActiveCampaign's
// published v3 reference (developers.activecampaign.com: overview, errors,
// rate limits, contacts, contact lists, tags, contact tags, fields, users):
//
// Base URL and authentication: every account has its own API URL
// (https://<account>.api-us1.com, shown under Settings → Developer with
// the key); calls go to <API URL>/api/3/<resource> with the header
// "Api-Token: <key>". There is no OAuth and no refresh: a missing or wrong
// key answers 403 {"message":"You are not authorized to access this resource"}.
//
// Errors: 402 (account payment issues), 403 (authentication or
// authorization), 404 {"message":"No Result found for <Type> with id <id>"},
// 422 {"errors":[{"title","detail","code","source":{"pointer"}}]} for a
// missing or invalid parameter, 429 when the account's rate limit is
// exceeded. Resources are wrapped in their singular name ({"contact":{…}})
// and collections in the plural with "meta":{"total":"<n>"}; ids are
// strings of digits.
//
// Rate limits: 5 requests per second per account (every key of the
// account shares it). Over it, 429 with Retry-After (seconds) plus
// RateLimit-Limit and RateLimit-Remaining; every answer carries the two
// RateLimit-* headers. The 429 body is not documented; this fake answers
// {"message":"Too Many Requests"} (an assumption).
//
// Endpoints:
//
//	GET  /api/3/users/me          → {"user":{"username","firstName","lastName","email","id",…}} (the cheap credential check)
//	POST /api/3/contact/sync      {"contact":{"email","firstName","lastName","phone","fieldValues":[{"field":"<id>","value"}]}}
//	     → 201 created / 200 updated {"fieldValues":[{"contact","field","value","id",…}],"contact":{"email","firstName","lastName","id","cdate","udate","links":{…}}}
//	     upsert by email; invalid email (also a domain without a dot) → 422 code email_invalid; unknown field id → 422 code field_missing (an assumption of the fake)
//	GET  /api/3/fields?limit=&offset=  → {"fields":[{"title","type","perstag","descript","isrequired","id",…}],"fieldOptions":[],"fieldRels":[…],"meta":{"total"}}
//	GET  /api/3/lists/{id}        → {"list":{"name","stringid","id",…}}; unknown → 404
//	GET  /api/3/lists             → {"lists":[…],"meta":{"total"}}
//	POST /api/3/contactLists      {"contactList":{"list","contact","status"}} (status 1 subscribed, 2 unsubscribed)
//	     → 201 new / 200 changed {"contacts":[…],"contactList":{"contact","list","status","id",…}}; unknown contact or list → 404
//	GET  /api/3/tags?search=      → {"tags":[{"tag","tagType","description","id",…}],"meta":{"total"}} (search matches a substring)
//	POST /api/3/tags              {"tag":{"tag","tagType":"contact","description"}} → 201 {"tag":{…}}; a name in use → 422 code duplicate
//	POST /api/3/contactTags       {"contactTag":{"contact","tag"}} → 201 {"contactTag":{"contact","tag","id","cdate",…}};
//	     a contact already tagged answers the existing contactTag (no second row)
//	GET  /api/3/contacts/{id}/contactTags → {"contactTags":[{"contact","tag","id","cdate",…}]}
//	DELETE /api/3/contactTags/{id} → 200 {}; unknown → 404
//	GET  /api/3/contacts?email=   → {"contacts":[{"id","email","firstName","lastName","phone",…}],"meta":{"total"}}
//	DELETE /api/3/contacts/{id}   → 200 {} (the contact, its list memberships and tags go); unknown → 404
//
// Tests add keys (AddKey), custom fields (AddField) and lists (AddList),
// inject failures (Fail), force 429s (RateLimitNext), and inspect what
// arrived (Requests, Count, Contact, Tags).
package activecampaign

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aqio/connect/internal/fakes/fakekit"
)

// Options configure the fake.
type Options struct {
	// RateLimit is requests per second per account (default 5).
	RateLimit int
	// RetryAfter is the Retry-After of a 429, in seconds (default 1).
	RetryAfter int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Field is a contact custom field.
type Field struct {
	ID      string
	Title   string
	PersTag string
	Type    string
}

// List is a mailing list.
type List struct {
	ID   string
	Name string
}

// Contact is a contact with its field values, list statuses and tags.
type Contact struct {
	ID        string
	Email     string
	FirstName string
	LastName  string
	Phone     string
	// Fields are values by field id.
	Fields map[string]string
	// Lists are list statuses by list id (1 subscribed, 2 unsubscribed).
	Lists map[string]int
	// Tags are the names of the contact's tags, sorted.
	Tags []string
}

// Tag is a contact tag.
type Tag struct {
	ID          string
	Name        string
	Description string
}

// Request is a request the fake received.
type Request struct {
	Method, Path, Query string
	APIToken            string
	Body                []byte
	At                  time.Time
}

// Fake is the ActiveCampaign fake (one account).
type Fake struct {
	fakekit.Recorder[Request]

	opts Options
	mux  *http.ServeMux

	mu          sync.Mutex
	keys        map[string]bool
	fields      []Field
	lists       []List
	contacts    map[string]*contact // id → contact
	byEmail     map[string]string
	tags        []Tag
	contactTags map[string]string // contact/tag → contactTag id
	listRows    map[string]string // contact/list → contactList id
	nextID      int
	window      []time.Time
	deleted     []string // contact ids deleted (DELETE /api/3/contacts/{id})
}

// DeletedContacts lists the ids of contacts deleted, in order.
func (f *Fake) DeletedContacts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.deleted...)
}

func (f *Fake) listContacts(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []any{}
	email := strings.ToLower(r.URL.Query().Get("email"))
	for _, id := range slices.Sorted(maps.Keys(f.contacts)) {
		c := f.contacts[id]
		if email != "" && strings.ToLower(c.Email) != email {
			continue
		}
		out = append(out, map[string]any{"id": c.ID, "email": c.Email, "firstName": c.FirstName, "lastName": c.LastName, "phone": c.Phone,
			"links": map[string]any{"contactTags": "/api/3/contacts/" + c.ID + "/contactTags"}})
	}
	f.write(w, http.StatusOK, map[string]any{"contacts": out, "meta": map[string]any{"total": strconv.Itoa(len(out))}})
}

func (f *Fake) deleteContact(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := r.PathValue("id")
	c, ok := f.contacts[id]
	if !ok {
		f.message(w, http.StatusNotFound, "No Result found for Subscriber with id "+id)
		return
	}
	delete(f.contacts, id)
	for e, cid := range f.byEmail {
		if cid == id {
			delete(f.byEmail, e)
		}
	}
	for key := range f.contactTags {
		if strings.HasPrefix(key, c.ID+"/") {
			delete(f.contactTags, key)
		}
	}
	for key := range f.listRows {
		if strings.HasPrefix(key, c.ID+"/") {
			delete(f.listRows, key)
		}
	}
	f.deleted = append(f.deleted, id)
	f.write(w, http.StatusOK, map[string]any{})
}

type contact struct {
	Contact
	created time.Time
	updated time.Time
}

// New builds the fake.
func New(opts Options) *Fake {
	if opts.RateLimit == 0 {
		opts.RateLimit = 5
	}
	if opts.RetryAfter == 0 {
		opts.RetryAfter = 1
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	f := &Fake{opts: opts, keys: map[string]bool{}, contacts: map[string]*contact{}, byEmail: map[string]string{},
		contactTags: map[string]string{}, listRows: map[string]string{}, nextID: 1}
	m := http.NewServeMux()
	m.HandleFunc("GET /api/3/users/me", f.me)
	m.HandleFunc("POST /api/3/contact/sync", f.syncContact)
	m.HandleFunc("GET /api/3/fields", f.listFields)
	m.HandleFunc("GET /api/3/lists", f.listLists)
	m.HandleFunc("GET /api/3/lists/{id}", f.getList)
	m.HandleFunc("POST /api/3/contactLists", f.contactList)
	m.HandleFunc("GET /api/3/tags", f.listTags)
	m.HandleFunc("POST /api/3/tags", f.createTag)
	m.HandleFunc("POST /api/3/contactTags", f.contactTag)
	m.HandleFunc("GET /api/3/contacts/{id}/contactTags", f.listContactTags)
	m.HandleFunc("DELETE /api/3/contactTags/{id}", f.deleteContactTag)
	m.HandleFunc("GET /api/3/contacts", f.listContacts)
	m.HandleFunc("DELETE /api/3/contacts/{id}", f.deleteContact)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.message(w, http.StatusNotFound, "No Result found for route "+r.URL.Path)
	})
	f.mux = m
	return f
}

// AddKey accepts an API key.
func (f *Fake) AddKey(key string) { f.mu.Lock(); f.keys[key] = true; f.mu.Unlock() }

// RemoveKey stops accepting an API key (the user deleted it).
func (f *Fake) RemoveKey(key string) { f.mu.Lock(); delete(f.keys, key); f.mu.Unlock() }

// AddField adds a contact custom field and returns its id.
func (f *Fake) AddField(title, persTag string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.id()
	f.fields = append(f.fields, Field{ID: id, Title: title, PersTag: strings.ToUpper(persTag), Type: "text"})
	return id
}

// AddList adds a list and returns its id.
func (f *Fake) AddList(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.id()
	f.lists = append(f.lists, List{ID: id, Name: name})
	return id
}

// Contact returns the contact with an email.
func (f *Fake) Contact(email string) (Contact, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.byEmail[strings.ToLower(email)]
	if !ok {
		return Contact{}, false
	}
	return f.snapshot(f.contacts[id]), true
}

// Contacts counts the contacts.
func (f *Fake) Contacts() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.contacts) }

// Tags lists the account's tags, oldest first.
func (f *Fake) Tags() []Tag { f.mu.Lock(); defer f.mu.Unlock(); return append([]Tag(nil), f.tags...) }

func (f *Fake) snapshot(c *contact) Contact {
	out := c.Contact
	out.Fields = map[string]string{}
	for k, v := range c.Fields {
		out.Fields[k] = v
	}
	out.Lists = map[string]int{}
	for k, v := range c.Lists {
		out.Lists[k] = v
	}
	out.Tags = nil
	for key := range f.contactTags {
		cid, tid, _ := strings.Cut(key, "/")
		if cid == c.ID {
			for _, t := range f.tags {
				if t.ID == tid {
					out.Tags = append(out.Tags, t.Name)
				}
			}
		}
	}
	sort.Strings(out.Tags)
	return out
}

func (f *Fake) id() string { f.nextID++; return strconv.Itoa(f.nextID) }

// Fail makes the next n requests matching method and path prefix (under
// /api/3, which may be left out) answer status with body (body "" picks
// ActiveCampaign's shape for the status).
func (f *Fake) Fail(method, pathPrefix string, n, status int, body string) {
	f.Recorder.Fail(method, strings.TrimPrefix(pathPrefix, "/api/3"), n, status, body)
}

// ServeHTTP records the request, applies injected failures, checks the
// key and the rate limit, and serves the endpoint.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	key := r.Header.Get("Api-Token")
	f.Record(r.Method, r.URL.Path, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, APIToken: key, Body: body, At: f.opts.Now()})
	f.mu.Lock()
	known := f.keys[key]
	f.mu.Unlock()
	if key == "" || !known {
		f.message(w, http.StatusForbidden, "You are not authorized to access this resource")
		return
	}
	if f.rateLimited(w) {
		return
	}
	if fl := f.TakeFailure(r.Method, strings.TrimPrefix(r.URL.Path, "/api/3"), body); fl != nil {
		if fl.Body != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fl.Status)
			_, _ = io.WriteString(w, fl.Body)
			return
		}
		switch {
		case fl.Status == http.StatusUnprocessableEntity:
			f.errors(w, "Injected failure", "The request could not be processed", "invalid", "/data/attributes")
		case fl.Status == http.StatusTooManyRequests:
			f.tooMany(w)
		default:
			f.message(w, fl.Status, http.StatusText(fl.Status))
		}
		return
	}
	f.mux.ServeHTTP(w, r)
}

// rateLimited enforces the per-second budget (and forced 429s); every
// answer carries RateLimit-Limit and RateLimit-Remaining.
func (f *Fake) rateLimited(w http.ResponseWriter) bool {
	f.mu.Lock()
	now := f.opts.Now()
	keep := f.window[:0]
	for _, t := range f.window {
		if now.Sub(t) < time.Second {
			keep = append(keep, t)
		}
	}
	f.window = keep
	forced := f.TakeRateLimit()
	over := forced || len(f.window) >= f.opts.RateLimit
	if !over {
		f.window = append(f.window, now)
	}
	remaining := f.opts.RateLimit - len(f.window)
	f.mu.Unlock()
	w.Header().Set("RateLimit-Limit", strconv.Itoa(f.opts.RateLimit))
	w.Header().Set("RateLimit-Remaining", strconv.Itoa(max(remaining, 0)))
	if over {
		f.tooMany(w)
	}
	return over
}

func (f *Fake) tooMany(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(f.opts.RetryAfter))
	w.Header().Set("RateLimit-Remaining", "0")
	f.message(w, http.StatusTooManyRequests, "Too Many Requests")
}

func (f *Fake) write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Fake) message(w http.ResponseWriter, status int, msg string) {
	f.write(w, status, map[string]any{"message": msg})
}

// errors writes a 422 with one entry of ActiveCampaign's errors array.
func (f *Fake) errors(w http.ResponseWriter, title, detail, code, pointer string) {
	f.write(w, http.StatusUnprocessableEntity, map[string]any{"errors": []any{map[string]any{
		"title": title, "detail": detail, "code": code, "source": map[string]any{"pointer": pointer},
	}}})
}

func (f *Fake) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		f.message(w, http.StatusBadRequest, "Invalid JSON body")
		return false
	}
	return true
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05-00:00") }

func (f *Fake) me(w http.ResponseWriter, r *http.Request) {
	f.write(w, http.StatusOK, map[string]any{"user": map[string]any{
		"username": "admin", "firstName": "Account", "lastName": "Owner", "email": "owner@example.com",
		"lang": "english", "localZoneid": "Europe/Oslo", "id": "1",
		"links": map[string]any{"lists": "/api/3/users/1/lists"},
	}})
}

// idString reads an id sent as a string or a number.
func idString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

func (f *Fake) syncContact(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Contact *struct {
			Email       string `json:"email"`
			FirstName   string `json:"firstName"`
			LastName    string `json:"lastName"`
			Phone       string `json:"phone"`
			FieldValues []struct {
				Field any    `json:"field"`
				Value string `json:"value"`
			} `json:"fieldValues"`
		} `json:"contact"`
	}
	if !f.decode(w, r, &in) {
		return
	}
	if in.Contact == nil || strings.TrimSpace(in.Contact.Email) == "" {
		f.errors(w, "Contact Email Address is not valid.", "", "email_invalid", "/data/attributes/email")
		return
	}
	email := strings.ToLower(strings.TrimSpace(in.Contact.Email))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || !strings.Contains(email[strings.LastIndex(email, "@")+1:], ".") {
		f.errors(w, "Contact Email Address is not valid.", "", "email_invalid", "/data/attributes/email")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, fv := range in.Contact.FieldValues {
		id := idString(fv.Field)
		found := false
		for _, fl := range f.fields {
			found = found || fl.ID == id
		}
		if !found {
			f.errors(w, "Field does not exist", fmt.Sprintf("No custom field with id %q", id), "field_missing", fmt.Sprintf("/data/attributes/fieldValues/%d/field", i))
			return
		}
	}
	now := f.opts.Now()
	status := http.StatusOK
	id, ok := f.byEmail[email]
	if !ok {
		id = f.id()
		f.byEmail[email] = id
		f.contacts[id] = &contact{Contact: Contact{ID: id, Email: email, Fields: map[string]string{}, Lists: map[string]int{}}, created: now}
		status = http.StatusCreated
	}
	c := f.contacts[id]
	c.updated = now
	// contact/sync only overwrites what it is given.
	if in.Contact.FirstName != "" {
		c.FirstName = in.Contact.FirstName
	}
	if in.Contact.LastName != "" {
		c.LastName = in.Contact.LastName
	}
	if in.Contact.Phone != "" {
		c.Phone = in.Contact.Phone
	}
	var fvs []any
	for _, fv := range in.Contact.FieldValues {
		fid := idString(fv.Field)
		c.Fields[fid] = fv.Value
		fvs = append(fvs, map[string]any{"contact": id, "field": fid, "value": fv.Value, "cdate": stamp(now), "udate": stamp(now),
			"id": fid + id, "owner": id, "links": map[string]any{"owner": "/api/3/fieldValues/" + fid + id + "/owner", "field": "/api/3/fieldValues/" + fid + id + "/field"}})
	}
	if fvs == nil {
		fvs = []any{}
	}
	f.write(w, status, map[string]any{"fieldValues": fvs, "contact": f.contactJSON(c)})
}

func (f *Fake) contactJSON(c *contact) map[string]any {
	return map[string]any{
		"email": c.Email, "firstName": c.FirstName, "lastName": c.LastName, "phone": c.Phone,
		"cdate": stamp(c.created), "udate": stamp(c.updated), "orgid": "", "organization": "", "id": c.ID,
		"links": map[string]any{
			"contactLists": "https://account.api-us1.com/api/3/contacts/" + c.ID + "/contactLists",
			"contactTags":  "https://account.api-us1.com/api/3/contacts/" + c.ID + "/contactTags",
			"fieldValues":  "https://account.api-us1.com/api/3/contacts/" + c.ID + "/fieldValues",
		},
	}
}

// page applies limit (default 20, at most 100) and offset.
func page(r *http.Request, n int) (int, int) {
	limit, offset := 20, 0
	if v, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && v > 0 {
		limit = min(v, 100)
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("offset")); err == nil && v > 0 {
		offset = min(v, n)
	}
	return offset, min(offset+limit, n)
}

func (f *Fake) listFields(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	from, to := page(r, len(f.fields))
	out := []any{}
	rels := []any{}
	for _, fl := range f.fields[from:to] {
		out = append(out, map[string]any{"title": fl.Title, "descript": "", "type": fl.Type, "isrequired": "0", "perstag": fl.PersTag,
			"defval": "", "show_in_list": "0", "rows": "0", "cols": "0", "visible": "1", "service": "", "ordernum": "1",
			"cdate": "2026-01-01T00:00:00-06:00", "udate": "2026-01-01T00:00:00-06:00", "options": []any{}, "relations": []any{fl.ID},
			"links": map[string]any{"options": "/api/3/fields/" + fl.ID + "/options", "relations": "/api/3/fields/" + fl.ID + "/relations"}, "id": fl.ID})
		rels = append(rels, map[string]any{"field": fl.ID, "relid": "0", "dorder": "0", "cdate": "2026-01-01T00:00:00-06:00", "id": fl.ID})
	}
	f.write(w, http.StatusOK, map[string]any{"fieldOptions": []any{}, "fieldRels": rels, "fields": out, "meta": map[string]any{"total": strconv.Itoa(len(f.fields))}})
}

func listJSON(l List) map[string]any {
	return map[string]any{"stringid": strings.ToLower(strings.ReplaceAll(l.Name, " ", "-")), "userid": "1", "name": l.Name,
		"cdate": "2026-01-01T00:00:00-06:00", "private": "0", "sender_name": "", "id": l.ID,
		"links": map[string]any{"contactGoalLists": "/api/3/lists/" + l.ID + "/contactGoalLists", "user": "/api/3/lists/" + l.ID + "/user"}}
}

func (f *Fake) listLists(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	from, to := page(r, len(f.lists))
	out := []any{}
	for _, l := range f.lists[from:to] {
		out = append(out, listJSON(l))
	}
	f.write(w, http.StatusOK, map[string]any{"lists": out, "meta": map[string]any{"total": strconv.Itoa(len(f.lists))}})
}

func (f *Fake) findList(id string) (List, bool) {
	for _, l := range f.lists {
		if l.ID == id {
			return l, true
		}
	}
	return List{}, false
}

func (f *Fake) getList(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.findList(r.PathValue("id"))
	if !ok {
		f.message(w, http.StatusNotFound, "No Result found for List with id "+r.PathValue("id"))
		return
	}
	f.write(w, http.StatusOK, map[string]any{"list": listJSON(l)})
}

func (f *Fake) contactList(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ContactList *struct {
			List    any `json:"list"`
			Contact any `json:"contact"`
			Status  any `json:"status"`
		} `json:"contactList"`
	}
	if !f.decode(w, r, &in) {
		return
	}
	if in.ContactList == nil {
		f.errors(w, "The contactList field is required", "", "field_missing", "/data/attributes/contactList")
		return
	}
	listID, contactID, status := idString(in.ContactList.List), idString(in.ContactList.Contact), idString(in.ContactList.Status)
	if status != "1" && status != "2" {
		f.errors(w, "The status must be 1 (subscribed) or 2 (unsubscribed)", "", "invalid", "/data/attributes/status")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.contacts[contactID]
	if !ok {
		f.message(w, http.StatusNotFound, "No Result found for Subscriber with id "+contactID)
		return
	}
	if _, ok := f.findList(listID); !ok {
		f.message(w, http.StatusNotFound, "No Result found for List with id "+listID)
		return
	}
	st, _ := strconv.Atoi(status)
	code := http.StatusOK
	rowID, ok := f.listRows[contactID+"/"+listID]
	if !ok {
		rowID = f.id()
		f.listRows[contactID+"/"+listID] = rowID
		code = http.StatusCreated
	}
	c.Lists[listID] = st
	now := stamp(f.opts.Now())
	f.write(w, code, map[string]any{
		"contacts": []any{f.contactJSON(c)},
		"contactList": map[string]any{"contact": contactID, "list": listID, "form": nil, "seriesid": "0", "sdate": now, "status": st,
			"responder": "1", "sourceid": "4", "created_timestamp": now, "updated_timestamp": now, "id": rowID,
			"links": map[string]any{"list": "/api/3/contactLists/" + rowID + "/list", "contact": "/api/3/contactLists/" + rowID + "/contact"}},
	})
}

func tagJSON(t Tag) map[string]any {
	return map[string]any{"tagType": "contact", "tag": t.Name, "description": t.Description, "cdate": "2026-01-01T00:00:00-06:00",
		"subscriber_count": "0", "id": t.ID, "links": map[string]any{"contactGoalTags": "/api/3/tags/" + t.ID + "/contactGoalTags"}}
}

func (f *Fake) listTags(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := strings.ToLower(r.URL.Query().Get("search"))
	var match []Tag
	for _, t := range f.tags {
		if strings.Contains(strings.ToLower(t.Name), q) {
			match = append(match, t)
		}
	}
	from, to := page(r, len(match))
	out := []any{}
	for _, t := range match[from:to] {
		out = append(out, tagJSON(t))
	}
	f.write(w, http.StatusOK, map[string]any{"tags": out, "meta": map[string]any{"total": strconv.Itoa(len(match))}})
}

func (f *Fake) createTag(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Tag *struct {
			Tag         string `json:"tag"`
			TagType     string `json:"tagType"`
			Description string `json:"description"`
		} `json:"tag"`
	}
	if !f.decode(w, r, &in) {
		return
	}
	if in.Tag == nil || strings.TrimSpace(in.Tag.Tag) == "" {
		f.errors(w, "The tag name is required", "", "field_missing", "/data/attributes/tag")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.tags {
		if strings.EqualFold(t.Name, in.Tag.Tag) {
			f.errors(w, "Duplicate entry", "A tag named "+strconv.Quote(t.Name)+" already exists", "duplicate", "/data/attributes/tag")
			return
		}
	}
	t := Tag{ID: f.id(), Name: in.Tag.Tag, Description: in.Tag.Description}
	f.tags = append(f.tags, t)
	f.write(w, http.StatusCreated, map[string]any{"tag": tagJSON(t)})
}

func (f *Fake) contactTag(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ContactTag *struct {
			Contact any `json:"contact"`
			Tag     any `json:"tag"`
		} `json:"contactTag"`
	}
	if !f.decode(w, r, &in) {
		return
	}
	if in.ContactTag == nil {
		f.errors(w, "The contactTag field is required", "", "field_missing", "/data/attributes/contactTag")
		return
	}
	cid, tid := idString(in.ContactTag.Contact), idString(in.ContactTag.Tag)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.contacts[cid]; !ok {
		f.message(w, http.StatusNotFound, "No Result found for Subscriber with id "+cid)
		return
	}
	found := false
	for _, t := range f.tags {
		found = found || t.ID == tid
	}
	if !found {
		f.message(w, http.StatusNotFound, "No Result found for Tag with id "+tid)
		return
	}
	id, ok := f.contactTags[cid+"/"+tid]
	if !ok {
		id = f.id()
		f.contactTags[cid+"/"+tid] = id
	}
	now := stamp(f.opts.Now())
	f.write(w, http.StatusCreated, map[string]any{"contactTag": map[string]any{"cdate": now, "contact": cid, "tag": tid, "id": id,
		"links": map[string]any{"tag": "/api/3/contactTags/" + id + "/tag", "contact": "/api/3/contactTags/" + id + "/contact"}}})
}

func (f *Fake) listContactTags(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cid := r.PathValue("id")
	if _, ok := f.contacts[cid]; !ok {
		f.message(w, http.StatusNotFound, "No Result found for Subscriber with id "+cid)
		return
	}
	out := []any{}
	keys := slices.Sorted(maps.Keys(f.contactTags))
	for _, key := range keys {
		c, tid, _ := strings.Cut(key, "/")
		if c == cid {
			id := f.contactTags[key]
			out = append(out, map[string]any{"contact": cid, "tag": tid, "cdate": "2026-01-01T00:00:00-06:00", "id": id,
				"links": map[string]any{"tag": "/api/3/contactTags/" + id + "/tag", "contact": "/api/3/contactTags/" + id + "/contact"}})
		}
	}
	f.write(w, http.StatusOK, map[string]any{"contactTags": out})
}

func (f *Fake) deleteContactTag(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := r.PathValue("id")
	for key, v := range f.contactTags {
		if v == id {
			delete(f.contactTags, key)
			f.write(w, http.StatusOK, map[string]any{})
			return
		}
	}
	f.message(w, http.StatusNotFound, "No Result found for ContactTag with id "+id)
}

// Mounted is the fake mounted on a mux under a prefix: the account's API
// URL is the server's URL plus APIPath.
type Mounted struct {
	*Fake
	prefix string
}

// Mount mounts the fake on mux under prefix ("" or "/activecampaign").
func Mount(mux *http.ServeMux, prefix string, opts Options) *Mounted {
	m := &Mounted{Fake: New(opts), prefix: prefix}
	var h http.Handler = m.Fake
	if prefix != "" {
		h = http.StripPrefix(prefix, h)
	}
	mux.Handle(prefix+"/api/3/", h)
	return m
}

// APIPath is the account's API URL path on the server ("" or the prefix).
func (m *Mounted) APIPath() string { return m.prefix }

// Server is the fake alone on an httptest server; URL is the account's API URL.
type Server struct {
	*httptest.Server
	*Mounted
}

// NewServer starts the fake alone.
func NewServer(opts Options) *Server {
	mux := http.NewServeMux()
	m := Mount(mux, "", opts)
	return &Server{Server: httptest.NewServer(mux), Mounted: m}
}
