package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
)

const listenPrefix = "listen-session:"

// ListenSessionWorkflowID is the run that expires a listen session.
func ListenSessionWorkflowID(sessionID string) string { return listenPrefix + sessionID }

// ListenSessionInput names the session.
type ListenSessionInput struct {
	SessionID string
}

// ListenSessionResult says how the session ended: Expired when this run
// deleted it, otherwise it was ended by its CLI (or its webhook deleted).
type ListenSessionResult struct {
	Expired bool
}

// listenChecksPerRun bounds one run's history; then it continues as new.
const listenChecksPerRun = 200

// ListenSession outlives an `aqio-connect listen` session: it sleeps until
// the session's expiry, looks again (an open stream keeps moving the
// expiry forward), and deletes the session's webhook once the expiry has
// passed, so a CLI that vanished leaves no endpoint behind. A session the
// CLI ended ends the run at its next look.
func ListenSession(ctx workflow.Context, in ListenSessionInput) (ListenSessionResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute},
	})
	var a *activities.Listen
	for i := 0; i < listenChecksPerRun; i++ {
		var r activities.ListenExpireResult
		if err := workflow.ExecuteActivity(ctx, a.ExpireListenSession, activities.ListenExpireInput{SessionID: in.SessionID}).Get(ctx, &r); err != nil {
			return ListenSessionResult{}, err
		}
		if r.Gone || r.Expired {
			return ListenSessionResult{Expired: r.Expired}, nil
		}
		// A second past the expiry, so clocks a little apart still agree it passed.
		wait := r.ExpiresAt.Sub(workflow.Now(ctx)) + time.Second
		if err := workflow.Sleep(ctx, max(wait, time.Second)); err != nil {
			return ListenSessionResult{}, err
		}
	}
	return ListenSessionResult{}, workflow.NewContinueAsNewError(ctx, ListenSession, in)
}
