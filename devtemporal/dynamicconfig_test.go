package devtemporal

import (
	"testing"

	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
)

// The embedded file holds what the benchmarks were measured with, read
// through the typed settings the server itself uses.
func TestDynamicConfigFile(t *testing.T) {
	dc, err := DynamicConfig()
	if err != nil {
		t.Fatal(err)
	}
	col := dynamicconfig.NewCollection(dc, log.NewNoopLogger())
	if got := dynamicconfig.TransferProcessorMaxPollRPS.Get(col)(); got != 1000 {
		t.Errorf("history.transferProcessorMaxPollRPS = %d, want 1000", got)
	}
	if !dynamicconfig.EnableEagerWorkflowStart.Get(col)("default") {
		t.Error("system.enableEagerWorkflowStart is off")
	}
	if !dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Get(col)() {
		t.Error("system.forceSearchAttributesCacheRefreshOnRead is off")
	}
}

func TestDynamicConfigRefusesBadFile(t *testing.T) {
	if _, err := parseDynamicConfig([]byte("history.transferProcessorMaxPollRPS:\n  value: [unclosed\n")); err == nil {
		t.Fatal("a broken file was accepted")
	}
}
