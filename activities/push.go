package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/aqio/connect/models"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/googlecalendar"
	"github.com/aqio/connect/providers/slack"
	"github.com/aqio/connect/store"
)

// AqioEvent is the part of an Aqio event object integrations use.
type AqioEvent struct {
	ID           string `json:"id"`
	Title        string `json:"title"`
	Description  string `json:"description"`
	StartsAt     string `json:"starts_at"`
	EndsAt       string `json:"ends_at"`
	Timezone     string `json:"timezone"`
	Location     string `json:"location"`
	LocationType string `json:"location_type"` // in_person, virtual or hybrid
	OnlineURL    string `json:"online_url"`
	// Visibility "private" marks an event kept off calendars unless
	// include_private_events is set.
	Visibility   string `json:"visibility"`
	MaxAttendees *int   `json:"max_attendees"`
	URL          string `json:"url"`
	Status       string `json:"status"`
}

// AqioRegistration is the part of a registration object integrations use.
type AqioRegistration struct {
	ID        string `json:"id"`
	EventID   string `json:"event_id"`
	UserEmail string `json:"user_email"`
	Status    string `json:"status"`
}

// PushInput is one Aqio domain event an integration reacts to.
type PushInput struct {
	IntegrationID  string
	OrganizationID string
	EventID        string
	EventType      string
}

// PushResult says what the push did.
type PushResult struct {
	Action     string // posted, upserted, deleted, skipped
	ExternalID string
	Detail     string
}

// Push applies one domain event to one integration.
func (a *Integrations) Push(ctx context.Context, in PushInput) (PushResult, error) {
	integ, p, err := a.load(ctx, in.OrganizationID, in.IntegrationID)
	if err != nil {
		return PushResult{}, err
	}
	if err := requireActive(integ); err != nil {
		return PushResult{}, err
	}
	ev, err := a.Store.GetEvent(ctx, in.OrganizationID, in.EventID)
	if err != nil {
		return PushResult{}, fmt.Errorf("load event %s: %w", in.EventID, err)
	}
	var env struct {
		Data struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(ev.Payload), &env); err != nil {
		return PushResult{}, temporal.NewNonRetryableApplicationError("event payload is not JSON", ErrTypeProviderPermanent, err)
	}
	switch p.Type {
	case "slack":
		return a.pushSlack(ctx, integ, p, in, env.Data.Object)
	case "google_calendar":
		return a.pushCalendar(ctx, integ, p, in, env.Data.Object)
	}
	return PushResult{Action: "skipped", Detail: "provider has no pushes"}, nil
}

func settingsBytes(in models.Integration) []byte {
	if in.Settings == nil {
		return nil
	}
	return []byte(*in.Settings)
}

func permanentSettings(err error) error {
	return temporal.NewNonRetryableApplicationError("invalid settings: "+err.Error(), ErrTypeProviderPermanent, nil)
}

// --- Slack ---------------------------------------------------------------

func (a *Integrations) slackClient(p providers.Provider) *slack.Client {
	return &slack.Client{BaseURL: p.APIBaseURL, HTTP: a.HTTP}
}

func (a *Integrations) pushSlack(ctx context.Context, integ models.Integration, p providers.Provider, in PushInput, obj json.RawMessage) (PushResult, error) {
	set, err := slack.ParseSettings(settingsBytes(integ))
	if err != nil {
		return PushResult{}, permanentSettings(err)
	}
	switch in.EventType {
	case "event.created":
		if !set.Notifications.EventCreated {
			return PushResult{Action: "skipped", Detail: "event_created notifications are off"}, nil
		}
		var e AqioEvent
		_ = json.Unmarshal(obj, &e)
		vars := eventVars(e)
		text := slack.Render("📅 New event: *{{event.title}}* ({{event.starts_at}})", vars)
		return a.postSlack(ctx, integ, p, set, text, vars)
	case "registration.created", "registration.confirmed":
		m := set.Notifications.RegistrationMilestone
		if m == nil {
			return PushResult{Action: "skipped", Detail: "milestone notifications are off"}, nil
		}
		var r AqioRegistration
		_ = json.Unmarshal(obj, &r)
		if r.EventID == "" {
			return PushResult{Action: "skipped", Detail: "registration has no event_id"}, nil
		}
		count, err := a.Store.CountActiveChildren(ctx, in.OrganizationID, "registration", r.EventID)
		if err != nil {
			return PushResult{}, err
		}
		var e AqioEvent
		if o, err := a.Store.GetObject(ctx, in.OrganizationID, "event", r.EventID); err == nil {
			_ = json.Unmarshal([]byte(o.Data), &e)
		}
		claimant := activity.GetInfo(ctx).WorkflowExecution.ID
		res := PushResult{Action: "skipped", Detail: fmt.Sprintf("%d registrations", count)}
		for _, n := range m.At {
			if count < n {
				break
			}
			mine, err := a.Store.ClaimMilestone(ctx, integ.ID, r.EventID, n, claimant)
			if err != nil {
				return PushResult{}, err
			}
			if !mine {
				continue
			}
			vars := eventVars(e)
			vars["registration_count"] = strconv.Itoa(count)
			vars["milestone"] = strconv.Itoa(n)
			if e.MaxAttendees != nil {
				vars["spots_left"] = strconv.Itoa(max(*e.MaxAttendees-count, 0))
			}
			tmpl := set.MessageTemplate
			if tmpl == "" {
				tmpl = "🎉 *{{event.title}}* reached {{milestone}} registrations! {{registration_count}}/{{max_attendees}} spots filled."
			}
			res, err = a.postSlack(ctx, integ, p, set, slack.Render(tmpl, vars), vars)
			if err != nil {
				return res, err
			}
			if err := a.Store.MarkMilestonePosted(ctx, integ.ID, r.EventID, n, res.ExternalID); err != nil {
				return res, err
			}
		}
		return res, nil
	}
	return PushResult{Action: "skipped", Detail: "no Slack notification for " + in.EventType}, nil
}

func eventVars(e AqioEvent) map[string]string {
	v := map[string]string{
		"event.title": e.Title, "event.starts_at": e.StartsAt, "event.location": e.Location,
		"event.url": e.URL, "event.id": e.ID, "max_attendees": "∞",
	}
	if e.MaxAttendees != nil {
		v["max_attendees"] = strconv.Itoa(*e.MaxAttendees)
	}
	return v
}

func (a *Integrations) postSlack(ctx context.Context, integ models.Integration, p providers.Provider, set slack.Settings, text string, vars map[string]string) (PushResult, error) {
	creds, err := a.open(integ)
	if err != nil {
		return PushResult{}, err
	}
	msg := slack.Message{Channel: set.Channel, Text: text, Blocks: []slack.Block{slack.Section(text)}}
	if u := vars["event.url"]; u != "" {
		msg.Blocks = append(msg.Blocks, slack.Context("<"+u+"|Open in Aqio>"))
	}
	c := a.slackClient(p)
	if set.Channel == "" {
		hook, _ := creds.Extra["incoming_webhook"].(map[string]any)
		u, _ := hook["url"].(string)
		if u == "" {
			return PushResult{}, temporal.NewNonRetryableApplicationError("no channel set and no incoming webhook granted", ErrTypeProviderPermanent, nil, "channel_not_set")
		}
		if err := c.PostWebhook(ctx, u, msg); err != nil {
			return PushResult{}, providerError(asProviderError("slack", err))
		}
		return PushResult{Action: "posted", Detail: "incoming webhook"}, nil
	}
	posted, err := c.PostMessage(ctx, creds.Access, msg)
	if err != nil {
		return PushResult{}, providerError(asProviderError("slack", err))
	}
	return PushResult{Action: "posted", ExternalID: posted.TS}, nil
}

// ReminderInput asks for a Slack event reminder.
type ReminderInput struct {
	IntegrationID  string
	OrganizationID string
	AqioEventID    string
}

// PostReminder posts the event reminder (the workflow's durable timer decided when).
func (a *Integrations) PostReminder(ctx context.Context, in ReminderInput) (PushResult, error) {
	integ, p, err := a.load(ctx, in.OrganizationID, in.IntegrationID)
	if err != nil {
		return PushResult{}, err
	}
	if err := requireActive(integ); err != nil {
		return PushResult{}, err
	}
	set, err := slack.ParseSettings(settingsBytes(integ))
	if err != nil {
		return PushResult{}, permanentSettings(err)
	}
	if set.Notifications.EventReminder == nil {
		return PushResult{Action: "skipped", Detail: "reminders are off"}, nil
	}
	o, err := a.Store.GetObject(ctx, in.OrganizationID, "event", in.AqioEventID)
	if err != nil {
		return PushResult{}, fmt.Errorf("load event %s: %w", in.AqioEventID, err)
	}
	var e AqioEvent
	_ = json.Unmarshal([]byte(o.Data), &e)
	if e.Status == "cancelled" || (o.Status != nil && *o.Status == "cancelled") {
		return PushResult{Action: "skipped", Detail: "event cancelled"}, nil
	}
	vars := eventVars(e)
	vars["hours_before"] = strconv.Itoa(set.Notifications.EventReminder.HoursBefore)
	text := slack.Render("⏰ Reminder: *{{event.title}}* starts in {{hours_before}} hours ({{event.starts_at}}).", vars)
	return a.postSlack(ctx, integ, p, set, text, vars)
}

// --- Google Calendar ---------------------------------------------------

func (a *Integrations) calendarClient(ctx context.Context, integ models.Integration, p providers.Provider) (*googlecalendar.Client, error) {
	creds, err := a.open(integ)
	if err != nil {
		return nil, err
	}
	return googlecalendar.NewClient(ctx, p.APIBaseURL, a.HTTP, creds.Access)
}

func (a *Integrations) pushCalendar(ctx context.Context, integ models.Integration, p providers.Provider, in PushInput, obj json.RawMessage) (PushResult, error) {
	set, err := googlecalendar.ParseSettings(settingsBytes(integ))
	if err != nil {
		return PushResult{}, permanentSettings(err)
	}
	c, err := a.calendarClient(ctx, integ, p)
	if err != nil {
		return PushResult{}, err
	}
	switch in.EventType {
	case "event.cancelled":
		var e AqioEvent
		_ = json.Unmarshal(obj, &e)
		if err := c.Delete(ctx, set.CalendarID, e.ID, set.SendUpdates()); err != nil {
			return PushResult{}, providerError(asProviderError(p.Type, err))
		}
		l, err := a.Store.GetLink(ctx, integ.ID, "event", e.ID)
		if err == nil {
			l.Status = "deleted"
			if err := a.Store.PutLink(ctx, &l); err != nil {
				return PushResult{}, err
			}
		}
		return PushResult{Action: "deleted", ExternalID: googlecalendar.EventID(e.ID)}, nil
	case "event.created", "event.updated", "event.published":
		var e AqioEvent
		_ = json.Unmarshal(obj, &e)
		return a.exportEvent(ctx, c, integ, set, e.ID)
	case "registration.created", "registration.confirmed", "registration.cancelled":
		if !set.AddAttendees {
			return PushResult{Action: "skipped", Detail: "add_attendees is off"}, nil
		}
		var r AqioRegistration
		_ = json.Unmarshal(obj, &r)
		if _, err := a.Store.GetLink(ctx, integ.ID, "event", r.EventID); err != nil {
			return PushResult{Action: "skipped", Detail: "event not exported"}, nil
		}
		return a.exportEvent(ctx, c, integ, set, r.EventID)
	}
	return PushResult{Action: "skipped"}, nil
}

// errRecord is a per-record failure that does not fail the whole run.
type errRecord struct{ pe *providers.Error }

func (e *errRecord) Error() string { return e.pe.Error() }

// exportEvent writes the latest state of an Aqio event to the calendar.
func (a *Integrations) exportEvent(ctx context.Context, c *googlecalendar.Client, integ models.Integration, set googlecalendar.Settings, aqioEventID string) (PushResult, error) {
	res, err := a.exportEventRecord(ctx, c, integ, set, aqioEventID)
	var rec *errRecord
	if errors.As(err, &rec) {
		return res, providerError(rec.pe)
	}
	return res, err
}

func (a *Integrations) exportEventRecord(ctx context.Context, c *googlecalendar.Client, integ models.Integration, set googlecalendar.Settings, aqioEventID string) (PushResult, error) {
	o, err := a.Store.GetObject(ctx, integ.OrganizationID, "event", aqioEventID)
	if errors.Is(err, store.ErrNotFound) {
		return PushResult{Action: "skipped", Detail: "event unknown"}, nil
	}
	if err != nil {
		return PushResult{}, err
	}
	var e AqioEvent
	if err := json.Unmarshal([]byte(o.Data), &e); err != nil {
		return PushResult{}, &errRecord{&providers.Error{Provider: "google_calendar", Kind: providers.KindPermanent, Code: "invalid_event"}}
	}
	if o.Status != nil && *o.Status == "cancelled" {
		return PushResult{Action: "skipped", Detail: "event cancelled"}, nil
	}
	if e.Visibility == "private" && !set.IncludePrivateEvents {
		return PushResult{Action: "skipped", Detail: "private event"}, nil
	}
	start, err1 := time.Parse(time.RFC3339, e.StartsAt)
	end, err2 := time.Parse(time.RFC3339, e.EndsAt)
	if err1 != nil {
		return PushResult{}, &errRecord{&providers.Error{Provider: "google_calendar", Kind: providers.KindPermanent, Code: "invalid_starts_at", Message: "event starts_at is not an RFC 3339 time"}}
	}
	if err2 != nil {
		end = start.Add(time.Hour)
	}
	ce := googlecalendar.Event{
		AqioID: e.ID, Title: e.Title, Description: e.Description, Location: e.Location,
		Start: start, End: end, TimeZone: e.Timezone, Private: e.Visibility == "private",
		WithMeet: *set.CreateMeetLinks && (e.LocationType == "virtual" || e.LocationType == "hybrid"),
	}
	if e.URL != "" {
		ce.Description = strings.TrimSpace(ce.Description + "\n\n" + e.URL)
	}
	if set.AddAttendees {
		regs, err := a.Store.ListChildObjects(ctx, integ.OrganizationID, "registration", e.ID)
		if err != nil {
			return PushResult{}, err
		}
		for _, r := range regs {
			var reg AqioRegistration
			if json.Unmarshal([]byte(r.Data), &reg) == nil && reg.UserEmail != "" && (r.Status == nil || *r.Status != "cancelled") {
				ce.Attendees = append(ce.Attendees, reg.UserEmail)
			}
		}
	}
	got, err := c.Upsert(ctx, set.CalendarID, ce, set.SendUpdates())
	if err != nil {
		pe := asProviderError("google_calendar", err)
		if pe.Kind == providers.KindPermanent {
			return PushResult{}, &errRecord{pe}
		}
		return PushResult{}, providerError(pe)
	}
	link := models.IntegrationLink{IntegrationID: integ.ID, ObjectType: "event", ObjectID: e.ID, ExternalID: got.ID, Status: "active"}
	if got.MeetLink != "" {
		link.ConferenceURL = &got.MeetLink
	} else if old, err := a.Store.GetLink(ctx, integ.ID, "event", e.ID); err == nil {
		link.ConferenceURL = old.ConferenceURL
	}
	if err := a.Store.PutLink(ctx, &link); err != nil {
		return PushResult{}, err
	}
	action := "updated"
	if got.Created {
		action = "created"
	}
	return PushResult{Action: action, ExternalID: got.ID}, nil
}
