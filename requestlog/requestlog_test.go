package requestlog

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestRowRedactsCapsAndLinks(t *testing.T) {
	long := `{"items":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	cases := []struct {
		name  string
		call  Call
		check func(t *testing.T, c Call)
	}{
		{"secret fields redacted at any depth", Call{Method: "PATCH", Route: "/api/integrations/:id", Status: 200,
			RequestBody:  []byte(`{"settings":{"api_key":"k-123","nested":[{"client_secret":"s-456","name":"ok"}]},"password":"p-789"}`),
			ResponseBody: []byte(`{"access_token":"a-1","refresh_token":"r-2","key_prefix":"ak_12345678"}`)},
			func(t *testing.T, c Call) {
				row := Row(c)
				all := *row.RequestBody + *row.ResponseBody
				for _, secret := range []string{"k-123", "s-456", "p-789", "a-1", "r-2"} {
					if strings.Contains(all, secret) {
						t.Errorf("%s kept: %s", secret, all)
					}
				}
				if !strings.Contains(all, `"name":"ok"`) || !strings.Contains(all, "ak_12345678") || !strings.Contains(all, "[redacted]") {
					t.Errorf("non-secret fields lost: %s", all)
				}
				if row.Route != "/api/integrations/{id}" {
					t.Errorf("route %q", row.Route)
				}
			}},
		{"a long body is not kept", Call{Method: "GET", Route: "/api/webhooks", Status: 200, ResponseBody: []byte(long[:MaxBodyBytes+1])},
			func(t *testing.T, c Call) {
				row := Row(c)
				if row.ResponseBody != nil || !row.ResponseBodyTruncated {
					t.Errorf("long body: %v truncated=%v", row.ResponseBody, row.ResponseBodyTruncated)
				}
			}},
		{"error code from an error answer; omitted bodies", Call{Method: "POST", Route: "/api/api-keys", Status: 403, Omit: OmitSecret,
			ResponseBody: []byte(`{"error":{"code":"scope_exceeds_caller","message":"no"}}`)},
			func(t *testing.T, c Call) {
				row := Row(c)
				if row.ErrorCode == nil || *row.ErrorCode != "scope_exceeds_caller" || row.ResponseBody != nil || *row.BodyOmitted != OmitSecret {
					t.Errorf("row: %+v", row)
				}
			}},
		{"not JSON", Call{Method: "POST", Route: "/api/webhooks/:id/test", Status: 200, RequestBody: []byte("plain text")},
			func(t *testing.T, c Call) {
				row := Row(c)
				if row.RequestBody != nil || row.BodyOmitted == nil || *row.BodyOmitted != OmitNotJSON {
					t.Errorf("row: %+v", row)
				}
			}},
		{"the event a post created, its body not kept", Call{Method: "POST", Route: "/api/events", Status: 202, Omit: OmitPersonal,
			RequestBody: []byte(`{"id":"evt_9","data":{"email":"a@example.com"}}`), ResponseBody: []byte(`{"id":"evt_9","type":"event.created"}`)},
			func(t *testing.T, c Call) {
				row := Row(c)
				if row.Links == nil || *row.Links != `{"event_id":"evt_9"}` || row.RequestBody != nil || row.ResponseBody != nil {
					t.Errorf("row: %+v links %v", row, row.Links)
				}
			}},
		{"links from path parameters", Call{Method: "POST", Route: "/api/webhooks/:id/deliveries/:delivery_id/redeliver", Status: 202,
			Params: map[string]string{"id": "wh_1", "delivery_id": "dlv_2"}},
			func(t *testing.T, c Call) {
				row := Row(c)
				if row.Links == nil || *row.Links != `{"delivery_id":"dlv_2","webhook_id":"wh_1"}` {
					t.Errorf("links: %v", row.Links)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.call.At = time.Now()
			tc.check(t, tc.call)
		})
	}
}

func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		in           string
		exact, class int
		ok           bool
	}{{"404", 404, 0, true}, {"4xx", 0, 4, true}, {"5XX", 0, 5, true}, {"6xx", 0, 0, false}, {"99", 0, 0, false},
		{"600", 0, 0, false}, {"abc", 0, 0, false}, {"+20", 0, 0, false}, {"4x", 0, 0, false}} {
		e, c, ok := ParseStatus(tc.in)
		if e != tc.exact || c != tc.class || ok != tc.ok {
			t.Errorf("%q: %d %d %v", tc.in, e, c, ok)
		}
	}
}

func TestRecorderDropsOldestWhenFull(t *testing.T) {
	r := &Recorder{MaxPending: 2}
	for _, id := range []string{"a", "b", "c"} {
		r.Add(Call{ID: id})
	}
	if r.Pending() != 2 || r.pending[0].ID != "b" || r.dropped != 1 {
		t.Fatalf("pending %d %+v dropped %d", r.Pending(), r.pending, r.dropped)
	}
}

// A body naming no secret field is kept as it came (compacted) without
// being decoded; one that could name one, however spelled, is redacted.
func TestRedactFastPathMissesNoSecret(t *testing.T) {
	plain := Row(Call{Method: "GET", Route: "/api/webhooks", Status: 200, ResponseBody: []byte("{\"data\": [ {\"id\":\"wh_1\",\"url\":\"https://a.example/<x>\"} ],\n \"next_cursor\":null}\n")})
	if plain.ResponseBody == nil || *plain.ResponseBody != `{"data":[{"id":"wh_1","url":"https://a.example/<x>"}],"next_cursor":null}` {
		t.Errorf("plain body: %v", plain.ResponseBody)
	}
	if bad := Row(Call{Method: "GET", Route: "/api/webhooks", Status: 200, ResponseBody: []byte(`{"data":[}`)}); bad.ResponseBody != nil || bad.BodyOmitted == nil || *bad.BodyOmitted != OmitNotJSON {
		t.Errorf("invalid JSON kept: %+v", bad)
	}
	for _, name := range []string{"key", "Secret", "TOKEN", "Password", "passphrase", "Authorization", "cookie", "credentials",
		"code_verifier", "signature", "private_key", "client_secret", "api_key", "ApiKey", "my_webhook_secret", "x-access-token",
		`\u006bey`, `\u0053ecret`, "\u212aey"} {
		body := `{"outer":{"` + name + `":"s3cr3t-value"}}`
		if !SecretField(strings.ReplaceAll(strings.ReplaceAll(name, `\u006b`, "k"), `\u0053`, "S")) {
			t.Fatalf("%s: not a secret field name (the test is wrong)", name)
		}
		row := Row(Call{Method: "GET", Route: "/api/webhooks", Status: 200, ResponseBody: []byte(body)})
		if row.ResponseBody == nil || strings.Contains(*row.ResponseBody, "s3cr3t-value") || !strings.Contains(*row.ResponseBody, "[redacted]") {
			t.Errorf("%s: stored %v", name, row.ResponseBody)
		}
	}
}

func TestRecorderCountsEveryDrop(t *testing.T) {
	r := &Recorder{MaxPending: 3}
	for i := 0; i < 10; i++ {
		r.Add(Call{ID: fmt.Sprint(i)})
	}
	if r.Dropped() != 7 || r.Pending() != 3 {
		t.Fatalf("dropped %d pending %d, want 7 and 3", r.Dropped(), r.Pending())
	}
}
