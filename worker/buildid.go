package worker

import (
	"runtime/debug"
	"strings"
	"sync"

	sdkworker "go.temporal.io/sdk/worker"
)

// BuildID names this build of the worker code to Temporal. Without one
// the SDK identifies the worker by an MD5 of its own executable, which it
// reads in full at start: 0.34 CPU-seconds for the 232 MB default build.
// The VCS revision Go stamps into the binary names the same code for
// free ("+dirty" when built from a modified tree); a build without VCS
// information (go run, a source tarball) falls back to the module version.
//
// BuildID also sets the SDK's process-wide binary checksum to the same
// id: AggregatedWorker.Start computes the MD5 unless one is set, whatever
// the worker options say.
func BuildID() string {
	buildIDOnce.Do(func() {
		buildID = readBuildID()
		sdkworker.SetBinaryChecksum(buildID)
	})
	return buildID
}

var (
	buildIDOnce sync.Once
	buildID     string
)

func readBuildID() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "aqio-connect-unknown"
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		// "(devel)" for go run and builds outside a checkout.
		return "aqio-connect-" + strings.Trim(info.Main.Version, "()")
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified == "true" {
		rev += "+dirty"
	}
	return "aqio-connect-" + rev
}
