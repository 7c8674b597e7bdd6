package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/aqio/connect/activities"
)

func deliveryInput() DeliveryInput {
	return DeliveryInput{OrganizationID: "org_1", WebhookID: "wh_1", EventID: "evt_1", EventType: "event.created",
		MessageID: "evt_1", TimeoutSeconds: 5, RetryCount: 3, RetryDelaySeconds: 60}
}

func TestDeliveryWorkflow(t *testing.T) {
	retryable := func() error {
		return temporal.NewApplicationError("endpoint answered 500", activities.ErrTypeRetryable)
	}
	for _, tc := range []struct {
		name       string
		results    []error // one per attempt; nil = success
		wantCalls  int
		wantErr    bool
		minElapsed time.Duration
	}{
		{name: "success first time", results: []error{nil}, wantCalls: 1},
		{name: "retry on 500 then succeed", results: []error{retryable(), retryable(), nil}, wantCalls: 3, minElapsed: 180 * time.Second},
		{name: "give up after retry_count retries", results: []error{retryable(), retryable(), retryable(), retryable()}, wantCalls: 4, wantErr: true},
		{name: "give up at once on 400", results: []error{temporal.NewNonRetryableApplicationError("endpoint answered 400", activities.ErrTypeHTTPClientError, nil)}, wantCalls: 1, wantErr: true},
		{name: "410 is not retried", results: []error{temporal.NewNonRetryableApplicationError("gone", activities.ErrTypeGone, nil)}, wantCalls: 1, wantErr: true},
		{name: "Retry-After overrides the backoff", results: []error{
			temporal.NewApplicationErrorWithOptions("429", activities.ErrTypeRetryable, temporal.ApplicationErrorOptions{NextRetryDelay: 2 * time.Hour}), nil,
		}, wantCalls: 2, minElapsed: 2 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			var a *activities.Deliveries
			env.RegisterActivity(a)
			calls := 0
			env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
				func(context.Context, activities.AttemptInput) (activities.AttemptResult, error) {
					err := tc.results[calls]
					calls++
					if err != nil {
						return activities.AttemptResult{}, err
					}
					return activities.AttemptResult{StatusCode: 200, Attempt: int32(calls)}, nil
				})
			local, remote := 0, 0
			env.SetOnLocalActivityStartedListener(func(*activity.Info, context.Context, []interface{}) { local++ })
			env.SetOnActivityStartedListener(func(*activity.Info, context.Context, converter.EncodedValues) { remote++ })
			start := env.Now()
			env.ExecuteWorkflow(Delivery, deliveryInput())
			if !env.IsWorkflowCompleted() {
				t.Fatal("workflow did not complete")
			}
			if calls != tc.wantCalls {
				t.Fatalf("activity ran %d times, want %d", calls, tc.wantCalls)
			}
			if err := env.GetWorkflowError(); (err != nil) != tc.wantErr {
				t.Fatalf("workflow error %v, want error %v", err, tc.wantErr)
			}
			if local != 1 || remote != tc.wantCalls-1 {
				t.Fatalf("first attempt must be local and the rest regular activities: %d local, %d regular", local, remote)
			}
			if elapsed := env.Now().Sub(start); elapsed < tc.minElapsed {
				t.Fatalf("workflow time %s, want at least %s (backoff or Retry-After not applied)", elapsed, tc.minElapsed)
			}
		})
	}
}

func TestRetryPolicyFromWebhookSettings(t *testing.T) {
	p := RetryPolicy(DeliveryInput{RetryCount: 5, RetryDelaySeconds: 30})
	if p.MaximumAttempts != 6 || p.InitialInterval != 30*time.Second || p.BackoffCoefficient != 2 {
		t.Fatalf("policy %+v", p)
	}
	if p := RetryPolicy(DeliveryInput{RetryCount: 0}); p.MaximumAttempts != 1 {
		t.Fatalf("retry_count 0 must mean one attempt, got %d", p.MaximumAttempts)
	}
}

func TestDeliveryWorkflowIDRoundTrip(t *testing.T) {
	id := DeliveryWorkflowID("wh_1", "evt_1")
	if id != "webhook-delivery:wh_1:evt_1" {
		t.Fatal(id)
	}
	for _, in := range []string{id, RedeliveryWorkflowID("wh_1", "evt_1", "r1")} {
		w, e, err := ParseDeliveryWorkflowID(in)
		if err != nil || w != "wh_1" || e != "evt_1" {
			t.Fatalf("parse %q: %q %q %v", in, w, e, err)
		}
	}
	if _, _, err := ParseDeliveryWorkflowID("oauth-refresh:x"); err == nil {
		t.Fatal("accepted a foreign id")
	}
}
