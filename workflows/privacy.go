package workflows

import (
	"errors"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
)

// Workflow ids of data-subject requests: business keys without personal
// data (the subject is in the encrypted request row, never in history).
const (
	erasurePrefix = "privacy-erasure:"
	exportPrefix  = "privacy-export:"
)

// ErasureWorkflowID names the Erasure run of one request.
func ErasureWorkflowID(orgID, erasureID string) string {
	return erasurePrefix + orgID + ":" + erasureID
}

// ExportWorkflowID names the Export run of one request.
func ExportWorkflowID(orgID, exportID string) string {
	return exportPrefix + orgID + ":" + exportID
}

// ParseErasureWorkflowID is the inverse of ErasureWorkflowID.
func ParseErasureWorkflowID(id string) (orgID, erasureID string, ok bool) {
	rest, ok := strings.CutPrefix(id, erasurePrefix)
	if !ok {
		return "", "", false
	}
	i := strings.LastIndex(rest, ":")
	if i <= 0 || i == len(rest)-1 {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}

// ErasureInput names the erasure to carry out.
type ErasureInput = activities.ErasureInput

// ErasureResult summarises an erasure run (ids and counts only).
type ErasureResult struct {
	LocalRows int64
	Systems   int
	Failed    int
}

// Erasure carries out one data subject's erasure: it removes or redacts
// their personal data in every table, asks each connected integration
// whose connector can erase to delete them there (one outcome each,
// recorded as it comes; an integration that keeps failing is recorded
// as failed), then emits privacy.erasure_requested to the organization's
// webhooks and completes the request.
func Erasure(ctx workflow.Context, in ErasureInput) (ErasureResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 10, NonRetryableErrorTypes: activities.IntegrationNonRetryable},
	})
	var a *activities.Privacy
	var res ErasureResult
	var local activities.EraseLocalResult
	if err := workflow.ExecuteActivity(ctx, a.EraseLocal, in).Get(ctx, &local); err != nil {
		return res, err
	}
	res.LocalRows = local.Rows
	var targets activities.ErasureTargetsResult
	if err := workflow.ExecuteActivity(ctx, a.ErasureTargets, in).Get(ctx, &targets); err != nil {
		return res, err
	}
	pctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         integrationRetry(10),
	})
	for _, t := range targets.Targets {
		res.Systems++
		var out activities.EraseAtProviderResult
		err := workflow.ExecuteActivity(pctx, a.EraseAtProvider, activities.EraseAtProviderInput{
			OrganizationID: in.OrganizationID, ErasureID: in.ErasureID, IntegrationID: t.IntegrationID,
		}).Get(ctx, &out)
		if err == nil && out.Status != activities.EraseFailed {
			continue
		}
		res.Failed++
		if err != nil {
			reason := err.Error()
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) {
				reason = appErr.Message()
			}
			if err := workflow.ExecuteActivity(ctx, a.RecordEraseFailure, activities.EraseFailureInput{
				OrganizationID: in.OrganizationID, ErasureID: in.ErasureID, IntegrationID: t.IntegrationID,
				IntegrationType: t.IntegrationType, Reason: "gave up after retries: " + reason,
			}).Get(ctx, nil); err != nil {
				return res, err
			}
		}
	}
	err := workflow.ExecuteActivity(ctx, a.FinishErasure, in).Get(ctx, nil)
	return res, err
}

// ExportInput names the access export to build.
type ExportInput = activities.ExportInput

// Export builds one data subject's access export (a JSON document kept
// encrypted until it is downloaded once).
func Export(ctx workflow.Context, in ExportInput) (activities.ExportResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 10, NonRetryableErrorTypes: activities.IntegrationNonRetryable},
	})
	var a *activities.Privacy
	var res activities.ExportResult
	err := workflow.ExecuteActivity(ctx, a.BuildExport, in).Get(ctx, &res)
	if err != nil {
		_ = workflow.ExecuteActivity(ctx, a.FailExport, in).Get(ctx, nil)
	}
	return res, err
}
