// Package outlookcalendar is the Outlook Calendar connector (Microsoft
// Graph), with Teams meetings for online events: each Aqio event becomes
// one Outlook event, created with a client transactionId (Graph drops a
// repeated create) and a single-value extended property holding the Aqio
// event id (a lost link is found again), patched on change (keeping its
// Teams meeting) and deleted on cancellation.
package outlookcalendar

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/calendarentry"
	"github.com/aqio/connect/providers/msgraph"
)

// Type is the integration type.
const Type = "outlook_calendar"

// AqioIDProperty is the single-value extended property holding the Aqio event id.
const AqioIDProperty = "String {0b7a4b55-7f3e-4b8a-9c53-2a6f4e1d9a10} Name AqioEventId"

var _ providers.Syncer = (*Connector)(nil)

// Connector is the Outlook Calendar connector.
type Connector struct{}

// New returns the Outlook Calendar connector.
func New() *Connector { return &Connector{} }

// Info is Outlook Calendar's catalog entry (tenant "common"; configure
// AQIO_OUTLOOK_CALENDAR_AUTH_URL / _TOKEN_URL for one tenant).
func (*Connector) Info() providers.Info {
	auth, token := msgraph.Endpoints("common")
	return providers.Info{
		DataSent: []string{"event title, description and Aqio page URL", "event start, end and time zone", "venue or online link", "registrants' email addresses and names as attendees (only with add_attendees)", "a Teams meeting request for online events"},
		Type:     Type, DisplayName: "Outlook Calendar (with Teams meetings)", Auth: providers.AuthOAuth2, Available: true,
		APIBaseURL: msgraph.DefaultBaseURL,
		OAuth: &providers.OAuthInfo{
			AuthURL: auth, TokenURL: token, ClientAuth: providers.ClientAuthBody,
			PKCE: true, RotatesRefreshTokens: true, TokensExpire: true,
			DefaultScopes: []string{"offline_access", "User.Read", "Calendars.ReadWrite"}, ScopeSeparator: " ",
			AuthParams: map[string]string{"response_mode": "query"},
		},
		// Outlook: 4 concurrent requests per app per mailbox.
		Concurrency: 4,
	}
}

// ParseSettings decodes and validates settings.
func (*Connector) ParseSettings(raw []byte) (any, error) { return ParseSettings(raw) }

// Classify reads Graph's answers.
func (*Connector) Classify(resp *http.Response, body []byte) *providers.Error {
	return msgraph.Classify(Type, resp, body, "settings.calendar_id")
}

// Actions are Outlook Calendar's pushes by event type.
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
	var out providers.PageResult
	for _, o := range objs {
		res, err := export(ctx, rt, o.ID)
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

// Graph shapes.
type dateTimeTZ struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

type emailAddress struct {
	Address string `json:"address"`
	Name    string `json:"name,omitempty"`
}

type attendee struct {
	EmailAddress emailAddress `json:"emailAddress"`
	Type         string       `json:"type"`
}

type extProp struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// Event is the part of a Graph event Aqio writes and reads.
type Event struct {
	ID            string `json:"id,omitempty"`
	TransactionID string `json:"transactionId,omitempty"`
	Subject       string `json:"subject,omitempty"`
	Body          *struct {
		ContentType string `json:"contentType"`
		Content     string `json:"content"`
	} `json:"body,omitempty"`
	Start    *dateTimeTZ `json:"start,omitempty"`
	End      *dateTimeTZ `json:"end,omitempty"`
	Location *struct {
		DisplayName string `json:"displayName"`
	} `json:"location,omitempty"`
	Attendees             *[]attendee `json:"attendees,omitempty"`
	Sensitivity           string      `json:"sensitivity,omitempty"`
	IsOnlineMeeting       *bool       `json:"isOnlineMeeting,omitempty"`
	OnlineMeetingProvider string      `json:"onlineMeetingProvider,omitempty"`
	OnlineMeeting         *struct {
		JoinURL string `json:"joinUrl"`
	} `json:"onlineMeeting,omitempty"`
	SingleValueExtendedProperties []extProp `json:"singleValueExtendedProperties,omitempty"`
	WebLink                       string    `json:"webLink,omitempty"`
}

// toGraph maps an entry; attendees are sent only when the settings
// manage them (so a PATCH never clears people added in Outlook).
func toGraph(en calendarentry.Entry, teams, withAttendees bool) Event {
	ev := Event{Subject: en.Title}
	ev.Body = &struct {
		ContentType string `json:"contentType"`
		Content     string `json:"content"`
	}{"text", en.Description}
	zone, tz := time.UTC, "UTC"
	if en.TimeZone != "" {
		zone, tz = en.Zone, en.TimeZone
	}
	const local = "2006-01-02T15:04:05"
	ev.Start = &dateTimeTZ{en.Start.In(zone).Format(local), tz}
	ev.End = &dateTimeTZ{en.End.In(zone).Format(local), tz}
	if en.Location != "" {
		ev.Location = &struct {
			DisplayName string `json:"displayName"`
		}{en.Location}
	}
	if withAttendees {
		list := []attendee{}
		for _, a := range en.Attendees {
			list = append(list, attendee{EmailAddress: emailAddress{Address: a.Email, Name: a.Name}, Type: "required"})
		}
		ev.Attendees = &list
	}
	ev.Sensitivity = "normal"
	if en.Private {
		ev.Sensitivity = "private"
	}
	if teams {
		t := true
		ev.IsOnlineMeeting, ev.OnlineMeetingProvider = &t, "teamsForBusiness"
	}
	return ev
}

func eventsPath(set Settings) string {
	if set.CalendarID != "" {
		return "me/calendars/" + url.PathEscape(set.CalendarID) + "/events"
	}
	return "me/events"
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
		// A create whose link was lost: find it by the extended property.
		found, ferr := find(ctx, msgraph.New(rt), providers.SettingsOf[Settings](rt), e.ID)
		if ferr != nil {
			return providers.Result{}, ferr
		}
		if found == nil {
			return providers.Skipped("event not exported"), nil
		}
		l = providers.Link{ObjectType: "event", ObjectID: e.ID, ExternalID: found.ID, Status: "active"}
	} else if err != nil {
		return providers.Result{}, err
	}
	if l.Status == "deleted" {
		return providers.Result{Action: "deleted", ExternalID: l.ExternalID, Detail: "already deleted"}, nil
	}
	return remove(ctx, rt, l)
}

func remove(ctx context.Context, rt *providers.Runtime, l providers.Link) (providers.Result, error) {
	err := msgraph.New(rt).JSON(ctx, http.MethodDelete, "me/events/"+url.PathEscape(l.ExternalID), nil, nil)
	if err != nil && !msgraph.IsNotFound(err) {
		return providers.Result{}, err
	}
	l.Status = "deleted"
	if err := rt.Links.Put(ctx, l); err != nil {
		return providers.Result{}, err
	}
	return providers.Result{Action: "deleted", ExternalID: l.ExternalID}, nil
}

func exportOne(ctx context.Context, rt *providers.Runtime, aqioEventID string) (providers.Result, error) {
	res, err := export(ctx, rt, aqioEventID)
	var rec *providers.RecordError
	if errors.As(err, &rec) {
		return res, &providers.Error{Provider: Type, Kind: providers.KindPermanent, Code: rec.Code, Message: rec.Message}
	}
	return res, err
}

// find looks an Aqio event's Outlook event up by its extended property.
func find(ctx context.Context, c *msgraph.Client, set Settings, aqioEventID string) (*Event, error) {
	filter := "singleValueExtendedProperties/Any(ep: ep/id eq '" + AqioIDProperty + "' and ep/value eq '" + strings.ReplaceAll(aqioEventID, "'", "''") + "')"
	q := url.Values{"$filter": {filter}, "$select": {"id,onlineMeeting,isOnlineMeeting"}}
	var page struct {
		Value []Event `json:"value"`
	}
	if err := c.JSON(ctx, http.MethodGet, eventsPath(set)+"?"+q.Encode(), nil, &page); err != nil {
		return nil, err
	}
	if len(page.Value) == 0 {
		return nil, nil
	}
	return &page.Value[0], nil
}

// export writes the latest state of an Aqio event: PATCH the linked
// Outlook event (never dropping its Teams meeting), or find it by the
// extended property after a lost link, or create it with a transactionId
// derived from integration + event (Graph ignores a repeated create).
func export(ctx context.Context, rt *providers.Runtime, aqioEventID string) (providers.Result, error) {
	set := providers.SettingsOf[Settings](rt)
	en, skip, err := calendarentry.Build(ctx, rt, aqioEventID, calendarentry.Options{IncludePrivate: set.IncludePrivateEvents, Attendees: set.AddAttendees})
	if err != nil {
		return providers.Result{}, err
	}
	if skip != "" {
		return providers.Skipped(skip), nil
	}
	l, lerr := rt.Links.Get(ctx, "event", aqioEventID)
	found := lerr == nil && l.Status == "active"
	if lerr != nil && !errors.Is(lerr, providers.ErrNotFound) {
		return providers.Result{}, lerr
	}
	if en.Cancelled {
		if !found {
			return providers.Skipped(calendarentry.SkipCancelled), nil
		}
		return remove(ctx, rt, l)
	}
	c := msgraph.New(rt)
	hadTeams := found && l.Data["teams"] == "1"
	teams := hadTeams || (set.TeamsMeetings && en.Online)
	body := toGraph(en, teams, set.AddAttendees)
	if !found {
		cur, err := find(ctx, c, set, aqioEventID)
		if err != nil {
			return providers.Result{}, err
		}
		if cur != nil {
			l, found = providers.Link{ObjectType: "event", ObjectID: aqioEventID, ExternalID: cur.ID, Status: "active", Data: map[string]string{}}, true
			if cur.IsOnlineMeeting != nil && *cur.IsOnlineMeeting {
				teams = true
				body = toGraph(en, true, set.AddAttendees)
			}
		}
	}
	var got Event
	action := "updated"
	txn := rt.IdempotencyKey("event", aqioEventID)
	if found {
		err = c.JSON(ctx, http.MethodPatch, "me/events/"+url.PathEscape(l.ExternalID), body, &got)
		if msgraph.IsNotFound(err) {
			// Deleted in Outlook: create it again, under a transaction id
			// of its own (derived from the deleted event, so a retry of
			// this create is still deduplicated).
			found, err = false, nil
			sum := sha256.Sum256([]byte(l.ExternalID))
			txn += "-" + hex.EncodeToString(sum[:6])
		}
	}
	if !found {
		action = "created"
		body.TransactionID = txn
		body.SingleValueExtendedProperties = []extProp{{ID: AqioIDProperty, Value: aqioEventID}}
		err = c.JSON(ctx, http.MethodPost, eventsPath(set), body, &got)
	}
	if err != nil {
		if pe, ok := providers.AsError(err); ok && pe.Kind == providers.KindPermanent && pe.Field == "" {
			return providers.Result{}, &providers.RecordError{ObjectType: "event", ObjectID: aqioEventID, Code: pe.Code, Message: pe.Message}
		}
		return providers.Result{}, err
	}
	link := providers.Link{ObjectType: "event", ObjectID: aqioEventID, ExternalID: got.ID, Status: "active", Data: map[string]string{}}
	if link.ExternalID == "" {
		link.ExternalID = l.ExternalID
	}
	if got.OnlineMeeting != nil && got.OnlineMeeting.JoinURL != "" {
		link.URL = got.OnlineMeeting.JoinURL
	} else if l.URL != "" {
		link.URL = l.URL
	}
	if teams {
		link.Data["teams"] = "1"
	}
	if err := rt.Links.Put(ctx, link); err != nil {
		return providers.Result{}, err
	}
	return providers.Result{Action: action, ExternalID: link.ExternalID}, nil
}
