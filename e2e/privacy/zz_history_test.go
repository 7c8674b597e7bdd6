package privacy_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/aqio/connect/internal/testenv"
)

// TestHistoriesHoldNoPersonalData runs last (file order): it reads the
// recorded history of every workflow run of this binary — erasures,
// exports, pushes, deliveries, connects — and fails if any personal
// value the tests gave a subject appears in it (inputs, results, errors,
// search attributes, memos).
func TestHistoriesHoldNoPersonalData(t *testing.T) {
	env := testenv.Get(t)
	subjects.Lock()
	needles := append([]string(nil), subjects.values...)
	subjects.Unlock()
	if len(needles) == 0 {
		t.Fatal("no subject was registered by the tests")
	}
	ctx := context.Background()
	types := map[string]int{}
	var token []byte
	for {
		res, err := env.App.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: 500, NextPageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range res.Executions {
			types[ex.GetType().GetName()]++
			id, runID := ex.GetExecution().GetWorkflowId(), ex.GetExecution().GetRunId()
			for _, n := range needles {
				if strings.Contains(strings.ToLower(id), strings.ToLower(n)) {
					t.Errorf("workflow id %s holds %q", id, n)
				}
			}
			if b, _ := proto.Marshal(ex); containsAny(b, needles) != "" {
				t.Errorf("run %s (%s): search attributes or memo hold %q", id, ex.GetType().GetName(), containsAny(b, needles))
			}
			iter := env.App.Temporal.GetWorkflowHistory(ctx, id, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for iter.HasNext() {
				ev, err := iter.Next()
				if err != nil {
					t.Fatal(err)
				}
				b, err := proto.Marshal(ev)
				if err != nil {
					t.Fatal(err)
				}
				if n := containsAny(b, needles); n != "" {
					t.Errorf("history of %s (%s), event %d %s holds %q", id, ex.GetType().GetName(), ev.GetEventId(), ev.GetEventType(), n)
				}
			}
		}
		if token = res.NextPageToken; len(token) == 0 {
			break
		}
	}
	for _, want := range []string{"Erasure", "Export", "Push", "DeliveryBatch", "Retention"} {
		if types[want] == 0 {
			t.Errorf("no %s run was checked (runs: %v)", want, types)
		}
	}
}

// containsAny returns the first needle found in b (case-insensitive), or "".
func containsAny(b []byte, needles []string) string {
	lb := bytes.ToLower(b)
	for _, n := range needles {
		if bytes.Contains(lb, []byte(strings.ToLower(n))) {
			return n
		}
	}
	return ""
}

// record writes a run's history to $AQIO_RECORD_HISTORIES/<name> (for
// the replay test in workflows/testdata).
func record(t *testing.T, env *testenv.Env, workflowID, name string) {
	if !testenv.RecordingHistories() {
		return
	}
	testenv.RecordHistory(t, env, workflowID, "", name)
}
