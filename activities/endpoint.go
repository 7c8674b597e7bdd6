package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aqio/connect/models"
	"github.com/aqio/connect/store"
)

// EndpointConcurrency is how many requests an endpoint workflow has in
// flight to its endpoint at a time (draining after a recovery).
const EndpointConcurrency = 32

// EndpointStepLimit bounds the messages one endpoint step sends.
const EndpointStepLimit = 500

// Probe interval bounds: a failing endpoint is probed every
// retry_delay_seconds/4, at least every ProbeIntervalMax and at most every
// ProbeIntervalMin.
const (
	ProbeIntervalMin = time.Second
	ProbeIntervalMax = 10 * time.Second
)

// EndpointWaker makes sure a webhook's endpoint workflow runs and looks
// at its parked messages (a signal-with-start; the webhooks service).
type EndpointWaker interface {
	WakeEndpoint(ctx context.Context, orgID, webhookID string) error
}

// EndpointStepInput names the endpoint a step works for.
type EndpointStepInput struct {
	OrganizationID string
	WebhookID      string
	// Limit bounds the messages the step sends (0: EndpointStepLimit): a
	// throttled endpoint's second's worth, 1 for an ordered one (its head).
	Limit int
	// PerSecond paces the requests (see BatchInput.PerSecond).
	PerSecond int
}

// pacer spaces request starts 1/perSecond apart (no pacing at 0).
type pacer struct {
	start     time.Time
	perSecond int
}

func newPacer(perSecond int) pacer { return pacer{start: time.Now(), perSecond: perSecond} }

// wait blocks until request i may start (i = n: until n requests' share
// of a second has passed since the start).
func (p pacer) wait(ctx context.Context, i int) error {
	if p.perSecond <= 0 || i == 0 {
		return nil
	}
	d := time.Until(p.start.Add(time.Duration(i) * time.Second / time.Duration(p.perSecond)))
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ParkPendingInput names messages an endpoint workflow holds while the
// endpoint's circuit is open.
type ParkPendingInput struct {
	OrganizationID string
	WebhookID      string
	EventIDs       []string
}

// ParkPending parks messages without an attempt: an endpoint workflow
// received them while the circuit is open (they wait for the recovery,
// spending no attempt, like the ones the dispatcher parks).
func (d *Deliveries) ParkPending(ctx context.Context, in ParkPendingInput) (int, error) {
	events, err := d.Store.GetEvents(ctx, in.OrganizationID, in.EventIDs)
	if err != nil {
		return 0, fmt.Errorf("load events: %w", err)
	}
	types := make(map[string]string, len(events))
	for id, ev := range events {
		types[id] = ev.Type
	}
	if err := d.Store.ParkNew(ctx, in.OrganizationID, in.WebhookID, types); err != nil {
		return 0, fmt.Errorf("park messages: %w", err)
	}
	return len(types), nil
}

// EndpointStepResult is what one step did and what the endpoint waits
// for: counts and times only (it is recorded in workflow history).
type EndpointStepResult struct {
	Sent, Delivered, Failed, Cancelled int
	// Parked messages left; Open is the circuit's state after the step.
	Parked int
	Open   bool
	// Idle: nothing is parked and the circuit is closed; the workflow
	// may end.
	Idle bool
	// More: the step hit its limit or closed the circuit; step again now.
	More bool
	// NextWake is when the next step has work (a due retry, a probe, a
	// deadline).
	NextWake time.Time
}

// ProbeInterval is how often a failing endpoint is probed.
func ProbeInterval(retryDelaySeconds int) time.Duration {
	d := time.Duration(retryDelaySeconds) * time.Second / 4
	return min(max(d, ProbeIntervalMin), ProbeIntervalMax)
}

// RetrySchedule is how long after its first attempt a message's last
// attempt is due when every attempt fails: the sum of the backoff delays
// of its retry_count retries. A parked message's deadline is its first
// attempt (or its parking) plus this.
func RetrySchedule(retryCount, delaySeconds int) time.Duration {
	var total time.Duration
	for n := 1; n <= retryCount; n++ {
		total += backoff(delaySeconds, n)
	}
	return total
}

// EndpointStep is one step of a webhook's endpoint workflow: it sends
// what is due and records the outcomes, and decides the circuit.
//
//   - Circuit closed: every parked message whose retry is due is sent
//     (up to EndpointStepLimit, EndpointConcurrency at a time); messages
//     parked without an attempt are due at once.
//   - Circuit open: at most one probe per probe interval — the parked
//     message with the most attempts left (never its last one before its
//     deadline) — plus the final attempt of every message whose deadline
//     passed. Other messages spend no attempt.
//   - A step with a retryable failure and no success opens the circuit (or
//     keeps it open); one success closes it and every parked message is
//     due at once. A rejection (4xx) leaves the circuit as it is.
//
// Disabled or deleted webhook: every parked message is recorded cancelled.
func (d *Deliveries) EndpointStep(ctx context.Context, in EndpointStepInput) (EndpointStepResult, error) {
	wf := activityWorkflow(ctx)
	wh, err := d.Store.GetWebhook(ctx, in.OrganizationID, in.WebhookID)
	if errors.Is(err, store.ErrNotFound) {
		return EndpointStepResult{Idle: true}, nil // deleted: its parked rows went with it
	}
	if err != nil {
		return EndpointStepResult{}, fmt.Errorf("load webhook %s: %w", in.WebhookID, err)
	}
	if !wh.IsActive {
		n, err := d.cancelParked(ctx, wh, "cancelled: the webhook was disabled before the next attempt")
		return EndpointStepResult{Cancelled: n, Idle: true}, err
	}
	if _, err := d.Store.RecoverEndpointRun(ctx, wh.ID, wf.RunID); err != nil {
		return EndpointStepResult{}, fmt.Errorf("recover interrupted sends: %w", err)
	}
	circuit, err := d.Store.GetCircuit(ctx, wh.ID)
	if err != nil {
		return EndpointStepResult{}, err
	}
	now := d.now()
	schedule := RetrySchedule(wh.RetryCount, wh.RetryDelaySeconds)
	cutoff := now.Add(-schedule) // parked at or before: deadline passed
	interval := ProbeInterval(wh.RetryDelaySeconds)

	limit := EndpointStepLimit
	if in.Limit > 0 {
		limit = min(in.Limit, limit)
	}
	var due []models.ParkedMessage
	probing := false
	if circuit == nil {
		if due, err = d.Store.DueParked(ctx, wh.ID, now, limit); err != nil {
			return EndpointStepResult{}, fmt.Errorf("read due messages: %w", err)
		}
	} else {
		if due, err = d.Store.ExpiredParked(ctx, wh.ID, cutoff, limit); err != nil {
			return EndpointStepResult{}, fmt.Errorf("read expired messages: %w", err)
		}
		if !now.Before(circuit.NextProbeAt) {
			probing = true
			p, err := d.Store.ProbeCandidate(ctx, wh.ID, wh.RetryCount, cutoff)
			if err != nil {
				return EndpointStepResult{}, fmt.Errorf("choose probe: %w", err)
			}
			if p != nil && len(due) < limit {
				due = append(due, *p)
			}
		}
	}

	res := EndpointStepResult{More: len(due) >= limit}
	step := store.EndpointStep{}
	var tally stepTally
	if len(due) > 0 {
		if tally, err = d.sendParked(ctx, wh, due, cutoff, in.PerSecond, &res, &step); err != nil {
			return EndpointStepResult{}, err
		}
	}
	// The circuit: a success closes it, retryable failures alone open it.
	retryable := len(step.Waiting) + tally.retryFinal
	switch {
	case res.Delivered > 0 && circuit != nil:
		step.CloseCircuit = true
		res.More = true // everything parked is due now
	case res.Delivered == 0 && retryable > 0 || circuit != nil && probing:
		next := now.Add(max(interval, tally.retryAfter))
		opened := now
		if circuit != nil {
			opened = circuit.OpenedAt
			if !probing {
				next = circuit.NextProbeAt
			}
		}
		step.Circuit = &models.Circuit{WebhookID: wh.ID, OrganizationID: wh.OrganizationID, OpenedAt: opened, NextProbeAt: next}
	}
	if tally.gone != nil {
		if err := d.deactivateGone(ctx, wh, *tally.gone); err != nil {
			return EndpointStepResult{}, err
		}
	}
	if len(step.Rows) > 0 || step.CloseCircuit || step.Circuit != nil {
		if err := d.Store.CompleteEndpointStep(ctx, wh.ID, step); err != nil {
			return EndpointStepResult{}, fmt.Errorf("record attempts: %w", err)
		}
	}
	if res.Failed > 0 {
		if err := d.autoDisable(ctx, wh.OrganizationID, wh.ID); err != nil {
			return EndpointStepResult{}, fmt.Errorf("auto-disable check: %w", err)
		}
	}

	// What the endpoint waits for now.
	sum, err := d.Store.SummarizeParked(ctx, wh.ID)
	if err != nil {
		return EndpointStepResult{}, fmt.Errorf("summarize parked messages: %w", err)
	}
	res.Parked = int(sum.Count)
	open := !step.CloseCircuit && (circuit != nil || step.Circuit != nil)
	if sum.Count == 0 {
		if open {
			// Nothing left to probe with: the next failure opens it again.
			if err := d.Store.CompleteEndpointStep(ctx, wh.ID, store.EndpointStep{CloseCircuit: true}); err != nil {
				return EndpointStepResult{}, fmt.Errorf("close circuit: %w", err)
			}
		}
		res.Idle, res.More = true, false
		return res, nil
	}
	res.Open = open
	if open {
		probe := now.Add(interval)
		if step.Circuit != nil {
			probe = step.Circuit.NextProbeAt
		} else if circuit != nil {
			probe = circuit.NextProbeAt
		}
		res.NextWake = minTime(probe, sum.OldestSet.Add(schedule))
	} else {
		res.NextWake = sum.NextDue
	}
	if !res.NextWake.After(now) {
		if open {
			res.NextWake = now.Add(ProbeIntervalMin) // never a busy loop
		} else {
			res.More = true // became due during the step
		}
	}
	return res, nil
}

// stepTally collects a step's outcomes beyond the counts it reports.
type stepTally struct {
	retryFinal int           // retryable failures that ended a message (deadline, budget)
	retryAfter time.Duration // the longest Retry-After answered
	gone       *time.Time    // the first 410
}

// sendParked sends the given parked messages (EndpointConcurrency at a
// time) and fills in the step: rows, settled and waiting messages.
func (d *Deliveries) sendParked(ctx context.Context, wh models.Webhook, due []models.ParkedMessage, cutoff time.Time, perSecond int,
	res *EndpointStepResult, step *store.EndpointStep) (stepTally, error) {
	wf := activityWorkflow(ctx)
	ids := make([]string, len(due))
	for i, p := range due {
		ids[i] = p.EventID
	}
	events, err := d.Store.GetEvents(ctx, wh.OrganizationID, ids)
	if err != nil {
		return stepTally{}, fmt.Errorf("load events: %w", err)
	}
	t, err := d.prepare(wh)
	if err != nil {
		return stepTally{}, err
	}
	var (
		sending []*models.WebhookDelivery
		msgs    []*message
		parked  []models.ParkedMessage
	)
	for _, p := range due {
		ev, ok := events[p.EventID]
		if !ok {
			step.Settled = append(step.Settled, p.EventID) // deleted with its organization
			continue
		}
		row := &models.WebhookDelivery{
			ID: newDeliveryID(), WebhookID: wh.ID, OrganizationID: wh.OrganizationID,
			EventID: &ev.ID, EventType: ev.Type, MessageID: ev.ID, Payload: ev.Payload,
			WorkflowID: wf.ID, RunID: wf.RunID, AttemptedAt: d.now(), Status: models.DeliveryPending,
			IsRetry: p.Attempts > 0, RetryNumber: p.Attempts,
		}
		m, err := d.build(t, ev, ev.ID, row)
		if err != nil {
			m = &message{rejected: err.Error()}
		}
		sending = append(sending, row)
		msgs = append(msgs, m)
		parked = append(parked, p)
	}
	// In the log before the requests go out (docs/WEBHOOKS.md, "Every
	// send is recorded"); pending rows of this run were marked
	// interrupted at the start of the step.
	if err := d.Store.BeginAttempts(ctx, wf.RunID, []string{}, sending); err != nil {
		return stepTally{}, fmt.Errorf("record attempt starts: %w", err)
	}
	timeout := time.Duration(wh.TimeoutSeconds) * time.Second
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		sem   = make(chan struct{}, EndpointConcurrency)
		tally stepTally
	)
	pace := newPacer(perSecond)
	for i, row := range sending {
		m, p := msgs[i], parked[i]
		if err := pace.wait(ctx, i); err != nil {
			break // cancelled: unsent rows stay pending, marked interrupted by the next step
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			oc := d.post(ctx, t, m, timeout, row)
			mu.Lock()
			defer mu.Unlock()
			res.Sent++
			switch oc.kind {
			case outcomeSuccess:
				d.settle(row, models.DeliverySuccess, "", true)
				d.observe("success", oc.elapsed)
				res.Delivered++
				step.Settled = append(step.Settled, p.EventID)
			case outcomeRetryable:
				tally.retryAfter = max(tally.retryAfter, min(oc.retryAfter, MaxRetryInterval))
				expired := !p.Since.After(cutoff)
				next, final := d.schedule(row, wh.RetryCount, wh.RetryDelaySeconds, oc.retryAfter)
				switch {
				case final:
					d.settle(row, models.DeliveryFailed, fmt.Sprintf("%s; gave up after %d attempts", oc.msg, row.RetryNumber+1), true)
				case expired:
					row.NextRetryAt = nil
					d.settle(row, models.DeliveryFailed, fmt.Sprintf("%s; gave up after %d attempts: the retry deadline passed while the endpoint was failing",
						oc.msg, row.RetryNumber+1), true)
					final = true
				default:
					d.settle(row, models.DeliveryFailed, oc.msg, false)
					d.observe("retry", oc.elapsed)
					p.Attempts = row.RetryNumber + 1
					p.NextAttemptAt = row.CompletedAt.Add(next)
					step.Waiting = append(step.Waiting, p)
				}
				if final {
					d.observe("failed", oc.elapsed)
					res.Failed++
					tally.retryFinal++
					step.Settled = append(step.Settled, p.EventID)
				}
			default: // rejected or gone
				d.settle(row, models.DeliveryFailed, oc.msg, true)
				d.observe("failed", oc.elapsed)
				res.Failed++
				step.Settled = append(step.Settled, p.EventID)
				if oc.kind == outcomeGone && (tally.gone == nil || row.AttemptedAt.Before(*tally.gone)) {
					tally.gone = &row.AttemptedAt
				}
			}
			step.Rows = append(step.Rows, row)
		}()
	}
	wg.Wait()
	_ = pace.wait(ctx, len(sending))
	return tally, nil
}

// EndpointCancelInput names the endpoint whose parked messages are cancelled.
type EndpointCancelInput struct {
	OrganizationID string
	WebhookID      string
	Reason         string
}

// CancelParked records every parked message of a webhook cancelled (its
// endpoint workflow was cancelled: the webhook was disabled or an
// operator cancelled the run) and closes the circuit.
func (d *Deliveries) CancelParked(ctx context.Context, in EndpointCancelInput) (int, error) {
	wh, err := d.Store.GetWebhook(ctx, in.OrganizationID, in.WebhookID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load webhook %s: %w", in.WebhookID, err)
	}
	return d.cancelParked(ctx, wh, in.Reason)
}

func (d *Deliveries) cancelParked(ctx context.Context, wh models.Webhook, reason string) (int, error) {
	wf := activityWorkflow(ctx)
	parked, err := d.Store.AllParked(ctx, wh.ID)
	if err != nil || len(parked) == 0 {
		if err == nil {
			err = d.Store.CompleteEndpointStep(ctx, wh.ID, store.EndpointStep{CloseCircuit: true})
		}
		return 0, err
	}
	ids := make([]string, len(parked))
	for i, p := range parked {
		ids[i] = p.EventID
	}
	events, err := d.Store.GetEvents(ctx, wh.OrganizationID, ids)
	if err != nil {
		return 0, fmt.Errorf("load events: %w", err)
	}
	now := d.now()
	rows := make([]*models.WebhookDelivery, 0, len(parked))
	for _, p := range parked {
		row := &models.WebhookDelivery{
			ID: newDeliveryID(), WebhookID: wh.ID, OrganizationID: wh.OrganizationID,
			EventID: &p.EventID, EventType: p.EventType, MessageID: p.EventID,
			WorkflowID: wf.ID, RunID: wf.RunID, AttemptedAt: now, CompletedAt: &now,
			Status: models.DeliveryCancelled, ErrorMessage: &reason, IsRetry: p.Attempts > 0, RetryNumber: p.Attempts, IsFinal: true,
		}
		if ev, ok := events[p.EventID]; ok {
			row.Payload = ev.Payload
		}
		rows = append(rows, row)
		d.count("cancelled", 0)
	}
	if err := d.Store.CancelParked(ctx, wh.ID, rows); err != nil {
		return 0, fmt.Errorf("record cancelled messages: %w", err)
	}
	return len(rows), nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
