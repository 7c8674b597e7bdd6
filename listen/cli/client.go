// Package cli is the client side of `aqio-connect listen` and
// `aqio-connect trigger` (docs/CLI.md): it talks only to the public API,
// with an API key (or the service token and an organization id).
package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// API is how the commands reach the service.
type API struct {
	// BaseURL is the service's base URL (http://localhost:8080).
	BaseURL string
	// Key is an API key (ak_…) or the service token.
	Key string
	// OrganizationID is sent as X-Aqio-Organization-Id when set (needed
	// with the service token; an API key carries its organization).
	OrganizationID string
	// HTTP is the client (nil: a default one without a timeout, which a
	// stream needs; requests carry their context's deadline).
	HTTP *http.Client
}

// APIError is an error answer of the API ({"error":{code,message,field}}).
type APIError struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("API answered %d", e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Field != "" && !strings.Contains(e.Message, e.Field) {
		msg += " (field " + e.Field + ")"
	}
	switch e.Code {
	case "missing_organization":
		msg += " (give --org with the service token, or use an API key)"
	case "insufficient_scope":
		msg += " (create a key with the scope the command needs: docs/CLI.md)"
	}
	return msg
}

func (a API) client() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return http.DefaultClient
}

func (a API) request(ctx context.Context, method, path string, body any) (*http.Request, error) {
	if a.BaseURL == "" {
		return nil, fmt.Errorf("no API URL: give --api or set AQIO_API_URL")
	}
	if a.Key == "" {
		return nil, fmt.Errorf("no API key: give --api-key or set AQIO_API_KEY")
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.BaseURL, "/")+path, rd)
	if err != nil {
		return nil, fmt.Errorf("API URL: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+a.Key)
	if a.OrganizationID != "" {
		req.Header.Set("X-Aqio-Organization-Id", a.OrganizationID)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// do sends a JSON request and decodes a JSON answer into out (may be nil).
func (a API) do(ctx context.Context, method, path string, body, out any) error {
	req, err := a.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	resp, err := a.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return apiError(resp.StatusCode, b)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("decode API answer: %w", err)
		}
	}
	return nil
}

func apiError(status int, body []byte) error {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return &APIError{Status: status, Code: e.Error.Code, Message: e.Error.Message, Field: e.Error.Field}
}
