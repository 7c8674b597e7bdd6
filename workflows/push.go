package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
)

// PushInput is one Aqio domain event for one integration. Its workflow id
// (PushWorkflowID) makes the push idempotent per integration and event.
type PushInput = activities.PushInput

// PushResult says what the push did.
type PushResult = activities.PushResult

// Push applies an ingested domain event to one connected integration
// (a Slack message, a calendar entry). Provider rate limits wait for
// Retry-After; a revoked token puts the integration into status error.
func Push(ctx workflow.Context, in PushInput) (PushResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         integrationRetry(15),
	})
	var a *activities.Integrations
	var res PushResult
	err := workflow.ExecuteActivity(ctx, a.Push, in).Get(ctx, &res)
	if errType(err) == activities.ErrTypeAuthRevoked {
		_ = workflow.ExecuteActivity(ctx, a.MarkError, activities.MarkErrorInput{
			IntegrationID: in.IntegrationID, OrganizationID: in.OrganizationID,
			Message: "the provider refused the stored credentials; reconnect the integration", Code: errCode(err),
		}).Get(ctx, nil)
	}
	return res, err
}

// ReminderInput starts a Slack event reminder.
type ReminderInput struct {
	IntegrationID  string
	OrganizationID string
	AqioEventID    string
	Schedule       ReminderSchedule
}

// ReminderSchedule is when the event starts and how long before to remind.
// It is also the payload of the reschedule signal.
type ReminderSchedule struct {
	StartsAt    time.Time
	HoursBefore int
}

// ReminderResult says whether the reminder was posted.
type ReminderResult struct {
	Outcome string // posted, cancelled, past
}

// Reminder is a durable timer: it sleeps until hours_before the event's
// start, moves when the start moves (reschedule signal), ends when the
// event is cancelled (cancel signal), and posts the reminder.
func Reminder(ctx workflow.Context, in ReminderInput) (ReminderResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         integrationRetry(15),
	})
	resched := workflow.GetSignalChannel(ctx, SignalReschedule)
	cancelCh := workflow.GetSignalChannel(ctx, SignalCancel)
	sched := in.Schedule
	for {
		fireAt := sched.StartsAt.Add(-time.Duration(sched.HoursBefore) * time.Hour)
		now := workflow.Now(ctx)
		if !sched.StartsAt.After(now) {
			return ReminderResult{Outcome: "past"}, nil
		}
		fire, cancelled := false, false
		tctx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		if d := fireAt.Sub(now); d > 0 {
			sel.AddFuture(workflow.NewTimer(tctx, d), func(workflow.Future) { fire = true })
		} else {
			fire = true
		}
		if !fire {
			sel.AddReceive(resched, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &sched) })
			sel.AddReceive(cancelCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); cancelled = true })
			sel.Select(ctx)
		}
		cancel()
		if cancelled {
			return ReminderResult{Outcome: "cancelled"}, nil
		}
		if fire {
			break
		}
	}
	var a *activities.Integrations
	var res activities.PushResult
	err := workflow.ExecuteActivity(ctx, a.PostReminder, activities.ReminderInput{
		IntegrationID: in.IntegrationID, OrganizationID: in.OrganizationID, AqioEventID: in.AqioEventID,
	}).Get(ctx, &res)
	if err != nil {
		return ReminderResult{}, err
	}
	return ReminderResult{Outcome: res.Action}, nil
}
