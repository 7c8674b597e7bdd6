package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/aqio/connect/internal/testenv"
)

// recordHistory writes a run's history to $AQIO_RECORD_HISTORIES (for
// workflows/testdata/listen, replayed by the workflows package's tests).
func recordHistory(t *testing.T, env *testenv.Env, workflowID, name string) {
	dir := os.Getenv("AQIO_RECORD_HISTORIES")
	if dir == "" {
		return
	}
	iter := env.App.Temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
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
