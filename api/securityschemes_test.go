package api

import (
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/aqio/connect/apikeys"
)

// TestSecuritySchemesMatchRequiredScopes keeps the document's security
// requirements (what generated SDKs and the explorer show) consistent with
// x-required-scope (what the middleware enforces): operator endpoints take
// the service token only, service-level scopes are never offered to API
// keys, and every other operation accepts any of the three credentials.
func TestSecuritySchemesMatchRequiredScopes(t *testing.T) {
	ops, spec := operations(t)
	for _, name := range []string{"serviceToken", "apiKey", "userJWT"} {
		s := spec.Doc.Components.SecuritySchemes[name]
		if s == nil || s.Value == nil || s.Value.Type != "http" || s.Value.Scheme != "bearer" {
			t.Fatalf("components.securitySchemes.%s is not an http bearer scheme", name)
		}
	}
	schemes := func(req openapi3.SecurityRequirements) string {
		var names []string
		for _, r := range req {
			for n := range r {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		return strings.Join(names, ",")
	}
	if got := schemes(spec.Doc.Security); got != "apiKey,serviceToken,userJWT" {
		t.Fatalf("global security offers %q, want apiKey,serviceToken,userJWT", got)
	}
	for _, o := range ops {
		if IsPublic(o.op) {
			continue
		}
		name := o.method + " " + o.path
		scopes, ok := RequiredScopes(o.op)
		if !ok {
			continue // TestEveryOperationDeclaresItsScope reports it
		}
		effective := spec.Doc.Security
		if o.op.Security != nil {
			effective = *o.op.Security
		}
		serviceLevel := true
		for _, s := range scopes {
			if !apikeys.IsServiceScope(s) {
				serviceLevel = false
			}
		}
		want := "apiKey,serviceToken,userJWT"
		switch {
		case scopes[0] == ScopeServiceToken:
			want = "serviceToken"
		case serviceLevel:
			want = "serviceToken,userJWT"
		}
		if got := schemes(effective); got != want {
			t.Errorf("%s (x-required-scope %v) offers security %q, want %q", name, scopes, got, want)
		}
	}
}
