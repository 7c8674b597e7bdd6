package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
)

// EndpointWakeSignal tells an endpoint workflow that messages were parked
// for it (the parked rows are in the database; the signal carries nothing).
const EndpointWakeSignal = "wake"

// EndpointStateQuery reports an endpoint workflow's state.
const EndpointStateQuery = "state"

// endpointStepsPerRun bounds the steps of one run before it continues as
// new, so its history stays small (a step is about ten events).
const endpointStepsPerRun = 200

// EndpointInput names the webhook an Endpoint workflow owns.
type EndpointInput struct {
	OrganizationID string
	WebhookID      string
}

// EndpointState is what an endpoint workflow reports (query "state" and
// its result): the circuit, what is parked, and this run's totals.
type EndpointState struct {
	Open      bool      `json:"circuit_open"`
	Parked    int       `json:"parked"`
	NextWake  time.Time `json:"next_wake"`
	Steps     int       `json:"steps"`
	Sent      int       `json:"sent"`
	Delivered int       `json:"delivered"`
	Failed    int       `json:"failed"`
	Cancelled int       `json:"cancelled"`
}

// Endpoint is the entity workflow of one webhook's endpoint
// (webhook-endpoint:<webhook_id>): it owns the retries of the webhook's
// messages and its circuit breaker. A DeliveryBatch parks the messages
// whose first attempt failed retryably and wakes it; while the circuit is
// open the dispatcher parks new messages too. Each step (a local activity)
// sends what is due — every due retry while the endpoint answers, one
// probe per probe interval while it does not, a message's last attempt at
// its deadline — and the workflow sleeps until the next step has work or
// a signal arrives. When a probe succeeds, the circuit closes and every
// parked message is sent at once. The run ends when nothing is parked; the
// next failure starts a new one (signal-with-start). History holds ids,
// counts and times, never payloads or secrets.
func Endpoint(ctx workflow.Context, in EndpointInput) (EndpointState, error) {
	var st EndpointState
	if err := workflow.SetQueryHandler(ctx, EndpointStateQuery, func() (EndpointState, error) { return st, nil }); err != nil {
		return st, err
	}
	var a *activities.Deliveries
	wake := workflow.GetSignalChannel(ctx, EndpointWakeSignal)
	drain := func() int {
		n := 0
		for wake.ReceiveAsync(nil) {
			n++
		}
		return n
	}
	// A step's requests are bounded by timeout_seconds (at most 60 s);
	// infrastructure errors (the database) are retried without end.
	rounds := time.Duration((activities.EndpointStepLimit + activities.EndpointConcurrency - 1) / activities.EndpointConcurrency)
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: rounds*75*time.Second + time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})
	stepIn := activities.EndpointStepInput{OrganizationID: in.OrganizationID, WebhookID: in.WebhookID}
	for {
		drain()
		var res activities.EndpointStepResult
		err := workflow.ExecuteLocalActivity(lctx, a.EndpointStep, stepIn).Get(ctx, &res)
		if ctx.Err() != nil {
			return endpointCancelled(ctx, in, st)
		}
		if err != nil {
			return st, err
		}
		st.Steps++
		st.Open, st.Parked, st.NextWake = res.Open, res.Parked, res.NextWake
		st.Sent += res.Sent
		st.Delivered += res.Delivered
		st.Failed += res.Failed
		st.Cancelled += res.Cancelled
		if res.Idle {
			if drain() > 0 {
				continue // parked meanwhile
			}
			return st, nil
		}
		if st.Steps >= endpointStepsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			// Signals not yet read are not lost: the new run's first
			// step reads the parked rows they announced.
			return st, workflow.NewContinueAsNewError(ctx, Endpoint, in)
		}
		if res.More {
			continue
		}
		wait := res.NextWake.Sub(workflow.Now(ctx))
		if wait <= 0 {
			continue
		}
		tctx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(workflow.NewTimer(tctx, wait), func(workflow.Future) {})
		sel.AddReceive(wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		sel.Select(ctx)
		cancel()
		if ctx.Err() != nil {
			return endpointCancelled(ctx, in, st)
		}
	}
}

// endpointCancelled records every parked message cancelled (the webhook
// was disabled, or an operator cancelled the run) and ends the run
// cancelled.
func endpointCancelled(ctx workflow.Context, in EndpointInput, st EndpointState) (EndpointState, error) {
	var a *activities.Deliveries
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	dctx = workflow.WithLocalActivityOptions(dctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 10},
	})
	var n int
	_ = workflow.ExecuteLocalActivity(dctx, a.CancelParked, activities.EndpointCancelInput{
		OrganizationID: in.OrganizationID, WebhookID: in.WebhookID,
		Reason: "cancelled: the webhook was disabled (or its endpoint run cancelled) before the next attempt",
	}).Get(dctx, &n)
	st.Cancelled += n
	st.Parked, st.Open = 0, false
	return st, temporal.NewCanceledError()
}
