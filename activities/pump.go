package activities

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/aqio/connect/models"
	"github.com/aqio/connect/store"
)

// Pump settings (the pump's workflow sets the heartbeat timeout).
const (
	// PumpLease is how long a pump's lease lives without a renewal: the
	// dispatcher takes the webhook back this long after its pump died.
	PumpLease = 20 * time.Second
	// pumpRenew is how often a pump renews its lease and heartbeats.
	pumpRenew = 3 * time.Second
	// PumpIdle is how long a pump waits without rows before it ends.
	PumpIdle = 60 * time.Second
	// PumpMaxRun bounds one pump activity; its workflow then continues as new.
	PumpMaxRun = time.Hour
	// pumpPoll is how often a pump looks at the outbox when nothing wakes it.
	pumpPoll = time.Second
	// PumpMaxBatch bounds the rows one pump loop claims (the dispatcher's
	// MaxBatch).
	PumpMaxBatch = 200
	// pumpParallel bounds the claims a pump delivers at a time (a burst).
	pumpParallel = 4
)

// Why a pump activity returned.
const (
	PumpIdleEnd  = "idle"     // no rows for PumpIdle: the workflow ends
	PumpBusy     = "busy"     // another pump holds the lease: the workflow ends
	PumpHandOver = "handover" // the webhook's rows go another way now (gone, paced, circuit open): the workflow ends
	PumpLimit    = "limit"    // PumpMaxRun reached: the workflow continues as new
)

// PumpInput names the webhook a pump delivers for.
type PumpInput struct {
	OrganizationID string
	WebhookID      string
	// Idle and MaxRun override PumpIdle and PumpMaxRun (tests).
	Idle   time.Duration `json:",omitempty"`
	MaxRun time.Duration `json:",omitempty"`
}

// PumpResult counts what a pump delivered (also its heartbeat details).
type PumpResult struct {
	Claims, Delivered, Failed, Cancelled, Parked int
	Reason                                       string
}

// Pump delivers a webhook's outbox rows for as long as they keep coming,
// with no Temporal call per message: it holds the webhook's lease
// (webhook_pumps, renewed with its heartbeat), claims the webhook's rows
// with the outbox's atomic claim, makes their first attempts with the
// code of DeliverBatch (attempt rows under the pump run, retries parked
// for the endpoint workflow) and deletes the rows. It is woken when this
// process commits outbox rows, on Postgres by a NOTIFY from another
// process, and polls every second otherwise. Rows it claimed but did not
// finish (it died) are restarted by the dispatcher once its lease lapsed.
func (d *Deliveries) Pump(ctx context.Context, in PumpInput) (PumpResult, error) {
	if d.Endpoints == nil {
		return PumpResult{Reason: PumpHandOver}, nil // retries need the endpoint workflow
	}
	info := activity.GetInfo(ctx)
	wf := activityWorkflow(ctx)
	owner := store.PumpOwner(wf.RunID, info.Attempt, randomToken())
	ok, err := d.Store.AcquirePumpLease(ctx, in.WebhookID, owner, d.now().Add(PumpLease))
	if err != nil {
		return PumpResult{}, err
	}
	if !ok {
		return PumpResult{Reason: PumpBusy}, nil
	}
	defer store.LocalPump(owner)()
	defer func() {
		_ = d.Store.ReleasePumpLease(context.WithoutCancel(ctx), in.WebhookID, owner)
	}()
	if d.Logger != nil {
		d.Store.ListenOutbox(d.Logger)
	}

	// The lease: renewed (and the heartbeat sent) every pumpRenew. A pump
	// that cannot renew it stops at once — the dispatcher may be taking
	// its webhook back — and its unfinished rows become stale.
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu  sync.Mutex
		res PumpResult
	)
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		t := time.NewTicker(pumpRenew)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
			}
			mu.Lock()
			details := res
			mu.Unlock()
			// Outside the lock: a heartbeat the SDK sends at once is a
			// call to the server, which the deliveries must not wait for.
			activity.RecordHeartbeat(ctx, details)
			ok, err := d.Store.RenewPumpLease(wctx, in.WebhookID, owner, d.now().Add(PumpLease))
			if err == nil && !ok {
				err = errors.New("lease lost")
			}
			if err != nil {
				cancel(fmt.Errorf("renew pump lease: %w", err))
				return
			}
		}
	}()
	defer func() { cancel(nil); <-renewDone }()

	idle, maxRun := in.Idle, in.MaxRun
	if idle <= 0 {
		idle = PumpIdle
	}
	if maxRun <= 0 {
		maxRun = PumpMaxRun
	}
	var (
		wg       sync.WaitGroup
		sem      = make(chan struct{}, pumpParallel)
		loopErr  error
		handOver bool
	)
	firstErr := func() error {
		mu.Lock()
		defer mu.Unlock()
		return loopErr
	}
	defer wg.Wait()
	// finish waits for the claims in flight and returns what the pump did.
	finish := func(reason string, err error) (PumpResult, error) {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		out := res
		out.Reason = reason
		if err == nil {
			err = loopErr
		}
		if err != nil {
			out.Reason = ""
		}
		return out, err
	}
	start, lastRows := time.Now(), time.Now()
	polled := true
	var wake <-chan struct{}
	// drained: the last claim took rows, fewer than PumpMaxBatch, so it
	// left none behind; until its wake-up fires nothing was committed
	// since, and the next claim would find nothing (one claim per quiet
	// message, not two).
	drained := false
	for n := 0; ; n++ {
		if err := wctx.Err(); err != nil {
			return finish("", pumpErr(ctx, wctx))
		}
		if time.Since(start) >= maxRun {
			return finish(PumpLimit, nil)
		}
		batchID := store.PumpBatchID(owner, n)
		var rows []models.OutboxEntry
		if !drained || isClosed(wake) {
			wake = store.OutboxWake(in.WebhookID) // before the claim: a commit after it wakes the next wait
			var err error
			if rows, err = d.Store.ClaimPumpRows(wctx, in.WebhookID, batchID, PumpMaxBatch); err != nil {
				if wctx.Err() != nil {
					return finish("", pumpErr(ctx, wctx))
				}
				return finish("", err)
			}
		}
		drained = false
		if len(rows) == 0 {
			// The claim takes nothing while the webhook's circuit is open
			// (another run found the endpoint failing): the webhook goes
			// back to the dispatcher, which parks its rows for the
			// endpoint workflow. Looked at after a poll (and the first
			// claim), not after every wake: a commit wakes every pump of
			// the process.
			if polled {
				if c, err := d.Store.GetCircuit(wctx, in.WebhookID); err != nil || c != nil {
					if err != nil && wctx.Err() != nil {
						err = pumpErr(ctx, wctx)
					}
					return finish(PumpHandOver, err)
				}
			}
			if time.Since(lastRows) >= idle {
				return finish(PumpIdleEnd, nil)
			}
			t := time.NewTimer(pumpPoll)
			polled = false
			select {
			case <-wake:
			case <-t.C:
				polled = true
			case <-wctx.Done():
			}
			t.Stop()
			continue
		}
		lastRows = time.Now()
		// The webhook is read after the claim, as a DeliveryBatch reads it
		// after the dispatcher's: a change committed before a message was
		// accepted (a rotated secret, a new URL) applies to it.
		wh, err := d.Store.GetWebhook(wctx, in.OrganizationID, in.WebhookID)
		if errors.Is(err, store.ErrNotFound) {
			return finish(PumpHandOver, nil) // deleted: its rows went with it
		}
		if err == nil && (wh.Ordered || wh.MaxDeliveriesPerSecond != nil) {
			// Paced now: its endpoint workflow is the one sender.
			return finish(PumpHandOver, d.Store.UnclaimPumpRows(context.WithoutCancel(ctx), batchID))
		}
		if err != nil {
			return finish("", fmt.Errorf("load webhook %s: %w", in.WebhookID, err))
		}
		bin := BatchInput{OrganizationID: wh.OrganizationID, WebhookID: wh.ID, EventIDs: make([]string, len(rows))}
		for i, r := range rows {
			bin.EventIDs[i] = r.EventID
		}
		// A burst: up to pumpParallel claims are delivered at a time, as
		// the dispatcher runs several DeliveryBatch runs at a time.
		sem <- struct{}{}
		if err := firstErr(); err != nil {
			<-sem
			return finish("", err)
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			br, err := d.deliverFirst(wctx, wf, wh, bin, nil, batchID)
			if err == nil && !br.released {
				// The rows of a failed claim stay claimed under this attempt's
				// batch id: once the lease is released they are stale, and the
				// dispatcher restarts them as a DeliveryBatch that skips what
				// was recorded.
				if err = d.Store.DeleteOutboxBatches(context.WithoutCancel(ctx), []string{batchID}); err != nil {
					err = fmt.Errorf("delete delivered outbox rows: %w", err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if wctx.Err() != nil {
					err = pumpErr(ctx, wctx)
				}
				if loopErr == nil {
					loopErr = err
				}
				return
			}
			res.Claims++
			res.Delivered += br.Delivered
			res.Failed += br.Failed
			res.Cancelled += br.Cancelled
			res.Parked += br.Parked
			if br.CircuitOpen {
				handOver = true
			}
		}()
		if len(rows) < PumpMaxBatch {
			wg.Wait() // quiet traffic: one claim at a time
			if err := firstErr(); err != nil {
				return finish("", err)
			}
			drained = true
		}
		mu.Lock()
		stop := handOver
		mu.Unlock()
		if stop {
			wg.Wait()
			return finish(PumpHandOver, firstErr()) // the dispatcher parks the webhook's messages now
		}
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// pumpErr is why the pump's context ended: the activity's (cancelled,
// timed out) or a lost lease.
func pumpErr(ctx, wctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return context.Cause(wctx)
}

func randomToken() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
