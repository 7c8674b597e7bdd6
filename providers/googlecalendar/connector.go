package googlecalendar

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/calendarentry"
)

// Connector is the Google Calendar (with Google Meet) connector.
type Connector struct{}

// New returns the Google Calendar connector.
func New() *Connector { return &Connector{} }

// Info is Google Calendar's catalog entry.
func (*Connector) Info() providers.Info {
	return providers.Info{
		DataSent: []string{"event title, description and Aqio page URL", "event start, end and time zone", "venue or online link", "registrants' email addresses and names as attendees (only with add_attendees)", "a Google Meet request for online events"},
		Type:     "google_calendar", DisplayName: "Google Calendar (with Google Meet)", Auth: providers.AuthOAuth2, Available: true,
		APIBaseURL: "https://www.googleapis.com/calendar/v3/",
		OAuth: &providers.OAuthInfo{
			AuthURL: "https://accounts.google.com/o/oauth2/v2/auth", TokenURL: "https://oauth2.googleapis.com/token",
			RevokeURL: "https://oauth2.googleapis.com/revoke", ClientAuth: providers.ClientAuthBody,
			PKCE: true, TokensExpire: true,
			DefaultScopes: []string{"https://www.googleapis.com/auth/calendar.events"}, ScopeSeparator: " ",
			AuthParams: map[string]string{"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"},
		},
	}
}

// ParseSettings decodes, defaults and validates Google Calendar settings.
func (*Connector) ParseSettings(raw []byte) (any, error) { return ParseSettings(raw) }

// Actions are Google Calendar's pushes by event type.
func (c *Connector) Actions() map[string]providers.Action {
	return map[string]providers.Action{
		"event.created": upsertEvent, "event.updated": upsertEvent, "event.published": upsertEvent,
		"event.cancelled":      cancelEvent,
		"registration.created": attendees, "registration.confirmed": attendees, "registration.cancelled": attendees,
	}
}

// SyncObjectTypes: syncs export Aqio events.
func (*Connector) SyncObjectTypes() []string { return []string{"event"} }

// SyncInterval is sync_interval_minutes (0: no schedule).
func (*Connector) SyncInterval(settings any) time.Duration {
	if s, ok := settings.(Settings); ok {
		return time.Duration(s.SyncIntervalMinutes) * time.Minute
	}
	return 0
}

// ExportPage writes each event's latest state; a refused event is a
// per-record error.
func (*Connector) ExportPage(ctx context.Context, rt *providers.Runtime, objs []providers.Object) (providers.PageResult, error) {
	c, err := NewClient(ctx, rt.APIBaseURL, rt.HTTP)
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
		case res.Action == "updated":
			out.Updated++
		default:
			out.Skipped++
		}
	}
	return out, nil
}

// Revoke revokes the refresh token (or the access token) at Google.
func (*Connector) Revoke(ctx context.Context, rt *providers.Runtime) error {
	tok := rt.Credentials.RefreshToken
	if tok == "" {
		tok = rt.Credentials.AccessToken
	}
	if tok == "" || rt.Provider.OAuth == nil || rt.Provider.OAuth.RevokeURL == "" {
		return nil
	}
	return revokeToken(ctx, rt.HTTP, rt.Provider.OAuth.RevokeURL, tok)
}

func upsertEvent(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	var e providers.AqioEvent
	_ = ev.Decode(&e)
	return exportOne(ctx, rt, e.ID)
}

func cancelEvent(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	set := providers.SettingsOf[Settings](rt)
	var e providers.AqioEvent
	_ = ev.Decode(&e)
	c, err := NewClient(ctx, rt.APIBaseURL, rt.HTTP)
	if err != nil {
		return providers.Result{}, err
	}
	if err := c.Delete(ctx, set.CalendarID, e.ID, set.SendUpdates()); err != nil {
		return providers.Result{}, err
	}
	if l, err := rt.Links.Get(ctx, "event", e.ID); err == nil {
		l.Status = "deleted"
		if err := rt.Links.Put(ctx, l); err != nil {
			return providers.Result{}, err
		}
	}
	return providers.Result{Action: "deleted", ExternalID: EventID(e.ID)}, nil
}

func attendees(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	if !providers.SettingsOf[Settings](rt).AddAttendees {
		return providers.Skipped("add_attendees is off"), nil
	}
	var r providers.AqioRegistration
	_ = ev.Decode(&r)
	if _, err := rt.Links.Get(ctx, "event", r.EventID); err != nil {
		return providers.Skipped("event not exported"), nil
	}
	return exportOne(ctx, rt, r.EventID)
}

func exportOne(ctx context.Context, rt *providers.Runtime, aqioEventID string) (providers.Result, error) {
	c, err := NewClient(ctx, rt.APIBaseURL, rt.HTTP)
	if err != nil {
		return providers.Result{}, err
	}
	res, err := export(ctx, rt, c, aqioEventID)
	var rec *providers.RecordError
	if errors.As(err, &rec) {
		return res, &providers.Error{Provider: "google_calendar", Kind: providers.KindPermanent, Code: rec.Code, Message: rec.Message}
	}
	return res, err
}

// export writes the latest state of an Aqio event to the calendar under
// its derived id (a retry patches, never duplicates) and links it.
func export(ctx context.Context, rt *providers.Runtime, c *Client, aqioEventID string) (providers.Result, error) {
	set := providers.SettingsOf[Settings](rt)
	en, skip, err := calendarentry.Build(ctx, rt, aqioEventID, calendarentry.Options{IncludePrivate: set.IncludePrivateEvents, Attendees: set.AddAttendees})
	if err != nil {
		return providers.Result{}, err
	}
	if skip != "" {
		return providers.Skipped(skip), nil
	}
	if en.Cancelled {
		return providers.Skipped(calendarentry.SkipCancelled), nil
	}
	ce := Event{
		AqioID: en.AqioID, Title: en.Title, Description: en.Description, Location: en.Location,
		Start: en.Start, End: en.End, TimeZone: en.TimeZone, Private: en.Private,
		WithMeet: *set.CreateMeetLinks && en.Online, Attendees: en.Emails(), SendAttendees: set.AddAttendees,
	}
	got, err := c.Upsert(ctx, set.CalendarID, ce, set.SendUpdates())
	if err != nil {
		if pe, ok := providers.AsError(err); ok && pe.Kind == providers.KindPermanent {
			return providers.Result{}, &providers.RecordError{ObjectType: "event", ObjectID: en.AqioID, Code: pe.Code, Message: pe.Message}
		}
		return providers.Result{}, err
	}
	link := providers.Link{ObjectType: "event", ObjectID: en.AqioID, ExternalID: got.ID, Status: "active", URL: got.MeetLink}
	if link.URL == "" {
		if old, err := rt.Links.Get(ctx, "event", en.AqioID); err == nil {
			link.URL = old.URL
		}
	}
	if err := rt.Links.Put(ctx, link); err != nil {
		return providers.Result{}, err
	}
	action := "updated"
	if got.Created {
		action = "created"
	}
	return providers.Result{Action: action, ExternalID: got.ID}, nil
}

// SettingsSchema is the JSON Schema of Google Calendar settings.
func (*Connector) SettingsSchema() map[string]any {
	return map[string]any{
		"type": "object", "additionalProperties": false,
		"properties": map[string]any{
			"calendar_id":            map[string]any{"type": "string", "default": "primary", "pattern": `^[A-Za-z0-9._@#-]{1,255}$`},
			"sync_direction":         map[string]any{"type": "string", "enum": []string{"export"}, "default": "export"},
			"include_private_events": map[string]any{"type": "boolean", "default": false},
			"add_attendees":          map[string]any{"type": "boolean", "default": false, "description": "Registrants become attendees."},
			"send_invitations":       map[string]any{"type": "boolean", "default": false, "description": "Google emails attendees (sendUpdates=all)."},
			"create_meet_links":      map[string]any{"type": "boolean", "default": true, "description": "Virtual and hybrid events get a Google Meet link."},
			"sync_interval_minutes":  map[string]any{"type": "integer", "minimum": 0, "maximum": 10080, "default": 0},
		},
	}
}

// Classify reads a Calendar API answer: 401 means refresh the token and
// retry; 403 rateLimitExceeded/userRateLimitExceeded and 429 are rate
// limits (back off); 403 otherwise is a calendar the user may not write.
func (*Connector) Classify(resp *http.Response, body []byte) *providers.Error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	var env struct {
		Error struct {
			Message string `json:"message"`
			Errors  []struct {
				Reason string `json:"reason"`
			} `json:"errors"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &env)
	reason := ""
	if len(env.Error.Errors) > 0 {
		reason = env.Error.Errors[0].Reason
	}
	return classifyStatus(resp.StatusCode, reason, env.Error.Message, resp.Header)
}
