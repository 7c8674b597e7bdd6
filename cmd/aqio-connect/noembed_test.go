package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The production image is built with -tags noembed: it must not link the
// Temporal server or its Web UI, and the default build must (dev, bench
// and temporal-server run them).
func TestNoembedBuildLeavesOutTheTemporalServerAndUI(t *testing.T) {
	embedded := []string{"github.com/aqio/connect/devtemporal", "go.temporal.io/server/temporal", "github.com/temporalio/ui-server/v2/server"}
	deps := func(tags ...string) string {
		args := append([]string{"list", "-deps"}, tags...)
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
		return "\n" + string(out)
	}
	def, noembed := deps(), deps("-tags", "noembed")
	for _, pkg := range embedded {
		if !strings.Contains(def, "\n"+pkg+"\n") {
			t.Errorf("the default build does not link %s", pkg)
		}
		if strings.Contains(noembed, "\n"+pkg+"\n") {
			t.Errorf("the noembed build links %s", pkg)
		}
	}
	if !strings.Contains(noembed, "\ngithub.com/aqio/connect/app\n") {
		t.Errorf("the noembed build does not link the app (api, worker, migrate)")
	}
}
