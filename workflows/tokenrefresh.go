package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
)

// TokenRefreshInput identifies the integration whose tokens the loop keeps
// fresh. No token ever enters the workflow: activities load them by id.
type TokenRefreshInput struct {
	IntegrationID   string
	OrganizationID  string
	IntegrationType string
	// Refreshes counts refreshes across continue-as-new runs (for operators).
	Refreshes int
}

// TokenRefreshResult is how the loop ended.
type TokenRefreshResult struct {
	// Outcome: stopped, deleted or no_expiry.
	Outcome   string
	Refreshes int
}

// RefreshRoundsPerRun bounds the loop's iterations before it continues as
// new, so its history stays short however long the integration lives.
const RefreshRoundsPerRun = 20

// integrationRetry is the retry policy of provider-calling activities:
// exponential backoff; typed errors stop retries; rate limits come with
// their own NextRetryDelay.
func integrationRetry(maxAttempts int32) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        2 * time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        10 * time.Minute,
		MaximumAttempts:        maxAttempts,
		NonRetryableErrorTypes: activities.IntegrationNonRetryable,
	}
}

func errType(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
}

func errCode(err error) string {
	var appErr *temporal.ApplicationError
	var code string
	if errors.As(err, &appErr) && appErr.HasDetails() {
		_ = appErr.Details(&code)
	}
	return code
}

// TokenRefresh is the long-lived entity workflow of one integration's
// OAuth tokens: it sleeps until shortly before expiry, refreshes (saving a
// rotated refresh token), and repeats. invalid_grant puts the integration
// into status error (emitting integration.error) and the loop waits for a
// reconnect instead of retrying. Signals: refresh-now, stop, reconnected.
func TokenRefresh(ctx workflow.Context, in TokenRefreshInput) (TokenRefreshResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         integrationRetry(0), // transient failures retry until they pass
	})
	var a *activities.Integrations
	stopCh := workflow.GetSignalChannel(ctx, SignalStop)
	nowCh := workflow.GetSignalChannel(ctx, SignalRefreshNow)
	reconCh := workflow.GetSignalChannel(ctx, SignalReconnected)
	ids := activities.TokenStateInput{IntegrationID: in.IntegrationID, OrganizationID: in.OrganizationID}
	result := func(outcome string) (TokenRefreshResult, error) {
		return TokenRefreshResult{Outcome: outcome, Refreshes: in.Refreshes}, nil
	}

	for round := 0; round < RefreshRoundsPerRun; round++ {
		if stopCh.ReceiveAsync(nil) {
			return result("stopped")
		}
		var st activities.TokenState
		if err := workflow.ExecuteActivity(ctx, a.TokenState, ids).Get(ctx, &st); err != nil {
			return TokenRefreshResult{}, err
		}
		switch {
		case !st.Exists:
			return result("deleted")
		case st.Status == "error":
			// Wait for the user to reconnect; do not hammer the provider.
			stopped := false
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(stopCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); stopped = true })
			sel.AddReceive(reconCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
			sel.Select(ctx)
			if stopped {
				return result("stopped")
			}
			continue
		case !st.Refreshable:
			return result("no_expiry")
		}

		refresh, stopped := false, false
		if wait := st.RefreshAt.Sub(workflow.Now(ctx)); wait > 0 {
			tctx, cancel := workflow.WithCancel(ctx)
			sel := workflow.NewSelector(ctx)
			sel.AddFuture(workflow.NewTimer(tctx, wait), func(workflow.Future) { refresh = true })
			sel.AddReceive(nowCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); refresh = true })
			sel.AddReceive(stopCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); stopped = true })
			sel.AddReceive(reconCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) }) // new tokens: re-plan
			sel.Select(ctx)
			cancel()
		} else {
			refresh = true
		}
		if stopped {
			return result("stopped")
		}
		if !refresh {
			continue
		}
		var res activities.RefreshResult
		err := workflow.ExecuteActivity(ctx, a.Refresh, activities.RefreshInput(ids)).Get(ctx, &res)
		switch errType(err) {
		case "":
			if err != nil {
				return TokenRefreshResult{}, err
			}
			if res.Unsaved != nil && workflow.GetVersion(ctx, "save-unsaved-tokens", workflow.DefaultVersion, 1) == 1 {
				// The provider issued new tokens (and may have spent the
				// old refresh token) but the write failed: write these,
				// retrying until the database takes them; never refresh
				// again with the spent token first.
				sctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
					StartToCloseTimeout: 30 * time.Second,
					RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, NonRetryableErrorTypes: []string{activities.ErrTypeIntegrationGone}},
				})
				serr := workflow.ExecuteActivity(sctx, a.SaveTokens, activities.SaveTokensInput{
					IntegrationID: in.IntegrationID, OrganizationID: in.OrganizationID, Sealed: *res.Unsaved, Rotated: res.Rotated,
				}).Get(sctx, nil)
				if errType(serr) == activities.ErrTypeIntegrationGone {
					return result("deleted")
				}
				if serr != nil {
					return TokenRefreshResult{}, serr
				}
			}
			in.Refreshes++
		case activities.ErrTypeIntegrationGone:
			return result("deleted")
		case activities.ErrTypeAuthRevoked, activities.ErrTypeProviderPermanent:
			code := errCode(err)
			if code == "" {
				code = "invalid_grant"
			}
			msg := "the provider refused to refresh the token (" + code + "); reconnect the integration"
			if err := workflow.ExecuteActivity(ctx, a.MarkError, activities.MarkErrorInput{
				IntegrationID: in.IntegrationID, OrganizationID: in.OrganizationID, Message: msg, Code: code,
			}).Get(ctx, nil); err != nil {
				return TokenRefreshResult{}, err
			}
		default:
			return TokenRefreshResult{}, err
		}
	}
	if stopCh.ReceiveAsync(nil) {
		return result("stopped")
	}
	// Pending refresh-now / reconnected signals are re-evaluated by the
	// next run from the database state, so dropping them loses nothing.
	return TokenRefreshResult{}, workflow.NewContinueAsNewError(ctx, TokenRefresh, in)
}
