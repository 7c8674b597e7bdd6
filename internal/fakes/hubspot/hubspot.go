// Package hubspot is a fake of the HubSpot APIs Aqio uses, speaking their
// wire format (an http.Handler; wrap it in httptest.NewServer). Built from
// HubSpot's published API reference:
//
// Authentication: every call carries "Authorization: Bearer <OAuth access
// token>" (tokens from POST /oauth/v3/token, form body grant_type,
// client_id, client_secret, code/redirect_uri or refresh_token; the answer
// is {"token_type":"bearer","access_token","refresh_token","expires_in":1800,
// "hub_id","scopes",...}; revocation is POST /oauth/v3/token/revoke with
// token, token_type_hint, client_id, client_secret). The token endpoints
// are the shared OAuth fake's; this fake checks access tokens through
// Options.CheckToken. A missing or unknown token answers 401 category
// INVALID_AUTHENTICATION, an expired one 401 EXPIRED_AUTHENTICATION.
//
// Errors: {"status":"error","message","correlationId","category",
// "subCategory"?,"errors"?:[{"message","in"?,"code"?,"context"?}],
// "context"?,"links"?}; categories VALIDATION_ERROR (400), OBJECT_NOT_FOUND
// (404), MISSING_SCOPES (403), CONFLICT (409), RATE_LIMITS (429). A 429
// adds "errorType":"RATE_LIMIT" and "policyName" (TEN_SECONDLY_ROLLING or
// DAILY) and carries no Retry-After.
//
// Rate limits: 100 requests per 10 s rolling window per portal (OAuth
// apps); every answer carries X-HubSpot-RateLimit-Max,
// X-HubSpot-RateLimit-Remaining, X-HubSpot-RateLimit-Interval-Milliseconds,
// X-HubSpot-RateLimit-Daily and X-HubSpot-RateLimit-Daily-Remaining.
//
// Endpoints:
//
//	GET  /crm/v3/properties/contacts                      {"results":[{"name","label","type","fieldType","groupName","hidden","modificationMetadata":{"readOnlyValue",...}}]}
//	POST /crm/v3/objects/contacts/batch/upsert            {"inputs":[{"idProperty":"email","id":"<email>","properties":{...}}]} (≤100)
//	     → 200 {"status":"COMPLETE","results":[{"id","properties","createdAt","updatedAt","archived":false,"new"}],"startedAt","completedAt"}
//	     unknown property → 400 VALIDATION_ERROR "Property values were not valid: [...PROPERTY_DOESNT_EXIST...]"
//	POST /crm/v3/objects/contacts/gdpr-delete             {"objectId":"<id or email>","idProperty":"email"?} → 204 (by email: also when
//	     no contact matches: HubSpot blocklists the address; Blocklisted reports it); by id: 404 unknown
//	POST /crm/v3/objects/deals                            {"properties":{"dealname","amount","pipeline","dealstage","closedate","deal_currency_code"},
//	                                                      "associations":[{"to":{"id"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":3}]}]}
//	     → 201 {"id","properties","createdAt","updatedAt","archived":false}   (3 = deal → contact)
//	GET  /crm/v3/objects/deals/{dealId}                   → 200 the deal, 404 OBJECT_NOT_FOUND
//	PUT  /marketing/v3/marketing-events/events/{externalEventId}   upsert {"externalAccountId","externalEventId","eventName","eventOrganizer",
//	                                                      "eventType","startDateTime","endDateTime","eventUrl","eventDescription","eventCancelled"}
//	POST /marketing/v3/marketing-events/events/{externalEventId}/cancel?externalAccountId=
//	POST /marketing/v3/marketing-events/attendance/{externalEventId}/{subscriberState}/email-create?externalAccountId=
//	     {"inputs":[{"email","interactionDateTime"(ms)}]}; subscriberState register, attend or cancel; unknown
//	     marketing event → 404; a contact is created when the email is unknown.
//
// Tests inject failures (Fail), force 429s (RateLimitNext), shrink the
// rate-limit window (Options), and inspect what arrived (Requests,
// Contact, Deals, Attendance).
package hubspot

import (
	"encoding/json"
	"errors"
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

// ErrExpired is what CheckToken returns for an expired access token.
var ErrExpired = errors.New("expired")

// Options configure the fake.
type Options struct {
	// PortalID is the hub id (default 6543210).
	PortalID int
	// CheckToken accepts an access token (nil error), or refuses it
	// (ErrExpired for an expired one). Default: tokens added with AddToken.
	CheckToken func(token string) error
	// RateLimitMax and RateLimitInterval set the rolling window
	// (default 100 per 10 s).
	RateLimitMax      int
	RateLimitInterval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Property is a contact property of the portal.
type Property struct {
	Name     string
	Label    string
	Type     string
	ReadOnly bool
}

// Contact is a contact record.
type Contact struct {
	ID         string
	Properties map[string]string
	Created    time.Time
}

// Deal is a deal record with its associated contact ids.
type Deal struct {
	ID         string
	Properties map[string]string
	Contacts   []string
}

// MarketingEvent is an upserted marketing event.
type MarketingEvent struct {
	ExternalAccountID, ExternalEventID string
	Body                               map[string]any
	Cancelled                          bool
}

// Participation is one recorded subscriber state.
type Participation struct {
	Email string
	State string // register, attend, cancel
	At    int64  // interactionDateTime, ms
}

// Request is a request the fake received.
type Request = fakekit.Request

// Fake is the HubSpot fake.
type Fake struct {
	fakekit.Recorder[Request]

	opts Options
	mux  *http.ServeMux

	mu         sync.Mutex
	tokens     map[string]bool
	properties []Property
	contacts   map[string]*Contact // id → contact
	byEmail    map[string]string   // email → id
	deals      map[string]*Deal
	events     map[string]*MarketingEvent // account/event → event
	attendance map[string][]Participation // account/event → states
	nextID     int
	window     []time.Time
	daily      int
	correlate  int
	gdpr       []GDPRDeletion
	blocked    map[string]bool // emails GDPR-deleted
}

// GDPRDeletion is one GDPR delete received
// (POST /crm/v3/objects/contacts/gdpr-delete).
type GDPRDeletion struct {
	ObjectID, IDProperty string
	// ContactID is the deleted contact ("" when none matched: HubSpot
	// still answers 204 and blocklists the address).
	ContactID string
}

// GDPRDeletions lists the GDPR deletes received, in order.
func (f *Fake) GDPRDeletions() []GDPRDeletion {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]GDPRDeletion(nil), f.gdpr...)
}

// Blocklisted reports whether an address was GDPR-deleted.
func (f *Fake) Blocklisted(email string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.blocked[strings.ToLower(email)]
}

// gdprDelete permanently deletes a contact by id or, with idProperty
// email, by address: 204 whether or not one matched; the address is
// blocklisted (Blocklisted).
func (f *Fake) gdprDelete(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ObjectID   string `json:"objectId"`
		IDProperty string `json:"idProperty"`
	}
	if !f.decode(w, r, &in) {
		return
	}
	if in.ObjectID == "" {
		f.error(w, http.StatusBadRequest, "VALIDATION_ERROR", "objectId is required", nil)
		return
	}
	f.mu.Lock()
	id := in.ObjectID
	if in.IDProperty == "email" {
		id = f.byEmail[strings.ToLower(in.ObjectID)]
		f.blocked[strings.ToLower(in.ObjectID)] = true
	}
	c, ok := f.contacts[id]
	del := GDPRDeletion{ObjectID: in.ObjectID, IDProperty: in.IDProperty}
	if ok {
		del.ContactID = c.ID
		delete(f.contacts, id)
		for e, cid := range f.byEmail {
			if cid == id {
				delete(f.byEmail, e)
				f.blocked[e] = true
			}
		}
	}
	f.gdpr = append(f.gdpr, del)
	f.mu.Unlock()
	if !ok && in.IDProperty != "email" {
		f.error(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found", nil)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// New builds the fake.
func New(opts Options) *Fake {
	if opts.PortalID == 0 {
		opts.PortalID = 6543210
	}
	if opts.RateLimitMax == 0 {
		opts.RateLimitMax = 100
	}
	if opts.RateLimitInterval == 0 {
		opts.RateLimitInterval = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	f := &Fake{
		opts: opts, tokens: map[string]bool{}, contacts: map[string]*Contact{}, byEmail: map[string]string{},
		deals: map[string]*Deal{}, events: map[string]*MarketingEvent{}, attendance: map[string][]Participation{}, blocked: map[string]bool{},
		nextID: 1000,
		properties: []Property{
			{Name: "email", Label: "Email", Type: "string"},
			{Name: "firstname", Label: "First Name", Type: "string"},
			{Name: "lastname", Label: "Last Name", Type: "string"},
			{Name: "phone", Label: "Phone Number", Type: "string"},
			{Name: "company", Label: "Company Name", Type: "string"},
			{Name: "lifecyclestage", Label: "Lifecycle Stage", Type: "enumeration"},
			{Name: "hs_object_id", Label: "Record ID", Type: "number", ReadOnly: true},
			{Name: "createdate", Label: "Create Date", Type: "datetime", ReadOnly: true},
		},
	}
	if f.opts.CheckToken == nil {
		f.opts.CheckToken = func(tok string) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.tokens[tok] {
				return nil
			}
			return errors.New("unknown token")
		}
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /crm/v3/properties/contacts", f.listProperties)
	m.HandleFunc("POST /crm/v3/objects/contacts/batch/upsert", f.upsertContacts)
	m.HandleFunc("POST /crm/v3/objects/contacts/gdpr-delete", f.gdprDelete)
	m.HandleFunc("POST /crm/v3/objects/deals", f.createDeal)
	m.HandleFunc("GET /crm/v3/objects/deals/{id}", f.getDeal)
	m.HandleFunc("PUT /marketing/v3/marketing-events/events/{ext}", f.upsertEvent)
	m.HandleFunc("POST /marketing/v3/marketing-events/events/{ext}/cancel", f.cancelEvent)
	m.HandleFunc("POST /marketing/v3/marketing-events/attendance/{ext}/{state}/email-create", f.recordAttendance)
	f.mux = m
	return f
}

// PortalID is the fake's hub id.
func (f *Fake) PortalID() int { return f.opts.PortalID }

// AddToken accepts an access token (with the default CheckToken).
func (f *Fake) AddToken(tok string) { f.mu.Lock(); f.tokens[tok] = true; f.mu.Unlock() }

// AddProperty adds a custom contact property to the portal.
func (f *Fake) AddProperty(p Property) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p.Type == "" {
		p.Type = "string"
	}
	f.properties = append(f.properties, p)
}

// Contact returns the contact with an email.
func (f *Fake) Contact(email string) (Contact, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.byEmail[strings.ToLower(email)]
	if !ok {
		return Contact{}, false
	}
	c := *f.contacts[id]
	c.Properties = copyMap(c.Properties)
	return c, true
}

// Deals lists the deals, oldest first.
func (f *Fake) Deals() []Deal {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Deal, 0, len(f.deals))
	for _, d := range f.deals {
		out = append(out, Deal{ID: d.ID, Properties: copyMap(d.Properties), Contacts: append([]string(nil), d.Contacts...)})
	}
	sort.Slice(out, func(i, j int) bool { return atoi(out[i].ID) < atoi(out[j].ID) })
	return out
}

// MarketingEvent returns an upserted marketing event.
func (f *Fake) MarketingEvent(externalAccountID, externalEventID string) (MarketingEvent, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.events[externalAccountID+"/"+externalEventID]
	if !ok {
		return MarketingEvent{}, false
	}
	return *e, true
}

// Attendance lists the subscriber states recorded for a marketing event.
func (f *Fake) Attendance(externalAccountID, externalEventID string) []Participation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Participation(nil), f.attendance[externalAccountID+"/"+externalEventID]...)
}

// ServeHTTP records the request, applies injected failures, checks the
// token and the rate limit, and serves the endpoint.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	f.Record(r.Method, r.URL.Path, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Authorization: r.Header.Get("Authorization"), Body: body, At: f.opts.Now()})

	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		f.error(w, http.StatusUnauthorized, "INVALID_AUTHENTICATION", "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview", nil)
		return
	}
	if err := f.opts.CheckToken(tok); err != nil {
		if errors.Is(err, ErrExpired) {
			f.error(w, http.StatusUnauthorized, "EXPIRED_AUTHENTICATION", "The OAuth token used to make this call expired 1 minute(s) ago.", nil)
			return
		}
		f.error(w, http.StatusUnauthorized, "INVALID_AUTHENTICATION", "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview", nil)
		return
	}
	if f.rateLimited(w) {
		return
	}
	if fl := f.TakeFailure(r.Method, r.URL.Path, body); fl != nil {
		if fl.Body != "" {
			w.Header().Set("Content-Type", "application/json;charset=utf-8")
			w.WriteHeader(fl.Status)
			_, _ = io.WriteString(w, fl.Body)
			return
		}
		cat, msg := categoryFor(fl.Status)
		f.error(w, fl.Status, cat, msg, nil)
		return
	}
	f.mux.ServeHTTP(w, r)
}

// rateLimited counts the request in the rolling window, sets the
// rate-limit headers and answers 429 when the window is full.
func (f *Fake) rateLimited(w http.ResponseWriter) bool {
	f.mu.Lock()
	now := f.opts.Now()
	cut := now.Add(-f.opts.RateLimitInterval)
	keep := f.window[:0]
	for _, t := range f.window {
		if t.After(cut) {
			keep = append(keep, t)
		}
	}
	f.window = keep
	forced := f.TakeRateLimit()
	full := forced || len(f.window) >= f.opts.RateLimitMax
	if !full {
		f.window = append(f.window, now)
		f.daily++
	}
	remaining := f.opts.RateLimitMax - len(f.window)
	if full {
		remaining = 0
	}
	daily := f.daily
	f.mu.Unlock()
	h := w.Header()
	h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(f.opts.RateLimitMax))
	h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.FormatInt(f.opts.RateLimitInterval.Milliseconds(), 10))
	h.Set("X-HubSpot-RateLimit-Daily", "500000")
	h.Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.Itoa(500000-daily))
	if !full {
		return false
	}
	f.write(w, http.StatusTooManyRequests, map[string]any{
		"status": "error", "message": "You have reached your ten_secondly_rolling limit.", "errorType": "RATE_LIMIT",
		"correlationId": f.correlationID(), "policyName": "TEN_SECONDLY_ROLLING",
		"groupName": fmt.Sprintf("publicapi:oauth:aqio-connect:%d", f.opts.PortalID),
	})
	return true
}

func categoryFor(status int) (string, string) {
	switch {
	case status == 400:
		return "VALIDATION_ERROR", "Invalid input JSON on line 1, column 1"
	case status == 403:
		return "MISSING_SCOPES", "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes."
	case status == 404:
		return "OBJECT_NOT_FOUND", "resource not found"
	case status == 409:
		return "CONFLICT", "Conflict"
	case status == 423:
		return "LOCKED", "The record is locked; try again in 2 seconds."
	case status >= 500:
		return "INTERNAL_ERROR", "internal error"
	}
	return "UNKNOWN", http.StatusText(status)
}

func (f *Fake) correlationID() string {
	f.mu.Lock()
	f.correlate++
	n := f.correlate
	f.mu.Unlock()
	return fmt.Sprintf("aeb5f871-7f07-4993-9211-%012d", n)
}

func (f *Fake) error(w http.ResponseWriter, status int, category, message string, extra map[string]any) {
	b := map[string]any{"status": "error", "message": message, "correlationId": f.correlationID(), "category": category}
	for k, v := range extra {
		b[k] = v
	}
	f.write(w, status, b)
}

func (f *Fake) write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Fake) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		f.error(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON on line 1, column 1: "+err.Error(), nil)
		return false
	}
	return true
}

func (f *Fake) listProperties(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	props := append([]Property(nil), f.properties...)
	f.mu.Unlock()
	results := make([]map[string]any, 0, len(props))
	for _, p := range props {
		results = append(results, map[string]any{
			"name": p.Name, "label": p.Label, "type": p.Type, "fieldType": "text", "groupName": "contactinformation",
			"hidden": false, "formField": true, "calculated": false, "hasUniqueValue": p.Name == "email",
			"modificationMetadata": map[string]any{"archivable": true, "readOnlyDefinition": true, "readOnlyValue": p.ReadOnly},
			"createdAt":            "2020-06-30T15:57:37.277Z", "updatedAt": "2020-06-30T15:57:37.277Z", "archived": false,
		})
	}
	f.write(w, http.StatusOK, map[string]any{"results": results})
}

// invalidProperties answers like HubSpot when properties do not exist or
// are read-only.
func (f *Fake) invalidProperties(props map[string]string) (string, bool) {
	known := map[string]Property{}
	for _, p := range f.properties {
		known[p.Name] = p
	}
	var bad []map[string]any
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		p, ok := known[k]
		switch {
		case !ok:
			bad = append(bad, map[string]any{"isValid": false, "message": fmt.Sprintf("Property \"%s\" does not exist", k), "error": "PROPERTY_DOESNT_EXIST", "name": k, "localizedErrorMessage": fmt.Sprintf("Property \"%s\" does not exist", k)})
		case p.ReadOnly:
			bad = append(bad, map[string]any{"isValid": false, "message": fmt.Sprintf("%s is a read only property; its value cannot be set.", k), "error": "READ_ONLY_VALUE", "name": k})
		}
	}
	if len(bad) == 0 {
		return "", false
	}
	raw, _ := json.Marshal(bad)
	return "Property values were not valid: " + string(raw), true
}

func (f *Fake) upsertContacts(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Inputs []upsertInput `json:"inputs"`
	}
	if !f.decode(w, r, &in) {
		return
	}
	if len(in.Inputs) == 0 || len(in.Inputs) > 100 {
		f.error(w, http.StatusBadRequest, "VALIDATION_ERROR", "inputs must contain between 1 and 100 items", nil)
		return
	}
	started := f.opts.Now().UTC()
	results, status, msg := f.applyUpserts(in.Inputs, started)
	if status != 0 {
		f.error(w, status, "VALIDATION_ERROR", msg, nil)
		return
	}
	f.write(w, http.StatusOK, map[string]any{"status": "COMPLETE", "results": results,
		"startedAt": started.Format(time.RFC3339Nano), "completedAt": f.opts.Now().UTC().Format(time.RFC3339Nano)})
}

type upsertInput = struct {
	IDProperty string            `json:"idProperty"`
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
}

// applyUpserts validates the whole batch (HubSpot refuses it all when a
// property is invalid) and then creates or updates each contact by email.
func (f *Fake) applyUpserts(inputs []upsertInput, now time.Time) ([]map[string]any, int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, i := range inputs {
		if i.IDProperty != "email" {
			return nil, http.StatusBadRequest, fmt.Sprintf("idProperty %q is not a unique property of contacts", i.IDProperty)
		}
		if at := strings.LastIndex(i.ID, "@"); at < 1 || !strings.Contains(i.ID[at:], ".") {
			return nil, http.StatusBadRequest, fmt.Sprintf("Property values were not valid: [{\"isValid\":false,\"message\":\"Email address %s is invalid\",\"error\":\"INVALID_EMAIL\",\"name\":\"email\"}]", i.ID)
		}
		if msg, bad := f.invalidProperties(i.Properties); bad {
			return nil, http.StatusBadRequest, msg
		}
	}
	results := []map[string]any{}
	for _, i := range inputs {
		email := strings.ToLower(strings.TrimSpace(i.ID))
		id, exists := f.byEmail[email]
		if !exists {
			f.nextID++
			id = strconv.Itoa(f.nextID)
			f.contacts[id] = &Contact{ID: id, Properties: map[string]string{"email": email}, Created: now}
			f.byEmail[email] = id
		}
		c := f.contacts[id]
		for k, v := range i.Properties {
			c.Properties[k] = v
		}
		c.Properties["email"] = email
		results = append(results, map[string]any{
			"id": id, "properties": copyMap(c.Properties), "createdAt": c.Created.Format(time.RFC3339Nano),
			"updatedAt": now.Format(time.RFC3339Nano), "archived": false, "new": !exists,
		})
	}
	return results, 0, ""
}

func (f *Fake) createDeal(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Properties   map[string]string `json:"properties"`
		Associations []struct {
			To struct {
				ID string `json:"id"`
			} `json:"to"`
			Types []struct {
				Category string `json:"associationCategory"`
				TypeID   int    `json:"associationTypeId"`
			} `json:"types"`
		} `json:"associations"`
	}
	if !f.decode(w, r, &in) {
		return
	}
	if in.Properties["dealname"] == "" {
		f.error(w, http.StatusBadRequest, "VALIDATION_ERROR", "Property values were not valid: [{\"isValid\":false,\"message\":\"dealname is required\",\"error\":\"REQUIRED_PROPERTY\",\"name\":\"dealname\"}]", nil)
		return
	}
	f.mu.Lock()
	var contacts []string
	for _, a := range in.Associations {
		if _, ok := f.contacts[a.To.ID]; !ok {
			f.mu.Unlock()
			f.error(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("No contact with ID %s exists", a.To.ID), nil)
			return
		}
		if len(a.Types) != 1 || a.Types[0].Category != "HUBSPOT_DEFINED" || a.Types[0].TypeID != 3 {
			f.mu.Unlock()
			f.error(w, http.StatusBadRequest, "VALIDATION_ERROR", "association type must be HUBSPOT_DEFINED 3 (deal to contact)", nil)
			return
		}
		contacts = append(contacts, a.To.ID)
	}
	f.nextID++
	id := strconv.Itoa(f.nextID)
	props := copyMap(in.Properties)
	props["hs_object_id"] = id
	f.deals[id] = &Deal{ID: id, Properties: props, Contacts: contacts}
	f.mu.Unlock()
	now := f.opts.Now().UTC().Format(time.RFC3339Nano)
	f.write(w, http.StatusCreated, map[string]any{"id": id, "properties": props, "createdAt": now, "updatedAt": now, "archived": false})
}

func (f *Fake) getDeal(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	d, ok := f.deals[r.PathValue("id")]
	var props map[string]string
	if ok {
		props = copyMap(d.Properties)
	}
	f.mu.Unlock()
	if !ok {
		f.error(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found", nil)
		return
	}
	f.write(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "properties": props, "archived": false})
}

func (f *Fake) upsertEvent(w http.ResponseWriter, r *http.Request) {
	var in map[string]any
	if !f.decode(w, r, &in) {
		return
	}
	acct, _ := in["externalAccountId"].(string)
	for _, k := range []string{"externalAccountId", "eventName", "eventOrganizer"} {
		if s, _ := in[k].(string); s == "" {
			f.error(w, http.StatusBadRequest, "VALIDATION_ERROR", k+" is required", nil)
			return
		}
	}
	ext := r.PathValue("ext")
	f.mu.Lock()
	e, ok := f.events[acct+"/"+ext]
	if !ok {
		e = &MarketingEvent{ExternalAccountID: acct, ExternalEventID: ext}
		f.events[acct+"/"+ext] = e
	}
	e.Body = in
	e.Cancelled, _ = in["eventCancelled"].(bool)
	f.nextID++
	out := copyAny(in)
	out["id"] = strconv.Itoa(f.nextID)
	out["externalEventId"] = ext
	f.mu.Unlock()
	f.write(w, http.StatusOK, out)
}

func (f *Fake) cancelEvent(w http.ResponseWriter, r *http.Request) {
	acct := r.URL.Query().Get("externalAccountId")
	f.mu.Lock()
	e, ok := f.events[acct+"/"+r.PathValue("ext")]
	if ok {
		e.Cancelled = true
	}
	f.mu.Unlock()
	if !ok {
		f.error(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "Marketing event not found", nil)
		return
	}
	f.write(w, http.StatusOK, map[string]any{"externalEventId": r.PathValue("ext"), "eventCancelled": true})
}

func (f *Fake) recordAttendance(w http.ResponseWriter, r *http.Request) {
	state := r.PathValue("state")
	if state != "register" && state != "attend" && state != "cancel" {
		f.error(w, http.StatusBadRequest, "VALIDATION_ERROR", "subscriberState must be one of register, attend, cancel", nil)
		return
	}
	acct := r.URL.Query().Get("externalAccountId")
	var in struct {
		Inputs []struct {
			Email               string `json:"email"`
			InteractionDateTime int64  `json:"interactionDateTime"`
		} `json:"inputs"`
	}
	if !f.decode(w, r, &in) {
		return
	}
	key := acct + "/" + r.PathValue("ext")
	f.mu.Lock()
	if _, ok := f.events[key]; !ok {
		f.mu.Unlock()
		f.error(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "Marketing event not found", nil)
		return
	}
	var results []map[string]any
	for _, i := range in.Inputs {
		email := strings.ToLower(i.Email)
		id, ok := f.byEmail[email]
		if !ok {
			f.nextID++
			id = strconv.Itoa(f.nextID)
			f.contacts[id] = &Contact{ID: id, Properties: map[string]string{"email": email}, Created: f.opts.Now()}
			f.byEmail[email] = id
		}
		f.attendance[key] = append(f.attendance[key], Participation{Email: email, State: state, At: i.InteractionDateTime})
		results = append(results, map[string]any{"email": email, "vid": atoi(id)})
	}
	f.mu.Unlock()
	now := f.opts.Now().UTC().Format(time.RFC3339Nano)
	f.write(w, http.StatusOK, map[string]any{"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now})
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func copyAny(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
