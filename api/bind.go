package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// bind decodes a JSON body strictly: unknown fields and trailing data are
// refused with the offending field named. Encoding problems (invalid
// UTF-8, surrogates, NUL, duplicate keys, number ranges) were refused
// before, by the validator's checkBody (strict.go).
func bind(c echo.Context, v any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return Errorf(http.StatusRequestEntityTooLarge, "body_too_large", "request body is larger than %d bytes", maxErr.Limit)
		}
		return Errorf(http.StatusBadRequest, "invalid_request", "could not read the request body")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return &Error{Status: http.StatusBadRequest, Code: "malformed_json", Field: "body", Message: "request body has data after the JSON value"}
	}
	return nil
}

func decodeError(err error) *Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &Error{Status: http.StatusBadRequest, Code: "malformed_json", Field: "body", Message: "request body is not valid JSON"}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Field: field, Message: field + " must be " + typ.Type.String()}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &Error{Status: http.StatusUnprocessableEntity, Code: "unknown_field", Field: f, Message: "unknown field " + f}
	}
	return &Error{Status: http.StatusBadRequest, Code: "malformed_json", Field: "body", Message: "request body is not valid JSON"}
}
