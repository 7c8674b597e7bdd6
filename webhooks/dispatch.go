package webhooks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/aqio/connect/eventtypes"
	"github.com/aqio/connect/ids"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/store"
	"github.com/aqio/connect/workflows"
)

// EventIn is a domain event as the Aqio app posts it.
type EventIn struct {
	ID             string          `json:"id"`
	Type           string          `json:"type"`
	OrganizationID string          `json:"organization_id"`
	Created        *int64          `json:"created"`
	Data           json.RawMessage `json:"data"`
}

// Envelope is the payload every webhook receives, in the seed's field order.
type Envelope struct {
	ID             string          `json:"id"`
	Type           string          `json:"type"`
	Created        int64           `json:"created"`
	Data           json.RawMessage `json:"data"`
	OrganizationID string          `json:"organization_id"`
}

// Started is one delivery workflow started (or found) for an event.
type Started struct {
	WebhookID  string `json:"webhook_id"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id,omitempty"`
}

// Queued is a delivery accepted for one webhook: it waits in the outbox
// for the dispatcher, which hands it to a DeliveryBatch run.
type Queued struct {
	WebhookID string `json:"webhook_id"`
}

// Ingested is the outcome of posting an event.
type Ingested struct {
	EventID    string
	Type       string
	Duplicate  bool
	Deliveries []Queued
}

// ErrIdempotencyConflict is returned when an event id or Idempotency-Key
// is reused with a different event.
var ErrIdempotencyConflict = errors.New("idempotency conflict")

// Ingest stores a domain event together with one outbox row per active
// webhook of the organization that wants it (type, event_filters,
// filter_expression), in one transaction, and wakes the dispatcher. The
// deliveries are durable once it returns; the dispatcher starts their
// workflows within milliseconds (docs/WEBHOOKS.md, "How a delivery
// runs"). A repeated id or Idempotency-Key enqueues nothing new.
func (s *Service) Ingest(ctx context.Context, orgID string, in EventIn, idempotencyKey string) (Ingested, error) {
	if !eventtypes.Known(in.Type) {
		return Ingested{}, invalid("type", "unknown event type %q; see GET /api/event-types", in.Type)
	}
	if in.OrganizationID != "" && in.OrganizationID != orgID {
		return Ingested{}, invalid("organization_id", "must equal the %s header", "X-Aqio-Organization-Id")
	}
	var obj struct {
		Object json.RawMessage `json:"object"`
	}
	if err := json.Unmarshal(in.Data, &obj); err != nil || len(obj.Object) == 0 || obj.Object[0] != '{' {
		return Ingested{}, invalid("data.object", "must be a JSON object")
	}
	if err := eventtypes.ValidateObject(in.Type, obj.Object); err != nil {
		var fe *eventtypes.FieldError
		if errors.As(err, &fe) {
			return Ingested{}, invalid(fe.Field, "%s; see GET /api/event-types", fe.Message)
		}
		return Ingested{}, err
	}
	id := in.ID
	var idem *string
	if idempotencyKey != "" {
		idem = &idempotencyKey
		if id == "" {
			// The same key always names the same event, even if the first
			// request's response was lost.
			sum := sha256.Sum256([]byte(orgID + "\x00" + idempotencyKey))
			id = "evt_" + hex.EncodeToString(sum[:12])
		}
	}
	if id == "" {
		id = ids.New("evt")
	}
	created := s.now().Unix()
	if in.Created != nil {
		created = *in.Created
	}
	var data bytes.Buffer
	if err := json.Compact(&data, in.Data); err != nil {
		return Ingested{}, invalid("data", "must be valid JSON")
	}
	payload, err := json.Marshal(Envelope{ID: id, Type: in.Type, Created: created, Data: data.Bytes(), OrganizationID: orgID})
	if err != nil {
		return Ingested{}, err
	}

	ev := models.Event{OrganizationID: orgID, ID: id, Type: in.Type, IdempotencyKey: idem, Payload: string(payload), CreatedUnix: created}
	var queued []Queued
	m := &matcher{s: s, payload: []byte(ev.Payload)}
	route := func(hooks []models.Webhook) ([]string, []string, string, error) {
		var skipped []string
		queued, skipped = m.route(hooks, ev.Type)
		return webhookIDs(queued), skipped, dispatchJSON(queued), nil
	}
	stored, isNew, err := s.Store.IngestRouted(ctx, &ev, route, s.record)
	if err != nil {
		return Ingested{}, err
	}
	if !isNew {
		if !sameEvent(stored, ev, in.Created != nil) {
			return Ingested{}, fmt.Errorf("%w: event %s was already posted with different content", ErrIdempotencyConflict, stored.ID)
		}
		if stored.Dispatch == nil {
			// Stored before the outbox existed and never dispatched.
			if queued, err = s.enqueue(ctx, stored); err != nil {
				return Ingested{}, err
			}
		} else {
			queued = []Queued{}
			_ = json.Unmarshal([]byte(*stored.Dispatch), &queued)
		}
	}
	if isNew && len(queued) > 0 {
		s.kick(webhookIDs(queued))
	}
	if stored.DispatchedAt == nil {
		// An observer asked to see the committed event (or an earlier try
		// failed before it did): a crash before the mark is finished by the
		// client's retry of the same event.
		if !isNew {
			if _, err := s.record(ctx, s.Store, stored); err != nil {
				return Ingested{}, err
			}
		}
		for _, o := range s.Observers {
			if err := o.Observe(ctx, stored); err != nil {
				return Ingested{}, fmt.Errorf("observe event %s: %w", stored.ID, err)
			}
		}
		if err := s.Store.MarkEventDispatched(ctx, stored.OrganizationID, stored.ID); err != nil {
			return Ingested{}, fmt.Errorf("mark event dispatched: %w", err)
		}
	}
	return Ingested{EventID: stored.ID, Type: stored.Type, Duplicate: !isNew, Deliveries: queued}, nil
}

// record runs the observers' Record for a stored event; it reports
// whether any of them must see it after the commit.
func (s *Service) record(ctx context.Context, st *store.Store, ev models.Event) (bool, error) {
	after := false
	for _, o := range s.Observers {
		a, err := o.Record(ctx, st, ev)
		if err != nil {
			return false, fmt.Errorf("observe event %s: %w", ev.ID, err)
		}
		after = after || a
	}
	return after, nil
}

func sameEvent(stored, posted models.Event, createdGiven bool) bool {
	if stored.ID != posted.ID || stored.Type != posted.Type {
		return false
	}
	var a, b Envelope
	if json.Unmarshal([]byte(stored.Payload), &a) != nil || json.Unmarshal([]byte(posted.Payload), &b) != nil {
		return false
	}
	if createdGiven && a.Created != b.Created {
		return false
	}
	return bytes.Equal(a.Data, b.Data)
}

// subscribers lists the webhooks of the event's organization that want it
// (subscription and filters), read from the database: the active ones get
// it queued, the disabled ones (skipped) are owed it when re-enabled.
func (s *Service) subscribers(ctx context.Context, ev models.Event) (queued []Queued, skipped []string, err error) {
	hooks, err := s.Store.Webhooks(ctx, ev.OrganizationID)
	if err != nil {
		return nil, nil, fmt.Errorf("list webhooks: %w", err)
	}
	queued, skipped = (&matcher{s: s, payload: []byte(ev.Payload)}).route(hooks, ev.Type)
	return queued, skipped, nil
}

// route splits the webhooks that want the event (subscription and
// filters) into the active ones (queued) and the disabled ones (skipped).
func (m *matcher) route(hooks []models.Webhook, eventType string) (queued []Queued, skipped []string) {
	queued = []Queued{}
	for _, w := range hooks {
		if !eventtypes.Match(Events(w), eventType) || !m.wants(w) {
			continue
		}
		if w.IsActive {
			queued = append(queued, Queued{WebhookID: w.ID})
		} else {
			skipped = append(skipped, w.ID)
		}
	}
	return queued, skipped
}

// enqueue writes the outbox rows of a stored event and wakes the
// dispatcher.
func (s *Service) enqueue(ctx context.Context, ev models.Event) ([]Queued, error) {
	queued, _, err := s.subscribers(ctx, ev)
	if err != nil {
		return nil, err
	}
	if err := s.Store.EnqueueDeliveries(ctx, ev, webhookIDs(queued), dispatchJSON(queued)); err != nil {
		return nil, err
	}
	if len(queued) > 0 {
		s.kick(webhookIDs(queued))
	}
	return queued, nil
}

func webhookIDs(q []Queued) []string {
	out := make([]string, len(q))
	for i, d := range q {
		out[i] = d.WebhookID
	}
	return out
}

func dispatchJSON(q []Queued) string {
	b, _ := json.Marshal(q)
	return string(b)
}

// startDelivery starts (or finds) a Delivery run of one message to one
// webhook; a redelivery keeps the original message id (the webhook-id
// header) so receivers can deduplicate.
func (s *Service) startDelivery(ctx context.Context, w models.Webhook, ev models.Event, workflowID, redeliveryOf, messageID string) (Started, error) {
	in := workflows.DeliveryInput{
		OrganizationID: w.OrganizationID, WebhookID: w.ID, EventID: ev.ID, EventType: ev.Type,
		MessageID: messageID, RedeliveryOf: redeliveryOf,
		TimeoutSeconds: w.TimeoutSeconds, RetryCount: w.RetryCount, RetryDelaySeconds: w.RetryDelaySeconds,
	}
	run, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflowID,
		TaskQueue:                workflows.WebhooksQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		EnableEagerStart:         true,
		TypedSearchAttributes:    workflows.DeliveryAttributes(w.OrganizationID, w.ID, ev.Type),
	}, workflows.Delivery, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &already):
		return Started{WebhookID: w.ID, WorkflowID: workflowID, RunID: already.RunId}, nil
	case err != nil:
		return Started{}, fmt.Errorf("start delivery %s: %w", workflowID, err)
	}
	return Started{WebhookID: w.ID, WorkflowID: run.GetID(), RunID: run.GetRunID()}, nil
}

// TestResult is the first attempt of a test delivery.
type TestResult struct {
	Started
	Attempt *models.WebhookDelivery // nil when no attempt finished in time
}

// ErrWebhookDisabled is returned when testing a disabled webhook.
var ErrWebhookDisabled = errors.New("webhook is disabled")

// Test sends a webhook.test event through the normal delivery workflow and
// waits for its first attempt.
func (s *Service) Test(ctx context.Context, orgID, webhookID string) (TestResult, error) {
	w, err := s.Store.GetWebhook(ctx, orgID, webhookID)
	if err != nil {
		return TestResult{}, err
	}
	if !w.IsActive {
		return TestResult{}, ErrWebhookDisabled
	}
	id := ids.New("evt_test")
	now := s.now()
	data, _ := json.Marshal(map[string]any{"object": map[string]any{
		"webhook_id": w.ID,
		"message":    "This is a test event from Aqio Connect.",
		"sent_at":    now.Format(time.RFC3339),
	}})
	payload, _ := json.Marshal(Envelope{ID: id, Type: eventtypes.Test, Created: now.Unix(), Data: data, OrganizationID: orgID})
	ev := models.Event{OrganizationID: orgID, ID: id, Type: eventtypes.Test, Payload: string(payload), CreatedUnix: now.Unix()}
	// Stored like any event, with no outbox rows: the test run is started here.
	if _, _, err := s.Store.IngestEvent(ctx, &ev, nil, "[]", nil); err != nil {
		return TestResult{}, err
	}
	st, err := s.startDelivery(ctx, w, ev, workflows.DeliveryWorkflowID(w.ID, id), "", id)
	if err != nil {
		return TestResult{}, err
	}
	deadline := time.Now().Add(time.Duration(w.TimeoutSeconds)*time.Second + 15*time.Second)
	for time.Now().Before(deadline) {
		d, err := s.Store.FirstAttempt(ctx, orgID, st.WorkflowID, st.RunID)
		if err == nil {
			return TestResult{Started: st, Attempt: &d}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return TestResult{}, err
		}
		select {
		case <-ctx.Done():
			return TestResult{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return TestResult{Started: st}, nil
}
