package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/aqio/connect/activities"
)

func TestReminder(t *testing.T) {
	// A signal sent at an offset from the workflow's start; startsIn 0
	// means a cancel signal.
	type signal struct {
		at       time.Duration
		startsIn time.Duration
	}
	tests := []struct {
		name        string
		startsIn    time.Duration
		hoursBefore int
		signals     []signal
		wantPosts   []time.Duration
		wantOutcome string
		wantEnd     time.Duration
	}{
		{
			name:     "fires hours_before the start and lives until the start",
			startsIn: 48 * time.Hour, hoursBefore: 24,
			wantPosts: []time.Duration{24 * time.Hour}, wantOutcome: "posted", wantEnd: 48 * time.Hour,
		},
		{
			name:     "a start inside the window posts at once",
			startsIn: 2 * time.Hour, hoursBefore: 24,
			wantPosts: []time.Duration{0}, wantOutcome: "posted", wantEnd: 2 * time.Hour,
		},
		{
			name:     "an event that already started posts nothing",
			startsIn: -time.Hour, hoursBefore: 1,
			wantOutcome: "past",
		},
		{
			name:     "a moved start reschedules the timer",
			startsIn: 48 * time.Hour, hoursBefore: 24,
			signals:   []signal{{at: time.Hour, startsIn: 72 * time.Hour}},
			wantPosts: []time.Duration{48 * time.Hour}, wantOutcome: "posted", wantEnd: 72 * time.Hour,
		},
		{
			name:     "a start moved earlier fires earlier",
			startsIn: 72 * time.Hour, hoursBefore: 24,
			signals:   []signal{{at: time.Hour, startsIn: 30 * time.Hour}},
			wantPosts: []time.Duration{6 * time.Hour}, wantOutcome: "posted", wantEnd: 30 * time.Hour,
		},
		{
			name:     "an update that keeps the start does not post twice",
			startsIn: 48 * time.Hour, hoursBefore: 24,
			signals:   []signal{{at: time.Hour, startsIn: 48 * time.Hour}, {at: 30 * time.Hour, startsIn: 48 * time.Hour}},
			wantPosts: []time.Duration{24 * time.Hour}, wantOutcome: "posted", wantEnd: 48 * time.Hour,
		},
		{
			name:     "a start moved after the reminder arms a new one",
			startsIn: 48 * time.Hour, hoursBefore: 24,
			signals:   []signal{{at: 30 * time.Hour, startsIn: 96 * time.Hour}},
			wantPosts: []time.Duration{24 * time.Hour, 72 * time.Hour}, wantOutcome: "posted", wantEnd: 96 * time.Hour,
		},
		{
			name:     "cancelled before the reminder posts nothing",
			startsIn: 48 * time.Hour, hoursBefore: 24,
			signals:     []signal{{at: time.Hour}},
			wantOutcome: "cancelled", wantEnd: time.Hour,
		},
		{
			name:     "cancelled after a reschedule posts nothing",
			startsIn: 48 * time.Hour, hoursBefore: 24,
			signals:     []signal{{at: time.Hour, startsIn: 72 * time.Hour}, {at: 30 * time.Hour}},
			wantOutcome: "cancelled", wantEnd: 30 * time.Hour,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			var a *activities.Integrations
			env.RegisterActivity(a)
			start := env.Now()
			var posts []time.Duration
			env.OnActivity(a.PostReminder, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.ReminderInput) (activities.PushResult, error) {
					if in.IntegrationID != "int_1" || in.AqioEventID != "evt_1" {
						t.Errorf("PostReminder input %+v", in)
					}
					posts = append(posts, env.Now().Sub(start))
					return activities.PushResult{Action: "posted"}, nil
				})
			for _, sig := range tc.signals {
				env.RegisterDelayedCallback(func() {
					if sig.startsIn == 0 {
						env.SignalWorkflow(SignalCancel, nil)
						return
					}
					env.SignalWorkflow(SignalReschedule, ReminderSchedule{StartsAt: start.Add(sig.startsIn), HoursBefore: tc.hoursBefore})
				}, sig.at)
			}
			env.ExecuteWorkflow(Reminder, ReminderInput{
				IntegrationID: "int_1", OrganizationID: "org_1", AqioEventID: "evt_1",
				Schedule: ReminderSchedule{StartsAt: start.Add(tc.startsIn), HoursBefore: tc.hoursBefore},
			})
			var res ReminderResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tc.wantOutcome {
				t.Errorf("outcome %q, want %q", res.Outcome, tc.wantOutcome)
			}
			if len(posts) != len(tc.wantPosts) {
				t.Fatalf("posted at %v, want %v", posts, tc.wantPosts)
			}
			for i := range posts {
				if posts[i] != tc.wantPosts[i] {
					t.Errorf("post %d after %s, want %s", i, posts[i], tc.wantPosts[i])
				}
			}
			if end := env.Now().Sub(start); end != tc.wantEnd {
				t.Errorf("workflow ended after %s, want %s", end, tc.wantEnd)
			}
		})
	}
}
