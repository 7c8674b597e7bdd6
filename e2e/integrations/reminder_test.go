package integrations_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/aqio/connect/internal/fakes"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/workflows"
)

// slackMessages returns the messages the fake Slack received whose text
// contains every one of the given parts.
func slackMessages(parts ...string) []fakes.SlackMessage {
	var out []fakes.SlackMessage
next:
	for _, m := range fake.Messages() {
		for _, p := range parts {
			if !strings.Contains(m.Text, p) {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

func reminderResult(t *testing.T, env *testenv.Env, workflowID string) workflows.ReminderResult {
	t.Helper()
	var res workflows.ReminderResult
	if err := env.App.Temporal.GetWorkflow(context.Background(), workflowID, "").Get(context.Background(), &res); err != nil {
		t.Fatalf("reminder %s: %v", workflowID, err)
	}
	return res
}

// TestSlackEventReminder drives notifications.event_reminder.hours_before:
// the durable timer fires, an update that keeps the start does not post
// again, a moved start reschedules, a cancellation ends the timer.
func TestSlackEventReminder(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	id := connect(t, org, "slack", map[string]any{
		"channel": "#events",
		"notifications": map[string]any{
			"event_created":  false,
			"event_reminder": map[string]any{"hours_before": 1},
		},
	}, "")
	rfc := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }

	t.Run("the timer fires hours_before the start, once", func(t *testing.T) {
		evID := "evt_timer_" + org.ID
		title := "Timer talk " + org.ID
		// Due in a couple of seconds: one hour before a start one hour
		// and a couple of seconds away.
		start := rfc(time.Hour + 2*time.Second)
		ev := event(evID, title, start, rfc(2*time.Hour), "in_person", 10)
		postEvent(t, org, "rt1-"+org.ID, "event.created", ev)
		testenv.Eventually(t, wait, "the reminder", func() bool { return len(slackMessages("Reminder", title)) > 0 })
		m := slackMessages("Reminder", title)[0]
		if m.Channel != "#events" || !strings.Contains(m.Text, "starts in 1 hours ("+start+")") || len(m.Blocks) == 0 {
			t.Fatalf("reminder message: %+v", m)
		}
		// An update that keeps the start (every event.updated reschedules)
		// posts nothing new; the cancellation closes the timer's run.
		ev["title"] = title + " (new room)"
		postEvent(t, org, "rt2-"+org.ID, "event.updated", ev)
		postEvent(t, org, "rt3-"+org.ID, "event.cancelled", ev)
		wid := workflows.ReminderWorkflowID(id, evID)
		if st := waitClosed(t, env, wid); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			t.Fatalf("reminder ended %v", st)
		}
		if res := reminderResult(t, env, wid); res.Outcome != "cancelled" {
			t.Fatalf("reminder outcome %q", res.Outcome)
		}
		if n := len(slackMessages("Reminder", title)); n != 1 {
			t.Fatalf("%d reminders, want 1", n)
		}
	})

	t.Run("a moved start reschedules the reminder", func(t *testing.T) {
		evID := "evt_moved_" + org.ID
		title := "Moved talk " + org.ID
		ev := event(evID, title, rfc(3*time.Hour), rfc(4*time.Hour), "in_person", 10)
		postEvent(t, org, "rm1-"+org.ID, "event.created", ev)
		wid := workflows.ReminderWorkflowID(id, evID)
		if d, err := env.App.Temporal.DescribeWorkflowExecution(context.Background(), wid, ""); err != nil ||
			d.GetWorkflowExecutionInfo().GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Fatalf("reminder not waiting: %v", err)
		}
		// Moved to half an hour from now: the reminder is due at once.
		moved := rfc(30 * time.Minute)
		ev["starts_at"] = moved
		postEvent(t, org, "rm2-"+org.ID, "event.updated", ev)
		testenv.Eventually(t, wait, "the reminder for the new start", func() bool { return len(slackMessages("Reminder", title)) > 0 })
		if got := slackMessages("Reminder", title); len(got) != 1 || !strings.Contains(got[0].Text, moved) {
			t.Fatalf("reminders: %+v", got)
		}
		postEvent(t, org, "rm3-"+org.ID, "event.cancelled", ev)
		waitClosed(t, env, wid)
	})

	t.Run("a cancelled event is never reminded", func(t *testing.T) {
		evID := "evt_cancel_" + org.ID
		title := "Cancelled talk " + org.ID
		ev := event(evID, title, rfc(3*time.Hour), rfc(4*time.Hour), "in_person", 10)
		postEvent(t, org, "rc1-"+org.ID, "event.created", ev)
		postEvent(t, org, "rc2-"+org.ID, "event.cancelled", ev)
		wid := workflows.ReminderWorkflowID(id, evID)
		if st := waitClosed(t, env, wid); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			t.Fatalf("reminder ended %v", st)
		}
		if res := reminderResult(t, env, wid); res.Outcome != "cancelled" {
			t.Fatalf("reminder outcome %q", res.Outcome)
		}
		if got := slackMessages("Reminder", title); len(got) != 0 {
			t.Fatalf("reminders for a cancelled event: %+v", got)
		}
	})
}
