package applecalendar

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/emersion/go-ical"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/calendarentry"
)

// Type is the integration type.
const Type = "apple_calendar"

var (
	_ providers.Connector         = (*Connector)(nil)
	_ providers.CredentialChecker = (*Connector)(nil)
	_ providers.APIBaser          = (*Connector)(nil)
	_ providers.Syncer            = (*Connector)(nil)
)

// Connector is the Apple Calendar (CalDAV) connector.
type Connector struct{}

// New returns the Apple Calendar connector.
func New() *Connector { return &Connector{} }

// Info is Apple Calendar's catalog entry: HTTP Basic with the Apple ID and
// an app-specific password against iCloud's CalDAV host (or the
// server_url credential, for any CalDAV server).
func (*Connector) Info() providers.Info {
	return providers.Info{
		Type: Type, DisplayName: "Apple Calendar (iCloud CalDAV)", Auth: providers.AuthBasic, Available: true,
		APIBaseURL: DefaultServer,
		CredentialFields: []providers.CredentialField{
			{Name: "username", Description: "The Apple ID (email address) of the iCloud account", Required: true},
			{Name: "password", Description: "An app-specific password (appleid.apple.com → Sign-In and Security → App-Specific Passwords)", Required: true, Secret: true},
			{Name: "server_url", Description: "CalDAV server URL (default https://caldav.icloud.com/)"},
		},
		// iCloud publishes no limits; stay gentle with one mailbox.
		Concurrency: 2,
	}
}

// APIBase is the server_url credential when given.
func (*Connector) APIBase(c providers.Credentials) string {
	return strings.TrimSpace(c.Fields["server_url"])
}

// ParseSettings decodes and validates settings.
func (*Connector) ParseSettings(raw []byte) (any, error) { return ParseSettings(raw) }

// Actions are Apple Calendar's pushes by event type.
func (*Connector) Actions() map[string]providers.Action {
	return map[string]providers.Action{
		"event.created": upsert, "event.updated": upsert, "event.published": upsert,
		"event.cancelled":      cancel,
		"registration.created": attendees, "registration.confirmed": attendees, "registration.cancelled": attendees,
	}
}

// SyncObjectTypes: syncs export Aqio events.
func (*Connector) SyncObjectTypes() []string { return []string{"event"} }

// ExportPage writes each event's latest state; a refused event is a
// per-record error.
func (*Connector) ExportPage(ctx context.Context, rt *providers.Runtime, objs []providers.Object) (providers.PageResult, error) {
	c, err := client(rt)
	if err != nil {
		return providers.PageResult{}, err
	}
	var out providers.PageResult
	for _, o := range objs {
		res, err := export(ctx, rt, c, o.ID)
		var rec *providers.RecordError
		switch {
		case errors.As(err, &rec):
			out.Errors = append(out.Errors, *rec)
		case err != nil:
			return out, err
		case res.Action == "created":
			out.Created++
		case res.Action == "updated" || res.Action == "deleted":
			out.Updated++
		default:
			out.Skipped++
		}
	}
	return out, nil
}

// CheckCredentials discovers the calendar home with the credentials: a
// refused password names credentials.password, an unreachable or
// non-CalDAV server credentials.server_url.
func (c *Connector) CheckCredentials(ctx context.Context, rt *providers.Runtime) error {
	if strings.TrimSpace(rt.Credentials.Fields["username"]) == "" {
		return &providers.SettingsError{Field: "credentials.username", Message: "is required"}
	}
	if strings.TrimSpace(rt.Credentials.Fields["password"]) == "" {
		return &providers.SettingsError{Field: "credentials.password", Message: "is required"}
	}
	cl, err := client(rt)
	if err != nil {
		return err
	}
	cals, err := cl.Discover(ctx)
	if pe, ok := providers.AsError(err); ok {
		switch {
		case pe.Kind == providers.KindAuth:
			return &providers.SettingsError{Field: "credentials.password", Message: "the CalDAV server refused the Apple ID and app-specific password"}
		case pe.Kind == providers.KindRetryable || pe.Kind == providers.KindRateLimited:
			return err
		}
		return &providers.SettingsError{Field: "credentials.server_url", Message: "no CalDAV calendar home found there: " + pe.Message}
	}
	if err != nil {
		return err
	}
	if len(cals) == 0 {
		return &providers.SettingsError{Field: "credentials.server_url", Message: "the account has no calendar that holds events"}
	}
	return nil
}

func client(rt *providers.Runtime) (*Client, error) {
	return NewClient(rt.APIBaseURL, rt.HTTP, rt.Provider.Connector.Classify)
}

// Classify reads a CalDAV answer: 401 is a refused app-specific password
// (no refresh exists: reconnect), 403 a calendar the account may not
// write, 412 a precondition (handled by the writer), 429/503 back off.
func (*Connector) Classify(resp *http.Response, body []byte) *providers.Error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return &providers.Error{Provider: Type, Kind: providers.KindAuth, Status: 401, Code: "unauthorized",
			Message: "the CalDAV server refused the credentials", Field: "credentials.password"}
	}
	e := providers.ClassifyHTTP(Type, providers.RateLimitHeaders{}, resp, body)
	if resp.StatusCode == http.StatusForbidden {
		e.Kind, e.Field = providers.KindPermanent, "settings.calendar"
	}
	if msg := strings.TrimSpace(string(body)); e.Message == "" && msg != "" && len(msg) < 300 {
		e.Message = msg
	}
	return e
}

func upsert(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	var e providers.AqioEvent
	_ = ev.Decode(&e)
	return exportOne(ctx, rt, e.ID)
}

func attendees(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	if !providers.SettingsOf[Settings](rt).AddAttendees {
		return providers.Skipped("add_attendees is off"), nil
	}
	var r providers.AqioRegistration
	_ = ev.Decode(&r)
	if l, err := rt.Links.Get(ctx, "event", r.EventID); err != nil || l.Status != "active" {
		return providers.Skipped("event not exported"), nil
	}
	return exportOne(ctx, rt, r.EventID)
}

func cancel(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	var e providers.AqioEvent
	_ = ev.Decode(&e)
	l, err := rt.Links.Get(ctx, "event", e.ID)
	if errors.Is(err, providers.ErrNotFound) {
		return providers.Skipped("event not exported"), nil
	}
	if err != nil {
		return providers.Result{}, err
	}
	if l.Status == "deleted" {
		return providers.Result{Action: "deleted", ExternalID: l.ExternalID, Detail: "already deleted"}, nil
	}
	c, err := client(rt)
	if err != nil {
		return providers.Result{}, err
	}
	return remove(ctx, rt, c, l)
}

func remove(ctx context.Context, rt *providers.Runtime, c *Client, l providers.Link) (providers.Result, error) {
	err := c.Delete(ctx, l.ExternalID, l.Data["etag"])
	if errors.Is(err, ErrPrecondition) {
		// Changed on the device since our write: Aqio cancelled the event, delete it anyway.
		err = c.Delete(ctx, l.ExternalID, "")
	}
	if err != nil {
		return providers.Result{}, err
	}
	l.Status = "deleted"
	if err := rt.Links.Put(ctx, l); err != nil {
		return providers.Result{}, err
	}
	return providers.Result{Action: "deleted", ExternalID: l.ExternalID}, nil
}

func exportOne(ctx context.Context, rt *providers.Runtime, aqioEventID string) (providers.Result, error) {
	c, err := client(rt)
	if err != nil {
		return providers.Result{}, err
	}
	res, err := export(ctx, rt, c, aqioEventID)
	var rec *providers.RecordError
	if errors.As(err, &rec) {
		return res, &providers.Error{Provider: Type, Kind: providers.KindPermanent, Code: rec.Code, Message: rec.Message}
	}
	return res, err
}

// export writes the latest state of an Aqio event as one calendar object
// at a path derived from its UID: a create sends If-None-Match: * and an
// update If-Match with the ETag of our last write, so a retry (or a
// lost link) finds the object and updates it instead of duplicating.
// Every write bumps SEQUENCE.
func export(ctx context.Context, rt *providers.Runtime, c *Client, aqioEventID string) (providers.Result, error) {
	set := providers.SettingsOf[Settings](rt)
	en, skip, err := calendarentry.Build(ctx, rt, aqioEventID, calendarentry.Options{IncludePrivate: set.IncludePrivateEvents, Attendees: set.AddAttendees})
	if err != nil {
		return providers.Result{}, err
	}
	if skip != "" {
		return providers.Skipped(skip), nil
	}
	l, lerr := rt.Links.Get(ctx, "event", aqioEventID)
	found := lerr == nil
	if lerr != nil && !errors.Is(lerr, providers.ErrNotFound) {
		return providers.Result{}, lerr
	}
	if en.Cancelled {
		if !found || l.Status == "deleted" {
			return providers.Skipped(calendarentry.SkipCancelled), nil
		}
		return remove(ctx, rt, c, l)
	}
	calPath := ""
	if found {
		calPath = l.Data["calendar"]
	}
	if calPath == "" {
		if calPath, err = pickCalendar(ctx, c, set.Calendar); err != nil {
			return providers.Result{}, err
		}
	}
	path := ObjectPath(calPath, aqioEventID)
	seq, etag := 0, ""
	if found {
		seq, _ = strconv.Atoi(l.Data["sequence"])
		seq++
		if l.Status == "active" {
			etag = l.Data["etag"]
		}
	}
	cal := VCalendar("", []*ical.Event{VEvent(en, seq, rt.Now())}, []calendarentry.Entry{en})
	newTag, err := c.Put(ctx, path, cal, etag)
	if errors.Is(err, ErrPrecondition) {
		// The object exists though we have no link (a retry after a lost
		// save), or changed since our write: update the current version.
		cur, gerr := c.ETag(ctx, path)
		if gerr != nil {
			return providers.Result{}, gerr
		}
		newTag, err = c.Put(ctx, path, cal, cur)
		if errors.Is(err, ErrPrecondition) {
			return providers.Result{}, &providers.Error{Provider: Type, Kind: providers.KindRetryable, Code: "precondition_failed",
				Message: "the calendar object changed while it was written"}
		}
	}
	if err != nil {
		if pe, ok := providers.AsError(err); ok && pe.Kind == providers.KindPermanent {
			return providers.Result{}, &providers.RecordError{ObjectType: "event", ObjectID: aqioEventID, Code: pe.Code, Message: pe.Message}
		}
		return providers.Result{}, err
	}
	action := "created"
	if found && l.Status == "active" {
		action = "updated"
	}
	link := providers.Link{ObjectType: "event", ObjectID: aqioEventID, ExternalID: path, Status: "active",
		Data: map[string]string{"calendar": calPath, "etag": newTag, "sequence": strconv.Itoa(seq), "uid": UID(aqioEventID)}}
	if err := rt.Links.Put(ctx, link); err != nil {
		return providers.Result{}, err
	}
	return providers.Result{Action: action, ExternalID: path}, nil
}

// pickCalendar finds the configured calendar (by name or path), or the
// account's first event calendar.
func pickCalendar(ctx context.Context, c *Client, want string) (string, error) {
	cals, err := c.Discover(ctx)
	if err != nil {
		return "", err
	}
	for _, cal := range cals {
		if want == "" || cal.Path == want || strings.TrimSuffix(cal.Path, "/") == strings.TrimSuffix(want, "/") || strings.EqualFold(cal.Name, want) {
			return cal.Path, nil
		}
	}
	msg := "the account has no calendar that holds events"
	if want != "" {
		msg = "the account has no calendar named " + strconv.Quote(want)
	}
	return "", &providers.Error{Provider: Type, Kind: providers.KindPermanent, Code: "calendar_not_found", Message: msg, Field: "settings.calendar"}
}
