// Package salesforce is a fake of the Salesforce REST API that Aqio uses,
// speaking its wire format (an http.Handler under /services/data/vXX.X;
// Mount adds the authorization server). Built from Salesforce's published
// REST API Developer Guide:
//
// Authentication: "Authorization: Bearer <access token>". Tokens come from
// an External Client App: GET /services/oauth2/authorize (code flow, PKCE
// S256 required), POST /services/oauth2/token (form grant_type, code,
// redirect_uri, code_verifier, client_id, client_secret; refresh_token
// grant), answering {"access_token","refresh_token","signature","scope",
// "instance_url","id","token_type":"Bearer","issued_at"} — no expires_in:
// a session ends when the org's timeout says, and the API then answers
// 401 [{"message":"Session expired or invalid","errorCode":
// "INVALID_SESSION_ID"}]. A refresh answers a new access token (and a new
// refresh token only where the app rotates them). POST
// /services/oauth2/revoke (form token) revokes.
//
// Errors are arrays: [{"message","errorCode","fields":[…]}] (400
// INVALID_FIELD, REQUIRED_FIELD_MISSING, INVALID_EMAIL_ADDRESS,
// DUPLICATE_VALUE, MALFORMED_QUERY; 404 NOT_FOUND; 403
// REQUEST_LIMIT_EXCEEDED when the org's rolling 24-hour API request
// allocation is used up). Every answer carries
// "Sforce-Limit-Info: api-usage=<used>/<allocation>".
//
// Endpoints (below /services/data/v62.0):
//
//	GET   /sobjects/{SObject}/describe                   {"name","fields":[{"name","label","type","createable","updateable","externalId","unique"}]}
//	PATCH /sobjects/{SObject}/{ExternalIdField}/{value}  upsert: 201 {"id","success":true,"errors":[],"created":true};
//	                                                     200 {…,"created":false}; 300 ["/services/data/v62.0/sobjects/…/{id}",…] (several matches);
//	                                                     404 NOT_FOUND (not an external id field)
//	POST  /sobjects/{SObject}                            create: 201 {"id","success":true,"errors":[]}
//	PATCH /sobjects/{SObject}/{id}                       update: 204
//	GET   /query?q=SELECT Id FROM CampaignMember WHERE CampaignId = '…' AND ContactId|LeadId = '…'
//	                                                     {"totalSize","done":true,"records":[{"attributes":{"type","url"},"Id"}]}
//	GET   /query?q=SELECT Id, Name FROM Contact|Lead WHERE Email = '…'
//	GET   /query?q=SELECT Id FROM Opportunity WHERE LeadSource = 'Aqio' AND (ContactId = '…' OR Name LIKE '…' OR …)
//	                                                     (the erasure lookups; = on text is case-insensitive, LIKE knows % and _)
//	DELETE /sobjects/{SObject}/{id}                      204; unknown or deleted → 404 ENTITY_IS_DELETED (a Contact's or
//	                                                     Lead's CampaignMembers go with it; Salesforce keeps deleted records
//	                                                     in the Recycle Bin for 15 days, the fake drops them)
//	PATCH /composite/sobjects/{SObject}/{ExternalIdField} {"allOrNone":false,"records":[{"attributes":{"type"},…}]} (≤ 200)
//	                                                     200 [{"id","success","errors":[{"statusCode","message","fields"}],"created"}]
//
// Objects: Contact (LastName required), Lead (LastName, Company
// required), Campaign (Name), Opportunity (Name, StageName, CloseDate),
// CampaignMember (CampaignId and ContactId or LeadId, Status one of the
// campaign's CampaignMemberStatus labels — "Sent" and "Responded" exist
// on every campaign — unique per campaign and person), CampaignMemberStatus.
// Contact, Lead, Campaign and Opportunity carry the external id fields
// Aqio_Email__c / Aqio_Event_Id__c / Aqio_Payment_Id__c by default.
//
// Tests inject failures (Fail), exhaust the API allocation
// (SetAPIUsage), make an external id match several records (Duplicate),
// and inspect records and requests.
package salesforce

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Version is the API version the fake serves.
const Version = "v62.0"

// Field is an sObject field as describe reports it.
type Field struct {
	Name, Label, Type     string
	Createable, Updatable bool
	ExternalID, Unique    bool
	// Required: creating a record without it is REQUIRED_FIELD_MISSING.
	Required bool
}

// Record is a stored record.
type Record struct {
	Type   string
	ID     string
	Fields map[string]any
}

// Request is a request the fake received.
type Request struct {
	Method, Path, Query string
	Token               string
	Body                []byte
	Status              int
	At                  time.Time
}

// Options configure the fake.
type Options struct {
	// CheckToken reports whether an access token is valid (false: 401
	// INVALID_SESSION_ID). Default: every token is refused.
	CheckToken func(token string) bool
	// APIAllocation is the org's daily API request allocation (default 15000).
	APIAllocation int
	Now           func() time.Time
}

type failure struct {
	method, path string
	status       int
	body         string
	remaining    int
}

// Fake is the Salesforce REST API fake.
type Fake struct {
	opts Options
	mux  *http.ServeMux

	mu       sync.Mutex
	fields   map[string][]Field
	records  map[string]map[string]*Record // type → id → record
	dups     map[string]bool               // type/field/value forced to match twice
	seq      int
	used     int
	failures []*failure
	requests []Request
}

var prefixes = map[string]string{
	"Contact": "003", "Lead": "00Q", "Campaign": "701", "Opportunity": "006",
	"CampaignMember": "00v", "CampaignMemberStatus": "01Y", "Account": "001",
}

// New builds the fake with the standard fields of the objects Aqio uses.
func New(opts Options) *Fake {
	if opts.APIAllocation == 0 {
		opts.APIAllocation = 15000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CheckToken == nil {
		opts.CheckToken = func(string) bool { return false }
	}
	std := func(name, label, typ string) Field {
		return Field{Name: name, Label: label, Type: typ, Createable: true, Updatable: true}
	}
	ext := func(name, label string) Field {
		return Field{Name: name, Label: label, Type: "string", Createable: true, Updatable: true, ExternalID: true, Unique: true}
	}
	id := Field{Name: "Id", Label: "Record ID", Type: "id"}
	f := &Fake{opts: opts, records: map[string]map[string]*Record{}, dups: map[string]bool{}, seq: 1000}
	f.fields = map[string][]Field{
		"Contact": {id, std("FirstName", "First Name", "string"), {Name: "LastName", Label: "Last Name", Type: "string", Createable: true, Updatable: true, Required: true},
			std("Email", "Email", "email"), std("Phone", "Business Phone", "phone"), std("Title", "Title", "string"),
			std("Department", "Department", "string"), std("Description", "Contact Description", "textarea"),
			std("LeadSource", "Lead Source", "picklist"), ext("Aqio_Email__c", "Aqio Email"),
			{Name: "CreatedDate", Label: "Created Date", Type: "datetime"}},
		"Lead": {id, std("FirstName", "First Name", "string"), {Name: "LastName", Label: "Last Name", Type: "string", Createable: true, Updatable: true, Required: true},
			{Name: "Company", Label: "Company", Type: "string", Createable: true, Updatable: true, Required: true},
			std("Email", "Email", "email"), std("Phone", "Phone", "phone"), std("Title", "Title", "string"),
			std("LeadSource", "Lead Source", "picklist"), std("Description", "Description", "textarea"), ext("Aqio_Email__c", "Aqio Email")},
		"Campaign": {id, {Name: "Name", Label: "Name", Type: "string", Createable: true, Updatable: true, Required: true},
			std("StartDate", "Start Date", "date"), std("EndDate", "End Date", "date"), std("IsActive", "Active", "boolean"),
			std("Status", "Status", "picklist"), std("Type", "Type", "picklist"), std("Description", "Description", "textarea"),
			ext("Aqio_Event_Id__c", "Aqio Event ID")},
		"Opportunity": {id, {Name: "Name", Label: "Name", Type: "string", Createable: true, Updatable: true, Required: true},
			std("Amount", "Amount", "currency"), {Name: "CloseDate", Label: "Close Date", Type: "date", Createable: true, Updatable: true, Required: true},
			{Name: "StageName", Label: "Stage", Type: "picklist", Createable: true, Updatable: true, Required: true},
			std("CampaignId", "Campaign ID", "reference"), std("ContactId", "Contact ID", "reference"),
			std("LeadSource", "Lead Source", "picklist"), std("Description", "Description", "textarea"), ext("Aqio_Payment_Id__c", "Aqio Payment ID")},
		"CampaignMember": {id, {Name: "CampaignId", Label: "Campaign ID", Type: "reference", Createable: true, Required: true},
			{Name: "ContactId", Label: "Contact ID", Type: "reference", Createable: true}, {Name: "LeadId", Label: "Lead ID", Type: "reference", Createable: true},
			std("Status", "Status", "picklist")},
		"CampaignMemberStatus": {id, {Name: "CampaignId", Label: "Campaign ID", Type: "reference", Createable: true, Required: true},
			{Name: "Label", Label: "Member Status", Type: "string", Createable: true, Updatable: true, Required: true},
			std("HasResponded", "Responded", "boolean"), std("IsDefault", "Default", "boolean"), std("SortOrder", "Sort Order", "int")},
	}
	m := http.NewServeMux()
	base := "/services/data/" + Version
	m.HandleFunc("GET "+base+"/sobjects/{type}/describe", f.describe)
	m.HandleFunc("PATCH "+base+"/sobjects/{type}/{field}/{value}", f.upsert)
	m.HandleFunc("POST "+base+"/sobjects/{type}", f.create)
	m.HandleFunc("PATCH "+base+"/sobjects/{type}/{id}", f.update)
	m.HandleFunc("GET "+base+"/query", f.query)
	m.HandleFunc("DELETE "+base+"/sobjects/{type}/{id}", f.deleteRecord)
	m.HandleFunc("PATCH "+base+"/composite/sobjects/{type}/{field}", f.collectionUpsert)
	f.mux = m
	return f
}

// AddField adds a custom field to an object.
func (f *Fake) AddField(object string, fl Field) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl.Type == "" {
		fl.Type = "string"
	}
	fl.Createable, fl.Updatable = true, true
	f.fields[object] = append(f.fields[object], fl)
}

// Duplicate makes the external id value of an object match two records
// (an upsert then answers 300 Multiple Choices).
func (f *Fake) Duplicate(object, field, value string) {
	f.mu.Lock()
	f.dups[object+"/"+field+"/"+value] = true
	f.mu.Unlock()
}

// SetAPIUsage sets the requests used of the org's allocation (at the
// allocation, every request answers 403 REQUEST_LIMIT_EXCEEDED).
func (f *Fake) SetAPIUsage(n int) { f.mu.Lock(); f.used = n; f.mu.Unlock() }

// APIAllocation is the org's daily allocation.
func (f *Fake) APIAllocation() int { return f.opts.APIAllocation }

// Fail makes the next n requests matching method and path prefix (below
// /services/data/v62.0, e.g. "/sobjects/Contact") answer status and body.
func (f *Fake) Fail(method, pathPrefix string, n, status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, &failure{method: method, path: "/services/data/" + Version + pathPrefix, status: status, body: body, remaining: n})
}

// Requests returns the requests received so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Records lists an object's records, by id.
func (f *Fake) Records(object string) []Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Record
	for _, r := range f.records[object] {
		out = append(out, copyRecord(r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Find returns the records of an object whose field equals value.
func (f *Fake) Find(object, field string, value any) []Record {
	var out []Record
	for _, r := range f.Records(object) {
		if fmt.Sprint(r.Fields[field]) == fmt.Sprint(value) {
			out = append(out, r)
		}
	}
	return out
}

func copyRecord(r *Record) Record {
	c := Record{Type: r.Type, ID: r.ID, Fields: map[string]any{}}
	for k, v := range r.Fields {
		c.Fields[k] = v
	}
	return c
}

// SFError is one element of a Salesforce error array.
type SFError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string, fields ...string) {
	if fields == nil {
		fields = []string{}
	}
	writeJSON(w, status, []SFError{{Message: msg, ErrorCode: code, Fields: fields}})
}

// ServeHTTP records the request, checks the session and the API
// allocation, applies injected failures and serves the endpoint.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		f.mu.Lock()
		f.requests = append(f.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Token: tok, Body: body, Status: rec.status, At: f.opts.Now()})
		f.mu.Unlock()
	}()
	if tok == "" || !f.opts.CheckToken(tok) {
		writeError(rec, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
		return
	}
	f.mu.Lock()
	over := f.used >= f.opts.APIAllocation
	if !over {
		f.used++
	}
	rec.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", f.used, f.opts.APIAllocation))
	var fl *failure
	for _, x := range f.failures {
		if x.remaining > 0 && x.method == r.Method && strings.HasPrefix(r.URL.Path, x.path) {
			x.remaining--
			fl = x
			break
		}
	}
	f.mu.Unlock()
	if over {
		writeError(rec, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return
	}
	if fl != nil {
		rec.Header().Set("Content-Type", "application/json;charset=UTF-8")
		rec.WriteHeader(fl.status)
		_, _ = io.WriteString(rec, fl.body)
		return
	}
	f.mux.ServeHTTP(rec, r)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

func (f *Fake) describe(w http.ResponseWriter, r *http.Request) {
	typ := r.PathValue("type")
	f.mu.Lock()
	fields, ok := f.fields[typ]
	fields = append([]Field(nil), fields...)
	f.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	out := []map[string]any{}
	for _, fl := range fields {
		out = append(out, map[string]any{"name": fl.Name, "label": fl.Label, "type": fl.Type, "createable": fl.Createable,
			"updateable": fl.Updatable, "externalId": fl.ExternalID, "unique": fl.Unique, "nillable": !fl.Required})
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": typ, "label": typ, "createable": true, "updateable": true, "fields": out})
}

func (f *Fake) field(typ, name string) (Field, bool) {
	for _, fl := range f.fields[typ] {
		if strings.EqualFold(fl.Name, name) {
			return fl, true
		}
	}
	return Field{}, false
}

func (f *Fake) newID(typ string) string {
	f.seq++
	p := prefixes[typ]
	if p == "" {
		p = "a0X"
	}
	return fmt.Sprintf("%s5g%010dAAA", p, f.seq) // 18 characters, like Salesforce ids
}

func decodeObject(body io.Reader) (map[string]any, error) {
	dec := json.NewDecoder(body)
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("JSON_PARSER_ERROR")
	}
	return m, nil
}

// validate checks a record's fields (names, writability, formats) and,
// for a new record, the required ones; it returns a Salesforce error.
func (f *Fake) validate(typ string, in map[string]any, creating bool, existing map[string]any) *SFError {
	for k, v := range in {
		if k == "attributes" {
			continue
		}
		fl, ok := f.field(typ, k)
		if !ok {
			return &SFError{ErrorCode: "INVALID_FIELD", Message: fmt.Sprintf("No such column '%s' on sobject of type %s", k, typ), Fields: []string{}}
		}
		if (creating && !fl.Createable) || (!creating && !fl.Updatable) {
			return &SFError{ErrorCode: "INVALID_FIELD_FOR_INSERT_UPDATE", Message: fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", k), Fields: []string{k}}
		}
		if fl.Type == "email" {
			if s, _ := v.(string); s != "" {
				if a, err := mail.ParseAddress(s); err != nil || a.Address != s || !strings.Contains(s[strings.LastIndex(s, "@")+1:], ".") {
					return &SFError{ErrorCode: "INVALID_EMAIL_ADDRESS", Message: fmt.Sprintf("%s: invalid email address: %s", fl.Label, s), Fields: []string{fl.Name}}
				}
			}
		}
	}
	var missing []string
	for _, fl := range f.fields[typ] {
		if !fl.Required {
			continue
		}
		v, ok := in[fl.Name]
		if !ok && !creating {
			v, ok = existing[fl.Name]
		}
		if s, isStr := v.(string); !ok || v == nil || (isStr && strings.TrimSpace(s) == "") {
			missing = append(missing, fl.Name)
		}
	}
	if len(missing) > 0 {
		return &SFError{ErrorCode: "REQUIRED_FIELD_MISSING", Message: "Required fields are missing: [" + strings.Join(missing, ", ") + "]", Fields: missing}
	}
	return nil
}

// upsertResult is one UpsertResult (status 201/200) or an error.
type upsertResult struct {
	status  int
	id      string
	created bool
	err     *SFError
	matches []string
}

// upsertLocked upserts one record by external id; callers hold f.mu.
func (f *Fake) upsertLocked(typ, field, value string, in map[string]any) upsertResult {
	if _, ok := f.fields[typ]; !ok {
		return upsertResult{status: 404, err: &SFError{ErrorCode: "NOT_FOUND", Message: "The requested resource does not exist", Fields: []string{}}}
	}
	fl, ok := f.field(typ, field)
	if !ok || !fl.ExternalID {
		return upsertResult{status: 404, err: &SFError{ErrorCode: "NOT_FOUND", Message: "Provided external ID field does not exist or is not accessible: " + field, Fields: []string{}}}
	}
	delete(in, "attributes")
	if v, ok := in[fl.Name]; ok && fmt.Sprint(v) != value {
		return upsertResult{status: 400, err: &SFError{ErrorCode: "INVALID_FIELD", Message: fmt.Sprintf("The value for %s in the request body doesn't match the value in the URL", fl.Name), Fields: []string{fl.Name}}}
	}
	var match []*Record
	for _, r := range f.records[typ] {
		if fmt.Sprint(r.Fields[fl.Name]) == value {
			match = append(match, r)
		}
	}
	if f.dups[typ+"/"+fl.Name+"/"+value] {
		if len(match) == 0 {
			return upsertResult{status: 300, matches: []string{f.url(typ, f.newID(typ)), f.url(typ, f.newID(typ))}}
		}
		return upsertResult{status: 300, matches: []string{f.url(typ, match[0].ID), f.url(typ, f.newID(typ))}}
	}
	if len(match) == 0 {
		if e := f.validate(typ, in, true, nil); e != nil {
			return upsertResult{status: 400, err: e}
		}
		r := &Record{Type: typ, ID: f.newID(typ), Fields: map[string]any{fl.Name: value}}
		for k, v := range in {
			r.Fields[k] = plain(v)
		}
		if f.records[typ] == nil {
			f.records[typ] = map[string]*Record{}
		}
		f.records[typ][r.ID] = r
		return upsertResult{status: 201, id: r.ID, created: true}
	}
	r := match[0]
	if e := f.validate(typ, in, false, r.Fields); e != nil {
		return upsertResult{status: 400, err: e}
	}
	for k, v := range in {
		r.Fields[k] = plain(v)
	}
	return upsertResult{status: 200, id: r.ID}
}

func plain(v any) any {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i
		}
		x, _ := n.Float64()
		return x
	}
	return v
}

func (f *Fake) url(typ, id string) string {
	return "/services/data/" + Version + "/sobjects/" + typ + "/" + id
}

func (f *Fake) upsert(w http.ResponseWriter, r *http.Request) {
	in, err := decodeObject(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character: was expecting a JSON object")
		return
	}
	f.mu.Lock()
	res := f.upsertLocked(r.PathValue("type"), r.PathValue("field"), r.PathValue("value"), in)
	f.mu.Unlock()
	switch {
	case res.status == 300:
		writeJSON(w, http.StatusMultipleChoices, res.matches)
	case res.err != nil:
		writeJSON(w, res.status, []SFError{*res.err})
	default:
		writeJSON(w, res.status, map[string]any{"id": res.id, "success": true, "errors": []any{}, "created": res.created})
	}
}

func (f *Fake) create(w http.ResponseWriter, r *http.Request) {
	typ := r.PathValue("type")
	in, err := decodeObject(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character: was expecting a JSON object")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.fields[typ]; !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	if e := f.validate(typ, in, true, nil); e != nil {
		writeJSON(w, http.StatusBadRequest, []SFError{*e})
		return
	}
	switch typ {
	case "CampaignMember":
		if e := f.checkMember(in); e != nil {
			writeJSON(w, http.StatusBadRequest, []SFError{*e})
			return
		}
	case "CampaignMemberStatus":
		camp, _ := in["CampaignId"].(string)
		if _, ok := f.records["Campaign"][camp]; !ok {
			writeError(w, http.StatusBadRequest, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", "CampaignId")
			return
		}
		for _, l := range f.memberStatuses(camp) {
			if strings.EqualFold(l, fmt.Sprint(in["Label"])) {
				writeError(w, http.StatusBadRequest, "DUPLICATE_VALUE", "duplicate value found: Label duplicates value on record with id: "+camp, "Label")
				return
			}
		}
	}
	rec := &Record{Type: typ, ID: f.newID(typ), Fields: map[string]any{}}
	for k, v := range in {
		rec.Fields[k] = plain(v)
	}
	if typ == "CampaignMember" && rec.Fields["Status"] == nil {
		rec.Fields["Status"] = "Sent"
	}
	if f.records[typ] == nil {
		f.records[typ] = map[string]*Record{}
	}
	f.records[typ][rec.ID] = rec
	writeJSON(w, http.StatusCreated, map[string]any{"id": rec.ID, "success": true, "errors": []any{}})
}

// memberStatuses are a campaign's member status labels ("Sent" and
// "Responded" are created with every campaign).
func (f *Fake) memberStatuses(campaignID string) []string {
	out := []string{"Sent", "Responded"}
	for _, s := range f.records["CampaignMemberStatus"] {
		if s.Fields["CampaignId"] == campaignID {
			out = append(out, fmt.Sprint(s.Fields["Label"]))
		}
	}
	return out
}

func (f *Fake) checkStatus(campaignID string, status any) *SFError {
	if status == nil {
		return nil
	}
	for _, l := range f.memberStatuses(campaignID) {
		if l == fmt.Sprint(status) {
			return nil
		}
	}
	return &SFError{ErrorCode: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", Message: "Status: bad value for restricted picklist field: " + fmt.Sprint(status), Fields: []string{"Status"}}
}

func (f *Fake) checkMember(in map[string]any) *SFError {
	camp, _ := in["CampaignId"].(string)
	if _, ok := f.records["Campaign"][camp]; !ok {
		return &SFError{ErrorCode: "INVALID_CROSS_REFERENCE_KEY", Message: "invalid cross reference id", Fields: []string{"CampaignId"}}
	}
	who, key := "", ""
	for _, k := range []string{"ContactId", "LeadId"} {
		if v, _ := in[k].(string); v != "" {
			who, key = v, k
		}
	}
	obj := map[string]string{"ContactId": "Contact", "LeadId": "Lead"}[key]
	if _, ok := f.records[obj][who]; who == "" || !ok {
		return &SFError{ErrorCode: "REQUIRED_FIELD_MISSING", Message: "Required fields are missing: [ContactId, LeadId]", Fields: []string{"ContactId", "LeadId"}}
	}
	for _, m := range f.records["CampaignMember"] {
		if m.Fields["CampaignId"] == camp && m.Fields[key] == who {
			return &SFError{ErrorCode: "DUPLICATE_VALUE", Message: "Already a campaign member.", Fields: []string{}}
		}
	}
	return f.checkStatus(camp, in["Status"])
}

func (f *Fake) update(w http.ResponseWriter, r *http.Request) {
	typ, id := r.PathValue("type"), r.PathValue("id")
	in, err := decodeObject(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character: was expecting a JSON object")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rec, ok := f.records[typ][id]
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	if typ == "CampaignMember" {
		if e := f.checkStatus(fmt.Sprint(rec.Fields["CampaignId"]), in["Status"]); e != nil {
			writeJSON(w, http.StatusBadRequest, []SFError{*e})
			return
		}
	} else if e := f.validate(typ, in, false, rec.Fields); e != nil {
		writeJSON(w, http.StatusBadRequest, []SFError{*e})
		return
	}
	for k, v := range in {
		rec.Fields[k] = plain(v)
	}
	w.WriteHeader(http.StatusNoContent)
}

var memberQuery = regexp.MustCompile(`(?i)^SELECT\s+Id(?:\s*,\s*Status)?\s+FROM\s+CampaignMember\s+WHERE\s+CampaignId\s*=\s*'([A-Za-z0-9]{15,18})'\s+AND\s+(ContactId|LeadId)\s*=\s*'([A-Za-z0-9]{15,18})'\s*$`)

func (f *Fake) query(w http.ResponseWriter, r *http.Request) {
	m := memberQuery.FindStringSubmatch(strings.TrimSpace(r.URL.Query().Get("q")))
	if m == nil && f.erasureQuery(w, strings.TrimSpace(r.URL.Query().Get("q"))) {
		return
	}
	if m == nil {
		writeError(w, http.StatusBadRequest, "MALFORMED_QUERY", "unexpected token in query (the fake knows only the campaign member lookup)")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	recs := []map[string]any{}
	for _, rec := range f.records["CampaignMember"] {
		if rec.Fields["CampaignId"] == m[1] && rec.Fields[m[2]] == m[3] {
			recs = append(recs, map[string]any{"attributes": map[string]any{"type": "CampaignMember", "url": f.url("CampaignMember", rec.ID)},
				"Id": rec.ID, "Status": rec.Fields["Status"]})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"totalSize": len(recs), "done": true, "records": recs})
}

func (f *Fake) collectionUpsert(w http.ResponseWriter, r *http.Request) {
	typ, field := r.PathValue("type"), r.PathValue("field")
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	var in struct {
		AllOrNone bool             `json:"allOrNone"`
		Records   []map[string]any `json:"records"`
	}
	if err := dec.Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character: was expecting a JSON object")
		return
	}
	if len(in.Records) > 200 {
		writeError(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []map[string]any{}
	for _, rec := range in.Records {
		attrs, _ := rec["attributes"].(map[string]any)
		if attrs == nil || attrs["type"] != typ {
			out = append(out, map[string]any{"success": false, "errors": []map[string]any{{"statusCode": "INVALID_TYPE", "message": "attributes.type must be " + typ, "fields": []string{}}}})
			continue
		}
		value := fmt.Sprint(rec[field])
		if rec[field] == nil {
			out = append(out, map[string]any{"success": false, "errors": []map[string]any{{"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [" + field + "]", "fields": []string{field}}}})
			continue
		}
		body := map[string]any{}
		for k, v := range rec {
			if k != field {
				body[k] = v
			}
		}
		res := f.upsertLocked(typ, field, value, body)
		switch {
		case res.status == 300:
			out = append(out, map[string]any{"success": false, "errors": []map[string]any{{"statusCode": "DUPLICATE_EXTERNAL_ID", "message": fmt.Sprintf("%s: more than one record found for external id field: %v", field, res.matches), "fields": []string{field}}}})
		case res.err != nil:
			out = append(out, map[string]any{"success": false, "errors": []map[string]any{{"statusCode": res.err.ErrorCode, "message": res.err.Message, "fields": res.err.Fields}}})
		default:
			out = append(out, map[string]any{"id": res.id, "success": true, "errors": []any{}, "created": res.created})
		}
	}
	writeJSON(w, http.StatusOK, out)
}
