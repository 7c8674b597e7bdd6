package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/models"
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
	if err := workflow.ExecuteActivity(ctx, a.ExchangeCode, in).Get(ctx, &res); err != nil {
		return res, err
	}
	if workflow.GetVersion(ctx, connectFinishChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return res, nil
	}
	finishConnect(ctx, &res)
	return res, nil
}

// connectFinishChange versions the steps after the code exchange (runs
// started before them replay without).
const connectFinishChange = "connect-after-connect-check-settings"

// finishConnect runs the connector's AfterConnect (extras stored) and
// checks the settings given at /authorize against the provider, now that
// there is a token. The connection is kept either way: a failed
// AfterConnect or refused settings put the integration into status error
// (res.Status, res.ErrorCode, res.ErrorField, res.ErrorMessage say why),
// a check that could not run (provider unavailable) leaves it active.
func finishConnect(ctx workflow.Context, res *activities.ConnectResult) {
	var a *activities.Integrations
	ids := activities.AfterConnectInput{IntegrationID: res.IntegrationID, OrganizationID: res.OrganizationID}
	res.Status = models.IntegrationActive
	markError := func(code, field, msg string) {
		res.Status, res.ErrorCode, res.ErrorField, res.ErrorMessage = models.IntegrationError, code, field, msg
		_ = workflow.ExecuteActivity(ctx, a.MarkError, activities.MarkErrorInput{
			IntegrationID: res.IntegrationID, OrganizationID: res.OrganizationID, Message: msg, Code: code,
		}).Get(ctx, nil)
	}
	if err := workflow.ExecuteActivity(ctx, a.AfterConnect, ids).Get(ctx, nil); err != nil {
		code := errCode(err)
		if code == "" {
			code = "after_connect_failed"
		}
		markError(code, "", "the connection could not be completed: "+errMessage(err)+"; reconnect the integration")
		return
	}
	var chk activities.CheckSettingsResult
	err := workflow.ExecuteActivity(ctx, a.CheckSettings, activities.CheckSettingsInput{
		IntegrationID: res.IntegrationID, OrganizationID: res.OrganizationID, Stored: true,
	}).Get(ctx, &chk)
	switch {
	case err != nil && errType(err) == activities.ErrTypeAuthRevoked:
		markError(errCode(err), "", "the provider refused the stored credentials; reconnect the integration")
	case err != nil:
		res.SettingsUnchecked = true
	case chk.Field != "":
		markError(activities.ErrCodeInvalidSettings, chk.Field, chk.Field+": "+chk.Message)
	}
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

// errMessage is an activity failure's own message, without Temporal's
// wrapper text ("activity error (type: …)").
func errMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}
