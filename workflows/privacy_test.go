package workflows

import (
	"context"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/aqio/connect/activities"
)

func TestErasureWorkflow(t *testing.T) {
	tests := []struct {
		name        string
		provider    func(context.Context, activities.EraseAtProviderInput) (activities.EraseAtProviderResult, error)
		wantFailed  int
		wantRecords int // RecordEraseFailure calls
	}{
		{"every system answers", func(context.Context, activities.EraseAtProviderInput) (activities.EraseAtProviderResult, error) {
			return activities.EraseAtProviderResult{Status: "deleted", Deleted: 1}, nil
		}, 0, 0},
		{"a provider that keeps failing is recorded as failed, the rest goes on", func(_ context.Context, in activities.EraseAtProviderInput) (activities.EraseAtProviderResult, error) {
			if in.IntegrationID == "int_b" {
				return activities.EraseAtProviderResult{}, temporal.NewApplicationError("hubspot: 503", activities.ErrTypeProviderRetryable)
			}
			return activities.EraseAtProviderResult{Status: "not_found"}, nil
		}, 1, 1},
		{"a provider's permanent refusal is already recorded by the activity", func(context.Context, activities.EraseAtProviderInput) (activities.EraseAtProviderResult, error) {
			return activities.EraseAtProviderResult{Status: activities.EraseFailed}, nil
		}, 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			var a *activities.Privacy
			env.RegisterActivity(a)
			env.OnActivity(a.EraseLocal, mock.Anything, mock.Anything).Return(activities.EraseLocalResult{Rows: 7}, nil)
			env.OnActivity(a.ErasureTargets, mock.Anything, mock.Anything).Return(activities.ErasureTargetsResult{Targets: []activities.ErasureTarget{
				{IntegrationID: "int_a", IntegrationType: "mailchimp"}, {IntegrationID: "int_b", IntegrationType: "hubspot"}}}, nil)
			env.OnActivity(a.EraseAtProvider, mock.Anything, mock.Anything).Return(tc.provider)
			records := 0
			env.OnActivity(a.RecordEraseFailure, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.EraseFailureInput) error {
				records++
				if in.IntegrationID != "int_b" || in.Reason == "" {
					t.Errorf("failure recorded %+v", in)
				}
				return nil
			})
			finished := false
			env.OnActivity(a.FinishErasure, mock.Anything, mock.Anything).Return(func(context.Context, activities.ErasureInput) error { finished = true; return nil })
			env.ExecuteWorkflow(Erasure, ErasureInput{OrganizationID: "org_1", ErasureID: "era_1"})
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var res ErasureResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			if res.LocalRows != 7 || res.Systems != 2 || res.Failed != tc.wantFailed || records != tc.wantRecords || !finished {
				t.Fatalf("result %+v, failure records %d, finished %v", res, records, finished)
			}
		})
	}
}

func TestErasureWorkflowID(t *testing.T) {
	id := ErasureWorkflowID("org_demo:x", "era_1")
	org, era, ok := ParseErasureWorkflowID(id)
	if !ok || org != "org_demo:x" || era != "era_1" || id != "privacy-erasure:org_demo:x:era_1" {
		t.Fatalf("%s → %q %q %v", id, org, era, ok)
	}
	if _, _, ok := ParseErasureWorkflowID("privacy-export:org:exp"); ok {
		t.Fatal("an export id parsed as an erasure id")
	}
}
