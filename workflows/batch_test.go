package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
)

func TestDeliveryBatchHandsRetriesToDeliveryRuns(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	var a *activities.Deliveries
	env.RegisterActivity(a)
	env.RegisterWorkflow(Delivery)
	env.OnActivity(a.DeliverBatch, mock.Anything, mock.Anything).Return(activities.BatchResult{
		Delivered: 2, Failed: 1, TimeoutSeconds: 5, RetryCount: 3, RetryDelaySeconds: 60,
		Retries: []activities.BatchRetry{{EventID: "evt_3", EventType: "event.created", Delay: 2 * time.Minute}},
	}, nil)
	var child DeliveryInput
	var childID string
	env.OnWorkflow(Delivery, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, in DeliveryInput) (DeliveryResult, error) {
		child, childID = in, workflow.GetInfo(ctx).WorkflowExecution.ID
		return DeliveryResult{Status: "success"}, nil
	})
	env.ExecuteWorkflow(DeliveryBatch, activities.BatchInput{OrganizationID: "org_1", WebhookID: "wh_1", EventIDs: []string{"evt_1", "evt_2", "evt_3", "evt_4"}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var out BatchOutcome
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if out.Delivered != 2 || out.Failed != 1 || len(out.RetryRuns) != 1 || out.RetryRuns[0] != DeliveryWorkflowID("wh_1", "evt_3") {
		t.Fatalf("outcome %+v", out)
	}
	if childID != DeliveryWorkflowID("wh_1", "evt_3") || child.PriorAttempts != 1 || child.NextAttemptDelay != 2*time.Minute ||
		child.MessageID != "evt_3" || child.RetryCount != 3 || child.RetryDelaySeconds != 60 || child.TimeoutSeconds != 5 {
		t.Fatalf("retry run %s input %+v", childID, child)
	}
}

func TestDeliveryBatchFallsBackToARegularActivity(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	var a *activities.Deliveries
	env.RegisterActivity(a)
	calls := 0
	env.OnActivity(a.DeliverBatch, mock.Anything, mock.Anything).Return(func(context.Context, activities.BatchInput) (activities.BatchResult, error) {
		calls++
		if calls <= 4 { // the local activity's three tries and the first regular one
			return activities.BatchResult{}, errors.New("database is locked")
		}
		return activities.BatchResult{Delivered: 1}, nil
	})
	local, remote := 0, 0
	env.SetOnLocalActivityStartedListener(func(*activity.Info, context.Context, []interface{}) { local++ })
	env.SetOnActivityStartedListener(func(*activity.Info, context.Context, converter.EncodedValues) { remote++ })
	env.ExecuteWorkflow(DeliveryBatch, activities.BatchInput{OrganizationID: "org_1", WebhookID: "wh_1", EventIDs: []string{"evt_1"}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var out BatchOutcome
	if err := env.GetWorkflowResult(&out); err != nil || out.Delivered != 1 {
		t.Fatalf("outcome %+v %v", out, err)
	}
	if local != 3 || remote != 2 {
		t.Fatalf("%d local and %d regular tries, want 3 and 2", local, remote)
	}
}

func TestDeliveryAfterBatchWaitsThenRetries(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	var a *activities.Deliveries
	env.RegisterActivity(a)
	var offsets []int32
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.AttemptInput) (activities.AttemptResult, error) {
		offsets = append(offsets, in.AttemptOffset)
		return activities.AttemptResult{StatusCode: 200, Attempt: 2}, nil
	})
	local := 0
	env.SetOnLocalActivityStartedListener(func(*activity.Info, context.Context, []interface{}) { local++ })
	in := deliveryInput()
	in.PriorAttempts, in.NextAttemptDelay = 1, 90*time.Second
	start := env.Now()
	env.ExecuteWorkflow(Delivery, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if local != 0 || len(offsets) != 1 || offsets[0] != 1 {
		t.Fatalf("local %d, attempt offsets %v: want one regular attempt numbered after the batch's", local, offsets)
	}
	if env.Now().Sub(start) < 90*time.Second {
		t.Fatalf("second attempt after %s, want the batch's delay of 90s", env.Now().Sub(start))
	}
}

func TestBatchWorkflowIDRoundTrip(t *testing.T) {
	w, b, ok := ParseBatchWorkflowID(BatchWorkflowID("wh_1", "b1"))
	if !ok || w != "wh_1" || b != "b1" {
		t.Fatalf("%q %q %v", w, b, ok)
	}
	if _, _, ok := ParseBatchWorkflowID(DeliveryWorkflowID("wh_1", "evt")); ok {
		t.Fatal("accepted a delivery id")
	}
}
