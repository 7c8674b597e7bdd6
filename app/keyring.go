package app

import (
	"context"

	"github.com/aqio/connect/api"
	"github.com/aqio/connect/store"
	"github.com/aqio/connect/workflows"
)

// keyringAdmin serves the operator key-ring endpoints (api/admin.go).
type keyringAdmin struct{ a *App }

func (k keyringAdmin) KeyIDs() []string { return k.a.Ring.KeyIDs() }

func (k keyringAdmin) Usage(ctx context.Context) ([]store.KeyUsage, error) {
	return k.a.Store.KeyUsageReport(ctx)
}

func (k keyringAdmin) StartRekey(ctx context.Context) (api.RekeyRun, error) {
	id := k.a.Ring.PrimaryID()
	run, err := workflows.StartRekey(ctx, k.a.Temporal, id)
	if err != nil {
		return api.RekeyRun{}, err
	}
	return api.RekeyRun{KeyID: id, WorkflowID: run.GetID(), RunID: run.GetRunID(),
		TemporalURL: k.a.Webhooks.WorkflowURL(run.GetID(), run.GetRunID())}, nil
}
