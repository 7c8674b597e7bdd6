package integrations_test

import (
	"context"
	"testing"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/workflows"
)

func syncLogs(t *testing.T, org *testenv.Org, integ string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, s := range org.Do(t, "GET", "/api/integrations/"+integ+"/syncs", nil).Map(t)["data"].([]any) {
		out = append(out, s.(map[string]any))
	}
	return out
}

// TestPeriodicSyncSchedule triggers an integration's Temporal Schedule:
// each action is a sync run with its own integration_sync_logs row, and a
// trigger while a run is still going is skipped (overlap policy skip).
func TestPeriodicSyncSchedule(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	cal := "sched-" + org.ID + "@aqio.test"
	id := connect(t, org, "google_calendar", map[string]any{"calendar_id": cal, "sync_interval_minutes": 60, "create_meet_links": false}, "")
	postEvent(t, org, "sc1-"+org.ID, "event.created", event("evt_sched_"+org.ID, "Scheduled", "2031-08-01T10:00:00Z", "2031-08-01T11:00:00Z", "in_person", 5))
	waitClosed(t, env, workflows.PushWorkflowID(id, "sc1-"+org.ID))

	ctx := context.Background()
	h := env.App.Temporal.ScheduleClient().GetHandle(ctx, workflows.SyncScheduleID(id))
	d, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Schedule.Policy == nil || d.Schedule.Policy.Overlap != enums.SCHEDULE_OVERLAP_POLICY_SKIP {
		t.Fatalf("schedule policy: %+v", d.Schedule.Policy)
	}
	if d.Schedule.State.Paused {
		t.Fatal("schedule is paused")
	}
	if a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction); !ok || a.ID != workflows.ScheduledSyncWorkflowID(id) || a.TaskQueue != workflows.IntegrationsQueue {
		t.Fatalf("schedule action: %+v", d.Schedule.Action)
	}
	if n := len(syncLogs(t, org, id)); n != 0 {
		t.Fatalf("%d sync runs before the first trigger", n)
	}

	// The provider is slow: the first run stays inside its export.
	release := fake.Hold(cal)
	defer release()
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, wait, "the scheduled run to reach the provider", func() bool { return fake.Waiting(cal) > 0 })
	logs := syncLogs(t, org, id)
	if len(logs) != 1 || logs[0]["status"] != "running" || logs[0]["sync_type"] != "incremental" {
		t.Fatalf("sync runs while the first is running: %v", logs)
	}
	// A second trigger while it runs is skipped.
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, wait, "the overlapping trigger to be skipped", func() bool {
		d, err := h.Describe(ctx)
		return err == nil && d.Info.NumActionsSkippedOverlap >= 1
	})
	if d, err := h.Describe(ctx); err != nil || len(d.Info.RunningWorkflows) != 1 || d.Info.NumActions != 1 {
		t.Fatalf("schedule while the run is held: %v %+v", err, d.Info)
	}
	release()
	first := syncRun(t, org, id, logs[0]["id"].(string))
	if first["status"] != "completed" || first["records_processed"].(float64) != 1 || first["records_failed"].(float64) != 0 {
		t.Fatalf("scheduled sync: %v", first)
	}
	if n := len(syncLogs(t, org, id)); n != 1 {
		t.Fatalf("%d sync runs, want 1 (the overlapping one skipped)", n)
	}
	if n := fake.CalendarEventCount(cal); n != 1 {
		t.Fatalf("%d calendar events, want 1", n)
	}

	// Once the scheduler has seen the run finish, the next trigger runs
	// again, incrementally (nothing changed since the first run's cursor).
	testenv.Eventually(t, wait, "the schedule to see the run finish", func() bool {
		d, err := h.Describe(ctx)
		return err == nil && len(d.Info.RunningWorkflows) == 0
	})
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, wait, "a second scheduled run", func() bool { return len(syncLogs(t, org, id)) == 2 })
	var second map[string]any
	for _, l := range syncLogs(t, org, id) {
		if l["id"] != first["id"] {
			second = syncRun(t, org, id, l["id"].(string))
		}
	}
	if second["status"] != "completed" || second["records_processed"].(float64) != 0 {
		t.Fatalf("second scheduled sync: %v", second)
	}
}
