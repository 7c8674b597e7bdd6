package registry

import (
	"os"
	"strings"
	"testing"
)

const (
	privacyDoc     = "../../docs/PRIVACY.md"
	dataSentBegin  = "<!-- data-sent:begin (generated from the connector catalog: providers/registry/datasent_test.go; AQIO_UPDATE_DOCS=1 rewrites it) -->"
	dataSentEnd    = "<!-- data-sent:end -->"
	dataSentHeader = "| Connector | Type | What leaves Aqio (sent to the provider's API or the connected account) |\n|---|---|---|\n"
)

// dataSentTable is the docs/PRIVACY.md table the catalog implies.
func dataSentTable() string {
	r := New()
	var b strings.Builder
	b.WriteString(dataSentHeader)
	for _, typ := range r.Types() {
		c, _ := r.Get(typ)
		info := c.Info()
		if !info.Available {
			continue
		}
		b.WriteString("| " + info.DisplayName + " | `" + typ + "` | " + strings.Join(info.DataSent, "; ") + " |\n")
	}
	return b.String()
}

// TestEveryConnectorSaysWhatItSends: every available connector fills
// DataSent, and docs/PRIVACY.md "What each connector sends" is exactly
// the catalog's (run with AQIO_UPDATE_DOCS=1 to rewrite the table).
func TestEveryConnectorSaysWhatItSends(t *testing.T) {
	r := New()
	for _, typ := range r.Types() {
		c, _ := r.Get(typ)
		if info := c.Info(); info.Available && len(info.DataSent) == 0 {
			t.Errorf("%s: catalog entry has no DataSent", typ)
		}
	}
	raw, err := os.ReadFile(privacyDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, dataSentBegin), strings.Index(doc, dataSentEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated table between %q and %q", privacyDoc, dataSentBegin, dataSentEnd)
	}
	want := dataSentTable()
	got := doc[i+len(dataSentBegin)+1 : j]
	if got == want {
		return
	}
	if os.Getenv("AQIO_UPDATE_DOCS") != "" {
		doc = doc[:i+len(dataSentBegin)+1] + want + doc[j:]
		if err := os.WriteFile(privacyDoc, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s \"What each connector sends\" disagrees with the catalog's DataSent; want:\n%s", privacyDoc, want)
}
