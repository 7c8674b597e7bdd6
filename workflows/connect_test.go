package workflows

import (
	"context"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
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

// TestConnectChecksAfterExchange: after the code exchange, AfterConnect
// runs, then the settings given at /authorize are checked; a refused
// setting keeps the connection but marks it error naming the field.
func TestConnectChecksAfterExchange(t *testing.T) {
	cases := []struct {
		name      string
		check     activities.CheckSettingsResult
		checkErr  error
		wantState string
		wantMark  string
	}{
		{name: "accepted", wantState: "active"},
		{name: "refused", check: activities.CheckSettingsResult{Field: "settings.audience_id", Message: "no audience nosuch"},
			wantState: "error", wantMark: "settings.audience_id: no audience nosuch"},
		{name: "provider unavailable", checkErr: temporal.NewApplicationError("down", activities.ErrTypeProviderRetryable), wantState: "active"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			var a *activities.Integrations
			env.RegisterActivity(a)
			env.OnActivity(a.ExchangeCode, mock.Anything, mock.Anything).Return(
				activities.ConnectResult{IntegrationID: "int_1", OrganizationID: "org_1", IntegrationType: "mailchimp", Created: true}, nil)
			afterConnect := 0
			env.OnActivity(a.AfterConnect, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.AfterConnectInput) (activities.AfterConnectResult, error) {
					afterConnect++
					if in.IntegrationID != "int_1" || in.OrganizationID != "org_1" {
						t.Errorf("AfterConnect input %+v", in)
					}
					return activities.AfterConnectResult{Stored: []string{"dc"}}, nil
				})
			env.OnActivity(a.CheckSettings, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.CheckSettingsInput) (activities.CheckSettingsResult, error) {
					if !in.Stored || in.IntegrationID != "int_1" {
						t.Errorf("CheckSettings input %+v, want the stored settings of int_1", in)
					}
					return tc.check, tc.checkErr
				})
			marked := ""
			env.OnActivity(a.MarkError, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.MarkErrorInput) (activities.MarkErrorResult, error) {
					marked = in.Message
					if in.Code != activities.ErrCodeInvalidSettings {
						t.Errorf("MarkError code %q", in.Code)
					}
					return activities.MarkErrorResult{Changed: true}, nil
				}).Maybe()
			env.ExecuteWorkflow(Connect, activities.ConnectInput{StateID: "st_1"})
			var res activities.ConnectResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			if afterConnect != 1 || res.Status != tc.wantState || marked != tc.wantMark {
				t.Fatalf("afterConnect=%d result %+v marked %q", afterConnect, res, marked)
			}
			if tc.wantMark != "" && res.ErrorField != tc.check.Field {
				t.Fatalf("ErrorField %q, want %q", res.ErrorField, tc.check.Field)
			}
			if tc.checkErr != nil && !res.SettingsUnchecked {
				t.Fatal("an unavailable provider should leave the settings unchecked, not refused")
			}
		})
	}
}
