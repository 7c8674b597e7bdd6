package activities

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/aqio/connect/eventtypes"
	"github.com/aqio/connect/models"
)

// DefaultAutoDisableAfter is how long a webhook may fail without a single
// success before it is disabled (Svix's rule: five days).
const DefaultAutoDisableAfter = 5 * 24 * time.Hour

// Notifier tells an organization about something that happened to its
// webhooks by emitting an operational event (implemented by the webhooks
// service; declared here so activities do not import it). The event id
// makes an emit idempotent: emitting the same id twice delivers once.
type Notifier interface {
	EmitOperational(ctx context.Context, orgID, eventID, eventType string, object map[string]any) error
}

// signingSecrets returns the current secret and, during a rotation's
// grace period, the previous one: receivers holding either verify.
func (d *Deliveries) signingSecrets(wh models.Webhook) ([]string, error) {
	cur, err := d.Ring.Decrypt(wh.Secret, []byte(wh.ID))
	if err != nil {
		return nil, fmt.Errorf("decrypt secret of webhook %s: %w", wh.ID, err)
	}
	out := []string{string(cur)}
	if wh.PreviousSecret != nil && wh.PreviousSecretExpiresAt != nil && d.now().Before(*wh.PreviousSecretExpiresAt) {
		prev, err := d.Ring.Decrypt(*wh.PreviousSecret, []byte(wh.ID))
		if err != nil {
			return nil, fmt.Errorf("decrypt previous secret of webhook %s: %w", wh.ID, err)
		}
		out = append(out, string(prev))
	}
	return out, nil
}

// DestinationAuth is the credential a webhook sends to its endpoint.
type DestinationAuth struct {
	Type     string `json:"type"` // basic, bearer or header
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Token    string `json:"token,omitempty"`
	Header   string `json:"header,omitempty"`
	Value    string `json:"value,omitempty"`
}

// HeaderPair is the header name and value the credential becomes.
func (a DestinationAuth) HeaderPair() (string, string) {
	switch a.Type {
	case "basic":
		return "Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(a.Username+":"+a.Password))
	case "bearer":
		return "Authorization", "Bearer " + a.Token
	case "header":
		return a.Header, a.Value
	}
	return "", ""
}

func (d *Deliveries) destinationAuth(wh models.Webhook) (string, string, error) {
	if wh.DestinationAuth == nil {
		return "", "", nil
	}
	plain, err := d.Ring.Decrypt(*wh.DestinationAuth, []byte(wh.ID))
	if err != nil {
		return "", "", fmt.Errorf("decrypt destination auth of webhook %s: %w", wh.ID, err)
	}
	var a DestinationAuth
	if err := json.Unmarshal(plain, &a); err != nil {
		return "", "", fmt.Errorf("decode destination auth of webhook %s: %w", wh.ID, err)
	}
	name, value := a.HeaderPair()
	return name, value, nil
}

// autoDisable turns a webhook off when every attempt has failed for longer
// than the configured window, and tells the organization.
func (d *Deliveries) autoDisable(ctx context.Context, orgID, webhookID string) error {
	window := d.AutoDisableAfter
	if window <= 0 {
		window = DefaultAutoDisableAfter
	}
	since, failing, err := d.Store.FailingSince(ctx, webhookID)
	if err != nil || !failing {
		return err
	}
	if d.now().Sub(since) <= window {
		return nil
	}
	reason := fmt.Sprintf("disabled automatically: every delivery failed since %s (more than %s without a success)",
		since.Format(time.RFC3339), window)
	return d.disable(ctx, orgID, webhookID, reason, since)
}

// disable turns a webhook off with a reason and emits webhook.disabled.
// Run again (the activity retried after the webhook was turned off but
// before the event was emitted), it emits the same event again under the
// same id, which delivers it once.
func (d *Deliveries) disable(ctx context.Context, orgID, webhookID, reason string, failingSince time.Time) error {
	changed, err := d.Store.DeactivateWebhook(ctx, orgID, webhookID, reason)
	if err != nil {
		return err
	}
	wh, err := d.Store.GetWebhook(ctx, orgID, webhookID)
	if err != nil {
		return fmt.Errorf("load webhook %s: %w", webhookID, err)
	}
	if wh.IsActive || wh.DisabledAt == nil || wh.DisabledReason == nil || *wh.DisabledReason != reason {
		return nil // turned off (or on again) by someone else meanwhile
	}
	if changed {
		d.Logger.Warn("webhook disabled", "webhook_id", webhookID, "organization_id", orgID, "reason", reason, "failing_since", failingSince)
	}
	if d.Notifier == nil {
		return nil
	}
	at := wh.DisabledAt.UTC()
	return d.Notifier.EmitOperational(ctx, orgID, disabledEventID(webhookID, at), eventtypes.WebhookDisabled, map[string]any{
		"id":            webhookID,
		"webhook_id":    webhookID,
		"reason":        reason,
		"failing_since": failingSince.UTC().Format(time.RFC3339),
		"disabled_at":   at.Format(time.RFC3339),
	})
}

// disabledEventID names the webhook.disabled event of one disable.
func disabledEventID(webhookID string, at time.Time) string {
	sum := sha256.Sum256([]byte(webhookID + "|" + at.Format(time.RFC3339Nano)))
	return "evt_op_" + hex.EncodeToString(sum[:12])
}

// CancelledInput identifies a delivery run that was cancelled while it
// waited for its next attempt.
type CancelledInput struct {
	OrganizationID string
	WebhookID      string
	EventID        string
	MessageID      string
	RedeliveryOf   string
	Reason         string
}

// RecordCancelled writes the final `cancelled` row of a run.
func (d *Deliveries) RecordCancelled(ctx context.Context, in CancelledInput) error {
	wf := activityWorkflow(ctx)
	ev, err := d.Store.GetEvent(ctx, in.OrganizationID, in.EventID)
	if err != nil {
		return nil // the event or webhook is gone (deleted): nothing to record
	}
	if _, err := d.Store.GetWebhook(ctx, in.OrganizationID, in.WebhookID); err != nil {
		return nil
	}
	next, err := d.Store.NextRetryNumber(ctx, wf.RunID)
	if err != nil {
		return err
	}
	now := d.now()
	row := &models.WebhookDelivery{
		ID: newDeliveryID(), WebhookID: in.WebhookID, OrganizationID: in.OrganizationID,
		EventID: &in.EventID, EventType: ev.Type, MessageID: in.MessageID, Payload: ev.Payload,
		WorkflowID: wf.ID, RunID: wf.RunID, AttemptedAt: now, CompletedAt: &now,
		Status: models.DeliveryCancelled, ErrorMessage: &in.Reason, IsRetry: next > 0, RetryNumber: next, IsFinal: true,
	}
	if in.RedeliveryOf != "" {
		row.RedeliveryOf = &in.RedeliveryOf
	}
	d.count("cancelled", 0)
	return d.Store.RecordAttempt(ctx, row)
}

// MaxRecoverMessages bounds one recovery run.
const MaxRecoverMessages = 1000

// RecoverPlanInput selects what a recovery re-delivers.
type RecoverPlanInput struct {
	OrganizationID string
	WebhookID      string
	Since, Until   time.Time
	Status         string   // one status (runs started before Statuses existed)
	Statuses       []string // failed, cancelled, skipped_disabled
}

// RecoverPlan is what a recovery will re-deliver and with which settings.
type RecoverPlan struct {
	Messages          []RecoverMessage
	TimeoutSeconds    int
	RetryCount        int
	RetryDelaySeconds int
}

// RecoverMessage is one message to re-deliver.
type RecoverMessage struct {
	EventID, EventType, MessageID string
	// Skipped: matched while the webhook was disabled, never attempted.
	Skipped bool
}

// PlanRecovery lists the messages a recovery re-delivers.
func (d *Deliveries) PlanRecovery(ctx context.Context, in RecoverPlanInput) (RecoverPlan, error) {
	wh, err := d.Store.GetWebhook(ctx, in.OrganizationID, in.WebhookID)
	if err != nil {
		return RecoverPlan{}, fmt.Errorf("load webhook %s: %w", in.WebhookID, err)
	}
	statuses := in.Statuses
	if len(statuses) == 0 {
		statuses = []string{in.Status}
	}
	msgs, err := d.Store.FindRecoverable(ctx, in.OrganizationID, in.WebhookID, in.Since, in.Until, statuses, MaxRecoverMessages)
	if err != nil {
		return RecoverPlan{}, err
	}
	plan := RecoverPlan{TimeoutSeconds: wh.TimeoutSeconds, RetryCount: wh.RetryCount, RetryDelaySeconds: wh.RetryDelaySeconds}
	for _, m := range msgs {
		plan.Messages = append(plan.Messages, RecoverMessage{EventID: m.EventID, EventType: m.EventType, MessageID: m.MessageID, Skipped: m.Skipped})
	}
	return plan, nil
}

// PurgeInput is the cutoff of a retention run.
type PurgeInput struct {
	Before time.Time
}

// PurgeResult counts what a retention run deleted.
type PurgeResult struct {
	Deleted int64
}

// PurgeDeliveries deletes attempt rows older than the cutoff in batches,
// heartbeating so a long purge survives worker restarts.
func (d *Deliveries) PurgeDeliveries(ctx context.Context, in PurgeInput) (PurgeResult, error) {
	var res PurgeResult
	for {
		n, err := d.Store.DeleteDeliveriesBefore(ctx, in.Before, 1000)
		if err != nil {
			return res, err
		}
		res.Deleted += n
		activity.RecordHeartbeat(ctx, res.Deleted)
		if n < 1000 {
			skipped, err := d.Store.DeleteSkippedBefore(ctx, in.Before)
			res.Deleted += skipped
			return res, err
		}
	}
}
