package workflows

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
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

// OAuthStateGrace is how long an expired authorization state is kept, so
// a late callback is told "expired" rather than "unknown state".
const OAuthStateGrace = time.Hour

// OAuthStateCleanupInput says how long past its deadline a state stays.
type OAuthStateCleanupInput struct {
	Grace time.Duration
}

// OAuthStateCleanupResult is what one cleanup run deleted.
type OAuthStateCleanupResult = activities.CleanupOAuthStatesResult

// OAuthStateCleanup deletes the pending authorizations (state hash,
// encrypted PKCE verifier) whose deadline passed more than Grace ago.
func OAuthStateCleanup(ctx workflow.Context, in OAuthStateCleanupInput) (OAuthStateCleanupResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	var a *activities.Integrations
	var res OAuthStateCleanupResult
	err := workflow.ExecuteActivity(ctx, a.CleanupOAuthStates, activities.CleanupOAuthStatesInput{
		Before: workflow.Now(ctx).Add(-in.Grace),
	}).Get(ctx, &res)
	return res, err
}

// EnsureOAuthStateCleanupSchedule creates (or updates) the hourly
// schedule that runs OAuthStateCleanup. Overlapping runs are skipped.
func EnsureOAuthStateCleanupSchedule(ctx context.Context, c client.Client) error {
	err := ensureSchedule(ctx, c, OAuthStateCleanupScheduleID,
		"Deletes OAuth authorization states that expired more than an hour ago.",
		&client.ScheduleWorkflowAction{
			ID:        OAuthStateCleanupScheduleID,
			Workflow:  OAuthStateCleanup,
			Args:      []any{OAuthStateCleanupInput{Grace: OAuthStateGrace}},
			TaskQueue: IntegrationsQueue,
		})
	if err != nil {
		return fmt.Errorf("oauth state cleanup schedule: %w", err)
	}
	return nil
}
