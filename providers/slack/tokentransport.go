package slack

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// okTransport rewrites Slack's `200 {"ok":false,"error":"…"}` token
// answers into `400 {"error":"…"}`, the shape RFC 6749 clients expect.
type okTransport struct{ next http.RoundTripper }

func (t okTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var env struct {
		OK    *bool  `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.OK != nil && !*env.OK {
		code := env.Error
		if code == "" {
			code = "unknown_error"
		}
		body, _ = json.Marshal(map[string]string{"error": code, "error_description": "slack: " + code})
		resp.StatusCode = http.StatusBadRequest
		resp.Status = "400 Bad Request"
		resp.Header.Set("Content-Type", "application/json")
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return resp, nil
}
