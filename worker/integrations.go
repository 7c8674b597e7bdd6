package worker

import (
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/workflows"
)

// integrationsWorker serves the integrations task queue: connect, token
// refresh, sync, push, reminder, disconnect and OAuth state cleanup
// workflows.
func integrationsWorker(c client.Client, a *activities.Integrations, opts sdkworker.Options) sdkworker.Worker {
	w := sdkworker.New(c, workflows.IntegrationsQueue, opts)
	w.RegisterWorkflow(workflows.Connect)
	w.RegisterWorkflow(workflows.ConnectCredentials)
	w.RegisterWorkflow(workflows.TokenRefresh)
	w.RegisterWorkflow(workflows.Sync)
	w.RegisterWorkflow(workflows.Push)
	w.RegisterWorkflow(workflows.Reminder)
	w.RegisterWorkflow(workflows.Disconnect)
	w.RegisterWorkflow(workflows.OAuthStateCleanup)
	w.RegisterWorkflow(workflows.CheckSettings)
	w.RegisterActivity(a)
	return w
}
