package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplayRecordedHistories replays histories recorded from real runs
// (testdata/*.json) against the current workflow code: a change that
// breaks determinism for runs already in flight fails here.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 24 {
		t.Fatalf("expected recorded histories in testdata/, found %d", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(Delivery)
			r.RegisterWorkflow(DeliveryBatch)
			r.RegisterWorkflow(Endpoint)
			r.RegisterWorkflow(Pump)
			r.RegisterWorkflow(Recovery)
			r.RegisterWorkflow(Retention)
			r.RegisterWorkflow(Connect)
			r.RegisterWorkflow(ConnectCredentials)
			r.RegisterWorkflow(TokenRefresh)
			r.RegisterWorkflow(Sync)
			r.RegisterWorkflow(Push)
			r.RegisterWorkflow(Reminder)
			r.RegisterWorkflow(Disconnect)
			r.RegisterWorkflow(OAuthStateCleanup)
			r.RegisterWorkflow(CheckSettings)
			r.RegisterWorkflow(Rekey)
			r.RegisterWorkflow(Erasure)
			r.RegisterWorkflow(Export)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
