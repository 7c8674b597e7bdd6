package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/eventtypes"
	"github.com/aqio/connect/jsonstrict"
)

// Input the service stores or forwards must survive Postgres (text and
// jsonb refuse invalid UTF-8 and NUL) and reach receivers exactly as it
// was checked. These checks apply before anything reads the request, the
// same on every database: JSON bodies go through jsonstrict, and the
// header, path and query values used as data must be printable UTF-8.

// dataHeaders are the request headers whose values become data (ids,
// idempotency keys, audit rows).
// idempotencyHeader carries the client's key for an event post.
const idempotencyHeader = "Idempotency-Key"

var dataHeaders = []string{OrganizationHeader, UserHeader, idempotencyHeader, echo.HeaderXRequestID}

const (
	maxHeaderValue = 255
	maxParamValue  = 4096
)

// checkHeaders refuses a data header that is repeated, too long, not
// UTF-8 or holds control characters, with a 400 naming it.
func checkHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for _, name := range dataHeaders {
			values := c.Request().Header.Values(name)
			if len(values) == 0 {
				continue
			}
			problem := ""
			if len(values) > 1 {
				problem = "must be given once"
			} else {
				problem = textProblem(values[0], maxHeaderValue)
			}
			if problem == "" {
				continue
			}
			if name == echo.HeaderXRequestID {
				// Never echo the refused value back.
				c.Response().Header().Set(echo.HeaderXRequestID, uuid.NewString())
			}
			status, code := http.StatusBadRequest, "invalid_request"
			switch name {
			case OrganizationHeader:
				code = "invalid_organization"
			case UserHeader:
				code = "invalid_user"
			case idempotencyHeader:
				// The key is stored with the event: data, like a body field.
				status, code = http.StatusUnprocessableEntity, "invalid_field"
			}
			return &Error{Status: status, Code: code, Field: name, Message: "header " + name + " " + problem}
		}
		return next(c)
	}
}

// textProblem says what makes s unfit as a value of at most max characters, or "".
func textProblem(s string, max int) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "contains a control character (NUL, tab, newline...)"
	case utf8.RuneCountInString(s) > max:
		return "is longer than " + itoa(max) + " characters"
	}
	return ""
}

// checkParams refuses path and query values that are not printable
// UTF-8, and a query parameter the operation declares as a single value
// given more than once.
func checkParams(c echo.Context, route *routers.Route) error {
	for i, name := range c.ParamNames() {
		if i >= len(c.ParamValues()) {
			break
		}
		if p := textProblem(c.ParamValues()[i], maxParamValue); p != "" {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Field: name, Message: "path parameter " + name + " " + p}
		}
	}
	query := c.QueryParams()
	for name, values := range query {
		if p := textProblem(name, maxParamValue); p != "" {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Field: printableName(name), Message: "a query parameter name " + p}
		}
		for _, v := range values {
			if p := textProblem(v, maxParamValue); p != "" {
				return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Field: name, Message: "query parameter " + name + " " + p}
			}
		}
		if len(values) > 1 && !declaredArray(route, name) {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Field: name, Message: "query parameter " + name + " must be given once"}
		}
	}
	return nil
}

func printableName(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

func declaredArray(route *routers.Route, name string) bool {
	var params openapi3.Parameters
	if route.PathItem != nil {
		params = append(params, route.PathItem.Parameters...)
	}
	if route.Operation != nil {
		params = append(params, route.Operation.Parameters...)
	}
	for _, p := range params {
		if p.Value != nil && p.Value.In == openapi3.ParameterInQuery && p.Value.Name == name &&
			p.Value.Schema != nil && p.Value.Schema.Value != nil && p.Value.Schema.Value.Type.Is(openapi3.TypeArray) {
			return true
		}
	}
	return false
}

// checkBody runs jsonstrict over a JSON request body, with the integer
// fields the operation's schema declares, and leaves the body readable
// for the validator and the handler. Bodies of other media types are
// left to the validator (which answers 415).
func checkBody(c echo.Context, route *routers.Route) error {
	req := c.Request()
	if route.Operation == nil || route.Operation.RequestBody == nil || route.Operation.RequestBody.Value == nil || req.Body == nil || req.Body == http.NoBody {
		return nil
	}
	media, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || (media != echo.MIMEApplicationJSON && !strings.HasSuffix(media, "+json")) {
		return nil
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		var maxErr *http.MaxBytesError
		var httpErr *echo.HTTPError
		if errors.As(err, &maxErr) || (errors.As(err, &httpErr) && httpErr.Code == http.StatusRequestEntityTooLarge) {
			return Errorf(http.StatusRequestEntityTooLarge, "body_too_large", "request body is too large")
		}
		return Errorf(http.StatusBadRequest, "invalid_request", "could not read the request body")
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) == 0 {
		return nil
	}
	var schema jsonstrict.Schema
	if mt := route.Operation.RequestBody.Value.Content.Get(echo.MIMEApplicationJSON); mt != nil && mt.Schema != nil {
		schema = openapiSchema(mt.Schema.Value)
	}
	return strictError(jsonstrict.Check(body, schema), "body")
}

// strictError maps a jsonstrict result to the API's errors: 400 for
// input that is not JSON, 422 naming the field otherwise.
func strictError(err error, root string) error {
	var se *jsonstrict.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jsonstrict.ErrSyntax):
		return &Error{Status: http.StatusBadRequest, Code: "malformed_json", Field: "body", Message: "request body is not valid JSON"}
	case errors.As(err, &se):
		field := se.Field(root)
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Field: field, Message: field + " " + se.Reason}
	}
	return err
}

// openapiSchema adapts an OpenAPI schema to jsonstrict.Schema.
func openapiSchema(s *openapi3.Schema) jsonstrict.Schema {
	if s == nil {
		return nil
	}
	parts := []jsonstrict.Schema{oaSchema{s}}
	if len(s.AllOf) > 0 {
		parts = append(parts, jsonstrict.AllOf(refs(s.AllOf)...))
	}
	if len(s.AnyOf) > 0 {
		parts = append(parts, jsonstrict.AnyOf(refs(s.AnyOf)...))
	}
	if len(s.OneOf) > 0 {
		parts = append(parts, jsonstrict.AnyOf(refs(s.OneOf)...))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return jsonstrict.AllOf(parts...)
}

func refs(list openapi3.SchemaRefs) []jsonstrict.Schema {
	out := make([]jsonstrict.Schema, len(list))
	for i, r := range list {
		if r != nil {
			out[i] = openapiSchema(r.Value)
		}
	}
	return out
}

// oaSchema is one schema's own keywords (its combinators are folded in
// by openapiSchema).
type oaSchema struct{ s *openapi3.Schema }

func (o oaSchema) Property(name string) jsonstrict.Schema {
	if p := o.s.Properties[name]; p != nil {
		return openapiSchema(p.Value)
	}
	if ap := o.s.AdditionalProperties.Schema; ap != nil {
		return openapiSchema(ap.Value)
	}
	return nil
}

func (o oaSchema) Items() jsonstrict.Schema {
	if o.s.Items == nil {
		return nil
	}
	return openapiSchema(o.s.Items.Value)
}

func (o oaSchema) Integer() bool {
	return o.s.Type.Includes(openapi3.TypeInteger) && !o.s.Type.Includes(openapi3.TypeNumber)
}

// eventDataSchemas are, per event type, the schema of an event's data:
// its object is the type's published schema (GET /api/event-types).
var eventDataSchemas = sync.OnceValue(func() map[string]jsonstrict.Schema {
	out := map[string]jsonstrict.Schema{}
	for _, t := range eventtypes.All() {
		if len(t.Schema) == 0 {
			continue
		}
		doc := []byte(`{"properties":{"object":` + string(t.Schema) + `}}`)
		if s, err := jsonstrict.FromJSONSchema(doc); err == nil {
			out[t.Name] = s
		}
	}
	return out
})

// checkEventData holds an event's data to the integer fields its type's
// schema declares: they must be whole numbers in the 64-bit range,
// written without fraction or exponent, as receivers will parse them.
func checkEventData(eventType string, data json.RawMessage) error {
	s := eventDataSchemas()[eventType]
	if s == nil || len(data) == 0 {
		return nil
	}
	return strictError(jsonstrict.CheckAt(data, s, []string{"data"}), "data")
}
