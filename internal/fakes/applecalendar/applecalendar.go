// Package applecalendar serves a real CalDAV server in process: the
// protocol is github.com/emersion/go-webdav's caldav.Handler (discovery
// by PROPFIND current-user-principal → calendar-home-set → calendars,
// REPORT, GET/PUT/DELETE with If-None-Match / If-Match preconditions,
// 412 when one fails), over an in-memory store of one account guarded by
// HTTP Basic, as iCloud's caldav.icloud.com is (Apple ID + app-specific
// password; 401 with WWW-Authenticate otherwise). Requests are recorded,
// and failures (status, Retry-After) can be injected for tests.
package applecalendar

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
)

// Request is one request the server received.
type Request struct {
	Method, Path string
	IfMatch      string
	IfNoneMatch  string
	Body         []byte
	Status       int
}

// Object is a stored calendar object.
type Object struct {
	Path string
	ETag string
	Data []byte
	Cal  *ical.Calendar
}

type failure struct {
	method, pathPrefix string
	left, status       int
	retryAfter         string
}

// Server is one CalDAV account.
type Server struct {
	Username, Password string
	// Calendars are collection paths → display names.
	Calendars map[string]string

	mu       sync.Mutex
	objects  map[string]Object
	requests []Request
	fails    []*failure
	handler  http.Handler
}

// Home is the calendar home of the account; Principal its principal
// (go-webdav's server places them by depth: principal, home, calendar,
// object).
const (
	Principal = "/123456789/"
	Home      = "/123456789/calendars/"
)

// New returns a server for one account with a "Home" and a "Work" calendar.
func New(username, password string) *Server {
	s := &Server{Username: username, Password: password, objects: map[string]Object{},
		Calendars: map[string]string{Home + "home/": "Home", Home + "work/": "Work"}}
	s.handler = &caldav.Handler{Backend: backend{s}}
	return s
}

// ServeHTTP checks HTTP Basic, applies injected failures, records the
// request and serves CalDAV.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := Request{Method: r.Method, Path: r.URL.Path, IfMatch: r.Header.Get("If-Match"), IfNoneMatch: r.Header.Get("If-None-Match"), Body: body}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		rec.Status = sw.status
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		s.mu.Unlock()
	}()
	u, p, ok := r.BasicAuth()
	if !ok || u != s.Username || p != s.Password {
		sw.Header().Set("WWW-Authenticate", `Basic realm="Authorization Required"`)
		http.Error(sw, "Unauthorized", http.StatusUnauthorized)
		return
	}
	if f := s.takeFailure(r.Method, r.URL.Path); f != nil {
		if f.retryAfter != "" {
			sw.Header().Set("Retry-After", f.retryAfter)
		}
		http.Error(sw, http.StatusText(f.status), f.status)
		return
	}
	s.handler.ServeHTTP(sw, r)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// Fail makes the next n requests with method under pathPrefix answer status
// (with Retry-After when retryAfter is not empty).
func (s *Server) Fail(method, pathPrefix string, n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails = append(s.fails, &failure{method: method, pathPrefix: pathPrefix, left: n, status: status, retryAfter: retryAfter})
}

func (s *Server) takeFailure(method, path string) *failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.fails {
		if f.left > 0 && f.method == method && strings.HasPrefix(path, f.pathPrefix) {
			f.left--
			return f
		}
	}
	return nil
}

// Requests returns the recorded requests.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Object returns the object at path.
func (s *Server) Object(path string) (Object, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[path]
	return o, ok
}

// Objects returns the objects under a calendar path.
func (s *Server) Objects(calendarPath string) []Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Object
	for p, o := range s.objects {
		if strings.HasPrefix(p, calendarPath) {
			out = append(out, o)
		}
	}
	return out
}

// Touch changes an object as a device would (a new ETag), so the next
// If-Match write with the old ETag fails with 412.
func (s *Server) Touch(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.objects[path]; ok {
		o.ETag = etag(append(o.Data, []byte(time.Now().String())...))
		s.objects[path] = o
	}
}

func etag(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// backend is caldav.Backend over the server's memory.
type backend struct{ s *Server }

func (b backend) CurrentUserPrincipal(context.Context) (string, error) { return Principal, nil }
func (b backend) CalendarHomeSetPath(context.Context) (string, error)  { return Home, nil }

func (b backend) CreateCalendar(context.Context, *caldav.Calendar) error {
	return webdav.NewHTTPError(http.StatusForbidden, fmt.Errorf("calendars are fixed"))
}

func (b backend) ListCalendars(context.Context) ([]caldav.Calendar, error) {
	var out []caldav.Calendar
	for p, n := range b.s.Calendars {
		out = append(out, caldav.Calendar{Path: p, Name: n, SupportedComponentSet: []string{ical.CompEvent}})
	}
	return out, nil
}

func (b backend) GetCalendar(_ context.Context, path string) (*caldav.Calendar, error) {
	if n, ok := b.s.Calendars[path]; ok {
		return &caldav.Calendar{Path: path, Name: n, SupportedComponentSet: []string{ical.CompEvent}}, nil
	}
	return nil, webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("no calendar %s", path))
}

func (b backend) toObject(o Object) caldav.CalendarObject {
	return caldav.CalendarObject{Path: o.Path, ETag: o.ETag, Data: o.Cal, ContentLength: int64(len(o.Data)), ModTime: time.Now()}
}

func (b backend) GetCalendarObject(_ context.Context, path string, _ *caldav.CalendarCompRequest) (*caldav.CalendarObject, error) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	o, ok := b.s.objects[path]
	if !ok {
		return nil, webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("no object %s", path))
	}
	co := b.toObject(o)
	return &co, nil
}

func (b backend) ListCalendarObjects(_ context.Context, path string, _ *caldav.CalendarCompRequest) ([]caldav.CalendarObject, error) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	var out []caldav.CalendarObject
	for p, o := range b.s.objects {
		if strings.HasPrefix(p, path) {
			out = append(out, b.toObject(o))
		}
	}
	return out, nil
}

func (b backend) QueryCalendarObjects(ctx context.Context, path string, q *caldav.CalendarQuery) ([]caldav.CalendarObject, error) {
	all, err := b.ListCalendarObjects(ctx, path, nil)
	if err != nil {
		return nil, err
	}
	return caldav.Filter(q, all)
}

// PutCalendarObject enforces If-None-Match: * (the object must not
// exist) and If-Match (the ETag must be current), as RFC 4791 servers do.
func (b backend) PutCalendarObject(_ context.Context, path string, cal *ical.Calendar, opts *caldav.PutCalendarObjectOptions) (*caldav.CalendarObject, error) {
	cpath := path[:strings.LastIndex(path, "/")+1]
	if _, ok := b.s.Calendars[cpath]; !ok {
		return nil, webdav.NewHTTPError(http.StatusConflict, fmt.Errorf("no calendar collection %s", cpath))
	}
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, webdav.NewHTTPError(http.StatusBadRequest, err)
	}
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	cur, exists := b.s.objects[path]
	if opts != nil && opts.IfNoneMatch.IsWildcard() && exists {
		return nil, webdav.NewHTTPError(http.StatusPreconditionFailed, fmt.Errorf("%s exists", path))
	}
	if opts != nil && opts.IfMatch.IsSet() {
		want, err := opts.IfMatch.ETag()
		if !exists || err != nil || (!opts.IfMatch.IsWildcard() && want != cur.ETag) {
			return nil, webdav.NewHTTPError(http.StatusPreconditionFailed, fmt.Errorf("%s changed", path))
		}
	}
	o := Object{Path: path, ETag: etag(buf.Bytes()), Data: buf.Bytes(), Cal: cal}
	b.s.objects[path] = o
	co := b.toObject(o)
	return &co, nil
}

func (b backend) DeleteCalendarObject(_ context.Context, path string) error {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	if _, ok := b.s.objects[path]; !ok {
		return webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("no object %s", path))
	}
	delete(b.s.objects, path)
	return nil
}
