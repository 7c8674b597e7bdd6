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

func TestEndpointSleepsUntilItsNextWakeAndEndsIdle(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	var a *activities.Deliveries
	env.RegisterActivity(a)
	start := env.Now()
	var stepsAt []time.Duration
	env.OnActivity(a.EndpointStep, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.EndpointStepInput) (activities.EndpointStepResult, error) {
		stepsAt = append(stepsAt, env.Now().Sub(start))
		if in.WebhookID != "wh_1" {
			return activities.EndpointStepResult{}, errors.New("wrong webhook")
		}
		switch len(stepsAt) {
		case 1: // circuit open: the next probe in 5 s
			return activities.EndpointStepResult{Sent: 1, Parked: 10, Open: true, NextWake: env.Now().Add(5 * time.Second)}, nil
		case 2: // the probe succeeded: drain at once
			return activities.EndpointStepResult{Sent: 1, Delivered: 1, Parked: 9, More: true}, nil
		default:
			return activities.EndpointStepResult{Sent: 9, Delivered: 9, Idle: true}, nil
		}
	})
	env.ExecuteWorkflow(Endpoint, EndpointInput{OrganizationID: "org_1", WebhookID: "wh_1"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var st EndpointState
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	if st.Steps != 3 || st.Sent != 11 || st.Delivered != 10 || st.Parked != 0 || st.Open {
		t.Fatalf("state %+v", st)
	}
	if len(stepsAt) != 3 || stepsAt[1] < 5*time.Second || stepsAt[2] != stepsAt[1] {
		t.Fatalf("steps at %v: want the second after the 5 s wait, the third at once", stepsAt)
	}
}

func TestEndpointWakesOnSignal(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	var a *activities.Deliveries
	env.RegisterActivity(a)
	start := env.Now()
	steps := 0
	env.OnActivity(a.EndpointStep, mock.Anything, mock.Anything).Return(func(context.Context, activities.EndpointStepInput) (activities.EndpointStepResult, error) {
		steps++
		if steps == 1 {
			return activities.EndpointStepResult{Parked: 1, NextWake: env.Now().Add(time.Hour)}, nil
		}
		return activities.EndpointStepResult{Idle: true}, nil
	})
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(EndpointWakeSignal, nil) }, time.Minute)
	env.ExecuteWorkflow(Endpoint, EndpointInput{OrganizationID: "org_1", WebhookID: "wh_1"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if steps != 2 || env.Now().Sub(start) >= time.Hour {
		t.Fatalf("%d steps, ended after %s: the signal must end the wait", steps, env.Now().Sub(start))
	}
}

func TestEndpointCancelledRecordsParkedCancelled(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	var a *activities.Deliveries
	env.RegisterActivity(a)
	env.OnActivity(a.EndpointStep, mock.Anything, mock.Anything).Return(activities.EndpointStepResult{Parked: 4, Open: true, NextWake: env.Now().Add(time.Hour)}, nil)
	var cancelled activities.EndpointCancelInput
	env.OnActivity(a.CancelParked, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.EndpointCancelInput) (int, error) {
		cancelled = in
		return 4, nil
	})
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Minute)
	env.ExecuteWorkflow(Endpoint, EndpointInput{OrganizationID: "org_1", WebhookID: "wh_1"})
	err := env.GetWorkflowError()
	var canceled *temporal.CanceledError
	if !errors.As(err, &canceled) {
		t.Fatalf("want a cancelled run, got %v", err)
	}
	if cancelled.WebhookID != "wh_1" || cancelled.OrganizationID != "org_1" || cancelled.Reason == "" {
		t.Fatalf("cancel input %+v", cancelled)
	}
}

func TestEndpointContinuesAsNewBeforeHistoryGrows(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	var a *activities.Deliveries
	env.RegisterActivity(a)
	steps := 0
	env.OnActivity(a.EndpointStep, mock.Anything, mock.Anything).Return(func(context.Context, activities.EndpointStepInput) (activities.EndpointStepResult, error) {
		steps++
		return activities.EndpointStepResult{Sent: 1, Parked: 1, Open: true, NextWake: env.Now().Add(time.Second)}, nil
	})
	env.ExecuteWorkflow(Endpoint, EndpointInput{OrganizationID: "org_1", WebhookID: "wh_1"})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	if steps != endpointStepsPerRun {
		t.Fatalf("continued after %d steps, want %d", steps, endpointStepsPerRun)
	}
}
