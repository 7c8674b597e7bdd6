// Package teamschannel is a fake of a Microsoft Teams **Workflows**
// webhook (the Power Automate "When a Teams webhook request is received"
// trigger that replaced Office 365 connector webhooks), at its wire
// format, as an http.Handler. Built from Microsoft's Teams platform
// documentation (Create and send messages with Workflows; Adaptive Card
// format) and Azure Logic Apps' request-trigger behaviour:
//
// A workflow URL carries its own signature; there is no Authorization
// header:
//
//	POST /workflows/{workflow id}/triggers/manual/paths/invoke?api-version=…&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=…
//	Content-Type: application/json
//	{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",
//	  "contentUrl":null,"content":{"$schema":"http://adaptivecards.io/schemas/adaptive-card.json",
//	  "type":"AdaptiveCard","version":"1.4","body":[…],"actions":[…]}}]}
//
// answers 202 Accepted with an empty body and the run id in
// x-ms-workflow-run-id (the flow posts the card to its channel
// asynchronously). Only Adaptive Cards are accepted (the old
// MessageCard format is not). Errors are {"error":{"code","message"}}:
// 400 MissingApiVersionParameter, 400 TriggerInputSchemaMismatch (no
// Adaptive Card attachment), 401 DirectApiInvalidAuthorizationSignature
// (wrong sig), 404 WorkflowNotFound (the flow was deleted), 429
// WorkflowRequestsThrottled with Retry-After (seconds).
//
// Tests add and delete workflows (AddWorkflow, DeleteWorkflow), inject
// failures (Fail), force 429s (ThrottleNext) and inspect what arrived
// (Cards, Requests).
package teamschannel

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// Card is an Adaptive Card a workflow received.
type Card struct {
	WorkflowID string
	RunID      string
	Content    map[string]any
}

// Text joins the card's TextBlock texts (for assertions).
func (c Card) Text() string {
	var out []string
	body, _ := c.Content["body"].([]any)
	for _, b := range body {
		if m, ok := b.(map[string]any); ok && m["type"] == "TextBlock" {
			s, _ := m["text"].(string)
			out = append(out, s)
		}
	}
	return strings.Join(out, "\n")
}

// Request is a request the fake received.
type Request struct {
	Method, Path string
	Status       int
	Body         []byte
}

type workflow struct {
	sig     string
	deleted bool
}

// Fake is the Workflows webhook fake.
type Fake struct {
	// Base is the public URL the fake is mounted at.
	Base func() string

	mu        sync.Mutex
	workflows map[string]*workflow
	cards     []Card
	requests  []Request
	fail      []failure
	throttle  int
	retry     int
	runs      int
}

type failure struct {
	status int
	body   string
}

// New returns an empty fake.
func New(base func() string) *Fake { return &Fake{Base: base, workflows: map[string]*workflow{}} }

// Mount serves the fake below prefix on mux.
func Mount(mux *http.ServeMux, prefix string, server func() string) *Fake {
	f := New(func() string { return server() + prefix })
	mux.Handle(prefix+"/workflows/", http.StripPrefix(prefix, f))
	return f
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// AddWorkflow creates a workflow and returns its webhook URL.
func (f *Fake) AddWorkflow() (id, webhookURL string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, sig := random(16), random(22)
	f.workflows[id] = &workflow{sig: sig}
	q := url.Values{"api-version": {"1"}, "sp": {"/triggers/manual/run"}, "sv": {"1.0"}, "sig": {sig}}
	return id, f.Base() + "/workflows/" + id + "/triggers/manual/paths/invoke?" + q.Encode()
}

// DeleteWorkflow deletes a workflow (its owner removed the flow).
func (f *Fake) DeleteWorkflow(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if w, ok := f.workflows[id]; ok {
		w.deleted = true
	}
}

// Fail makes the next request answer status with body.
func (f *Fake) Fail(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = append(f.fail, failure{status, body})
}

// ThrottleNext makes the next n requests answer 429 with Retry-After seconds.
func (f *Fake) ThrottleNext(n, retryAfter int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle, f.retry = n, retryAfter
}

// Cards lists the cards a workflow received, oldest first.
func (f *Fake) Cards(workflowID string) []Card {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Card
	for _, c := range f.cards {
		if c.WorkflowID == workflowID {
			out = append(out, c)
		}
	}
	return out
}

// Requests lists the requests received, oldest first.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec := &recorder{ResponseWriter: w, status: 200}
	f.serve(rec, r, body)
	f.mu.Lock()
	f.requests = append(f.requests, Request{Method: r.Method, Path: r.URL.Path, Status: rec.status, Body: body})
	f.mu.Unlock()
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(s int) { r.status = s; r.ResponseWriter.WriteHeader(s) }

func (f *Fake) serve(w http.ResponseWriter, r *http.Request, body []byte) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 6 || parts[0] != "workflows" || strings.Join(parts[2:], "/") != "triggers/manual/paths/invoke" {
		writeErr(w, http.StatusNotFound, "NotFound", "The requested resource was not found.")
		return
	}
	q := r.URL.Query()
	if q.Get("api-version") == "" {
		writeErr(w, http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	}
	f.mu.Lock()
	if f.throttle > 0 {
		f.throttle--
		retry := f.retry
		f.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		writeErr(w, http.StatusTooManyRequests, "WorkflowRequestsThrottled", "The workflow's request rate exceeded the limit; retry after the interval in Retry-After.")
		return
	}
	if len(f.fail) > 0 {
		fl := f.fail[0]
		f.fail = f.fail[1:]
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(fl.status)
		_, _ = io.WriteString(w, fl.body)
		return
	}
	wf, ok := f.workflows[parts[1]]
	f.mu.Unlock()
	switch {
	case !ok || wf.deleted:
		writeErr(w, http.StatusNotFound, "WorkflowNotFound", "The workflow '"+parts[1]+"' could not be found.")
		return
	case q.Get("sig") != wf.sig:
		writeErr(w, http.StatusUnauthorized, "DirectApiInvalidAuthorizationSignature", "The provided authorization signature is not valid for the workflow request.")
		return
	case r.Method != http.MethodPost:
		writeErr(w, http.StatusMethodNotAllowed, "TriggerRequestMethodNotValid", "The HTTP method for this request is not valid: expected 'POST'.")
		return
	}
	var in struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string         `json:"contentType"`
			Content     map[string]any `json:"content"`
		} `json:"attachments"`
	}
	_ = json.Unmarshal(body, &in)
	var cards []map[string]any
	for _, a := range in.Attachments {
		if a.ContentType == "application/vnd.microsoft.card.adaptive" && a.Content["type"] == "AdaptiveCard" {
			cards = append(cards, a.Content)
		}
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || in.Type != "message" || len(cards) == 0 {
		writeErr(w, http.StatusBadRequest, "TriggerInputSchemaMismatch", "The input body for trigger 'manual' of type 'Request' did not match its schema definition: an Adaptive Card attachment is required.")
		return
	}
	f.mu.Lock()
	f.runs++
	run := "08584" + strconv.Itoa(100000+f.runs) + "CU" + random(4)
	for _, c := range cards {
		f.cards = append(f.cards, Card{WorkflowID: parts[1], RunID: run, Content: c})
	}
	f.mu.Unlock()
	w.Header().Set("x-ms-workflow-run-id", run)
	w.Header().Set("x-ms-workflow-name", parts[1])
	w.WriteHeader(http.StatusAccepted)
}
