package testenv

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// RecordingHistories reports whether AQIO_RECORD_HISTORIES names a
// directory to write run histories to (for workflows/testdata, whose
// replay test keeps recorded runs replayable).
func RecordingHistories() bool { return os.Getenv("AQIO_RECORD_HISTORIES") != "" }

// RecordHistory writes a run's history (runID "" for the latest run) to
// $AQIO_RECORD_HISTORIES/<name>, as the JSON the replayer reads; it does
// nothing when the variable is unset.
func RecordHistory(t *testing.T, env *Env, workflowID, runID, name string) {
	t.Helper()
	dir := os.Getenv("AQIO_RECORD_HISTORIES")
	if dir == "" {
		return
	}
	iter := env.App.Temporal.GetWorkflowHistory(context.Background(), workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []json.RawMessage
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		b, err := protojson.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, b)
	}
	out, _ := json.MarshalIndent(map[string]any{"events": events}, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
		t.Fatal(err)
	}
}
