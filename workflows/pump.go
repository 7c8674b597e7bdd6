package workflows

import (
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
)

const pumpPrefix = "webhook-pump:"

// PumpWorkflowID names the pump of a webhook: at most one runs.
func PumpWorkflowID(webhookID string) string { return pumpPrefix + webhookID }

// ParsePumpWorkflowID is the inverse of PumpWorkflowID.
func ParsePumpWorkflowID(id string) (webhookID string, ok bool) {
	webhookID, ok = strings.CutPrefix(id, pumpPrefix)
	return webhookID, ok && webhookID != ""
}

// PumpHeartbeatTimeout is the pump activity's heartbeat timeout: a pump
// whose worker died is retried this long after its last heartbeat.
const PumpHeartbeatTimeout = 20 * time.Second

// PumpOutcome is what a pump run delivered before it ended or continued
// as new.
type PumpOutcome = activities.PumpResult

// Pump delivers a webhook's quiet traffic (docs/WEBHOOKS.md, "Endpoint
// pump"): one long-running, heartbeating activity that claims and
// delivers the webhook's outbox rows with no Temporal call per message.
// It ends when the activity finds no rows for a minute (or the webhook's
// rows go another way: paced, circuit open, deleted) and continues as new
// after an hour. Cancelling the run (the webhook was disabled or deleted)
// stops the activity. The activity is retried without limit (backoff up
// to a minute): a pump whose worker died goes on elsewhere.
func Pump(ctx workflow.Context, in activities.PumpInput) (PumpOutcome, error) {
	var a *activities.Deliveries
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: activities.PumpMaxRun + 10*time.Minute,
		HeartbeatTimeout:    PumpHeartbeatTimeout,
		WaitForCancellation: true,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})
	var res activities.PumpResult
	if err := workflow.ExecuteActivity(actx, a.Pump, in).Get(ctx, &res); err != nil {
		return res, err
	}
	if res.Reason == activities.PumpLimit {
		return res, workflow.NewContinueAsNewError(ctx, Pump, in)
	}
	return res, nil
}
