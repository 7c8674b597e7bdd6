package payload

import (
	"net/url"
	"testing"
)

const envelope = `{"id":"evt_1","type":"registration.confirmed","created":1726394400,"data":{"object":{"id":"reg_789","event_id":"evt_456","user_email":"user@example.com","registered_at":"2024-09-15T10:00:00Z","answers":{"size":"M","diet":"none"},"guests":[{"name":"A"}],"amount":12.50}},"organization_id":"org_123"}`

func TestBuild(t *testing.T) {
	cases := []struct {
		name     string
		settings Settings
		wantBody string
		wantType string
	}{
		{"unchanged", Settings{}, envelope, JSON},
		{"explicit json", Settings{ContentType: JSON}, envelope, JSON},
		{"exclude email",
			Settings{Exclude: []string{"data.object.user_email"}},
			`{"id":"evt_1","type":"registration.confirmed","created":1726394400,"data":{"object":{"id":"reg_789","event_id":"evt_456","registered_at":"2024-09-15T10:00:00Z","answers":{"size":"M","diet":"none"},"guests":[{"name":"A"}],"amount":12.50}},"organization_id":"org_123"}`, JSON},
		{"exclude nested and missing",
			Settings{Exclude: []string{"data.object.answers.diet", "data.object.nothing", "data.object.id.deeper"}},
			`{"id":"evt_1","type":"registration.confirmed","created":1726394400,"data":{"object":{"id":"reg_789","event_id":"evt_456","user_email":"user@example.com","registered_at":"2024-09-15T10:00:00Z","answers":{"size":"M"},"guests":[{"name":"A"}],"amount":12.50}},"organization_id":"org_123"}`, JSON},
		{"exclude whole object",
			Settings{Exclude: []string{"data.object"}},
			`{"id":"evt_1","type":"registration.confirmed","created":1726394400,"data":{},"organization_id":"org_123"}`, JSON},
		{"include keeps envelope fields and order",
			Settings{Include: []string{"data.object.event_id", "data.object.id"}},
			`{"id":"evt_1","type":"registration.confirmed","created":1726394400,"data":{"object":{"id":"reg_789","event_id":"evt_456"}},"organization_id":"org_123"}`, JSON},
		{"include nested, shorter path wins",
			Settings{Include: []string{"data.object.answers.size", "data.object.answers"}},
			`{"id":"evt_1","type":"registration.confirmed","created":1726394400,"data":{"object":{"answers":{"size":"M","diet":"none"}}},"organization_id":"org_123"}`, JSON},
		{"include missing keeps structure",
			Settings{Include: []string{"data.object.nothing", "data.object.id.deeper"}},
			`{"id":"evt_1","type":"registration.confirmed","created":1726394400,"data":{"object":{}},"organization_id":"org_123"}`, JSON},
		{"number text is kept exactly",
			Settings{Include: []string{"data.object.amount"}},
			`{"id":"evt_1","type":"registration.confirmed","created":1726394400,"data":{"object":{"amount":12.50}},"organization_id":"org_123"}`, JSON},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, ct, err := Build(tc.settings, []byte(envelope))
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tc.wantBody {
				t.Fatalf("body\n got %s\nwant %s", body, tc.wantBody)
			}
			if ct != tc.wantType {
				t.Fatalf("content type %q, want %q", ct, tc.wantType)
			}
		})
	}
}

func TestBuildForm(t *testing.T) {
	body, ct, err := Build(Settings{ContentType: Form, Exclude: []string{"data.object.user_email"}}, []byte(envelope))
	if err != nil {
		t.Fatal(err)
	}
	if ct != Form {
		t.Fatalf("content type %q", ct)
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := Build(Settings{Exclude: []string{"data.object.user_email"}}, []byte(envelope))
	if len(vals) != 1 || vals.Get("payload") != string(want) {
		t.Fatalf("form body %s does not carry the JSON payload %s", body, want)
	}
}

func TestValidatePaths(t *testing.T) {
	cases := []struct {
		name    string
		paths   []string
		wantIdx int
	}{
		{"ok", []string{"data.object.user_email", "data.object.answers.size"}, -1},
		{"envelope field", []string{"data.object.id", "id"}, 1},
		{"bare data", []string{"data"}, 0},
		{"not under data", []string{"object.user_email"}, 0},
		{"empty segment", []string{"data..x"}, 0},
		{"bad characters", []string{"data.object.user email"}, 0},
		{"duplicate", []string{"data.object.a", "data.object.a"}, 1},
		{"too deep", []string{"data.a.b.c.d.e.f.g.h"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			idx, err := ValidatePaths(tc.paths)
			if idx != tc.wantIdx || (err == nil) != (tc.wantIdx == -1) {
				t.Fatalf("ValidatePaths = %d, %v; want index %d", idx, err, tc.wantIdx)
			}
		})
	}
}

func TestValidateHeaders(t *testing.T) {
	cases := []struct {
		name    string
		headers map[string]string
		badName string // "" means valid
	}{
		{"ok", map[string]string{"X-Tenant": "acme", "x-source": "aqio"}, ""},
		{"signature", map[string]string{"webhook-signature": "v1,xyz"}, "webhook-signature"},
		{"any webhook header", map[string]string{"Webhook-Custom": "1"}, "Webhook-Custom"},
		{"content type", map[string]string{"content-type": "text/plain"}, "content-type"},
		{"content length", map[string]string{"Content-Length": "1"}, "Content-Length"},
		{"user agent", map[string]string{"User-Agent": "x"}, "User-Agent"},
		{"host", map[string]string{"HOST": "x"}, "HOST"},
		{"authorization", map[string]string{"Authorization": "Bearer x"}, "Authorization"},
		{"transfer encoding", map[string]string{"Transfer-Encoding": "chunked"}, "Transfer-Encoding"},
		{"invalid name", map[string]string{"X Bad": "1"}, "X Bad"},
		{"control character", map[string]string{"X-Ok": "a\r\nInjected: 1"}, "X-Ok"},
		{"empty value", map[string]string{"X-Ok": " "}, "X-Ok"},
		{"case duplicate", map[string]string{"X-Dup": "1", "x-dup": "2"}, "x-dup"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := ValidateHeaders(tc.headers)
			if tc.badName == "" {
				if err != nil {
					t.Fatal(err)
				}
				if out["X-Tenant"] != "acme" || out["X-Source"] != "aqio" {
					t.Fatalf("names not canonical: %v", out)
				}
				return
			}
			he, ok := err.(*HeaderError)
			if !ok || he.Name != tc.badName {
				t.Fatalf("ValidateHeaders = %v, want an error naming %q", err, tc.badName)
			}
		})
	}
}
