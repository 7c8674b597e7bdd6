package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
)

// DeliveryInput starts a delivery. It carries ids and retry settings only:
// the activity loads the payload and the signing secret by id, so no
// secret or personal data enters workflow history.
type DeliveryInput struct {
	OrganizationID string
	WebhookID      string
	EventID        string
	EventType      string
	// MessageID is the webhook-id header; a redelivery reuses the original's.
	MessageID string
	// RedeliveryOf is the workflow id of the delivery this run repeats.
	RedeliveryOf string
	// Retry settings, copied from the webhook when the delivery starts.
	TimeoutSeconds    int
	RetryCount        int
	RetryDelaySeconds int
}

// DeliveryResult is how the delivery ended.
type DeliveryResult struct {
	Status     string
	StatusCode int
	Attempts   int32
}

// RetryPolicy turns a webhook's settings into Temporal's retry policy:
// retry_count retries after the first attempt, starting after
// retry_delay_seconds and doubling, capped at one day between attempts.
func RetryPolicy(in DeliveryInput) *temporal.RetryPolicy {
	delay := time.Duration(in.RetryDelaySeconds) * time.Second
	if delay <= 0 {
		delay = time.Second
	}
	return &temporal.RetryPolicy{
		InitialInterval:        delay,
		BackoffCoefficient:     2,
		MaximumInterval:        activities.MaxRetryInterval,
		MaximumAttempts:        int32(in.RetryCount) + 1,
		NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
	}
}

// Delivery delivers one event to one webhook: one activity, retried by
// Temporal per the webhook's policy. The run fails (and shows as failed in
// the Temporal UI) when the message could not be delivered.
func Delivery(ctx workflow.Context, in DeliveryInput) (DeliveryResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// The HTTP attempt is bounded by timeout_seconds inside the
		// activity; the margin covers loading and recording.
		StartToCloseTimeout: time.Duration(in.TimeoutSeconds)*time.Second + 15*time.Second,
		RetryPolicy:         RetryPolicy(in),
	})
	var a *activities.Deliveries
	var res activities.AttemptResult
	err := workflow.ExecuteActivity(ctx, a.Deliver, activities.AttemptInput{
		OrganizationID:    in.OrganizationID,
		WebhookID:         in.WebhookID,
		EventID:           in.EventID,
		MessageID:         in.MessageID,
		TimeoutSeconds:    in.TimeoutSeconds,
		RetryCount:        in.RetryCount,
		RetryDelaySeconds: in.RetryDelaySeconds,
		RedeliveryOf:      in.RedeliveryOf,
	}).Get(ctx, &res)
	if temporal.IsCanceledError(err) {
		// Cancelled while waiting for the next attempt (webhook disabled
		// or deleted): record the explicit final state, then end cancelled.
		dctx, cancel := workflow.NewDisconnectedContext(ctx)
		defer cancel()
		dctx = workflow.WithActivityOptions(dctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
		})
		_ = workflow.ExecuteActivity(dctx, a.RecordCancelled, activities.CancelledInput{
			OrganizationID: in.OrganizationID, WebhookID: in.WebhookID, EventID: in.EventID,
			MessageID: in.MessageID, RedeliveryOf: in.RedeliveryOf,
			Reason: "cancelled: the webhook was disabled or deleted before the next attempt",
		}).Get(dctx, nil)
		return DeliveryResult{Status: "cancelled"}, err
	}
	if err != nil {
		return DeliveryResult{Status: "failed"}, err
	}
	return DeliveryResult{Status: "success", StatusCode: res.StatusCode, Attempts: res.Attempt}, nil
}
