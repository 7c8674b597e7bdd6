package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/store"
)

// Error is the one error shape every endpoint returns:
// {"error": {"code", "message", "field"}}.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Policy names the violated rate-limit policy (429 only).
	Policy string `json:"policy,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf builds an *Error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError is a 422/400 naming the offending field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Field: field, Message: fmt.Sprintf(format, args...)}
}

func notFound(what string) *Error {
	return Errorf(http.StatusNotFound, "not_found", "%s not found", what)
}

// errorHandler maps any error to the JSON error body. Internal details are
// logged, never returned.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		var apiErr *Error
		var httpErr *echo.HTTPError
		switch {
		case errors.As(err, &apiErr):
		case errors.Is(err, store.ErrNotFound):
			apiErr = notFound("resource")
		case errors.Is(err, store.ErrBadCursor):
			apiErr = &Error{Status: http.StatusBadRequest, Code: "invalid_cursor", Field: "cursor", Message: "cursor is not one this API issued"}
		case errors.As(err, &httpErr):
			apiErr = fromHTTPError(httpErr)
		default:
			logger.ErrorContext(c.Request().Context(), "request failed",
				"err", err, "method", c.Request().Method, "path", c.Path(),
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
			apiErr = Errorf(http.StatusInternalServerError, "internal_error", "internal error; the request id is in the X-Request-Id header")
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(apiErr.Status)
			return
		}
		_ = c.JSON(apiErr.Status, map[string]*Error{"error": apiErr})
	}
}

func fromHTTPError(h *echo.HTTPError) *Error {
	msg := http.StatusText(h.Code)
	if m, ok := h.Message.(string); ok {
		msg = m
	}
	code := "http_error"
	switch h.Code {
	case http.StatusNotFound:
		code = "not_found"
	case http.StatusMethodNotAllowed:
		code = "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		code = "body_too_large"
		msg = "request body is too large"
	case http.StatusUnsupportedMediaType:
		code = "unsupported_media_type"
	case http.StatusBadRequest:
		code = "invalid_request"
	}
	return &Error{Status: h.Code, Code: code, Message: msg}
}
