package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
)

const checkSettingsPrefix = "integration-check-settings:"

// CheckSettingsWorkflowID names one settings check of an integration
// (suffix: a request id, so checks never collide).
func CheckSettingsWorkflowID(integrationID, suffix string) string {
	return checkSettingsPrefix + integrationID + ":" + suffix
}

// CheckSettings asks the provider whether settings fit before the API
// saves them (a PATCH waits for it). A few quick tries: a user is waiting.
func CheckSettings(ctx workflow.Context, in activities.CheckSettingsInput) (activities.CheckSettingsResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 20 * time.Second,
		RetryPolicy:         integrationRetry(3),
	})
	var a *activities.Integrations
	var res activities.CheckSettingsResult
	err := workflow.ExecuteActivity(ctx, a.CheckSettings, in).Get(ctx, &res)
	return res, err
}
