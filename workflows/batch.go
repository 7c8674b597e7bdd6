package workflows

import (
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
)

// BatchOutcome is how a DeliveryBatch run ended: first attempts that
// succeeded, failed for good or were cancelled, and the Delivery runs it
// started for the messages that will be retried.
type BatchOutcome struct {
	Delivered, Failed, Cancelled int
	RetryRuns                    []string
}

// DeliveryBatch makes the first attempt of a batch of messages to one
// webhook — the messages the dispatcher found waiting for that webhook
// (one when traffic is light, up to a few hundred under a burst). Every
// message whose first attempt fails retryably continues in its own
// Delivery run (a child that outlives this run, ID webhook-delivery:…),
// which owns its retries, its cancellation and its place in the Temporal
// UI; successes and final failures are recorded by the activity.
//
// Why batches: persisting one workflow execution per message is what
// limits throughput on a small machine (docs/BENCHMARKS.md); a batch
// costs one execution for many messages while a retry still gets its own.
func DeliveryBatch(ctx workflow.Context, in activities.BatchInput) (BatchOutcome, error) {
	var a *activities.Deliveries
	// Most batches finish in one local activity inside the first workflow
	// task. The bound leaves room for every request to time out.
	perRequest := 75 * time.Second // timeout_seconds is at most 60
	rounds := time.Duration((len(in.EventIDs) + activities.BatchConcurrency - 1) / activities.BatchConcurrency)
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: rounds*perRequest + time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
	})
	var res activities.BatchResult
	err := workflow.ExecuteLocalActivity(lctx, a.DeliverBatch, in).Get(ctx, &res)
	if err != nil && !temporal.IsCanceledError(err) {
		// Infrastructure trouble (e.g. the database): keep trying as a
		// regular activity, so no message is dropped; already recorded
		// messages are not resent.
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: rounds*perRequest + time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 10 * time.Second, MaximumInterval: 10 * time.Minute},
		})
		err = workflow.ExecuteActivity(actx, a.DeliverBatch, in).Get(ctx, &res)
	}
	if err != nil {
		return BatchOutcome{}, err
	}
	out := BatchOutcome{Delivered: res.Delivered, Failed: res.Failed, Cancelled: res.Cancelled}
	var futures []workflow.ChildWorkflowFuture
	for _, r := range res.Retries {
		id := DeliveryWorkflowID(in.WebhookID, r.EventID)
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            id,
			TaskQueue:             WebhooksQueue,
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			TypedSearchAttributes: DeliveryAttributes(in.OrganizationID, in.WebhookID, r.EventType),
		})
		futures = append(futures, workflow.ExecuteChildWorkflow(cctx, Delivery, DeliveryInput{
			OrganizationID: in.OrganizationID, WebhookID: in.WebhookID, EventID: r.EventID, EventType: r.EventType,
			MessageID: r.EventID, TimeoutSeconds: res.TimeoutSeconds, RetryCount: res.RetryCount,
			RetryDelaySeconds: res.RetryDelaySeconds, PriorAttempts: 1, NextAttemptDelay: r.Delay,
		}))
		out.RetryRuns = append(out.RetryRuns, id)
	}
	// Wait until every retry run exists; they go on after this run ends.
	for _, f := range futures {
		var exec workflow.Execution
		err := f.GetChildWorkflowExecution().Get(ctx, &exec)
		var started *temporal.ChildWorkflowExecutionAlreadyStartedError
		if err != nil && !errors.As(err, &started) {
			return out, err
		}
	}
	return out, nil
}
