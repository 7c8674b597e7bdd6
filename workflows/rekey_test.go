package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/store"
)

// TestRekeyWalksEveryTableAndContinuesAsNew: batches follow the cursor of
// each table in turn; after RekeyBatchesPerRun batches the run continues
// as new from where it stopped, with its counts.
func TestRekeyWalksEveryTableAndContinuesAsNew(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Rekey
	var calls []activities.RekeyBatchInput
	env.OnActivity(a.RekeyBatch, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RekeyBatchInput) (activities.RekeyBatchResult, error) {
		calls = append(calls, in)
		if in.Table == "webhooks" && len(calls) <= RekeyBatchesPerRun+1 {
			return activities.RekeyBatchResult{Rows: 2, Resealed: 3, Next: "wh_" + string(rune('a'+len(calls)%26))}, nil
		}
		return activities.RekeyBatchResult{Rows: 1, Resealed: 1}, nil
	})
	env.ExecuteWorkflow(Rekey, RekeyInput{KeyID: "k2", Tables: store.CipherTableNames()})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new after %d batches, got %v", RekeyBatchesPerRun, err)
	}
	if len(calls) != RekeyBatchesPerRun || calls[0].Cursor != "" || calls[1].Cursor != "wh_b" {
		t.Fatalf("%d calls, first %+v %+v", len(calls), calls[0], calls[1])
	}
	var next RekeyInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.KeyID != "k2" || next.Table != "webhooks" || next.Cursor == "" || len(next.Progress.Tables) != 1 || len(next.Tables) != len(store.CipherTables) ||
		next.Progress.Tables[0].Resealed != 3*RekeyBatchesPerRun {
		t.Fatalf("continue-as-new input %+v", next)
	}

	// The next run resumes at the cursor and finishes every table.
	env = s.NewTestWorkflowEnvironment()
	calls = nil
	env.OnActivity(a.RekeyBatch, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RekeyBatchInput) (activities.RekeyBatchResult, error) {
		calls = append(calls, in)
		return activities.RekeyBatchResult{Rows: 1, Resealed: 1}, nil
	})
	env.ExecuteWorkflow(Rekey, next)
	var res RekeyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(calls) != len(store.CipherTables) || calls[0].Table != "webhooks" || calls[0].Cursor != next.Cursor || calls[1].Cursor != "" {
		t.Fatalf("resumed calls %+v", calls)
	}
	if len(res.Tables) != len(store.CipherTables) || res.Tables[0].Resealed != 3*RekeyBatchesPerRun+1 {
		t.Fatalf("result %+v", res)
	}
}

// TestRekeyStopsOnAWorkerWithoutTheNewKey: the activity's non-retryable
// refusal fails the run at once.
func TestRekeyStopsOnAWorkerWithoutTheNewKey(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Rekey
	n := 0
	env.OnActivity(a.RekeyBatch, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RekeyBatchInput) (activities.RekeyBatchResult, error) {
		n++
		return activities.RekeyBatchResult{}, temporal.NewNonRetryableApplicationError("old worker", activities.ErrTypeWrongPrimaryKey, nil)
	})
	env.ExecuteWorkflow(Rekey, RekeyInput{KeyID: "k2"})
	if err := env.GetWorkflowError(); err == nil || n != 1 {
		t.Fatalf("err %v after %d attempts", err, n)
	}
}

func TestRekeyWorkflowID(t *testing.T) {
	id := RekeyWorkflowID("k2")
	if k, err := ParseRekeyWorkflowID(id); err != nil || k != "k2" || id != "keyring-rekey:k2" {
		t.Fatalf("%q → %q %v", id, k, err)
	}
	if _, err := ParseRekeyWorkflowID("webhook-delivery:x"); err == nil {
		t.Fatal("parsed a foreign id")
	}
}

// TestRekeyRunsStartedWithoutTablesKeepTheFirstList: a run started before
// RekeyInput.Tables existed walks the three tables it was started with.
func TestRekeyRunsStartedWithoutTablesKeepTheFirstList(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Rekey
	var tables []string
	env.OnActivity(a.RekeyBatch, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RekeyBatchInput) (activities.RekeyBatchResult, error) {
		tables = append(tables, in.Table)
		return activities.RekeyBatchResult{}, nil
	})
	env.ExecuteWorkflow(Rekey, RekeyInput{KeyID: "k2"})
	if err := env.GetWorkflowError(); err != nil || strings.Join(tables, ",") != "webhooks,integrations,integration_oauth_states" {
		t.Fatalf("tables %v, err %v", tables, err)
	}
}
