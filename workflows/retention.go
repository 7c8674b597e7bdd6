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

// RetentionInput says how old an attempt must be to go.
type RetentionInput struct {
	MaxAge time.Duration
}

// Retention deletes delivery attempts older than MaxAge.
func Retention(ctx workflow.Context, in RetentionInput) (activities.PurgeResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	var a *activities.Deliveries
	var res activities.PurgeResult
	err := workflow.ExecuteActivity(ctx, a.PurgeDeliveries, activities.PurgeInput{Before: workflow.Now(ctx).Add(-in.MaxAge)}).Get(ctx, &res)
	return res, err
}

// EnsureRetentionSchedule creates (or updates) the hourly retention
// schedule. Overlapping runs are skipped.
func EnsureRetentionSchedule(ctx context.Context, c client.Client, maxAge time.Duration) error {
	err := ensureSchedule(ctx, c, RetentionScheduleID,
		"Deletes webhook delivery attempts older than AQIO_DELIVERY_RETENTION.",
		&client.ScheduleWorkflowAction{
			ID:        RetentionScheduleID,
			Workflow:  Retention,
			Args:      []interface{}{RetentionInput{MaxAge: maxAge}},
			TaskQueue: WebhooksQueue,
		})
	if err != nil {
		return fmt.Errorf("retention schedule: %w", err)
	}
	return nil
}
