package api

import (
	"io"
	"log/slog"
	"sort"
	"strings"
	"testing"

	"github.com/aqio/connect/metrics"
)

// TestRoutesMatchDocument fails when a route is registered but not
// described, or described but not registered.
func TestRoutesMatchDocument(t *testing.T) {
	spec, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Deps{Spec: spec, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New()})
	registered := map[string]bool{}
	for _, r := range srv.Routes() {
		registered[r] = true
	}
	documented := map[string]bool{}
	for path, item := range spec.Doc.Paths.Map() {
		for method := range item.Operations() {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	var missing, extra []string
	for r := range registered {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for d := range documented {
		if !registered[d] {
			extra = append(extra, d)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes missing from api/openapi.yaml:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("documented but not registered:\n  %s", strings.Join(extra, "\n  "))
	}
}
