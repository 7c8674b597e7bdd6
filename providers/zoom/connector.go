package zoom

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/aqio/connect/providers"
)

// Connector is the Zoom connector: virtual and hybrid Aqio events become
// Zoom meetings, confirmed registrations become meeting registrants.
type Connector struct{}

// The optional parts of the contract Zoom implements.
var (
	_ providers.Connector  = (*Connector)(nil)
	_ providers.Revoker    = (*Connector)(nil)
	_ providers.Syncer     = (*Connector)(nil)
	_ providers.APIBaser   = (*Connector)(nil)
	_ providers.Authorizer = (*Connector)(nil)
)

// New returns the Zoom connector.
func New() *Connector { return &Connector{} }

// Scopes are Zoom's granular scopes the connector uses.
var Scopes = []string{
	"user:read:user",
	"meeting:read:meeting", "meeting:write:meeting", "meeting:update:meeting", "meeting:delete:meeting",
	"meeting:read:list_meetings",
	"meeting:write:registrant", "meeting:read:list_registrants", "meeting:update:registrant_status",
}

// Info is Zoom's catalog entry: OAuth 2.0 with HTTP Basic client
// authentication at the token endpoint, PKCE, hour-long access tokens and
// refresh tokens that rotate on every use.
func (*Connector) Info() providers.Info {
	return providers.Info{
		DataSent: []string{"event title, start time, duration, time zone and description (as the meeting)", "confirmed registrants' email addresses, first and last names as meeting registrants, and their cancellations (only with require_registration)"},
		Type:     Provider, DisplayName: "Zoom", Auth: providers.AuthOAuth2, Available: true,
		APIBaseURL: "https://api.zoom.us/v2",
		OAuth: &providers.OAuthInfo{
			AuthURL: "https://zoom.us/oauth/authorize", TokenURL: "https://zoom.us/oauth/token",
			RevokeURL: "https://zoom.us/oauth/revoke", ClientAuth: providers.ClientAuthBasic,
			PKCE: true, RotatesRefreshTokens: true, TokensExpire: true,
			// api_url is the account's API host (regional accounts differ).
			TokenExtras:   []string{"api_url"},
			DefaultScopes: Scopes, ScopeSeparator: " ",
		},
		RateLimit: providers.RateLimitHeaders{Remaining: "X-RateLimit-Remaining"},
		// Zoom limits per account and second; a few requests in flight
		// per connection stay well inside the Medium category's 20/s.
		Concurrency: 4,
	}
}

// ParseSettings decodes and validates Zoom settings.
func (*Connector) ParseSettings(raw []byte) (any, error) { return ParseSettings(raw) }

// Classify reads a Zoom answer (see the package function Classify).
func (*Connector) Classify(resp *http.Response, body []byte) *providers.Error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return Classify(resp.StatusCode, resp.Header, body, time.Now())
}

// APIBase is the API base of the account's region: the token response's
// api_url plus /v2 (AQIO_ZOOM_API_URL wins when set).
func (*Connector) APIBase(c providers.Credentials) string {
	if u := strings.TrimRight(c.ExtraString("api_url"), "/"); u != "" {
		return u + "/v2"
	}
	return ""
}

// Authorize sends the access token as a Bearer token unless the request
// carries its own credentials (the revoke call's HTTP Basic client auth).
func (*Connector) Authorize(req *http.Request, c providers.Credentials) {
	if req.Header.Get("Authorization") == "" && c.AccessToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.AccessToken)
	}
}

// Revoke revokes the access token, which removes the app's authorization
// from the Zoom account.
func (*Connector) Revoke(ctx context.Context, rt *providers.Runtime) error {
	if rt.Provider.OAuth == nil || rt.Provider.OAuth.RevokeURL == "" {
		return nil
	}
	tok := rt.Credentials.AccessToken
	if tok == "" {
		tok = rt.Credentials.RefreshToken
	}
	if tok == "" {
		return nil
	}
	return Revoke(ctx, rt.HTTP, rt.Provider.OAuth.RevokeURL, rt.Provider.ClientID, rt.Provider.ClientSecret, tok)
}

// Actions are Zoom's pushes by Aqio event type.
func (c *Connector) Actions() map[string]providers.Action {
	return map[string]providers.Action{
		"event.created":          c.eventChanged,
		"event.published":        c.eventChanged,
		"event.updated":          c.eventChanged,
		"event.cancelled":        c.eventCancelled,
		"registration.confirmed": c.registrationConfirmed,
		"registration.cancelled": c.registrationCancelled,
	}
}

// SyncObjectTypes are the Aqio objects a full or incremental sync exports.
func (*Connector) SyncObjectTypes() []string { return []string{"event", "registration"} }

// ExportPage writes events as meetings and registrations as registrants.
// A record Zoom refuses (validation, an unknown meeting) is a record
// error; rate limits and credential failures fail the page.
func (c *Connector) ExportPage(ctx context.Context, rt *providers.Runtime, objs []providers.Object) (providers.PageResult, error) {
	var out providers.PageResult
	set := providers.SettingsOf[Settings](rt)
	zc := client(rt)
	for _, o := range objs {
		var res providers.Result
		var err error
		switch o.Type {
		case "event":
			var e providers.AqioEvent
			if err := decodeObject(o, &e); err != nil {
				out.Errors = append(out.Errors, providers.RecordError{ObjectType: o.Type, ObjectID: o.ID, Code: "invalid_object", Message: err.Error()})
				continue
			}
			if o.Status == "cancelled" {
				res, err = cancelMeeting(ctx, rt, zc, set, e.ID)
			} else {
				res, err = upsertMeeting(ctx, rt, zc, set, e)
			}
		case "registration":
			var r providers.AqioRegistration
			if err := decodeObject(o, &r); err != nil {
				out.Errors = append(out.Errors, providers.RecordError{ObjectType: o.Type, ObjectID: o.ID, Code: "invalid_object", Message: err.Error()})
				continue
			}
			switch {
			case o.Status == "cancelled" || r.Status == "cancelled":
				res, err = cancelRegistrant(ctx, rt, zc, r)
			case r.Status == "confirmed":
				res, err = addRegistrant(ctx, rt, zc, set, r)
			default:
				res = providers.Skipped("registration not confirmed")
			}
		default:
			res = providers.Skipped("not exported")
		}
		if err != nil {
			if pe, ok := providers.AsError(err); ok && pe.Kind == providers.KindPermanent {
				out.Errors = append(out.Errors, providers.RecordError{ObjectType: o.Type, ObjectID: o.ID, Code: pe.Code, Message: pe.Message})
				continue
			}
			return out, err
		}
		switch res.Action {
		case "created":
			out.Created++
		case "updated", "deleted":
			out.Updated++
		default:
			out.Skipped++
		}
	}
	return out, nil
}

func decodeObject(o providers.Object, v any) error {
	return providers.Event{Object: o.Data}.Decode(v)
}

func client(rt *providers.Runtime) *Client {
	now := rt.Now
	if now == nil {
		now = time.Now
	}
	return &Client{BaseURL: rt.APIBaseURL, HTTP: rt.HTTP, Now: now}
}

func permanent(code, msg string) *providers.Error {
	return &providers.Error{Provider: Provider, Kind: providers.KindPermanent, Code: code, Message: msg}
}

// --- events → meetings ---------------------------------------------------

func (*Connector) eventChanged(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	var e providers.AqioEvent
	if err := ev.Decode(&e); err != nil || e.ID == "" {
		return providers.Result{}, permanent("invalid_event", "the event has no id")
	}
	set := providers.SettingsOf[Settings](rt)
	zc := client(rt)
	if e.Status == "cancelled" {
		return cancelMeeting(ctx, rt, zc, set, e.ID)
	}
	return upsertMeeting(ctx, rt, zc, set, e)
}

func (*Connector) eventCancelled(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	var e providers.AqioEvent
	if err := ev.Decode(&e); err != nil || e.ID == "" {
		return providers.Result{}, permanent("invalid_event", "the event has no id")
	}
	return cancelMeeting(ctx, rt, client(rt), providers.SettingsOf[Settings](rt), e.ID)
}

// Link statuses of an event's meeting.
const (
	linkActive  = "active"
	linkDeleted = "deleted"
	// linkPending is written before a meeting is created, so a retry
	// after a lost answer looks the meeting up instead of creating a
	// second one.
	linkPending = "pending"
	// linkCancelled marks a cancelled registrant.
	linkCancelled = "cancelled"
)

const zoomTime = "2006-01-02T15:04:05Z"

// MeetingFor maps an Aqio event onto a meeting request.
func MeetingFor(set Settings, e providers.AqioEvent) (MeetingRequest, error) {
	start, end, ok := e.Times()
	if !ok {
		return MeetingRequest{}, permanent("invalid_starts_at", "the event's starts_at is not an RFC 3339 time")
	}
	topic := strings.TrimSpace(e.Title)
	if topic == "" {
		topic = "Aqio event"
	}
	agenda := strings.TrimSpace(e.Description)
	if e.URL != "" {
		agenda = strings.TrimSpace(agenda + "\n\n" + e.URL)
	}
	approval := ApprovalNoRegistration
	if set.RequireRegistration {
		approval = ApprovalAutomatic
	}
	yes, no := true, false
	emails := &no
	if set.ZoomEmails {
		emails = &yes
	}
	st := &MeetingSettings{
		ApprovalType: &approval, RegistrantsEmailNotification: emails, RegistrantsConfirmationEmail: emails,
		WaitingRoom: &set.WaitingRoom, JoinBeforeHost: &set.JoinBeforeHost, AutoRecording: set.AutoRecording,
	}
	if set.RequireRegistration {
		st.RegistrationType = 1
	}
	m := MeetingRequest{
		Topic: truncate(topic, 200), Type: 2, StartTime: start.UTC().Format(zoomTime),
		Duration: max(1, int(math.Ceil(end.Sub(start).Minutes()))), Agenda: truncate(agenda, 2000), Settings: st,
	}
	if _, err := time.LoadLocation(e.Timezone); e.Timezone != "" && err == nil {
		m.Timezone = e.Timezone
	}
	return m, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// upsertMeeting creates the event's meeting or patches it.
func upsertMeeting(ctx context.Context, rt *providers.Runtime, zc *Client, set Settings, e providers.AqioEvent) (providers.Result, error) {
	if !set.wants(e.LocationType) {
		// An event that moved in person loses its meeting.
		if l, err := rt.Links.Get(ctx, "event", e.ID); err == nil && l.Status == linkActive {
			return cancelMeeting(ctx, rt, zc, set, e.ID)
		}
		return providers.Skipped("no meeting for " + orNone(e.LocationType) + " events"), nil
	}
	req, err := MeetingFor(set, e)
	if err != nil {
		return providers.Result{}, err
	}
	l, err := rt.Links.Get(ctx, "event", e.ID)
	switch {
	case err == nil && l.Status == linkActive:
		err := zc.UpdateMeeting(ctx, l.ExternalID, req)
		if err == nil {
			return providers.Result{Action: "updated", ExternalID: l.ExternalID}, nil
		}
		if pe, ok := providers.AsError(err); !ok || pe.Status != http.StatusNotFound {
			return providers.Result{}, err
		}
		// Deleted at Zoom: create a new one.
	case err == nil && l.Status == linkPending:
		found, ok, err := zc.FindMeeting(ctx, "me", req.Topic, req.StartTime)
		if err != nil {
			return providers.Result{}, err
		}
		if ok {
			id := Meeting{ID: found.ID}.IDString()
			if err := zc.UpdateMeeting(ctx, id, req); err != nil {
				return providers.Result{}, err
			}
			if err := putMeetingLink(ctx, rt, e.ID, id, found.JoinURL); err != nil {
				return providers.Result{}, err
			}
			return providers.Result{Action: "created", ExternalID: id, Detail: "meeting found after a lost answer"}, nil
		}
	case err != nil && !errors.Is(err, providers.ErrNotFound):
		return providers.Result{}, err
	}
	if err := rt.Links.Put(ctx, providers.Link{ObjectType: "event", ObjectID: e.ID, Status: linkPending}); err != nil {
		return providers.Result{}, err
	}
	m, err := zc.CreateMeeting(ctx, "me", req)
	if err != nil {
		return providers.Result{}, err
	}
	if err := putMeetingLink(ctx, rt, e.ID, m.IDString(), m.JoinURL); err != nil {
		return providers.Result{}, err
	}
	return providers.Result{Action: "created", ExternalID: m.IDString()}, nil
}

func putMeetingLink(ctx context.Context, rt *providers.Runtime, eventID, meetingID, joinURL string) error {
	return rt.Links.Put(ctx, providers.Link{ObjectType: "event", ObjectID: eventID, ExternalID: meetingID, URL: joinURL, Status: linkActive})
}

func orNone(s string) string {
	if s == "" {
		return "unspecified location"
	}
	return s
}

// cancelMeeting deletes the event's meeting.
func cancelMeeting(ctx context.Context, rt *providers.Runtime, zc *Client, set Settings, eventID string) (providers.Result, error) {
	l, err := rt.Links.Get(ctx, "event", eventID)
	if errors.Is(err, providers.ErrNotFound) || (err == nil && l.Status != linkActive) {
		return providers.Skipped("the event has no meeting"), nil
	}
	if err != nil {
		return providers.Result{}, err
	}
	if err := zc.DeleteMeeting(ctx, l.ExternalID, set.NotifyOnCancel); err != nil {
		return providers.Result{}, err
	}
	l.Status = linkDeleted
	if err := rt.Links.Put(ctx, l); err != nil {
		return providers.Result{}, err
	}
	return providers.Result{Action: "deleted", ExternalID: l.ExternalID}, nil
}

// --- registrations → registrants -----------------------------------------

func (*Connector) registrationConfirmed(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	var r providers.AqioRegistration
	if err := ev.Decode(&r); err != nil || r.ID == "" {
		return providers.Result{}, permanent("invalid_registration", "the registration has no id")
	}
	return addRegistrant(ctx, rt, client(rt), providers.SettingsOf[Settings](rt), r)
}

func (*Connector) registrationCancelled(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	var r providers.AqioRegistration
	if err := ev.Decode(&r); err != nil || r.ID == "" {
		return providers.Result{}, permanent("invalid_registration", "the registration has no id")
	}
	return cancelRegistrant(ctx, rt, client(rt), r)
}

// eventMeeting returns the active meeting link of an Aqio event, creating
// the meeting when the event should have one but none was made yet (the
// event predates the connection, or its push has not run).
func eventMeeting(ctx context.Context, rt *providers.Runtime, zc *Client, set Settings, eventID string) (providers.Link, bool, error) {
	l, err := rt.Links.Get(ctx, "event", eventID)
	if err == nil && l.Status == linkActive {
		return l, true, nil
	}
	if err != nil && !errors.Is(err, providers.ErrNotFound) {
		return l, false, err
	}
	o, err := rt.Objects.Get(ctx, "event", eventID)
	if errors.Is(err, providers.ErrNotFound) {
		return l, false, nil
	}
	if err != nil {
		return l, false, err
	}
	var e providers.AqioEvent
	if err := decodeObject(o, &e); err != nil {
		return l, false, nil
	}
	if o.Status == "cancelled" || e.Status == "cancelled" || !set.wants(e.LocationType) {
		return l, false, nil
	}
	if e.ID == "" {
		e.ID = eventID
	}
	if _, err := upsertMeeting(ctx, rt, zc, set, e); err != nil {
		return l, false, err
	}
	l, err = rt.Links.Get(ctx, "event", eventID)
	return l, err == nil && l.Status == linkActive, err
}

// addRegistrant registers a confirmed Aqio registration for its event's
// meeting, once: the registration's link, then Zoom's registrants with the
// same email, are looked at before a registrant is added.
func addRegistrant(ctx context.Context, rt *providers.Runtime, zc *Client, set Settings, r providers.AqioRegistration) (providers.Result, error) {
	if !set.RequireRegistration {
		return providers.Skipped("require_registration is off"), nil
	}
	email := strings.TrimSpace(r.UserEmail)
	if email == "" {
		return providers.Skipped("the registration has no email"), nil
	}
	meeting, ok, err := eventMeeting(ctx, rt, zc, set, r.EventID)
	if err != nil {
		return providers.Result{}, err
	}
	if !ok {
		return providers.Skipped("the event has no meeting"), nil
	}
	mid := meeting.ExternalID
	l, err := rt.Links.Get(ctx, "registration", r.ID)
	if err != nil && !errors.Is(err, providers.ErrNotFound) {
		return providers.Result{}, err
	}
	if err == nil && (l.Data["meeting_id"] == mid || l.Data["meeting_id"] == "") {
		switch l.Status {
		case linkActive:
			return providers.Result{Action: "skipped", ExternalID: l.ExternalID, Detail: "already registered"}, nil
		case linkCancelled:
			if err := zc.UpdateRegistrantStatus(ctx, mid, ActionApprove, RegistrantRef{ID: l.ExternalID, Email: email}); err != nil {
				return providers.Result{}, err
			}
			l.Status = linkActive
			if err := rt.Links.Put(ctx, l); err != nil {
				return providers.Result{}, err
			}
			return providers.Result{Action: "updated", ExternalID: l.ExternalID, Detail: "registrant approved again"}, nil
		}
	}
	link := func(id, joinURL string) error {
		return rt.Links.Put(ctx, providers.Link{ObjectType: "registration", ObjectID: r.ID, ExternalID: id, URL: joinURL,
			Status: linkActive, Data: map[string]string{"meeting_id": mid, "email": email}})
	}
	// Deduplicated by email: Zoom may already know this person (another
	// registration, or an answer lost on the way back).
	found, ok, err := zc.FindRegistrant(ctx, mid, "approved", email)
	if err != nil {
		return providers.Result{}, err
	}
	if ok {
		if err := link(found.ID, found.JoinURL); err != nil {
			return providers.Result{}, err
		}
		return providers.Result{Action: "updated", ExternalID: found.ID, Detail: "already a registrant"}, nil
	}
	first, last := names(r)
	added, err := zc.AddRegistrant(ctx, mid, RegistrantRequest{Email: email, FirstName: first, LastName: last})
	if err != nil {
		return providers.Result{}, err
	}
	if err := link(added.RegistrantID, added.JoinURL); err != nil {
		return providers.Result{}, err
	}
	return providers.Result{Action: "created", ExternalID: added.RegistrantID}, nil
}

// names splits the registrant's name (Zoom requires a first name; the
// email's local part stands in when the registration has no name).
func names(r providers.AqioRegistration) (first, last string) {
	if r.UserName != nil {
		if f := strings.Fields(*r.UserName); len(f) > 0 {
			return truncate(f[0], 64), truncate(strings.Join(f[1:], " "), 64)
		}
	}
	local, _, _ := strings.Cut(r.UserEmail, "@")
	if local == "" {
		local = "Guest"
	}
	return truncate(local, 64), ""
}

// cancelRegistrant cancels the registration's registrant.
func cancelRegistrant(ctx context.Context, rt *providers.Runtime, zc *Client, r providers.AqioRegistration) (providers.Result, error) {
	l, err := rt.Links.Get(ctx, "registration", r.ID)
	if errors.Is(err, providers.ErrNotFound) || (err == nil && l.Status != linkActive) {
		return providers.Skipped("no registrant for this registration"), nil
	}
	if err != nil {
		return providers.Result{}, err
	}
	mid, email := l.Data["meeting_id"], l.Data["email"]
	if mid == "" {
		// Links written without data: the event's meeting.
		ml, err := rt.Links.Get(ctx, "event", r.EventID)
		if err != nil || ml.ExternalID == "" {
			return providers.Skipped("the registrant's meeting is unknown"), nil
		}
		mid = ml.ExternalID
	}
	if email == "" {
		email = r.UserEmail
	}
	err = zc.UpdateRegistrantStatus(ctx, mid, ActionCancel, RegistrantRef{ID: l.ExternalID, Email: email})
	if pe, ok := providers.AsError(err); ok && pe.Status == http.StatusNotFound {
		err = nil // the meeting is gone, and the registrant with it
	}
	if err != nil {
		return providers.Result{}, err
	}
	l.Status = linkCancelled
	if err := rt.Links.Put(ctx, l); err != nil {
		return providers.Result{}, err
	}
	return providers.Result{Action: "deleted", ExternalID: l.ExternalID}, nil
}
