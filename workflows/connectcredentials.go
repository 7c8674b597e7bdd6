package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
)

// ConnectCredentials connects a provider that takes a credential rather
// than OAuth (api_key, basic, webhook_url): the provider checks the
// credential (and settings) with one cheap call and the integration is
// saved only when it accepts. The credential stays encrypted in the
// database; the input names the pending connection only. A few quick
// tries: a user is waiting.
func ConnectCredentials(ctx workflow.Context, in activities.ConnectInput) (activities.ConnectCredentialsResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         integrationRetry(3),
	})
	var a *activities.Integrations
	var res activities.ConnectCredentialsResult
	err := workflow.ExecuteActivity(ctx, a.ConnectCredentials, in).Get(ctx, &res)
	return res, err
}
