// Package worker registers the workflows and activities on their task
// queues.
package worker

import (
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/workflows"
)

// Deps are the activity structs the worker registers.
type Deps struct {
	Deliveries *activities.Deliveries
	// Integrations are the integration activities (nil: no integrations worker).
	Integrations *activities.Integrations
	// Rekey is the key-ring re-encryption activity (nil: not registered).
	Rekey *activities.Rekey
	// Privacy are the erasure, export and personal-data retention
	// activities (on the webhooks queue, beside the retention workflow).
	Privacy *activities.Privacy
	// Listen expires `aqio-connect listen` sessions (nil: not registered).
	Listen *activities.Listen
}

// Options tune the workers.
type Options struct {
	// Concurrency bounds concurrent activity executions and workflow tasks.
	Concurrency int
}

// New creates (but does not start) the workers, one per task queue.
func New(c client.Client, deps Deps, opts Options) []sdkworker.Worker {
	conc := opts.Concurrency
	if conc <= 0 {
		conc = 200
	}
	wopts := sdkworker.Options{
		MaxConcurrentActivityExecutionSize:      conc,
		MaxConcurrentWorkflowTaskExecutionSize:  conc,
		MaxConcurrentLocalActivityExecutionSize: conc,
		MaxConcurrentActivityTaskPollers:        8,
		MaxConcurrentWorkflowTaskPollers:        8,
		WorkflowPanicPolicy:                     sdkworker.FailWorkflow,
		// An explicit build id: otherwise the SDK hashes the whole
		// executable at start (see BuildID). Versioning stays off.
		BuildID: BuildID(), //nolint:staticcheck // DeploymentOptions.Version would register a worker deployment
	}
	wh := sdkworker.New(c, workflows.WebhooksQueue, wopts)
	wh.RegisterWorkflow(workflows.Delivery)
	wh.RegisterWorkflow(workflows.DeliveryBatch)
	wh.RegisterWorkflow(workflows.Endpoint)
	wh.RegisterWorkflow(workflows.Pump)
	wh.RegisterWorkflow(workflows.Recovery)
	wh.RegisterWorkflow(workflows.Retention)
	wh.RegisterActivity(deps.Deliveries)
	if deps.Privacy != nil {
		wh.RegisterWorkflow(workflows.Erasure)
		wh.RegisterWorkflow(workflows.Export)
		wh.RegisterActivity(deps.Privacy)
	}
	if deps.Rekey != nil {
		wh.RegisterWorkflow(workflows.Rekey)
		wh.RegisterActivity(deps.Rekey)
	}
	if deps.Listen != nil {
		wh.RegisterWorkflow(workflows.ListenSession)
		wh.RegisterActivity(deps.Listen)
	}
	ws := []sdkworker.Worker{wh}
	if deps.Integrations != nil {
		ws = append(ws, integrationsWorker(c, deps.Integrations, wopts))
	}
	return ws
}

// Start starts every worker; on error the started ones are stopped.
func Start(ws []sdkworker.Worker) error {
	for i, w := range ws {
		if err := w.Start(); err != nil {
			Stop(ws[:i])
			return err
		}
	}
	return nil
}

// Stop stops the workers.
func Stop(ws []sdkworker.Worker) {
	for _, w := range ws {
		w.Stop()
	}
}
