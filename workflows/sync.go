package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
)

// SyncInput starts a sync run. SyncLogID is set when the API created the
// row; scheduled runs leave it empty. RetryOf links a re-run to the
// failed sync it repeats.
type SyncInput struct {
	IntegrationID   string
	OrganizationID  string
	IntegrationType string
	SyncLogID       string
	SyncType        string
	RetryOf         string
}

// SyncResult is the run's outcome (also in integration_sync_logs).
type SyncResult struct {
	SyncLogID string
	Status    string
	Processed int
	Created   int
	Updated   int
	Failed    int
}

// maxErrorsKept bounds the per-record errors carried into the log row.
const maxErrorsKept = 200

// Sync exports the organization's Aqio objects to the provider page by
// page and records the outcome in its sync log row. A record the provider
// refuses fails that record (listed in error_details) and the run ends
// failed so support can re-run it; rate limits only slow a page down.
func Sync(ctx workflow.Context, in SyncInput) (SyncResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         integrationRetry(20),
	})
	var a *activities.Integrations
	started := workflow.Now(ctx)
	syncType := in.SyncType
	if syncType == "" {
		syncType = "incremental"
	}
	var begin activities.BeginSyncResult
	err := workflow.ExecuteActivity(ctx, a.BeginSync, activities.BeginSyncInput{
		IntegrationID: in.IntegrationID, OrganizationID: in.OrganizationID,
		SyncLogID: in.SyncLogID, SyncType: syncType, RetryOf: in.RetryOf,
	}).Get(ctx, &begin)
	if begin.SyncLogID == "" {
		return SyncResult{}, err
	}
	fin := activities.FinishSyncInput{IntegrationID: in.IntegrationID, SyncLogID: begin.SyncLogID, StartedAt: started, Cursor: begin.Since}
	after := ""
	for err == nil {
		var page activities.ExportPageResult
		err = workflow.ExecuteActivity(ctx, a.ExportPage, activities.ExportPageInput{
			IntegrationID: in.IntegrationID, OrganizationID: in.OrganizationID,
			SyncLogID: begin.SyncLogID, Since: begin.Since, After: after,
		}).Get(ctx, &page)
		if err != nil {
			break
		}
		fin.Processed += page.Processed
		fin.Created += page.Created
		fin.Updated += page.Updated
		fin.Failed += page.Failed
		for _, e := range page.Errors {
			if len(fin.Errors) < maxErrorsKept {
				fin.Errors = append(fin.Errors, e)
			}
		}
		if page.Cursor != "" {
			fin.Cursor = page.Cursor
		}
		if page.Done || page.Next == "" {
			break
		}
		after = page.Next
	}
	fin.Status = "completed"
	if err != nil {
		fin.Status = "failed"
		fin.FailureMessage = errMessage(err)
		if errType(err) == activities.ErrTypeAuthRevoked {
			_ = workflow.ExecuteActivity(ctx, a.MarkError, activities.MarkErrorInput{
				IntegrationID: in.IntegrationID, OrganizationID: in.OrganizationID,
				Message: "the provider refused the stored credentials; reconnect the integration", Code: errCode(err),
			}).Get(ctx, nil)
		}
	} else if fin.Failed > 0 {
		fin.Status = "failed"
	}
	// Record the outcome even if the run was cancelled.
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	if ferr := workflow.ExecuteActivity(dctx, a.FinishSync, fin).Get(dctx, nil); ferr != nil {
		return SyncResult{}, ferr
	}
	res := SyncResult{SyncLogID: begin.SyncLogID, Status: fin.Status, Processed: fin.Processed,
		Created: fin.Created, Updated: fin.Updated, Failed: fin.Failed}
	return res, err
}
