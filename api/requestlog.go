package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/ids"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/requestlog"
)

// bodyPolicy says why a route's bodies are not kept in the request log
// ("" keeps them, redacted): routes whose bodies carry credentials (keys,
// webhook secrets and destination auth, provider credentials, the key
// ring), routes whose bodies carry personal data (event payloads and
// the attempts that deliver them, privacy requests, the log itself), and
// every route not in keepBodies.
func bodyPolicy(method, route string) string {
	switch {
	case strings.HasPrefix(route, "/api/api-keys"),
		strings.HasPrefix(route, "/api/admin/"),
		route == "/api/webhooks" && method == http.MethodPost,
		route == "/api/webhooks/:id" && method != http.MethodGet,
		route == "/api/webhooks/:id/secret", route == "/api/webhooks/:id/rotate-secret",
		route == "/api/integrations/:type/connect", route == "/api/integrations/:type/authorize",
		route == "/api/integrations/:id" && method != http.MethodGet,
		strings.HasPrefix(route, "/api/integrations/:id/feed"), // the feed URL's token
		route == "/api/listen/sessions":                        // answers with the session webhook's secret
		return requestlog.OmitSecret
	case strings.HasPrefix(route, "/api/events"),
		strings.HasPrefix(route, "/api/privacy/"),
		strings.HasPrefix(route, "/api/webhooks/:id/deliveries"),
		strings.HasPrefix(route, "/api/request-logs"),
		route == "/api/webhooks/filter-preview", // a sample event
		strings.HasPrefix(route, "/api/integrations/:id/syncs"), strings.HasPrefix(route, "/api/integrations/:id/activity"),
		strings.HasPrefix(route, "/api/integrations/:id/links"), // per-record errors and mapped records
		strings.HasPrefix(route, "/api/listen/sessions/:id"):    // the stream and the answers carry deliveries
		return requestlog.OmitPersonal
	}
	if keepBodies[method+" "+route] {
		return ""
	}
	// A route not listed is assumed to carry secrets until someone looks:
	// a new route never leaks its bodies into the log by default.
	return requestlog.OmitSecret
}

// keepBodies are the routes whose bodies are kept (redacted): known to
// carry neither credentials nor personal data.
var keepBodies = map[string]bool{
	"GET /api/event-types": true, "GET /api/whoami": true, "GET /api/organizations/:id": true,
	"GET /api/webhooks": true, "GET /api/webhooks/:id": true, "DELETE /api/webhooks/:id": true,
	"GET /api/webhooks/:id/test": true, "POST /api/webhooks/:id/test": true, "GET /api/webhooks/:id/stats": true,
	"POST /api/webhooks/:id/recover": true, "GET /api/webhooks/:id/recoveries/:recovery_id": true,
	"GET /api/usage": true, "GET /api/usage/series": true, "GET /api/audit-log": true,
	"GET /api/integrations": true, "GET /api/integrations/providers": true, "GET /api/integrations/:id": true,
	"DELETE /api/integrations/:id": true, "POST /api/integrations/:id/refresh": true, "POST /api/integrations/:id/sync": true,
	"POST /api/integrations/:id/syncs/:sync_id/retry": true, "POST /api/integrations/:id/pushes/:push_id/retry": true,
}

// recordRequests hands every authenticated API call (and every refused
// API key of a known organization) to the request log's recorder. The
// request path pays for a capped copy of the bodies it may keep and one
// append; parsing, redaction and the write happen in the recorder's batch.
func (s *Server) recordRequests(next echo.HandlerFunc) echo.HandlerFunc {
	rec := s.deps.RequestLog
	if rec == nil {
		return next
	}
	return func(c echo.Context) error {
		route := c.Path()
		if !strings.HasPrefix(route, "/api/") || publicPaths[route] {
			return next(c)
		}
		start := time.Now()
		req := c.Request()
		path := req.URL.RequestURI() // as called: the validator adds query defaults later
		omit := bodyPolicy(req.Method, route)
		var reqBody *capped
		if omit == "" && req.Body != nil && req.Body != http.NoBody {
			reqBody = &capped{}
			req.Body = &teeBody{ReadCloser: req.Body, to: reqBody}
		}
		resp := c.Response()
		// A posted event's answer is read for its id (the link), never kept.
		postsEvent := route == "/api/events" && req.Method == http.MethodPost
		respBody := &capturingWriter{ResponseWriter: resp.Writer, resp: resp, all: omit == "" || postsEvent}
		resp.Writer = respBody
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		resp.Writer = respBody.ResponseWriter

		p := principal(c)
		call := requestlog.Call{
			OrganizationID: p.OrganizationID, Auth: string(p.Method), APIKeyID: p.CredentialID, UserID: p.UserID,
		}
		var refused *headerError
		if p.Method == "" && errors.As(err, &refused) && refused.key != nil {
			call.OrganizationID, call.Auth, call.APIKeyID = deref(refused.key.OrganizationID), string(AuthAPIKey), refused.key.ID
			if refused.key.UserID != nil {
				call.UserID = *refused.key.UserID
			}
		}
		if call.OrganizationID == "" || (p.Method == AuthServiceToken && !s.deps.RequestLogServiceToken) {
			return nil
		}
		call.ID = ids.New("rql")
		call.At, call.Duration = start, time.Since(start)
		call.Method, call.Route, call.Path, call.Status = req.Method, route, path, resp.Status
		call.RequestID = resp.Header().Get(echo.HeaderXRequestID)
		if ip := clientIP(req, s.deps.TrustedProxies); ip.IsValid() {
			call.ClientIP = ip.String()
		}
		call.Omit = omit
		if reqBody != nil {
			call.RequestBody = reqBody.Bytes()
		}
		call.ResponseBody = respBody.buf.Bytes()
		if names := c.ParamNames(); len(names) > 0 {
			call.Params = make(map[string]string, len(names))
			for i, v := range c.ParamValues() {
				if i < len(names) {
					call.Params[names[i]] = v
				}
			}
		}
		rec.Add(call)
		return nil
	}
}

// capped keeps the first MaxBodyBytes+1 bytes written to it (one more
// than is kept, so a longer body is seen as truncated), in one allocation
// when the body comes in one write (as the API's JSON answers do).
type capped struct{ b []byte }

func (c *capped) keep(p []byte) {
	room := requestlog.MaxBodyBytes + 1 - len(c.b)
	if room <= 0 {
		return
	}
	if len(p) > room {
		p = p[:room]
	}
	if c.b == nil {
		c.b = make([]byte, 0, len(p))
	}
	c.b = append(c.b, p...)
}

// Bytes is what was kept.
func (c *capped) Bytes() []byte { return c.b }

type teeBody struct {
	io.ReadCloser
	to *capped
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if n > 0 {
		t.to.keep(p[:n])
	}
	return n, err
}

// capturingWriter copies the response body: always when all is set,
// otherwise only an error answer (its code is logged, never a secret).
type capturingWriter struct {
	http.ResponseWriter
	resp *echo.Response
	all  bool
	buf  capped
}

func (w *capturingWriter) Write(p []byte) (int, error) {
	if w.all || w.resp.Status >= 400 {
		w.buf.keep(p)
	}
	return w.ResponseWriter.Write(p)
}

func (w *capturingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *capturingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestLogView is an entry as the API shows it.
type requestLogView struct {
	ID             string    `json:"id"`
	OccurredAt     time.Time `json:"occurred_at"`
	Method         string    `json:"method"`
	Route          string    `json:"route"`
	Path           string    `json:"path"`
	Status         int       `json:"status"`
	DurationMS     float64   `json:"duration_ms"`
	OrganizationID string    `json:"organization_id"`
	Auth           string    `json:"auth"`
	APIKeyID       *string   `json:"api_key_id"`
	UserID         *string   `json:"user_id"`
	ClientIP       *string   `json:"client_ip"`
	RequestID      *string   `json:"request_id"`
	ErrorCode      *string   `json:"error_code"`
}

func viewRequestLog(r models.RequestLog) requestLogView {
	return requestLogView{
		ID: r.ID, OccurredAt: r.OccurredAt.UTC(), Method: r.Method, Route: r.Route, Path: r.Path, Status: r.Status,
		DurationMS: float64(r.DurationUS) / 1000, OrganizationID: r.OrganizationID, Auth: r.Auth,
		APIKeyID: r.APIKeyID, UserID: r.UserID, ClientIP: r.ClientIP, RequestID: r.RequestID, ErrorCode: r.ErrorCode,
	}
}

func (s *Server) listRequestLogs(c echo.Context) error {
	q := c.QueryParams()
	f := requestlog.Filter{
		OrganizationID: principal(c).OrganizationID, APIKeyID: q.Get("key_id"), UserID: q.Get("user_id"),
		Method: q.Get("method"), PathPrefix: q.Get("path"), RequestID: q.Get("request_id"), Cursor: q.Get("cursor"),
	}
	if v := q.Get("status"); v != "" {
		exact, class, ok := requestlog.ParseStatus(v)
		if !ok {
			return queryError("status", "status must be an HTTP status (404) or a class (4xx)")
		}
		f.Status, f.StatusClass = exact, class
	}
	if f.PathPrefix != "" && !strings.HasPrefix(f.PathPrefix, "/") {
		return queryError("path", "path must be a path prefix starting with / (e.g. /api/webhooks)")
	}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return queryError(name, name+" must be an RFC 3339 time")
			}
			*dst = t
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return queryError("since", "since must be before until")
	}
	if v := q.Get("limit"); v != "" {
		f.Limit, _ = strconv.Atoi(v) // the OpenAPI document bounds it
	}
	rows, next, err := requestlog.List(c.Request().Context(), s.deps.Store.DB(), f)
	if errors.Is(err, requestlog.ErrBadCursor) {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_cursor", Field: "cursor", Message: "cursor is not one this API issued"}
	}
	if err != nil {
		return err
	}
	out := make([]requestLogView, len(rows))
	for i, r := range rows {
		out[i] = viewRequestLog(r)
	}
	var nc any
	if next != "" {
		nc = next
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out, "next_cursor": nc})
}

// queryError is a 400 naming a query parameter.
func queryError(param, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_parameter", Field: param, Message: "query parameter " + param + ": " + msg}
}

func (s *Server) getRequestLog(c echo.Context) error {
	ctx := c.Request().Context()
	org := principal(c).OrganizationID
	row, err := requestlog.Get(ctx, s.deps.Store.DB(), org, c.Param("id"))
	if errors.Is(err, requestlog.ErrNotFound) {
		return notFound("request log entry")
	}
	if err != nil {
		return err
	}
	links := map[string]any{}
	if row.Links != nil {
		_ = json.Unmarshal([]byte(*row.Links), &links)
	}
	audits, err := requestlog.AuditEntries(ctx, s.deps.Store.DB(), org, deref(row.RequestID))
	if err != nil {
		return err
	}
	links["audit_entries"] = audits
	return c.JSON(http.StatusOK, struct {
		requestLogView
		RequestBody           *string        `json:"request_body"`
		RequestBodyTruncated  bool           `json:"request_body_truncated"`
		ResponseBody          *string        `json:"response_body"`
		ResponseBodyTruncated bool           `json:"response_body_truncated"`
		BodyOmitted           *string        `json:"body_omitted"`
		Links                 map[string]any `json:"links"`
	}{viewRequestLog(row), row.RequestBody, row.RequestBodyTruncated, row.ResponseBody, row.ResponseBodyTruncated,
		row.BodyOmitted, links})
}

func (s *Server) registerRequestLogRoutes(e *echo.Echo) {
	e.GET("/api/request-logs", s.listRequestLogs)
	e.GET("/api/request-logs/:id", s.getRequestLog)
}
