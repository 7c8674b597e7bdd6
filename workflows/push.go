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

// ReminderResult says what the reminder did.
type ReminderResult struct {
	// Outcome is the last PostReminder action (posted, skipped), or
	// cancelled, or past (the event started before a reminder was due).
	Outcome string
}

// Reminder is a durable timer: it sleeps until hours_before the event's
// start and posts the reminder, moves when the start moves (reschedule
// signal), and ends when the event is cancelled (cancel signal). It lives
// until the event starts, so an update that does not move the start (the
// reschedule signal every event.updated sends) never posts twice, while a
// moved start arms a new reminder for the new time.
func Reminder(ctx workflow.Context, in ReminderInput) (ReminderResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         integrationRetry(15),
	})
	resched := workflow.GetSignalChannel(ctx, SignalReschedule)
	cancelCh := workflow.GetSignalChannel(ctx, SignalCancel)
	sched := in.Schedule
	var postedFor time.Time // the start the last reminder was posted for
	outcome := "past"
	for {
		// Signals already delivered win over a due timer: an event created
		// and cancelled at once posts nothing.
		for resched.ReceiveAsync(&sched) {
		}
		if cancelCh.ReceiveAsync(nil) {
			return ReminderResult{Outcome: "cancelled"}, nil
		}
		now := workflow.Now(ctx)
		if !sched.StartsAt.After(now) {
			return ReminderResult{Outcome: outcome}, nil
		}
		armed := !sched.StartsAt.Equal(postedFor)
		wake := sched.StartsAt
		if armed {
			wake = sched.StartsAt.Add(-time.Duration(sched.HoursBefore) * time.Hour)
		}
		if d := wake.Sub(now); d > 0 {
			// Wait for the reminder time (or, once posted, the start), a
			// moved start, or a cancellation.
			timerCtx, cancelTimer := workflow.WithCancel(ctx)
			due, cancelled := false, false
			sel := workflow.NewSelector(ctx)
			sel.AddFuture(workflow.NewTimer(timerCtx, d), func(workflow.Future) { due = true })
			sel.AddReceive(resched, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &sched) })
			sel.AddReceive(cancelCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); cancelled = true })
			sel.Select(ctx)
			cancelTimer()
			if cancelled {
				return ReminderResult{Outcome: "cancelled"}, nil
			}
			if !due || !armed {
				continue
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
		postedFor, outcome = sched.StartsAt, res.Action
	}
}
