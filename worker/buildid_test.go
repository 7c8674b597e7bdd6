package worker

import (
	"strings"
	"testing"
)

func TestBuildIDIsStableAndNamed(t *testing.T) {
	id := BuildID()
	if !strings.HasPrefix(id, "aqio-connect-") || len(id) <= len("aqio-connect-") {
		t.Fatalf("BuildID() = %q, want aqio-connect-<revision or version>", id)
	}
	if again := BuildID(); again != id {
		t.Fatalf("BuildID() changed: %q then %q", id, again)
	}
}
