package integrations_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/store"
	"github.com/aqio/connect/workflows"
)

// TestOAuthStateCleanupSchedule: the hourly schedule exists after worker
// start; a triggered run deletes states that expired more than the grace
// period ago and keeps the others.
func TestOAuthStateCleanupSchedule(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	ctx := context.Background()
	// A real authorize call (which also makes the organization known).
	if resp := org.Do(t, "POST", "/api/integrations/slack/authorize", map[string]any{"return_url": returnURL}); resp.Status != http.StatusCreated {
		t.Fatalf("authorize: %d %s", resp.Status, resp.Body)
	}
	now := time.Now().UTC()
	states := map[string]time.Time{
		"long expired":      now.Add(-workflows.OAuthStateGrace - time.Hour),
		"expired, in grace": now.Add(-10 * time.Minute),
		"pending":           now.Add(10 * time.Minute),
	}
	ids := map[string]string{}
	for name, expires := range states {
		st := &models.IntegrationOAuthState{ID: "st_" + org.ID + "_" + string(rune('a'+len(ids))), StateHash: org.ID + name,
			OrganizationID: org.ID, IntegrationType: "slack", ReturnURL: returnURL, CodeVerifier: "v1:test", ExpiresAt: expires}
		if err := env.App.Store.CreateOAuthState(ctx, st); err != nil {
			t.Fatal(err)
		}
		ids[name] = st.ID
	}

	h := env.App.Temporal.ScheduleClient().GetHandle(ctx, workflows.OAuthStateCleanupScheduleID)
	d, err := h.Describe(ctx)
	if err != nil {
		t.Fatalf("cleanup schedule: %v", err)
	}
	if d.Schedule.Policy == nil || d.Schedule.Policy.Overlap != enums.SCHEDULE_OVERLAP_POLICY_SKIP ||
		len(d.Schedule.Spec.Intervals) != 1 || d.Schedule.Spec.Intervals[0].Every != time.Hour {
		t.Fatalf("cleanup schedule: policy %+v spec %+v", d.Schedule.Policy, d.Schedule.Spec)
	}
	if a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction); !ok || a.TaskQueue != workflows.IntegrationsQueue {
		t.Fatalf("cleanup action: %+v", d.Schedule.Action)
	}
	// Worker start ensures it idempotently.
	if err := workflows.EnsureOAuthStateCleanupSchedule(ctx, env.App.Temporal); err != nil {
		t.Fatalf("ensure again: %v", err)
	}

	before := d.Info.NumActions
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	var run string
	testenv.Eventually(t, wait, "the cleanup run to start", func() bool {
		d, err := h.Describe(ctx)
		if err != nil || d.Info.NumActions <= before || len(d.Info.RecentActions) == 0 {
			return false
		}
		run = d.Info.RecentActions[len(d.Info.RecentActions)-1].StartWorkflowResult.WorkflowID
		return true
	})
	var res workflows.OAuthStateCleanupResult
	if err := env.App.Temporal.GetWorkflow(ctx, run, "").Get(ctx, &res); err != nil {
		t.Fatalf("cleanup run %s: %v", run, err)
	}
	if res.Deleted < 1 {
		t.Fatalf("cleanup deleted %d states", res.Deleted)
	}
	for name, id := range ids {
		_, err := env.App.Store.GetOAuthState(ctx, id)
		gone := errors.Is(err, store.ErrNotFound)
		if err != nil && !gone {
			t.Fatal(err)
		}
		if want := name == "long expired"; gone != want {
			t.Errorf("%s: gone=%v, want %v", name, gone, want)
		}
	}
}
