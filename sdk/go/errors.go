package aqio

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"time"
)

// APIError is an answer other than 2xx, decoded from the API's error body
// {"error":{"code","message","field"}}.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the machine-readable error code (invalid_field, not_found,
	// rate_limited, insufficient_scope, …); "http_<status>" when the body
	// was not an error document.
	Code string
	// Message is the human-readable explanation.
	Message string
	// Field is the dotted path of the offending input, when one is to blame.
	Field string
	// Policy is the exhausted rate-limit window (minute or hour) on 429.
	Policy string
	// RetryAfter is the Retry-After header of a 429 or 503, zero if absent.
	RetryAfter time.Duration
	// RequestID is the X-Request-Id of the answer, for support.
	RequestID string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("aqio: %d %s: %s", e.StatusCode, e.Code, e.Message)
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	return s
}

// IsRateLimited reports whether the call was refused by a rate limit.
func (e *APIError) IsRateLimited() bool { return e.StatusCode == http.StatusTooManyRequests }

// ErrorFrom returns nil for a 2xx answer and an *APIError otherwise.
func ErrorFrom(resp *http.Response, body []byte) error {
	if resp == nil {
		return fmt.Errorf("aqio: no response")
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &APIError{
		StatusCode: resp.StatusCode,
		Code:       "http_" + strconv.Itoa(resp.StatusCode),
		Message:    http.StatusText(resp.StatusCode),
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
		RequestID:  resp.Header.Get("X-Request-Id"),
	}
	var doc Error
	if json.Unmarshal(body, &doc) == nil && doc.Error.Code != "" {
		e.Code, e.Message = doc.Error.Code, doc.Error.Message
		if doc.Error.Field != nil {
			e.Field = *doc.Error.Field
		}
		if doc.Error.Policy != nil {
			e.Policy = string(*doc.Error.Policy)
		}
	}
	return e
}

// Response is what every generated *…Response satisfies.
type Response interface {
	StatusCode() int
}

// Check turns the result of a generated …WithResponse call into one error:
// err itself when the call failed, an *APIError when the answer is not 2xx,
// nil otherwise.
//
//	res, err := c.CreateWebhookWithResponse(ctx, nil, body)
//	if err := aqio.Check(res, err); err != nil { … }
func Check(res Response, err error) error {
	if err != nil {
		return err
	}
	v := reflect.ValueOf(res)
	if !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return fmt.Errorf("aqio: no response")
	}
	v = reflect.Indirect(v)
	httpResp, _ := v.FieldByName("HTTPResponse").Interface().(*http.Response)
	body, _ := v.FieldByName("Body").Interface().([]byte)
	return ErrorFrom(httpResp, body)
}

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
