package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/aqio/connect/apikeys"
	"github.com/aqio/connect/metrics"
)

// echoPath turns an OpenAPI path into the echo route syntax publicPaths uses.
func echoPath(p string) string {
	return regexp.MustCompile(`\{([^}]+)\}`).ReplaceAllString(p, ":$1")
}

type operation struct {
	method, path string
	op           *openapi3.Operation
}

func operations(t *testing.T) ([]operation, *Spec) {
	t.Helper()
	spec, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	var ops []operation
	for path, item := range spec.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops = append(ops, operation{method, path, op})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].path+ops[i].method < ops[j].path+ops[j].method })
	return ops, spec
}

// TestEveryOperationDeclaresItsScope fails when an operation of the
// document (every route is one: TestRoutesMatchDocument) is neither public
// nor declares x-required-scope with known scopes, or when the document's
// public operations and the routes that skip authentication disagree.
func TestEveryOperationDeclaresItsScope(t *testing.T) {
	ops, spec := operations(t)
	if len(ops) < 60 {
		t.Fatalf("only %d operations found", len(ops))
	}
	// The served document (/api/openapi.json) carries the declarations, so
	// generated SDKs and the console can show them.
	var served struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(spec.JSON, &served); err != nil {
		t.Fatal(err)
	}
	for _, o := range ops {
		name := o.method + " " + o.path
		public := IsPublic(o.op)
		skipsAuth := publicPaths[echoPath(o.path)] || isConsole(o.path)
		if public != skipsAuth {
			t.Errorf("%s: security: [] is %v in the document but the route skips authentication: %v (publicPaths)", name, public, skipsAuth)
		}
		_, declared := o.op.Extensions[RequiredScopeExtension]
		if public {
			if declared {
				t.Errorf("%s: a public operation declares %s", name, RequiredScopeExtension)
			}
			continue
		}
		scopes, ok := RequiredScopes(o.op)
		if !ok {
			t.Errorf("%s declares no %s (a scope, a list of scopes, %q or %q); add it to api/openapi.yaml",
				name, RequiredScopeExtension, ScopeAuthenticated, ScopeServiceToken)
			continue
		}
		for _, s := range scopes {
			if _, known := apikeys.Catalog[s]; !known && s != ScopeAuthenticated && s != ScopeServiceToken {
				t.Errorf("%s: %s names %q, not a scope of apikeys.Catalog", name, RequiredScopeExtension, s)
			}
		}
		if o.op.OperationID == "" {
			t.Errorf("%s has no operationId", name)
		}
		var op map[string]any
		_ = json.Unmarshal(served.Paths[o.path][strings.ToLower(o.method)], &op)
		if op[RequiredScopeExtension] == nil {
			t.Errorf("%s: /api/openapi.json lacks %s", name, RequiredScopeExtension)
		}
	}
}

// scopesAuth authenticates every request as an API key holding the scopes
// listed in X-Test-Scopes (comma-separated), or as the service token when
// X-Test-Service is set.
type scopesAuth struct{}

func (scopesAuth) Authenticate(_ context.Context, r *http.Request) (*Principal, error) {
	p := &Principal{OrganizationID: "org_scopes", UserID: "usr_scopes", Method: AuthAPIKey, Scopes: []string{}}
	if s := r.Header.Get("X-Test-Scopes"); s != "" {
		p.Scopes = strings.Split(s, ",")
	}
	if r.Header.Get("X-Test-Service") != "" {
		p.Method, p.Scopes = AuthServiceToken, serviceTokenScopes
	}
	return p, nil
}

// TestScopeMiddlewareEnforcesTheDocument calls every operation of the
// document through the real server: without its scope it is refused 403
// before validation and before the handler (whose dependencies are absent
// here, so reaching it would not answer 403); with one of its scopes it
// passes the gate.
func TestScopeMiddlewareEnforcesTheDocument(t *testing.T) {
	ops, spec := operations(t)
	srv := New(Deps{Spec: spec, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New(),
		Authenticators: []Authenticator{scopesAuth{}}})
	call := func(o operation, headers ...string) (int, string) {
		path := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(o.path, "x1")
		req := httptest.NewRequest(o.method, path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		var body struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body.Error.Code
	}
	checked := 0
	for _, o := range ops {
		if IsPublic(o.op) {
			continue
		}
		name := o.method + " " + o.path
		scopes, ok := RequiredScopes(o.op)
		if !ok {
			continue // TestEveryOperationDeclaresItsScope reports it
		}
		checked++
		switch scopes[0] {
		case ScopeAuthenticated:
			if status, code := call(o); status == http.StatusForbidden {
				t.Errorf("%s (authenticated): refused a caller without scopes: %d %s", name, status, code)
			}
		case ScopeServiceToken:
			if status, code := call(o, "X-Test-Scopes", "*"); status != http.StatusForbidden || code != "service_token_required" {
				t.Errorf("%s (service_token): an API key holding * got %d %s", name, status, code)
			}
			if status, code := call(o, "X-Test-Service", "1"); status == http.StatusForbidden {
				t.Errorf("%s (service_token): the service token was refused: %d %s", name, status, code)
			}
		default:
			others := otherScopes(scopes)
			if status, code := call(o, "X-Test-Scopes", strings.Join(others, ",")); status != http.StatusForbidden || code != "insufficient_scope" {
				t.Errorf("%s needs %v: a caller with every other scope got %d %s", name, scopes, status, code)
			}
			for _, s := range scopes {
				if status, code := call(o, "X-Test-Scopes", s); status == http.StatusForbidden && code == "insufficient_scope" {
					t.Errorf("%s: a caller holding %s was refused", name, s)
				}
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d operations checked", checked)
	}
}

// otherScopes is every catalog scope except those given (and except the
// ones a wildcard-free grant of them would not need).
func otherScopes(except []string) []string {
	var out []string
	for s := range apikeys.Catalog {
		if !strings.Contains(strings.Join(except, " "), s) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// An operation that is not public and declares nothing is refused, so a
// forgotten declaration cannot open a route.
func TestUndeclaredOperationIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		ext  any
	}{
		{"absent", nil},
		{"empty string", ""},
		{"empty list", []any{}},
		{"special value inside a list", []any{"authenticated"}},
		{"not a string", 3.0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := &openapi3.Operation{Extensions: map[string]any{}}
			if tc.ext != nil {
				op.Extensions[RequiredScopeExtension] = tc.ext
			}
			c := New(Deps{Spec: mustSpec(t), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New()}).
				echo.NewContext(httptest.NewRequest("GET", "/", nil), httptest.NewRecorder())
			c.Set(principalKey, Principal{Scopes: []string{"*"}, Method: AuthServiceToken})
			err := authorize(c, op)
			e, ok := err.(*Error)
			if !ok || e.Status != http.StatusForbidden || e.Code != "scope_undeclared" {
				t.Fatalf("authorize = %v", err)
			}
		})
	}
}

func mustSpec(t *testing.T) *Spec {
	t.Helper()
	spec, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}
