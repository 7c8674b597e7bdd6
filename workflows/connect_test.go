package workflows

import (
	"context"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/aqio/connect/activities"
)

func TestOAuthStateCleanup(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Integrations
	env.RegisterActivity(a)
	start := env.Now()
	env.OnActivity(a.CleanupOAuthStates, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CleanupOAuthStatesInput) (activities.CleanupOAuthStatesResult, error) {
			if want := start.Add(-OAuthStateGrace); !in.Before.Equal(want) {
				t.Errorf("Before = %s, want %s (the grace period before now)", in.Before, want)
			}
			return activities.CleanupOAuthStatesResult{Deleted: 3}, nil
		})
	env.ExecuteWorkflow(OAuthStateCleanup, OAuthStateCleanupInput{Grace: OAuthStateGrace})
	var res OAuthStateCleanupResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Deleted != 3 {
		t.Fatalf("result %+v %v", res, err)
	}
}
