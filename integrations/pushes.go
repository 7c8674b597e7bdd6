package integrations

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/aqio/connect/audit"
	"github.com/aqio/connect/ids"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/workflows"
)

// RetryPush re-runs a failed push as a new Push run (its own row, linked
// by retry_of) with the integration's current settings and credentials.
func (s *Service) RetryPush(ctx context.Context, integ models.Integration, pushID string) (models.IntegrationPush, error) {
	orig, err := s.Store.GetPush(ctx, integ.OrganizationID, integ.ID, pushID)
	if err != nil {
		return orig, err
	}
	if orig.Status != models.PushFailed {
		return orig, fmt.Errorf("%w: only a failed push can be retried (this one is %s)", ErrConflict, orig.Status)
	}
	if integ.Status != models.IntegrationActive {
		return orig, fmt.Errorf("%w: the integration is %s; reconnect it first", ErrConflict, integ.Status)
	}
	row := models.IntegrationPush{ID: ids.New("push"), IntegrationID: integ.ID, OrganizationID: integ.OrganizationID,
		EventID: orig.EventID, EventType: orig.EventType, RetryOf: &orig.ID}
	row.WorkflowID = workflows.PushRetryWorkflowID(integ.ID, orig.EventID, row.ID)
	if err := s.Store.CreatePush(ctx, &row); err != nil {
		return row, err
	}
	_, err = s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    row.WorkflowID,
		TaskQueue:             workflows.IntegrationsQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowRunTimeout:    7 * 24 * time.Hour,
		TypedSearchAttributes: s.attrs(integ),
	}, workflows.Push, workflows.PushInput{IntegrationID: integ.ID, OrganizationID: integ.OrganizationID,
		EventID: orig.EventID, EventType: orig.EventType, PushID: row.ID, RetryOf: orig.ID})
	if err != nil {
		msg := "the push workflow could not be started"
		_ = s.Store.FinishPush(ctx, row.ID, map[string]any{"status": models.PushFailed, "error_code": "start_failed", "error_message": msg})
		return row, fmt.Errorf("start push: %w", err)
	}
	s.record(ctx, integ, audit.IntegrationPushRetried, audit.ActorFrom(ctx),
		map[string]any{"push_id": row.ID, "retry_of": orig.ID, "event_type": orig.EventType, "workflow_id": row.WorkflowID})
	return row, nil
}
