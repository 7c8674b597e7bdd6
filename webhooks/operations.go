package webhooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/ids"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/store"
	"github.com/aqio/connect/workflows"
)

// DefaultRotationGrace is how long the previous secret keeps signing.
const DefaultRotationGrace = 24 * time.Hour

// MaxRotationGrace bounds the grace period.
const MaxRotationGrace = 7 * 24 * time.Hour

// Rotated is the outcome of a secret rotation: the new secret, shown
// once (hmac-sha256), or "" for ed25519, whose new public key is in
// Webhook.PublicKey.
type Rotated struct {
	Webhook          models.Webhook
	Secret           string
	PreviousValidTil *time.Time
}

// RotateSecret makes a new signing key of the webhook's scheme. During
// the grace period every delivery carries signatures under both keys.
func (s *Service) RotateSecret(ctx context.Context, orgID, id string, grace time.Duration) (Rotated, error) {
	if grace < 0 || grace > MaxRotationGrace {
		return Rotated{}, invalid("grace_seconds", "must be between 0 and %d", int(MaxRotationGrace.Seconds()))
	}
	w, err := s.Store.GetWebhook(ctx, orgID, id)
	if err != nil {
		return Rotated{}, err
	}
	key, secret, public, err := newSigningKey(w.SignatureScheme)
	if err != nil {
		return Rotated{}, err
	}
	ct, err := s.Ring.Encrypt([]byte(key), []byte(w.ID))
	if err != nil {
		return Rotated{}, err
	}
	cols := map[string]any{"secret": ct, "previous_secret": nil, "previous_secret_expires_at": nil,
		"public_key": public, "previous_public_key": nil}
	var until *time.Time
	if grace > 0 {
		t := s.now().Add(grace)
		until = &t
		cols["previous_secret"] = w.Secret
		cols["previous_secret_expires_at"] = t
		cols["previous_public_key"] = w.PublicKey
	}
	w, err = s.Store.UpdateWebhook(ctx, orgID, id, cols)
	if err != nil {
		return Rotated{}, err
	}
	return Rotated{Webhook: w, Secret: secret, PreviousValidTil: until}, nil
}

// destinationAuthColumns validates a destination_auth object and returns
// the plaintext to encrypt (nil to clear) and the cleaned credential.
func destinationAuthColumns(raw json.RawMessage) (plain []byte, auth *activities.DestinationAuth, err error) {
	if strings.TrimSpace(string(raw)) == "null" {
		return nil, nil, nil
	}
	var a activities.DestinationAuth
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return nil, nil, invalid("destination_auth", "must be an object with type basic, bearer or header")
	}
	switch a.Type {
	case "basic":
		if a.Username == "" || strings.Contains(a.Username, ":") {
			return nil, nil, invalid("destination_auth.username", "is required and must not contain ':'")
		}
		if a.Password == "" {
			return nil, nil, invalid("destination_auth.password", "is required")
		}
	case "bearer":
		if a.Token == "" || strings.ContainsAny(a.Token, "\r\n") {
			return nil, nil, invalid("destination_auth.token", "is required and must be one line")
		}
	case "header":
		name := http.CanonicalHeaderKey(a.Header)
		if !validHeaderName(a.Header) || reservedHeader(name) {
			return nil, nil, invalid("destination_auth.header", "must be a valid header name other than the signature, content and host headers")
		}
		if a.Value == "" || strings.ContainsAny(a.Value, "\r\n") {
			return nil, nil, invalid("destination_auth.value", "is required and must be one line")
		}
		a.Header = name
	default:
		return nil, nil, invalid("destination_auth.type", "must be basic, bearer or header")
	}
	b, _ := json.Marshal(a)
	return b, &a, nil
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

func reservedHeader(canonical string) bool {
	l := strings.ToLower(canonical)
	switch l {
	case "content-type", "content-length", "host", "user-agent", "transfer-encoding", "connection":
		return true
	}
	return strings.HasPrefix(l, "webhook-")
}

// applyDestinationAuth turns the validated plaintext in cols into the
// encrypted column and hint.
func (s *Service) applyDestinationAuth(webhookID string, cols map[string]any) error {
	raw, ok := cols["destination_auth"]
	if !ok {
		return nil
	}
	plain, auth, err := destinationAuthColumns(raw.(json.RawMessage))
	if err != nil {
		return err
	}
	if plain == nil {
		cols["destination_auth"], cols["destination_auth_hint"] = nil, nil
		return nil
	}
	ct, err := s.Ring.Encrypt(plain, []byte(webhookID))
	if err != nil {
		return err
	}
	cols["destination_auth"], cols["destination_auth_hint"] = ct, authHint(s.Ring, *auth)
	return nil
}

// Redeliver starts a new delivery run of the message of one attempt. It
// is linked to the original (same webhook-id header, redelivery_of).
func (s *Service) Redeliver(ctx context.Context, orgID, webhookID, deliveryID string) (Started, error) {
	w, err := s.Store.GetWebhook(ctx, orgID, webhookID)
	if err != nil {
		return Started{}, err
	}
	if !w.IsActive {
		return Started{}, ErrWebhookDisabled
	}
	d, err := s.Store.GetDelivery(ctx, orgID, webhookID, deliveryID)
	if err != nil {
		return Started{}, err
	}
	if d.EventID == nil {
		return Started{}, store.ErrNotFound
	}
	ev, err := s.Store.GetEvent(ctx, orgID, *d.EventID)
	if err != nil {
		return Started{}, err
	}
	original := d.WorkflowID
	if d.RedeliveryOf != nil {
		original = *d.RedeliveryOf
	}
	suffix := strings.TrimPrefix(ids.New("r"), "r_")
	return s.startDelivery(ctx, w, ev, workflows.RedeliveryWorkflowID(w.ID, ev.ID, suffix), original, d.MessageID)
}

// RecoverRequest selects the messages to re-deliver: those whose delivery
// ended with one of Statuses (failed, cancelled) or that were skipped
// while the webhook was disabled (skipped_disabled), in [Since, Until).
// Status is the one-status form (Statuses empty); neither means failed.
type RecoverRequest struct {
	Since    time.Time
	Until    *time.Time
	Status   string
	Statuses []string
}

// Recovery identifies a recovery run.
type Recovery struct {
	RecoveryID string
	WorkflowID string
	RunID      string
	Since      time.Time
	Until      time.Time
	Status     string // the one status asked for ("" when several)
	Statuses   []string
}

// Recover starts (or finds, when asked twice) the one workflow that
// re-delivers every failed message of a webhook in a window.
func (s *Service) Recover(ctx context.Context, orgID, webhookID string, r RecoverRequest) (Recovery, error) {
	w, err := s.Store.GetWebhook(ctx, orgID, webhookID)
	if err != nil {
		return Recovery{}, err
	}
	if !w.IsActive {
		return Recovery{}, ErrWebhookDisabled
	}
	until := s.now()
	if r.Until != nil {
		until = r.Until.UTC()
	}
	since := r.Since.UTC()
	if !since.Before(until) {
		return Recovery{}, invalid("since", "must be before until")
	}
	statuses, err := recoverStatuses(r)
	if err != nil {
		return Recovery{}, err
	}
	status := strings.Join(statuses, ",") // one status: the key of earlier versions
	key := fmt.Sprintf("%s|%d|%d|%s", w.ID, since.UnixNano(), until.UnixNano(), status)
	if r.Until == nil {
		// Without an explicit end, calls within the same minute are the same request.
		key = fmt.Sprintf("%s|%d|open:%d|%s", w.ID, since.UnixNano(), until.Truncate(time.Minute).Unix(), status)
	}
	sum := sha256.Sum256([]byte(key))
	rec := Recovery{RecoveryID: "rcv_" + hex.EncodeToString(sum[:8]), Since: since, Until: until, Statuses: statuses}
	if len(statuses) == 1 {
		rec.Status = statuses[0]
	}
	rec.WorkflowID = workflows.RecoveryWorkflowID(w.ID, rec.RecoveryID)
	run, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       rec.WorkflowID,
		TaskQueue:                workflows.WebhooksQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrOrganizationID.ValueSet(w.OrganizationID),
			workflows.AttrWebhookID.ValueSet(w.ID),
		),
	}, workflows.Recovery, workflows.RecoveryInput{
		OrganizationID: orgID, WebhookID: w.ID, RecoveryID: rec.RecoveryID, Since: since, Until: until,
		Status: rec.Status, Statuses: statuses,
	})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &already):
		rec.RunID = already.RunId
	case err != nil:
		return Recovery{}, fmt.Errorf("start recovery: %w", err)
	default:
		rec.RunID = run.GetRunID()
	}
	return rec, nil
}

// recoverStatuses validates and orders the statuses a recovery selects.
func recoverStatuses(r RecoverRequest) ([]string, error) {
	if r.Status != "" && len(r.Statuses) > 0 {
		return nil, invalid("statuses", "give status or statuses, not both")
	}
	asked := r.Statuses
	field := "statuses"
	if len(asked) == 0 {
		field = "status"
		asked = []string{r.Status}
		if r.Status == "" {
			asked = []string{models.DeliveryFailed}
		}
	}
	seen := map[string]bool{}
	for i, st := range asked {
		switch st {
		case models.DeliveryFailed, models.DeliveryCancelled, store.SkippedDisabled:
		default:
			if field == "statuses" {
				return nil, invalid(fmt.Sprintf("statuses.%d", i), "must be failed, cancelled or skipped_disabled")
			}
			return nil, invalid("status", "must be failed, cancelled or skipped_disabled")
		}
		seen[st] = true
	}
	var out []string
	for _, st := range OwedStatuses { // a fixed order: the same set is the same recovery
		if seen[st] {
			out = append(out, st)
		}
	}
	return out, nil
}

// RecoveryProgress asks a recovery run how far it got.
func (s *Service) RecoveryProgress(ctx context.Context, orgID, webhookID, recoveryID string) (workflows.RecoveryProgress, error) {
	var p workflows.RecoveryProgress
	if _, err := s.Store.GetWebhook(ctx, orgID, webhookID); err != nil {
		return p, err
	}
	v, err := s.Temporal.QueryWorkflow(ctx, workflows.RecoveryWorkflowID(webhookID, recoveryID), "", workflows.RecoveryProgressQuery)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return p, store.ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("query recovery: %w", err)
	}
	err = v.Get(&p)
	return p, err
}

// CancelPending cancels the webhook's delivery runs that are still open
// (waiting for a retry), so nothing fires after it was disabled or
// deleted. Open runs are found in the attempt log (a run whose newest
// attempt is not final) and in Temporal's visibility store (runs that have
// not attempted yet); visibility is eventually consistent, the log is not.
// A run that starts its first attempt after this call sees the webhook
// disabled and records itself cancelled. It returns how many it cancelled.
func (s *Service) CancelPending(ctx context.Context, webhookID string) (int, error) {
	open, err := s.Store.OpenRuns(ctx, webhookID)
	if err != nil {
		return 0, err
	}
	q := fmt.Sprintf("%s = %q AND ExecutionStatus = 'Running' AND WorkflowType = 'Delivery'", workflows.AttrWebhookID.GetName(), webhookID)
	resp, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: s.Namespace, Query: q, PageSize: 1000})
	if err != nil {
		return 0, fmt.Errorf("list pending deliveries: %w", err)
	}
	for _, e := range resp.GetExecutions() {
		// Searched by run id; the same runs found through the log are
		// searched by id (RunID "") and cancel the same run.
		open = append(open, store.Run{WorkflowID: e.GetExecution().GetWorkflowId(), RunID: e.GetExecution().GetRunId()})
	}
	seen := map[string]bool{}
	n := 0
	// Messages parked for the endpoint workflow (retries it owns): the
	// workflow records each cancelled when its run is cancelled.
	parked, err := s.Store.CountParked(ctx, webhookID)
	if err != nil {
		return 0, fmt.Errorf("count parked messages: %w", err)
	}
	endpoint := workflows.EndpointWorkflowID(webhookID)
	if err := s.Temporal.CancelWorkflow(ctx, endpoint, ""); err != nil {
		var nf *serviceerror.NotFound
		if !errors.As(err, &nf) {
			return 0, fmt.Errorf("cancel %s: %w", endpoint, err)
		}
	}
	n += int(parked)
	seen[endpoint] = true
	// The endpoint pump: its claimed rows become stale and are restarted
	// as a DeliveryBatch, which records them cancelled.
	pump := workflows.PumpWorkflowID(webhookID)
	if err := s.Temporal.CancelWorkflow(ctx, pump, ""); err != nil {
		var nf *serviceerror.NotFound
		if !errors.As(err, &nf) {
			return 0, fmt.Errorf("cancel %s: %w", pump, err)
		}
	}
	seen[pump] = true
	for _, r := range open {
		if batchWebhook, _, ok := workflows.ParseBatchWorkflowID(r.WorkflowID); ok && r.EventID != nil {
			// The batch hands the retry to the message's own run; let it
			// finish starting that run, then cancel the run.
			if err := s.awaitRun(ctx, r.WorkflowID, r.RunID); err != nil {
				return n, err
			}
			r = store.Run{WorkflowID: workflows.DeliveryWorkflowID(batchWebhook, *r.EventID)}
		}
		// One delivery run per workflow id can be open, whether it was
		// found by run id (visibility) or by id (the log).
		if seen[r.WorkflowID] {
			continue
		}
		seen[r.WorkflowID] = true
		err := s.Temporal.CancelWorkflow(ctx, r.WorkflowID, r.RunID)
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			continue // finished meanwhile
		}
		if err != nil {
			return n, fmt.Errorf("cancel %s: %w", r.WorkflowID, err)
		}
		n++
	}
	return n, nil
}

// awaitRun waits (briefly) for a batch run to close, so the retry runs it
// starts exist before they are cancelled. A batch still busy after the
// wait is left alone: a retry run it starts later finds the webhook
// disabled at its first attempt and records itself cancelled.
func (s *Service) awaitRun(ctx context.Context, workflowID, runID string) error {
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_ = s.Temporal.GetWorkflow(wctx, workflowID, runID).Get(wctx, nil) // how it ended does not matter
	return ctx.Err()
}

// Emit posts an operational event (e.g. integration.error) under a new id
// to the organization's webhooks that subscribe to it by name.
func (s *Service) Emit(ctx context.Context, orgID, eventType string, object map[string]any) error {
	return s.EmitOperational(ctx, orgID, ids.New("evt_op"), eventType, object)
}

// EmitOperational implements activities.Notifier: it posts an operational
// event (e.g. webhook.disabled) to the organization's webhooks that
// subscribe to it by name. An id that was emitted before queues nothing.
func (s *Service) EmitOperational(ctx context.Context, orgID, id, eventType string, object map[string]any) error {
	now := s.now()
	data, err := json.Marshal(map[string]any{"object": object})
	if err != nil {
		return err
	}
	payload, err := json.Marshal(Envelope{ID: id, Type: eventType, Created: now.Unix(), Data: data, OrganizationID: orgID})
	if err != nil {
		return err
	}
	ev := models.Event{OrganizationID: orgID, ID: id, Type: eventType, Payload: string(payload), CreatedUnix: now.Unix()}
	queued, skipped, err := s.subscribers(ctx, ev)
	if err != nil {
		return err
	}
	if _, _, err := s.Store.IngestEventSkipping(ctx, &ev, webhookIDs(queued), skipped, dispatchJSON(queued), nil); err != nil {
		return err
	}
	s.kick(webhookIDs(queued))
	return nil
}
