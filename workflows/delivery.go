package workflows

import (
	"errors"
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
	// PriorAttempts is set when a DeliveryBatch run made the first
	// attempt(s) and hands the retries to this run; it waits
	// NextAttemptDelay before its first attempt.
	PriorAttempts    int32
	NextAttemptDelay time.Duration
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

// localFirstAttempt is the workflow version that makes the first attempt
// as a local activity (no activity task round trip through the server).
const localFirstAttempt = "local-first-attempt"

// Delivery delivers one event to one webhook. The first attempt runs as a
// local activity inside the workflow task — the common case (the endpoint
// answers 2xx) then costs one workflow task instead of an activity task
// round trip. If it fails retryably, the workflow waits the webhook's delay
// (or the endpoint's Retry-After) and hands the remaining attempts to a
// regular activity whose RetryPolicy continues the same backoff. Durability
// is unchanged: the run is persisted before the first attempt, and a worker
// crash re-runs the attempt. The run fails (and shows as failed in the
// Temporal UI) when the message could not be delivered.
func Delivery(ctx workflow.Context, in DeliveryInput) (DeliveryResult, error) {
	var a *activities.Deliveries
	attemptIn := activities.AttemptInput{
		OrganizationID:    in.OrganizationID,
		WebhookID:         in.WebhookID,
		EventID:           in.EventID,
		MessageID:         in.MessageID,
		TimeoutSeconds:    in.TimeoutSeconds,
		RetryCount:        in.RetryCount,
		RetryDelaySeconds: in.RetryDelaySeconds,
		RedeliveryOf:      in.RedeliveryOf,
	}
	attemptTimeout := time.Duration(in.TimeoutSeconds)*time.Second + 15*time.Second
	policy := RetryPolicy(in)
	var res activities.AttemptResult
	var err error

	if in.PriorAttempts > 0 {
		// Continuing a batch's failed first attempt: wait as it said,
		// then the remaining attempts with the same backoff.
		if err := workflow.Sleep(ctx, in.NextAttemptDelay); err != nil {
			return deliveryOutcome(ctx, in, res, err)
		}
		attemptIn.AttemptOffset = in.PriorAttempts
		policy.MaximumAttempts = int32(in.RetryCount) + 1 - in.PriorAttempts
		for range in.PriorAttempts {
			policy.InitialInterval *= 2
		}
		policy.InitialInterval = min(policy.InitialInterval, policy.MaximumInterval)
	} else if workflow.GetVersion(ctx, localFirstAttempt, workflow.DefaultVersion, 1) == 1 {
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: attemptTimeout,
			// Only infrastructure errors (e.g. the database) are retried
			// locally; an endpoint failure moves on to the regular activity.
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval:        time.Second,
				MaximumAttempts:        3,
				NonRetryableErrorTypes: append([]string{activities.ErrTypeRetryable}, activities.NonRetryableErrorTypes...),
			},
		})
		err = workflow.ExecuteLocalActivity(lctx, a.Deliver, attemptIn).Get(ctx, &res)
		var appErr *temporal.ApplicationError
		if err == nil || !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeRetryable || in.RetryCount == 0 {
			return deliveryOutcome(ctx, in, res, err)
		}
		// The endpoint failed retryably: wait as the policy (or Retry-After) says.
		delay := policy.InitialInterval
		if d := appErr.NextRetryDelay(); d > 0 {
			delay = d
		}
		if err := workflow.Sleep(ctx, delay); err != nil {
			return deliveryOutcome(ctx, in, res, err)
		}
		attemptIn.AttemptOffset = 1
		policy.MaximumAttempts = int32(in.RetryCount)
		policy.InitialInterval *= 2
	}

	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// The HTTP attempt is bounded by timeout_seconds inside the
		// activity; the margin covers loading and recording.
		StartToCloseTimeout: attemptTimeout,
		RetryPolicy:         policy,
	})
	err = workflow.ExecuteActivity(ctx, a.Deliver, attemptIn).Get(ctx, &res)
	return deliveryOutcome(ctx, in, res, err)
}

// deliveryOutcome records a cancellation and maps the attempt's result.
func deliveryOutcome(ctx workflow.Context, in DeliveryInput, res activities.AttemptResult, err error) (DeliveryResult, error) {
	var a *activities.Deliveries
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
