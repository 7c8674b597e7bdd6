// Package applecalendar is the Apple Calendar connector: CalDAV export to
// iCloud (or any CalDAV server) with an app-specific password, writing
// each Aqio event as one iCalendar object with a stable UID and a SEQUENCE
// bumped on every change. Discovery goes through
// github.com/emersion/go-webdav's CalDAV client; the writes are plain
// conditional PUT/DELETE requests (If-None-Match: * on create, If-Match
// on update) because that client sends no preconditions.
package applecalendar

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"

	"github.com/aqio/connect/providers"
)

// DefaultServer is iCloud's CalDAV host.
const DefaultServer = "https://caldav.icloud.com/"

// Client talks CalDAV to one account through the runtime's authenticated
// client (HTTP Basic with the Apple ID and app-specific password).
type Client struct {
	base *url.URL
	hc   *http.Client
	cd   *caldav.Client
	// classify reads a failed answer (the connector's Classify).
	classify func(*http.Response, []byte) *providers.Error
	last     *statusRecorder
}

// statusRecorder keeps the last failed answer of a library request so
// its error can be classified (go-webdav's errors are not exported).
type statusRecorder struct {
	hc   *http.Client
	resp *http.Response
	body []byte
}

func (s *statusRecorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, err
	}
	s.resp, s.body = nil, nil
	if resp.StatusCode >= 400 {
		b, _ := readSome(resp)
		s.resp, s.body = resp, b
		resp.Body = noBody(b)
	}
	return resp, nil
}

// NewClient returns a client for the CalDAV server at base.
func NewClient(base string, hc *http.Client, classify func(*http.Response, []byte) *providers.Error) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, &providers.SettingsError{Field: "credentials.server_url", Message: "must be an https:// CalDAV server URL"}
	}
	rec := &statusRecorder{hc: hc}
	cd, err := caldav.NewClient(rec, base)
	if err != nil {
		return nil, fmt.Errorf("caldav client: %w", err)
	}
	return &Client{base: u, hc: hc, cd: cd, classify: classify, last: rec}, nil
}

// libError turns a go-webdav error into a classified one.
func (c *Client) libError(what string, err error) error {
	if pe, ok := providers.AsError(err); ok {
		return pe
	}
	if c.last.resp != nil {
		if pe := c.classify(c.last.resp, c.last.body); pe != nil {
			pe.Message = strings.TrimSpace(what + ": " + pe.Message)
			return pe
		}
	}
	return &providers.Error{Provider: Type, Kind: providers.KindRetryable, Code: "caldav_error", Message: what + ": " + err.Error()}
}

// Calendar is a discovered calendar collection.
type Calendar struct {
	Path, Name string
}

// Discover finds the account's calendar collections that hold events:
// current-user-principal → calendar-home-set → the collections in it.
func (c *Client) Discover(ctx context.Context) ([]Calendar, error) {
	principal, err := c.cd.FindCurrentUserPrincipal(ctx)
	if err != nil {
		return nil, c.libError("find the principal", err)
	}
	home, err := c.cd.FindCalendarHomeSet(ctx, principal)
	if err != nil {
		return nil, c.libError("find the calendar home", err)
	}
	cals, err := c.cd.FindCalendars(ctx, home)
	if err != nil {
		return nil, c.libError("list calendars", err)
	}
	var out []Calendar
	for _, cal := range cals {
		if len(cal.SupportedComponentSet) > 0 && !contains(cal.SupportedComponentSet, "VEVENT") {
			continue
		}
		out = append(out, Calendar{Path: cal.Path, Name: cal.Name})
	}
	return out, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// ErrPrecondition is a 412: the object exists (create) or changed (update).
var ErrPrecondition = errors.New("caldav precondition failed")

// Put writes cal at path. etag "" creates (If-None-Match: *); otherwise
// it updates that version (If-Match). It returns the new ETag (may be ""
// when the server sends none).
func (c *Client) Put(ctx context.Context, path string, cal *ical.Calendar, etag string) (string, error) {
	body, err := Encode(cal)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.resolve(path), bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", ical.MIMEType+"; charset=utf-8")
	if etag == "" {
		req.Header.Set("If-None-Match", "*")
	} else {
		req.Header.Set("If-Match", etag)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", &providers.Error{Provider: Type, Kind: providers.KindRetryable, Code: "transport", Message: err.Error()}
	}
	b, _ := readSome(resp)
	if resp.StatusCode == http.StatusPreconditionFailed {
		return "", ErrPrecondition
	}
	if pe := c.classify(resp, b); pe != nil {
		return "", pe
	}
	return resp.Header.Get("ETag"), nil
}

// ETag reads the current ETag of path ("" and no error when it is gone).
func (c *Client) ETag(ctx context.Context, path string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.resolve(path), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", ical.MIMEType)
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", &providers.Error{Provider: Type, Kind: providers.KindRetryable, Code: "transport", Message: err.Error()}
	}
	b, _ := readSome(resp)
	if resp.StatusCode == http.StatusNotFound {
		return "", nil
	}
	if pe := c.classify(resp, b); pe != nil {
		return "", pe
	}
	return resp.Header.Get("ETag"), nil
}

// Delete removes path (If-Match etag when known); already gone is success.
func (c *Client) Delete(ctx context.Context, path, etag string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.resolve(path), nil)
	if err != nil {
		return err
	}
	if etag != "" {
		req.Header.Set("If-Match", etag)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return &providers.Error{Provider: Type, Kind: providers.KindRetryable, Code: "transport", Message: err.Error()}
	}
	b, _ := readSome(resp)
	switch resp.StatusCode {
	case http.StatusNotFound, http.StatusGone:
		return nil
	case http.StatusPreconditionFailed:
		return ErrPrecondition
	}
	if pe := c.classify(resp, b); pe != nil {
		return pe
	}
	return nil
}

func (c *Client) resolve(path string) string {
	ref, err := url.Parse(path)
	if err != nil {
		return path
	}
	return c.base.ResolveReference(ref).String()
}

// ObjectPath is where an Aqio event lives in a calendar collection.
func ObjectPath(calendarPath, aqioEventID string) string {
	if !strings.HasSuffix(calendarPath, "/") {
		calendarPath += "/"
	}
	return calendarPath + url.PathEscape(UID(aqioEventID)) + ".ics"
}

var _ webdav.HTTPClient = (*statusRecorder)(nil)
