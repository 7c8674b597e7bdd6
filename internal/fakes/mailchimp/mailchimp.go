// Package mailchimp is a fake of the Mailchimp Marketing API (3.0) and
// its OAuth metadata endpoint, speaking their wire format (an
// http.Handler; Mount puts it and the shared OAuth fake on a mux). Built
// from Mailchimp's published references (Marketing API reference, the
// "Access user data with OAuth 2" guide, the errors glossary and the
// batch-operations guide):
//
// OAuth: authorize GET https://login.mailchimp.com/oauth2/authorize
// (response_type=code, client_id, redirect_uri; Mailchimp has no scopes
// and no PKCE); token POST /oauth2/token with a form body (grant_type
// authorization_code, client_id, client_secret, redirect_uri, code) →
// {"access_token","expires_in":0,"scope":null}: tokens never expire and
// there is no refresh token and no revocation endpoint (a user removes the
// app in their Mailchimp account). Metadata GET /oauth2/metadata with
// "Authorization: OAuth <access token>" → {"dc":"us19","role","accountname",
// "user_id","login":{...},"login_url","api_endpoint":"https://us19.api.mailchimp.com"};
// every API call then goes to <api_endpoint>/3.0.
//
// Authentication of API calls: "Authorization: Bearer <token>" (OAuth
// tokens; "OAuth <token>" and HTTP Basic with the token as password are
// accepted as well). Missing → 401 "API Key Missing"; unknown or revoked
// → 401 "API Key Invalid".
//
// Errors are RFC 7807 problem documents (Content-Type
// application/problem+json): {"type":"https://mailchimp.com/developer/marketing/docs/errors/",
// "title","status","detail","instance"}; validation errors add
// "errors":[{"field","message"}]. Titles used: "Invalid Resource" (400,
// e.g. "… looks fake or invalid, please enter a real email address." or
// "Your merge fields were invalid."), "Member In Compliance State" (400:
// unsubscribed, bounced or under compliance review — Mailchimp will not
// re-add them), "Forgotten Email Not Subscribed" (400), "Resource Not
// Found" (404), "API Key Invalid" (401), "Forbidden" / "User Disabled" /
// "Wrong Datacenter" (403), "Too Many Requests" (429).
//
// Rate limits: Mailchimp limits concurrency, not a request rate: at most
// 10 simultaneous connections per user; the 11th answers 429 "Too Many
// Requests" ("You have exceeded the limit of 10 simultaneous
// connections."). No rate-limit headers and no Retry-After are sent. Under
// heavy load the throttle can also arrive as a bare 403 without a JSON body.
//
// Endpoints (under /3.0):
//
//	GET  /ping                                         {"health_status":"Everything's Chimpy!"}
//	GET  /lists/{list_id}                              {"id","web_id","name","double_optin","stats":{"member_count"},...}; 404 unknown
//	GET  /lists/{list_id}/merge-fields?count=&offset=  {"merge_fields":[{"merge_id","tag","name","type","required","default_value","public","display_order","list_id"}],"list_id","total_items"}
//	PUT  /lists/{list_id}/members/{subscriber_hash}    upsert; hash = md5(lower-cased email); body {"email_address","status_if_new","status"?,"merge_fields"?}
//	     → 200 member {"id","email_address","unique_email_id","status","merge_fields","tags_count","tags":[{"id","name"}],"list_id","last_changed"}
//	     status_if_new is used only when the member is new; status (when given) changes an existing member.
//	GET  /lists/{list_id}/members/{subscriber_hash}    the member; 404 unknown
//	POST /lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent → 204; 404 unknown member (then PUT answers 400 "Forgotten Email Not Subscribed")
//	POST /lists/{list_id}/members/{subscriber_hash}/tags  {"tags":[{"name","status":"active"|"inactive"}],"is_syncing"} → 204; 404 unknown member
//	POST /batches                                      {"operations":[{"method","path","params"?,"body":"<JSON string>","operation_id"}]}
//	     → 200 {"id","status":"pending","total_operations","finished_operations","errored_operations","submitted_at","completed_at","response_body_url":""}
//	GET  /batches/{batch_id}                           the batch; status pending → started → finished (then response_body_url is set)
//
// The batch results (response_body_url, a pre-signed S3 URL in production,
// /batch-results/{id}.tar.gz here) are a gzipped tar of JSON files, each an
// array of {"status_code","operation_id","response":"<JSON string>"}. The
// URL takes no Authorization header (S3 refuses a second auth mechanism
// with 400 InvalidArgument).
//
// Tests seed audiences (AddList, AddMergeField), inject failures (Fail),
// throttle (Throttle), refuse addresses (RefuseEmail), slow answers down
// (SetLatency) and inspect what arrived (Requests, Member, Batches,
// MaxInFlight).
package mailchimp

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aqio/connect/internal/fakes/fakekit"
)

// ErrorType is the "type" of every Mailchimp problem document.
const ErrorType = "https://mailchimp.com/developer/marketing/docs/errors/"

// MaxConnections is Mailchimp's limit of simultaneous connections.
const MaxConnections = 10

// Options configure the fake.
type Options struct {
	// DC is the data center (default "us19").
	DC string
	// APIEndpoint returns the api_endpoint the metadata call answers
	// (default https://<dc>.api.mailchimp.com); the API is under it + /3.0.
	APIEndpoint func() string
	// CheckToken accepts an access token (nil error). Default: tokens
	// added with AddToken.
	CheckToken func(token string) error
	// BatchPolls is how many GET /batches/{id} answer "started" before
	// "finished" (default 1).
	BatchPolls int
	Now        func() time.Time
}

// MergeField is an audience's merge field.
type MergeField struct {
	Tag      string
	Name     string
	Type     string // text, number, address, phone, date, birthday, …
	Required bool
}

// List is an audience.
type List struct {
	ID, Name    string
	DoubleOptIn bool
}

// Member is an audience member.
type Member struct {
	ID           string // subscriber hash
	Email        string
	Status       string
	MergeFields  map[string]any
	Tags         []string // active tags, sorted
	LastChanged  time.Time
	StatusIfNews []string // status_if_new of every upsert (inspection)
}

// Request is a request the fake received.
type Request = fakekit.Request

// Batch is a submitted batch operation.
type Batch struct {
	ID         string
	Operations int
	Errored    int
	polls      int
	results    []byte // tar.gz
	submitted  time.Time
}

type list struct {
	List
	fields  []MergeField
	members map[string]*Member // hash → member
}

// Fake is the Mailchimp fake.
type Fake struct {
	fakekit.RequestLog[Request]
	fakekit.Failures

	opts Options
	mux  *http.ServeMux

	mu          sync.Mutex
	tokens      map[string]bool
	lists       map[string]*list
	refused     map[string][2]string // email → title, detail
	throttle    int
	throttleSt  int
	latency     time.Duration
	inFlight    map[string]int
	maxInFlight int
	batches     map[string]*Batch
	batchOrder  []string
	seq         int
	prefix      string // mount prefix, for response_body_url
	deleted     []PermanentDelete
	forgotten   map[string]bool // list/hash permanently deleted
}

// PermanentDelete is one member permanently deleted
// (POST /lists/{list_id}/members/{hash}/actions/delete-permanent).
type PermanentDelete struct {
	ListID, Hash string
	Found        bool
}

// PermanentDeletes lists the permanent deletions received, in order.
func (f *Fake) PermanentDeletes() []PermanentDelete {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]PermanentDelete(nil), f.deleted...)
}

// deletePermanent removes a member for good: 204, 404 for an unknown
// member; afterwards the address is "forgotten" and PUT refuses it with
// 400 "Forgotten Email Not Subscribed" (only the person can re-subscribe
// through a signup form).
func (f *Fake) deletePermanent(w http.ResponseWriter, r *http.Request) {
	l := f.list(w, r)
	if l == nil {
		return
	}
	hash := r.PathValue("hash")
	f.mu.Lock()
	_, found := l.members[hash]
	delete(l.members, hash)
	f.deleted = append(f.deleted, PermanentDelete{ListID: l.ID, Hash: hash, Found: found})
	if found {
		f.forgotten[l.ID+"/"+hash] = true
	}
	f.mu.Unlock()
	if !found {
		f.problem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.", nil)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// New returns an empty fake.
func New(opts Options) *Fake {
	if opts.DC == "" {
		opts.DC = "us19"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BatchPolls == 0 {
		opts.BatchPolls = 1
	}
	f := &Fake{opts: opts, mux: http.NewServeMux(), tokens: map[string]bool{}, lists: map[string]*list{},
		refused: map[string][2]string{}, inFlight: map[string]int{}, batches: map[string]*Batch{}, forgotten: map[string]bool{}}
	if f.opts.CheckToken == nil {
		f.opts.CheckToken = func(tok string) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !f.tokens[tok] {
				return errors.New("invalid token")
			}
			return nil
		}
	}
	f.mux.HandleFunc("GET /oauth2/metadata", f.metadata)
	f.mux.HandleFunc("GET /3.0/ping", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"health_status": "Everything's Chimpy!"})
	})
	f.mux.HandleFunc("GET /3.0/lists/{list}", f.getList)
	f.mux.HandleFunc("GET /3.0/lists/{list}/merge-fields", f.mergeFields)
	f.mux.HandleFunc("PUT /3.0/lists/{list}/members/{hash}", f.putMember)
	f.mux.HandleFunc("GET /3.0/lists/{list}/members/{hash}", f.getMember)
	f.mux.HandleFunc("POST /3.0/lists/{list}/members/{hash}/tags", f.postTags)
	f.mux.HandleFunc("POST /3.0/lists/{list}/members/{hash}/actions/delete-permanent", f.deletePermanent)
	f.mux.HandleFunc("POST /3.0/batches", f.postBatch)
	f.mux.HandleFunc("GET /3.0/batches/{id}", f.getBatch)
	f.mux.HandleFunc("GET /batch-results/{file}", f.batchResults)
	f.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.problem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.", nil)
	})
	return f
}

// SubscriberHash is Mailchimp's member id: the MD5 of the lower-cased email.
func SubscriberHash(email string) string {
	sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:])
}

// AddToken makes an access token valid (with the default CheckToken).
func (f *Fake) AddToken(tok string) { f.mu.Lock(); f.tokens[tok] = true; f.mu.Unlock() }

// AddList creates an audience with Mailchimp's default merge fields
// (FNAME, LNAME, ADDRESS, PHONE, BIRTHDAY).
func (f *Fake) AddList(l List) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists[l.ID] = &list{List: l, members: map[string]*Member{}, fields: []MergeField{
		{Tag: "FNAME", Name: "First Name", Type: "text"},
		{Tag: "LNAME", Name: "Last Name", Type: "text"},
		{Tag: "ADDRESS", Name: "Address", Type: "address"},
		{Tag: "PHONE", Name: "Phone Number", Type: "phone"},
		{Tag: "BIRTHDAY", Name: "Birthday", Type: "birthday"},
	}}
}

// AddMergeField adds a merge field to an audience.
func (f *Fake) AddMergeField(listID string, m MergeField) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := f.lists[listID]; l != nil {
		l.fields = append(l.fields, m)
	}
}

// RefuseEmail makes every upsert of an address fail with a 400 problem
// of that title and detail (e.g. "Member In Compliance State").
func (f *Fake) RefuseEmail(email, title, detail string) {
	f.mu.Lock()
	f.refused[strings.ToLower(email)] = [2]string{title, detail}
	f.mu.Unlock()
}

// SetMemberStatus changes a member's status (a user unsubscribing in Mailchimp).
func (f *Fake) SetMemberStatus(listID, email, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := f.lists[listID]; l != nil {
		if m := l.members[SubscriberHash(email)]; m != nil {
			m.Status = status
		}
	}
}

// Throttle makes the next n API requests answer as Mailchimp's throttle
// does: status 429 (the problem document) or 403 (bare: no body).
func (f *Fake) Throttle(n, status int) {
	f.mu.Lock()
	f.throttle, f.throttleSt = n, status
	f.mu.Unlock()
}

// SetLatency delays every API answer (so concurrency becomes visible).
func (f *Fake) SetLatency(d time.Duration) { f.mu.Lock(); f.latency = d; f.mu.Unlock() }

// MaxInFlight is the most simultaneous API requests of one token seen.
func (f *Fake) MaxInFlight() int { f.mu.Lock(); defer f.mu.Unlock(); return f.maxInFlight }

// Member returns an audience member by email.
func (f *Fake) Member(listID, email string) (Member, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.lists[listID]
	if l == nil {
		return Member{}, false
	}
	m := l.members[SubscriberHash(email)]
	if m == nil {
		return Member{}, false
	}
	c := *m
	c.MergeFields = copyAny(m.MergeFields)
	c.Tags = append([]string(nil), m.Tags...)
	c.StatusIfNews = append([]string(nil), m.StatusIfNews...)
	return c, true
}

// Members counts an audience's members.
func (f *Fake) Members(listID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := f.lists[listID]; l != nil {
		return len(l.members)
	}
	return 0
}

// FinishBatches makes every batch submitted so far report finished.
func (f *Fake) FinishBatches() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.batches {
		b.polls = f.opts.BatchPolls
	}
}

// Batches lists the submitted batches, oldest first.
func (f *Fake) Batches() []Batch {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Batch, 0, len(f.batchOrder))
	for _, id := range f.batchOrder {
		out = append(out, *f.batches[id])
	}
	return out
}

// ServeHTTP records the request, authenticates it and serves it.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.Record(r.Method, r.URL.Path, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Authorization: r.Header.Get("Authorization"), Body: body, At: f.opts.Now()})
	if strings.HasPrefix(r.URL.Path, "/batch-results/") || r.URL.Path == "/oauth2/metadata" {
		f.mux.ServeHTTP(w, r) // S3 and the login server authenticate differently
		return
	}
	tok, ok := apiToken(r)
	if !ok {
		f.problem(w, http.StatusUnauthorized, "API Key Missing", "Your request did not include an API key.", nil)
		return
	}
	if err := f.opts.CheckToken(tok); err != nil {
		f.problem(w, http.StatusUnauthorized, "API Key Invalid", "Your API key may be invalid, or you've attempted to access the wrong datacenter.", nil)
		return
	}
	f.mu.Lock()
	f.inFlight[tok]++
	n, latency := f.inFlight[tok], f.latency
	f.maxInFlight = max(f.maxInFlight, n)
	throttled := 0
	if f.throttle > 0 {
		f.throttle--
		throttled = f.throttleSt
	}
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.inFlight[tok]--; f.mu.Unlock() }()
	if latency > 0 {
		time.Sleep(latency)
	}
	switch {
	case throttled == http.StatusForbidden:
		w.WriteHeader(http.StatusForbidden) // bare: no body
		return
	case throttled != 0 || n > MaxConnections:
		f.problem(w, http.StatusTooManyRequests, "Too Many Requests", "You have exceeded the limit of 10 simultaneous connections.", nil)
		return
	}
	if fl := f.TakeFailure(r.Method, r.URL.Path, body); fl != nil {
		if fl.Body != "" {
			w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
			w.WriteHeader(fl.Status)
			_, _ = io.WriteString(w, fl.Body)
			return
		}
		f.problem(w, fl.Status, http.StatusText(fl.Status), "Injected failure.", nil)
		return
	}
	f.mux.ServeHTTP(w, r)
}

func apiToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	for _, p := range []string{"Bearer ", "OAuth "} {
		if t, ok := strings.CutPrefix(h, p); ok && t != "" {
			return t, true
		}
	}
	if _, pw, ok := r.BasicAuth(); ok && pw != "" {
		return pw, true
	}
	return "", false
}

func (f *Fake) instance() string {
	f.mu.Lock()
	f.seq++
	n := f.seq
	f.mu.Unlock()
	return fmt.Sprintf("3b4dcb40-0b6b-4820-bfaa-%012d", n)
}

// problem writes a Mailchimp problem document.
func (f *Fake) problem(w http.ResponseWriter, status int, title, detail string, errs []map[string]string) {
	b := map[string]any{"type": ErrorType, "title": title, "status": status, "detail": detail, "instance": f.instance()}
	if errs != nil {
		b["errors"] = errs
	}
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// metadata is login.mailchimp.com/oauth2/metadata: "Authorization: OAuth <token>".
func (f *Fake) metadata(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "OAuth ")
	if !ok || tok == "" || f.opts.CheckToken(tok) != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_token", "error_description": "Invalid token"})
		return
	}
	api := "https://" + f.opts.DC + ".api.mailchimp.com"
	if f.opts.APIEndpoint != nil {
		api = f.opts.APIEndpoint()
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"dc": f.opts.DC, "role": "owner", "accountname": "Aqio Test Account", "user_id": 48213377,
		"login":     map[string]any{"email": "owner@aqio.test", "avatar": nil, "login_id": 48213377, "login_name": "aqio-owner", "login_email": "owner@aqio.test"},
		"login_url": "https://login.mailchimp.com", "api_endpoint": api,
	})
}

func (f *Fake) list(w http.ResponseWriter, r *http.Request) *list {
	f.mu.Lock()
	l := f.lists[r.PathValue("list")]
	f.mu.Unlock()
	if l == nil {
		f.problem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.", nil)
	}
	return l
}

func (f *Fake) getList(w http.ResponseWriter, r *http.Request) {
	l := f.list(w, r)
	if l == nil {
		return
	}
	f.mu.Lock()
	n := len(l.members)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"id": l.ID, "web_id": 391, "name": l.Name, "double_optin": l.DoubleOptIn, "email_type_option": false,
		"permission_reminder": "You signed up at an Aqio event.", "visibility": "prv",
		"stats": map[string]any{"member_count": n}, "date_created": "2026-01-05T10:00:00+00:00",
	})
}

func (f *Fake) mergeFields(w http.ResponseWriter, r *http.Request) {
	l := f.list(w, r)
	if l == nil {
		return
	}
	count, offset := 10, 0
	if c, err := strconv.Atoi(r.URL.Query().Get("count")); err == nil && c > 0 {
		count = min(c, 1000)
	}
	if o, err := strconv.Atoi(r.URL.Query().Get("offset")); err == nil && o > 0 {
		offset = o
	}
	f.mu.Lock()
	fields := append([]MergeField(nil), l.fields...)
	f.mu.Unlock()
	out := []map[string]any{}
	for i := offset; i < len(fields) && i < offset+count; i++ {
		m := fields[i]
		out = append(out, map[string]any{"merge_id": i + 1, "tag": m.Tag, "name": m.Name, "type": m.Type, "required": m.Required,
			"default_value": "", "public": true, "display_order": i + 2, "options": map[string]any{}, "help_text": "", "list_id": l.ID})
	}
	writeJSON(w, http.StatusOK, map[string]any{"merge_fields": out, "list_id": l.ID, "total_items": len(fields)})
}

var memberStatuses = map[string]bool{"subscribed": true, "unsubscribed": true, "cleaned": true, "pending": true, "transactional": true}

// fakeEmail is what Mailchimp refuses as "looks fake or invalid".
var realEmail = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[a-z]{2,}$`)

func (f *Fake) putMember(w http.ResponseWriter, r *http.Request) {
	l := f.list(w, r)
	if l == nil {
		return
	}
	var in struct {
		Email       string         `json:"email_address"`
		StatusIfNew string         `json:"status_if_new"`
		Status      string         `json:"status"`
		MergeFields map[string]any `json:"merge_fields"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.problem(w, http.StatusBadRequest, "JSON Parse Error", "We encountered an unspecified JSON parsing error.", nil)
		return
	}
	f.mu.Lock()
	forgotten := f.forgotten[l.ID+"/"+r.PathValue("hash")]
	f.mu.Unlock()
	if forgotten {
		f.problem(w, http.StatusBadRequest, "Forgotten Email Not Subscribed",
			in.Email+" was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.", nil)
		return
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	switch {
	case email == "":
		f.problem(w, http.StatusBadRequest, "Invalid Resource", "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
			[]map[string]string{{"field": "email_address", "message": "This value should not be blank."}})
		return
	case SubscriberHash(email) != r.PathValue("hash"):
		f.problem(w, http.StatusBadRequest, "Invalid Resource", "The subscriber hash in the URL does not match the email_address.", nil)
		return
	case !realEmail.MatchString(email):
		f.problem(w, http.StatusBadRequest, "Invalid Resource", email+" looks fake or invalid, please enter a real email address.", nil)
		return
	case in.StatusIfNew != "" && !memberStatuses[in.StatusIfNew]:
		f.problem(w, http.StatusBadRequest, "Invalid Resource", "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
			[]map[string]string{{"field": "status_if_new", "message": "Schema describes enum, got \"" + in.StatusIfNew + "\" instead"}})
		return
	}
	f.mu.Lock()
	refused, isRefused := f.refused[email]
	f.mu.Unlock()
	if isRefused {
		f.problem(w, http.StatusBadRequest, refused[0], refused[1], nil)
		return
	}
	f.mu.Lock()
	known := map[string]MergeField{}
	for _, m := range l.fields {
		known[m.Tag] = m
	}
	var bad []map[string]string
	for k := range in.MergeFields {
		if _, ok := known[k]; !ok {
			bad = append(bad, map[string]string{"field": k, "message": "This merge field does not exist in the audience."})
		}
	}
	m := l.members[r.PathValue("hash")]
	if m == nil {
		if in.StatusIfNew == "" && in.Status == "" {
			f.mu.Unlock()
			f.problem(w, http.StatusBadRequest, "Invalid Resource", "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
				[]map[string]string{{"field": "status_if_new", "message": "Required when the member is new."}})
			return
		}
		for _, mf := range l.fields {
			if v, ok := in.MergeFields[mf.Tag]; mf.Required && (!ok || v == "") {
				bad = append(bad, map[string]string{"field": mf.Tag, "message": "Please enter a value"})
			}
		}
	}
	if len(bad) > 0 {
		f.mu.Unlock()
		sort.Slice(bad, func(i, j int) bool { return bad[i]["field"] < bad[j]["field"] })
		f.problem(w, http.StatusBadRequest, "Invalid Resource", "Your merge fields were invalid.", bad)
		return
	}
	now := f.opts.Now().UTC()
	if m == nil {
		status := in.StatusIfNew
		if in.Status != "" {
			status = in.Status
		}
		if status == "subscribed" && l.DoubleOptIn && in.Status == "" {
			status = "pending"
		}
		m = &Member{ID: r.PathValue("hash"), Email: email, Status: status, MergeFields: map[string]any{}}
		l.members[m.ID] = m
	} else if in.Status != "" {
		if (m.Status == "unsubscribed" || m.Status == "cleaned") && in.Status == "subscribed" {
			f.mu.Unlock()
			f.problem(w, http.StatusBadRequest, "Member In Compliance State", email+" is already a list member in compliance state due to unsubscribe, bounce, or compliance review.", nil)
			return
		}
		m.Status = in.Status
	}
	m.StatusIfNews = append(m.StatusIfNews, in.StatusIfNew)
	for k, v := range in.MergeFields {
		m.MergeFields[k] = v
	}
	m.LastChanged = now
	out := memberJSON(l.ID, m)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// memberJSON renders a member; callers hold f.mu.
func memberJSON(listID string, m *Member) map[string]any {
	merge := map[string]any{}
	for k, v := range m.MergeFields {
		merge[k] = v
	}
	tags := []map[string]any{}
	for i, t := range m.Tags {
		tags = append(tags, map[string]any{"id": 1000 + i, "name": t})
	}
	return map[string]any{"id": m.ID, "email_address": m.Email, "unique_email_id": m.ID[:10], "contact_id": m.ID[10:20],
		"email_type": "html", "status": m.Status, "merge_fields": merge, "tags_count": len(m.Tags), "tags": tags,
		"list_id": listID, "last_changed": m.LastChanged.Format("2006-01-02T15:04:05+00:00")}
}

func (f *Fake) getMember(w http.ResponseWriter, r *http.Request) {
	l := f.list(w, r)
	if l == nil {
		return
	}
	f.mu.Lock()
	m := l.members[r.PathValue("hash")]
	var out map[string]any
	if m != nil {
		out = memberJSON(l.ID, m)
	}
	f.mu.Unlock()
	if m == nil {
		f.problem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.", nil)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *Fake) postTags(w http.ResponseWriter, r *http.Request) {
	l := f.list(w, r)
	if l == nil {
		return
	}
	var in struct {
		Tags []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"tags"`
		IsSyncing bool `json:"is_syncing"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Tags == nil {
		f.problem(w, http.StatusBadRequest, "Invalid Resource", "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
			[]map[string]string{{"field": "tags", "message": "Required property tags not found"}})
		return
	}
	for _, t := range in.Tags {
		if t.Name == "" || len(t.Name) > 100 || (t.Status != "active" && t.Status != "inactive") {
			f.problem(w, http.StatusBadRequest, "Invalid Resource", "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
				[]map[string]string{{"field": "tags", "message": "Each tag needs a name of at most 100 characters and status active or inactive."}})
			return
		}
	}
	f.mu.Lock()
	m := l.members[r.PathValue("hash")]
	if m == nil {
		f.mu.Unlock()
		f.problem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.", nil)
		return
	}
	set := map[string]bool{}
	for _, t := range m.Tags {
		set[t] = true
	}
	for _, t := range in.Tags {
		set[t.Name] = t.Status == "active"
	}
	m.Tags = m.Tags[:0]
	for t, on := range set {
		if on {
			m.Tags = append(m.Tags, t)
		}
	}
	sort.Strings(m.Tags)
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

type operation struct {
	Method      string            `json:"method"`
	Path        string            `json:"path"`
	Params      map[string]string `json:"params"`
	Body        string            `json:"body"`
	OperationID string            `json:"operation_id"`
}

// postBatch runs the operations at once (as the same token) and reports
// the batch unfinished for Options.BatchPolls polls.
func (f *Fake) postBatch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Operations []operation `json:"operations"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.Operations) == 0 {
		f.problem(w, http.StatusBadRequest, "Invalid Resource", "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
			[]map[string]string{{"field": "operations", "message": "Required property operations not found"}})
		return
	}
	type result struct {
		StatusCode  int    `json:"status_code"`
		OperationID string `json:"operation_id"`
		Response    string `json:"response"`
	}
	var results []result
	errored := 0
	for _, op := range in.Operations {
		u := "/3.0" + op.Path
		if len(op.Params) > 0 {
			q := make([]string, 0, len(op.Params))
			for k, v := range op.Params {
				q = append(q, k+"="+v)
			}
			u += "?" + strings.Join(q, "&")
		}
		sub := httptest.NewRequest(op.Method, u, strings.NewReader(op.Body))
		sub.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		f.mux.ServeHTTP(rec, sub)
		if rec.Code >= 400 {
			errored++
		}
		results = append(results, result{StatusCode: rec.Code, OperationID: op.OperationID, Response: strings.TrimSpace(rec.Body.String())})
	}
	f.mu.Lock()
	f.seq++
	id := fmt.Sprintf("%010x", 0x5ac0ffee00+f.seq)
	f.mu.Unlock()
	// Mailchimp splits results over several JSON files in a folder.
	var files [][]byte
	for start := 0; start < len(results); start += 2 {
		b, _ := json.Marshal(results[start:min(start+2, len(results))])
		files = append(files, b)
	}
	archive, err := tarGz(id, files)
	if err != nil {
		f.problem(w, http.StatusInternalServerError, "Internal Server Error", err.Error(), nil)
		return
	}
	b := &Batch{ID: id, Operations: len(in.Operations), Errored: errored, results: archive, submitted: f.opts.Now().UTC()}
	f.mu.Lock()
	f.batches[id] = b
	f.batchOrder = append(f.batchOrder, id)
	out := f.batchJSON(r, b, "pending")
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func tarGz(id string, files [][]byte) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: id + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		return nil, err
	}
	for i, b := range files {
		sum := md5.Sum(append([]byte(id), byte(i)))
		if err := tw.WriteHeader(&tar.Header{Name: id + "/" + hex.EncodeToString(sum[:]) + ".json", Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(b); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// batchJSON renders a batch; callers hold f.mu.
func (f *Fake) batchJSON(r *http.Request, b *Batch, status string) map[string]any {
	out := map[string]any{"id": b.ID, "status": status, "total_operations": b.Operations, "finished_operations": 0,
		"errored_operations": 0, "submitted_at": b.submitted.Format("2006-01-02T15:04:05+00:00"), "completed_at": "", "response_body_url": ""}
	if status == "finished" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		// The results live beside the API (under the mount prefix).
		prefix := f.prefix
		out["finished_operations"] = b.Operations
		out["errored_operations"] = b.Errored
		out["completed_at"] = b.submitted.Add(time.Second).Format("2006-01-02T15:04:05+00:00")
		out["response_body_url"] = scheme + "://" + r.Host + prefix + "/batch-results/" + b.ID + ".tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=" + b.ID
	}
	return out
}

func (f *Fake) getBatch(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	b := f.batches[r.PathValue("id")]
	if b == nil {
		f.mu.Unlock()
		f.problem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.", nil)
		return
	}
	b.polls++
	status := "finished"
	if b.polls <= f.opts.BatchPolls {
		status = "started"
	}
	out := f.batchJSON(r, b, status)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// batchResults serves the results archive as S3 serves a pre-signed URL:
// no Authorization header allowed.
func (f *Fake) batchResults(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified</Message></Error>`)
		return
	}
	id := strings.TrimSuffix(r.PathValue("file"), ".tar.gz")
	f.mu.Lock()
	b := f.batches[id]
	f.mu.Unlock()
	if b == nil || r.URL.Query().Get("X-Amz-Signature") != id {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		return
	}
	w.Header().Set("Content-Type", "application/x-gzip")
	_, _ = w.Write(b.results)
}

func copyAny(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
