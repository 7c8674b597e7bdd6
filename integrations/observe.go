package integrations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/aqio/connect/models"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/store"
	"github.com/aqio/connect/workflows"
)

// objectTypes maps an event family to the Aqio object it carries.
var objectTypes = map[string]string{
	"event": "event", "registration": "registration", "invitation": "invitation", "payment": "payment",
}

// eventObject is the part of an event's object integrations look at.
type eventObject struct {
	ID       string `json:"id"`
	EventID  string `json:"event_id"`
	Status   string `json:"status"`
	StartsAt string `json:"starts_at"`
}

func parseEvent(ev models.Event) (created int64, raw json.RawMessage, obj eventObject, err error) {
	var env struct {
		Created int64 `json:"created"`
		Data    struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(ev.Payload), &env); err != nil {
		return 0, nil, obj, fmt.Errorf("observe %s: %w", ev.ID, err)
	}
	_ = json.Unmarshal(env.Data.Object, &obj)
	return env.Created, env.Data.Object, obj, nil
}

// Record is called by the webhook ingest inside the transaction that
// stores a domain event (st is bound to it): it keeps the latest state of
// the Aqio object the event carries, and reports whether a connected
// integration reacts to the event — then Observe must run once the event
// is committed.
func (s *Service) Record(ctx context.Context, st *store.Store, ev models.Event) (bool, error) {
	created, raw, obj, err := parseEvent(ev)
	if err != nil {
		return false, err
	}
	family, action, _ := strings.Cut(ev.Type, ".")
	if objType, tracked := objectTypes[family]; tracked && obj.ID != "" {
		o := &models.IntegrationObject{OrganizationID: ev.OrganizationID, ObjectType: objType, ObjectID: obj.ID,
			Data: string(raw), LastEventID: ev.ID, LastEventType: ev.Type, LastEventCreated: created}
		if obj.EventID != "" {
			o.ParentID = &obj.EventID
		}
		status := obj.Status
		if action == "cancelled" {
			status = "cancelled"
		}
		if status != "" {
			o.Status = &status
		}
		if err := st.UpsertObject(ctx, o); err != nil {
			return false, fmt.Errorf("keep object %s %s: %w", objType, obj.ID, err)
		}
	}
	integs, err := st.ActiveIntegrations(ctx, ev.OrganizationID)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(integs, func(in models.Integration) bool { return s.pushes(in, ev.Type) }), nil
}

// pushes reports whether an integration reacts to an event type.
func (s *Service) pushes(integ models.Integration, eventType string) bool {
	p, ok := s.Catalog.Get(integ.IntegrationType)
	return ok && p.Reacts(eventType)
}

// Observe runs after Record asked for it, once the event is committed: it
// starts a push workflow for every connected integration that reacts to
// the event type (idempotent per integration and event) and keeps Slack
// reminders in step.
func (s *Service) Observe(ctx context.Context, ev models.Event) error {
	_, _, obj, err := parseEvent(ev)
	if err != nil {
		return err
	}
	family, action, _ := strings.Cut(ev.Type, ".")
	integs, err := s.Store.ActiveIntegrations(ctx, ev.OrganizationID)
	if err != nil {
		return err
	}
	for _, integ := range integs {
		if !s.pushes(integ, ev.Type) {
			continue
		}
		if err := s.startPush(ctx, integ, ev); err != nil {
			return err
		}
		if family == "event" && obj.ID != "" {
			if err := s.reminder(ctx, integ, action, obj.ID, obj.StartsAt); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Service) startPush(ctx context.Context, integ models.Integration, ev models.Event) error {
	opts := client.StartWorkflowOptions{
		ID:                       workflows.PushWorkflowID(integ.ID, ev.ID),
		TaskQueue:                workflows.IntegrationsQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowRunTimeout:       7 * 24 * time.Hour,
		TypedSearchAttributes:    s.attrs(integ),
	}
	_, err := s.Temporal.ExecuteWorkflow(ctx, opts, workflows.Push, workflows.PushInput{
		IntegrationID: integ.ID, OrganizationID: integ.OrganizationID, EventID: ev.ID, EventType: ev.Type,
	})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		return fmt.Errorf("start push %s: %w", opts.ID, err)
	}
	return nil
}

// reminder keeps a connector's event-reminder timer (providers.Reminder)
// in step with the event: started or moved on create/update/publish,
// cancelled on cancel.
func (s *Service) reminder(ctx context.Context, integ models.Integration, action, eventID, startsAt string) error {
	p, set, ok := s.parsedSettings(integ)
	if !ok {
		return nil
	}
	rem, ok := p.Connector.(providers.Reminder)
	if !ok || rem.ReminderHours(set) <= 0 {
		return nil
	}
	hours := rem.ReminderHours(set)
	id := workflows.ReminderWorkflowID(integ.ID, eventID)
	if action == "cancelled" {
		err := s.Temporal.SignalWorkflow(ctx, id, "", workflows.SignalCancel, nil)
		var nf *serviceerror.NotFound
		if err != nil && !errors.As(err, &nf) {
			return fmt.Errorf("cancel reminder: %w", err)
		}
		return nil
	}
	start, err := time.Parse(time.RFC3339, startsAt)
	if err != nil {
		return nil
	}
	sched := workflows.ReminderSchedule{StartsAt: start.UTC(), HoursBefore: hours}
	_, err = s.Temporal.SignalWithStartWorkflow(ctx, id, workflows.SignalReschedule, sched, client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.IntegrationsQueue, TypedSearchAttributes: s.attrs(integ),
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.Reminder, workflows.ReminderInput{IntegrationID: integ.ID, OrganizationID: integ.OrganizationID, AqioEventID: eventID, Schedule: sched})
	if err != nil {
		return fmt.Errorf("schedule reminder: %w", err)
	}
	return nil
}
