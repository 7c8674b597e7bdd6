package workflows

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
)

func TestListenSessionWorkflow(t *testing.T) {
	tests := []struct {
		name string
		// results the activity returns in turn; expiry is relative to the
		// workflow clock at the call.
		results     []activities.ListenExpireResult
		wantExpired bool
		wantCalls   int
	}{
		{"CLI ended the session before the first look", []activities.ListenExpireResult{{Gone: true}}, false, 1},
		{"an open stream keeps the session, then it expires", []activities.ListenExpireResult{{}, {}, {Expired: true}}, true, 3},
		{"ended while it was waiting", []activities.ListenExpireResult{{}, {Gone: true}}, false, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			var a *activities.Listen
			env.RegisterActivity(a)
			calls := 0
			var lastCall time.Time
			env.OnActivity(a.ExpireListenSession, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ListenExpireInput) (activities.ListenExpireResult, error) {
				if in.SessionID != "ls_1" {
					t.Errorf("session %q", in.SessionID)
				}
				now := env.Now()
				if calls > 0 && now.Sub(lastCall) < 30*time.Second {
					t.Errorf("looked again after %s, before the expiry (30 s)", now.Sub(lastCall))
				}
				lastCall = now
				r := tc.results[calls]
				calls++
				if !r.Gone && !r.Expired {
					r.ExpiresAt = now.Add(30 * time.Second)
				}
				return r, nil
			})
			env.ExecuteWorkflow(ListenSession, ListenSessionInput{SessionID: "ls_1"})
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var res ListenSessionResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			if res.Expired != tc.wantExpired || calls != tc.wantCalls {
				t.Fatalf("result %+v after %d looks, want expired=%v after %d", res, calls, tc.wantExpired, tc.wantCalls)
			}
		})
	}
}

// TestListenSessionContinuesAsNew: a session kept open for long continues
// as new, so one run's history stays bounded.
func TestListenSessionContinuesAsNew(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Listen
	env.RegisterActivity(a)
	calls := 0
	env.OnActivity(a.ExpireListenSession, mock.Anything, mock.Anything).Return(func(context.Context, activities.ListenExpireInput) (activities.ListenExpireResult, error) {
		calls++
		return activities.ListenExpireResult{ExpiresAt: env.Now().Add(time.Minute)}, nil
	})
	env.ExecuteWorkflow(ListenSession, ListenSessionInput{SessionID: "ls_1"})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	if calls != listenChecksPerRun {
		t.Fatalf("%d looks before continuing as new, want %d", calls, listenChecksPerRun)
	}
}

// TestReplayListenSessionHistories replays ListenSession runs recorded by
// e2e/cli (AQIO_RECORD_HISTORIES=…/workflows/testdata/listen).
func TestReplayListenSessionHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/listen/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded ListenSession history in testdata/listen/")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(ListenSession)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
