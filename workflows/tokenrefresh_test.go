package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
)

func TestTokenRefreshLoop(t *testing.T) {
	in := TokenRefreshInput{IntegrationID: "int_1", OrganizationID: "org_1", IntegrationType: "google_calendar"}
	var a *activities.Integrations

	t.Run("sleeps until shortly before expiry, refreshes, continues as new", func(t *testing.T) {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		env.RegisterActivity(a)
		start := env.Now()
		// Each token lives an hour and is refreshed 6 minutes early.
		expiry := start.Add(time.Hour)
		env.OnActivity(a.TokenState, mock.Anything, mock.Anything).Return(
			func(context.Context, activities.TokenStateInput) (activities.TokenState, error) {
				return activities.TokenState{Exists: true, Status: "active", Refreshable: true, ExpiresAt: expiry, RefreshAt: expiry.Add(-6 * time.Minute)}, nil
			})
		var refreshedAt []time.Time
		env.OnActivity(a.Refresh, mock.Anything, mock.Anything).Return(
			func(context.Context, activities.RefreshInput) (activities.RefreshResult, error) {
				refreshedAt = append(refreshedAt, env.Now())
				expiry = env.Now().Add(time.Hour)
				return activities.RefreshResult{ExpiresAt: expiry, Rotated: true}, nil
			})
		env.ExecuteWorkflow(TokenRefresh, in)
		if !env.IsWorkflowCompleted() {
			t.Fatal("not completed")
		}
		var can *workflow.ContinueAsNewError
		if err := env.GetWorkflowError(); err == nil || !errors.As(err, &can) {
			t.Fatalf("want continue-as-new, got %v", err)
		}
		if len(refreshedAt) != RefreshRoundsPerRun {
			t.Fatalf("%d refreshes, want %d", len(refreshedAt), RefreshRoundsPerRun)
		}
		if got := refreshedAt[0].Sub(start); got != 54*time.Minute {
			t.Fatalf("first refresh after %s, want 54m", got)
		}
	})

	t.Run("invalid_grant marks the integration and waits for a reconnect", func(t *testing.T) {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		env.RegisterActivity(a)
		status := "active"
		env.OnActivity(a.TokenState, mock.Anything, mock.Anything).Return(
			func(context.Context, activities.TokenStateInput) (activities.TokenState, error) {
				return activities.TokenState{Exists: true, Status: status, Refreshable: true, RefreshAt: env.Now().Add(time.Minute)}, nil
			})
		refreshes := 0
		env.OnActivity(a.Refresh, mock.Anything, mock.Anything).Return(
			func(context.Context, activities.RefreshInput) (activities.RefreshResult, error) {
				refreshes++
				return activities.RefreshResult{}, temporal.NewNonRetryableApplicationError("revoked", activities.ErrTypeAuthRevoked, nil, "invalid_grant")
			})
		var marked []activities.MarkErrorInput
		env.OnActivity(a.MarkError, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.MarkErrorInput) (activities.MarkErrorResult, error) {
				marked = append(marked, in)
				status = "error"
				return activities.MarkErrorResult{Changed: true}, nil
			})
		// A day later nothing more happened; then the integration is deleted.
		env.RegisterDelayedCallback(func() {
			if refreshes != 1 || len(marked) != 1 || marked[0].Code != "invalid_grant" {
				t.Errorf("refreshes=%d marked=%v", refreshes, marked)
			}
			env.SignalWorkflow(SignalStop, nil)
		}, 24*time.Hour)
		env.ExecuteWorkflow(TokenRefresh, in)
		var res TokenRefreshResult
		if err := env.GetWorkflowResult(&res); err != nil || res.Outcome != "stopped" {
			t.Fatalf("result %v %v", res, err)
		}
	})

	t.Run("tokens that never expire run no loop", func(t *testing.T) {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		env.RegisterActivity(a)
		env.OnActivity(a.TokenState, mock.Anything, mock.Anything).Return(activities.TokenState{Exists: true, Status: "active"}, nil)
		env.ExecuteWorkflow(TokenRefresh, in)
		var res TokenRefreshResult
		if err := env.GetWorkflowResult(&res); err != nil || res.Outcome != "no_expiry" {
			t.Fatalf("result %v %v", res, err)
		}
	})
}
