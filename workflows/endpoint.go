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

// EndpointMessagesSignal hands new messages (event ids, in order) to an
// endpoint workflow: the dispatcher's hand-off for a paced webhook.
const EndpointMessagesSignal = "messages"

// endpointHistoryLimit bounds the events of one run before it continues
// as new (a message handed over costs about six, a step about ten).
const endpointHistoryLimit = 8000

// endpointActivitiesPerRun bounds the local activities of one run as well
// (the history length is not known in every environment).
const endpointActivitiesPerRun = 1000

// endpointIdle is how long a run that received messages waits for more
// before it ends (nothing parked, nothing pending).
const endpointIdle = time.Minute

// EndpointInput names the webhook an Endpoint workflow owns; a run that
// continues as new carries the messages it had not sent yet and the
// webhook's pacing.
type EndpointInput struct {
	OrganizationID string
	WebhookID      string
	Pending        []string `json:",omitempty"`
	Ordered        bool     `json:",omitempty"`
	MaxPerSecond   int      `json:",omitempty"`
}

// EndpointMessages is the messages signal: event ids in the order they
// must be sent, and the webhook's pacing at the hand-off.
type EndpointMessages struct {
	EventIDs     []string
	Ordered      bool
	MaxPerSecond int
}

// EndpointState is what an endpoint workflow reports (query "state" and
// its result): the circuit, what is parked and pending, and this run's
// totals.
type EndpointState struct {
	Open      bool      `json:"circuit_open"`
	Parked    int       `json:"parked"`
	Pending   int       `json:"pending"`
	NextWake  time.Time `json:"next_wake"`
	Steps     int       `json:"steps"`
	Sent      int       `json:"sent"`
	Delivered int       `json:"delivered"`
	Failed    int       `json:"failed"`
	Cancelled int       `json:"cancelled"`
}

// paceChunk is how many messages a throttled endpoint's activity sends:
// a second's worth (at most 200), their starts spaced 1/perSecond apart
// by the activity itself (a timer per message would cost history).
func paceChunk(perSecond int) int {
	return min(max(1, perSecond), 200)
}

// Endpoint is the entity workflow of one webhook's endpoint
// (webhook-endpoint:<webhook_id>): it owns the retries of the webhook's
// messages, its circuit breaker and, for a paced webhook, every send.
//
// A DeliveryBatch parks the messages whose first attempt failed retryably
// and wakes it; while the circuit is open the dispatcher parks new
// messages too. Each step (a local activity) sends what is due — every
// due retry while the endpoint answers, one probe per probe interval while
// it does not, a message's last attempt at its deadline — and the workflow
// sleeps until the next step has work or a signal arrives. When a probe
// succeeds, the circuit closes and every parked message is sent at once.
//
// A paced webhook (ordered, or max_deliveries_per_second) has all its
// messages handed to this workflow by the dispatcher (signal "messages",
// ids only): ordered, one at a time, the next only once the previous one
// is delivered or failed for good; throttled, a tenth of a second's worth
// at a time.
//
// The run ends when nothing is parked or pending (after a minute without
// messages for a run that received some); the next failure or message
// starts a new one (signal-with-start). History holds ids, counts and
// times, never payloads or secrets.
func Endpoint(ctx workflow.Context, in EndpointInput) (EndpointState, error) {
	var st EndpointState
	pending := in.Pending
	ordered, rate := in.Ordered, in.MaxPerSecond
	if err := workflow.SetQueryHandler(ctx, EndpointStateQuery, func() (EndpointState, error) {
		st.Pending = len(pending)
		return st, nil
	}); err != nil {
		return st, err
	}
	var a *activities.Deliveries
	wake := workflow.GetSignalChannel(ctx, EndpointWakeSignal)
	messages := workflow.GetSignalChannel(ctx, EndpointMessagesSignal)
	stepDue := true // look at the parked messages first
	gotMessages := len(pending) > 0
	onMessages := func(m EndpointMessages) {
		pending = append(pending, m.EventIDs...)
		ordered, rate = m.Ordered, m.MaxPerSecond
		gotMessages = true
	}
	read := func() int {
		n := 0
		for wake.ReceiveAsync(nil) {
			stepDue = true
			n++
		}
		for {
			var m EndpointMessages
			if !messages.ReceiveAsync(&m) {
				return n
			}
			onMessages(m)
			n++
		}
	}
	// A step's requests are bounded by timeout_seconds (at most 60 s);
	// infrastructure errors (the database) are retried without end.
	rounds := time.Duration((activities.EndpointStepLimit + activities.EndpointConcurrency - 1) / activities.EndpointConcurrency)
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: rounds*75*time.Second + time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})
	var (
		parked       int
		open         bool
		lastActivity = workflow.Now(ctx)
		wakeAt       time.Time // the running wake timer's deadline
		wakeTimer    workflow.Future
		wakeCancel   workflow.CancelFunc
		idleTimer    workflow.Future
		acts         int // local activities run
	)
	for {
		read()
		if ctx.Err() != nil {
			return endpointCancelled(ctx, in, st)
		}
		switch {
		case stepDue:
			limit := 0
			if ordered {
				limit = 1
			} else if rate > 0 {
				limit = paceChunk(rate)
			}
			var res activities.EndpointStepResult
			acts++
			err := workflow.ExecuteLocalActivity(lctx, a.EndpointStep, activities.EndpointStepInput{
				OrganizationID: in.OrganizationID, WebhookID: in.WebhookID, Limit: limit, PerSecond: rate}).Get(ctx, &res)
			if ctx.Err() != nil {
				return endpointCancelled(ctx, in, st)
			}
			if err != nil {
				return st, err
			}
			st.Steps++
			st.Sent += res.Sent
			st.Delivered += res.Delivered
			st.Failed += res.Failed
			st.Cancelled += res.Cancelled
			parked, open, stepDue = res.Parked, res.Open, res.More
			st.Open, st.Parked, st.NextWake = res.Open, res.Parked, res.NextWake
			if res.Idle {
				parked, open, st.NextWake = 0, false, time.Time{}
			}
			if res.Sent > 0 {
				lastActivity = workflow.Now(ctx)
			}
			continue
		case len(pending) > 0 && !(ordered && parked > 0):
			if open && !ordered {
				// The endpoint is failing: hold them parked (no attempt
				// spent) until a probe gets through.
				n := min(len(pending), activities.EndpointStepLimit)
				var parkedNow int
				acts++
				if err := workflow.ExecuteLocalActivity(lctx, a.ParkPending, activities.ParkPendingInput{
					OrganizationID: in.OrganizationID, WebhookID: in.WebhookID, EventIDs: pending[:n]}).Get(ctx, &parkedNow); err != nil {
					if ctx.Err() != nil {
						return endpointCancelled(ctx, in, st)
					}
					return st, err
				}
				pending = pending[n:]
				parked += parkedNow
				st.Parked = parked
				continue
			}
			n := min(len(pending), 200)
			if ordered {
				n = 1
			} else if rate > 0 {
				n = min(n, paceChunk(rate))
			}
			var res activities.BatchResult
			acts++
			err := workflow.ExecuteLocalActivity(lctx, a.DeliverBatch, activities.BatchInput{
				OrganizationID: in.OrganizationID, WebhookID: in.WebhookID, EventIDs: pending[:n], InEndpoint: true, PerSecond: rate}).Get(ctx, &res)
			if ctx.Err() != nil {
				return endpointCancelled(ctx, in, st)
			}
			if err != nil {
				return st, err
			}
			pending = pending[n:]
			st.Sent += n
			st.Delivered += res.Delivered
			st.Failed += res.Failed
			st.Cancelled += res.Cancelled
			if res.Parked > 0 {
				parked += res.Parked
				st.Parked = parked
				stepDue = true // when its retry is due, whether the circuit opened
			}
			open = open || res.CircuitOpen
			lastActivity = workflow.Now(ctx)
			continue
		}

		// Nothing to do before a signal, the next wake or the idle timeout.
		if info := workflow.GetInfo(ctx); acts >= endpointActivitiesPerRun || info.GetCurrentHistoryLength() >= endpointHistoryLimit || info.GetContinueAsNewSuggested() {
			// Signals not yet read are not lost to the outbox: their
			// rows were deleted once Temporal held them, so read them now.
			read()
			return st, workflow.NewContinueAsNewError(ctx, Endpoint, EndpointInput{
				OrganizationID: in.OrganizationID, WebhookID: in.WebhookID, Pending: pending, Ordered: ordered, MaxPerSecond: rate})
		}
		now := workflow.Now(ctx)
		if parked == 0 && len(pending) == 0 && (!gotMessages || now.Sub(lastActivity) >= endpointIdle) {
			if read() > 0 {
				continue // arrived meanwhile
			}
			return st, nil
		}
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(wake, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			stepDue = true
		})
		sel.AddReceive(messages, func(c workflow.ReceiveChannel, _ bool) {
			var m EndpointMessages
			c.Receive(ctx, &m)
			onMessages(m)
		})
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		if parked > 0 && !st.NextWake.IsZero() {
			if wakeTimer == nil || !wakeAt.Equal(st.NextWake) {
				if wakeCancel != nil {
					wakeCancel()
				}
				var tctx workflow.Context
				tctx, wakeCancel = workflow.WithCancel(ctx)
				wakeAt = st.NextWake
				wakeTimer = workflow.NewTimer(tctx, max(wakeAt.Sub(now), time.Millisecond))
			}
			sel.AddFuture(wakeTimer, func(workflow.Future) {
				wakeTimer, wakeCancel = nil, nil
				stepDue = true
			})
		}
		if gotMessages && parked == 0 {
			if idleTimer == nil {
				idleTimer = workflow.NewTimer(ctx, max(lastActivity.Add(endpointIdle).Sub(now), time.Millisecond))
			}
			sel.AddFuture(idleTimer, func(workflow.Future) { idleTimer = nil })
		}
		sel.Select(ctx)
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
