package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/ids"
	"github.com/aqio/connect/store"
	"github.com/aqio/connect/workflows"
)

// Dispatcher settings.
const (
	// claimLimit bounds the outbox rows one pass claims.
	claimLimit = 1000
	// MaxBatch bounds the messages of one DeliveryBatch run.
	MaxBatch = 200
	// startConcurrency bounds the workflow starts in flight.
	startConcurrency = 8
	// dispatchPoll is how often the dispatcher looks at the outbox when
	// nothing wakes it (rows written by another process).
	dispatchPoll = time.Second
	// DefaultStaleClaim is how long a claimed batch may wait for its start
	// before another pass starts it (its dispatcher died in between).
	DefaultStaleClaim = 30 * time.Second
)

// dispatcher hands outbox rows to Temporal: it claims the waiting rows,
// groups them by webhook and event type into batches, starts one
// DeliveryBatch workflow per batch (the workflow id is the batch id, so a
// repeated start is a no-op) and deletes the rows once their workflow
// exists. The batches of a webhook whose circuit is open go to its
// Endpoint workflow instead (parked). Several dispatchers (API replicas)
// can run against one database.
type dispatcher struct {
	s      *Service
	logger *slog.Logger
	wake   chan struct{}
	// notify: rows were committed only for webhooks whose pumps hold live
	// leases, some in another process: one NOTIFY, no claim pass.
	notify chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// StartDispatcher starts the outbox dispatcher of this process (once).
func (s *Service) StartDispatcher(logger *slog.Logger) {
	s.dispatcherMu.Lock()
	defer s.dispatcherMu.Unlock()
	if s.dispatcher != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &dispatcher{s: s, logger: logger.With("component", "dispatcher"), wake: make(chan struct{}, 1), notify: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	s.dispatcher = d
	go d.run(ctx)
}

// StopDispatcher stops the dispatcher and waits for its pass to end; rows
// it had not started are started by the next dispatcher.
func (s *Service) StopDispatcher() {
	s.dispatcherMu.Lock()
	d := s.dispatcher
	s.dispatcher = nil
	s.dispatcherMu.Unlock()
	if d != nil {
		d.cancel()
		<-d.done
	}
}

// kick wakes this process's dispatcher, if it runs one, and this
// process's endpoint pumps of the webhooks that outbox rows were just
// committed for.
func (s *Service) kick(webhookIDs []string) {
	notifyOnly := false
	if s.Pump {
		store.NotifyOutboxFor(webhookIDs)
		switch leased, remote := s.pumps.leased(webhookIDs); {
		case leased && !remote:
			// Every row is its pump's, in this process: a dispatcher pass
			// would claim nothing (its next tick still looks, in case a
			// pump died).
			return
		case leased:
			// Every row is a live pump's, some in another process: they
			// need a NOTIFY, not a claim pass.
			notifyOnly = true
		}
	}
	s.dispatcherMu.Lock()
	d := s.dispatcher
	s.dispatcherMu.Unlock()
	if d == nil {
		return
	}
	wake := d.wake
	if notifyOnly {
		wake = d.notify
	}
	select {
	case wake <- struct{}{}:
	default: // already awake or about to be
	}
}

func (d *dispatcher) run(ctx context.Context) {
	defer close(d.done)
	tick := time.NewTicker(dispatchPoll)
	defer tick.Stop()
	var lastStale time.Time // look for stale claims at once: an earlier process may have left some
	for {
		kicked := false
		select {
		case <-ctx.Done():
			return
		case <-d.notify:
			// Rows only for live pumps, some of another process: wake
			// them (one NOTIFY for every kick since the last), no pass.
			if err := d.s.Store.NotifyPumps(ctx); err != nil && ctx.Err() == nil {
				d.logger.Error("notify endpoint pumps", "err", err)
			}
			continue
		case <-d.wake:
			kicked = true
		case <-tick.C:
			if d.s.Pump {
				if err := d.s.refreshPumps(ctx); err != nil && ctx.Err() == nil {
					d.logger.Error("read endpoint pump leases", "err", err)
				}
			}
		}
		if kicked && (d.s.pumps.remote() || len(d.s.pumps.starting(time.Now())) > 0) {
			// This process committed outbox rows and a pump of another
			// process may own their webhook, or one this dispatcher just
			// started, whose lease it has not read yet and whose rows it
			// leaves alone (pumpStartGrace): one NOTIFY per pass.
			if err := d.s.Store.NotifyPumps(ctx); err != nil && ctx.Err() == nil {
				d.logger.Error("notify endpoint pumps", "err", err)
			}
		}
		if time.Since(lastStale) >= d.s.staleClaim()/3 {
			lastStale = time.Now()
			if err := d.restartStale(ctx); err != nil && ctx.Err() == nil {
				d.logger.Error("restart stale outbox batches", "err", err)
			}
			if err := d.s.wakeParked(ctx); err != nil && ctx.Err() == nil {
				d.logger.Error("wake endpoint workflows of parked messages", "err", err)
			}
		}
		for ctx.Err() == nil {
			n, err := d.s.DispatchOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					d.logger.Error("dispatch outbox", "err", err)
				}
				break
			}
			if n < claimLimit {
				break
			}
		}
	}
}

// DispatchOnce claims what waits in the outbox and starts its batches; it
// returns how many rows it claimed. Rows whose start failed stay claimed
// and are started again after the stale-claim interval.
func (s *Service) DispatchOnce(ctx context.Context) (int, error) {
	batches, err := s.Store.ClaimOutboxSkipping(ctx, claimLimit, MaxBatch, func() string {
		return strings.TrimPrefix(ids.New("b"), "b_")
	}, s.pumps.starting(time.Now()))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, b := range batches {
		n += len(b.EventIDs)
	}
	return n, s.startBatches(ctx, batches)
}

// routeBatches splits batches into those to start as DeliveryBatch runs
// and those of webhooks whose circuit is open, which are parked for their
// endpoint workflow: a failing endpoint gets no request per new message
// and costs no new execution per batch.
// A paced webhook's batches (ordered, throttled) go to its endpoint
// workflow as messages: it is the one sender of that webhook.
func (s *Service) routeBatches(ctx context.Context, batches []store.OutboxBatch) (start, park, paced []store.OutboxBatch, pacing map[string]store.Pacing, err error) {
	if len(batches) == 0 {
		return nil, nil, nil, nil, nil
	}
	if pacing, err = s.Store.PacedWebhooks(ctx); err != nil {
		return nil, nil, nil, nil, err
	}
	open, err := s.Store.OpenCircuits(ctx)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	for _, b := range batches {
		switch _, ok := pacing[b.WebhookID]; {
		case ok:
			paced = append(paced, b)
		case open[b.WebhookID]:
			park = append(park, b)
		case len(b.EventIDs) <= s.SignalBatchMax:
			paced = append(paced, b) // quiet traffic: no new execution per batch
		default:
			start = append(start, b)
		}
	}
	return start, park, paced, pacing, nil
}

// signalBatches hands a paced webhook's messages to its endpoint
// workflow, all of one webhook in one signal in the order they were
// accepted (outbox created_at, then id), and deletes their outbox rows
// once Temporal holds the signal. Rows whose hand-off failed stay claimed
// and are handed over again as stale (the workflow skips a message it
// already sent).
func (s *Service) signalBatches(ctx context.Context, batches []store.OutboxBatch, pacing map[string]store.Pacing) error {
	type msg struct {
		id      string
		created time.Time
	}
	byHook := map[string][]store.OutboxBatch{}
	var order []string
	for _, b := range batches {
		if _, ok := byHook[b.WebhookID]; !ok {
			order = append(order, b.WebhookID)
		}
		byHook[b.WebhookID] = append(byHook[b.WebhookID], b)
	}
	var errs []error
	for _, hook := range order {
		bs := byHook[hook]
		var msgs []msg
		var batchIDs []string
		for _, b := range bs {
			batchIDs = append(batchIDs, b.BatchID)
			for i, id := range b.EventIDs {
				m := msg{id: id}
				if i < len(b.Created) {
					m.created = b.Created[i]
				}
				msgs = append(msgs, m)
			}
		}
		sort.SliceStable(msgs, func(i, j int) bool {
			if !msgs[i].created.Equal(msgs[j].created) {
				return msgs[i].created.Before(msgs[j].created)
			}
			return msgs[i].id < msgs[j].id
		})
		ids := make([]string, len(msgs))
		for i, m := range msgs {
			ids[i] = m.id
		}
		p := pacing[hook]
		if err := s.sendMessages(ctx, bs[0].OrganizationID, hook, workflows.EndpointMessages{EventIDs: ids, Ordered: p.Ordered, MaxPerSecond: p.MaxPerSecond}); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := s.Store.DeleteOutboxBatches(context.WithoutCancel(ctx), batchIDs); err != nil {
			errs = append(errs, fmt.Errorf("delete handed-over outbox rows: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) sendMessages(ctx context.Context, orgID, webhookID string, m workflows.EndpointMessages) error {
	id := workflows.EndpointWorkflowID(webhookID)
	_, err := s.Temporal.SignalWithStartWorkflow(ctx, id, workflows.EndpointMessagesSignal, m, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             workflows.WebhooksQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: workflows.EndpointAttributes(orgID, webhookID),
	}, workflows.Endpoint, workflows.EndpointInput{OrganizationID: orgID, WebhookID: webhookID, Ordered: m.Ordered, MaxPerSecond: m.MaxPerSecond})
	if err != nil {
		return fmt.Errorf("signal %s: %w", id, err)
	}
	return nil
}

// parkBatches hands batches to their endpoint workflows: the workflow is
// signalled (started if it is not running) first, so that once the rows
// move from the outbox to webhook_parked a running workflow owns them.
// Rows whose hand-off failed stay claimed and are retried as stale.
func (s *Service) parkBatches(ctx context.Context, batches []store.OutboxBatch) error {
	woken := map[string]bool{}
	var ok []store.OutboxBatch
	var errs []error
	for _, b := range batches {
		if !woken[b.WebhookID] && s.wakeDue(b.WebhookID) {
			if err := s.WakeEndpoint(ctx, b.OrganizationID, b.WebhookID); err != nil {
				errs = append(errs, err)
				continue
			}
			s.woke(b.WebhookID)
		}
		woken[b.WebhookID] = true
		ok = append(ok, b)
	}
	if err := s.Store.ParkOutboxBatches(context.WithoutCancel(ctx), ok); err != nil {
		errs = append(errs, fmt.Errorf("park outbox rows: %w", err))
	}
	return errors.Join(errs...)
}

// parkedWakeEvery bounds how often a dispatcher signals an endpoint
// workflow whose circuit is open: the messages it parks are not due before
// the next probe, and the workflow does not end while its circuit is open.
// A workflow that ended anyway (the circuit closed in between, or an
// operator terminated it) is woken by the sweep of wakeParked.
const parkedWakeEvery = 2 * time.Second

func (s *Service) wakeDue(webhookID string) bool {
	s.wokenMu.Lock()
	defer s.wokenMu.Unlock()
	return time.Since(s.wokenAt[webhookID]) >= parkedWakeEvery
}

func (s *Service) woke(webhookID string) {
	s.wokenMu.Lock()
	defer s.wokenMu.Unlock()
	if s.wokenAt == nil {
		s.wokenAt = map[string]time.Time{}
	}
	for id, at := range s.wokenAt {
		if time.Since(at) >= parkedWakeEvery {
			delete(s.wokenAt, id)
		}
	}
	s.wokenAt[webhookID] = time.Now()
}

// wakeParked wakes the endpoint workflow of every webhook with parked
// messages (at most 100 webhooks a pass): the safety net for a workflow
// that ended or was terminated while messages were parked for it.
func (s *Service) wakeParked(ctx context.Context) error {
	hooks, err := s.Store.ParkedWebhooks(ctx, 100)
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range hooks {
		if err := s.WakeEndpoint(ctx, h.OrganizationID, h.WebhookID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// WakeEndpoint signals a webhook's endpoint workflow that messages are
// parked for it, starting it if it is not running (activities.EndpointWaker).
func (s *Service) WakeEndpoint(ctx context.Context, orgID, webhookID string) error {
	id := workflows.EndpointWorkflowID(webhookID)
	_, err := s.Temporal.SignalWithStartWorkflow(ctx, id, workflows.EndpointWakeSignal, nil, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             workflows.WebhooksQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: workflows.EndpointAttributes(orgID, webhookID),
	}, workflows.Endpoint, workflows.EndpointInput{OrganizationID: orgID, WebhookID: webhookID})
	if err != nil {
		return fmt.Errorf("signal %s: %w", id, err)
	}
	return nil
}

func (d *dispatcher) restartStale(ctx context.Context) error {
	batches, err := d.s.Store.StaleOutbox(ctx, d.s.now().Add(-d.s.staleClaim()), 100)
	if err != nil || len(batches) == 0 {
		return err
	}
	d.logger.Warn("starting outbox batches a dispatcher claimed but did not start", "batches", len(batches))
	return d.s.startBatches(ctx, batches)
}

// startBatches starts the workflow of each batch and deletes the rows of
// those that started.
func (s *Service) startBatches(ctx context.Context, batches []store.OutboxBatch) error {
	batches, parked, paced, pacing, err := s.routeBatches(ctx, batches)
	if err != nil {
		return err
	}
	var parkErr error
	if len(parked) > 0 {
		parkErr = s.parkBatches(ctx, parked)
	}
	if len(paced) > 0 {
		parkErr = errors.Join(parkErr, s.signalBatches(ctx, paced, pacing))
	}
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		started []string
		errs    []error
		sem     = make(chan struct{}, startConcurrency)
	)
	for _, b := range batches {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := s.startBatch(ctx, b)
			if err == nil {
				s.startPump(ctx, b)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			started = append(started, b.BatchID)
		}()
	}
	wg.Wait()
	if err := s.Store.DeleteOutboxBatches(context.WithoutCancel(ctx), started); err != nil {
		errs = append(errs, fmt.Errorf("delete started outbox rows: %w", err))
	}
	return errors.Join(append(errs, parkErr)...)
}

func (s *Service) startBatch(ctx context.Context, b store.OutboxBatch) error {
	id := workflows.BatchWorkflowID(b.WebhookID, b.BatchID)
	in := activities.BatchInput{OrganizationID: b.OrganizationID, WebhookID: b.WebhookID, EventIDs: b.EventIDs}
	// A pump's rows whose lease lapsed: its attempts count as this run's.
	in.PriorRunID, _ = store.ParsePumpBatch(b.BatchID)
	_, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                workflows.WebhooksQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		EnableEagerStart:         true,
		TypedSearchAttributes:    workflows.DeliveryAttributes(b.OrganizationID, b.WebhookID, b.EventType),
	}, workflows.DeliveryBatch, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		return fmt.Errorf("start %s: %w", id, err)
	}
	return nil
}

func (s *Service) staleClaim() time.Duration {
	if s.StaleClaim > 0 {
		return s.StaleClaim
	}
	return DefaultStaleClaim
}

// maxPumps bounds the endpoint pumps the dispatchers start (each holds an
// activity slot of a worker while it runs); a webhook beyond it keeps the
// DeliveryBatch path.
const maxPumps = 100

// pumpState is what a dispatcher knows of the endpoint pumps: when it
// last started each webhook's (at most once per lease period), and the
// live leases it read last (refreshed every dispatchPoll).
type pumpState struct {
	mu        sync.Mutex
	startedAt map[string]time.Time
	// begun: when a start of the webhook's pump succeeded (pumpStartGrace).
	begun map[string]time.Time
	live  map[string]string // webhook -> lease owner
}

// remote reports whether a live pump lease is held by another process.
func (p *pumpState) remote() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, owner := range p.live {
		if !store.IsLocalPump(owner) {
			return true
		}
	}
	return false
}

// pumpStartGrace is how long after starting a webhook's pump the
// dispatcher leaves that webhook's new rows to it: a burst's first batch
// goes as a DeliveryBatch (with the pump's start), the rest to the pump,
// which claims 200 rows at a time without a Temporal call per batch. A
// pump that has not taken its lease by then gets its rows dispatched
// again.
const pumpStartGrace = 2 * time.Second

// starting returns the webhooks whose pump this dispatcher started within
// pumpStartGrace (and forgets the older starts).
func (p *pumpState) starting(now time.Time) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids []string
	for id, at := range p.begun {
		if now.Sub(at) < pumpStartGrace {
			ids = append(ids, id)
		} else {
			delete(p.begun, id)
		}
	}
	return ids
}

// leased reports whether every webhook of webhookIDs has a live pump
// lease (as last read) whose pump, if it is of this process, still runs,
// and whether any of those pumps is of another process.
func (p *pumpState) leased(webhookIDs []string) (leased, remote bool) {
	if len(webhookIDs) == 0 {
		return false, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range webhookIDs {
		owner, ok := p.live[id]
		if !ok {
			return false, false
		}
		if !store.IsLocalPump(owner) {
			if store.PumpEndedHere(owner) {
				return false, false // this process's pump, ended since the read
			}
			remote = true
		}
	}
	return true, remote
}

func (s *Service) refreshPumps(ctx context.Context) error {
	live, err := s.Store.LivePumps(ctx)
	if err != nil {
		return err
	}
	s.pumps.mu.Lock()
	s.pumps.live = live
	s.pumps.mu.Unlock()
	return nil
}

// startPump starts the endpoint pump of a batch's webhook (the dispatcher
// just handed the batch to a DeliveryBatch run: its webhook had no live
// lease) unless this process started it within the lease period. The
// start uses the running pump if there is one; a failed start is only
// logged (the DeliveryBatch path goes on).
func (s *Service) startPump(ctx context.Context, b store.OutboxBatch) {
	if !s.Pump {
		return
	}
	p := &s.pumps
	p.mu.Lock()
	if p.startedAt == nil {
		p.startedAt = map[string]time.Time{}
	}
	now := time.Now()
	for id, at := range p.startedAt {
		if now.Sub(at) >= activities.PumpLease {
			delete(p.startedAt, id)
		}
	}
	_, recent := p.startedAt[b.WebhookID]
	known := len(p.live)
	for id := range p.startedAt {
		if _, ok := p.live[id]; !ok {
			known++
		}
	}
	full := known >= maxPumps
	if !recent && !full {
		p.startedAt[b.WebhookID] = now
	}
	p.mu.Unlock()
	if recent || full {
		return
	}
	id := workflows.PumpWorkflowID(b.WebhookID)
	_, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                workflows.WebhooksQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    workflows.EndpointAttributes(b.OrganizationID, b.WebhookID),
	}, workflows.Pump, activities.PumpInput{OrganizationID: b.OrganizationID, WebhookID: b.WebhookID})
	if err != nil {
		if ctx.Err() == nil {
			slog.Default().Warn("start endpoint pump", "workflow_id", id, "err", err)
		}
		return
	}
	p.mu.Lock()
	if p.begun == nil {
		p.begun = map[string]time.Time{}
	}
	p.begun[b.WebhookID] = time.Now()
	p.mu.Unlock()
}
