package payload

import (
	"fmt"
	"net/http"
	"net/textproto"
	"sort"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Limits on custom headers.
const (
	MaxHeaders          = 20
	MaxHeaderValueBytes = 1024
)

// reserved headers are set by the delivery itself (content and signature),
// by destination authentication, or by the HTTP transport.
var reserved = map[string]bool{
	"Authorization":       true,
	"Connection":          true,
	"Content-Encoding":    true,
	"Content-Length":      true,
	"Content-Type":        true,
	"Cookie":              true,
	"Expect":              true,
	"Host":                true,
	"Keep-Alive":          true,
	"Proxy-Authorization": true,
	"Proxy-Connection":    true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
	"User-Agent":          true,
}

// HeaderError names the header that is not allowed.
type HeaderError struct {
	Name    string
	Message string
}

func (e *HeaderError) Error() string { return e.Name + ": " + e.Message }

// ValidateHeaders checks static custom headers and returns them with
// canonical names. Names must be valid HTTP tokens and may not be a
// reserved header or start with webhook- (the Standard Webhooks headers).
func ValidateHeaders(h map[string]string) (map[string]string, error) {
	if len(h) > MaxHeaders {
		return nil, &HeaderError{Message: fmt.Sprintf("at most %d custom headers", MaxHeaders)}
	}
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make(map[string]string, len(h))
	for _, name := range names {
		value := h[name]
		if !httpguts.ValidHeaderFieldName(name) {
			return nil, &HeaderError{Name: name, Message: "is not a valid HTTP header name"}
		}
		canon := textproto.CanonicalMIMEHeaderKey(name)
		if reserved[canon] || strings.HasPrefix(strings.ToLower(canon), "webhook-") ||
			strings.HasPrefix(strings.ToLower(canon), "proxy-") {
			return nil, &HeaderError{Name: name, Message: "is reserved (content, signature, authentication and transport headers are set by the delivery)"}
		}
		if _, dup := out[canon]; dup {
			return nil, &HeaderError{Name: name, Message: "is given twice (header names are case-insensitive)"}
		}
		if !httpguts.ValidHeaderFieldValue(value) || strings.TrimSpace(value) == "" {
			return nil, &HeaderError{Name: name, Message: "must be a non-empty header value without control characters"}
		}
		if len(value) > MaxHeaderValueBytes {
			return nil, &HeaderError{Name: name, Message: fmt.Sprintf("must be at most %d bytes", MaxHeaderValueBytes)}
		}
		out[canon] = value
	}
	return out, nil
}

// SetHeaders copies custom headers into h. Call it before setting the
// delivery's own headers, so those always win.
func SetHeaders(h http.Header, custom map[string]string) {
	for n, v := range custom {
		if reserved[textproto.CanonicalMIMEHeaderKey(n)] || strings.HasPrefix(strings.ToLower(n), "webhook-") {
			continue // never sent, even if a stored row predates a rule
		}
		h.Set(n, v)
	}
}
