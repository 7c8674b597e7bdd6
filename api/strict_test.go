package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/aqio/connect/metrics"
)

// strictServer is the API with only the service token: every request
// below is refused before a handler (which would need a database) runs.
func strictServer(t *testing.T) http.Handler {
	t.Helper()
	spec, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	return New(Deps{
		Spec: spec, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New(),
		Authenticators: []Authenticator{ServiceTokenAuth{Token: "tok"}},
	}).Handler()
}

func TestStrictInputIsRefusedBeforeHandlers(t *testing.T) {
	h := strictServer(t)
	hook := func(name string) string {
		return `{"name": ` + name + `, "url": "https://example.com/h", "events": ["event.created"]}`
	}
	for _, tc := range []struct {
		name       string
		method     string
		path       string
		body       string
		header     [][2]string
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{"invalid UTF-8 in a body string", "POST", "/api/webhooks", hook("\"a\xffb\""), nil, 422, "invalid_field", "name"},
		{"NUL in a body string", "POST", "/api/webhooks", hook(`"a\u0000b"`), nil, 422, "invalid_field", "name"},
		{"lone surrogate", "POST", "/api/webhooks", hook(`"\ud800"`), nil, 422, "invalid_field", "name"},
		{"duplicate key", "POST", "/api/webhooks", `{"name": "a", "name": "b", "url": "https://example.com/h", "events": ["event.created"]}`, nil, 422, "invalid_field", "name"},
		{"duplicate key in event data", "POST", "/api/events", `{"type": "event.created", "data": {"object": {"id": "e", "id": "f"}}}`, nil, 422, "invalid_field", "data.object.id"},
		{"float overflow in an integer field", "POST", "/api/webhooks", `{"name": "a", "url": "https://example.com/h", "events": ["event.created"], "timeout_seconds": 1e400}`, nil, 422, "invalid_field", "timeout_seconds"},
		{"exponent in an integer field", "POST", "/api/events", `{"type": "event.created", "created": 17e8, "data": {"object": {"id": "e"}}}`, nil, 422, "invalid_field", "created"},
		{"duplicate name in an additionalProperties map", "PATCH", "/api/webhooks/wh_x", `{"custom_headers": {"X-A": "1", "X-A": "2"}}`, nil, 422, "invalid_field", "custom_headers.X-A"},
		{"not JSON", "POST", "/api/webhooks", `{"name":`, nil, 400, "malformed_json", "body"},
		{"other media type is left to the validator", "POST", "/api/webhooks", "\xff", [][2]string{{"Content-Type", "text/plain"}}, 415, "unsupported_media_type", "body"},

		{"Idempotency-Key not UTF-8", "POST", "/api/events", `{}`, [][2]string{{"Idempotency-Key", "k\xff"}}, 422, "invalid_field", "Idempotency-Key"},
		{"Idempotency-Key with a tab", "POST", "/api/events", `{}`, [][2]string{{"Idempotency-Key", "a\tb"}}, 422, "invalid_field", "Idempotency-Key"},
		{"Idempotency-Key too long", "POST", "/api/events", `{}`, [][2]string{{"Idempotency-Key", strings.Repeat("k", 256)}}, 422, "invalid_field", "Idempotency-Key"},
		{"Idempotency-Key twice", "POST", "/api/events", `{}`, [][2]string{{"Idempotency-Key", "a"}, {"Idempotency-Key", "b"}}, 422, "invalid_field", "Idempotency-Key"},
		{"organization not UTF-8", "GET", "/api/webhooks", "", [][2]string{{OrganizationHeader, "org\xff"}}, 400, "invalid_organization", OrganizationHeader},
		{"user not UTF-8", "GET", "/api/webhooks", "", [][2]string{{UserHeader, "u\xff"}}, 400, "invalid_user", UserHeader},
		{"request id not UTF-8", "GET", "/api/webhooks", "", [][2]string{{"X-Request-Id", "r\xff"}}, 400, "invalid_request", "X-Request-Id"},

		{"path parameter not UTF-8", "GET", "/api/webhooks/%FF", "", nil, 400, "invalid_request", "id"},
		{"path parameter with NUL", "GET", "/api/webhooks/a%00b", "", nil, 400, "invalid_request", "id"},
		{"query value not UTF-8", "GET", "/api/webhooks/wh_x/deliveries?event_type=%FF", "", nil, 400, "invalid_request", "event_type"},
		{"query value with NUL", "GET", "/api/webhooks/wh_x/deliveries?cursor=a%00", "", nil, 400, "invalid_request", "cursor"},
		{"query parameter twice", "GET", "/api/webhooks/wh_x/deliveries?status=failed&status=success", "", nil, 400, "invalid_request", "status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req := httptest.NewRequest(tc.method, tc.path, body)
			req.Header.Set("Authorization", "Bearer tok")
			req.Header.Set(OrganizationHeader, "org_a")
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			for i, kv := range tc.header {
				if i == 0 || tc.header[i-1][0] != kv[0] {
					req.Header.Del(kv[0])
				}
				req.Header.Add(kv[0], kv[1])
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var got struct {
				Error Error `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("%d %q: %v", rec.Code, rec.Body, err)
			}
			if rec.Code != tc.wantStatus || got.Error.Code != tc.wantCode || got.Error.Field != tc.wantField {
				t.Fatalf("got %d %s field %q, want %d %s field %q: %s", rec.Code, got.Error.Code, got.Error.Field, tc.wantStatus, tc.wantCode, tc.wantField, rec.Body)
			}
			if !strings.Contains(got.Error.Message, tc.wantField) && tc.wantField != "body" {
				t.Fatalf("message does not name %s: %q", tc.wantField, got.Error.Message)
			}
			if rid := rec.Header().Get("X-Request-Id"); strings.Contains(rid, "\xff") {
				t.Fatalf("refused request id echoed: %q", rid)
			}
		})
	}
}

func TestOpenAPISchemaDeclaresIntegers(t *testing.T) {
	spec, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	schema := func(name string) *openapi3.Schema { return spec.Doc.Components.Schemas[name].Value }
	for _, tc := range []struct {
		schema string
		path   []string
		want   bool
	}{
		{"WebhookCreate", []string{"timeout_seconds"}, true},
		{"WebhookCreate", []string{"retry_count"}, true},
		{"WebhookCreate", []string{"name"}, false},
		{"WebhookCreate", []string{"events", "*"}, false},
		{"EventIn", []string{"created"}, true},
		{"EventIn", []string{"data", "object", "guests"}, false}, // the event type's schema decides (checkEventData)
	} {
		s := openapiSchema(schema(tc.schema))
		for _, seg := range tc.path {
			if s == nil {
				break
			}
			if seg == "*" {
				s = s.Items()
			} else {
				s = s.Property(seg)
			}
		}
		if got := s != nil && s.Integer(); got != tc.want {
			t.Errorf("%s %v: integer %v, want %v", tc.schema, tc.path, got, tc.want)
		}
	}
}

func TestEventDataIntegersFollowTheTypeSchema(t *testing.T) {
	for _, tc := range []struct {
		typ, data string
		wantField string
	}{
		{"registration.confirmed", `{"object": {"id": "r", "event_id": "e", "guests": 2}}`, ""},
		{"registration.confirmed", `{"object": {"id": "r", "event_id": "e", "guests": 2.0}}`, "data.object.guests"},
		{"registration.confirmed", `{"object": {"id": "r", "event_id": "e", "guests": 1e3}}`, "data.object.guests"},
		{"event.created", `{"object": {"id": "e", "max_attendees": 99999999999999999999}}`, "data.object.max_attendees"},
		{"event.created", `{"object": {"id": "e", "price": 12.5, "max_attendees": null}}`, ""},
	} {
		err := checkEventData(tc.typ, json.RawMessage(tc.data))
		var field string
		if e, ok := err.(*Error); ok {
			field = e.Field
			if e.Status != 422 {
				t.Errorf("%s: status %d", tc.data, e.Status)
			}
		} else if err != nil {
			t.Errorf("%s: %v", tc.data, err)
		}
		if field != tc.wantField {
			t.Errorf("%s %s: field %q, want %q (%v)", tc.typ, tc.data, field, tc.wantField, err)
		}
	}
}
