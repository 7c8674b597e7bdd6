// Package msgraph is a thin Microsoft Graph v1.0 client for the Microsoft
// 365 connectors (Outlook Calendar with Teams meetings; Teams channel
// messages may share it): JSON requests through the runtime's
// authenticated client, and the classifier of Graph's error bodies
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}.
//
// Graph facts this package relies on (learn.microsoft.com/graph):
//   - OAuth 2.0 v2 endpoints https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize
//     and /token ({tenant}: common, organizations, consumers or a tenant id), PKCE S256,
//     client secret in the form body; refresh tokens are replaced on every refresh.
//     There is no token revocation endpoint.
//   - 401 InvalidAuthenticationToken: the access token expired or is not valid (refresh).
//   - 429 with Retry-After (seconds) when throttled; Outlook allows 4 concurrent requests
//     per app per mailbox ("MailboxConcurrency"); 503/504 may carry Retry-After too.
package msgraph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aqio/connect/providers"
)

// DefaultBaseURL is Graph v1.0.
const DefaultBaseURL = "https://graph.microsoft.com/v1.0/"

// LoginURL is the Microsoft identity platform host.
const LoginURL = "https://login.microsoftonline.com/"

// Endpoints are the authorize and token URLs of a tenant ("common" when empty).
func Endpoints(tenant string) (authURL, tokenURL string) {
	if tenant == "" {
		tenant = "common"
	}
	return LoginURL + tenant + "/oauth2/v2.0/authorize", LoginURL + tenant + "/oauth2/v2.0/token"
}

// Client calls Graph at Base through do (the runtime's Do: authenticated,
// refresh-once-on-401, classified).
type Client struct {
	Base string
	Do   func(*http.Request) (*http.Response, []byte, error)
}

// New returns a client for the runtime.
func New(rt *providers.Runtime) *Client {
	return &Client{Base: rt.APIBaseURL, Do: rt.Do}
}

// JSON sends in (nil: no body) to path (relative to Base, may carry a
// query) and decodes the answer into out (nil: ignored).
func (c *Client) JSON(ctx context.Context, method, path string, in, out any) error {
	return c.Send(ctx, method, path, nil, in, out)
}

// UTC is the Prefer header asking Graph for event times in UTC
// (start/end dateTime then read as UTC whatever zone the event has).
var UTC = http.Header{"Prefer": {`outlook.timezone="UTC"`}}

// Send is JSON with extra request headers (e.g. UTC).
func (c *Client) Send(ctx context.Context, method, path string, header http.Header, in, out any) error {
	var body *bytes.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode graph request: %w", err)
		}
		body = bytes.NewReader(b)
	} else {
		body = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.Base, "/")+"/"+strings.TrimLeft(path, "/"), body)
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	_, b, err := c.Do(req)
	if err != nil {
		return err
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return &providers.Error{Provider: "msgraph", Kind: providers.KindRetryable, Code: "invalid_response", Message: "graph answered with invalid JSON"}
		}
	}
	return nil
}

// ErrorBody is Graph's error envelope.
type ErrorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			Date            string `json:"date"`
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// throttled are Graph codes that mean "slow down" whatever the status.
var throttled = map[string]bool{"ApplicationThrottled": true, "TooManyRequests": true, "activityLimitReached": true, "ErrorServerBusy": true}

// Classify reads a Graph answer for provider (the integration type): nil
// on 2xx; 401 expired (refresh once); 429, 503 and throttling codes rate
// limited (Retry-After); 403 ErrorAccessDenied a calendar the user may not
// write (field); other 403 a credential without the permission (auth);
// 404 ErrorItemNotFound permanent (callers treat a missing item
// themselves); 409/412 conflicts and 5xx retryable; other 4xx permanent.
func Classify(provider string, resp *http.Response, body []byte, field string) *providers.Error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	var env ErrorBody
	_ = json.Unmarshal(body, &env)
	e := &providers.Error{Provider: provider, Status: resp.StatusCode, Code: env.Error.Code, Message: env.Error.Message}
	if e.Code == "" {
		e.Code = fmt.Sprintf("http_%d", resp.StatusCode)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable || throttled[env.Error.Code]:
		e.Kind = providers.KindRateLimited
		e.RetryAfter = providers.RetryDelay(resp.Header, providers.RateLimitHeaders{}, time.Now())
	case resp.StatusCode == http.StatusUnauthorized:
		e.Kind = providers.KindExpired
	case resp.StatusCode == http.StatusForbidden && env.Error.Code == "ErrorAccessDenied":
		e.Kind, e.Field = providers.KindPermanent, field
	case resp.StatusCode == http.StatusForbidden:
		e.Kind = providers.KindAuth
	case resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusPreconditionFailed || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		e.Kind = providers.KindRetryable
	default:
		e.Kind = providers.KindPermanent
	}
	return e
}

// IsNotFound reports a 404 / ErrorItemNotFound.
func IsNotFound(err error) bool {
	pe, ok := providers.AsError(err)
	return ok && (pe.Status == http.StatusNotFound || pe.Code == "ErrorItemNotFound")
}
