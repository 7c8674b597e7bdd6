package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
)

// Connect exchanges an OAuth code for tokens and saves the integration.
// The code and PKCE verifier stay encrypted in the database; the input
// names the authorize state only.
func Connect(ctx workflow.Context, in activities.ConnectInput) (activities.ConnectResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		// A code is single use and short-lived: a few quick tries only.
		RetryPolicy: integrationRetry(3),
	})
	var a *activities.Integrations
	var res activities.ConnectResult
	err := workflow.ExecuteActivity(ctx, a.ExchangeCode, in).Get(ctx, &res)
	return res, err
}

// DisconnectResult reports what a disconnect did.
type DisconnectResult = activities.DisconnectResult

// Disconnect revokes the integration's token at the provider (when it
// offers revocation), wipes the credentials and deletes the integration.
func Disconnect(ctx workflow.Context, in activities.DisconnectInput) (DisconnectResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         integrationRetry(5),
	})
	var a *activities.Integrations
	var res activities.DisconnectResult
	if err := workflow.ExecuteActivity(ctx, a.RevokeTokens, in).Get(ctx, &res); err != nil {
		// The row (and the ciphertexts) are deleted below either way.
		res.Note = "revocation failed: " + err.Error()
	}
	if err := workflow.ExecuteActivity(ctx, a.DeleteIntegration, in).Get(ctx, nil); err != nil {
		return res, err
	}
	return res, nil
}
