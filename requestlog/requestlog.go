// Package requestlog keeps the API request log: one row per API call made
// with an API key or a user token (and the service token where configured),
// for debugging — method, route, status, latency, credential, client
// address, request id, error code and, where they hold no secret, the
// bodies. Calls are buffered in memory and written in batches by a
// Recorder, off the request path, into the Postgres app database or, on
// SQLite, a file of the log's own (store.go); the log is diagnostic, not
// durable accepted data: a crash loses at most the batch not yet written.
package requestlog

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/aqio/connect/models"
)

// MaxBodyBytes is how much of each body is kept.
const MaxBodyBytes = 8 << 10

// Omission reasons (body_omitted).
const (
	OmitSecret   = "secret_route"
	OmitPersonal = "personal_data"
	OmitNotJSON  = "not_json"
)

// Call is what the API hands the recorder for one request. Bodies are the
// raw captured bytes (at most MaxBodyBytes+1); redaction and the error
// code are worked out when the batch is written, not on the request path.
type Call struct {
	ID             string
	OrganizationID string
	At             time.Time
	Method         string
	Route          string // OpenAPI path syntax
	Path           string
	Status         int
	Duration       time.Duration
	Auth           string
	APIKeyID       string
	UserID         string
	ClientIP       string
	RequestID      string
	Omit           string // why bodies are not kept ("" = keep)
	RequestBody    []byte
	ResponseBody   []byte // for an omitted route, only an error answer's body (for its code)
	Params         map[string]string
}

// Recorder buffers calls and writes them every Interval.
type Recorder struct {
	// DB is the app database (the log's own file is found with For).
	DB       *gorm.DB
	Interval time.Duration
	// MaxPending bounds the buffer (default 20,000 calls): when the
	// database falls behind, the oldest calls are dropped and counted;
	// Add never blocks.
	MaxPending int
	Logger     *slog.Logger

	mu      sync.Mutex
	pending []Call
	dropped int64 // since the last flush's warning
	// droppedTotal counts every call dropped (the
	// aqio_request_log_dropped_total metric).
	droppedTotal atomic.Int64
	stop         chan struct{}
	done         chan struct{}
}

// Add buffers one call (cheap: one append under a mutex).
func (r *Recorder) Add(c Call) {
	r.mu.Lock()
	limit := r.MaxPending
	if limit <= 0 {
		limit = 20000
	}
	if len(r.pending) >= limit {
		r.pending = r.pending[1:]
		r.dropped++
		r.droppedTotal.Add(1)
	}
	r.pending = append(r.pending, c)
	r.mu.Unlock()
}

// Dropped reports how many calls were dropped since the start because the
// buffer was full.
func (r *Recorder) Dropped() int64 { return r.droppedTotal.Load() }

// Pending reports how many calls wait to be written.
func (r *Recorder) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// Flush writes what was buffered so far. On a database error the batch is
// put back for the next flush (within MaxPending).
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	batch := r.pending
	r.pending = make([]Call, 0, len(batch)) // about as many calls until the next flush
	dropped := r.dropped
	r.dropped = 0
	r.mu.Unlock()
	if dropped > 0 && r.Logger != nil {
		r.Logger.Warn("request log: buffer full, oldest calls dropped", "dropped", dropped)
	}
	if len(batch) == 0 {
		return nil
	}
	rows := make([]models.RequestLog, len(batch))
	for i, c := range batch {
		rows[i] = Row(c)
	}
	// In the log's own SQLite file (store.go) the batch is one transaction
	// of single-row inserts of one prepared statement (insertAll). In the
	// app database (Postgres) one statement per 100 rows (one round trip),
	// each its own commit, so no lock is held for the whole batch.
	// A batch put back after a failure may be partly written: rows already
	// there are skipped (ids are unique), so retrying writes each once.
	var err error
	if o := lookup(r.DB); o != nil {
		err = insertAll(ctx, o.db.SQL(), rows)
	} else {
		err = r.DB.WithContext(ctx).Session(&gorm.Session{SkipDefaultTransaction: true}).
			Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, 100).Error
	}
	if err != nil {
		r.mu.Lock()
		r.pending = append(batch, r.pending...)
		if limit := r.MaxPending; limit > 0 && len(r.pending) > limit {
			r.droppedTotal.Add(int64(len(r.pending) - limit))
			r.pending = r.pending[len(r.pending)-limit:]
		}
		r.mu.Unlock()
		return fmt.Errorf("write request log: %w", err)
	}
	return nil
}

// Start flushes every Interval (default 1 s) until Close.
func (r *Recorder) Start() {
	if r.Interval <= 0 {
		r.Interval = time.Second
	}
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.done)
		t := time.NewTicker(r.Interval)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if err := r.Flush(ctx); err != nil && r.Logger != nil {
					r.Logger.Warn("flush request log", "err", err)
				}
				cancel()
			}
		}
	}()
}

// Close stops the loop and writes what is left.
func (r *Recorder) Close(ctx context.Context) error {
	if r.stop != nil {
		close(r.stop)
		<-r.done
		r.stop = nil
	}
	return r.Flush(ctx)
}

// Row turns a call into its stored form: bodies redacted and capped, the
// error code read from an error answer, links from the route's parameters.
func Row(c Call) models.RequestLog {
	row := models.RequestLog{
		ID: c.ID, OrganizationID: c.OrganizationID, OccurredAt: c.At.UTC(), Method: c.Method,
		Route: openAPIPath(c.Route), Path: truncate(c.Path, 2000), Status: c.Status, DurationUS: c.Duration.Microseconds(),
		Auth: c.Auth, APIKeyID: nullable(c.APIKeyID), UserID: nullable(c.UserID), ClientIP: nullable(c.ClientIP),
		RequestID: nullable(c.RequestID),
	}
	if c.Status >= 400 {
		row.ErrorCode = nullable(errorCode(c.ResponseBody))
	}
	links := linksFrom(c)
	if c.Omit != "" {
		row.BodyOmitted = &c.Omit
	} else {
		var reqNotJSON, respNotJSON bool
		row.RequestBody, row.RequestBodyTruncated, reqNotJSON = redactBody(c.RequestBody)
		row.ResponseBody, row.ResponseBodyTruncated, respNotJSON = redactBody(c.ResponseBody)
		if reqNotJSON || respNotJSON {
			omit := OmitNotJSON
			row.BodyOmitted = &omit
		}
	}
	if len(links) > 0 {
		b, _ := json.Marshal(links)
		s := string(b)
		row.Links = &s
	}
	return row
}

// openAPIPath turns an echo route (/api/webhooks/:id) into the API
// document's syntax (/api/webhooks/{id}).
func openAPIPath(route string) string {
	if !strings.Contains(route, ":") {
		return route
	}
	parts := strings.Split(route, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// linksFrom names what the call acted on, from its path parameters.
func linksFrom(c Call) map[string]string {
	out := map[string]string{}
	id := c.Params["id"]
	switch {
	case id == "":
	case strings.HasPrefix(c.Route, "/api/webhooks/"):
		out["webhook_id"] = id
	case strings.HasPrefix(c.Route, "/api/integrations/"):
		out["integration_id"] = id
	case strings.HasPrefix(c.Route, "/api/api-keys/"):
		out["api_key_id"] = id
	case strings.HasPrefix(c.Route, "/api/events/"):
		out["event_id"] = id
	}
	if d := c.Params["delivery_id"]; d != "" {
		out["delivery_id"] = d
	}
	if c.Route == "/api/events" && c.Method == "POST" && c.Status < 300 {
		var ev struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(c.ResponseBody, &ev) == nil && ev.ID != "" {
			out["event_id"] = truncate(ev.ID, 200)
		}
	}
	return out
}

// errorCode is error.code of an answer in the API's error shape.
func errorCode(body []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return truncate(e.Error.Code, 100)
}

// redactBody is the body as kept: JSON only, with secret fields replaced,
// at most MaxBodyBytes after redaction. A body longer than MaxBodyBytes is
// not kept (truncated reports it): cut JSON cannot be parsed, so its
// secret fields could not be found. notJSON reports a body that is not JSON.
func redactBody(b []byte) (kept *string, truncated, notJSON bool) {
	if len(b) == 0 {
		return nil, false, false
	}
	cut := len(b) > MaxBodyBytes
	if !cut && !mayNameSecret(b) {
		// No field can be a secret's: kept as it came, compacted (which
		// also checks it is JSON), without decoding and encoding it.
		var out bytes.Buffer
		out.Grow(len(b))
		if err := json.Compact(&out, b); err != nil {
			return nil, false, true
		}
		s := out.String()
		return &s, false, false
	}
	var v any
	if !cut {
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, false, true
		}
		out, _ := json.Marshal(redact(v))
		if len(out) > MaxBodyBytes {
			out, cut = out[:MaxBodyBytes], true
		}
		s := string(out)
		return &s, cut, false
	}
	// Too long to parse as a whole: keep nothing rather than risk a
	// secret whose field name lies beyond the cut.
	return nil, true, false
}

// secretNameParts are what every name SecretField accepts contains, in
// lower case.
var secretNameParts = [][]byte{[]byte("key"), []byte("secret"), []byte("token"), []byte("password"), []byte("passphrase"),
	[]byte("authorization"), []byte("cookie"), []byte("credential"), []byte("code_verifier"), []byte("signature")}

// mayNameSecret reports whether a body could hold a field SecretField
// accepts: it contains one of their names anywhere (in any case), or a
// \u escape, which could spell one.
func mayNameSecret(b []byte) bool {
	if bytes.Contains(b, []byte(`\u`)) {
		return true
	}
	lower := bytes.ToLower(b)
	for _, part := range secretNameParts {
		if bytes.Contains(lower, part) {
			return true
		}
	}
	return false
}

// Redact replaces the values of secret fields (at any depth) with
// "[redacted]".
func Redact(v any) any { return redact(v) }

func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if SecretField(k) {
				t[k] = "[redacted]"
				continue
			}
			t[k] = redact(val)
		}
		return t
	case []any:
		for i := range t {
			t[i] = redact(t[i])
		}
		return t
	}
	return v
}

// SecretField reports whether a JSON field name is one whose value is a
// credential.
func SecretField(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "key", "secret", "token", "password", "passphrase", "authorization", "cookie", "credential", "credentials",
		"code_verifier", "signature", "private_key", "client_secret", "api_key", "apikey":
		return true
	}
	for _, part := range []string{"secret", "token", "password", "api_key", "apikey", "private_key", "credential"} {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Filter narrows a listing of one organization's calls.
type Filter struct {
	OrganizationID string
	APIKeyID       string
	UserID         string
	// Status is an exact code, or StatusClass (1-5) a class.
	Status      int
	StatusClass int
	Method      string
	PathPrefix  string
	RequestID   string
	Since       time.Time
	Until       time.Time
	Limit       int
	Cursor      string
}

// ErrBadCursor is a cursor this service did not issue.
var ErrBadCursor = errors.New("invalid cursor")

// ErrNotFound is an entry that does not exist in the organization.
var ErrNotFound = errors.New("request log entry not found")

// ParseStatus reads "404" or "4xx".
func ParseStatus(s string) (exact, class int, ok bool) {
	if len(s) == 3 && (s[1:] == "xx" || s[1:] == "XX") && s[0] >= '1' && s[0] <= '5' {
		return 0, int(s[0] - '0'), true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 || len(s) != 3 {
		return 0, 0, false
	}
	return n, 0, true
}

// List returns a page of calls, newest first, and the next cursor ("" at
// the end). db is the app database (For finds the log's), as for Get and
// Purge.
func List(ctx context.Context, db *gorm.DB, f Filter) ([]models.RequestLog, string, error) {
	q := forReads(db).WithContext(ctx).Model(&models.RequestLog{}).
		Omit("request_body", "response_body").Where("organization_id = ?", f.OrganizationID)
	if f.APIKeyID != "" {
		q = q.Where("api_key_id = ?", f.APIKeyID)
	}
	if f.UserID != "" {
		q = q.Where("user_id = ?", f.UserID)
	}
	if f.Status != 0 {
		q = q.Where("status = ?", f.Status)
	}
	if f.StatusClass != 0 {
		q = q.Where("status >= ? AND status < ?", f.StatusClass*100, f.StatusClass*100+100)
	}
	if f.Method != "" {
		q = q.Where("method = ?", f.Method)
	}
	if f.PathPrefix != "" {
		// Prefix by range, not LIKE: no wildcard escaping, and the same on both databases.
		q = q.Where("path >= ? AND path < ?", f.PathPrefix, f.PathPrefix+"\U0010FFFF")
	}
	if f.RequestID != "" {
		q = q.Where("request_id = ?", f.RequestID)
	}
	if !f.Since.IsZero() {
		q = q.Where("occurred_at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("occurred_at < ?", f.Until.UTC())
	}
	if f.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		if err != nil || !strings.HasPrefix(string(raw), "rql_") {
			return nil, "", ErrBadCursor
		}
		q = q.Where("id < ?", string(raw))
	}
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	var rows []models.RequestLog
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list request log: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(rows[len(rows)-1].ID))
	}
	return rows, next, nil
}

// Get returns one call of the organization.
func Get(ctx context.Context, db *gorm.DB, orgID, id string) (models.RequestLog, error) {
	var row models.RequestLog
	err := forReads(db).WithContext(ctx).Where("organization_id = ? AND id = ?", orgID, id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, ErrNotFound
	}
	if err != nil {
		return row, fmt.Errorf("get request log %s: %w", id, err)
	}
	return row, nil
}

// AuditLink is an audit entry a call caused.
type AuditLink struct {
	ID     string `json:"id"`
	Action string `json:"action"`
}

// AuditEntries are the organization's audit entries with the call's
// request id (db: the app database, which holds the audit log).
func AuditEntries(ctx context.Context, db *gorm.DB, orgID, requestID string) ([]AuditLink, error) {
	out := []AuditLink{}
	if requestID == "" {
		return out, nil
	}
	err := db.WithContext(ctx).Model(&models.AuditEntry{}).Select("id, action").
		Where("organization_id = ? AND request_id = ?", orgID, requestID).Order("id").Limit(50).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("request log audit links: %w", err)
	}
	return out, nil
}

// Purge deletes calls older than before, in chunks, and reports how many.
func Purge(ctx context.Context, db *gorm.DB, before time.Time) (int64, error) {
	db = For(db)
	var total int64
	for {
		var ids []string
		if err := db.WithContext(ctx).Model(&models.RequestLog{}).Where("occurred_at < ?", before.UTC()).
			Order("occurred_at").Limit(1000).Pluck("id", &ids).Error; err != nil {
			return total, fmt.Errorf("purge request log: %w", err)
		}
		if len(ids) == 0 {
			return total, nil
		}
		res := db.WithContext(ctx).Where("id IN ?", ids).Delete(&models.RequestLog{})
		if res.Error != nil {
			return total, fmt.Errorf("purge request log: %w", res.Error)
		}
		total += res.RowsAffected
		if len(ids) < 1000 {
			return total, nil
		}
	}
}
