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
	"go.temporal.io/sdk/temporal"

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

// Ingested is the outcome of posting an event.
type Ingested struct {
	EventID    string
	Type       string
	Duplicate  bool
	Deliveries []Started
}

// ErrIdempotencyConflict is returned when an event id or Idempotency-Key
// is reused with a different event.
var ErrIdempotencyConflict = errors.New("idempotency conflict")

// Ingest stores a domain event and starts a delivery workflow for every
// active webhook of the organization that subscribes to its type. A
// repeated id or Idempotency-Key starts nothing new: the workflow ids are
// business keys and the event row remembers what was started.
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
	stored, isNew, err := s.Store.InsertEvent(ctx, &ev)
	if err != nil {
		return Ingested{}, err
	}
	if !isNew {
		if !sameEvent(stored, ev, in.Created != nil) {
			return Ingested{}, fmt.Errorf("%w: event %s was already posted with different content", ErrIdempotencyConflict, stored.ID)
		}
		if stored.DispatchedAt != nil && stored.Dispatch != nil {
			var started []Started
			_ = json.Unmarshal([]byte(*stored.Dispatch), &started)
			return Ingested{EventID: stored.ID, Type: stored.Type, Duplicate: true, Deliveries: started}, nil
		}
		// Stored but never fully dispatched (a crash or a failed start):
		// finish the job; the workflow ids keep it from delivering twice.
	}
	for _, o := range s.Observers { // integrations (issue 5); idempotent per event
		if err := o.Observe(ctx, stored); err != nil {
			return Ingested{}, fmt.Errorf("observe event %s: %w", stored.ID, err)
		}
	}
	started, err := s.dispatch(ctx, stored)
	if err != nil {
		return Ingested{}, err
	}
	return Ingested{EventID: stored.ID, Type: stored.Type, Duplicate: !isNew, Deliveries: started}, nil
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

func (s *Service) dispatch(ctx context.Context, ev models.Event) ([]Started, error) {
	hooks, err := s.Store.ActiveWebhooks(ctx, ev.OrganizationID)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	started := []Started{}
	m := &matcher{s: s, payload: []byte(ev.Payload)}
	for _, w := range hooks {
		if !eventtypes.Match(Events(w), ev.Type) || !m.wants(w) {
			continue
		}
		st, err := s.startDelivery(ctx, w, ev, workflows.DeliveryWorkflowID(w.ID, ev.ID), "")
		if err != nil {
			return nil, err
		}
		started = append(started, st)
	}
	b, _ := json.Marshal(started)
	if err := s.Store.SetEventDispatch(ctx, ev.OrganizationID, ev.ID, string(b)); err != nil {
		return nil, fmt.Errorf("mark event dispatched: %w", err)
	}
	return started, nil
}

// startDelivery starts (or finds) the delivery workflow of one webhook and
// one event.
func (s *Service) startDelivery(ctx context.Context, w models.Webhook, ev models.Event, workflowID, redeliveryOf string) (Started, error) {
	in := workflows.DeliveryInput{
		OrganizationID:    w.OrganizationID,
		WebhookID:         w.ID,
		EventID:           ev.ID,
		EventType:         ev.Type,
		MessageID:         ev.ID,
		RedeliveryOf:      redeliveryOf,
		TimeoutSeconds:    w.TimeoutSeconds,
		RetryCount:        w.RetryCount,
		RetryDelaySeconds: w.RetryDelaySeconds,
	}
	opts := client.StartWorkflowOptions{
		ID:                       workflowID,
		TaskQueue:                workflows.WebhooksQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		EnableEagerStart:         true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrOrganizationID.ValueSet(w.OrganizationID),
			workflows.AttrWebhookID.ValueSet(w.ID),
			workflows.AttrEventType.ValueSet(ev.Type),
		),
	}
	run, err := s.Temporal.ExecuteWorkflow(ctx, opts, workflows.Delivery, in)
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
	if _, _, err := s.Store.InsertEvent(ctx, &ev); err != nil {
		return TestResult{}, err
	}
	st, err := s.startDelivery(ctx, w, ev, workflows.DeliveryWorkflowID(w.ID, id), "")
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
