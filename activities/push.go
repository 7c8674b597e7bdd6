package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/aqio/connect/models"
	"github.com/aqio/connect/privacy/subject"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/store"
)

// PushInput is one Aqio domain event an integration reacts to.
type PushInput struct {
	IntegrationID  string
	OrganizationID string
	EventID        string
	EventType      string
	// PushID names the push row when the API created it (a re-run);
	// empty: derived from the workflow id.
	PushID string `json:",omitempty"`
	// RetryOf is the failed push a re-run repeats.
	RetryOf string `json:",omitempty"`
}

// PushResult says what the push did.
type PushResult struct {
	Action     string // posted, created, updated, deleted, skipped
	ExternalID string
	Detail     string
}

// PushRowID is the push row of a workflow run (stable across activity retries).
func PushRowID(workflowID string) string {
	sum := sha256.Sum256([]byte(workflowID))
	return "push_" + hex.EncodeToString(sum[:16])
}

// Push applies one domain event to one integration through its
// connector's action for the event type, and records the attempt in
// integration_pushes (status, error, the provider's response excerpt).
func (a *Integrations) Push(ctx context.Context, in PushInput) (PushResult, error) {
	integ, p, err := a.load(ctx, in.OrganizationID, in.IntegrationID)
	if err != nil {
		return PushResult{}, err
	}
	info := activity.GetInfo(ctx)
	row := &models.IntegrationPush{ID: in.PushID, IntegrationID: integ.ID, OrganizationID: integ.OrganizationID,
		EventID: in.EventID, EventType: in.EventType, WorkflowID: info.WorkflowExecution.ID}
	if row.ID == "" {
		row.ID = PushRowID(info.WorkflowExecution.ID)
	}
	if in.RetryOf != "" {
		row.RetryOf = &in.RetryOf
	}
	if err := a.Store.StartPush(ctx, row); err != nil {
		return PushResult{}, err
	}
	res, last, err := a.push(ctx, integ, p, in)
	cols := map[string]any{}
	switch {
	case err == nil:
		cols["status"] = models.PushSucceeded
		if res.Action == "skipped" {
			cols["status"] = models.PushSkipped
		}
		cols["action"], cols["external_id"], cols["detail"] = res.Action, res.ExternalID, res.Detail
		cols["error_code"], cols["error_message"] = nil, nil
		addExchange(cols, last)
	default:
		cols = pushErrorColumns(err, last)
		// Failed for good once Temporal will not retry (last attempt or non-retryable).
		cols["status"] = models.PushRunning
		var appErr *temporal.ApplicationError
		if (errors.As(err, &appErr) && appErr.NonRetryable()) || isNonRetryable(err) ||
			(info.Attempt >= pushMaxAttempts) {
			cols["status"] = models.PushFailed
		}
	}
	if ferr := a.Store.FinishPush(ctx, row.ID, cols); ferr != nil {
		a.Logger.Warn("record push", "push_id", row.ID, "err", ferr)
	}
	return res, err
}

// pushMaxAttempts mirrors the Push workflow's retry policy (15 attempts).
const pushMaxAttempts = 15

func isNonRetryable(err error) bool {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return false
	}
	for _, t := range IntegrationNonRetryable {
		if appErr.Type() == t {
			return true
		}
	}
	return false
}

func (a *Integrations) push(ctx context.Context, integ models.Integration, p providers.Provider, in PushInput) (PushResult, providers.Exchange, error) {
	if err := requireActive(integ); err != nil {
		return PushResult{}, providers.Exchange{}, err
	}
	action := p.Connector.Actions()[in.EventType]
	if action == nil {
		return PushResult{Action: "skipped", Detail: p.DisplayName + " does not react to " + in.EventType}, providers.Exchange{}, nil
	}
	ev, err := a.Store.GetEvent(ctx, in.OrganizationID, in.EventID)
	if err != nil {
		return PushResult{}, providers.Exchange{}, fmt.Errorf("load event %s: %w", in.EventID, err)
	}
	var env struct {
		Created int64 `json:"created"`
		Data    struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(ev.Payload), &env); err != nil {
		return PushResult{}, providers.Exchange{}, temporal.NewNonRetryableApplicationError("event payload is not JSON", ErrTypeProviderPermanent, err)
	}
	// The suppression rule (docs/PRIVACY.md): nothing about an erased
	// subject goes to an integration again.
	if erased, err := a.Store.Suppressed(ctx, in.OrganizationID, subject.ObjectEmailHashes(env.Data.Object)); err != nil {
		return PushResult{}, providers.Exchange{}, err
	} else if erased {
		return PushResult{Action: "skipped", Detail: SkipErasedSubject}, providers.Exchange{}, nil
	}
	rt, sess, err := a.runtime(ctx, integ, p)
	if err != nil {
		return PushResult{}, providers.Exchange{}, err
	}
	res, err := action(ctx, rt, providers.Event{ID: ev.ID, Type: ev.Type, Created: env.Created, Object: env.Data.Object})
	if err != nil {
		return PushResult{}, sess.Last(), actionError(p.Type, err)
	}
	return PushResult(res), sess.Last(), nil
}

// actionError maps a connector's error onto the retry policy: classified
// provider errors by kind, a settings error as permanent, anything else
// (database, transport) retryable.
func actionError(provider string, err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err
	}
	var se *providers.SettingsError
	if errors.As(err, &se) {
		return permanentSettings(err)
	}
	if pe, ok := providers.AsError(err); ok {
		if pe.Provider == "" {
			pe.Provider = provider
		}
		return providerError(pe)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return temporal.NewApplicationError(err.Error(), ErrTypeProviderRetryable)
}

func settingsBytes(in models.Integration) []byte {
	if in.Settings == nil {
		return nil
	}
	return []byte(*in.Settings)
}

func permanentSettings(err error) error {
	return temporal.NewNonRetryableApplicationError("invalid settings: "+err.Error(), ErrTypeProviderPermanent, nil, "invalid_settings")
}

// ReminderInput asks for an event reminder.
type ReminderInput struct {
	IntegrationID  string
	OrganizationID string
	AqioEventID    string
}

// PostReminder posts the event reminder (the workflow's durable timer
// decided when) through the connector's Reminder.
func (a *Integrations) PostReminder(ctx context.Context, in ReminderInput) (PushResult, error) {
	integ, p, err := a.load(ctx, in.OrganizationID, in.IntegrationID)
	if err != nil {
		return PushResult{}, err
	}
	if err := requireActive(integ); err != nil {
		return PushResult{}, err
	}
	rem, ok := p.Connector.(providers.Reminder)
	if !ok {
		return PushResult{Action: "skipped", Detail: p.DisplayName + " posts no reminders"}, nil
	}
	rt, _, err := a.runtime(ctx, integ, p)
	if err != nil {
		return PushResult{}, err
	}
	if rem.ReminderHours(rt.Settings) <= 0 {
		return PushResult{Action: "skipped", Detail: "reminders are off"}, nil
	}
	o, err := a.Store.GetObject(ctx, in.OrganizationID, "event", in.AqioEventID)
	if errors.Is(err, store.ErrNotFound) {
		return PushResult{Action: "skipped", Detail: "event unknown"}, nil
	}
	if err != nil {
		return PushResult{}, fmt.Errorf("load event %s: %w", in.AqioEventID, err)
	}
	var e providers.AqioEvent
	_ = json.Unmarshal([]byte(o.Data), &e)
	if e.Status == "cancelled" || (o.Status != nil && *o.Status == "cancelled") {
		return PushResult{Action: "skipped", Detail: "event cancelled"}, nil
	}
	res, err := rem.Remind(ctx, rt, e)
	if err != nil {
		return PushResult{}, actionError(p.Type, err)
	}
	return PushResult(res), nil
}
