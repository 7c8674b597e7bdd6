package workflows

import (
	"context"
	"errors"
	"fmt"
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
	if steps != endpointActivitiesPerRun {
		t.Fatalf("continued after %d steps", steps)
	}
}

func TestEndpointSendsAnOrderedWebhooksMessagesOneAtATime(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	var a *activities.Deliveries
	env.RegisterActivity(a)
	parked := false
	var sent [][]string
	env.OnActivity(a.EndpointStep, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.EndpointStepInput) (activities.EndpointStepResult, error) {
		if in.Limit != 1 && len(sent) > 0 {
			return activities.EndpointStepResult{}, errors.New("an ordered webhook's step must send its head only")
		}
		if parked { // the head's retry succeeds
			parked = false
			return activities.EndpointStepResult{Sent: 1, Delivered: 1, Idle: true}, nil
		}
		return activities.EndpointStepResult{Idle: true}, nil
	})
	env.OnActivity(a.DeliverBatch, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.BatchInput) (activities.BatchResult, error) {
		if parked {
			return activities.BatchResult{}, errors.New("sent while the previous message waits for its retry")
		}
		sent = append(sent, in.EventIDs)
		if in.EventIDs[0] == "evt_2" { // fails retryably: parked
			parked = true
			return activities.BatchResult{Parked: 1, CircuitOpen: true}, nil
		}
		return activities.BatchResult{Delivered: 1}, nil
	})
	// As signal-with-start delivers it: the signal is there when the run starts.
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(EndpointMessagesSignal, EndpointMessages{EventIDs: []string{"evt_2", "evt_3"}, Ordered: true})
	}, 0)
	env.ExecuteWorkflow(Endpoint, EndpointInput{OrganizationID: "org_1", WebhookID: "wh_1", Pending: []string{"evt_1"}, Ordered: true})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 3 || sent[0][0] != "evt_1" || sent[1][0] != "evt_2" || sent[2][0] != "evt_3" || len(sent[2]) != 1 {
		t.Fatalf("sent %v", sent)
	}
}

func TestEndpointThrottlesAPacedWebhook(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	var a *activities.Deliveries
	env.RegisterActivity(a)
	env.OnActivity(a.EndpointStep, mock.Anything, mock.Anything).Return(activities.EndpointStepResult{Idle: true}, nil)
	total, calls := 0, 0
	env.OnActivity(a.DeliverBatch, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.BatchInput) (activities.BatchResult, error) {
		if len(in.EventIDs) > 50 || in.PerSecond != 50 {
			return activities.BatchResult{}, errors.New("more than a second's worth at once, or unpaced")
		}
		total += len(in.EventIDs)
		calls++
		return activities.BatchResult{Delivered: len(in.EventIDs)}, nil
	})
	ids := make([]string, 500)
	for i := range ids {
		ids[i] = fmt.Sprintf("evt_%d", i)
	}
	env.ExecuteWorkflow(Endpoint, EndpointInput{OrganizationID: "org_1", WebhookID: "wh_1", Pending: ids, MaxPerSecond: 50})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	// 500 messages at 50/s: ten activities of a second's worth each (the
	// activity spaces the requests).
	if total != 500 || calls != 10 {
		t.Fatalf("%d sent in %d activities", total, calls)
	}
}
