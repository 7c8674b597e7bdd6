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

// BatchConcurrency is how many requests one batch has in flight to its
// endpoint at a time.
const BatchConcurrency = 16

// BatchInput names the messages a DeliveryBatch run delivers: events of
// one webhook (the message id of each is its event id).
type BatchInput struct {
	OrganizationID string
	WebhookID      string
	EventIDs       []string
	// InEndpoint: the webhook's Endpoint workflow runs the batch (it takes
	// the parked retries itself; nothing to wake).
	InEndpoint bool
	// PerSecond paces the requests (a throttled webhook): their starts are
	// 1/PerSecond apart, and the batch lasts at least len(EventIDs)/PerSecond.
	PerSecond int
	// PriorRunID: the pump run that claimed these messages and lost its
	// lease before it finished (a stale pump batch restarted by the
	// dispatcher). Its attempts count as an earlier try of this run: a
	// message it recorded is not sent again, one it left pending is marked
	// interrupted and sent again (same webhook-id).
	PriorRunID string `json:",omitempty"`
}

// BatchResult is what the first attempts of a batch came to. Retries
// lists the messages that failed retryably; the workflow hands each to
// its own Delivery run with the webhook's settings below.
type BatchResult struct {
	Delivered, Failed, Cancelled int
	Retries                      []BatchRetry
	// Parked counts the retrying messages handed to the webhook's
	// endpoint workflow (then Retries is empty); CircuitOpen is set when
	// no message got through and the circuit opened.
	Parked            int
	CircuitOpen       bool
	TimeoutSeconds    int
	RetryCount        int
	RetryDelaySeconds int
	// released: the pump's outbox rows were deleted with the outcomes.
	released bool
}

// BatchRetry is a message whose first attempt failed retryably.
type BatchRetry struct {
	EventID   string
	EventType string
	// Delay until the second attempt (Retry-After or the backoff).
	Delay time.Duration
}

// DeliverBatch makes the first attempt of every message of a batch, up to
// BatchConcurrency at a time: it records the sends (pending rows, one
// transaction) before any request goes out and all outcomes in one
// transaction after. Run again (a crash, a database error), it does not
// resend a message it already recorded a result for in this run; a
// message sent but not recorded keeps its row, marked interrupted, and is
// sent again with the same webhook-id (receivers deduplicate on it) in a
// row of its own.
func (d *Deliveries) DeliverBatch(ctx context.Context, in BatchInput) (BatchResult, error) {
	wf := activityWorkflow(ctx)
	wh, err := d.Store.GetWebhook(ctx, in.OrganizationID, in.WebhookID)
	if errors.Is(err, store.ErrNotFound) {
		// Deleted: its rows are gone with it, nothing to record.
		d.countN("cancelled", len(in.EventIDs))
		return BatchResult{Cancelled: len(in.EventIDs)}, nil
	}
	if err != nil {
		return BatchResult{}, fmt.Errorf("load webhook %s: %w", in.WebhookID, err)
	}
	earlier, err := d.Store.RunAttempts(ctx, wf.RunID, in.EventIDs)
	if err != nil {
		return BatchResult{}, fmt.Errorf("load earlier attempts: %w", err)
	}
	if in.PriorRunID != "" {
		prior, err := d.Store.RunAttempts(ctx, in.PriorRunID, in.EventIDs)
		if err != nil {
			return BatchResult{}, fmt.Errorf("load the pump's attempts: %w", err)
		}
		var pending []string
		for _, r := range prior {
			if r.Status == models.DeliveryPending {
				pending = append(pending, r.MessageID)
			}
		}
		if err := d.Store.MarkInterrupted(ctx, in.PriorRunID, pending); err != nil {
			return BatchResult{}, err
		}
		earlier = append(prior, earlier...)
	}
	return d.deliverFirst(ctx, wf, wh, in, earlier, "")
}

// deliverFirst makes the first attempt of in's messages to wh as the run
// wf (DeliverBatch and the pump): earlier are the attempts an earlier try
// of the run recorded for them (nil: none, a first try). release is the
// pump's claim of these messages: when every message is delivered (or
// cancelled), its outbox rows are deleted with the outcomes, in one
// transaction (released reports it); otherwise the caller deletes them
// after the retries are parked and the auto-disable check ran, which a
// restart of the claim repeats.
func (d *Deliveries) deliverFirst(ctx context.Context, wf struct{ ID, RunID string }, wh models.Webhook, in BatchInput, earlier []models.WebhookDelivery, release string) (BatchResult, error) {
	res := BatchResult{TimeoutSeconds: wh.TimeoutSeconds, RetryCount: wh.RetryCount, RetryDelaySeconds: wh.RetryDelaySeconds}
	events, err := d.Store.GetEvents(ctx, in.OrganizationID, in.EventIDs)
	if err != nil {
		return BatchResult{}, fmt.Errorf("load events: %w", err)
	}
	done := map[string]models.WebhookDelivery{} // outcomes an earlier try of this run recorded
	interrupted := []string{}                   // sends of an earlier try whose outcome it never recorded
	for _, r := range earlier {
		switch {
		case r.Status == models.DeliveryPending:
			if r.RunID == wf.RunID {
				interrupted = append(interrupted, r.MessageID)
			}
		case !r.Interrupted:
			done[r.MessageID] = r
		}
	}
	var t *target
	if wh.IsActive {
		if t, err = d.prepare(wh); err != nil {
			return BatchResult{}, err
		}
	}

	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		rows    []*models.WebhookDelivery
		gone    *time.Time // when the first 410 was answered
		sem     = make(chan struct{}, BatchConcurrency)
		sending []*models.WebhookDelivery
		msgs    []*message
		// retrying are the first attempts that failed retryably.
		retrying []models.WebhookDelivery
	)
	timeout := time.Duration(wh.TimeoutSeconds) * time.Second
	for _, id := range in.EventIDs {
		ev, ok := events[id]
		if !ok {
			continue // deleted with its organization: nothing to deliver
		}
		if prev, ok := done[id]; ok {
			res.add(prev) // recorded by an earlier try of this run
			if prev.Status == models.DeliveryFailed && !prev.IsFinal {
				retrying = append(retrying, prev)
			}
			continue
		}
		row := &models.WebhookDelivery{
			ID: newDeliveryID(), WebhookID: wh.ID, OrganizationID: wh.OrganizationID,
			EventID: &ev.ID, EventType: ev.Type, MessageID: ev.ID, Payload: ev.Payload,
			WorkflowID: wf.ID, RunID: wf.RunID, AttemptedAt: d.now(), Status: models.DeliveryPending,
		}
		if !wh.IsActive {
			d.settle(row, models.DeliveryCancelled, "webhook is disabled", true)
			d.count("cancelled", 0)
			rows = append(rows, row)
			res.add(*row)
			continue
		}
		m, err := d.build(t, ev, ev.ID, row)
		if err != nil {
			m = &message{rejected: err.Error()}
		}
		sending = append(sending, row)
		msgs = append(msgs, m)
	}
	// Every send is in the log before its request goes out: a try that
	// dies before recording the outcomes leaves pending rows, which the
	// next try marks interrupted before sending again (docs/WEBHOOKS.md).
	if err := d.Store.BeginAttempts(ctx, wf.RunID, interrupted, sending); err != nil {
		return BatchResult{}, fmt.Errorf("record attempt starts: %w", err)
	}
	pace := newPacer(in.PerSecond)
	for i, row := range sending {
		m := msgs[i]
		if err := pace.wait(ctx, i); err != nil {
			break // cancelled: unsent rows stay pending, marked interrupted by the next try
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			oc := d.post(ctx, t, m, timeout, row)
			switch oc.kind {
			case outcomeSuccess:
				d.settle(row, models.DeliverySuccess, "", true)
				d.observe("success", oc.elapsed)
			case outcomeRetryable:
				if _, final := d.schedule(row, wh.RetryCount, wh.RetryDelaySeconds, oc.retryAfter); final {
					d.settle(row, models.DeliveryFailed, oc.msg+"; gave up after 1 attempts", true)
					d.observe("failed", oc.elapsed)
				} else {
					d.settle(row, models.DeliveryFailed, oc.msg, false)
					d.observe("retry", oc.elapsed)
				}
			default: // rejected or gone
				d.settle(row, models.DeliveryFailed, oc.msg, true)
				d.observe("failed", oc.elapsed)
			}
			mu.Lock()
			defer mu.Unlock()
			if oc.kind == outcomeGone && (gone == nil || row.AttemptedAt.Before(*gone)) {
				gone = &row.AttemptedAt
			}
			rows = append(rows, row)
			res.add(*row)
			if row.Status == models.DeliveryFailed && !row.IsFinal {
				retrying = append(retrying, *row)
			}
		}()
	}
	wg.Wait()
	_ = pace.wait(ctx, len(sending))
	if gone != nil {
		if err := d.deactivateGone(ctx, wh, *gone); err != nil {
			return BatchResult{}, err
		}
	}
	if release != "" && (res.Failed > 0 || len(res.Retries) > 0) {
		release = ""
	}
	if err := d.Store.RecordAttemptsReleasing(ctx, wh.ID, rows, release); err != nil {
		return BatchResult{}, fmt.Errorf("record attempts: %w", err)
	}
	res.released = release != ""
	if res.Failed > 0 {
		if err := d.autoDisable(ctx, wh.OrganizationID, wh.ID); err != nil {
			return BatchResult{}, fmt.Errorf("auto-disable check: %w", err)
		}
	}
	if d.Endpoints != nil && len(res.Retries) > 0 {
		if err := d.parkRetries(ctx, in, wh, &res, retrying, len(earlier) > 0); err != nil {
			return BatchResult{}, err
		}
	}
	return res, nil
}

// parkRetries hands the batch's retrying messages to the webhook's
// endpoint workflow: they are parked (with their attempt count and next
// retry time), the circuit opens when no message of the batch got
// through, and the workflow is woken. guard: an earlier try of this run
// may have parked them already, and the workflow may have settled them.
func (d *Deliveries) parkRetries(ctx context.Context, in BatchInput, wh models.Webhook, res *BatchResult, retrying []models.WebhookDelivery, guard bool) error {
	msgs := make([]models.ParkedMessage, 0, len(retrying))
	for _, r := range retrying {
		next := r.AttemptedAt
		if r.NextRetryAt != nil {
			next = *r.NextRetryAt
		}
		msgs = append(msgs, models.ParkedMessage{WebhookID: wh.ID, EventID: *r.EventID, OrganizationID: wh.OrganizationID,
			EventType: r.EventType, Attempts: r.RetryNumber + 1, Since: r.AttemptedAt, NextAttemptAt: next})
	}
	var open *models.Circuit
	if res.Delivered == 0 {
		now := d.now()
		var after time.Duration
		for _, r := range retrying {
			if r.NextRetryAt != nil && r.CompletedAt != nil {
				after = max(after, r.NextRetryAt.Sub(*r.CompletedAt))
			}
		}
		// The first probe waits the probe interval, or the longest delay
		// the endpoint asked for when that is shorter than the backoff.
		wait := ProbeInterval(wh.RetryDelaySeconds)
		if after > backoff(wh.RetryDelaySeconds, 1) {
			wait = max(wait, after)
		}
		open = &models.Circuit{WebhookID: wh.ID, OrganizationID: wh.OrganizationID, OpenedAt: now, NextProbeAt: now.Add(wait)}
	}
	if err := d.Store.ParkRetries(ctx, wh.ID, msgs, open, guard); err != nil {
		return fmt.Errorf("park retries: %w", err)
	}
	if !in.InEndpoint {
		if err := d.Endpoints.WakeEndpoint(ctx, wh.OrganizationID, wh.ID); err != nil {
			return fmt.Errorf("wake endpoint workflow: %w", err)
		}
	}
	res.Parked, res.Retries, res.CircuitOpen = len(msgs), nil, open != nil
	return nil
}

// add counts one recorded first attempt.
func (r *BatchResult) add(row models.WebhookDelivery) {
	switch {
	case row.Status == models.DeliverySuccess:
		r.Delivered++
	case row.Status == models.DeliveryCancelled:
		r.Cancelled++
	case row.IsFinal:
		r.Failed++
	default:
		delay := time.Second
		if row.NextRetryAt != nil && row.CompletedAt != nil {
			delay = max(row.NextRetryAt.Sub(*row.CompletedAt), time.Second)
		}
		r.Retries = append(r.Retries, BatchRetry{EventID: *row.EventID, EventType: row.EventType, Delay: delay})
	}
}

// settle sets an attempt row's final fields.
func (d *Deliveries) settle(row *models.WebhookDelivery, status, msg string, final bool) {
	now := d.now()
	row.Status = status
	row.CompletedAt = &now
	row.IsFinal = final
	if msg != "" {
		row.ErrorMessage = &msg
	}
}

func (d *Deliveries) countN(outcome string, n int) {
	for range n {
		d.count(outcome, 0)
	}
}
