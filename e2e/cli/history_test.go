package cli_test

import (
	"testing"

	"github.com/aqio/connect/internal/testenv"
)

// recordHistory writes a run's history to $AQIO_RECORD_HISTORIES (for
// workflows/testdata/listen, replayed by the workflows package's tests).
func recordHistory(t *testing.T, env *testenv.Env, workflowID, name string) {
	if !testenv.RecordingHistories() {
		return
	}
	testenv.RecordHistory(t, env, workflowID, "", name)
}
