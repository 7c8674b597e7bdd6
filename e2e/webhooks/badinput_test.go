package webhooks_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testenv"
)

func errorOf(t *testing.T, r testenv.Response) (code, field string) {
	t.Helper()
	code, field, _ = errorWithMessage(t, r)
	return code, field
}

func errorWithMessage(t *testing.T, r testenv.Response) (code, field, message string) {
	t.Helper()
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"error"`
	}
	r.JSON(t, &body)
	if body.Error.Message == "" {
		t.Fatalf("error without message: %s", r.Body)
	}
	return body.Error.Code, body.Error.Field, body.Error.Message
}

func TestBadInputIsRefusedAndNothingStored(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	valid := func() map[string]any {
		return map[string]any{"name": "x", "url": "https://example.com/hook", "events": []string{"event.created"}}
	}
	with := func(k string, v any) map[string]any { m := valid(); m[k] = v; return m }
	without := func(k string) map[string]any { m := valid(); delete(m, k); return m }

	for _, tc := range []struct {
		name      string
		body      any
		wantCode  int
		wantField string
	}{
		{"malformed JSON", `{"name": "x", "url":`, 400, "body"},
		{"not an object", `[1,2]`, 422, "body"},
		{"missing url", without("url"), 422, "url"},
		{"missing events", without("events"), 422, "events"},
		{"relative url", with("url", "/hook"), 422, "url"},
		{"ftp url", with("url", "ftp://example.com/x"), 422, "url"},
		{"url with credentials", with("url", "https://u:p@example.com/x"), 422, "url"},
		{"unknown event type", with("events", []string{"event.exploded"}), 422, "events.0"},
		{"unknown family", with("events", []string{"nope.*"}), 422, "events.0"},
		{"empty events", with("events", []string{}), 422, "events"},
		{"timeout too long", with("timeout_seconds", 600), 422, "timeout_seconds"},
		{"negative retries", with("retry_count", -1), 422, "retry_count"},
		{"too many retries", with("retry_count", 1000), 422, "retry_count"},
		{"retry delay zero", with("retry_delay_seconds", 0), 422, "retry_delay_seconds"},
		{"bad content type", with("content_type", "text/xml"), 422, "content_type"},
		{"wrong type", with("timeout_seconds", "ten"), 422, "timeout_seconds"},
		{"unknown field", with("secret", "whsec_mine"), 422, "secret"},
		{"empty name", with("name", ""), 422, "name"},
		// Input Postgres cannot store (500 before) or that SQLite stored and
		// delivered as is: refused the same on both, naming the field.
		{"NUL in name", hookBody(`"a\u0000b"`, ""), 422, "name"},
		{"invalid UTF-8 in name", hookBody("\"a\xffb\"", ""), 422, "name"},
		{"lone surrogate in name", hookBody(`"\ud800"`, ""), 422, "name"},
		{"duplicate key", hookBody(`"x", "name": "y"`, ""), 422, "name"},
		{"duplicate key nested", hookBody(`"x"`, `, "custom_headers": {"X-A": "1", "X-A": "2"}`), 422, "custom_headers.X-A"},
		{"float overflow in an integer field", hookBody(`"x"`, `, "timeout_seconds": 1e400`), 422, "timeout_seconds"},
		{"fraction in an integer field", hookBody(`"x"`, `, "retry_count": 2.5`), 422, "retry_count"},
		{"exponent in an integer field", hookBody(`"x"`, `, "retry_count": 2e0`), 422, "retry_count"},
		{"NUL in a field name", hookBody(`"x"`, `, "a\u0000": 1`), 422, "a\uFFFD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := org.Do(t, "POST", "/api/webhooks", tc.body)
			if resp.Status != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", resp.Status, tc.wantCode, resp.Body)
			}
			_, field, msg := errorWithMessage(t, resp)
			if field != tc.wantField {
				t.Fatalf("field %q, want %q: %s", field, tc.wantField, resp.Body)
			}
			if tc.wantField != "body" && !strings.Contains(msg, tc.wantField) {
				t.Fatalf("message does not name %s: %s", tc.wantField, resp.Body)
			}
		})
	}

	t.Run("private URL when not allowed", func(t *testing.T) {
		env.App.Webhooks.AllowPrivate = false
		defer func() { env.App.Webhooks.AllowPrivate = true }()
		for _, u := range []string{"http://127.0.0.1:9000/x", "http://169.254.169.254/latest/meta-data", "http://localhost/x", "http://[::1]/x", "http://10.0.0.5/x"} {
			resp := org.Do(t, "POST", "/api/webhooks", with("url", u))
			if code, field := errorOf(t, resp); resp.Status != 422 || field != "url" {
				t.Fatalf("%s: %d %s %s", u, resp.Status, code, resp.Body)
			}
		}
	})

	var list struct {
		Data []any `json:"data"`
	}
	org.Do(t, "GET", "/api/webhooks", nil).JSON(t, &list)
	if len(list.Data) != 0 {
		t.Fatalf("refused requests stored %d webhooks", len(list.Data))
	}
}

// hookBody is a raw webhook-create body with name's JSON text and extra
// members appended, for input json.Marshal cannot produce.
func hookBody(name, extra string) string {
	return `{"name": ` + name + `, "url": "https://example.com/hook", "events": ["event.created"]` + extra + `}`
}

// eventBody is a raw event body whose data.object carries members.
func eventBody(typ, members string) string {
	return `{"type": "` + typ + `", "data": {"object": {"id": "e_1", "event_id": "e_1"` + members + `}}}`
}

func TestBadEventsAreRefused(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	createWebhook(t, org, map[string]any{"name": "all", "url": rcv.URL, "events": []string{"*"}})
	big := `{"type":"event.created","data":{"object":{"id":"e","blob":"` + strings.Repeat("a", 300*1024) + `"}}}`
	for _, tc := range []struct {
		name      string
		body      any
		wantCode  int
		wantField string
	}{
		{"malformed JSON", `{"type":`, 400, "body"},
		{"unknown event type", map[string]any{"type": "event.exploded", "data": map[string]any{"object": map[string]any{}}}, 422, "type"},
		{"test type is not postable", map[string]any{"type": "webhook.test", "data": map[string]any{"object": map[string]any{}}}, 422, "type"},
		{"missing data", map[string]any{"type": "event.created"}, 422, "data"},
		{"object not an object", map[string]any{"type": "event.created", "data": map[string]any{"object": 5}}, 422, "data.object"},
		{"bad id", map[string]any{"id": "a b", "type": "event.created", "data": map[string]any{"object": map[string]any{}}}, 422, "id"},
		{"other organization", map[string]any{"type": "event.created", "organization_id": "org_other", "data": map[string]any{"object": map[string]any{}}}, 422, "organization_id"},
		{"oversized body", big, 413, ""},
		{"invalid UTF-8 in data", eventBody("event.created", ", \"title\": \"caf\xe9\""), 422, "data.object.title"},
		{"UTF-8 encoded surrogate in data", eventBody("event.created", ", \"title\": \"\xed\xa0\x80\""), 422, "data.object.title"},
		{"lone surrogate escape in data", eventBody("event.created", `, "title": "\ud800"`), 422, "data.object.title"},
		{"NUL in data", eventBody("event.created", `, "tags": ["ok", "a\u0000"]`), 422, "data.object.tags.1"},
		{"duplicate key in data (filters would see only the last)", eventBody("event.created", `, "status": "draft", "status": "published"`), 422, "data.object.status"},
		{"duplicate type", `{"type": "event.created", "type": "event.cancelled", "data": {"object": {"id": "e"}}}`, 422, "type"},
		{"1e400 in an integer field", eventBody("event.created", `, "attendees": 1e400`), 422, "data.object.attendees"},
		{"1e400 in an untyped field", eventBody("event.created", `, "extra": {"n": -1e400}`), 422, "data.object.extra.n"},
		{"fraction in an integer field", eventBody("registration.confirmed", `, "guests": 1.5`), 422, "data.object.guests"},
		{"exponent in an integer field", eventBody("registration.confirmed", `, "guests": 2e0`), 422, "data.object.guests"},
		{"integer beyond 64 bits", eventBody("event.created", `, "max_attendees": 99999999999999999999`), 422, "data.object.max_attendees"},
		{"1e400 as created", `{"type": "event.created", "created": 1e400, "data": {"object": {"id": "e"}}}`, 422, "created"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := org.Do(t, "POST", "/api/events", tc.body)
			if resp.Status != tc.wantCode {
				t.Fatalf("status %d, want %d: %.300s", resp.Status, tc.wantCode, resp.Body)
			}
			_, field, msg := errorWithMessage(t, resp)
			if tc.wantField != "" && field != tc.wantField {
				t.Fatalf("field %q, want %q: %s", field, tc.wantField, resp.Body)
			}
			if tc.wantField != "" && tc.wantField != "body" && !strings.Contains(msg, tc.wantField) {
				t.Fatalf("message does not name %s: %s", tc.wantField, resp.Body)
			}
		})
	}
	valid := map[string]any{"type": "event.created", "data": map[string]any{"object": map[string]any{"id": "e_ok"}}}
	for _, tc := range []struct {
		name, header, value, wantCode string
		wantStatus                    int
	}{
		{"Idempotency-Key not UTF-8", "Idempotency-Key", "key-\xff", "invalid_field", 422},
		{"Idempotency-Key with a tab", "Idempotency-Key", "key\tx", "invalid_field", 422},
		{"Idempotency-Key too long", "Idempotency-Key", strings.Repeat("k", 256), "invalid_field", 422},
		{"request id not UTF-8", "X-Request-Id", "rid-\xff", "invalid_request", 400},
		{"user not UTF-8", "X-Aqio-User-Id", "user-\xff", "invalid_user", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := org.Do(t, "POST", "/api/events", valid, tc.header, tc.value)
			if resp.Status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.Status, tc.wantStatus, resp.Body)
			}
			code, field, msg := errorWithMessage(t, resp)
			if field != tc.header || !strings.Contains(msg, tc.header) {
				t.Fatalf("field %q, want %q: %s", field, tc.header, resp.Body)
			}
			if code != tc.wantCode {
				t.Fatalf("code %q, want %q", code, tc.wantCode)
			}
			if rid := resp.Header.Get("X-Request-Id"); strings.Contains(rid, "\xff") {
				t.Fatalf("refused request id echoed back: %q", rid)
			}
		})
	}
	t.Run("organization not UTF-8", func(t *testing.T) {
		resp := env.Do(t, "POST", "/api/events", valid, "Authorization", "Bearer "+env.Token, "X-Aqio-Organization-Id", org.ID+"\xff")
		if code, field := errorOf(t, resp); resp.Status != 400 || code != "invalid_organization" || field != "X-Aqio-Organization-Id" {
			t.Fatalf("%d %s", resp.Status, resp.Body)
		}
	})
	for _, path := range []string{"/api/webhooks/%FF", "/api/webhooks/wh_%00x", "/api/webhooks/wh_x/deliveries?event_type=%FF", "/api/webhooks/wh_x/deliveries?cursor=%00"} {
		t.Run("GET "+path, func(t *testing.T) {
			resp := org.Do(t, "GET", path, nil)
			if code, field := errorOf(t, resp); resp.Status != 400 || code != "invalid_request" || field == "" {
				t.Fatalf("%d %s", resp.Status, resp.Body)
			}
		})
	}
	// A valid event afterwards is the only one stored and delivered: had a
	// refused one been queued, the dispatcher would have handed it over too.
	ok := map[string]any{"id": "evt_after_refusals", "type": "event.created", "data": map[string]any{"object": map[string]any{"id": "e_ok"}}}
	if resp := org.Do(t, "POST", "/api/events", ok); resp.Status != http.StatusAccepted {
		t.Fatalf("valid event: %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, 30*time.Second, "the valid event's delivery", func() bool { return len(rcv.Got()) > 0 })
	if ids := rcv.IDs(); len(ids) != 1 {
		t.Fatalf("receiver got %d messages (%v), want only the valid event", len(ids), ids)
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	org.Do(t, "GET", "/api/events", nil).JSON(t, &list)
	if len(list.Data) != 1 || list.Data[0].ID != "evt_after_refusals" {
		t.Fatalf("GET /api/events lists %+v, want only evt_after_refusals", list.Data)
	}
	var count int64
	env.App.DB.Table("events").Where("organization_id = ?", org.ID).Count(&count)
	if count != 1 {
		t.Fatalf("refused events stored: %d rows, want only the valid one", count)
	}
}

func TestAuthentication(t *testing.T) {
	env := testenv.Get(t)
	for _, tc := range []struct {
		name     string
		headers  []string
		wantCode int
		wantErr  string
	}{
		{"no credential", nil, 401, "unauthenticated"},
		{"wrong token", []string{"Authorization", "Bearer nope", "X-Aqio-Organization-Id", "org_x"}, 401, "invalid_credential"},
		{"basic auth", []string{"Authorization", "Basic " + env.Token, "X-Aqio-Organization-Id", "org_x"}, 401, "unauthenticated"},
		{"missing organization", []string{"Authorization", "Bearer " + env.Token}, 400, "missing_organization"},
		{"bad organization", []string{"Authorization", "Bearer " + env.Token, "X-Aqio-Organization-Id", "org x/../y"}, 400, "invalid_organization"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := env.Do(t, "GET", "/api/webhooks", nil, tc.headers...)
			if resp.Status != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", resp.Status, tc.wantCode, resp.Body)
			}
			if code, _ := errorOf(t, resp); code != tc.wantErr {
				t.Fatalf("code %q, want %q", code, tc.wantErr)
			}
		})
	}
	if resp := env.Do(t, "GET", "/healthz", nil); resp.Status != http.StatusOK {
		t.Fatalf("healthz %d", resp.Status)
	}
	if resp := env.Do(t, "GET", "/readyz", nil); resp.Status != http.StatusOK {
		t.Fatalf("readyz %d %s", resp.Status, resp.Body)
	}
	if resp := env.Do(t, "GET", "/metrics", nil); resp.Status != http.StatusOK || !strings.Contains(string(resp.Body), "aqio_http_requests_total") {
		t.Fatalf("metrics %d", resp.Status)
	}
	if resp := env.Do(t, "GET", "/api/openapi.json", nil); resp.Status != http.StatusOK || !strings.Contains(string(resp.Body), `"openapi"`) {
		t.Fatalf("openapi %d", resp.Status)
	}
}

func TestOrganizationPlan(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	resp := org.Do(t, "PUT", "/api/organizations/"+org.ID, map[string]any{"plan": "pro", "name": "Acme"})
	if resp.Status != http.StatusCreated || resp.Map(t)["plan"] != "pro" {
		t.Fatalf("put: %d %s", resp.Status, resp.Body)
	}
	resp = org.Do(t, "PUT", "/api/organizations/"+org.ID, map[string]any{"plan": "enterprise"})
	if resp.Status != http.StatusOK || resp.Map(t)["plan"] != "enterprise" {
		t.Fatalf("update: %d %s", resp.Status, resp.Body)
	}
	if resp := org.Do(t, "PUT", "/api/organizations/"+org.ID, map[string]any{"plan": "platinum"}); resp.Status != 422 {
		t.Fatalf("bad plan: %d %s", resp.Status, resp.Body)
	}
	if resp := org.Do(t, "PUT", "/api/organizations/org_someone_else", map[string]any{"plan": "pro"}); resp.Status != http.StatusForbidden {
		t.Fatalf("other org: %d %s", resp.Status, resp.Body)
	}
}
