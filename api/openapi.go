package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
)

//go:embed openapi.yaml
var openapiYAML []byte

// Spec is the parsed OpenAPI document: the single source of truth for the
// API's paths, parameters and bodies.
type Spec struct {
	Doc    *openapi3.T
	JSON   []byte
	router routers.Router
}

// LoadSpec parses and validates the embedded document.
func LoadSpec() (*Spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapiYAML)
	if err != nil {
		return nil, fmt.Errorf("load openapi: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate openapi: %w", err)
	}
	js, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	// Route on paths only: the document's server URL is relative.
	routing := *doc
	routing.Servers = nil
	r, err := gorillamux.NewRouter(&routing)
	if err != nil {
		return nil, fmt.Errorf("openapi router: %w", err)
	}
	return &Spec{Doc: doc, JSON: js, router: r}, nil
}

// validateRequests checks every request against the document: unknown
// routes, bad parameters and bodies get a 4xx naming the field.
func (s *Spec) validateRequests() echo.MiddlewareFunc {
	opts := &openapi3filter.Options{
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			route, params, err := s.router.FindRoute(req)
			if err != nil {
				if errors.Is(err, routers.ErrMethodNotAllowed) {
					return Errorf(http.StatusMethodNotAllowed, "method_not_allowed", "%s is not allowed on %s", req.Method, req.URL.Path)
				}
				return Errorf(http.StatusNotFound, "not_found", "no such endpoint: %s %s", req.Method, req.URL.Path)
			}
			// Authorization first: a caller without the operation's scope
			// learns nothing about its input rules.
			if err := authorize(c, route.Operation); err != nil {
				return err
			}
			// Encoding first (strict.go): values that cannot be stored or
			// forwarded faithfully never reach the validator or a handler.
			if err := checkParams(c, route); err != nil {
				return err
			}
			if err := checkBody(c, route); err != nil {
				return err
			}
			if err := unknownQueryParameter(route, req); err != nil {
				return err
			}
			err = openapi3filter.ValidateRequest(req.Context(), &openapi3filter.RequestValidationInput{
				Request: req, PathParams: params, Route: route, Options: opts,
			})
			if err != nil {
				var tooLarge *echo.HTTPError
				if errors.As(err, &tooLarge) && tooLarge.Code == http.StatusRequestEntityTooLarge {
					return Errorf(http.StatusRequestEntityTooLarge, "body_too_large", "request body is too large")
				}
				return requestError(err)
			}
			return next(c)
		}
	}
}

// RequiredScopeExtension is the operation extension that declares what a
// caller needs (the contract carries authorization; docs/AUTH.md): a
// scope name ("webhooks:read"), a list of scope names any one of which
// suffices (owner rules with finer checks inside, e.g. api_keys:own), the
// word "authenticated" (any authenticated caller of the organization) or
// "service_token" (the Aqio backend's service token only). An operation
// with `security: []` is public and declares none. Conditional checks
// (parts of a response that need a second scope, owner rules) stay in the
// handlers and services.
const RequiredScopeExtension = "x-required-scope"

// Values of x-required-scope that are not scope names.
const (
	ScopeAuthenticated = "authenticated"
	ScopeServiceToken  = "service_token"
)

// IsPublic reports whether an operation needs no credential: it says so
// with an empty security requirement (`security: []`).
func IsPublic(op *openapi3.Operation) bool {
	return op != nil && op.Security != nil && len(*op.Security) == 0
}

// RequiredScopes reads an operation's x-required-scope: the scopes any one
// of which is enough (or one of the special values alone). ok is false when
// the operation declares nothing usable.
func RequiredScopes(op *openapi3.Operation) (scopes []string, ok bool) {
	if op == nil {
		return nil, false
	}
	switch v := op.Extensions[RequiredScopeExtension].(type) {
	case string:
		if v == "" {
			return nil, false
		}
		return []string{v}, true
	case []any:
		for _, s := range v {
			str, isStr := s.(string)
			if !isStr || str == "" || str == ScopeAuthenticated || str == ScopeServiceToken {
				return nil, false
			}
			scopes = append(scopes, str)
		}
		return scopes, len(scopes) > 0
	}
	return nil, false
}

// authorize enforces the operation's declared requirement (one place for
// every route: the document says, this checks). An operation that is not
// public and declares nothing is refused: forgetting the declaration
// cannot open a route.
func authorize(c echo.Context, op *openapi3.Operation) error {
	if IsPublic(op) {
		return nil
	}
	scopes, ok := RequiredScopes(op)
	if !ok {
		return &Error{Status: http.StatusForbidden, Code: "scope_undeclared",
			Message: "this operation declares no " + RequiredScopeExtension + " in the API document and is refused"}
	}
	p := principal(c)
	switch scopes[0] {
	case ScopeAuthenticated:
		return nil
	case ScopeServiceToken:
		if p.Method != AuthServiceToken {
			return &Error{Status: http.StatusForbidden, Code: "service_token_required",
				Message: "this operation takes the service token only (operator endpoints under /api/admin/, the organization list)"}
		}
		return nil
	}
	for _, s := range scopes {
		if p.HasScope(s) {
			return nil
		}
	}
	return insufficientScope(scopes)
}

// allowExtraQuery is the operation extension that lets a route take query
// parameters it does not describe (the OAuth callback: providers add their
// own, such as Google's scope and authuser).
const allowExtraQuery = "x-allow-unknown-query-parameters"

// unknownQueryParameter refuses a query parameter the operation does not
// describe, so a misspelt filter (?stauts=failed) is an error instead of
// being silently ignored.
func unknownQueryParameter(route *routers.Route, req *http.Request) *Error {
	if route.Operation == nil || len(req.URL.RawQuery) == 0 {
		return nil
	}
	if allow, _ := route.Operation.Extensions[allowExtraQuery].(bool); allow {
		return nil
	}
	known := map[string]bool{}
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				known[p.Value.Name] = true
			}
		}
	}
	names := make([]string, 0, len(req.URL.Query()))
	for name := range req.URL.Query() {
		if !known[name] {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	allowed := make([]string, 0, len(known))
	for name := range known {
		allowed = append(allowed, name)
	}
	sort.Strings(allowed)
	msg := fmt.Sprintf("unknown query parameter %q", names[0])
	if len(allowed) == 0 {
		msg += "; this endpoint takes none"
	} else {
		msg += "; this endpoint takes " + strings.Join(allowed, ", ")
	}
	return &Error{Status: http.StatusBadRequest, Code: "unknown_parameter", Field: names[0], Message: msg}
}

// requestError turns a kin-openapi validation error into a field error.
func requestError(err error) *Error {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return Errorf(http.StatusBadRequest, "invalid_request", "request does not match the API description")
	}
	e := &Error{Status: http.StatusBadRequest, Code: "invalid_request"}
	switch {
	case re.Parameter != nil:
		e.Field = re.Parameter.Name
		e.Message = fmt.Sprintf("%s parameter %q: %s", re.Parameter.In, re.Parameter.Name, schemaReason(re.Err, re.Reason))
		if re.Parameter.In == "header" && re.Parameter.Name == OrganizationHeader {
			e.Code = "invalid_organization"
		}
	case re.RequestBody != nil:
		var se *openapi3.SchemaError
		if errors.As(re.Err, &se) {
			// allOf/oneOf wrap the real complaint; report the innermost one.
			for {
				var inner *openapi3.SchemaError
				if se.Origin == nil || !errors.As(se.Origin, &inner) {
					break
				}
				se = inner
			}
			e.Status = http.StatusUnprocessableEntity
			e.Code = "invalid_field"
			e.Field = strings.Join(se.JSONPointer(), ".")
			if e.Field == "" {
				e.Field = "body"
			}
			e.Message = fmt.Sprintf("%s: %s", e.Field, se.Reason)
			break
		}
		var pe *openapi3filter.ParseError
		if errors.As(re.Err, &pe) || strings.Contains(re.Error(), "failed to decode") {
			e.Code = "malformed_json"
			e.Field = "body"
			e.Message = "request body is not valid JSON"
			break
		}
		if re.Err == nil && strings.Contains(re.Reason, "value is required") {
			e.Field = "body"
			e.Message = "request body is required"
			break
		}
		e.Field = "body"
		e.Message = "request body: " + schemaReason(re.Err, re.Reason)
		if strings.Contains(re.Error(), "header Content-Type has unexpected value") {
			e.Status = http.StatusUnsupportedMediaType
			e.Code = "unsupported_media_type"
			e.Message = "request body must be application/json"
		}
	default:
		e.Message = schemaReason(re.Err, re.Reason)
	}
	return e
}

func schemaReason(err error, reason string) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return se.Reason
	}
	if err != nil {
		return err.Error()
	}
	return reason
}
