package applecalendar

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

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
	_ providers.Feeder            = (*Connector)(nil)
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
		DataSent: []string{"event title, description and Aqio page URL", "event start, end and time zone", "venue or online link", "registrants' email addresses and names as attendees (only with add_attendees)"},
		Type:     Type, DisplayName: "Apple Calendar (feed or iCloud CalDAV)", Auth: providers.AuthBasic, Available: true,
		APIBaseURL: DefaultServer,
		CredentialFields: []providers.CredentialField{
			{Name: "username", Description: "The Apple ID (email address) of the iCloud account, for CalDAV export (leave all fields out for a subscribable feed only)"},
			{Name: "password", Description: "An app-specific password (appleid.apple.com → Sign-In and Security → App-Specific Passwords)", Secret: true},
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
	var c *Client
	if usesCalDAV(rt) {
		var err error
		if c, err = client(rt); err != nil {
			return providers.PageResult{}, err
		}
	}
	var out providers.PageResult
	for _, o := range objs {
		res, err := export(ctx, rt, c, o.ID, false)
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

// CheckCredentials accepts no credentials at all (a feed-only
// integration); otherwise it discovers the calendar home with them: a
// refused password names credentials.password, an unreachable or
// non-CalDAV server credentials.server_url.
func (c *Connector) CheckCredentials(ctx context.Context, rt *providers.Runtime) error {
	f := rt.Credentials.Fields
	if strings.TrimSpace(f["username"]) == "" {
		if strings.TrimSpace(f["password"]) != "" || strings.TrimSpace(f["server_url"]) != "" {
			return &providers.SettingsError{Field: "credentials.username", Message: "is required with a password (leave all credentials out for a feed only)"}
		}
		return nil // feed only
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
	return exportOne(ctx, rt, e.ID, false)
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
	return exportOne(ctx, rt, r.EventID, false)
}

func cancel(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	var e providers.AqioEvent
	_ = ev.Decode(&e)
	return exportOne(ctx, rt, e.ID, true)
}

// usesCalDAV: an integration connected with an Apple ID writes to CalDAV;
// one connected without credentials only keeps its feed.
func usesCalDAV(rt *providers.Runtime) bool {
	return strings.TrimSpace(rt.Credentials.Fields["username"]) != ""
}

func exportOne(ctx context.Context, rt *providers.Runtime, aqioEventID string, cancelled bool) (providers.Result, error) {
	var c *Client
	if usesCalDAV(rt) {
		var err error
		if c, err = client(rt); err != nil {
			return providers.Result{}, err
		}
	}
	res, err := export(ctx, rt, c, aqioEventID, cancelled)
	var rec *providers.RecordError
	if errors.As(err, &rec) {
		return res, &providers.Error{Provider: Type, Kind: providers.KindPermanent, Code: rec.Code, Message: rec.Message}
	}
	return res, err
}

// export records the latest state of an Aqio event for the feed (the
// entry and its SEQUENCE, bumped on every change, in the event's link)
// and, with CalDAV (c not nil), writes it as one calendar object at a
// path derived from its UID: a create sends If-None-Match: * and an
// update If-Match with the ETag of our last write, so a retry (or a lost
// link) finds the object and updates it instead of duplicating; a
// cancelled event is DELETEd there and kept STATUS:CANCELLED in the feed.
func export(ctx context.Context, rt *providers.Runtime, c *Client, aqioEventID string, cancelled bool) (providers.Result, error) {
	set := providers.SettingsOf[Settings](rt)
	l, lerr := rt.Links.Get(ctx, "event", aqioEventID)
	found := lerr == nil
	if lerr != nil && !errors.Is(lerr, providers.ErrNotFound) {
		return providers.Result{}, lerr
	}
	en, skip, err := calendarentry.Build(ctx, rt, aqioEventID, calendarentry.Options{IncludePrivate: set.IncludePrivateEvents, Attendees: set.AddAttendees})
	if err != nil {
		return providers.Result{}, err
	}
	if skip != "" {
		if !cancelled || !found {
			return providers.Skipped(skip), nil
		}
		// Cancelled and no longer readable: cancel what we kept.
		if en, err = keptEntry(l); err != nil {
			return providers.Result{}, err
		}
	}
	en.Cancelled = en.Cancelled || cancelled
	if en.Cancelled && (!found || l.Status == "deleted") {
		return providers.Skipped(calendarentry.SkipCancelled), nil
	}
	seq := 0
	if found {
		seq, _ = strconv.Atoi(l.Data["sequence"])
		seq++
	}
	now := rt.Now().UTC()
	link := providers.Link{ObjectType: "event", ObjectID: aqioEventID, ExternalID: UID(aqioEventID), Status: "active", Data: map[string]string{}}
	if found {
		link.ExternalID = l.ExternalID
		for k, v := range l.Data {
			link.Data[k] = v
		}
	}
	action := "created"
	if found && l.Status == "active" {
		action = "updated"
	}
	if en.Cancelled {
		action, link.Status = "deleted", "deleted"
	}
	if c != nil {
		path, etag, err := write(ctx, rt, c, set, l, found, en, seq, now)
		if err != nil {
			return providers.Result{}, err
		}
		link.ExternalID, link.Data["etag"] = path, etag
		link.Data["calendar"] = path[:strings.LastIndex(path, "/")+1]
	}
	kept, _ := json.Marshal(en)
	link.Data["entry"], link.Data["sequence"], link.Data["stamp"], link.Data["uid"] = string(kept), strconv.Itoa(seq), now.Format(time.RFC3339), UID(aqioEventID)
	if err := rt.Links.Put(ctx, link); err != nil {
		return providers.Result{}, err
	}
	return providers.Result{Action: action, ExternalID: link.ExternalID}, nil
}

// write puts (or, cancelled, deletes) the CalDAV object and returns its
// path and new ETag.
func write(ctx context.Context, rt *providers.Runtime, c *Client, set Settings, l providers.Link, found bool, en calendarentry.Entry, seq int, now time.Time) (string, string, error) {
	if en.Cancelled {
		if l.Data["calendar"] == "" {
			return l.ExternalID, "", nil
		}
		err := c.Delete(ctx, l.ExternalID, l.Data["etag"])
		if errors.Is(err, ErrPrecondition) {
			// Changed on a device since our write: Aqio cancelled the event, delete it anyway.
			err = c.Delete(ctx, l.ExternalID, "")
		}
		return l.ExternalID, "", err
	}
	calPath := ""
	if found {
		calPath = l.Data["calendar"]
	}
	if calPath == "" {
		var err error
		if calPath, err = pickCalendar(ctx, c, set.Calendar); err != nil {
			return "", "", err
		}
	}
	path := ObjectPath(calPath, en.AqioID)
	etag := ""
	if found && l.Status == "active" {
		etag = l.Data["etag"]
	}
	cal := VCalendar("", []*ical.Event{VEvent(en, seq, now)}, []calendarentry.Entry{en})
	newTag, err := c.Put(ctx, path, cal, etag)
	if errors.Is(err, ErrPrecondition) {
		// The object exists though we have no link (a retry after a lost
		// save), or changed since our write: update the current version.
		cur, gerr := c.ETag(ctx, path)
		if gerr != nil {
			return "", "", gerr
		}
		newTag, err = c.Put(ctx, path, cal, cur)
		if errors.Is(err, ErrPrecondition) {
			return "", "", &providers.Error{Provider: Type, Kind: providers.KindRetryable, Code: "precondition_failed",
				Message: "the calendar object changed while it was written"}
		}
	}
	if err != nil {
		if pe, ok := providers.AsError(err); ok && pe.Kind == providers.KindPermanent {
			return "", "", &providers.RecordError{ObjectType: "event", ObjectID: en.AqioID, Code: pe.Code, Message: pe.Message}
		}
		return "", "", err
	}
	return path, newTag, nil
}

// keptEntry is the entry last written for a link.
func keptEntry(l providers.Link) (calendarentry.Entry, error) {
	var en calendarentry.Entry
	if err := json.Unmarshal([]byte(l.Data["entry"]), &en); err != nil || en.AqioID == "" {
		return en, &providers.RecordError{ObjectType: "event", ObjectID: l.ObjectID, Code: "entry_missing", Message: "no calendar entry was kept for the event"}
	}
	en.LoadZone()
	return en, nil
}

// Feed renders the integration's subscribable calendar: every Aqio event
// it has seen, cancelled ones STATUS:CANCELLED, each with its kept
// SEQUENCE and write time.
func (*Connector) Feed(in providers.FeedInput) (providers.FeedOutput, error) {
	var events []*ical.Event
	var entries []calendarentry.Entry
	for _, l := range in.Links {
		if l.ObjectType != "event" || l.Data["entry"] == "" {
			continue
		}
		en, err := keptEntry(l)
		if err != nil {
			continue
		}
		seq, _ := strconv.Atoi(l.Data["sequence"])
		stamp, err := time.Parse(time.RFC3339, l.Data["stamp"])
		if err != nil {
			stamp = in.Now
		}
		events = append(events, VEvent(en, seq, stamp))
		entries = append(entries, en)
	}
	body, err := Encode(VCalendar(in.Name, events, entries))
	if err != nil {
		return providers.FeedOutput{}, err
	}
	return providers.FeedOutput{ContentType: ical.MIMEType + "; charset=utf-8", Body: body}, nil
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
