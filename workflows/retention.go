package workflows

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
)

// RetentionScheduleID is the Temporal Schedule that purges old delivery
// attempts; find it under Schedules in the Temporal UI.
const RetentionScheduleID = "webhook-delivery-retention"

// RetentionInput says how old an attempt must be to go (MaxAge) and,
// separately, event payloads (EventMaxAge) and integration objects
// (ObjectMaxAge); zero keeps them.
type RetentionInput struct {
	MaxAge       time.Duration
	EventMaxAge  time.Duration `json:",omitempty"`
	ObjectMaxAge time.Duration `json:",omitempty"`
	// RequestLogMaxAge is the API request log's retention (zero keeps it).
	RequestLogMaxAge time.Duration `json:",omitempty"`
}

// RetentionResult reports what a retention run removed: delivery
// attempts (Deleted), events with their payloads, integration objects.
type RetentionResult struct {
	Deleted     int64
	Events      int64 `json:",omitempty"`
	Objects     int64 `json:",omitempty"`
	RequestLogs int64 `json:",omitempty"`
}

// Retention deletes delivery attempts older than MaxAge, then events and
// integration objects older than their own retention.
func Retention(ctx workflow.Context, in RetentionInput) (RetentionResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	var a *activities.Deliveries
	var purged activities.PurgeResult
	now := workflow.Now(ctx)
	err := workflow.ExecuteActivity(ctx, a.PurgeDeliveries, activities.PurgeInput{Before: now.Add(-in.MaxAge)}).Get(ctx, &purged)
	res := RetentionResult{Deleted: purged.Deleted}
	if err != nil {
		return res, err
	}
	if err := purgePersonal(ctx, in, now, &res); err != nil {
		return res, err
	}
	if in.RequestLogMaxAge > 0 {
		var logs activities.PurgeResult
		err = workflow.ExecuteActivity(ctx, a.PurgeRequestLogs, activities.PurgeInput{Before: now.Add(-in.RequestLogMaxAge)}).Get(ctx, &logs)
		res.RequestLogs = logs.Deleted
	}
	return res, err
}

// purgePersonal removes events and integration objects past their retention.
func purgePersonal(ctx workflow.Context, in RetentionInput, now time.Time, res *RetentionResult) error {
	if in.EventMaxAge <= 0 && in.ObjectMaxAge <= 0 {
		return nil
	}
	var p *activities.Privacy
	pin := activities.PersonalRetentionInput{}
	if in.EventMaxAge > 0 {
		pin.EventsBefore = now.Add(-in.EventMaxAge)
	}
	if in.ObjectMaxAge > 0 {
		pin.ObjectsBefore = now.Add(-in.ObjectMaxAge)
	}
	var personal activities.PersonalRetentionResult
	err := workflow.ExecuteActivity(ctx, p.PurgePersonalData, pin).Get(ctx, &personal)
	res.Events, res.Objects = personal.Events, personal.Objects
	return err
}

// RetentionPolicy is what the retention schedule keeps.
type RetentionPolicy struct {
	Deliveries, Events, Objects, RequestLogs time.Duration
}

// EnsureRetentionSchedule creates (or updates) the hourly retention
// schedule. Overlapping runs are skipped.
func EnsureRetentionSchedule(ctx context.Context, c client.Client, p RetentionPolicy) error {
	err := ensureSchedule(ctx, c, RetentionScheduleID,
		"Deletes webhook delivery attempts older than AQIO_DELIVERY_RETENTION, events (with their payloads) older than AQIO_EVENT_RETENTION, integration objects older than AQIO_INTEGRATION_OBJECT_RETENTION and API request log entries older than AQIO_REQUEST_LOG_RETENTION.",
		&client.ScheduleWorkflowAction{
			ID:       RetentionScheduleID,
			Workflow: Retention,
			Args: []interface{}{RetentionInput{MaxAge: p.Deliveries, EventMaxAge: p.Events, ObjectMaxAge: p.Objects,
				RequestLogMaxAge: p.RequestLogs}},
			TaskQueue: WebhooksQueue,
		})
	if err != nil {
		return fmt.Errorf("retention schedule: %w", err)
	}
	return nil
}
