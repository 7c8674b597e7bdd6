package workflows

import (
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
)

// RecoveryWorkflowID names the recovery of one webhook over one window;
// the same request maps to the same id, so calling recover twice starts
// one run.
func RecoveryWorkflowID(webhookID, recoveryID string) string {
	return "webhook-recover:" + webhookID + ":" + recoveryID
}

// RecoveryProgressQuery is the query name that reports progress.
const RecoveryProgressQuery = "progress"

// recoveryConcurrency bounds how many redeliveries run at once.
const recoveryConcurrency = 20

// RecoveryInput selects the failed deliveries to re-deliver.
type RecoveryInput struct {
	OrganizationID string
	WebhookID      string
	RecoveryID     string
	Since, Until   time.Time
	// Statuses are failed, cancelled and/or skipped_disabled; Status is
	// the one status of runs started before Statuses existed.
	Status   string
	Statuses []string
}

// RecoveryProgress is what a recovery has done so far.
type RecoveryProgress struct {
	Found     int  `json:"found"`
	Started   int  `json:"started"`
	Done      int  `json:"done"`
	Succeeded int  `json:"succeeded"`
	Failed    int  `json:"failed"`
	Finished  bool `json:"finished"`
}

// Recovery re-delivers every failed message of a webhook in a window, as
// child delivery runs linked to the originals, and reports progress
// through the "progress" query.
func Recovery(ctx workflow.Context, in RecoveryInput) (RecoveryProgress, error) {
	var p RecoveryProgress
	if err := workflow.SetQueryHandler(ctx, RecoveryProgressQuery, func() (RecoveryProgress, error) { return p, nil }); err != nil {
		return p, err
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 10},
	})
	var a *activities.Deliveries
	var plan activities.RecoverPlan
	if err := workflow.ExecuteActivity(actx, a.PlanRecovery, activities.RecoverPlanInput{
		OrganizationID: in.OrganizationID, WebhookID: in.WebhookID, Since: in.Since, Until: in.Until,
		Status: in.Status, Statuses: in.Statuses,
	}).Get(ctx, &plan); err != nil {
		return p, err
	}
	p.Found = len(plan.Messages)

	pending := 0
	sel := workflow.NewSelector(ctx)
	for _, m := range plan.Messages {
		for pending >= recoveryConcurrency {
			sel.Select(ctx)
			pending--
		}
		original := DeliveryWorkflowID(in.WebhookID, m.EventID)
		if m.Skipped {
			original = "" // never attempted: a first delivery, not a repeat
		}
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            RedeliveryWorkflowID(in.WebhookID, m.EventID, "recover-"+in.RecoveryID),
			TaskQueue:             WebhooksQueue,
			ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			TypedSearchAttributes: DeliveryAttributes(in.OrganizationID, in.WebhookID, m.EventType),
		})
		f := workflow.ExecuteChildWorkflow(cctx, Delivery, DeliveryInput{
			OrganizationID: in.OrganizationID, WebhookID: in.WebhookID, EventID: m.EventID, EventType: m.EventType,
			MessageID: m.MessageID, RedeliveryOf: original,
			TimeoutSeconds: plan.TimeoutSeconds, RetryCount: plan.RetryCount, RetryDelaySeconds: plan.RetryDelaySeconds,
		})
		p.Started++
		pending++
		sel.AddFuture(f, func(f workflow.Future) {
			p.Done++
			if err := f.Get(ctx, nil); err != nil {
				p.Failed++
			} else {
				p.Succeeded++
			}
		})
	}
	for ; pending > 0; pending-- {
		sel.Select(ctx)
	}
	p.Finished = true
	return p, nil
}
